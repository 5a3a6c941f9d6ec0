"""The groups of images the metrics draw, as flat positions in the data set's order.

Drawing positions rather than images is what makes the fast path possible: a metric only
needs to know *which* of the finite data set's images it looks at, so the encoder can run
once per distinct image (metrics.codes). Everything stays on the generator's device and
is drawn in one vectorised call per tensor, so there is no per-point Python loop or sync.
"""

from __future__ import annotations

import torch


def strides(sizes: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Flat-position weight of each factor: the last factor varies fastest (the npz order)."""
    out = [1] * len(sizes)
    for i in range(len(sizes) - 2, -1, -1):
        out[i] = out[i + 1] * sizes[i + 1]
    return torch.tensor(out, dtype=torch.long, device=device)


def flat_index(sim, classes: torch.Tensor) -> torch.Tensor:
    """sim.index() without its range check (a host sync on a GPU); classes are trusted here."""
    return (classes * strides(sim.factor_sizes, classes.device)).sum(dim=-1)


def pick_factors(
    num_points: int, columns: tuple[int, ...], generator: torch.Generator, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels uniform over the chosen factors, and the simulator column of each label."""
    labels = torch.randint(len(columns), (num_points,), generator=generator, device=device)
    column = torch.tensor(columns, dtype=torch.long, device=device)[labels]
    return labels, column


def _one_hot(column: torch.Tensor, k: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(column, k).bool()


def shared_factor_pairs(
    sim, num_points: int, pairs: int, columns: tuple[int, ...], generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Higgins et al.'s groups: per point a factor y, then `pairs` pairs agreeing on y.

    Each pair draws its own value of y (the shared value differs from pair to pair) and
    every other factor independently, as in the paper and disentanglement_lib.
    Returns labels (N,) and flat positions (N, 2·pairs): first images, then their partners.
    """
    k = sim.num_factors
    device = sim.device
    labels, column = pick_factors(num_points, columns, generator, device)
    first = sim.sample_factors(num_points * pairs, generator).view(num_points, pairs, k)
    second = sim.sample_factors(num_points * pairs, generator).view(num_points, pairs, k)
    second = torch.where(_one_hot(column, k)[:, None, :], first, second)
    flat = flat_index(sim, torch.cat([first, second], dim=1))
    return labels, flat


def fixed_factor_batches(
    sim, num_points: int, batch: int, columns: tuple[int, ...], generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kim & Mnih's groups: per point a factor k fixed to one value for a whole batch.

    Returns labels (N,) and flat positions (N, batch).
    """
    k = sim.num_factors
    labels, column = pick_factors(num_points, columns, generator, sim.device)
    images = sim.sample_factors(num_points * batch, generator).view(num_points, batch, k)
    fixed = sim.sample_factors(num_points, generator)
    images = torch.where(_one_hot(column, k)[:, None, :], fixed[:, None, :], images)
    return labels, flat_index(sim, images)
