"""The FactorVAE disentanglement score (Kim & Mnih 2018, "Disentangling by Factorising").

1. Global variance of every code dimension over num_variance_estimate random images;
   dimensions whose global std is below prune_threshold are pruned (collapsed to the
   prior, they carry nothing and would win every argmin).
2. A point: a factor k uniform over the chosen factors, fixed to one value across a
   batch of batch_size images (the other factors random); the vote is the active
   dimension with the least variance across the batch, divided by its global variance.
3. Majority-vote classifier: each dimension predicts the factor that voted for it most
   often in num_train points; the score is its accuracy on num_eval further points.

Unlike Higgins's linear classifier, one dimension maps to one factor, so a factor that
no dimension captures costs its share of the score (the K − 1 blind spot is closed).
Defaults follow disentanglement_lib's reference settings (64, 10,000, 5,000, 10,000,
threshold 0.05). Votes are recorded by the dimension's own index (disentanglement_lib
records the position among active dimensions; the accuracy is the same).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from metrics import checks, codes, sampling


def _variance_over_batch(batch_codes: torch.Tensor) -> torch.Tensor:
    return batch_codes.var(dim=1, unbiased=True)


def _votes(labels: torch.Tensor, dims: torch.Tensor, factors: int, width: int) -> torch.Tensor:
    """(factors, width) counts of (label, dimension) pairs."""
    return torch.bincount(labels * width + dims, minlength=factors * width).view(factors, width)


def score(
    sim,
    encode: Callable[[torch.Tensor], torch.Tensor],
    *,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    num_variance_estimate: int = 10_000,
    prune_threshold: float = 0.05,
    factors: Sequence[str] | None = None,
    seed: int = 0,
    encoding: str = "unique",
    encode_batch_size: int | None = None,
) -> dict[str, Any]:
    """FactorVAE score of `encode` on `sim`.

    batch_size: images per point, sharing the fixed factor (64; at least 2 for a variance).
    num_train, num_eval: points for the majority vote and for its accuracy (10,000, 5,000).
    num_variance_estimate: images for the global variances (10,000; at least 2).
    prune_threshold: dimensions with global std below it are ignored (0.05).
    factors, seed, encoding, encode_batch_size: as in metrics.higgins.score.

    Returns train_accuracy, eval_accuracy (fractions), num_active_dims, chance (1/K) and
    protocol.
    """
    checks.positive_int("batch_size", batch_size, minimum=2)
    columns = checks.factor_columns(sim, factors)
    checks.positive_int("num_train", num_train, minimum=len(columns))
    checks.positive_int("num_eval", num_eval)
    checks.positive_int("num_variance_estimate", num_variance_estimate, minimum=2)
    if isinstance(prune_threshold, bool) or not isinstance(prune_threshold, int | float):
        raise TypeError(f"prune_threshold must be a number ≥ 0; got {prune_threshold!r}")
    if not 0 <= prune_threshold < float("inf"):
        raise ValueError(f"prune_threshold must be a finite number ≥ 0; got {prune_threshold}")
    checks.seed(seed)
    checks.choice("encoding", encoding, codes.ENCODINGS)
    names = ",".join(sim.factor_names[i] for i in columns)
    protocol = (
        f"factor_vae L={batch_size} train={num_train} eval={num_eval} "
        f"variance={num_variance_estimate} prune_std<{prune_threshold:g} factors={names}"
    )

    generator = sim.generator(seed)
    variance_flat = sim.sample_index(num_variance_estimate, generator)
    global_codes = codes.sample_codes(
        sim, encode, variance_flat, encoding=encoding, batch_size=encode_batch_size
    )
    global_variance = global_codes.var(dim=0, unbiased=True)
    active = global_variance.sqrt() >= prune_threshold
    num_active = int(active.sum())
    result = {"num_active_dims": num_active, "chance": 1.0 / len(columns), "protocol": protocol}
    if num_active == 0:
        return {**result, "train_accuracy": 0.0, "eval_accuracy": 0.0}

    labels, flat = sampling.fixed_factor_batches(
        sim, num_train + num_eval, batch_size, columns, generator
    )
    local = codes.grouped_features(
        sim, encode, flat, _variance_over_batch, encoding=encoding, batch_size=encode_batch_size
    )
    # Inactive dimensions get +inf so that the argmin never picks them.
    normalised = torch.where(active, local / global_variance.clamp_min(1e-30), torch.inf)
    dims = normalised.argmin(dim=1)
    width = global_variance.shape[0]
    train_votes = _votes(labels[:num_train], dims[:num_train], len(columns), width)
    eval_votes = _votes(labels[num_train:], dims[num_train:], len(columns), width)
    majority = train_votes.argmax(dim=0)  # each dimension's factor
    every_dim = torch.arange(width, device=majority.device)
    train_right = train_votes[majority, every_dim].sum()
    eval_right = eval_votes[majority, every_dim].sum()
    return {
        **result,
        "train_accuracy": float(train_right) / num_train,
        "eval_accuracy": float(eval_right) / num_eval,
    }
