"""Vectorised point-in-shape rasterisation of dSprites sprites on any torch device.

A pixel is on when its centre (i + 0.5) lies inside the shape: binary, no anti-aliasing.
The local coordinates of a pixel are u = cos·dx − sin·dy, v = sin·dx + cos·dy, with dx
depending only on the column and dy only on the row. Each linear function of (u, v) is
therefore the sum of a column vector and a row vector, so the per-pixel work is one
broadcast add per linear function plus the shape's own test (6 to 22 elementwise ops).
"""

from __future__ import annotations

import torch

from simulators.geometry import ELLIPSE, HEART, IMAGE_SIZE, SHAPE_NAMES, SQUARE


def _outer(cols: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """(n, 64) column terms + (n, 64) row terms -> (n, 64, 64), indexed [image, y, x]."""
    return cols.unsqueeze(1) + rows.unsqueeze(2)


def _square(p, ux, uy, vx, vy) -> torch.Tensor:
    u = _outer(ux, uy).abs_()
    v = _outer(vx, vy).abs_()
    return torch.maximum(u, v, out=u) < p[:, 0, None, None]


def _ellipse(p, ux, uy, vx, vy) -> torch.Tensor:
    inv_a, inv_b = p[:, 0:1], p[:, 1:2]
    u = _outer(ux * inv_a, uy * inv_a)
    v = _outer(vx * inv_b, vy * inv_b)
    u.mul_(u)
    return u.add_(v.mul_(v)) < 1.0


def _heart(p, ux, uy, vx, vy) -> torch.Tensor:
    # geometry.HEART_ANCHORS: lobes (w - d)² + (y + c)² < r²; body below the lobe centres,
    # below the upper side y + c > m·(w - d), inside the lower side w + m·y < h0 or the tip
    # strip w < tw, and above the bottom y < b. w = |x|: mirror-symmetric about x = 0.
    d, c, r2, m, h0, b, tw = (p[:, i : i + 1] for i in range(7))
    w = _outer(ux, uy).abs_()
    below_centres = _outer(vx, vy + c)  # y + c
    from_centre = w - d[..., None]  # w - d
    lobe = from_centre.square().add_(below_centres.square()) < r2[..., None]
    body = below_centres > from_centre.mul_(m[..., None])
    body.logical_and_(below_centres > 0)
    lower_side = w < _outer(-(m * vx), h0 - m * vy)  # w < h0 - m·y
    body.logical_and_(lower_side.logical_or_(w < tw[..., None]))
    body.logical_and_(_outer(vx, vy - b) < 0)  # y < b
    return lobe.logical_or_(body)


_TESTS = {SQUARE: _square, ELLIPSE: _ellipse, HEART: _heart}


def rasterise(
    shape: torch.Tensor,
    params: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    centre_x: torch.Tensor,
    centre_y: torch.Tensor,
) -> torch.Tensor:
    """Boolean images (n, 64, 64) of sprites given per-image shape ids and float32 numbers.

    params holds each image's shape parameters (geometry.shape_params); cos and sin the
    rotation; centre_x and centre_y the sprite centre in pixels. All tensors share a device.
    """
    pixels = torch.arange(IMAGE_SIZE, device=params.device, dtype=torch.float32).add_(0.5)
    dx = pixels - centre_x.unsqueeze(1)
    dy = pixels - centre_y.unsqueeze(1)
    c, s = cos.unsqueeze(1), sin.unsqueeze(1)
    ux, uy, vx, vy = c * dx, -(s * dy), s * dx, c * dy
    terms = (params, ux, uy, vx, vy)
    if params.device.type == "cuda":
        # Selecting each shape's rows would need a device-to-host sync (nonzero); on a GPU
        # testing all three shapes on every image is cheaper than the sync.
        images = _square(*terms)
        images = torch.where((shape == ELLIPSE)[:, None, None], _ellipse(*terms), images)
        return torch.where((shape == HEART)[:, None, None], _heart(*terms), images)
    images = torch.empty((shape.numel(), IMAGE_SIZE, IMAGE_SIZE), dtype=torch.bool)
    for shape_id in range(len(SHAPE_NAMES)):
        rows = (shape == shape_id).nonzero().squeeze(1)
        if rows.numel() == shape.numel():
            return _TESTS[shape_id](*terms)
        if rows.numel():
            images[rows] = _TESTS[shape_id](*(t[rows] for t in terms))
    return images
