"""The sweep's Tune schedulers, and the callback that saves their rung records.

- MultiObjectiveASHA: asynchronous successive halving on two or three objectives
  (Schmucker et al. 2021; Syne Tune's MOASHA). Rungs at grace·rf^k steps below the last
  step, like Ray's ASHAScheduler with one bracket. A trial reaching a rung is recorded
  there, and goes on only if it is within the top 1/rf of the trials recorded at that
  rung, ordered by non-dominated sorting with a crowding-distance tie-break
  (sweep.multiobjective.promoted).
- RestorableASHA: Ray's ASHAScheduler, whose rung records can be saved and restored.
- SchedulerState: Tune saves callbacks' states with its experiment state and restores
  them in Tuner.restore, but never a scheduler's (Ray 2.60's TuneController.save_to_dir
  and resume touch only the trials, the searcher and the callbacks; the scheduler comes
  back as it was pickled in tuner.pkl, before the first trial). This callback carries the
  scheduler's records through the callbacks' state. tuner.pkl pickles the callbacks and the
  scheduler together, so after a restore the callback still holds the very scheduler Tune
  uses, and set_state (run before the restored trials are queued) fills it.
"""

from __future__ import annotations

import math
from typing import Any

from ray.tune import Callback
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler

from sweep.multiobjective import fronts, promoted


def rung_steps(grace: int, max_t: int, reduction_factor: int) -> list[int]:
    """grace·rf^k below max_t: at max_t every trial stops anyway (Ray's stop_last_trials)."""
    steps, rung = [], grace
    while rung < max_t:
        steps.append(rung)
        rung *= reduction_factor
    return steps


class MultiObjectiveASHA(FIFOScheduler):
    def __init__(
        self,
        metrics: list[str],
        modes: list[str],
        *,
        time_attr: str,
        max_t: int,
        grace_period: int,
        reduction_factor: int,
    ):
        if len(metrics) != len(modes) or not set(modes) <= {"min", "max"}:
            raise ValueError(f"one mode (min or max) per metric; got {metrics}, {modes}")
        super().__init__()
        self.metrics = list(metrics)
        self.maximize = [m == "max" for m in modes]
        self.time_attr = time_attr
        self.max_t = max_t
        self.reduction_factor = reduction_factor
        # rung step -> {trial id: objective vector}, in the order trials arrived there
        self.records: dict[int, dict[str, list[float]]] = {
            step: {} for step in rung_steps(grace_period, max_t, reduction_factor)
        }
        self.latest: dict[str, list[float]] = {}  # each trial's latest objective vector
        self.num_stopped = 0

    # -- Tune's scheduler interface ----------------------------------------------------

    def set_search_properties(self, metric: Any, mode: Any, **spec: Any) -> bool:
        return not metric and not mode  # the objectives are this scheduler's own

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        if self.time_attr not in result:
            return TrialScheduler.CONTINUE
        step = int(result[self.time_attr])
        vector = self._vector(result)
        self.latest[trial.trial_id] = vector
        if step >= self.max_t:
            action = TrialScheduler.STOP
        else:
            action = self.decide(trial.trial_id, step, vector)
        if action == TrialScheduler.STOP:
            self.num_stopped += 1
        return action

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        if result and all(m in result for m in self.metrics):
            self.latest[trial.trial_id] = self._vector(result)

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        pass

    def debug_string(self) -> str:
        counts = ", ".join(f"{step}: {len(r)}" for step, r in sorted(self.records.items()))
        return f"MultiObjectiveASHA on {self.metrics}: stopped {self.num_stopped}; rungs {counts}"

    # -- the rule ------------------------------------------------------------------------

    def decide(self, trial_id: str, step: int, vector: list[float]) -> str:
        """Record the trial at the highest rung it reached and has not been recorded at,
        and stop it unless it is within that rung's top 1/rf (Ray's ASHA's loop, with the
        multi-objective order instead of a percentile cutoff)."""
        for rung in sorted(self.records, reverse=True):
            recorded = self.records[rung]
            if step < rung or trial_id in recorded:
                continue
            recorded[trial_id] = vector
            points = list(recorded.values())
            index = list(recorded).index(trial_id)
            if not promoted(points, self.maximize, index, self.reduction_factor):
                return TrialScheduler.STOP
            break
        return TrialScheduler.CONTINUE

    def frontier_columns(self) -> dict[str, dict[str, Any]]:
        """The trials table's frontier columns (sweep.store.schema.TRIALS_SCHEMA): each
        trial's front at the last rung it was recorded at, among every trial recorded
        there; and whether its latest objective vector is on the Pareto front of all
        trials' latest vectors."""
        columns: dict[str, dict[str, Any]] = {}
        for rung in sorted(self.records):
            recorded = self.records[rung]
            ranks = fronts(list(recorded.values()), self.maximize)
            for trial_id, rank in zip(recorded, ranks, strict=True):
                columns[trial_id] = {"frontier_rank": rank, "frontier_rung": rung}
        ids = list(self.latest)
        final = fronts([self.latest[t] for t in ids], self.maximize)
        for trial_id, rank in zip(ids, final, strict=True):
            finite = all(math.isfinite(v) for v in self.latest[trial_id])
            entry = columns.setdefault(trial_id, {"frontier_rank": None, "frontier_rung": None})
            entry["on_frontier"] = rank == 1 and finite
        return columns

    def _vector(self, result: dict) -> list[float]:
        missing = [m for m in self.metrics if m not in result]
        if missing:
            raise KeyError(f"the trial's report has no {missing[0]!r} to rank it by")
        return [_number(result[m]) for m in self.metrics]

    # -- saved with the experiment (SchedulerState) --------------------------------------

    def state(self) -> dict[str, Any]:
        return {"records": self.records, "latest": self.latest, "num_stopped": self.num_stopped}

    def load_state(self, state: dict[str, Any]) -> None:
        self.records = {int(k): dict(v) for k, v in state["records"].items()}
        self.latest = dict(state["latest"])
        self.num_stopped = state["num_stopped"]


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


class RestorableASHA(ASHAScheduler):
    """Ray's ASHA with its rung records (the brackets) exposed to SchedulerState."""

    def state(self) -> dict[str, Any]:
        return {"brackets": self._brackets, "num_stopped": self._num_stopped}

    def load_state(self, state: dict[str, Any]) -> None:
        self._brackets = state["brackets"]
        self._num_stopped = state["num_stopped"]
        # Trials Tune re-adds after the restore are assigned to these brackets
        # (on_trial_add); any assigned before now point at the restored ones as well.
        self._trial_info = {t: self._brackets[0] for t in self._trial_info}

    def recorded(self) -> dict[int, dict[str, float]]:
        """rung step -> {trial id: value as ASHA compares it (higher is better)}."""
        return {int(step): dict(r) for b in self._brackets for step, r in b._rungs}


class SchedulerState(Callback):
    """Saves the scheduler's rung records with Tune's experiment state (module docstring)."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler

    def get_state(self) -> dict[str, Any] | None:
        return {"scheduler": self.scheduler.state()}

    def set_state(self, state: dict[str, Any]) -> None:
        self.scheduler.load_state(state["scheduler"])
