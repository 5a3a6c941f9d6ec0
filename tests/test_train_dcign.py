"""DC-IGN (trainables.dcign): one-factor batches, the clamp, latent groups, training, resuming.

CPU only and small: batches render procedurally, runs are a few hundred steps at most, and
the Higgins score is replaced where a test does not examine it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from simulators import DSprites
from trainables import TrialConfig, load_model, train
from trainables.dcign import Clamp, DCIGNBatches, groups, latent_factor

NAMES = ("shape", "scale", "orientation", "posX", "posY")


pytestmark = pytest.mark.usefixtures("one_thread")


def _config(**changes) -> TrialConfig:
    values = dict(
        model="dcign",
        architecture="conv",
        latent_size=10,
        batch_size=16,
        steps=40,
        report_every=10,
        score_every=0,
        final_score_protocol="tiny",
        device="cpu",
        seed=0,
    )
    values.update(changes)
    return TrialConfig(**values)


def test_groups_split_latents_per_factor_with_the_remainder_to_shape():
    assert groups(10, NAMES) == [range(0, 2), range(2, 4), range(4, 6), range(6, 8), range(8, 10)]
    assert [len(g) for g in groups(7, NAMES)] == [3, 1, 1, 1, 1]
    assert groups(5, ("a", "shape")) == [range(0, 2), range(2, 5)]  # shape wherever it is
    assert groups(3, ("a", "b")) == [range(0, 2), range(2, 3)]  # no shape: the first factor
    assert latent_factor(7, NAMES, "cpu").tolist() == [0, 0, 0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="latent_size 4 < 5"):
        groups(4, NAMES)


def test_batches_vary_exactly_one_factor_and_resume_exactly():
    sim = DSprites()
    batches = DCIGNBatches(sim, batch_size=16, latent_size=10, seed=3)
    generator = batches.generator
    chosen = []
    for _ in range(50):
        before = generator.get_state()
        images, noise, factor = batches.next()
        assert images.shape == (16, 1, 64, 64) and noise.shape == (16, 10)
        assert factor.dtype == torch.long and factor.device == sim.device
        # Replay the draws to see the classes behind the images.
        generator.set_state(before)
        torch.randint(sim.num_factors, (), generator=generator)
        base = sim.sample_factors(1, generator)
        fresh = sim.sample_factors(16, generator)
        classes = base.repeat(16, 1)
        classes[:, int(factor)] = fresh[:, int(factor)]
        torch.randn((16, 10), generator=generator)
        assert torch.equal(images, sim.render(classes))
        varying = [k for k in range(sim.num_factors) if classes[:, k].unique().numel() > 1]
        assert varying == [int(factor)]  # all others constant; the varied one takes > 1 value
        chosen.append(int(factor))
    assert set(chosen) == set(range(sim.num_factors))

    state = batches.state()
    first = [batches.next() for _ in range(3)]
    batches.restore(state)
    again = [batches.next() for _ in range(3)]
    for a, b in zip(first, again, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_clamp_means_forward_and_invariance_gradient_backward():
    torch.manual_seed(0)
    mu = torch.randn(8, 10, dtype=torch.float64, requires_grad=True)
    active = latent_factor(10, NAMES, "cpu") == 3  # posX: latents 6 and 7
    scale = 0.25
    out = Clamp.apply(mu, active, scale)
    clamped = out[:, ~active]
    assert torch.equal(clamped, clamped[:1].expand_as(clamped))  # equal across the batch
    assert torch.allclose(clamped[0], mu[:, ~active].mean(dim=0))
    assert torch.equal(out[:, active], mu[:, active])
    incoming = torch.randn(8, 10, dtype=torch.float64)
    out.backward(incoming)
    pull = scale * (mu - mu.mean(dim=0, keepdim=True)).detach()
    assert torch.equal(mu.grad[:, active], incoming[:, active])
    assert torch.allclose(mu.grad[:, ~active], pull[:, ~active])


def test_training_lowers_the_loss_and_reports_the_invariance():
    config = _config(steps=300, batch_size=32, report_every=50)
    reports = []
    train(config, report=lambda metrics, checkpoint: reports.append(metrics))
    assert [r["step"] for r in reports] == [50, 100, 150, 200, 250, 300]
    for r in reports:
        assert set(r["losses"]) == {"invariance"} and r["losses"]["invariance"] >= 0
        assert r["loss"] == pytest.approx(r["recon"] + r["kl"])  # the VAE bound, KL weight 1
        assert r["elbo"] == pytest.approx(-(r["recon"] + r["kl"]))
        assert len(r["kl_per_latent"]) == 10
    assert reports[-1]["loss"] < 0.5 * reports[0]["loss"]
    assert 0.0 <= reports[-1]["score"] <= 1.0  # the unchanged encoder means are scored


def test_resume_continues_the_same_run(tmp_path: Path, no_scoring):
    """Resumed from its step-20 checkpoint, a run reports and ends exactly as the whole run."""
    config = _config(checkpoint_every=20)
    whole = []

    def keep(metrics, checkpoint):
        whole.append(metrics)
        if checkpoint is not None:  # what Ray Tune does: persist it before the loop prunes it
            shutil.copytree(checkpoint, tmp_path / "kept" / checkpoint.name)

    result = train(config, report=keep, checkpoint_dir=tmp_path / "a")
    resumed = []
    again = train(
        config,
        report=lambda m, c: resumed.append(m),
        checkpoint_dir=tmp_path / "b",
        resume_from=tmp_path / "kept" / "step-000000020",
    )
    after = [r for r in whole if r["step"] > 20]
    assert [r["step"] for r in resumed] == [30, 40]
    for a, b in zip(after, resumed, strict=True):
        for key in ("recon", "kl", "loss", "losses", "kl_per_latent", "score"):
            assert a[key] == b[key], key  # bit for bit on CPU with a fixed seed
    model_a, _ = load_model(result.checkpoint)
    model_b, _ = load_model(again.checkpoint)
    assert all(
        torch.equal(p, q) for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True)
    )
