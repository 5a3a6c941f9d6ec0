"""One trial: TrialConfig -> β-VAE training loop -> reported metrics and checkpoints.

    from trainables import TrialConfig, train, TrainResult
    result = train(TrialConfig(beta=4, latent_size=10, steps=1000), report=print)

Plain PyTorch: nothing here imports Ray; sweep/ wraps train() for Ray Tune.
"""

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
