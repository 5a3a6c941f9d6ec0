"""The sweep's Parquet writer: result rows appended in parts, one summary row per trial.

Plain Python (no Ray), driven by the Tune callback in sweep.tune.callback and testable
with synthetic results. Guarantees:

- A (trial_id, step) row is written once. What is on disk is summarised when the writer
  opens as each trial's highest written step: a trial's written steps are always a
  prefix of the steps it reported (rows are flushed in order, and a restored trial
  restarts at or before its first unwritten step, see below), so a retried trial or a
  resumed sweep (a new driver) that reports a step again is recognised by its step not
  exceeding that mark, and dropped; the first row stays. Memory is O(trials), not O(rows).
- No row is lost with a killed driver. A trial's buffered rows are flushed to a new part
  whenever a checkpoint of it arrives, before Tune records that checkpoint as the one to
  restore from, so a restored trial restarts at or before the first row not yet on disk,
  and reports it again. Buffers are also flushed when a trial ends, every
  `flush_seconds`, and when MAX_BUFFERED_ROWS are held (driver memory stays flat).
- Each part holds the rows of one trial, so a trial's parts are compacted into one file
  when it ends, and all parts into a few large files when the sweep ends
  (sweep.store.compaction: atomic, no row lost or seen twice, also when killed midway).
- Every file is written atomically (sweep.store.storage): readers (pandas, pyarrow.dataset,
  duckdb, `sweep report`) can read the directory at any moment of the sweep.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from typing import Any

from sweep.store import compaction, storage
from sweep.store.parquet import rows_to_table
from sweep.store.schema import METRIC_COLUMNS, RESULTS_SCHEMA, TRIALS_SCHEMA, SchemaError
from trainables.config import TrialConfig

_METRICS = [f.name for f in METRIC_COLUMNS]


def plain(value: Any) -> Any:
    """Python scalars for pyarrow: numpy scalars (Tune's samplers give them) unwrapped."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def trial_config(values: dict[str, Any]) -> TrialConfig:
    """The TrialConfig of a Tune trial's config dict."""
    return TrialConfig.from_dict({k: plain(v) for k, v in values.items()})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Rows held before a flush regardless of time: a few MB, so a driver fed thousands of
# reports a second holds a bounded buffer (bench/scale.py measures it).
MAX_BUFFERED_ROWS = 10_000


class SweepWriter:
    def __init__(
        self,
        sweep_dir: str,
        sweep: str,
        flush_seconds: float = 30.0,
        compact: bool = True,
        frontier: Callable[[], dict[str, dict[str, Any]]] | None = None,
    ):
        """`frontier`, for a frontier sweep: the current frontier columns of every trial
        the scheduler ranked (trial id -> {column: value}), merged in at each write."""
        self.sweep_dir = sweep_dir
        self.frontier = frontier
        self.sweep = sweep
        self.flush_seconds = flush_seconds
        self.compact = compact  # per trial when it ends, sweep-wide in close()
        self.results_dir = storage.join(sweep_dir, storage.RESULTS_DIR)
        self.trials_file = storage.join(sweep_dir, storage.TRIALS_FILE)
        self._max_step: dict[str, int] = {}  # highest step on disk or buffered, per trial
        self._buffers: dict[str, list[dict[str, Any]]] = {}  # per trial, in report order
        self._buffered = 0
        self._parts: dict[str, list[str]] = {}  # live single-trial parts of each trial
        # A trial's config never changes: parsed once (it was most of a row's cost).
        self._configs: dict[str, tuple[TrialConfig, dict[str, Any]]] = {}
        self._trials: dict[str, dict[str, Any]] = {}
        self._trials_dirty = False
        self._score_step: dict[str, int] = {}  # step of each trial's last_score
        self._next_part = 1
        self._last_flush = time.monotonic()

    # -- opening: what earlier drivers wrote -------------------------------------------

    def open(self) -> None:
        storage.remove_stale_temporaries(self.results_dir)
        storage.remove_stale_temporaries(self.sweep_dir)
        listing = compaction.list_parts(self.results_dir)
        # Above every part number a compact file's footer may still list (never reused).
        self._next_part = listing.high_water + 1
        for part in listing.live:
            trial, _ = compaction.trial_of(part)
            if trial is not None:
                self._parts.setdefault(trial, []).append(part)
        keys = compaction.read_live(self.results_dir, columns=["trial_id", "step"])
        if keys is not None:
            highest = keys.group_by("trial_id").aggregate([("step", "max")])
            self._max_step.update(
                zip(highest["trial_id"].to_pylist(), highest["step_max"].to_pylist(), strict=True)
            )
        if storage.exists(self.trials_file):
            for row in storage.read_parquet(self.trials_file, "trials").to_pylist():
                self._trials[row["trial_id"]] = row

    def trial_row(self, trial_id: str) -> dict[str, Any]:
        return dict(self._trials.get(trial_id, {}))

    def trial_rows(self) -> list[dict[str, Any]]:
        return [self._trials[k] for k in sorted(self._trials)]

    # -- events -------------------------------------------------------------------------

    def observe(self, trial_id: str, config: dict[str, Any]) -> None:
        """A trial Tune created (it may not have started yet)."""
        if trial_id not in self._trials:
            self._update(trial_id, config, status="pending")

    def running(self, trial_id: str, config: dict[str, Any], failures: int = 0) -> None:
        self._update(trial_id, config, status="running", failures=failures)

    def add_result(self, trial_id: str, config: dict[str, Any], result: dict[str, Any]) -> bool:
        """Buffer one reported result; False (and nothing kept) if its step is written."""
        step = int(plain(result["step"]))
        if step <= self._max_step.get(trial_id, -1):
            return False
        cfg, columns = self._config(trial_id, config)
        row = {
            "sweep": self.sweep,
            "trial_id": trial_id,
            **columns,
            **{name: plain(result.get(name)) for name in _METRICS},
            "step": step,
            "node": result.get("node"),
            "node_id": result.get("node_id"),
            "wall_time": plain(result.get("wall_time")),
            "timestamp": dt.datetime.fromtimestamp(result.get("reported_at", time.time()), dt.UTC),
            "restored_from_step": plain(result.get("restored_from_step")),
        }
        self._buffers.setdefault(trial_id, []).append(row)
        self._buffered += 1
        self._max_step[trial_id] = step
        self._summarise(trial_id, cfg, row, result.get("message"))
        return True

    def checkpoint(self, trial_id: str, config: dict[str, Any], uri: str) -> None:
        """A persisted checkpoint: rows up to it are flushed before Tune can restore from it."""
        self._update(trial_id, config, checkpoint_path=uri)
        self.flush(trial_id)

    def finished(
        self, trial_id: str, config: dict[str, Any], error: str | None = None, failures: int = 0
    ) -> None:
        """The trial ended: completed, stopped by ASHA, diverged, or failed for good."""
        summary = self._trials.get(trial_id) or {}
        steps_done = summary.get("steps_done") or 0
        planned = self._config(trial_id, config)[0].steps
        if error is not None:
            status, message = "error", error
        elif summary.get("status") == "diverged":
            status, message = "diverged", summary.get("message")
        elif steps_done >= planned:
            status, message = "terminated", None
        else:
            status, message = "stopped-early", None
        self._update(
            trial_id,
            config,
            status=status,
            stopped_early=status == "stopped-early",
            message=message,
            failures=failures,
        )
        self.flush(trial_id)
        if self.compact and len(self._parts.get(trial_id, [])) > 1:
            try:
                merged = compaction.compact_trial(self.results_dir, self._parts[trial_id])
            except (OSError, SchemaError) as error:
                _compaction_failed(error)  # the parts stay as they are, every row once
            else:
                if merged is not None:
                    self._parts[trial_id] = [merged]

    def maybe_flush(self) -> None:
        due = time.monotonic() - self._last_flush >= self.flush_seconds
        if self._buffered and (due or self._buffered >= MAX_BUFFERED_ROWS):
            self.flush()
        elif self._trials_dirty and not self._buffered:
            self._write_trials()

    def flush(self, trial_id: str | None = None) -> None:
        """Write the buffered rows of `trial_id` (default: of every trial) as one new part
        per trial, then the trial summaries."""
        for trial in [trial_id] if trial_id is not None else list(self._buffers):
            rows = self._buffers.pop(trial, None)
            if not rows:
                continue
            part = storage.join(self.results_dir, f"part-{self._next_part:06d}.parquet")
            while storage.exists(part):  # never replace a part (one driver holds the sweep)
                self._next_part += 1
                part = storage.join(self.results_dir, f"part-{self._next_part:06d}.parquet")
            storage.write_parquet(rows_to_table(rows, RESULTS_SCHEMA), part)
            self._next_part += 1
            self._buffered -= len(rows)
            self._parts.setdefault(trial, []).append(part)
        if trial_id is None or not self._buffered:
            self._last_flush = time.monotonic()
        if self._trials_dirty:
            self._write_trials()

    def close(self) -> compaction.CompactionReport | None:
        """The sweep's driver is done: flush everything and compact sweep-wide."""
        self.flush()
        if not self.compact:
            return None
        try:
            report = compaction.compact(self.results_dir)
        except (OSError, SchemaError) as error:
            _compaction_failed(error)
            return None
        self._parts = {}  # sweep-wide files hold many trials; a later writer reopens them
        return report

    # -- internals ----------------------------------------------------------------------

    def _config(self, trial_id: str, config: dict[str, Any]) -> tuple[TrialConfig, dict[str, Any]]:
        if trial_id not in self._configs:
            cfg = trial_config(config)
            self._configs[trial_id] = (cfg, cfg.to_dict())
        return self._configs[trial_id]

    def _write_trials(self) -> None:
        if self.frontier is not None:
            for trial_id, columns in self.frontier().items():
                if trial_id in self._trials:
                    self._trials[trial_id].update(columns)
        storage.write_parquet(rows_to_table(self.trial_rows(), TRIALS_SCHEMA), self.trials_file)
        self._trials_dirty = False

    def _update(self, trial_id: str, config: dict[str, Any], **changes: Any) -> None:
        summary = self._trials.get(trial_id)
        if summary is None:
            columns = self._config(trial_id, config)[1]
            summary = {"sweep": self.sweep, "trial_id": trial_id, **columns}
            summary.update(status="pending", stopped_early=False, failures=0)
            self._trials[trial_id] = summary
        if summary["status"] in ("terminated", "stopped-early", "diverged") and changes.get(
            "status"
        ) in ("pending", "running"):
            changes.pop("status")  # a finished trial stays finished (a resumed sweep re-adds it)
        summary.update(changes, updated_at=_now())
        self._trials_dirty = True

    def _summarise(
        self, trial_id: str, cfg: TrialConfig, row: dict[str, Any], message: str | None
    ) -> None:
        summary = self._trials.get(trial_id) or {}
        changes: dict[str, Any] = {"node": row["node"]}
        if row["step"] >= (summary.get("steps_done") or 0):
            changes.update(
                steps_done=row["step"],
                last_recon=row["recon"],
                last_kl=row["kl"],
                last_elbo=row["elbo"],
            )
        score = row["score"]
        if score is not None:
            if row["step"] >= self._score_step.get(trial_id, 0):
                self._score_step[trial_id] = row["step"]
                changes.update(
                    last_score=score,
                    last_score_protocol=row["score_protocol"],
                    last_active_units=row.get("active_units"),
                )
            best = summary.get("best_score")
            if best is None or score > best:
                changes.update(best_score=score, best_score_step=row["step"])
        if row["diverged"]:
            changes.update(status="diverged", message=message)
        elif summary.get("status") != "diverged":
            changes["status"] = "running"
        self._update(trial_id, {}, **changes)  # the trial's summary exists: config unused


def _compaction_failed(error: Exception) -> None:
    # Compaction only saves files: a failure (an object store's hiccup) must not end the
    # sweep. Its steps keep every row readable once at any point; `sweep compact` redoes it.
    print(f"sweep: warning: compaction skipped ({error})", file=sys.stderr, flush=True)


def read_written_keys(sweep_dir: str) -> list[tuple[str, int]]:
    """Every (trial_id, step) in a sweep's live result parts, in file order, duplicates kept
    (so tests and audits can check that none is written twice)."""
    keys: list[tuple[str, int]] = []
    results_dir = storage.join(sweep_dir, storage.RESULTS_DIR)
    for part in compaction.live_parts(results_dir):
        table = storage.read_parquet(part, "results", columns=["trial_id", "step"])
        keys.extend(zip(table["trial_id"].to_pylist(), table["step"].to_pylist(), strict=True))
    return keys
