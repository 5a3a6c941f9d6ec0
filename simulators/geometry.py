"""dSprites geometry as measured on the real images (shared/reference/dsprites.md).

Shapes live in a local frame centred on the sprite's position, x to the right and y
downward, in pixels. Every size is affine in the scale value, fitted to the two scales
the reference measures (0.5 and 1.0): the real sprites do not shrink as exact scaled
copies (the small heart is thinner than a half-size large one), so a single template
scaled by s would miss the measured areas at one end or the other.

All numbers are computed here in float64 on the CPU and only then cast to float32 and
moved to a device; the device side does nothing but +, -, *, abs, max and comparisons,
which round the same way on CPU and CUDA. That is what makes the pixels identical on
both (sin and cos differ between the two libraries in the last bit, so they never run
on the device).
"""

from __future__ import annotations

import math

import torch

SQUARE, ELLIPSE, HEART = 0, 1, 2
SHAPE_NAMES = ("square", "ellipse", "heart")
SCALE_VALUES = tuple(0.5 + 0.1 * k for k in range(6))  # linspace(0.5, 1.0, 6)
NUM_ORIENTATIONS = 40
NUM_POSITIONS = 32
IMAGE_SIZE = 64
NUM_PARAMS = 9  # the widest shape (heart) needs nine numbers

# Measured anchors at scale 0.5 and 1.0.
SQUARE_HALF_SIDE = (5.0, 10.0)  # side 20·scale: 10×10 and 20×20 px
ELLIPSE_SEMI_AXES = ((6.0, 4.0), (13.0, 7.0))  # 12×8 px, ≈76 px; 26×14 px, ≈288 px
# Heart: two lobes of radius r centred at (±d, -e); the lower sides are arcs of radius R,
# internally tangent to the lobes and meeting at the tip (0, t). Fitted on rendered pixel
# counts, averaged over positions, to 10×9 px / 58 px and 18×15 px / 222 px, with the
# centroid above the position centre and a visible notch between the lobes.
HEART_ANCHORS = (
    {"r": 1.5, "d": 3.5, "e": 3.2, "t": 4.3, "R": 9.0},
    {"r": 5.9, "d": 3.1, "e": 1.85, "t": 7.25, "R": 8.85},
)


def _affine(pair: tuple[float, float], scale: float) -> float:
    """The value at `scale` on the line through (0.5, pair[0]) and (1.0, pair[1])."""
    lo, hi = pair
    return lo + (hi - lo) * (scale - 0.5) / 0.5


def _heart_params(scale: float) -> list[float]:
    p = {k: _affine((HEART_ANCHORS[0][k], HEART_ANCHORS[1][k]), scale) for k in HEART_ANCHORS[0]}
    r, d, e, t, big_r = p["r"], p["d"], p["e"], p["t"], p["R"]
    # Centre B of the side arc: |B - tip| = R and |B - lobe centre| = R - r, on the far side.
    tip_x, tip_y, lobe_x, lobe_y = 0.0, t, d, -e
    dist = math.hypot(lobe_x - tip_x, lobe_y - tip_y)
    along = (big_r**2 - (big_r - r) ** 2 + dist**2) / (2 * dist)
    across = math.sqrt(big_r**2 - along**2)
    ux, uy = (lobe_x - tip_x) / dist, (lobe_y - tip_y) / dist
    mid_x, mid_y = tip_x + along * ux, tip_y + along * uy
    bx, by = min(
        ((mid_x + across * uy, mid_y - across * ux), (mid_x - across * uy, mid_y + across * ux))
    )
    # The arc meets the lobe at Q; the line from the lobe centre through Q bounds the side
    # region so that it adds nothing outside the lobe above Q.
    span = math.hypot(lobe_x - bx, lobe_y - by)
    qx, qy = bx + big_r * (lobe_x - bx) / span, by + big_r * (lobe_y - by) / span
    nx, ny = -(qy - lobe_y), qx - lobe_x
    c = -(nx * lobe_x + ny * lobe_y)
    if nx * tip_x + ny * tip_y + c < 0:
        nx, ny, c = -nx, -ny, -c
    return [d, e, r * r, bx, by, big_r * big_r, nx, ny, c]


def shape_params(shape: int, scale: float) -> list[float]:
    """The NUM_PARAMS numbers the rasteriser needs for one shape at one scale value."""
    if shape == SQUARE:
        params = [_affine(SQUARE_HALF_SIDE, scale)]
    elif shape == ELLIPSE:
        a = _affine((ELLIPSE_SEMI_AXES[0][0], ELLIPSE_SEMI_AXES[1][0]), scale)
        b = _affine((ELLIPSE_SEMI_AXES[0][1], ELLIPSE_SEMI_AXES[1][1]), scale)
        params = [1.0 / a, 1.0 / b]
    elif shape == HEART:
        params = _heart_params(scale)
    else:
        raise ValueError(f"shape id {shape} is out of range 0..2")
    return params + [0.0] * (NUM_PARAMS - len(params))


def orientation_angle(k: int) -> float:
    """linspace(0, 2π, 40)[k]; class 39 (2π) is class 0, so both draw the same image."""
    return 2.0 * math.pi * (k % (NUM_ORIENTATIONS - 1)) / (NUM_ORIENTATIONS - 1)


def position_value(k: int) -> float:
    """linspace(0, 1, 32)[k]."""
    return k / (NUM_POSITIONS - 1)


def position_centre(value: float) -> float:
    """Pixel coordinate of the sprite centre for a position value: 16 at 0, 48 at 1."""
    return 16.0 + 32.0 * value


def cos_sin(angles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin in float64 on the CPU (see the module note), returned as float32."""
    angles = angles.detach().to("cpu", torch.float64)
    return torch.cos(angles).float(), torch.sin(angles).float()


def class_tables(device: torch.device) -> dict[str, torch.Tensor]:
    """Per-class lookup tables for the rasteriser, built once per device."""
    params = torch.tensor(
        [[shape_params(s, v) for v in SCALE_VALUES] for s in range(len(SHAPE_NAMES))],
        dtype=torch.float64,
    )
    angles = torch.tensor(
        [orientation_angle(k) for k in range(NUM_ORIENTATIONS)], dtype=torch.float64
    )
    cos, sin = cos_sin(angles)
    centres = torch.tensor(
        [position_centre(position_value(k)) for k in range(NUM_POSITIONS)], dtype=torch.float64
    )
    return {
        "params": params.float().to(device),
        "cos": cos.to(device),
        "sin": sin.to(device),
        "centre": centres.float().to(device),
    }
