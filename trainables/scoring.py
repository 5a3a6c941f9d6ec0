"""Where a model meets the metrics: an encode function (of a trained or an untrained
model), and the Higgins score of a model under a named protocol (the training loop's one
score hook)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from trainables.config import TrialConfig
from trainables.models import build_model


def encoder(model: nn.Module, batch_size: int = 1024) -> Callable[[torch.Tensor], torch.Tensor]:
    """encode(images (n, 1, 64, 64)) -> encoder means μ (n, M), float32, on the images' device.

    Eval mode and no autograd for the call only (the model's mode is restored, so it can be
    scored in the middle of training); images go through in chunks of `batch_size` so that a
    metric may hand over tens of thousands at once.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1; got {batch_size}")
    device = next(model.parameters()).device

    def encode(images: torch.Tensor) -> torch.Tensor:
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                chunks = [
                    model.encode(images[i : i + batch_size].to(device))[0].float()
                    for i in range(0, images.shape[0], batch_size)
                ]
        finally:
            model.train(was_training)
        if not chunks:
            return torch.empty((0, model.latent_size), device=images.device)
        return torch.cat(chunks).to(images.device)

    return encode


def untrained_encoder(
    sim: Any, seed: int, architecture: str = "mlp", latent_size: int = 10
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The encode function of a β-VAE at its random initialisation from `seed` (the paper's
    "VAE untrained" row; its dSprites model is the mlp), on the simulator's device."""
    config = TrialConfig(architecture=architecture, latent_size=latent_size, seed=seed)
    return encoder(build_model(config, device=sim.device))


def protocol_parameters(name: str) -> dict[str, Any]:
    """The parameters of a named Higgins protocol (ValueError listing the names if unknown)."""
    from metrics import higgins  # the metric pulls in its classifier; load it when scoring

    return higgins.protocol(name)


def images_per_score(name: str) -> int:
    """Images one score renders: two per pair, L pairs per point (an upper bound)."""
    p = protocol_parameters(name)
    return 2 * p["batch_size"] * (p["num_train"] + p["num_test"])


# progress(protocol, encoded, total): images of this score encoded so far (see
# metrics.codes.Progress); after the last one the classifier is fitted.
ScoreProgress = Callable[[str, int, int], None]


def score(
    sim: Any, model: nn.Module, protocol: str, seed: int, progress: ScoreProgress | None = None
) -> dict[str, Any]:
    """The Higgins score of `model` under the named protocol, as report columns, with the
    model's active units beside it (latents whose mean varies over the data by > 0.01).

    Every score of a trial uses the trial's seed, so the points are the same at every step
    and a change in the score is a change in the model, not in the draw.
    """
    from metrics import higgins

    told = None if progress is None else lambda done, total: progress(protocol, done, total)
    result = higgins.score(
        sim, encoder(model), **protocol_parameters(protocol), seed=seed, progress=told
    )
    units = result.get("active_units")
    return {
        "score": float(result["test_accuracy"]),
        "score_train": float(result["train_accuracy"]),
        "score_protocol": str(result["protocol"]),
        "active_units": None if units is None else int(units),
    }
