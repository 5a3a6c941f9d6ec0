"""The frontier a frontier sweep searched for (`sweep run --metric recon,score`), with its
hypervolume.

Reads the sweep's own record: its objectives from sweep.json, and from trials.parquet each
trial's latest value of every objective (last_recon, last_score, …) and whether the sweep
put it on the final frontier (on_frontier, sweep.store.schema). The hypervolume is the
volume those trials dominate up to a stated reference point: the worst finite value of
each objective among the sweep's trials (so the worst trial on each axis adds nothing).
A single-metric sweep has none of this (None).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweep.errors import fail
from sweep.multiobjective import fronts, hypervolume, nadir_reference
from sweep.store.parquet import read_table
from sweep.store.schema import SchemaError

SPEC_FILE = "sweep.json"  # sweep.store.storage.SPEC_FILE
TRIALS_FILE = "trials.parquet"
# The objectives a frontier sweep can search (sweep.spec.OBJECTIVES): direction and the
# trials.parquet column with each trial's latest value.
OBJECTIVES = {
    "recon": ("min", "last_recon"),
    "score": ("max", "last_score"),
    "elbo": ("max", "last_elbo"),
    "kl": ("min", "last_kl"),
    "active_units": ("max", "active_units"),
}
LABELS = {
    "recon": "reconstruction loss (nats per image)",
    "score": "disentanglement score (fraction)",
    "elbo": "ELBO (nats per image)",
    "kl": "KL to the prior (nats)",
    "active_units": "active latents",
}


@dataclass(frozen=True)
class SearchedFrontier:
    objectives: list[str]
    directions: list[str]  # "min" or "max" per objective
    trial_ids: list[str]  # trials with a finite value of every objective
    points: list[list[float]]  # their values, in trial_ids' order
    stopped_early: list[bool]
    members: list[str]  # trials the sweep put on the final frontier (on_frontier)
    reference_point: list[float]
    hypervolume: float

    def to_json(self) -> dict[str, Any]:
        return {
            "objectives": self.objectives,
            "directions": self.directions,
            "trials": self.members,
            "reference_point": self.reference_point,
            "reference_rule": "the worst finite value of each objective among the trials",
            "hypervolume": self.hypervolume,
        }


def searched_objectives(sweep_dir: Path) -> list[str] | None:
    """The objectives of a frontier sweep from its sweep.json; None for a single metric
    or without sweep.json."""
    path = sweep_dir / SPEC_FILE
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        metric = saved.get("spec", saved).get("metric")
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as error:
        fail(f"{path}: not a readable sweep specification ({error})")
    if not isinstance(metric, str) or "," not in metric:
        return None
    names = metric.split(",")
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown:
        fail(f"{path}: unknown objective {unknown[0]!r} in metric {metric!r}")
    return names


def searched_frontier(sweep_dir: Path) -> SearchedFrontier | None:
    objectives = searched_objectives(sweep_dir)
    if objectives is None:
        return None
    try:
        rows = read_table(sweep_dir / TRIALS_FILE, "trials").to_pylist()
    except SchemaError as error:
        fail(str(error))
    directions = [OBJECTIVES[n][0] for n in objectives]
    maximize = [d == "max" for d in directions]
    ids, points, stopped, members = [], [], [], []
    for row in sorted(rows, key=lambda r: r["trial_id"]):
        values = [row.get(OBJECTIVES[n][1]) for n in objectives]
        if row.get("status") == "diverged" or not all(_finite(v) for v in values):
            continue
        ids.append(row["trial_id"])
        points.append([float(v) for v in values])
        stopped.append(bool(row.get("stopped_early")))
        if row.get("on_frontier"):
            members.append(row["trial_id"])
    if not points:
        return None
    reference = nadir_reference(points, maximize)
    return SearchedFrontier(
        objectives=objectives,
        directions=directions,
        trial_ids=ids,
        points=points,
        stopped_early=stopped,
        members=members,
        reference_point=reference,
        hypervolume=hypervolume(points, maximize, reference),
    )


def front_of(frontier: SearchedFrontier) -> list[int]:
    """Each plotted trial's non-dominated front among the plotted trials (1 = Pareto)."""
    return fronts(frontier.points, [d == "max" for d in frontier.directions])


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
