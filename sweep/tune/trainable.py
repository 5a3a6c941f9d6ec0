"""The Ray Tune function trainable: trainables.train with its reports going to tune.report.

Imported only by workers Ray starts and by sweep.tune.run, never at `import sweep`.

Each report goes to Tune with the checkpoint written at that step, if any; a retried trial
(its node was lost) or a resumed sweep continues from tune.get_checkpoint() with the same
step numbering, so FailureConfig(max_failures) costs only the steps since the last
checkpoint. Beside the trainer's own files each checkpoint carries STATE_FILE: what the
sweep needs to continue its bookkeeping (first start time, the latest score ASHA sees).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweep.store.writer import trial_config
from sweep.tune.trial_log import TRIAL_LOG, ScoreLog

STATE_FILE = "betasweep_sweep_state.json"


def tune_payload(metrics: dict[str, Any], state: dict[str, Any], now: float) -> dict[str, Any]:
    """What one report sends to Tune: the trainer's metrics unchanged (the Parquet row is
    made from them), plus the sweep's bookkeeping, plus the keys ASHA and Optuna read
    (sweep.spec.TUNE_METRIC_KEYS), always floats: NaN where a value is unknown (before
    the first score, or a diverged report's non-finite losses, which the trainer gives as
    None), since Tune's schedulers cannot compare None."""
    if metrics.get("score") is not None:
        state["latest_score"] = metrics["score"]
    if metrics.get("active_units") is not None:  # measured with the score, where reported
        state["latest_active_units"] = metrics["active_units"]

    def number(value: Any) -> float:
        return math.nan if value is None else float(value)

    return {
        **metrics,
        "latest_score": number(state["latest_score"]),
        "latest_recon": number(metrics.get("recon")),
        "latest_elbo": number(metrics.get("elbo")),
        "latest_kl": number(metrics.get("kl")),
        "latest_active_units": number(state.get("latest_active_units")),
        "node": state["node"],
        "node_id": state["node_id"],
        "wall_time": now - state["first_started"],
        "reported_at": now,
        "restored_from_step": state["restored_from_step"],
        # Tune's loggers (TensorBoard, MLflow) plot against this, else against report count.
        "timesteps_total": metrics["step"],
    }


def quiet_stopped_worker() -> None:
    """Stop this worker process printing "Exception ignored in: … SystemExit" tracebacks.

    Why they appear: when a trial ends (ASHA stopped it, or it finished), Tune removes its
    placement group while the trial's worker is still exiting, and the raylet sends the
    worker SIGTERM (ray-project/ray#13487). Ray's SIGTERM handler raises SystemExit in
    the worker's main thread wherever it is; inside a finaliser (a `__del__`, a weakref or
    Cython callback) Python cannot raise it and reports it to sys.unraisablehook, whose
    default prints it as a traceback. Nothing failed: the worker was being shut down. So
    this process drops exactly those reports (SystemExit) and prints every other one.
    """
    if getattr(sys.unraisablehook, "betasweep_quiet", False):
        return
    default = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, SystemExit):
            return
        default(unraisable)

    hook.betasweep_quiet = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def run_trial(config: dict[str, Any]) -> None:
    """Train the trial of `config` (a TrialConfig as a dict), reporting to Ray Tune."""
    from trainables import train

    run_with_tune(config, train)


def run_with_tune(config: dict[str, Any], train: Callable[..., Any]) -> None:
    """Run `train` (trainables.train's contract: config, report, checkpoint_dir,
    resume_from, score_progress) under Ray Tune: reports and checkpoints go to Tune, a restored trial
    continues from Tune's checkpoint."""
    import ray
    from ray import tune

    logging.getLogger("ray.train").setLevel(logging.WARNING)  # one INFO line per checkpoint
    quiet_stopped_worker()
    trial = trial_config(config)
    state: dict[str, Any] = {
        "node": socket.gethostname(),
        "node_id": ray.get_runtime_context().get_node_id(),
        "first_started": time.time(),
        "latest_score": None,  # the latest measured score, carried between scoring steps
        "latest_active_units": None,  # likewise
        "restored_from_step": None,
    }
    with tempfile.TemporaryDirectory(prefix="betasweep-trial-") as scratch_dir:
        scratch = Path(scratch_dir)
        resume_from = None
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            resume_from = Path(checkpoint.to_directory(str(scratch / "restore")))
            saved = json.loads((resume_from / STATE_FILE).read_text())
            state.update(
                first_started=saved["first_started"],
                latest_score=saved["latest_score"],
                latest_active_units=saved.get("latest_active_units"),  # absent before 12
                restored_from_step=saved["step"],
            )

        def report(metrics: dict[str, Any], fresh: Path | None) -> None:
            payload = tune_payload(metrics, state, time.time())
            if fresh is None:
                tune.report(payload)
                return
            saved = {k: state[k] for k in ("first_started", "latest_score", "latest_active_units")}
            (fresh / STATE_FILE).write_text(json.dumps({**saved, "step": metrics["step"]}))
            tune.report(payload, checkpoint=tune.Checkpoint.from_directory(str(fresh)))
            shutil.rmtree(fresh, ignore_errors=True)  # Tune has copied it to the storage

        # Tune runs the trial in its working directory and copies what is there to the
        # trial's directory in the sweep (SyncConfig(sync_artifacts=True) in sweep.tune.run).
        trial_id = tune.get_context().get_trial_id()
        score_log = ScoreLog(
            Path.cwd() / TRIAL_LOG, echo=lambda text: print(f"trial {trial_id} {text}", flush=True)
        )
        train(
            trial,
            report=report,
            checkpoint_dir=scratch / "checkpoints",
            resume_from=resume_from,
            score_progress=score_log,
        )
