"""Defaults that must follow what the user chose: the capacity ramp follows the trial's
length, the learning rate follows the optimiser (issue 17, items 1 and 3)."""

from __future__ import annotations

import math

import pytest

from sweep.cli import main
from sweep.store.schema import RESULTS_SCHEMA
from trainables import scoring, train
from trainables.checkpoint import check_resumable
from trainables.config import CAPACITY_RAMP_FRACTION, ConfigError, TrialConfig
from trainables.objectives import capacity_at


def test_capacity_reaches_c_max_within_the_trial():
    config = TrialConfig(objective="capacity", capacity_max=25.0, steps=1000)
    assert config.capacity_steps == round(CAPACITY_RAMP_FRACTION * 1000) < 1000
    assert capacity_at(config, config.steps) == 25.0
    assert capacity_at(config, config.capacity_steps // 2) == pytest.approx(12.5, abs=0.1)
    assert TrialConfig(objective="capacity", steps=1).capacity_steps == 1


def test_an_explicit_capacity_ramp_overrides_the_default():
    config = TrialConfig(objective="capacity", steps=1000, capacity_steps=100_000)
    assert config.capacity_steps == 100_000
    assert capacity_at(config, 1000) == pytest.approx(0.25)
    assert TrialConfig.from_dict(config.to_dict()) == config  # resolved once, round-trips


def test_the_capacity_default_is_stated_in_the_help_and_the_parquet_column(capsys):
    assert main(["train", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert f"{CAPACITY_RAMP_FRACTION:g} × --steps" in help_text
    description = RESULTS_SCHEMA.field("capacity").metadata[b"description"].decode()
    assert f"{CAPACITY_RAMP_FRACTION:g} × the trial's planned steps" in description


def test_resuming_with_more_steps_keeps_or_names_the_capacity_ramp():
    beta = TrialConfig(steps=100)
    check_resumable(beta, TrialConfig(steps=400))  # the beta objective ignores the ramp
    capacity = TrialConfig(objective="capacity", steps=100)
    with pytest.raises(ConfigError, match="pass --capacity-steps 50 to continue"):
        check_resumable(capacity, TrialConfig(objective="capacity", steps=400))
    check_resumable(capacity, TrialConfig(objective="capacity", steps=400, capacity_steps=50))


@pytest.mark.parametrize(
    ("architecture", "optimizer", "rate"),
    [
        ("mlp", None, 1e-2),  # the paper's model: Adagrad 1e-2
        ("conv", None, 5e-4),  # Burgess et al.'s: Adam 5e-4
        ("mlp", "adam", 5e-4),
        ("conv", "adagrad", 3e-3),  # Adagrad's 1e-2 diverges on the conv model
        ("mlp", "adagrad", 1e-2),
        ("conv", "adam", 5e-4),
    ],
)
def test_the_default_learning_rate_follows_the_optimizer(architecture, optimizer, rate):
    config = TrialConfig(architecture=architecture, optimizer=optimizer)
    assert config.learning_rate == rate
    explicit = TrialConfig(architecture=architecture, optimizer=optimizer, learning_rate=3e-3)
    assert explicit.learning_rate == 3e-3


@pytest.mark.parametrize(
    ("architecture", "optimizer"),
    [("mlp", "adagrad"), ("mlp", "adam"), ("conv", "adagrad"), ("conv", "adam")],
)
def test_every_default_rate_trains_without_diverging(
    monkeypatch, one_thread, architecture, optimizer
):
    """Adagrad at 1e-2 made the conv model's loss non-finite by step 3."""
    monkeypatch.setattr(
        scoring, "score", lambda *args, **kwargs: {"score": None}
    )  # not examined here
    config = TrialConfig(
        architecture=architecture,
        optimizer=optimizer,
        steps=6,
        batch_size=32,
        report_every=6,
        score_every=0,
        final_score_protocol="tiny",  # small enough not to materialise the data set
        device="cpu",
    )
    result = train(config)
    assert result.status == "completed", result.message
    assert math.isfinite(result.metrics["loss"])
