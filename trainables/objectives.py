"""The β-VAE objectives, with the paper's reductions.

Reconstruction is the Bernoulli negative log-likelihood (sigmoid cross-entropy on logits)
SUMMED over the 4096 pixels and averaged over the batch; KL to N(0, I) is summed over the
latents and averaged over the batch. A mean over pixels would divide the reconstruction
term by 4096 and silently multiply the effective β by as much.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trainables.config import TrialConfig


@dataclass
class Terms:
    """One batch's losses, all tensors (kept on the device until a report needs them)."""

    loss: torch.Tensor  # the objective being minimised, scalar
    recon: torch.Tensor  # scalar, nats per image
    kl: torch.Tensor  # scalar, nats per image
    kl_per_latent: torch.Tensor  # (M,), nats per image


def reconstruction(logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Bernoulli NLL summed over pixels, batch mean. Always in float32: under bf16 autocast
    the sum over 4096 pixels would otherwise carry bf16's 3 significant digits into the loss."""
    nll = F.binary_cross_entropy_with_logits(logits.float(), images.float(), reduction="sum")
    return nll / images.shape[0]


def kl_per_latent(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per latent, batch mean: (M,)."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).mean(dim=0)


def capacity_at(config: TrialConfig, step: int | torch.Tensor) -> float | torch.Tensor:
    """C of the capacity objective after `step` updates: linear from 0 to C_max, then flat."""
    fraction = step / config.capacity_steps
    if isinstance(fraction, torch.Tensor):
        return config.capacity_max * fraction.clamp(max=1.0)
    return config.capacity_max * min(fraction, 1.0)


def objective(
    config: TrialConfig,
    logits: torch.Tensor,
    images: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    capacity: float | torch.Tensor | None = None,
) -> Terms:
    """The loss of `config.objective` on one batch.

    beta:     recon + β·KL
    capacity: recon + γ·|KL − C|, with C given by the caller (capacity_at the step)
    """
    recon = reconstruction(logits, images)
    per_latent = kl_per_latent(mu, logvar)
    kl = per_latent.sum()
    if config.objective == "beta":
        loss = recon + config.beta * kl
    elif config.objective == "capacity":
        if capacity is None:
            raise ValueError("the capacity objective needs the capacity C of this step")
        loss = recon + config.gamma * (kl - capacity).abs()
    else:  # TrialConfig validates the name; this guards against a new objective half-added
        raise ValueError(f"unknown objective {config.objective!r}")
    return Terms(loss=loss, recon=recon, kl=kl, kl_per_latent=per_latent)
