"""Latent traversals: each row varies exactly its latent over [−3, 3], rows ordered by KL."""

from __future__ import annotations

import numpy as np
import torch

from reports.traversals import MAX_LATENTS, TRAVERSAL_VALUES, mosaic, seed_images, traverse


class Probe:
    """A model whose decoded pixel (0, k) is z_k itself (before the sigmoid), so an image
    shows which latent values the decoder was given. The encoder's mean is 0.5·(k + 1)."""

    def __init__(self, latent_size: int):
        self.latent_size = latent_size

    def encode(self, x):
        n = x.shape[0]
        mu = 0.5 * torch.arange(1, self.latent_size + 1, dtype=torch.float32).repeat(n, 1)
        return mu, torch.zeros_like(mu)

    def decode(self, z):
        logits = torch.zeros(z.shape[0], 1, 64, 64)
        logits[:, 0, 0, : z.shape[1]] = z
        return logits


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def test_rows_follow_kl_and_vary_only_their_latent():
    images = torch.zeros(2, 1, 64, 64)
    result = traverse(Probe(3), images, (0.1, 5.0, 1.0), ["s1", "s2"])
    assert result.latents == [1, 2, 0] and result.kl == [5.0, 1.0, 0.1]
    assert result.grid.shape == (2, 3, len(TRAVERSAL_VALUES), 64, 64)
    inferred = 0.5 * np.arange(1, 4)
    for row, latent in enumerate(result.latents):
        for v, value in enumerate(TRAVERSAL_VALUES):
            expected = inferred.copy()
            expected[latent] = value  # this latent set, the others at the encoder's mean
            np.testing.assert_allclose(result.grid[:, row, v, 0, :3], sigmoid([expected] * 2))
    np.testing.assert_allclose(result.reconstructions[:, 0, :3], sigmoid([inferred] * 2))


def test_without_kl_in_the_parquet_it_is_estimated_and_rows_are_capped():
    result = traverse(Probe(MAX_LATENTS + 3), torch.zeros(1, 1, 64, 64), None, ["s"])
    # Estimated KL grows with |μ|, so the highest latents come first; the rest are cut.
    assert result.latents == list(range(MAX_LATENTS + 2, 2, -1))
    assert result.kl == [None] * MAX_LATENTS and result.latent_size == MAX_LATENTS + 3


def test_the_mosaic_places_inputs_once_and_every_traversal_cell():
    images = torch.ones(2, 1, 64, 64)
    result = traverse(Probe(2), images, (1.0, 2.0), ["s1", "s2"])
    canvas, x_centres, labels, groups = mosaic(result)
    assert labels[:3] == ["input", "recon.", "−3"] and len(groups) == 2
    assert len(x_centres) == 2 * (2 + len(TRAVERSAL_VALUES))
    left = int(x_centres[0] - 32)
    assert canvas[:64, left : left + 64].min() == 1.0  # the all-white input, top row
    assert canvas[64 + 4 :, left : left + 64].min() == 1.0  # blank below it: shown once


def test_seed_images_show_each_shape():
    images, labels = seed_images(3, seed=0)
    assert images.shape == (3, 1, 64, 64) and len(labels) == 3
    areas = images.sum(dim=(1, 2, 3))
    assert (areas > 0).all()
    assert len({round(float(a)) for a in areas}) > 1  # not three copies of one image


def test_a_real_untrained_model_with_one_latent_traverses():
    latent_size = 1
    from trainables.config import TrialConfig
    from trainables.models import build_model

    model = build_model(TrialConfig(latent_size=latent_size)).eval()
    images, labels = seed_images(2, seed=1)
    result = traverse(model, images, None, labels)
    assert result.grid.shape == (2, latent_size, len(TRAVERSAL_VALUES), 64, 64)
    assert np.isfinite(result.grid).all() and (result.grid >= 0).all() and (result.grid <= 1).all()
