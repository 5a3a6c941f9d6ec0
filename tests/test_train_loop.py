"""train(): the report and checkpoint contract, resuming, divergence, learning.

Runs are tiny (a few steps, small batches) so the file stays within seconds on a shared
2-core CPU; they render procedurally, below the size at which a CPU run materialises the
data set. Only the contract test scores for real (with a micro protocol); the others
replace the Higgins score, which they do not examine, by a stand-in that costs nothing.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch

from sweep.store.parquet import rows_to_table
from sweep.store.schema import METRIC_COLUMNS, RESULTS_SCHEMA
from trainables import ConfigError, TrialConfig, load_model, scoring, train
from trainables.checkpoint import CHECKPOINT_FILE, CheckpointError

METRIC_KEYS = {f.name for f in METRIC_COLUMNS}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def micro_protocol(monkeypatch):
    """A Higgins protocol small enough for a test (registered for this test only)."""
    from metrics import higgins

    micro = {"batch_size": 4, "num_train": 60, "num_test": 40, "factors": None}
    monkeypatch.setitem(higgins.PROTOCOLS, "micro", micro)
    return "micro"


def _config(**changes) -> TrialConfig:
    values = dict(
        architecture="conv",
        batch_size=8,
        steps=12,
        report_every=4,
        score_every=0,
        loop_score_protocol="tiny",
        final_score_protocol="tiny",
        device="cpu",
        seed=1,
    )
    values.update(changes)
    return TrialConfig(**values)


class Recorder:
    """A report callback that keeps the metrics and checks each checkpoint while it exists."""

    def __init__(self, keep_copies_in: Path | None = None):
        self.reports: list[dict] = []
        self.checkpoints: list[tuple[int, Path | None]] = []
        self.keep_copies_in = keep_copies_in

    def __call__(self, metrics: dict, checkpoint: Path | None) -> None:
        self.reports.append(metrics)
        self.checkpoints.append((metrics["step"], checkpoint))
        if checkpoint is not None:
            state = torch.load(checkpoint / CHECKPOINT_FILE, weights_only=True)
            assert state["step"] == metrics["step"]
            if self.keep_copies_in is not None:  # what Ray Tune does: persist it elsewhere
                shutil.copytree(checkpoint, self.keep_copies_in / checkpoint.name)


def test_reports_scores_and_checkpoints_follow_the_contract(tmp_path, monkeypatch, micro_protocol):
    protocols = []
    real_score = scoring.score

    def recording_score(sim, model, protocol, seed, progress=None):
        protocols.append(protocol)
        return real_score(sim, model, protocol, seed, progress)

    monkeypatch.setattr(scoring, "score", recording_score)
    config = _config(
        score_every=6, checkpoint_every=8, loop_score_protocol="micro", final_score_protocol="tiny"
    )
    recorder = Recorder()
    result = train(config, report=recorder, checkpoint_dir=tmp_path / "ckpt")

    steps = [r["step"] for r in recorder.reports]
    assert steps == [4, 6, 8, 12]  # report_every, plus the scoring and checkpoint steps
    assert protocols == ["micro", "tiny"]  # in-loop protocol, then the final one
    for report in recorder.reports:
        assert set(report) == METRIC_KEYS
        assert report["diverged"] is False
        assert len(report["kl_per_latent"]) == config.latent_size
        assert all(type(v) is float for v in report["kl_per_latent"])
        for key in ("recon", "kl", "elbo", "loss", "images_per_s"):
            assert type(report[key]) is float and math.isfinite(report[key])
        assert report["elbo"] == pytest.approx(-(report["recon"] + report["kl"]))
        assert report["loss"] == pytest.approx(report["recon"] + config.beta * report["kl"])
        assert report["capacity"] is None
    scored = {r["step"]: r for r in recorder.reports if r["score"] is not None}
    assert sorted(scored) == [6, 12]
    assert "higgins L=4 train=60 test=40" in scored[6]["score_protocol"]
    assert "higgins L=8 train=300 test=200" in scored[12]["score_protocol"]
    assert 0.0 <= scored[12]["score"] <= 1.0 and 0.0 <= scored[12]["score_train"] <= 1.0
    assert [s for s, c in recorder.checkpoints if c is not None] == [8, 12]
    # Only the newest checkpoint is kept, and it is the one the result names.
    assert result.status == "completed" and result.steps_done == 12
    assert result.checkpoint == tmp_path / "ckpt" / "step-000000012"
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["step-000000012"]
    assert result.metrics == recorder.reports[-1]
    # Every report is a valid Parquet row.
    rows = [dict(r, sweep="t", trial_id="x", **config.to_dict()) for r in recorder.reports]
    assert rows_to_table(rows, RESULTS_SCHEMA).num_rows == 4


def test_capacity_objective_reports_its_schedule(no_scoring):
    config = _config(objective="capacity", capacity_max=10.0, capacity_steps=8, steps=8)
    recorder = Recorder()
    train(config, report=recorder)
    assert [r["capacity"] for r in recorder.reports] == [5.0, 10.0]


def test_resume_continues_the_same_run(tmp_path, no_scoring):
    """A run resumed from its step-12 checkpoint reports exactly what the whole run did."""
    config = _config(steps=24, checkpoint_every=12, batch_size=16)
    saved = tmp_path / "persisted"
    saved.mkdir()
    whole = Recorder(keep_copies_in=saved)
    train(config, report=whole, checkpoint_dir=tmp_path / "a")
    resumed = Recorder()
    result = train(
        config,
        report=resumed,
        checkpoint_dir=tmp_path / "b",
        resume_from=saved / "step-000000012",
    )
    after = [r for r in whole.reports if r["step"] > 12]
    assert [r["step"] for r in resumed.reports] == [16, 20, 24]
    for a, b in zip(after, resumed.reports, strict=True):
        for key in ("recon", "kl", "loss", "kl_per_latent", "score"):
            assert a[key] == b[key], key  # bit for bit on CPU with a fixed seed
    first, last = whole.reports[0]["loss"], whole.reports[-1]["loss"]
    assert last < 0.7 * first  # and the short run learns: the loss falls
    model_a, _ = load_model(tmp_path / "a" / "step-000000024")
    model_b, config_b = load_model(result.checkpoint)
    assert config_b == config and not model_b.training
    assert all(
        torch.equal(p, q) for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True)
    )


def test_resume_refuses_another_run(tmp_path, no_scoring):
    config = _config(steps=4, report_every=4)
    train(config, checkpoint_dir=tmp_path)
    checkpoint = tmp_path / "step-000000004"
    with pytest.raises(ConfigError, match=r"different run \(beta: 4.0 -> 2.0"):
        train(config.replace(beta=2.0, steps=8), resume_from=checkpoint)
    with pytest.raises(ConfigError, match="checkpoint is at step 4, steps=4"):
        train(config, resume_from=checkpoint)
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        train(config.replace(steps=8), resume_from=tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be loaded"):
        train(config.replace(steps=8), resume_from=tmp_path / "broken")


def test_a_non_finite_loss_ends_the_trial_as_diverged(tmp_path, no_scoring):
    # Adam's first step moves every weight by about the learning rate: 1e30 overflows.
    config = _config(learning_rate=1e30, steps=40, report_every=4, checkpoint_every=40)
    recorder = Recorder()
    result = train(config, report=recorder, checkpoint_dir=tmp_path)
    assert result.status == "diverged"
    assert result.steps_done == 4  # stopped at the first report, not run to the end
    (report,) = recorder.reports
    assert set(report) == METRIC_KEYS | {"message"}
    assert report["diverged"] is True and report["step"] == 2
    assert "non-finite loss at step 2" in report["message"] == result.message
    floats = [report[k] for k in ("recon", "kl", "elbo", "loss")] + report["kl_per_latent"]
    assert all(v is None or math.isfinite(v) for v in floats)  # no NaN reported as a number
    assert None in floats
    assert recorder.checkpoints == [(2, None)] and result.checkpoint is None
    assert not any(tmp_path.iterdir())  # no checkpoint of a diverged model


def test_a_growing_score_schedule_scores_at_the_geometric_steps_and_the_last(no_scoring):
    config = _config(steps=20, report_every=20, score_every=2, score_growth=2)
    recorder = Recorder()
    train(config, report=recorder)
    assert [r["step"] for r in recorder.reports if r["score"] is not None] == [2, 4, 8, 16, 20]
    every = Recorder()
    train(config.replace(score_growth=1, steps=6), report=every)
    assert [r["step"] for r in every.reports if r["score"] is not None] == [2, 4, 6]
