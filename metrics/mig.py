"""The Mutual Information Gap (Chen, Li, Grosse, Duvenaud 2018, "Isolating Sources of
Disentanglement in Variational Autoencoders").

For each factor, the gap between the two code dimensions that carry the most mutual
information about it, divided by the factor's entropy; MIG is the mean gap over factors.
A factor captured by no dimension, or by two equally, scores 0.

Protocol (disentanglement_lib's reference settings): num_train = 10,000 random images;
each code dimension discretised into num_bins = 20 equal-width bins over its observed
range; discrete mutual information and entropy in nats. Discretisation caps the score
below 1 even for the factors themselves when a factor has more values than bins
(orientation has 40, positions 32): with the defaults the ground truth scores ≈ 0.896
(measured, seed 0: shape and scale 0.998, orientation 0.80, posX 0.84, posY 0.84).

Collapse: the bins span each dimension's own observed range, so the reference scores a
collapsed latent (its mean moving by 1e-4 across images) exactly like the same latent at
full scale: an encoder whose every latent has collapsed can score as high as an
informative one. `active_only=True` is the active-units-aware variant: dimensions that are
not active units (Var(μ) ≤ 0.01 over the sample, metrics.active_units) are treated as
constant, so they carry no information. It is not the reference; its protocol string says
"inactive=constant".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from metrics import active_units, checks, codes, information, sampling


def score(
    sim,
    encode: Callable[[torch.Tensor], torch.Tensor],
    *,
    num_train: int = 10_000,
    num_bins: int = 20,
    factors: Sequence[str] | None = None,
    seed: int = 0,
    encoding: str = "unique",
    encode_batch_size: int | None = None,
    active_only: bool = False,
) -> dict[str, Any]:
    """MIG of `encode` on `sim`.

    num_train: random images the information is estimated from (10,000; at least 2).
    num_bins: equal-width bins per code dimension (20).
    factors, seed, encoding, encode_batch_size: as in metrics.higgins.score.
    active_only: treat dimensions that are not active units as constant (not the
        reference; see the module's note on collapse).

    Returns mig (in [0, 1]), mig_per_factor (list, in the order of `factors`; all factors:
    the simulator's order), the (d, F) mutual_information matrix as nested lists (columns
    in that order too), and protocol. With a single code dimension the gap is the top
    information itself (the runner-up is taken as 0); active_units, counted on the same
    images.
    """
    checks.positive_int("num_train", num_train, minimum=2)
    checks.positive_int("num_bins", num_bins, minimum=2)
    columns = checks.factor_columns(sim, factors)  # validated, in the simulator's order
    if factors is not None:  # the results follow the caller's order of `factors`
        columns = tuple(sim.factor_names.index(name) for name in factors)
    checks.seed(seed)
    checks.choice("encoding", encoding, codes.ENCODINGS)
    checks.flag("active_only", active_only)
    generator = sim.generator(seed)
    classes = sim.sample_factors(num_train, generator)
    flat = sampling.flat_index(sim, classes)
    z = codes.sample_codes(sim, encode, flat, encoding=encoding, batch_size=encode_batch_size)
    active = active_units.active_mask(z)
    if active_only:
        z = torch.where(active, z, 0.0)
    chosen = classes[:, list(columns)]
    sizes = [sim.factor_sizes[i] for i in columns]
    bins = information.histogram_bins(z, num_bins)
    mi = information.mutual_information(bins, num_bins, chosen, sizes)
    entropies = torch.stack([information.entropy(chosen[:, j], s) for j, s in enumerate(sizes)])
    top = mi.topk(min(2, mi.shape[0]), dim=0).values
    runner_up = top[1] if top.shape[0] > 1 else torch.zeros_like(top[0])
    gaps = (top[0] - runner_up) / entropies.clamp_min(1e-12)
    names = ",".join(sim.factor_names[i] for i in columns)
    return {
        "mig": float(gaps.mean()),
        "mig_per_factor": gaps.tolist(),
        "mutual_information": mi.tolist(),
        "active_units": int(active.sum()),
        "protocol": f"mig train={num_train} bins={num_bins} factors={names}"
        + (f" inactive=constant(var<={active_units.THRESHOLD:g})" if active_only else ""),
    }
