"""dSprites geometry as measured on the real images (shared/reference/dsprites.md).

Shapes live in a local frame centred on the sprite's position, x to the right and y
downward, in pixels. Square and ellipse sizes are affine in the scale value, fitted to the
two scales the reference measures for them (0.5 and 1.0); the heart is measured at four
scales (0.5, 0.8, 0.9, 1.0) and interpolates linearly between those anchors.

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
NUM_PARAMS = 7  # the widest shape (heart) needs seven numbers

# Measured anchors at scale 0.5 and 1.0.
SQUARE_HALF_SIDE = (5.0, 10.0)  # side 20·scale: 10×10 and 20×20 px
ELLIPSE_SEMI_AXES = ((6.0, 4.0), (13.0, 7.0))  # 12×8 px, ≈76 px; 26×14 px, ≈288 px

# Heart, fitted to the row profiles measured on real frames at orientation 0 (the page's
# table: box, area and the filled runs of every row at scales 0.5, 0.8, 0.9 and 1.0), with
# the position centre on a pixel corner as at posX = posY = 0. In the local frame (x right,
# y down, origin at the position centre, w = |x|) the outline is the classic heart: a
# square standing on one corner whose two upper sides carry the lobes, i.e. the union of
#   - two round lobes: discs of radius r centred at (±d, -c) on the square's upper sides;
#   - the body: the part of the turned square below the lobe centres (y > -c), bounded by
#     its upper side through the lobe centre, y + c > m·(w - d), and its lower side,
#     w + m·y < h0, perpendicular to it; the lower side passes 1.21·r from the lobe centre
#     (a tangent side, 1.0·r, runs about 1 px inside the measured rows at scale 1), so
#     each shoulder has a corner where the two sides meet, at (8.8, -0.2) at scale 1;
#   - a blunt tip: the body is cut at the bottom, y < b, and keeps at least the strip
#     w < tw there, which keeps the last rows 2 px wide.
# What each number fits (values at scale 1; the other scales alike):
#   d + r = 9.61: the widest rows are 20 px (box width 20·scale) only at y = -4.5, -3.5,
#     a quarter of the way down at y ≈ -c; d ≈ r, lobes that all but touch at the axis,
#     makes the notch three rows deep at scale 1 (two at 0.8 and 0.9, one at 0.5);
#   c + r = 9.18: the top row covers y in [-9, -8), which puts the area-weighted centroid
#     7.07 rows below the top and 1.93 px above the position centre (page: 7.1 and 1.9),
#     with lobe tops of 5 + 5 px;
#   m = 1.069 (every scale) and h0: the two rows of 18 and of 16 below the widest rows
#     (the upper side's shoulder), then one pixel less per side per row (14, 12, ..., 4:
#     the sides "almost straight" to the tip);
#   tw, b: the 2-px tip and the bottom of the box (17 rows at scale 1), and the two 2-px
#     rows at the bottom at scale 0.8.
# The four anchors are one template scaled by the scale value to within 0.06 px: the fit
# (bench/fit_heart.py) found a scale-1 outline that, times s, reproduces every row at 0.5
# and 1.0 and all but one row at 0.8 and 0.9 (one pixel off per side there), then moved
# each anchor the least that reproduces its table exactly with every pixel centre at least
# 0.009 px from the outline, so float32 rounding cannot flip a pixel of the measured frames.
# Scales in between (0.6, 0.7) interpolate the anchors linearly: the template, scaled.
HEART_SIDE_SLOPE = 1.069  # m
HEART_ANCHORS = {  # scale: (d, c, r, h0, b, tw), in pixels
    0.5: (2.408, 2.195, 2.393, 4.310, 4.083, 0.495),
    0.8: (3.805, 3.459, 3.828, 6.892, 6.547, 0.786),
    0.9: (4.390, 3.935, 4.363, 7.754, 7.345, 0.886),
    1.0: (4.822, 4.391, 4.787, 8.616, 8.165, 0.988),
}


def _affine(pair: tuple[float, float], scale: float) -> float:
    """The value at `scale` on the line through (0.5, pair[0]) and (1.0, pair[1])."""
    lo, hi = pair
    return lo + (hi - lo) * (scale - 0.5) / 0.5


def _heart_params(scale: float) -> list[float]:
    """[d, c, r², m, h0, b, tw]: linear between the anchors, extended past the end ones."""
    scales = sorted(HEART_ANCHORS)
    upper = next((i for i in range(1, len(scales)) if scale <= scales[i]), len(scales) - 1)
    lo, hi = scales[upper - 1], scales[upper]
    t = (scale - lo) / (hi - lo)
    d, c, r, h0, b, tw = (
        a + (z - a) * t for a, z in zip(HEART_ANCHORS[lo], HEART_ANCHORS[hi], strict=True)
    )
    return [d, c, r * r, HEART_SIDE_SLOPE, h0, b, tw]


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
