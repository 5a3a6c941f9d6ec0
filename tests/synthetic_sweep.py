"""Synthetic sweeps with known results, written exactly as the sweep writes its Parquet files.

For the report tests: each trial's last reconstruction loss and score are given, so its
frontier and best trials are known by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sweep.store.parquet import rows_to_table, write_table
from sweep.store.schema import BASELINES_SCHEMA, RESULTS_SCHEMA, TRIALS_SCHEMA
from trainables.config import TrialConfig

FACTORS = "shape,scale,orientation,posX,posY"
LOOP_PROTOCOL = f"higgins L=64 train=2000 test=1000 factors={FACTORS} classifier=softmax C=1"
FINAL_PROTOCOL = f"higgins L=64 train=10000 test=5000 factors={FACTORS} classifier=softmax C=1"
START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SyntheticTrial:
    trial_id: str
    beta: float
    latent_size: int
    recon: float  # reconstruction loss reported with the last score (nats per image)
    score: float | None  # the last score, a fraction; None: never scored
    status: str = "terminated"
    steps: int = 1000  # planned steps
    last_step: int | None = None  # where it stopped reporting (default: steps)
    kl_per_latent: tuple[float, ...] | None = None  # default: a few active latents
    checkpoint_path: str | None = None
    seed: int = 0
    active_units: int | None = None  # reported with every score
    extra: dict[str, Any] = field(default_factory=dict)  # more trials.parquet columns
    config_changes: dict[str, Any] = field(default_factory=dict)  # more TrialConfig values

    @property
    def config(self) -> TrialConfig:
        reads_beta = self.config_changes.get("model", "beta-vae") == "beta-vae"
        return TrialConfig(
            beta=self.beta if reads_beta else None,  # DC-IGN and InfoGAN have none
            latent_size=self.latent_size,
            steps=self.steps,
            seed=self.seed,
            report_every=100,
            score_every=250,
            **self.config_changes,
        )

    @property
    def end(self) -> int:
        return self.steps if self.last_step is None else self.last_step

    @property
    def kl(self) -> list[float]:
        if self.kl_per_latent is not None:
            return list(self.kl_per_latent)
        # Fewer active latents at higher β, as the paper observes.
        active = max(1, min(self.latent_size, round(8 / math.log2(self.beta + 2))))
        return [3.0 / (i + 1) if i < active else 0.01 for i in range(self.latent_size)]


def result_rows(sweep: str, trial: SyntheticTrial) -> list[dict[str, Any]]:
    """One row per report every 100 steps, scores every 250 steps and a final score."""
    config = trial.config
    base = {"sweep": sweep, "trial_id": trial.trial_id, **config.to_dict()}
    diverged = trial.status == "diverged"
    rows = []
    # Like trainables.loop: a report every report_every steps and on every scoring step.
    steps = sorted(
        {*range(config.report_every, trial.end + 1, config.report_every)}
        | {*range(config.score_every, trial.end + 1, config.score_every)}
        | {trial.end}
    )
    gan = config.model == "infogan"  # a GAN reports no reconstruction and no KL
    for step in steps:
        progress = step / trial.steps
        recon = trial.recon * (1 + 20 * math.exp(-6 * progress))
        if step == trial.end:
            recon = math.nan if diverged else trial.recon
        row = {
            **base,
            "step": step,
            "recon": recon,
            "kl": sum(trial.kl),
            "kl_per_latent": trial.kl,
            "elbo": -(recon + sum(trial.kl)),
            "loss": recon + trial.beta * sum(trial.kl),
            "diverged": diverged and step == trial.end,
            "wall_time": float(step),
            "timestamp": START + timedelta(seconds=step),
        }
        if trial.score is not None and step % config.score_every == 0 and not row["diverged"]:
            # In-loop scores rise towards the last score; the loop score at the final step is
            # deliberately off so that a reader preferring the final-protocol score shows.
            loop = trial.score * (1 - 0.4 * math.exp(-4 * progress))
            if step == trial.end and trial.status != "terminated":
                loop = trial.score
            elif step == trial.end:
                loop = max(0.0, trial.score - 0.05)
            row |= {"score": loop, "score_train": loop, "score_protocol": LOOP_PROTOCOL}
            row |= {"active_units": trial.active_units}
        if gan:
            row |= {"recon": None, "kl": None, "kl_per_latent": None, "elbo": None}
        rows.append(row)
    if trial.status == "terminated" and trial.score is not None:
        final = {**rows[-1], "wall_time": rows[-1]["wall_time"] + 0.5}
        final |= {"score": trial.score, "score_train": trial.score}
        final |= {"score_protocol": FINAL_PROTOCOL, "recon": None if gan else trial.recon}
        rows.append(final)
    return rows


def trial_row(sweep: str, trial: SyntheticTrial) -> dict[str, Any]:
    return {
        "sweep": sweep,
        "trial_id": trial.trial_id,
        **trial.config.to_dict(),
        "status": trial.status,
        "stopped_early": trial.status == "stopped-early",
        "steps_done": trial.end,
        "last_recon": None if trial.config.model == "infogan" else trial.recon,
        "last_score": trial.score,
        "checkpoint_path": trial.checkpoint_path,
        "message": "loss became NaN" if trial.status == "diverged" else None,
        "updated_at": START + timedelta(seconds=trial.end),
        **trial.extra,
    }


def write_sweep(
    directory: Path,
    trials: Sequence[SyntheticTrial],
    baselines: Sequence[dict[str, Any]] | None = None,
    parts: int = 2,
) -> Path:
    """Write <directory>/results/part-*.parquet, trials.parquet and baselines.parquet."""
    sweep = directory.name
    rows = [row for trial in trials for row in result_rows(sweep, trial)]
    for part in range(parts):  # split like the sweep's appended parts
        chunk = rows[part::parts]
        if chunk:
            write_table(
                rows_to_table(chunk, RESULTS_SCHEMA),
                directory / "results" / f"part-{part:05d}.parquet",
            )
    write_table(
        rows_to_table([trial_row(sweep, t) for t in trials], TRIALS_SCHEMA),
        directory / "trials.parquet",
    )
    if baselines is not None:
        write_table(rows_to_table(baselines, BASELINES_SCHEMA), directory / "baselines.parquet")
    return directory


PAPER_BASELINES = (
    {"model": "Ground truth", "paper_score": 100.0, "score_mean": 100.0, "score_std": 0.0},
    {
        "model": "Raw pixels",
        "paper_score": 45.75,
        "paper_std": 0.8,
        "score_mean": 47.1,
        "score_std": 1.2,
    },
    {"model": "PCA", "paper_score": 84.9, "paper_std": 0.4, "score_mean": 80.2, "score_std": 2.0},
    {
        "model": "VAE untrained",
        "paper_score": 44.14,
        "paper_std": 2.5,
        "score_mean": 43.0,
        "score_std": 3.1,
    },
)


def baseline_rows(protocol: str = FINAL_PROTOCOL) -> list[dict[str, Any]]:
    """Baseline rows in BASELINES_SCHEMA (made-up scores of ours beside the paper's)."""
    return [{**row, "seeds": 3, "protocol": protocol} for row in PAPER_BASELINES]
