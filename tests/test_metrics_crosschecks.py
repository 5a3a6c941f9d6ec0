"""FactorVAE, MIG and DCI: known answers, the K − 1 blind spot, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import mutual_info_score

from metrics import baselines, dci, factor_vae, higgins, information, mig, synthetic
from simulators import DSprites

QUICK_DCI = {"num_train": 600, "num_test": 300, "trees": 10}


@pytest.fixture(scope="module")
def sim() -> DSprites:
    return DSprites()


class WithConstantDims:
    def __init__(self, base, extra: int):
        self.base, self.extra = base, extra

    def encode_index(self, flat):
        codes = self.base.encode_index(flat)
        return torch.cat([codes, torch.full((codes.shape[0], self.extra), 3.0)], dim=1)

    def __call__(self, images):
        raise TypeError


# --- the K − 1 blind spot -------------------------------------------------------------------


def test_missing_one_factor_fools_higgins_but_not_factor_vae_or_mig(sim):
    truth = baselines.GroundTruth(sim)
    without_pos_y = synthetic.FactorCodes(sim, columns=[0, 1, 2, 3])
    assert higgins.score(sim, without_pos_y, seed=0)["test_accuracy"] >= 0.99  # the blind spot

    full_fvae = factor_vae.score(sim, truth, seed=0)["eval_accuracy"]
    partial_fvae = factor_vae.score(sim, without_pos_y, seed=0)["eval_accuracy"]
    assert full_fvae >= 0.99
    assert partial_fvae < 0.85  # posY's fifth of the points cannot be voted right
    assert partial_fvae == pytest.approx(0.8, abs=0.03)

    full_mig = mig.score(sim, truth, seed=0)
    partial_mig = mig.score(sim, without_pos_y, seed=0)
    assert partial_mig["mig"] < full_mig["mig"] - 0.15
    assert partial_mig["mig_per_factor"][4] < 0.01  # no dimension holds posY


# --- FactorVAE ------------------------------------------------------------------------------


def test_factor_vae_ground_truth_is_perfect_and_collapsed_dims_are_pruned(sim):
    padded = WithConstantDims(baselines.GroundTruth(sim), extra=3)
    result = factor_vae.score(sim, padded, num_train=2000, num_eval=1000, seed=1)
    assert result["num_active_dims"] == 5
    assert result["train_accuracy"] == 1.0 and result["eval_accuracy"] == 1.0
    assert result["protocol"].startswith("factor_vae L=64 train=2000 eval=1000 variance=10000")


def test_factor_vae_with_every_dim_collapsed_scores_zero(sim):
    constant = WithConstantDims(synthetic.FactorCodes(sim, columns=[]), extra=4)
    result = factor_vae.score(sim, constant, num_train=100, num_eval=100, seed=0)
    assert result["num_active_dims"] == 0 and result["eval_accuracy"] == 0.0


def test_factor_vae_of_a_representation_that_ignores_the_image_is_near_chance(sim):
    protocol = {"batch_size": 4, "num_train": 1000, "num_eval": 1000, "num_variance_estimate": 200}
    result = factor_vae.score(sim, synthetic.IgnoresImages(width=5), **protocol, seed=0)
    assert result["eval_accuracy"] < 0.2 + 0.08


def test_factor_vae_is_deterministic_and_checks_its_input(sim):
    noisy = synthetic.FactorCodes(sim, noise=0.3, seed=2)
    small = {"batch_size": 8, "num_train": 300, "num_eval": 300, "num_variance_estimate": 500}
    assert factor_vae.score(sim, noisy, **small, seed=3) == factor_vae.score(
        sim, noisy, **small, seed=3
    )
    with pytest.raises(ValueError, match="batch_size must be an integer ≥ 2; got 1"):
        factor_vae.score(sim, noisy, batch_size=1)
    with pytest.raises(ValueError, match="num_train must be an integer ≥ 5"):
        factor_vae.score(sim, noisy, num_train=3)
    with pytest.raises(ValueError, match="prune_threshold must be a finite number ≥ 0"):
        factor_vae.score(sim, noisy, prune_threshold=-1.0)
    with pytest.raises(ValueError, match="unknown factor name"):
        factor_vae.score(sim, noisy, factors=["size", "shape"])
    with pytest.raises(ValueError, match="NaN or infinite"):
        factor_vae.score(sim, lambda x: torch.full((x.shape[0], 2), float("nan")), **small)


# --- MIG ------------------------------------------------------------------------------------


def test_mutual_information_matches_scikit_learn():
    generator = np.random.default_rng(0)
    bins = torch.from_numpy(generator.integers(0, 7, size=(3000, 3)))
    factors = torch.from_numpy(
        np.stack(
            [
                generator.integers(0, 4, 3000),
                (bins[:, 0].numpy() + generator.integers(0, 2, 3000)) % 5,
            ],
            1,
        )
    )
    mi = information.mutual_information(bins, 7, factors, [4, 5])
    for i in range(3):
        for j in range(2):
            expected = mutual_info_score(factors[:, j].numpy(), bins[:, i].numpy())
            assert mi[i, j].item() == pytest.approx(expected, abs=1e-10)
    expected_entropy = mutual_info_score(factors[:, 1].numpy(), factors[:, 1].numpy())
    assert information.entropy(factors[:, 1], 5).item() == pytest.approx(expected_entropy)


def test_histogram_bins_follow_numpy_digitize():
    values = torch.tensor([[0.0, 5.0], [1.0, 5.0], [0.5, 5.0], [0.999, 5.0], [0.25, 5.0]])
    bins = information.histogram_bins(values, 4)
    edges = np.histogram(values[:, 0].numpy(), 4)[1][:-1]
    assert bins[:, 0].tolist() == (np.digitize(values[:, 0].numpy(), edges) - 1).tolist()
    assert bins[:, 1].tolist() == [0] * 5  # a constant dimension is one bin


def test_mig_known_answers_axis_aligned_duplicated_and_rotated(sim):
    aligned = mig.score(sim, synthetic.FactorCodes(sim), seed=0)
    # Shape (3 values) and scale (6) fit in 20 bins: their gap is their whole entropy,
    # less the small positive bias of the plug-in estimate for the runner-up.
    assert aligned["mig_per_factor"][0] > 0.99 and aligned["mig_per_factor"][1] > 0.99
    assert aligned["mig"] > 0.85
    duplicated = synthetic.FactorCodes(sim, mixing=torch.cat([torch.eye(5), torch.eye(5)], 1))
    assert mig.score(sim, duplicated, seed=0)["mig"] < 0.01  # two equal dims: no gap
    rotated = synthetic.FactorCodes(sim, mixing=synthetic.random_rotation(5, seed=0))
    assert mig.score(sim, rotated, seed=0)["mig"] < 0.3


def test_mig_is_deterministic_and_checks_its_input(sim):
    noisy = synthetic.FactorCodes(sim, noise=0.2, seed=1)
    assert mig.score(sim, noisy, num_train=3000, seed=5) == mig.score(
        sim, noisy, num_train=3000, seed=5
    )
    assert mig.score(sim, noisy, num_train=3000, seed=5) != mig.score(
        sim, noisy, num_train=3000, seed=6
    )
    with pytest.raises(ValueError, match="num_bins must be an integer ≥ 2"):
        mig.score(sim, noisy, num_bins=1)
    with pytest.raises(ValueError, match="num_train must be an integer ≥ 2"):
        mig.score(sim, noisy, num_train=1)
    with pytest.raises(ValueError, match="one row per image"):
        mig.score(sim, lambda x: torch.zeros(3, 2), num_train=50)


# --- DCI ------------------------------------------------------------------------------------


def test_dci_formulas_on_known_importance_matrices():
    assert dci.disentanglement(np.eye(5)) == pytest.approx(1.0)
    assert dci.completeness(np.eye(5)) == pytest.approx(1.0)
    assert dci.disentanglement(np.ones((5, 5))) == pytest.approx(0.0, abs=1e-9)
    assert dci.completeness(np.ones((5, 5))) == pytest.approx(0.0, abs=1e-9)
    one_code_for_all = np.zeros((5, 5))
    one_code_for_all[0] = 1.0
    assert dci.disentanglement(one_code_for_all) == pytest.approx(0.0, abs=1e-6)
    assert dci.completeness(one_code_for_all) == pytest.approx(1.0, abs=1e-6)
    # Each factor spread evenly over two codes, each code serving one factor.
    split = np.kron(np.eye(5), np.ones((2, 1)))  # (10, 5)
    assert dci.disentanglement(split) == pytest.approx(1.0)
    assert dci.completeness(split) == pytest.approx(1 - np.log(2) / np.log(10))


def test_dci_axis_aligned_versus_rotated(sim):
    aligned = dci.score(sim, synthetic.FactorCodes(sim), **QUICK_DCI, seed=0)
    rotation = synthetic.random_rotation(5, seed=1)
    rotated = dci.score(sim, synthetic.FactorCodes(sim, mixing=rotation), **QUICK_DCI, seed=0)
    assert aligned["disentanglement"] > 0.95 and aligned["completeness"] > 0.95
    assert rotated["disentanglement"] < 0.6 and rotated["completeness"] < 0.6
    assert aligned["informativeness_test"] > 0.9
    assert np.array(aligned["importance"]).shape == (5, 5)
    assert aligned["protocol"].startswith("dci train=600 test=300 classifier=gbt(stages=10")


def test_dci_is_deterministic_and_checks_its_input(sim):
    noisy = synthetic.FactorCodes(sim, noise=0.2, seed=1)
    small = {"num_train": 200, "num_test": 100, "trees": 3, "factors": ["shape", "scale"]}
    assert dci.score(sim, noisy, **small, seed=2) == dci.score(sim, noisy, **small, seed=2)
    with pytest.raises(ValueError, match="trees must be an integer ≥ 1"):
        dci.score(sim, noisy, trees=0)
    with pytest.raises(ValueError, match="num_test must be an integer ≥ 1"):
        dci.score(sim, noisy, num_test=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        dci.score(sim, lambda x: torch.full((x.shape[0], 2), float("nan")), **small)


def test_mig_per_factor_follows_the_order_of_factors(sim):
    truth = synthetic.FactorCodes(sim)
    full = mig.score(sim, truth, seed=0)
    # The module docstring's figure for the ground truth (20 bins cap the 32- and 40-value
    # factors below 1).
    assert full["mig"] == pytest.approx(0.896, abs=0.005)
    shape, pos_x = sim.factor_names.index("shape"), sim.factor_names.index("posX")
    asked = mig.score(sim, truth, factors=("posX", "shape"), seed=0)
    assert asked["mig_per_factor"] == pytest.approx(
        [full["mig_per_factor"][pos_x], full["mig_per_factor"][shape]]
    )
    assert asked["mig_per_factor"][0] < 0.9 < asked["mig_per_factor"][1]  # posX, then shape
