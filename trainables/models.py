"""The two β-VAE architectures: the paper's fully connected dSprites model and Burgess et al.'s
convolutional one. Both map (n, 1, 64, 64) images to (μ, log σ²) and latents to Bernoulli
logits of the same shape (see ../shared/reference/beta-vae-paper.md).
"""

from __future__ import annotations

import torch
from torch import nn

from trainables.config import TrialConfig
from trainables.seeds import derive_seed

IMAGE_SHAPE = (1, 64, 64)


class VAE(nn.Module):
    """Encoder and decoder of one β-VAE; subclasses only build the two networks."""

    latent_size: int
    encoder: nn.Module
    decoder: nn.Module

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, 1, 64, 64) images -> μ, log σ² (each (n, M))."""
        stats = self.encoder(x)
        return stats[:, : self.latent_size], stats[:, self.latent_size :]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(n, M) latents -> (n, 1, 64, 64) Bernoulli logits."""
        return self.decoder(z).reshape(-1, *IMAGE_SHAPE)

    def forward(
        self, x: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits of x reconstructed through z = μ + σ·noise, and μ, log σ².

        The noise comes from the caller so that its generator (and so the run) is explicit.
        """
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * noise
        return self.decode(z), mu, logvar


class MLPVAE(VAE):
    """The paper's dSprites model: 4096-1200-1200 ReLU encoder, 1200×3 tanh decoder."""

    def __init__(self, latent_size: int, hidden: int = 1200):
        super().__init__()
        self.latent_size = latent_size
        self.encoder = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 64, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 2 * latent_size),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_size, hidden),
            nn.Tanh(),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Linear(hidden, 64 * 64),
        )


class ConvVAE(VAE):
    """Burgess et al. (2018): four 4×4 stride-2 convolutions of 32 channels, FC 256-256."""

    def __init__(self, latent_size: int, channels: int = 32, hidden: int = 256):
        super().__init__()
        self.latent_size = latent_size

        def down(cin: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, channels, 4, stride=2, padding=1), nn.ReLU()]

        def up(cout: int) -> nn.Module:
            return nn.ConvTranspose2d(channels, cout, 4, stride=2, padding=1)

        self.encoder = nn.Sequential(
            *down(1),  # 32×32
            *down(channels),  # 16×16
            *down(channels),  # 8×8
            *down(channels),  # 4×4
            nn.Flatten(),
            nn.Linear(channels * 4 * 4, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 2 * latent_size),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_size, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, channels * 4 * 4),
            nn.ReLU(),
            nn.Unflatten(1, (channels, 4, 4)),
            up(channels),  # 8×8
            nn.ReLU(),
            up(channels),  # 16×16
            nn.ReLU(),
            up(channels),  # 32×32
            nn.ReLU(),
            up(1),  # 64×64 logits
        )


_ARCHITECTURES: dict[str, type[VAE]] = {"mlp": MLPVAE, "conv": ConvVAE}


def build_model(config: TrialConfig, device: str | torch.device = "cpu") -> VAE:
    """The untrained model of `config`, initialised from (a seed derived from) config.seed.

    The seed is applied inside a forked RNG so that building a model neither depends on
    nor disturbs the caller's global random state: the same config gives the same weights.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(config.seed, "init"))
        model = _ARCHITECTURES[config.architecture](config.latent_size)
    return model.to(device)
