"""How many trials the Ray cluster can run at once: what a sweep's announcement promises.

Pure arithmetic on node resources (no Ray import), so it is tested without a cluster.
A trial takes --cpus-per-trial CPUs and --gpus-per-trial GPUs of one node; a node holds as
many trials as both fit. Fractions are rounded with a tolerance: 0.6 GPU holds three
trials of 0.2 although 0.6 / 0.2 is 2.9999999999999996 in floating point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

_TOLERANCE = 1e-9


def trials_per_node(resources: dict[str, float], cpus: float, gpus: float) -> int:
    """Trials of (cpus, gpus) that fit on one node with `resources` (Ray's "CPU", "GPU")."""
    fits = math.floor(resources.get("CPU", 0.0) / cpus + _TOLERANCE)
    if gpus > 0:
        fits = min(fits, math.floor(resources.get("GPU", 0.0) / gpus + _TOLERANCE))
    return max(0, fits)


def cluster_slots(nodes: Iterable[dict[str, float]], cpus: float, gpus: float) -> int:
    """Trials the nodes can run at once, each trial on one node."""
    return sum(trials_per_node(node, cpus, gpus) for node in nodes)
