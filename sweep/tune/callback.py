"""The Tune callback on the driver that feeds sweep.store.writer.SweepWriter.

Imported only by sweep.tune.run (it imports Ray). Ordering Tune guarantees and this
relies on: a result reaches on_trial_result before its checkpoint reaches on_checkpoint,
and on_checkpoint runs before Tune records the checkpoint in the trial (and so in the
experiment state a resumed sweep restores from). Flushing in on_checkpoint therefore puts
every row up to a restorable checkpoint on disk first.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from ray.tune import Callback

from sweep.store import storage
from sweep.store.writer import SweepWriter, trial_config
from sweep.tune.retention import DEFAULT_KEEP, Retention

# pyarrow's filesystems name themselves by type, not by URI scheme: GCS is "gcs" for gs://.
_URI_SCHEMES = {"gcs": "gs"}


def checkpoint_location(checkpoint: Any, sweep_dir: str) -> str:
    """Where a persisted Tune checkpoint lives: relative to the sweep directory when inside
    it (always, in practice), so a sweep copied down from S3 or GCS, or moved, keeps
    working; otherwise its absolute path or URI."""
    kind = checkpoint.filesystem.type_name
    path = checkpoint.path.rstrip("/")
    # Compared without the scheme: a remote filesystem's paths are "bucket/key".
    inside = sweep_dir.split("://", 1)[-1].rstrip("/") + "/"
    if path.startswith(inside):
        return path[len(inside) :]
    return path if kind == "local" else f"{_URI_SCHEMES.get(kind, kind)}://{path}"


def _error_message(trial: Any) -> str:
    """The first line of the trial's latest error, as "Type: message (see …/error.txt)".

    Read from the driver's local copy Tune writes as the error happens (error.pkl, else
    error.txt): the copy in the sweep's storage, which trial.get_error() reads, is written
    only at Tune's next sync, after this callback has run.
    """
    try:
        headline = _error_headline(trial)
    except Exception:  # reading the error must never break the sweep's bookkeeping
        headline = None
    headline = headline or f"trial {trial.trial_id} failed"
    try:
        storage = trial.storage
        where = f"{storage.trial_fs_path.rstrip('/')}/error.txt"
        kind = storage.storage_filesystem.type_name
        if kind != "local":
            where = f"{_URI_SCHEMES.get(kind, kind)}://{where}"
    except Exception:
        return f"{headline} (see the trial's error.txt)"
    return f"{headline} (see {where})"


def _error_headline(trial: Any) -> str | None:
    import cloudpickle

    pickled = Path(trial.pickled_error_file or "")
    if trial.pickled_error_file and pickled.is_file():
        with open(pickled, "rb") as handle:
            error = cloudpickle.load(handle)
        cause = getattr(error, "cause", None)  # a RayTaskError wraps the trial's exception
        if isinstance(cause, BaseException):
            return _first_line(f"{type(cause).__name__}: {cause}")
        return _first_line(str(error))  # e.g. RayActorError: the worker process died
    text = Path(trial.error_file).read_text() if trial.error_file else ""
    latest = text.rsplit("Failure # ", 1)[-1].splitlines()[1:]  # after its header line
    exception = [line for line in latest if _EXCEPTION_LINE.match(line)]
    return exception[0] if exception else _first_line("\n".join(latest))


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def _first_line(text: str) -> str | None:
    return next((line.strip() for line in text.splitlines() if line.strip()), None)


def _describe(trial: Any) -> str:
    config = trial_config(trial.config)
    if config.model != "beta-vae":
        return f"{config.model}, latent {config.latent_size}"
    return f"β={config.beta:.4g} (β_norm={config.beta_norm:.3g}), latent {config.latent_size}"


class ParquetCallback(Callback):
    """Writes the sweep's Parquet files and prints one line per trial start and end.

    Given the sweep's scheduler, the trials table also carries its frontier columns when
    the scheduler has them (sweep.tune.schedulers.MultiObjectiveASHA.frontier_columns)."""

    def __init__(
        self,
        sweep_dir: str,
        sweep: str,
        scheduler: Any = None,
        flush_seconds: float = 30.0,
        keep_checkpoints: str = DEFAULT_KEEP,
    ):
        self.sweep_dir = sweep_dir
        self.sweep = sweep
        self.scheduler = scheduler
        self.flush_seconds = flush_seconds
        self.keep_checkpoints = keep_checkpoints
        self._writer: SweepWriter | None = None
        self._retention: Retention | None = None
        self._last_score: dict[str, float | None] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Pickled into Tune's tuner.pkl: only the settings (and the scheduler, pickled
        # there anyway, so a restore keeps one scheduler object). The writer's state is
        # rebuilt from the files in setup(), which is what makes a resumed sweep exact.
        return {
            "sweep_dir": self.sweep_dir,
            "sweep": self.sweep,
            "scheduler": self.scheduler,
            "flush_seconds": self.flush_seconds,
            "keep_checkpoints": self.keep_checkpoints,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Defaults first: a sweep pickled before an option existed lacks it.
        self.__dict__.update(
            {"keep_checkpoints": DEFAULT_KEEP, "scheduler": None, **state},
            _writer=None,
            _retention=None,
            _last_score={},
        )

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

    @property
    def retention(self) -> Retention:
        if self._retention is None:
            tune_dir = storage.join(self.sweep_dir, storage.TUNE_DIR)
            self._retention = Retention(tune_dir, self.keep_checkpoints)
        return self._retention

    def setup(self, **info: Any) -> None:
        self._writer = None
        self._retention = None
        _ = self.writer

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        for trial in trials:
            self.writer.observe(trial.trial_id, trial.config)
        self.writer.maybe_flush()
        self.retention.after_step(trials)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        # Tune has saved its final experiment state (tune.run does, before this): the
        # surplus checkpoints it no longer names can go, and the parts are compacted.
        self.retention.after_step(trials, force_check=True)
        self.writer.close()

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
        self._last_score[trial.trial_id] = result.get("score")  # its checkpoint's score

    def on_checkpoint(
        self, iteration: int, trials: list, trial: Any, checkpoint: Any, **info: Any
    ) -> None:
        location = checkpoint_location(checkpoint, self.sweep_dir)
        self.writer.checkpoint(trial.trial_id, trial.config, location)
        score = self._last_score.pop(trial.trial_id, None)
        self.retention.on_checkpoint(trial, checkpoint, score)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.writer.running(trial.trial_id, trial.config, failures=trial.num_failures)
        self.writer.flush()
        self._say(trial, f"failed ({_error_message(trial)}); restarting from its checkpoint")

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.writer.finished(trial.trial_id, trial.config, failures=trial.num_failures)
        self._say_end(trial)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        # Tune counts the failure that ended the trial; the column counts restarts survived.
        failures = max(0, trial.num_failures - 1)
        self.writer.finished(
            trial.trial_id, trial.config, error=_error_message(trial), failures=failures
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
