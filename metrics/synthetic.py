"""Synthetic representations with known structure, for tests, benchmarks and protocol choice.

They give codes by flat position (metrics.codes.IndexedRepresentation), so a metric run on
them costs no rendering or encoding and isolates the metric itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from metrics import sampling


class FactorCodes:
    """Codes built from the factors: chosen factors scaled to [0, 1], optionally mixed by a
    (k, d) matrix, plus Gaussian noise of std `noise` that is fixed per image (the same
    image always gets the same code, as a deterministic encoder would give).
    """

    def __init__(
        self,
        sim,
        columns: Sequence[int] | None = None,
        *,
        mixing: torch.Tensor | None = None,
        noise: float = 0.0,
        seed: int = 0,
    ):
        self.columns = list(range(sim.num_factors) if columns is None else columns)
        self.strides = sampling.strides(sim.factor_sizes, sim.device)
        self.sizes = torch.tensor(sim.factor_sizes, device=sim.device)
        self.mixing = None if mixing is None else mixing.to(sim.device, torch.float32)
        width = len(self.columns) if mixing is None else mixing.shape[1]
        self.noise = None
        if noise > 0:
            generator = torch.Generator(device=sim.device).manual_seed(seed)
            table = torch.randn(len(sim), width, generator=generator, device=sim.device)
            self.noise = table * noise

    def encode_index(self, flat: torch.Tensor) -> torch.Tensor:
        classes = torch.div(flat[:, None], self.strides, rounding_mode="floor") % self.sizes
        values = (classes.float() / (self.sizes - 1).clamp_min(1))[:, self.columns]
        if self.mixing is not None:
            values = values @ self.mixing
        if self.noise is not None:
            values = values + self.noise.index_select(0, flat)
        return values

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        raise TypeError("synthetic codes are defined by flat position only")


def random_rotation(size: int, seed: int) -> torch.Tensor:
    """A (size, size) rotation drawn uniformly (QR of a Gaussian matrix, signs fixed)."""
    generator = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(size, size, generator=generator, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).float()


class IgnoresImages:
    """Codes drawn at random for every call, whatever the images: scores at chance."""

    def __init__(self, width: int = 10, seed: int = 0):
        self.width = width
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        codes = torch.randn(images.shape[0], self.width, generator=self.generator)
        return codes.to(images.device)
