"""The two architectures, their seeded initialisation, and the encode helper for metrics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainables import TrialConfig, build_model, encoder


def _linear_shapes(module: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_mlp_is_the_papers_dsprites_model():
    model = build_model(TrialConfig(architecture="mlp", latent_size=10))
    assert _linear_shapes(model.encoder) == [(4096, 1200), (1200, 1200), (1200, 20)]
    assert _linear_shapes(model.decoder) == [(10, 1200), (1200, 1200), (1200, 1200), (1200, 4096)]
    assert sum(isinstance(m, nn.ReLU) for m in model.encoder.modules()) == 2
    assert sum(isinstance(m, nn.Tanh) for m in model.decoder.modules()) == 3
    assert TrialConfig(architecture="mlp").optimizer == "adagrad"
    assert TrialConfig(architecture="mlp").learning_rate == 1e-2


def test_conv_is_burgess_et_al():
    model = build_model(TrialConfig(architecture="conv", latent_size=7))
    convs = [m for m in model.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(32, (4, 4), (2, 2))] * 4
    assert _linear_shapes(model.encoder) == [(512, 256), (256, 256), (256, 14)]
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in model.decoder.modules()) == 4
    assert TrialConfig(architecture="conv").optimizer == "adam"


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_shapes_and_seeded_initialisation(architecture):
    config = TrialConfig(architecture=architecture, latent_size=6, seed=3)
    model = build_model(config)
    x = torch.rand(5, 1, 64, 64)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 6)
    assert model.decode(mu).shape == (5, 1, 64, 64)
    logits, mu2, _ = model(x, torch.zeros(5, 6))
    assert torch.equal(mu, mu2) and torch.equal(logits, model.decode(mu))  # z = μ at zero noise
    torch.manual_seed(123)  # the global RNG must not matter, and must not be touched
    before = torch.random.get_rng_state()
    again = build_model(config)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(
        torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters(), strict=True)
    )
    other = build_model(config.replace(seed=4))
    assert not all(
        torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters(), strict=True)
    )


def test_encoder_is_batched_no_grad_and_keeps_the_models_mode():
    model = build_model(TrialConfig(architecture="conv", latent_size=4)).train()
    encode = encoder(model, batch_size=3)
    images = torch.rand(8, 1, 64, 64)
    means = encode(images)
    assert means.shape == (8, 4) and not means.requires_grad and means.dtype == torch.float32
    with torch.no_grad():
        assert torch.allclose(means, model.encode(images)[0], atol=1e-6)
    assert model.training  # restored after the call
    assert encode(images[:0]).shape == (0, 4)
