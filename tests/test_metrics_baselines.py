"""The reference rows' encode functions (those that need no model) and the paper's table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from metrics import baselines


def test_the_paper_table_is_the_reference_one():
    rows = {row.model: (row.score, row.std) for row in baselines.PAPER_TABLE}
    assert len(rows) == 9
    assert rows["Ground truth"] == (100.0, None)
    assert rows["Raw pixels"] == (45.75, 0.8)
    assert rows["PCA"] == (84.9, 0.4)
    assert rows["ICA"] == (42.03, 10.6)
    assert rows["VAE untrained"] == (44.14, 2.5)
    assert rows["VAE (β = 1)"] == (61.58, 0.5)
    assert rows["β-VAE (β = 4, 10 latents)"] == (99.23, 0.1)
    assert set(baselines.BUILDERS) <= set(rows)


def test_ground_truth_codes_are_the_factor_classes(sim):
    flat = sim.sample_index(500, sim.generator(0))
    truth = baselines.GroundTruth(sim)
    assert torch.equal(truth.encode_index(flat), sim.classes(flat).float())
    with pytest.raises(TypeError, match="flat position"):
        truth(sim.render_index(flat[:2]))


def test_raw_pixels_are_the_image(images):
    assert torch.equal(baselines.raw_pixels(images), images.reshape(64, 4096))


def test_pca_projects_like_scikit_learn_and_is_seeded(sim, images):
    encode = baselines.pca(sim, seed=0, components=4, samples=300)
    fitted = baselines._fit_images(sim, 300, 0)
    reference = PCA(n_components=4).fit(fitted)
    ours = encode(images).numpy()
    theirs = reference.transform(images.reshape(64, -1).numpy())
    # Components are defined up to sign.
    signs = np.sign((ours * theirs).sum(axis=0))
    np.testing.assert_allclose(ours, theirs * signs, atol=1e-3)
    again = baselines.pca(sim, seed=0, components=4, samples=300)
    other = baselines.pca(sim, seed=1, components=4, samples=300)
    assert torch.equal(again(images), encode(images))
    assert not torch.allclose(other(images), encode(images))


def test_ica_codes_are_whitened_and_seeded(sim, images):
    encode = baselines.ica(sim, seed=0, components=5, samples=1000)
    codes = encode(torch.from_numpy(baselines._fit_images(sim, 1000, 0)).view(-1, 1, 64, 64))
    assert codes.shape == (1000, 5)
    covariance = torch.cov(codes.T.double())
    # Whitening, then a rotation: identity covariance on the images it was fitted on.
    assert torch.allclose(covariance, torch.eye(5, dtype=torch.float64), atol=0.05)
    assert torch.equal(
        baselines.ica(sim, seed=0, components=5, samples=1000)(images), encode(images)
    )


def test_component_counts_are_checked(sim):
    with pytest.raises(ValueError, match="components must be an integer ≥ 1"):
        baselines.pca(sim, seed=0, components=0)
    with pytest.raises(ValueError, match="samples must be an integer ≥ 10"):
        baselines.ica(sim, seed=0, components=10, samples=5)
