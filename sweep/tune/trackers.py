"""Experiment trackers a sweep can also report to: `sweep run --log tensorboard,mlflow,wandb`.

Ray Tune's own integrations do the logging (its TensorBoard logger, MLflowLoggerCallback,
WandbLoggerCallback): every trial is a run holding its TrialConfig as parameters and every
numeric value it reports (losses, KL, score, whatever a trial adds later) as metrics over
training steps. The Parquet files stay the record; trackers are a view for people who
watch sweeps there.

check() runs before Ray starts and imports nothing of Ray: a tracker that is not
installed, or that cannot work where the sweep is stored, ends the command with one line.
Where each writes by default (local storage):
  tensorboard  event files in every trial's directory, <sweep>/tune/<trial_id>/
  mlflow       $MLFLOW_TRACKING_URI, else an SQLite store <sweep>/mlflow.db, experiment = sweep
  wandb        project $WANDB_PROJECT (else "betasweep"), group = sweep; run files under
               <sweep>/wandb/ (WANDB_MODE=offline: nothing leaves the machine)
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from sweep.errors import fail
from sweep.spec import TRACKERS
from sweep.store import storage

MLFLOW_DB = "mlflow.db"
WANDB_PROJECT = "betasweep"
# The module each tracker needs, and how to get it.
_NEEDS = {
    "tensorboard": ("tensorboardX", "pip install tensorboardX (it comes with ray[tune])"),
    "mlflow": ("mlflow", "pip install 'betasweep[mlflow]'"),
    "wandb": ("wandb", "pip install 'betasweep[wandb]'"),
}


def parse(text: str | None) -> tuple[str, ...]:
    """--log "mlflow,tensorboard" -> ("mlflow", "tensorboard"); None or "" -> ()."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        fail(f"--log {text}: unknown tracker {unknown[0]!r}; expected some of {','.join(TRACKERS)}")
    return tuple(dict.fromkeys(names))


def check(trackers: tuple[str, ...], sweep_dir: str) -> None:
    """Everything about the trackers that can fail, checked before Ray starts."""
    for name in trackers:
        module, install = _NEEDS[name]
        if importlib.util.find_spec(module) is None:
            fail(f"--log {name}: the {module} package is not installed ({install})")
    if "mlflow" in trackers and storage.is_remote(sweep_dir) and not _mlflow_env():
        fail(
            f"--log mlflow with storage {sweep_dir}: set MLFLOW_TRACKING_URI to your MLflow "
            "server (without it the runs go to a local SQLite file in the sweep directory)"
        )
    if "wandb" in trackers and not _wandb_can_log():
        fail(
            "--log wandb: no W&B API key; run `wandb login`, set WANDB_API_KEY, or set "
            "WANDB_MODE=offline to keep the runs on disk for `wandb sync`"
        )


def mlflow_uri(sweep_dir: str) -> str:
    return _mlflow_env() or f"sqlite:///{storage.join(sweep_dir, MLFLOW_DB)}"


def _mlflow_env() -> str | None:
    return os.environ.get("MLFLOW_TRACKING_URI") or None


def _wandb_can_log() -> bool:
    if os.environ.get("WANDB_MODE") in {"offline", "disabled"} or os.environ.get("WANDB_API_KEY"):
        return True
    import wandb

    try:  # a key saved by `wandb login` (what Ray's WandbLoggerCallback looks for too)
        wandb.ensure_configured()
        return bool(wandb.api.api_key)
    except Exception:
        return False


def callbacks(trackers: tuple[str, ...], name: str, sweep_dir: str) -> list[Any]:
    """The Ray Tune callbacks of `trackers` for the sweep `name` (imports Ray)."""
    made: list[Any] = []
    if "tensorboard" in trackers:
        from ray.tune.logger import TBXLoggerCallback

        made.append(TBXLoggerCallback())
    if "mlflow" in trackers:
        from ray.air.integrations.mlflow import MLflowLoggerCallback

        made.append(
            MLflowLoggerCallback(
                tracking_uri=mlflow_uri(sweep_dir), experiment_name=name, tags={"sweep": name}
            )
        )
    if "wandb" in trackers:
        from sweep.tune.wandb_logging import FlushingWandbLoggerCallback

        where = {} if storage.is_remote(sweep_dir) else {"dir": sweep_dir}  # wandb.init's dir
        project = os.environ.get("WANDB_PROJECT") or WANDB_PROJECT
        # silent: each trial's W&B process would print its run summary to the console;
        # reinit: what Ray's reinit=True means, in the form wandb no longer warns about.
        made.append(
            FlushingWandbLoggerCallback(
                project=project,
                group=name,
                settings={"silent": True},
                reinit="finish_previous",
                **where,
            )
        )
    return made
