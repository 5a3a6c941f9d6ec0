"""InfoGAN (trainables.infogan): it trains through the loop, its Q head learns to recover
the codes it was asked to (and an untrained one does not), its encoding is what the metric
needs, and a checkpoint resumes it exactly.

One 300-step CPU run (about 25 s on a shared 2-core CPU) is shared by the learning tests.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch

from sweep.store.parquet import rows_to_table
from sweep.store.schema import METRIC_COLUMNS, RESULTS_SCHEMA
from trainables import TrialConfig, infogan, scoring, train
from trainables.checkpoint import read
from trainables.speed import Speed

pytestmark = pytest.mark.usefixtures("one_thread")

METRIC_KEYS = {f.name for f in METRIC_COLUMNS}
TRAINED = TrialConfig(
    model="infogan",
    latent_size=10,
    steps=300,
    batch_size=32,
    report_every=50,
    score_every=0,
    final_score_protocol="tiny",
    device="cpu",
    seed=0,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The result and reports of one short run and its final model (in eval mode)."""
    reports = []
    result = train(
        TRAINED,
        report=lambda metrics, _: reports.append(metrics),
        checkpoint_dir=tmp_path_factory.mktemp("infogan"),
    )
    model = infogan.build(TRAINED)
    model.load_state_dict(read(result.checkpoint)["model"])
    return result, reports, model.eval()


def _recovery(model: infogan.InfoGAN, n: int = 512, seed: int = 123) -> tuple[float, float]:
    """How well Q reads back the codes G was given: categorical accuracy and the mean over
    continuous codes of the correlation between code and Q's estimate."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, infogan.NOISE_SIZE, generator=g)
    c_cat = torch.randint(infogan.CATEGORIES, (n,), generator=g)
    c_cont = torch.rand(n, model.latent_size - infogan.CATEGORIES, generator=g) * 2 - 1
    model.eval()
    with torch.no_grad():
        codes, _ = model.encode(model.generate(z, c_cat, c_cont))
    accuracy = (codes[:, : infogan.CATEGORIES].argmax(dim=1) == c_cat).double().mean()
    estimates = codes[:, infogan.CATEGORIES :]
    r = [
        torch.corrcoef(torch.stack([estimates[:, j], c_cont[:, j]]))[0, 1]
        for j in range(estimates.shape[1])
    ]
    return float(accuracy), float(torch.stack(r).mean())


def test_training_lowers_the_information_loss_and_reports_the_gan_terms(trained):
    result, reports, _ = trained
    assert result.status == "completed" and result.steps_done == TRAINED.steps
    assert [r["step"] for r in reports] == [50, 100, 150, 200, 250, 300]
    for report in reports:
        assert set(report) == METRIC_KEYS
        assert report["recon"] is None and report["kl"] is None and report["elbo"] is None
        assert report["kl_per_latent"] is None and report["capacity"] is None
        assert set(report["losses"]) == {"discriminator", "generator", "information"}
        assert all(math.isfinite(v) for v in [report["loss"], *report["losses"].values()])
        # loss is what G minimises: its GAN loss plus the weighted information term.
        assert report["loss"] > report["losses"]["generator"]
    first, last = (r["losses"]["information"] for r in (reports[0], reports[-1]))
    chance = math.log(3) + 7 / 6  # Q at the prior: ln 3 + E[c²]/2 per continuous code
    assert first > 0.9 * chance and last < 0.8 * first
    assert 0.0 <= reports[-1]["score"] <= 1.0 and "L=8" in reports[-1]["score_protocol"]
    rows = [dict(r, sweep="t", trial_id="x", **TRAINED.to_dict()) for r in reports]
    assert rows_to_table(rows, RESULTS_SCHEMA).num_rows == len(reports)


def test_q_recovers_its_codes_after_training_and_not_before(trained):
    _, _, model = trained
    accuracy, r = _recovery(model)
    assert accuracy > 0.55 and r > 0.3, (accuracy, r)
    accuracy, r = _recovery(infogan.build(TRAINED))
    assert accuracy < 0.45 and abs(r) < 0.15, (accuracy, r)


def test_encode_gives_probabilities_then_means_independent_of_the_batch(trained, sim):
    _, _, model = trained
    images = sim.render(sim.sample_factors(16, torch.Generator().manual_seed(0)))
    codes, variance = model.encode(images)
    assert variance is None and codes.shape == (16, model.latent_size)
    probabilities = codes[:, : infogan.CATEGORIES]
    assert (probabilities >= 0).all()
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(16))
    encode = scoring.encoder(model, batch_size=5)  # chunks of another composition
    assert torch.allclose(encode(images), codes, atol=1e-6)
    assert torch.allclose(encode(images[[3]]), codes[[3]], atol=1e-6)
    assert torch.equal(encode(images), encode(images))


def test_the_optimiser_updates_each_part_once_at_its_rate_and_round_trips(tmp_path, sim):
    config = TRAINED.replace(batch_size=8)
    model = infogan.build(config)
    optimizer = infogan.optimizer(config, model, Speed(fused_optimizer=True))
    d_params = [p for g in optimizer.discriminator.param_groups for p in g["params"]]
    g_params = [p for g in optimizer.generator.param_groups for p in g["params"]]
    assert {id(p) for p in d_params} == {
        id(p) for m in (model.trunk, model.d_head, model.q_head) for p in m.parameters()
    }
    assert {id(p) for p in g_params} == {id(p) for p in model.generator.parameters()}
    assert optimizer.discriminator.param_groups[0]["lr"] == 2e-4
    assert optimizer.generator.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert optimizer.generator.param_groups[0]["betas"] == (0.5, 0.999)

    stepper = infogan.Stepper(
        config, model, optimizer, infogan.batches(sim, config), Speed(fused_optimizer=True), 0
    )
    stepper.step()
    torch.save(optimizer.state_dict(), tmp_path / "opt.pt")
    again = infogan.optimizer(config, model, Speed(fused_optimizer=True))
    again.load_state_dict(torch.load(tmp_path / "opt.pt", weights_only=True))
    _assert_same(again.state_dict(), optimizer.state_dict())


def _assert_same(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    else:
        assert a == b


def test_resume_continues_the_same_run(tmp_path, monkeypatch):
    """A run resumed from its step-20 checkpoint reports exactly what the whole run did."""

    def stand_in(sim, model, protocol, seed, progress=None):
        total = sum(float(p.detach().double().sum()) for p in model.parameters())
        return {"score": total, "score_train": total, "score_protocol": "stand-in"}

    monkeypatch.setattr(scoring, "score", stand_in)
    config = TRAINED.replace(steps=40, batch_size=8, report_every=10, checkpoint_every=20)
    whole: list[dict] = []
    saved: dict[int, Path] = {}

    def keep(metrics, checkpoint):
        whole.append(metrics)
        if checkpoint is not None:  # persist it, as Ray Tune would
            saved[metrics["step"]] = shutil.copytree(checkpoint, tmp_path / checkpoint.name)

    train(config, report=keep, checkpoint_dir=tmp_path / "a")
    resumed: list[dict] = []
    train(config, report=lambda m, _: resumed.append(m), resume_from=saved[20])
    after = [r for r in whole if r["step"] > 20]
    assert [r["step"] for r in resumed] == [30, 40]
    for a, b in zip(after, resumed, strict=True):
        for key in ("loss", "losses", "score"):
            assert a[key] == b[key], key  # bit for bit on CPU with a fixed seed


def test_a_non_finite_loss_ends_the_trial_as_diverged(monkeypatch):
    monkeypatch.setattr(scoring, "score", lambda *a, **k: pytest.fail("a diverged run scored"))
    # Adam's first steps move every weight by about the learning rate: 1e30 overflows.
    config = TRAINED.replace(learning_rate=1e30, steps=8, batch_size=8, report_every=4)
    result = train(config)
    assert result.status == "diverged" and result.steps_done == 4
    assert result.metrics["diverged"] is True and result.metrics["step"] <= 4
    assert "non-finite loss" in result.message and "infogan" in result.message
