"""Checkpoints: one directory per checkpoint, written atomically, loadable with weights_only.

    <dir>/checkpoint.pt   model and optimiser state, step, batch-stream RNG state, config
    <dir>/config.json     the TrialConfig again, for people and tools that do not load torch

Only tensors, numbers, strings, lists and dicts go into checkpoint.pt, so it loads with
torch.load(weights_only=True): opening a checkpoint never runs code from the file.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from simulators.atomic import atomic_path
from trainables.config import ConfigError, TrialConfig
from trainables.families import family

CHECKPOINT_FILE = "checkpoint.pt"
CONFIG_FILE = "config.json"
FORMAT_VERSION = 1
_KEYS = ("format", "config", "step", "model", "optimizer", "rng", "device_type")
# Fields a resumed run may change: how long it runs, where, and how it reports. Everything
# else defines the run, and resuming under another value would silently start a new one.
RESUMABLE_CHANGES = frozenset(
    {
        "steps",
        "device",
        "report_every",
        "score_every",
        "score_growth",
        "checkpoint_every",
        "loop_score_protocol",
        "final_score_protocol",
    }
)
# Fields only the capacity objective reads: under the beta objective they define nothing
# (capacity_steps follows `steps` by default, and `steps` may change on a resume).
CAPACITY_FIELDS = frozenset({"gamma", "capacity_max", "capacity_steps"})


class CheckpointError(ValueError):
    """A path is not a readable checkpoint of this format; the message says why."""


def save(
    directory: Path,
    *,
    config: TrialConfig,
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    rng: dict[str, torch.Tensor],
) -> Path:
    """Write a complete checkpoint to `directory` (replacing one there) and return it."""
    state = {
        "format": FORMAT_VERSION,
        "config": config.to_dict(),
        "step": int(step),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": rng,
        "device_type": next(model.parameters()).device.type,
    }
    directory.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory) as tmp:
        tmp.mkdir()
        torch.save(state, tmp / CHECKPOINT_FILE)
        (tmp / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        for name in (CHECKPOINT_FILE, CONFIG_FILE):  # durable before the rename publishes it
            with open(tmp / name, "rb") as handle:
                os.fsync(handle.fileno())
    return directory


def read(directory: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's contents with tensors on `device`, or a CheckpointError."""
    path = Path(directory) / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(f"{directory}: not a checkpoint directory (no {CHECKPOINT_FILE})")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as error:
        raise CheckpointError(f"{path}: cannot be loaded ({error})") from None
    missing = [k for k in _KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"{path}: not a betasweep checkpoint (missing {', '.join(missing)})")
    if state["format"] != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {state['format']!r}, this betasweep reads {FORMAT_VERSION}"
        )
    return state


def config_of(state: dict[str, Any]) -> TrialConfig:
    try:
        return TrialConfig.from_dict(state["config"])
    except (ConfigError, TypeError) as error:
        raise CheckpointError(f"checkpoint holds an invalid TrialConfig: {error}") from None


def check_resumable(saved: TrialConfig, config: TrialConfig) -> None:
    """ConfigError unless `config` continues the run `saved` describes."""
    old, new = saved.to_dict(), config.to_dict()
    free = RESUMABLE_CHANGES | (CAPACITY_FIELDS if saved.objective != "capacity" else frozenset())
    changed = sorted(k for k in old if old[k] != new[k] and k not in free)
    if changed:
        detail = ", ".join(f"{k}: {old[k]!r} -> {new[k]!r}" for k in changed)
        hint = ""
        if "capacity_steps" in changed:
            hint = (
                f"; the capacity ramp follows --steps unless given: pass --capacity-steps "
                f"{old['capacity_steps']} to continue this run's ramp"
            )
        raise ConfigError(f"cannot resume: the checkpoint is a different run ({detail}){hint}")


def resume_point(
    directory: str | Path, config: TrialConfig, device: torch.device
) -> dict[str, Any]:
    """The checkpoint's state, after checking that `config` on `device` can continue it."""
    state = read(directory, device)
    check_resumable(config_of(state), config)
    if state["device_type"] != device.type:
        # CPU and CUDA generators keep different states: the batch stream cannot continue.
        raise ConfigError(
            f"cannot resume on {device.type}: the checkpoint was written on "
            f"{state['device_type']}, and its random stream only continues there"
        )
    if state["step"] >= config.steps:
        raise ConfigError(
            f"cannot resume: the checkpoint is at step {state['step']}, steps={config.steps}"
        )
    return state


def load_model(
    directory: str | Path, device: str | torch.device = "cpu"
) -> tuple[nn.Module, TrialConfig]:
    """The trained model (in eval mode, on `device`) and the TrialConfig of a checkpoint:
    a VAE for the β-VAE and DC-IGN, the InfoGAN module for InfoGAN (trainables.families)."""
    state = read(directory, device)
    config = config_of(state)
    model = family(config).build(config, device=device)
    model.load_state_dict(state["model"])
    return model.eval(), config
