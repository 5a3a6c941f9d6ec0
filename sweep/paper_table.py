"""The paper's table beside ours: compute its rows over seeds, and format them.

It sits above metrics/ and trainables/ (metrics/ imports neither): the reference rows are
metrics.baselines' encode functions, the "VAE untrained" row is a trainables model at its
initialisation, and the trained rows train a model with trainables.train and take its
final score. Rows are plain dicts with the columns of sweep.store.schema.BASELINES_SCHEMA
(scores in percent, active units per seed), so that the CLI writes them and anything
else can print or plot them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from metrics import baselines, higgins
from trainables import scoring

Progress = Callable[[str], None]


def untrained_vae(sim, seed: int, architecture: str = "mlp", latent_size: int = 10):
    """The "VAE untrained" row: the encoder means of a freshly initialised β-VAE."""
    return scoring.untrained_encoder(sim, seed, architecture, latent_size)


# The rows computed by scoring an encode function, by the paper's model name.
BUILDERS: dict[str, Callable[..., Any]] = {**baselines.BUILDERS, "VAE untrained": untrained_vae}


def compute_row(
    sim,
    model: str,
    seeds: Sequence[int],
    protocol: dict[str, Any],
    build_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """One row: `model`'s encoder built and scored afresh for every seed."""
    build = BUILDERS[model]
    scores, units, description = [], [], None
    for seed in seeds:
        started = time.perf_counter()
        encode = build(sim, seed, **(build_options or {}))
        result = higgins.score(sim, encode, **protocol, seed=seed)
        scores.append(100.0 * result["test_accuracy"])
        units.append(result["active_units"])
        description = result["protocol"]
        if progress is not None:
            seconds = time.perf_counter() - started
            progress(
                f"{model}, seed {seed}: {scores[-1]:.2f}%, active units {units[-1]} "
                f"({seconds:.1f} s)"
            )
    return _row(model, scores, units, description)


# The paper's trained rows: the TrialConfig fields each trains with (10 latents, the
# trial's defaults otherwise); trained by trainables.train on request (`steps` > 0). The
# VAE rows use the architecture asked for (the paper's dSprites model is the mlp); DC-IGN
# and InfoGAN are convolutional in their papers, so they train the conv networks.
TRAINED_ROWS: dict[str, dict[str, Any]] = {
    "DC-IGN": {"model": "dcign", "architecture": "conv"},
    "InfoGAN": {"model": "infogan", "architecture": "conv"},
    "VAE (β = 1)": {"beta": 1.0},
    "β-VAE (β = 4, 10 latents)": {"beta": 4.0},
}


def compute_trained_row(
    model: str,
    seeds: Sequence[int],
    protocol_name: str,
    *,
    steps: int,
    architecture: str = "mlp",
    device: str = "cpu",
    npz: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """One trained row: a 10-latent model (TRAINED_ROWS) trained `steps` steps per seed,
    then scored.

    The score is the training run's final report, which trainables.train computes with
    the Higgins metric under `protocol_name` and the trial's seed. A seed whose training
    diverges is left out of the row (and said so through `progress`).
    """
    from trainables import TrialConfig, train

    scores, units, description = [], [], None
    for seed in seeds:
        started = time.perf_counter()
        config = TrialConfig(
            **{"architecture": architecture, **TRAINED_ROWS[model]},
            latent_size=10,
            steps=steps,
            seed=seed,
            score_every=0,
            final_score_protocol=protocol_name,
            device=device,
            npz=npz,
        )
        result = train(config)
        seconds = time.perf_counter() - started
        if result.status != "completed" or result.metrics is None:
            if progress is not None:
                progress(f"{model}, seed {seed}: left out, {result.message} ({seconds:.1f} s)")
            continue
        scores.append(100.0 * result.metrics["score"])
        units.append(result.metrics.get("active_units"))
        description = (
            f"{result.metrics['score_protocol']}; trained {config.model} {config.architecture} "
            f"{steps} steps"
        )
        if progress is not None:
            kl = result.metrics["kl"]
            progress(
                f"{model}, seed {seed}: {scores[-1]:.2f}%, active units {units[-1]}"
                + ("" if kl is None else f", kl {kl:.2f}")
                + f" ({seconds:.1f} s)"
            )
    return _row(model, scores, units, description)


def _row(
    model: str, scores: list[float], units: list[int | None], description: str | None
) -> dict[str, Any]:
    paper = baselines.paper_row(model)
    return {
        "model": model,
        "paper_score": None if paper is None else paper.score,
        "paper_std": None if paper is None else paper.std,
        "score_mean": statistics.fmean(scores) if scores else None,
        "score_std": statistics.stdev(scores) if len(scores) > 1 else None,
        "seeds": len(scores),
        "scores": scores,
        "active_units": units,
        "protocol": description,
    }


def _percent(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "—"
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def _units(row: dict[str, Any] | None) -> str:
    if row is None or not row.get("active_units"):
        return ""
    return ",".join("—" if u is None else str(u) for u in row["active_units"])


def format_table(rows: Sequence[dict[str, Any]], protocol_name: str) -> str:
    """The paper's rows in its order with ours beside them, then the protocols used."""
    ours = {row["model"]: row for row in rows}
    header = ("model", "paper (%)", "ours (%)", "seeds", "active units", "protocol")
    lines = []
    for paper in baselines.PAPER_TABLE:
        row = ours.get(paper.model)
        lines.append(
            (
                paper.model,
                _percent(paper.score, paper.std),
                "not computed" if row is None else _percent(row["score_mean"], row["score_std"]),
                "" if row is None else str(row["seeds"]),
                _units(row),
                "" if row is None else protocol_name,
            )
        )
    extra = [row for row in rows if baselines.paper_row(row["model"]) is None]
    for row in extra:  # rows the paper does not have
        lines.append(
            (
                row["model"],
                "—",
                _percent(row["score_mean"], row["score_std"]),
                str(row["seeds"]),
                _units(row),
                protocol_name,
            )
        )
    widths = [max(len(line[i]) for line in (header, *lines)) for i in range(len(header))]
    rendered = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (header, *lines)
    ]
    descriptions = sorted({row["protocol"] for row in rows if row["protocol"]})
    rendered += [f"{protocol_name}: {text}" for text in descriptions]
    return "\n".join(rendered)
