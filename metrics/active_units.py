"""Active units (Burda, Grosse, Salakhutdinov 2016, "Importance Weighted Autoencoders").

Latent i is active when the variance over the data of its encoder mean, Var_x(μ_i(x)),
exceeds 0.01: the standard count of latents a VAE actually uses. A collapsed latent
(posterior ≈ prior for every image) has a mean that barely moves and is inactive. The
count is reported beside every disentanglement score so that a reader sees collapse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from metrics import checks, codes

THRESHOLD = 0.01
DEFAULT_SAMPLES = 10_000


def active_mask(z: torch.Tensor, threshold: float = THRESHOLD) -> torch.Tensor:
    """Which columns of codes z (n, d), n ≥ 2, vary over the rows by more than `threshold`."""
    return z.double().var(dim=0, unbiased=True) > threshold


def score(
    sim,
    encode: Callable[[torch.Tensor], torch.Tensor],
    *,
    num_samples: int = DEFAULT_SAMPLES,
    threshold: float = THRESHOLD,
    seed: int = 0,
    encoding: str = "unique",
    encode_batch_size: int | None = None,
) -> dict[str, Any]:
    """The active units of `encode` over num_samples random images drawn with `seed`.

    Returns active_units (the count), active_mask (one bool per latent), variances (one
    per latent) and protocol.
    """
    checks.positive_int("num_samples", num_samples, minimum=2)
    checks.positive_float("threshold", threshold)
    checks.seed(seed)
    flat = sim.sample_index(num_samples, sim.generator(seed))
    z = codes.sample_codes(sim, encode, flat, encoding=encoding, batch_size=encode_batch_size)
    variances = z.double().var(dim=0, unbiased=True)
    mask = variances > threshold
    return {
        "active_units": int(mask.sum()),
        "active_mask": mask.tolist(),
        "variances": variances.tolist(),
        "protocol": describe(num_samples, threshold),
    }


def describe(num_samples: int = DEFAULT_SAMPLES, threshold: float = THRESHOLD) -> str:
    return f"active_units var(mu)>{threshold:g} over {num_samples} images"
