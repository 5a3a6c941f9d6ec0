"""A synthetic trial whose objectives are known functions of β, the latent size and the
step: for testing frontier sweeps end to end in seconds and for bench/frontier.py.

The problem is ZDT1 (Zitzler, Deb & Thiele 2000) dressed as a β-VAE. With x the position
of β on a log scale from 1 to 250 (0 … 1) and g = 1 + 4·((M − 10)/6)² a penalty for a
latent size M away from 10, the trial's final objectives are

    recon = 100 + 400·x                 (lower is better; grows with β, as a β-VAE's does)
    score = 1 − g·(1 − √(x/g)) / 5      (higher is better; grows with β)

so the Pareto front is M = 10 with score = 1 − (1 − √((recon − 100)/400)) / 5, and every
other latent size is dominated. Before the last step both objectives are worse by a
term that decays with the step at a rate that depends on x, so early rungs rank trials
roughly, not exactly, as the last step does: what multi-fidelity pruning has to live with.

`train` follows trainables.train's contract (report(metrics, fresh checkpoint dir or
None), checkpoints, resume_from), so sweep.tune.trainable.run_with_tune runs it exactly
as it runs a real trial; `run_synthetic_trial` is the Tune function.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from trainables.config import TrialConfig

BETA_RANGE = (1.0, 250.0)
BEST_LATENT = 10
PROTOCOL = "synthetic ZDT1"
_STATE = "synthetic.json"


def position(beta: float) -> float:
    low, high = BETA_RANGE
    return min(1.0, max(0.0, math.log(beta / low) / math.log(high / low)))


def penalty(latent_size: int) -> float:
    return 1.0 + 4.0 * ((latent_size - BEST_LATENT) / 6.0) ** 2


def final_objectives(beta: float, latent_size: int) -> tuple[float, float]:
    """(recon, score) at the trial's last step."""
    x, g = position(beta), penalty(latent_size)
    return 100.0 + 400.0 * x, 1.0 - g * (1.0 - math.sqrt(x / g)) / 5.0


def true_front(points: int = 2001) -> list[tuple[float, float]]:
    """(recon, score) along the known Pareto front, for a reference hypervolume."""
    return [final_objectives(BETA_RANGE[0] ** (1 - t) * BETA_RANGE[1] ** t, BEST_LATENT)
            for t in (i / (points - 1) for i in range(points))]  # fmt: skip


def metrics_at(config: TrialConfig, step: int) -> dict[str, Any]:
    """One report of the synthetic trial at `step`, with the keys trainables.train gives."""
    beta = config.beta
    assert beta is not None
    recon_end, score_end = final_objectives(beta, config.latent_size)
    x = position(beta)
    left = math.exp(-6.0 * step / config.steps * (0.5 + x))  # 1 at step 0, small at the end
    recon = recon_end + 300.0 * left * (1.2 - x)
    kl_per_latent = [max(0.0, 3.0 * (1.0 - x) - 0.2 * i) for i in range(config.latent_size)]
    kl = sum(kl_per_latent)
    scored = config.score_every > 0 and (step % config.score_every == 0 or step == config.steps)
    score = score_end * (1.0 - 0.6 * left) if scored else None
    return {
        "step": step,
        "recon": recon,
        "kl": kl,
        "kl_per_latent": kl_per_latent,
        "elbo": -(recon + kl),
        "loss": recon + beta * kl,
        "capacity": None,
        "score": score,
        "score_train": score,
        "score_protocol": PROTOCOL if scored else None,
        "images_per_s": None,
        "diverged": False,
    }


def train(
    config: TrialConfig,
    report: Any,
    checkpoint_dir: Path,
    resume_from: Path | None = None,
    score_progress: Any = None,  # trainables.train's contract; its scores encode nothing
) -> None:
    """Report every report_every steps (and on scoring steps and the last), checkpoint
    every checkpoint_every steps, continue after `resume_from`'s step."""
    start = 0
    if resume_from is not None:
        start = json.loads((resume_from / _STATE).read_text())["step"]
    for step in range(start + 1, config.steps + 1):
        due = [config.report_every, config.score_every, config.checkpoint_every]
        if step != config.steps and not any(e and step % e == 0 for e in due):
            continue
        fresh = None
        if step == config.steps or (
            config.checkpoint_every and step % config.checkpoint_every == 0
        ):
            fresh = checkpoint_dir / f"checkpoint_{step:06d}"
            fresh.mkdir(parents=True)
            (fresh / _STATE).write_text(json.dumps({"step": step}))
        report(metrics_at(config, step), fresh)


def run_synthetic_trial(config: dict[str, Any]) -> None:
    """The Ray Tune function of a synthetic trial (sweep.tune.run.start's `function`)."""
    from sweep.tune.trainable import run_with_tune

    run_with_tune(config, train)
