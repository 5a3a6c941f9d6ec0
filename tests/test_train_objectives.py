"""The objectives against hand computation, and TrialConfig's checks of trial values."""

from __future__ import annotations

import math

import pytest
import torch

from trainables.config import ConfigError, TrialConfig, beta_to_norm, norm_to_beta
from trainables.objectives import capacity_at, kl_per_latent, objective, reconstruction


def _bce(logit: float, target: float) -> float:
    # −[t·log σ(l) + (1 − t)·log(1 − σ(l))], written out
    p = 1.0 / (1.0 + math.exp(-logit))
    return -(target * math.log(p) + (1.0 - target) * math.log(1.0 - p))


def _kl(mu: float, logvar: float) -> float:
    return 0.5 * (mu * mu + math.exp(logvar) - 1.0 - logvar)


def _tiny_batch():
    """Two images of 2×2 pixels (the reductions do not depend on the image size), M = 2."""
    logits = torch.tensor([[[[0.5, -1.0], [2.0, 0.0]]], [[[-0.3, 1.5], [0.0, -2.0]]]])
    images = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]], [[[0.0, 1.0], [0.0, 0.0]]]])
    mu = torch.tensor([[0.2, -1.0], [0.5, 0.0]])
    logvar = torch.tensor([[0.0, -0.5], [0.3, 1.0]])
    return logits, images, mu, logvar


def _by_hand(logits, images, mu, logvar):
    n = logits.shape[0]
    recon = sum(
        _bce(float(l), float(t))
        for l, t in zip(logits.flatten(), images.flatten(), strict=True)  # noqa: E741
    )
    per_latent = [
        sum(_kl(float(mu[i, j]), float(logvar[i, j])) for i in range(n)) / n
        for j in range(mu.shape[1])
    ]
    return recon / n, per_latent


def test_beta_objective_equals_hand_computation():
    logits, images, mu, logvar = _tiny_batch()
    recon, per_latent = _by_hand(logits, images, mu, logvar)
    config = TrialConfig(beta=4.0, latent_size=2)
    terms = objective(config, logits, images, mu, logvar)
    assert terms.recon.item() == pytest.approx(recon, rel=1e-6)  # summed over pixels
    assert terms.kl_per_latent.tolist() == pytest.approx(per_latent, rel=1e-6)
    assert terms.kl.item() == pytest.approx(sum(per_latent), rel=1e-6)  # summed over latents
    assert terms.loss.item() == pytest.approx(recon + 4.0 * sum(per_latent), rel=1e-6)


def test_capacity_objective_equals_hand_computation():
    logits, images, mu, logvar = _tiny_batch()
    recon, per_latent = _by_hand(logits, images, mu, logvar)
    config = TrialConfig(objective="capacity", gamma=100.0, capacity_max=25.0, latent_size=2)
    for capacity in (0.0, 1.0, 25.0):  # KL ≈ 0.54 here: C below and above it
        terms = objective(config, logits, images, mu, logvar, capacity=capacity)
        expected = recon + 100.0 * abs(sum(per_latent) - capacity)
        assert terms.loss.item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="capacity"):
        objective(config, logits, images, mu, logvar)


def test_reconstruction_sums_over_the_4096_pixels():
    # Logits 0 are p = 1/2 for every pixel: log 2 nats each, whatever the image.
    images = torch.randint(0, 2, (3, 1, 64, 64)).float()
    assert reconstruction(torch.zeros_like(images), images).item() == pytest.approx(
        4096 * math.log(2), rel=1e-6
    )


def test_kl_is_zero_at_the_prior():
    zeros = torch.zeros(5, 10)
    per_latent = kl_per_latent(zeros, zeros)
    assert per_latent.shape == (10,)
    assert torch.equal(per_latent, torch.zeros(10))


def test_capacity_rises_linearly_then_stays():
    config = TrialConfig(objective="capacity", capacity_max=20.0, capacity_steps=100)
    assert [capacity_at(config, s) for s in (0, 25, 100, 500)] == [0.0, 5.0, 20.0, 20.0]
    assert capacity_at(config, torch.tensor(50.0)).item() == pytest.approx(10.0)


def test_beta_norm_round_trip():
    assert beta_to_norm(4.0, 10) == pytest.approx(40 / 4096)
    for beta, m in ((4.0, 10), (1.0, 5), (250.0, 20), (0.37, 3)):
        assert norm_to_beta(beta_to_norm(beta, m), m) == pytest.approx(beta, rel=1e-12)
        from_norm = TrialConfig(beta_norm=beta_to_norm(beta, m), latent_size=m)
        assert from_norm.beta == pytest.approx(beta, rel=1e-12)
        assert TrialConfig(beta=beta, latent_size=m).beta_norm == pytest.approx(
            from_norm.beta_norm, rel=1e-12
        )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"beta": 0}, "beta must be a finite number > 0"),
        ({"beta": -1.5}, "beta must be a finite number > 0"),
        ({"beta_norm": 0}, "beta_norm must be a finite number > 0"),
        ({"latent_size": 0}, "latent_size must be an integer ≥ 1"),
        ({"architecture": "resnet"}, "architecture must be one of mlp, conv"),
        ({"objective": "elbo"}, "objective must be one of beta, capacity"),
        ({"steps": 0}, "steps must be an integer ≥ 1"),
        ({"batch_size": 1}, "batch_size must be an integer ≥ 2"),
        ({"optimizer": "sgd"}, "optimizer must be one of adam, adagrad"),
        ({"loop_score_protocol": "huge"}, "loop_score_protocol must be one of paper"),
        ({"final_score_protocol": ""}, "final_score_protocol must be one of paper"),
        ({"device": "tpu"}, "device must be auto, cpu, cuda or cuda:N"),
    ],
)
def test_bad_config_values_fail_with_the_field_named(values, message):
    with pytest.raises(ConfigError, match=message):
        TrialConfig(**values)
