"""One trial: TrialConfig -> β-VAE training loop -> reported metrics and checkpoints.

    from trainables import TrialConfig, train, TrainResult
    result = train(TrialConfig(beta=4, latent_size=10, steps=1000), report=print)

Plain PyTorch: nothing here imports Ray; sweep/ wraps train() for Ray Tune.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainables.checkpoint import load_model
    from trainables.config import ConfigError, TrialConfig
    from trainables.loop import TrainResult, train
    from trainables.models import build_model
    from trainables.scoring import encoder
    from trainables.speed import Speed

__all__ = [
    "ConfigError",
    "Speed",
    "TrainResult",
    "TrialConfig",
    "build_model",
    "encoder",
    "load_model",
    "train",
]
_WHERE = {
    "load_model": "trainables.checkpoint",
    "ConfigError": "trainables.config",
    "TrialConfig": "trainables.config",
    "TrainResult": "trainables.loop",
    "train": "trainables.loop",
    "build_model": "trainables.models",
    "encoder": "trainables.scoring",
    "Speed": "trainables.speed",
}


def __getattr__(name: str) -> Any:
    # Imported on first use, so that trainables.config (the TrialConfig the sweep's CLI,
    # spec and Parquet schema derive from) does not import PyTorch with it.
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'trainables' has no attribute {name!r}")
