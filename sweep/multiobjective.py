"""Multi-objective arithmetic: non-dominated sorting, crowding distance, the promotion rule
of multi-objective ASHA, and the hypervolume.

Pure numpy (no Ray): the scheduler (sweep.tune.schedulers), the Parquet writer's frontier
columns and the report (reports/) all use it, and it is tested on hand-built point sets.

Every function takes points in their own units and a `maximize` flag per objective, and
works internally on costs (lower is better everywhere). A point with a NaN or infinite
objective (a score not measured yet, a diverged trial) is worse than every finite point:
it sorts into a last front of its own and never counts towards a hypervolume.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Points = Sequence[Sequence[float]]


def costs(points: Points, maximize: Sequence[bool]) -> np.ndarray:
    """(n, d) costs: maximised objectives negated, so lower is better everywhere."""
    array = np.asarray(points, dtype=float)
    if array.size == 0:
        return np.zeros((0, len(maximize)))
    if array.ndim != 2 or array.shape[1] != len(maximize):
        raise ValueError(f"points must be rows of {len(maximize)} objectives; got {array.shape}")
    return np.where(np.asarray(maximize, dtype=bool), -array, array)


def _dominates(cost: np.ndarray) -> np.ndarray:
    """[j, i]: point j dominates point i (no worse everywhere, strictly better somewhere)."""
    no_worse = (cost[:, None, :] <= cost[None, :, :]).all(axis=2)
    better = (cost[:, None, :] < cost[None, :, :]).any(axis=2)
    return no_worse & better


def fronts(points: Points, maximize: Sequence[bool]) -> list[int]:
    """Each point's non-dominated front, 1 for the Pareto front (NSGA-II's sorting).

    Exact duplicates do not dominate each other, so they share a front. Points with a
    non-finite objective form one front after all the others."""
    cost = costs(points, maximize)
    n = len(cost)
    rank = np.zeros(n, dtype=int)
    finite = np.isfinite(cost).all(axis=1)
    index = np.flatnonzero(finite)
    dominates = _dominates(cost[index]) if len(index) else np.zeros((0, 0), dtype=bool)
    beaten_by = dominates.sum(axis=0)  # how many not-yet-ranked points dominate each
    remaining = np.ones(len(index), dtype=bool)
    front = 0
    while remaining.any():
        front += 1
        current = remaining & (beaten_by == 0)
        rank[index[current]] = front
        remaining &= ~current
        beaten_by = beaten_by - dominates[current].sum(axis=0)
    rank[~finite] = front + 1
    return [int(r) for r in rank]


def crowding(points: Points, maximize: Sequence[bool], front_of: Sequence[int]) -> list[float]:
    """NSGA-II's crowding distance of each point within its front: the sum over objectives
    of the gap between its neighbours, relative to the front's range; the extremes of a
    front get infinity. Duplicates share the distance of their value (computed on the
    distinct values), so the result does not depend on the order of the points.
    Non-finite points get 0."""
    cost = costs(points, maximize)
    distance = np.zeros(len(cost))
    for front in set(front_of):
        members = np.flatnonzero(np.asarray(front_of) == front)
        values = cost[members]
        if not np.isfinite(values).all():
            continue
        unique, inverse = np.unique(values, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        spread = np.zeros(len(unique))
        for k in range(unique.shape[1]):
            order = np.argsort(unique[:, k], kind="stable")
            column = unique[order, k]
            span = column[-1] - column[0]
            spread[order[0]] = spread[order[-1]] = np.inf
            if span > 0 and len(unique) > 2:
                spread[order[1:-1]] += (column[2:] - column[:-2]) / span
        distance[members] = spread[inverse]
    return [float(d) for d in distance]


def order_keys(points: Points, maximize: Sequence[bool]) -> list[tuple[int, float]]:
    """Sort keys (front, −crowding): lower is better. Equal keys are true ties."""
    front_of = fronts(points, maximize)
    distance = crowding(points, maximize, front_of)
    return [(f, -d) for f, d in zip(front_of, distance, strict=True)]


def position(points: Points, maximize: Sequence[bool], which: int) -> int:
    """How many points rank strictly ahead of point `which` (0: it is first). Ties count
    in its favour, as Ray's ASHA stops only a trial strictly below its cutoff."""
    keys = order_keys(points, maximize)
    return sum(key < keys[which] for key in keys)


def promoted(points: Points, maximize: Sequence[bool], which: int, reduction_factor: float) -> bool:
    """The promotion rule of multi-objective ASHA at a rung: point `which` (the trial just
    arrived) goes on if it is within the top 1/rf of the `points` recorded there,
    itself included: position·rf < n. The first trial at a rung always goes on; of two,
    the better; of three at rf 2, the best two (Ray's single-objective ASHA, by its
    percentile cutoff, keeps the same numbers)."""
    return position(points, maximize, which) * reduction_factor < len(points)


def hypervolume(points: Points, maximize: Sequence[bool], reference: Sequence[float]) -> float:
    """The volume dominated by `points` and bounded by `reference` (in the objectives' own
    units): for two objectives, the area between the staircase of the Pareto front and the
    reference point. Points not strictly better than the reference in every objective, and
    non-finite points, add nothing. Exact, by slicing along the last objective (n² log n
    for three objectives: fine for the hundreds of trials of a sweep)."""
    cost = costs(points, maximize)
    ref = costs([reference], maximize)[0]
    if not np.isfinite(ref).all():
        raise ValueError(f"the reference point must be finite; got {list(reference)}")
    keep = np.isfinite(cost).all(axis=1) & (cost < ref).all(axis=1)
    return float(_volume(cost[keep], ref))


def _volume(cost: np.ndarray, ref: np.ndarray) -> float:
    if len(cost) == 0:
        return 0.0
    if cost.shape[1] == 1:
        return float(ref[0] - cost[:, 0].min())
    order = np.argsort(cost[:, -1], kind="stable")
    cost = cost[order]
    volume = 0.0
    for i in range(len(cost)):
        upper = cost[i + 1, -1] if i + 1 < len(cost) else ref[-1]
        if upper > cost[i, -1]:
            volume += _volume(cost[: i + 1, :-1], ref[:-1]) * (upper - cost[i, -1])
    return volume


def nadir_reference(points: Points, maximize: Sequence[bool]) -> list[float]:
    """A reference point that every report can state: the worst finite value of each
    objective among `points` (so the worst trial on each axis adds no volume)."""
    cost = costs(points, maximize)
    cost = cost[np.isfinite(cost).all(axis=1)]
    if len(cost) == 0:
        raise ValueError("no finite point to take a reference point from")
    worst = cost.max(axis=0)
    return [float(-w if m else w) for w, m in zip(worst, maximize, strict=True)]
