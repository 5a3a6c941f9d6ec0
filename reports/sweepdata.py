"""A sweep's Parquet files, read and checked, as one summary per trial.

Reads only what the sweep writes under <storage>/<name>/ (sweep.store.schema): results/part-*,
trials.parquet and, when present, baselines.parquet. Works mid-sweep: a trial that has
reported results but is not yet in trials.parquet is kept, marked "running".

Which score a trial has: its latest score under the ONE protocol the report ranks by
(reports.protocols: the protocol that scored the most trials); its latest scores under
every protocol are kept in `Trial.scores`, so figures and the table can show the others
apart. Every score keeps the protocol string it was measured with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from reports import protocols
from reports.protocols import Score
from sweep.errors import fail
from sweep.store.parquet import read_dataset, read_table
from sweep.store.schema import TRIAL_STATUSES, SchemaError

RESULTS_DIR = "results"
TRIALS_FILE = "trials.parquet"
BASELINES_FILE = "baselines.parquet"
SPEC_FILE = "sweep.json"  # sweep.store.storage.SPEC_FILE: written when the sweep starts
LOCK_FILE = ".driver.lock"  # sweep.store.claim.LOCK_FILE: held while a driver runs it

_RESULT_COLUMNS = [
    "trial_id",
    "model",
    "beta",
    "beta_norm",
    "objective",
    "capacity_max",
    "gamma",
    "latent_size",
    "steps",
    "step",
    "recon",
    "score",
    "score_protocol",
    "active_units",
    "diverged",
    "wall_time",
]


@dataclass(frozen=True)
class Curve:
    """One trial's reports in step order (NaN where a value was not reported)."""

    step: np.ndarray  # int, every report
    recon: np.ndarray  # nats per image, NaN where absent or non-finite
    score_step: np.ndarray  # int, the reports that measured a score
    score: np.ndarray  # fraction in [0, 1]
    score_final: np.ndarray  # bool: the trial's final-protocol score
    score_protocol: np.ndarray  # str (object), the protocol of each score


@dataclass(frozen=True)
class Trial:
    trial_id: str
    status: str  # one of sweep.store.schema.TRIAL_STATUSES
    beta: float | None  # None for DC-IGN and InfoGAN, which read no β
    beta_norm: float | None
    latent_size: int
    steps: int | None  # planned training steps (TrialConfig.steps)
    steps_done: int | None
    diverged: bool
    score: float | None  # fraction, under the report's ranking protocol (module docstring)
    score_step: int | None
    score_protocol: str | None
    score_is_final: bool
    active_units: int | None  # measured with that score (Var(μ) > 0.01); None if not
    recon: float | None  # reported with that score (nats per image)
    kl_per_latent: tuple[float, ...] | None  # the latest report's, nats per latent
    checkpoint_path: str | None
    message: str | None
    curve: Curve
    scores: tuple[Score, ...] = ()  # the latest score under each protocol, any order
    objective: str | None = "beta"  # the capacity objective searches C_max (and γ), not β
    model: str = "beta-vae"  # DC-IGN and InfoGAN searched over their latent size only
    capacity_max: float | None = None
    gamma: float | None = None

    @property
    def stopped_early(self) -> bool:
        return self.status == "stopped-early"

    @property
    def has_score(self) -> bool:
        """Has a score and did not diverge: it can be ranked and plotted by its score.

        A diverged model is no choice for a researcher even if it scored before it blew up.
        """
        return self.score is not None and not self.diverged

    @property
    def can_be_chosen(self) -> bool:
        """Has a score and a finite reconstruction, did not diverge: a frontier candidate
        (an InfoGAN, which reconstructs nothing, never is)."""
        return self.has_score and self.recon is not None and math.isfinite(self.recon)


@dataclass(frozen=True)
class Sweep:
    name: str
    directory: Path
    trials: list[Trial]  # sorted by trial id
    protocol: str | None  # the protocol every ranked score uses (reports.protocols)
    baselines: list[dict[str, Any]] | None  # BASELINES_SCHEMA rows
    baselines_source: Path | None


def load_sweep(directory: Path, name: str, baselines: Path | None = None) -> Sweep:
    """Read and check a sweep directory; every problem is a one-line `fail`."""
    if not directory.is_dir():
        fail(f"no sweep {name!r}: {directory} is not a directory")
    trials_file = directory / TRIALS_FILE
    if not trials_file.is_file():
        if any((directory / f).is_file() for f in (SPEC_FILE, LOCK_FILE)):
            fail(
                f"sweep {name!r} has started but recorded no trial yet (no {trials_file}); "
                "run the report again once trials have reported"
            )
        fail(f"{directory}: no {TRIALS_FILE}; is this a betasweep sweep directory?")
    results_dir = directory / RESULTS_DIR
    try:
        trial_rows = read_table(trials_file, "trials").to_pylist()
        results = read_dataset(results_dir, "results") if _has_parts(results_dir) else None
        baseline_rows, baselines_source = _read_baselines(directory, baselines)
    except SchemaError as error:
        fail(str(error))
    if not trial_rows and results is None:
        fail(f"sweep {name!r} is empty: {trials_file} lists no trials")
    if results is None or results.num_rows == 0:
        _fail_without_results(name, trial_rows)
        fail(
            f"sweep {name!r} has no results yet ({results_dir} holds no Parquet parts); "
            "run the report again once trials have reported"
        )
    trials = _summarise(trial_rows, results)
    protocol = protocols.ranking_protocol(trials)
    return Sweep(
        name,
        directory,
        protocols.rank_by(trials, protocol),
        protocol,
        baseline_rows,
        baselines_source,
    )


def _fail_without_results(name: str, trial_rows: list[dict[str, Any]]) -> None:
    """A sweep that has ended with no result at all: say how its trials ended."""
    statuses = [row.get("status") for row in trial_rows]
    if not trial_rows or any(s in ("pending", "running") for s in statuses):
        return  # still going: "no results yet"
    failed = [row for row in trial_rows if row.get("status") == "error"]
    first = next((row for row in failed if row.get("message")), None)
    cause = f"; {first['trial_id']}: {first['message']}" if first else ""
    if len(failed) == len(trial_rows):
        fail(
            f"sweep {name!r} has ended and all {len(failed)} of its trials failed before "
            f"reporting a result (`sweep status {name}` lists why){cause}"
        )
    fail(
        f"sweep {name!r} has ended without any result: {len(trial_rows)} trials, "
        f"{len(failed)} failed (`sweep status {name}` lists them){cause}"
    )


def _has_parts(results_dir: Path) -> bool:
    return results_dir.is_dir() and any(
        not p.name.startswith(".") for p in results_dir.glob("*.parquet")
    )


def _read_baselines(
    directory: Path, explicit: Path | None
) -> tuple[list[dict[str, Any]] | None, Path | None]:
    if explicit is not None:
        if not explicit.is_file():
            fail(f"--baselines {explicit}: no such file")
        path = explicit
    else:
        path = directory / BASELINES_FILE
        if not path.is_file():
            return None, None
    return read_table(path, "baselines").to_pylist(), path


def _summarise(trial_rows: list[dict[str, Any]], results: pa.Table) -> list[Trial]:
    if "active_units" not in results.column_names:  # written before the column existed
        results = results.append_column("active_units", pa.nulls(results.num_rows, pa.int64()))
    if "model" not in results.column_names:  # written before other models existed
        results = results.append_column("model", pa.array(["beta-vae"] * results.num_rows))
    columns = results.select(_RESULT_COLUMNS).to_pydict()
    # KL lists stay in Arrow: only each trial's latest one is ever converted.
    columns["kl_per_latent"] = results.column("kl_per_latent")
    by_trial: dict[str, list[int]] = {}
    for index, trial_id in enumerate(columns["trial_id"]):
        by_trial.setdefault(trial_id, []).append(index)
    listed = {row["trial_id"]: row for row in trial_rows}
    trials = []
    for trial_id in sorted(set(listed) | set(by_trial)):
        row = listed.get(trial_id)
        indices = by_trial.get(trial_id, [])
        trials.append(_trial(trial_id, row, columns, indices))
    return trials


def _trial(
    trial_id: str, row: dict[str, Any] | None, columns: dict[str, list], indices: list[int]
) -> Trial:
    # Report order: by step, then by time within a step (a final score follows the loop's).
    wall = [columns["wall_time"][i] for i in indices]
    order = sorted(
        range(len(indices)),
        key=lambda k: (columns["step"][indices[k]], _or_inf(wall[k]), k),
    )
    rows = [indices[k] for k in order]
    source = row if row is not None else _config_of_results(columns, rows)
    beta, beta_norm = source.get("beta"), source.get("beta_norm")
    latent_size = source.get("latent_size")
    model = source.get("model") or "beta-vae"
    if latent_size is None or (model == "beta-vae" and (beta is None or beta_norm is None)):
        fail(f"trial {trial_id}: beta, beta_norm or latent_size is missing from its config")
    status = row["status"] if row is not None else "running"
    if status not in TRIAL_STATUSES:
        fail(
            f"trial {trial_id}: unknown status {status!r} (expected one of {', '.join(TRIAL_STATUSES)})"
        )
    steps = source.get("steps")
    curve = _curve(trial_id, columns, rows, steps)
    # Rows are in report order, so the last scored one is the final score when there is one.
    scored = [i for i in rows if columns["score"][i] is not None]
    chosen = scored[-1] if scored else None
    diverged = status == "diverged" or any(columns["diverged"][i] for i in rows)
    kl_lists = (columns["kl_per_latent"][i].as_py() for i in reversed(rows))
    kl = next((values for values in kl_lists if values), None)
    message = (
        row.get("message") if row is not None else "reported results; not yet in trials.parquet"
    )
    steps_done = row.get("steps_done") if row is not None else None
    if steps_done is None and rows:
        steps_done = int(columns["step"][rows[-1]])
    return Trial(
        trial_id=trial_id,
        status=status,
        beta=_float_or_none(beta),
        beta_norm=_float_or_none(beta_norm),
        latent_size=int(latent_size),
        steps=None if steps is None else int(steps),
        steps_done=steps_done,
        diverged=bool(diverged),
        score=None if chosen is None else float(columns["score"][chosen]),
        score_step=None if chosen is None else int(columns["step"][chosen]),
        score_protocol=None if chosen is None else columns["score_protocol"][chosen],
        score_is_final=bool(chosen is not None and curve.score_final.any()),
        active_units=None if chosen is None else columns["active_units"][chosen],
        recon=None if chosen is None else _recon_at(columns, rows, chosen),
        kl_per_latent=None if kl is None else tuple(_finite_or_nan(v) for v in kl),
        checkpoint_path=row.get("checkpoint_path") if row is not None else None,
        message=message,
        curve=curve,
        scores=_latest_scores(columns, rows, curve),
        objective=source.get("objective") or ("beta" if model == "beta-vae" else None),
        model=model,
        capacity_max=_float_or_none(source.get("capacity_max")),
        gamma=_float_or_none(source.get("gamma")),
    )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _latest_scores(columns: dict[str, list], rows: list[int], curve: Curve) -> tuple[Score, ...]:
    """The latest score under each protocol (rows in report order, scored ones matching
    the curve's score points one to one)."""
    scored = [i for i in rows if columns["score"][i] is not None]
    latest: dict[str, Score] = {}
    for k, i in enumerate(scored):
        protocol = str(curve.score_protocol[k])
        latest[protocol] = Score(
            value=float(columns["score"][i]),
            step=int(columns["step"][i]),
            protocol=protocol,
            final=bool(curve.score_final[k]),
            recon=_recon_at(columns, rows, i),
        )
    return tuple(latest.values())


def _config_of_results(columns: dict[str, Any], rows: list[int]) -> dict[str, Any]:
    """The config columns of a trial known only from its results (not yet in trials.parquet)."""
    keys = (
        "model",
        "beta",
        "beta_norm",
        "latent_size",
        "steps",
        "objective",
        "capacity_max",
        "gamma",
    )
    return {k: columns[k][rows[0]] for k in keys}


def kl_order(kl: tuple[float, ...] | list[float]) -> list[int]:
    """Latent indices by KL, highest first; NaN (not reported) sorts last."""
    return sorted(range(len(kl)), key=lambda i: -kl[i] if math.isfinite(kl[i]) else math.inf)


def _or_inf(value: float | None) -> float:
    return math.inf if value is None or math.isnan(value) else value


def _finite_or_nan(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else math.nan


def _curve(trial_id: str, columns: dict[str, list], rows: list[int], steps: int | None) -> Curve:
    scored = [i for i in rows if columns["score"][i] is not None]
    scores = np.array([columns["score"][i] for i in scored], dtype=float)
    if scores.size and not ((scores >= 0) & (scores <= 1)).all():
        fail(f"trial {trial_id}: score outside [0, 1]; the results must hold accuracy fractions")
    final = np.zeros(len(scored), dtype=bool)
    # The final score is the last one of a trial that reached its planned last step.
    if scored and steps is not None and columns["step"][scored[-1]] >= steps:
        final[-1] = True
    return Curve(
        step=np.array([columns["step"][i] for i in rows], dtype=np.int64),
        recon=np.array([_finite_or_nan(columns["recon"][i]) for i in rows], dtype=float),
        score_step=np.array([columns["step"][i] for i in scored], dtype=np.int64),
        score=scores,
        score_final=final,
        score_protocol=np.array(
            [columns["score_protocol"][i] or protocols.UNRECORDED for i in scored], dtype=object
        ),
    )


def _recon_at(columns: dict[str, list], rows: list[int], chosen: int) -> float | None:
    """The reconstruction reported with the score, else the latest one reported before it."""
    step = columns["step"][chosen]
    candidates = [chosen] + [i for i in reversed(rows) if columns["step"][i] <= step]
    for i in candidates:
        value = columns["recon"][i]
        if value is not None:
            return float(value)
    return None
