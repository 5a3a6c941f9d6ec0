"""The sweep's Parquet writer: result rows appended in parts, one summary row per trial.

Plain Python (no Ray), driven by the Tune callback in sweep.tune.callback and testable
with synthetic results. Guarantees:

- A (trial_id, step) row is written once. Rows already on disk are loaded when the
  writer opens, so a retried trial (restarted from its checkpoint) or a resumed sweep
  (a new driver) that reports a step again does not duplicate it; the first row stays.
- No row is lost with a killed driver. Buffered rows are flushed to a new part whenever
  a checkpoint arrives, before Tune records that checkpoint as the one to restore from,
  so a restored trial restarts at or before the first row not yet on disk, and reports
  it again. Buffers are also flushed when a trial ends and every `flush_seconds`.
- Every file is written atomically (sweep.store.storage): readers (pandas, pyarrow.dataset,
  duckdb, `sweep report`) can read the directory at any moment of the sweep.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from sweep.store import storage
from sweep.store.parquet import rows_to_table
from sweep.store.schema import METRIC_COLUMNS, RESULTS_SCHEMA, TRIALS_SCHEMA
from trainables.config import TrialConfig

_PART = re.compile(r"^part-(\d+)\.parquet$")
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


class SweepWriter:
    def __init__(self, sweep_dir: str, sweep: str, flush_seconds: float = 30.0):
        self.sweep_dir = sweep_dir
        self.sweep = sweep
        self.flush_seconds = flush_seconds
        self.results_dir = storage.join(sweep_dir, storage.RESULTS_DIR)
        self.trials_file = storage.join(sweep_dir, storage.TRIALS_FILE)
        self._written: set[tuple[str, int]] = set()  # (trial_id, step) on disk or buffered
        self._buffer: list[dict[str, Any]] = []
        self._trials: dict[str, dict[str, Any]] = {}
        self._trials_dirty = False
        self._score_step: dict[str, int] = {}  # step of each trial's last_score
        self._next_part = 1
        self._last_flush = time.monotonic()

    # -- opening: what earlier drivers wrote -------------------------------------------

    def open(self) -> None:
        storage.remove_stale_temporaries(self.results_dir)
        storage.remove_stale_temporaries(self.sweep_dir)
        self._written.update(read_written_keys(self.sweep_dir))
        parts = storage.list_files(self.results_dir, ".parquet")
        numbers = [int(m.group(1)) for p in parts if (m := _PART.match(p.rsplit("/", 1)[-1]))]
        self._next_part = max(numbers, default=0) + 1
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
        if (trial_id, step) in self._written:
            return False
        cfg = trial_config(config)
        row = {
            "sweep": self.sweep,
            "trial_id": trial_id,
            **cfg.to_dict(),
            **{name: plain(result.get(name)) for name in _METRICS},
            "step": step,
            "node": result.get("node"),
            "node_id": result.get("node_id"),
            "wall_time": plain(result.get("wall_time")),
            "timestamp": dt.datetime.fromtimestamp(result.get("reported_at", time.time()), dt.UTC),
            "restored_from_step": plain(result.get("restored_from_step")),
        }
        self._buffer.append(row)
        self._written.add((trial_id, step))
        self._summarise(trial_id, cfg, row, result.get("message"))
        return True

    def checkpoint(self, trial_id: str, config: dict[str, Any], uri: str) -> None:
        """A persisted checkpoint: rows up to it are flushed before Tune can restore from it."""
        self._update(trial_id, config, checkpoint_path=uri)
        self.flush()

    def finished(
        self, trial_id: str, config: dict[str, Any], error: str | None = None, failures: int = 0
    ) -> None:
        """The trial ended: completed, stopped by ASHA, diverged, or failed for good."""
        summary = self._trials.get(trial_id) or {}
        steps_done = summary.get("steps_done") or 0
        planned = trial_config(config).steps
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
        self.flush()

    def maybe_flush(self) -> None:
        if self._buffer and time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()
        elif self._trials_dirty and not self._buffer:
            self._write_trials()

    def flush(self) -> None:
        """Write the buffered rows as a new part, then the trial summaries."""
        if self._buffer:
            part = storage.join(self.results_dir, f"part-{self._next_part:06d}.parquet")
            storage.write_parquet(rows_to_table(self._buffer, RESULTS_SCHEMA), part)
            self._next_part += 1
            self._buffer = []
        self._last_flush = time.monotonic()
        if self._trials_dirty:
            self._write_trials()

    # -- internals ----------------------------------------------------------------------

    def _write_trials(self) -> None:
        storage.write_parquet(rows_to_table(self.trial_rows(), TRIALS_SCHEMA), self.trials_file)
        self._trials_dirty = False

    def _update(self, trial_id: str, config: dict[str, Any], **changes: Any) -> None:
        summary = self._trials.get(trial_id)
        if summary is None:
            summary = {"sweep": self.sweep, "trial_id": trial_id, **trial_config(config).to_dict()}
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
        self._update(trial_id, cfg.to_dict(), **changes)


def read_written_keys(sweep_dir: str) -> list[tuple[str, int]]:
    """Every (trial_id, step) in a sweep's results, in file order (duplicates kept)."""
    keys: list[tuple[str, int]] = []
    for part in storage.list_files(storage.join(sweep_dir, storage.RESULTS_DIR), ".parquet"):
        table = storage.read_parquet(part, "results", columns=["trial_id", "step"])
        keys.extend(zip(table["trial_id"].to_pylist(), table["step"].to_pylist(), strict=True))
    return keys
