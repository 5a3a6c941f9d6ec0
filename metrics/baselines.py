"""The reference rows of the paper's table, as encode functions, and the table itself.

Only rows that need no β-VAE model live here (metrics/ imports neither trainables/ nor
sweep/); sweep.paper_table adds the untrained and trained VAE rows. Each builder takes the simulator and a seed and returns an encode function (see
metrics.codes); the seed draws whatever the row fits or initialises (PCA's and ICA's
training images, the untrained network's weights), so a row's spread over seeds includes
that randomness as well as the metric's.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.decomposition import PCA, FastICA
from sklearn.exceptions import ConvergenceWarning

from metrics import checks, sampling

Encode = Callable[[torch.Tensor], torch.Tensor]
DEFAULT_COMPONENTS = 10
DEFAULT_FIT_SAMPLES = 10_000


@dataclass(frozen=True)
class PaperRow:
    model: str
    score: float  # percent
    std: float | None


# Higgins et al. (2017), dSprites, disentanglement metric score.
PAPER_TABLE: tuple[PaperRow, ...] = (
    PaperRow("Ground truth", 100.0, None),
    PaperRow("Raw pixels", 45.75, 0.8),
    PaperRow("PCA", 84.9, 0.4),
    PaperRow("ICA", 42.03, 10.6),
    PaperRow("DC-IGN", 99.3, 0.1),
    PaperRow("InfoGAN", 73.5, 0.9),
    PaperRow("VAE untrained", 44.14, 2.5),
    PaperRow("VAE (β = 1)", 61.58, 0.5),
    PaperRow("β-VAE (β = 4, 10 latents)", 99.23, 0.1),
)


class GroundTruth:
    """The factor class indices themselves, by flat position: no image is rendered.

    Calling it on images is an error: a binary image does not say which of orientation
    0 and 2π drew it, so the factors cannot be recovered from pixels in general.
    """

    def __init__(self, sim):
        self.strides = sampling.strides(sim.factor_sizes, sim.device)
        self.sizes = torch.tensor(sim.factor_sizes, device=sim.device)

    def encode_index(self, flat: torch.Tensor) -> torch.Tensor:
        return (torch.div(flat[:, None], self.strides, rounding_mode="floor") % self.sizes).float()

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        raise TypeError("the ground-truth representation gives codes by flat position only")


def raw_pixels(images: torch.Tensor) -> torch.Tensor:
    """The 4096 pixel values as the code."""
    return images.flatten(1)


class LinearProjection:
    """codes = (pixels − mean) @ matrixᵀ, on the simulator's device (PCA, ICA).

    Applied as one affine map (bias = −matrix @ mean) so that no centred copy of the
    batch is made: on a CPU that copy costs half the time of the projection.
    """

    def __init__(self, mean: np.ndarray, matrix: np.ndarray, device: torch.device):
        self.matrix = torch.as_tensor(matrix, dtype=torch.float32, device=device).contiguous()
        mean_t = torch.as_tensor(mean, dtype=torch.float32, device=device)
        self.bias = -(self.matrix @ mean_t)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(images.flatten(1), self.matrix, self.bias)


def _fit_images(sim, samples: int, seed: int) -> np.ndarray:
    flat = sim.sample_index(samples, sim.generator(seed))
    return torch.cat([sim.render_index(f).flatten(1) for f in flat.split(1024)]).cpu().numpy()


def _principal_components(images: np.ndarray, components: int, seed: int) -> PCA:
    # Randomised SVD: the top 10 of 4096 directions cost a few passes over the images,
    # where a full SVD of 10,000 × 4096 takes ~14 s on a 2-core machine.
    return PCA(n_components=components, svd_solver="randomized", random_state=seed).fit(images)


def pca(
    sim, seed: int, components: int = DEFAULT_COMPONENTS, samples: int = DEFAULT_FIT_SAMPLES
) -> LinearProjection:
    """PCA fitted on `samples` random images drawn with `seed`."""
    checks.positive_int("components", components)
    checks.positive_int("samples", samples, minimum=components)
    model = _principal_components(_fit_images(sim, samples, seed), components, seed)
    return LinearProjection(model.mean_, model.components_, sim.device)


def ica(
    sim, seed: int, components: int = DEFAULT_COMPONENTS, samples: int = DEFAULT_FIT_SAMPLES
) -> LinearProjection:
    """FastICA on `samples` random images: whitened PCA to `components`, then unmixing.

    This is FastICA's own whitening (PCA to n_components, unit variance) done with the
    randomised PCA above, then sklearn's FastICA (logcosh, parallel, its defaults) on the
    whitened scores; the two linear maps compose into one projection of the pixels.
    """
    checks.positive_int("components", components)
    checks.positive_int("samples", samples, minimum=components)
    images = _fit_images(sim, samples, seed)
    principal = _principal_components(images, components, seed)
    scores = principal.transform(images)
    whitening = principal.components_ / np.sqrt(principal.explained_variance_)[:, None]
    model = FastICA(whiten=False, random_state=seed)
    with warnings.catch_warnings():
        # FastICA may stop at its iteration limit on binary sprites; the paper's ICA row
        # (42 ± 10.6%) shows the same instability, so the spread is reported, not hidden.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(scores / np.sqrt(principal.explained_variance_))
    return LinearProjection(principal.mean_, model.components_ @ whitening, sim.device)


def encoder_means(model: torch.nn.Module) -> Encode:
    """The encode function of a β-VAE (anything with .encode(x) -> (μ, log σ²)): μ."""

    @torch.no_grad()
    def encode(images: torch.Tensor) -> torch.Tensor:
        return model.encode(images)[0]

    return encode


def ground_truth(sim, seed: int) -> GroundTruth:
    return GroundTruth(sim)


def raw(sim, seed: int) -> Encode:
    return raw_pixels


# The rows that need no model of trainables/, by the paper's model name (the untrained and
# trained VAE rows are built above both packages, in sweep.paper_table).
BUILDERS: dict[str, Callable[..., Encode]] = {
    "Ground truth": ground_truth,
    "Raw pixels": raw,
    "PCA": pca,
    "ICA": ica,
}


def paper_row(model: str) -> PaperRow | None:
    return next((row for row in PAPER_TABLE if row.model == model), None)
