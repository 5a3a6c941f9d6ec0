"""The Pareto frontier of a point set: the points no other point beats on every objective.

Kept apart from the sweep's data so that it can be tested on point sets whose frontier is
known by hand (ties, duplicates, a single point, either direction per objective).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pareto_front(points: Sequence[Sequence[float]], maximize: Sequence[bool]) -> list[int]:
    """Indices (ascending) of the non-dominated points among `points` (n rows, d objectives).

    maximize[k] says whether objective k is better high (True) or low (False).
    A point is dominated when another is at least as good on every objective and strictly
    better on one. So exact duplicates do not dominate each other: both stay on the front
    (two trials with the same result are equally good choices), and a point tied with a
    front point on one objective but worse on the other is off it.
    """
    array = np.asarray(points, dtype=float)
    if array.size == 0:
        return []
    if array.ndim != 2 or array.shape[1] != len(maximize):
        raise ValueError(
            f"points must be rows of {len(maximize)} objectives; got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError("points must be finite (drop NaN and infinite values first)")
    # Flip the maximised objectives so that lower is better everywhere.
    cost = np.where(np.asarray(maximize, dtype=bool), -array, array)
    # (n, n) comparisons: a sweep holds hundreds of trials, not millions.
    no_worse = (cost[:, None, :] <= cost[None, :, :]).all(axis=2)  # [j, i]: j ≤ i everywhere
    better = (cost[:, None, :] < cost[None, :, :]).any(axis=2)  # [j, i]: j < i somewhere
    dominated = (no_worse & better).any(axis=0)
    return [int(i) for i in np.flatnonzero(~dominated)]
