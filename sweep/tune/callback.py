"""The Tune callback on the driver that feeds sweep.store.writer.SweepWriter.

Imported only by sweep.tune.run (it imports Ray). Ordering Tune guarantees and this
relies on: a result reaches on_trial_result before its checkpoint reaches on_checkpoint,
and on_checkpoint runs before Tune records the checkpoint in the trial (and so in the
experiment state a resumed sweep restores from). Flushing in on_checkpoint therefore puts
every row up to a restorable checkpoint on disk first.
"""

from __future__ import annotations

import sys
from typing import Any

from ray.tune import Callback

from sweep.store.writer import SweepWriter, trial_config


def checkpoint_location(checkpoint: Any, sweep_dir: str) -> str:
    """Where a persisted Tune checkpoint lives: relative to the sweep directory when inside
    it (always, in practice), so a sweep copied down from S3 or moved keeps working."""
    kind = checkpoint.filesystem.type_name
    location = checkpoint.path if kind == "local" else f"{kind}://{checkpoint.path}"
    prefix = sweep_dir.rstrip("/") + "/"
    return location[len(prefix) :] if location.startswith(prefix) else location


def _error_message(trial: Any) -> str:
    """The last line of the trial's error (the exception), else a pointer to its logs."""
    try:
        error = trial.get_error()
    except Exception:  # reading the error file must not break the sweep's bookkeeping
        error = None
    text = str(error).strip().splitlines() if error is not None else []
    return text[-1] if text else f"trial {trial.trial_id} failed; see its error.txt"


def _describe(trial: Any) -> str:
    config = trial_config(trial.config)
    return f"β={config.beta:.4g} (β_norm={config.beta_norm:.3g}), latent {config.latent_size}"


class ParquetCallback(Callback):
    """Writes the sweep's Parquet files and prints one line per trial start and end.

    Given the sweep's scheduler, the trials table also carries its frontier columns when
    the scheduler has them (sweep.tune.schedulers.MultiObjectiveASHA.frontier_columns)."""

    def __init__(
        self, sweep_dir: str, sweep: str, scheduler: Any = None, flush_seconds: float = 30.0
    ):
        self.sweep_dir = sweep_dir
        self.sweep = sweep
        self.scheduler = scheduler
        self.flush_seconds = flush_seconds
        self._writer: SweepWriter | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Pickled into Tune's tuner.pkl: only the settings (and the scheduler, pickled
        # there anyway, so a restore keeps one scheduler object). The writer's state is
        # rebuilt from the files in setup(), which is what makes a resumed sweep exact.
        return {
            "sweep_dir": self.sweep_dir,
            "sweep": self.sweep,
            "scheduler": self.scheduler,
            "flush_seconds": self.flush_seconds,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"scheduler": None, **state}, _writer=None)

    def _say(self, trial: Any, text: str) -> None:
        print(f"sweep {self.sweep}: trial {trial.trial_id} {text}", file=sys.stderr, flush=True)

    @property
    def writer(self) -> SweepWriter:
        if self._writer is None:
            frontier = getattr(self.scheduler, "frontier_columns", None)
            self._writer = SweepWriter(
                self.sweep_dir, self.sweep, self.flush_seconds, frontier=frontier
            )
            self._writer.open()
        return self._writer

    def setup(self, **info: Any) -> None:
        self._writer = None
        _ = self.writer

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        for trial in trials:
            self.writer.observe(trial.trial_id, trial.config)
        self.writer.maybe_flush()

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.writer.running(trial.trial_id, trial.config, failures=trial.num_failures)
        self.writer.flush()
        self._say(trial, f"started: {_describe(trial)}")

    def on_trial_restore(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.writer.running(trial.trial_id, trial.config, failures=trial.num_failures)

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        self.writer.add_result(trial.trial_id, trial.config, result)

    def on_checkpoint(
        self, iteration: int, trials: list, trial: Any, checkpoint: Any, **info: Any
    ) -> None:
        location = checkpoint_location(checkpoint, self.sweep_dir)
        self.writer.checkpoint(trial.trial_id, trial.config, location)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.writer.running(trial.trial_id, trial.config, failures=trial.num_failures)
        self.writer.flush()
        self._say(trial, f"failed ({_error_message(trial)}); restarting from its checkpoint")

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.writer.finished(trial.trial_id, trial.config, failures=trial.num_failures)
        self._say_end(trial)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.writer.finished(
            trial.trial_id, trial.config, error=_error_message(trial), failures=trial.num_failures
        )
        self._say_end(trial)

    def _say_end(self, trial: Any) -> None:
        row = self.writer.trial_row(trial.trial_id)
        recon, score = row.get("last_recon"), row.get("last_score")
        text = (
            f"{row['status']} at step {row.get('steps_done') or 0}: "
            f"recon {'-' if recon is None else f'{recon:.1f}'}, "
            f"score {'-' if score is None else f'{score:.3f}'}"
        )
        if row.get("message"):
            text += f"; {row['message']}"
        self._say(trial, text)
