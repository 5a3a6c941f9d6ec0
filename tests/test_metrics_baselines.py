"""The reference rows' encode functions and the paper's table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from metrics import baselines, higgins, table
from simulators import DSprites


@pytest.fixture(scope="module")
def sim() -> DSprites:
    return DSprites()


@pytest.fixture(scope="module")
def images(sim) -> torch.Tensor:
    return sim.render_index(sim.sample_index(64, sim.generator(11)))


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


def test_untrained_vae_gives_seeded_latent_means(sim, images):
    encode = baselines.untrained_vae(sim, seed=0)
    codes = encode(images)
    assert codes.shape == (64, 10) and not codes.requires_grad
    assert torch.equal(baselines.untrained_vae(sim, seed=0)(images), codes)
    assert not torch.allclose(baselines.untrained_vae(sim, seed=1)(images), codes)
    assert baselines.untrained_vae(sim, seed=0, architecture="conv")(images).shape == (64, 10)


def test_every_available_row_scores_between_chance_and_perfect(sim):
    small = {"batch_size": 4, "num_train": 100, "num_test": 100}
    options = {"PCA": {"samples": 300}, "ICA": {"samples": 300}}
    for model in baselines.BUILDERS:
        row = table.compute_row(sim, model, [0], small, options.get(model))
        assert row["seeds"] == 1 and len(row["scores"]) == 1 and row["score_std"] is None
        assert 0 <= row["score_mean"] <= 100
        assert row["protocol"].startswith("higgins L=4 train=100 test=100")
        assert row["paper_score"] == baselines.paper_row(model).score
    truth = table.compute_row(sim, "Ground truth", [0, 1, 2], higgins.protocol("tiny"))
    assert truth["scores"] == [100.0, 100.0, 100.0] and truth["score_std"] == 0.0


def test_the_printed_table_has_every_paper_row_beside_ours():
    rows = [
        {
            "model": "PCA",
            "score_mean": 80.0,
            "score_std": 1.25,
            "seeds": 3,
            "protocol": "higgins X",
        },
    ]
    text = table.format_table(rows, "paper")
    lines = text.splitlines()
    assert lines[0].split() == ["model", "paper", "(%)", "ours", "(%)", "seeds", "protocol"]
    assert len(lines) == 1 + 9 + 1
    pca = next(line for line in lines if line.startswith("PCA"))
    assert "84.90 ± 0.40" in pca and "80.00 ± 1.25" in pca and pca.endswith("paper")
    assert "not computed" in next(line for line in lines if line.startswith("DC-IGN"))
    assert lines[-1] == "paper: higgins X"
