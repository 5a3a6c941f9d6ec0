"""Procedural dSprites: the 737,280 images rendered from their factors, on any device."""

from __future__ import annotations

from pathlib import Path

import torch

from simulators import bits, cache, geometry
from simulators.factors import (
    DSPRITES_FACTOR_NAMES,
    DSPRITES_FACTOR_SIZES,
    FactorSpace,
    resolve_device,
)
from simulators.raster import rasterise

SHAPE, SCALE, ORIENTATION, POS_X, POS_Y = range(5)


class DSprites(FactorSpace):
    """dSprites rendered procedurally, pixel-matched to the reference geometry.

    Two ways to render, same pixels: procedurally per call (the default; nothing to load),
    or, after materialize(), by indexing the whole set kept bit-packed on the device
    (377 MB; one gather per batch, which is what a training loop wants).
    """

    def __init__(self, device: str | torch.device = "cpu"):
        super().__init__(DSPRITES_FACTOR_NAMES, DSPRITES_FACTOR_SIZES, resolve_device(device))
        self._tables = geometry.class_tables(self.device)
        self._packed: bits.PackedImages | None = None

    def __repr__(self) -> str:
        mode = "materialized" if self.materialized else "procedural"
        return f"DSprites(device={str(self.device)!r}, {mode})"

    @property
    def materialized(self) -> bool:
        return self._packed is not None

    def render(self, classes: torch.Tensor) -> torch.Tensor:
        """Images (n, 1, 64, 64) as float32 0/1 for factor class vectors (n, 5)."""
        return self.render_unchecked(self.check_classes(classes))

    def render_unchecked(self, classes: torch.Tensor) -> torch.Tensor:
        """render() for classes already known valid, e.g. from sample_factors.

        Skips validation, which on a GPU costs a device-to-host sync per call.
        """
        if self._packed is not None:
            return self._packed.render((classes * self._strides).sum(dim=1))
        return self._rasterise_classes(classes).unsqueeze(1).float()

    def render_index(self, flat: torch.Tensor) -> torch.Tensor:
        """Images at flat positions (from sample_index or index()), unchecked."""
        if self._packed is not None:
            return self._packed.render(flat)
        return self._rasterise_classes(self._decode(flat)).unsqueeze(1).float()

    def _rasterise_classes(self, classes: torch.Tensor) -> torch.Tensor:
        t = self._tables
        return rasterise(
            classes[:, SHAPE],
            t["params"][classes[:, SHAPE], classes[:, SCALE]],
            t["cos"][classes[:, ORIENTATION]],
            t["sin"][classes[:, ORIENTATION]],
            t["centre"][classes[:, POS_X]],
            t["centre"][classes[:, POS_Y]],
        )

    def render_values(
        self,
        shape: torch.Tensor,
        scale: torch.Tensor,
        angle: torch.Tensor,
        pos_x: torch.Tensor,
        pos_y: torch.Tensor,
    ) -> torch.Tensor:
        """Images for continuous factor values: scale in [0.5, 1], angle in radians, pos in [0, 1].

        For traversals and geometry checks; at class values it draws what render() draws.
        """
        shape, scale, angle, pos_x, pos_y = (
            torch.as_tensor(x).reshape(-1).cpu() for x in (shape, scale, angle, pos_x, pos_y)
        )
        if bool(((shape < 0) | (shape > 2)).any()):
            raise ValueError("shape must be 0 (square), 1 (ellipse) or 2 (heart)")
        params = torch.tensor(
            [geometry.shape_params(int(s), float(v)) for s, v in zip(shape, scale, strict=True)],
            dtype=torch.float64,
        ).float()
        cos, sin = geometry.cos_sin(angle)
        centres = [
            torch.tensor(
                [geometry.position_centre(float(p)) for p in pos], dtype=torch.float64
            ).float()
            for pos in (pos_x, pos_y)
        ]
        moved = (x.to(self.device) for x in (shape.long(), params, cos, sin, *centres))
        return rasterise(*moved).unsqueeze(1).float()

    def render_all(self, chunk_size: int | None = None) -> torch.Tensor:
        """Every image in npz order, packed: (737280, 512) uint8 on this device.

        On a CPU, chunks of 256 images keep each temporary (1 MB) in cache: measured 2x
        faster than 8192 (docs/benchmarks.md); a GPU wants large chunks to fill its SMs.
        """
        if chunk_size is None:
            chunk_size = 256 if self.device.type == "cpu" else 65536
        packed = torch.empty((len(self), bits.PACKED_BYTES), dtype=torch.uint8, device=self.device)
        for start in range(0, len(self), chunk_size):
            stop = min(start + chunk_size, len(self))
            flat = torch.arange(start, stop, device=self.device)
            packed[start:stop] = bits.pack(self._rasterise_classes(self._decode(flat)))
        return packed

    def materialize(
        self, cache_dir: str | Path | None = None, *, use_cache: bool = True
    ) -> DSprites:
        """Render the whole set once (or load it from the disk cache) and index it from now on."""
        if self._packed is None:
            if use_cache:
                directory = Path(cache_dir) if cache_dir is not None else cache.default_cache_dir()
                packed = cache.load_or_render(directory, len(self), self.render_all)
            else:
                packed = self.render_all()
            self._packed = bits.PackedImages(packed.to(self.device))
        return self
