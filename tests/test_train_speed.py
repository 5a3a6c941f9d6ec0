"""Speed settings change how a step runs, not what it computes."""

from __future__ import annotations

import pytest
import torch

from trainables import Speed, TrialConfig, data
from trainables.models import build_model
from trainables.speed import SPEED_ENV
from trainables.step import Stepper, make_optimizer


def test_auto_defaults_and_overrides(monkeypatch):
    monkeypatch.delenv(SPEED_ENV, raising=False)
    cpu = torch.device("cpu")
    assert Speed.auto(cpu, "conv") == Speed(channels_last=True, fused_optimizer=True)
    assert Speed.auto(cpu, "mlp") == Speed(fused_optimizer=True)
    monkeypatch.setenv(SPEED_ENV, "bf16, no-fused,compile=reduce-overhead")
    assert Speed.auto(cpu, "mlp") == Speed(bf16=True, compile="reduce-overhead")
    assert Speed(compile="default").with_overrides("no-compile,channels-last") == Speed(
        channels_last=True
    )
    assert Speed(bf16=True, compile="default").describe() == "bf16, compile=default"
    for bad in ("turbo", "compile=fastest", "bf16=1"):
        with pytest.raises(ValueError, match=f"{SPEED_ENV}: unknown setting"):
            Speed().with_overrides(bad)


def _first_losses(speed: Speed, steps: int = 3) -> list[float]:
    config = TrialConfig(architecture="conv", batch_size=8, device="cpu", seed=2)
    model = build_model(config)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    sim = data.simulator("cpu", None, materialize=False)
    batches = data.Batches(sim, config.batch_size, config.latent_size, config.seed)
    stepper = Stepper(config, model, make_optimizer(config, model, speed), batches, speed, 0)
    losses = []
    for _ in range(steps):
        stepper.step()
        losses.append(stepper.drain().terms["loss"])
    return losses


def test_speed_settings_compute_the_same_steps(one_thread):
    eager = _first_losses(Speed())
    fast = _first_losses(Speed(channels_last=True, fused_optimizer=True))
    bf16 = _first_losses(Speed(bf16=True))
    assert fast == pytest.approx(eager, rel=1e-4)  # layout and fusion: rounding only
    assert bf16 == pytest.approx(eager, rel=2e-2)  # bf16 networks, float32 loss terms
