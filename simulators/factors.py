"""The factor space of a ground-truth data set: names, sizes, the flat (npz) order, sampling.

Everything here is integer arithmetic on class indices, shared by the procedural renderer
and the npz loader so that both order, sample and validate in exactly the same way.
"""

from __future__ import annotations

import math

import torch

DSPRITES_FACTOR_NAMES = ("shape", "scale", "orientation", "posX", "posY")
DSPRITES_FACTOR_SIZES = (3, 6, 40, 32, 32)


def resolve_device(device: str | torch.device) -> torch.device:
    """A torch.device, or a ValueError that says which devices exist here."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N'") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available on this machine")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r} is not supported: use 'cpu', 'cuda' or 'cuda:N'")
    return resolved


class FactorSpace:
    """Class indices of K discrete factors, stored with the last factor varying fastest."""

    def __init__(self, names: tuple[str, ...], sizes: tuple[int, ...], device: torch.device):
        if len(names) != len(sizes):
            raise ValueError(f"{len(names)} factor names but {len(sizes)} sizes")
        self.factor_names = tuple(names)
        self.factor_sizes = tuple(int(s) for s in sizes)
        self.device = device
        strides = [1] * len(sizes)
        for i in range(len(sizes) - 2, -1, -1):
            strides[i] = strides[i + 1] * self.factor_sizes[i + 1]
        self._strides = torch.tensor(strides, dtype=torch.long, device=device)
        self._sizes = torch.tensor(self.factor_sizes, dtype=torch.long, device=device)

    def __len__(self) -> int:
        return math.prod(self.factor_sizes)

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    def generator(self, seed: int) -> torch.Generator:
        """A generator on this space's device, so sampling needs no host-to-device copy."""
        return torch.Generator(device=self.device).manual_seed(int(seed))

    def factor_index(self, name: str) -> int:
        if name not in self.factor_names:
            raise ValueError(
                f"unknown factor {name!r}: expected one of {', '.join(self.factor_names)}"
            )
        return self.factor_names.index(name)

    def sample_factors(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n factor vectors drawn uniformly over all combinations, as a (n, K) LongTensor.

        Sampling runs on the generator's device; the result lives on this space's device.
        """
        return self._decode(self.sample_index(n, generator))

    def sample_index(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n flat positions drawn uniformly: the cheapest way to draw a training batch."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be a non-negative integer; got {n!r}")
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
        flat = torch.randint(len(self), (n,), generator=generator, device=generator.device)
        return flat.to(self.device)

    def index(self, classes: torch.Tensor) -> torch.Tensor:
        """Flat positions of factor vectors in the stored order (the npz order)."""
        classes = self.check_classes(classes)
        return (classes * self._strides).sum(dim=1)

    def classes(self, index: torch.Tensor) -> torch.Tensor:
        """Factor vectors (n, K) of flat positions: the inverse of index()."""
        index = torch.as_tensor(index, device=self.device)
        if index.dtype.is_floating_point or index.dtype == torch.bool or index.ndim != 1:
            raise ValueError(
                f"index must be a 1-d integer tensor; got {tuple(index.shape)} {index.dtype}"
            )
        if index.numel() and (bool((index < 0).any()) or bool((index >= len(self)).any())):
            bad = index[(index < 0) | (index >= len(self))][0].item()
            raise ValueError(f"flat index {bad} is out of range 0..{len(self) - 1}")
        return self._decode(index.long())

    def _decode(self, flat: torch.Tensor) -> torch.Tensor:
        return torch.div(flat.unsqueeze(1), self._strides, rounding_mode="floor") % self._sizes

    def check_classes(self, classes: torch.Tensor) -> torch.Tensor:
        """classes as a (n, K) long tensor on this device, or an error naming the bad factor."""
        if not isinstance(classes, torch.Tensor):
            classes = torch.as_tensor(classes)
        k = self.num_factors
        if classes.ndim != 2 or classes.shape[1] != k:
            raise ValueError(
                f"classes must have shape (n, {k}), one column per factor "
                f"({', '.join(self.factor_names)}); got {tuple(classes.shape)}"
            )
        if (
            classes.dtype.is_floating_point
            or classes.dtype.is_complex
            or classes.dtype == torch.bool
        ):
            raise TypeError(f"classes must be an integer tensor; got {classes.dtype}")
        classes = classes.to(device=self.device, dtype=torch.long)
        if classes.numel():
            bad = (classes < 0) | (classes >= self._sizes)
            if bool(bad.any()):
                row, col = (int(i) for i in bad.nonzero()[0])
                raise ValueError(
                    f"{self.factor_names[col]} class {int(classes[row, col])} (row {row}) is out "
                    f"of range 0..{self.factor_sizes[col] - 1}"
                )
        return classes
