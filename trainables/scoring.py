"""The two places where a trained model meets the metrics: an encode function, and the
Higgins score of a model under a named protocol (the training loop's one score hook)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


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
    """The Higgins score of `model` under the named protocol, as report columns.

    Every score of a trial uses the trial's seed, so the points are the same at every step
    and a change in the score is a change in the model, not in the draw.
    """
    from metrics import higgins

    told = None if progress is None else lambda done, total: progress(protocol, done, total)
    result = higgins.score(
        sim, encoder(model), **protocol_parameters(protocol), seed=seed, progress=told
    )
    return {
        "score": float(result["test_accuracy"]),
        "score_train": float(result["train_accuracy"]),
        "score_protocol": str(result["protocol"]),
    }
