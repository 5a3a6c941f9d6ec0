"""`sweep train`: run one trial directly (no Ray), with a progress bar.

Writes DIR/results.parquet (RESULTS_SCHEMA, rewritten atomically at every report, so a
crash leaves the reports so far) and DIR/checkpoint (the final checkpoint); the newest
intermediate checkpoint lives in DIR/checkpoints/ while the trial runs, for --resume.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from sweep.cli.config_options import trial_options
from sweep.cli.paths import check_npz
from sweep.errors import fail

SWEEP_NAME = "train"


@trial_options()
def train_command(
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Directory for results.parquet and the checkpoint (default: ./out/train-ID).",
    ),
    resume: Path | None = typer.Option(
        None, "--resume", help="Continue the run of this checkpoint directory."
    ),
    *,
    trial: dict,
) -> None:
    """Train one β-VAE trial and write its reports (Parquet) and final checkpoint."""
    from trainables.checkpoint import CheckpointError, resume_point
    from trainables.config import ConfigError, TrialConfig
    from trainables.loop import device_of
    from trainables.speed import Speed

    # Everything the user gave is checked before anything is written (train() checks the
    # same again; a checkpoint is read twice, which is cheap next to training).
    try:
        if trial.get("npz") is not None:
            trial["npz"] = check_npz(trial["npz"])
        config = TrialConfig.from_dict(trial)
        device = device_of(config)
        Speed.auto(device, config.architecture)  # a bad BETASWEEP_SPEED fails here, not later
        if resume is not None:
            resume_point(resume, config, device)
    except (ConfigError, CheckpointError, ValueError) as error:
        fail(str(error))
    trial_id = uuid.uuid4().hex[:8]
    out = out if out is not None else Path("out") / f"train-{trial_id}"
    _check_out_dir(out)
    _run(config, str(device), out, trial_id, resume)


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file, not a directory")
    if out.is_dir() and any(out.iterdir()):
        fail(f"--out {out} is not empty; give a new directory")
    parent = out.parent if str(out.parent) else Path(".")
    existing = next((p for p in (parent, *parent.parents) if p.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        fail(f"--out {out}: {existing} is not a writable directory")


def _run(config: Any, device: str, out: Path, trial_id: str, resume: Path | None) -> None:
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from sweep.store.parquet import rows_to_table, write_table
    from sweep.store.schema import RESULTS_SCHEMA
    from trainables.loop import train

    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    node = socket.gethostname()
    started = time.perf_counter()
    # Two lines: training steps, and (while a score runs) images encoded of the score's total;
    # the paper's protocol encodes ~0.7 M images, minutes on a CPU after seconds of training.
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )

    def report(metrics: dict[str, Any], checkpoint: Path | None) -> None:
        row = {k: v for k, v in metrics.items() if k != "message"}
        row.update(config.to_dict(), sweep=SWEEP_NAME, trial_id=trial_id, node=node)
        row["wall_time"] = time.perf_counter() - started
        row["timestamp"] = dt.datetime.now(dt.UTC)
        rows.append(row)
        write_table(rows_to_table(rows, RESULTS_SCHEMA), out / "results.parquet")
        progress.update(task, completed=metrics["step"], status=_status(metrics))
        progress.update(score_task, visible=False)  # the score (if any) is in the status now

    with progress:
        task = progress.add_task(
            f"[bold]train[/] {_what(config)} M={config.latent_size}",
            total=config.steps,
            completed=0,
            status=f"on {device}",
        )
        score_task = progress.add_task("score", total=1, visible=False, status="")
        result = train(
            config,
            report=report,
            checkpoint_dir=out / "checkpoints",
            resume_from=resume,
            score_progress=score_progress(progress, score_task),
        )
    final = None
    if result.checkpoint is not None:
        final = out / "checkpoint"
        os.replace(result.checkpoint, final)
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
    typer.echo(f"results: {out / 'results.parquet'}" + (f"; checkpoint: {final}" if final else ""))
    if result.status == "diverged":
        typer.echo(f"sweep: {result.message}", err=True)
        raise typer.Exit(1)
    m = result.metrics or {}
    typer.echo(
        f"completed {result.steps_done:,} steps in {result.elapsed_s:.1f} s: {_losses(m)} "
        f"score={m['score']:.4f}{_active(m, config.latent_size)} ({m['score_protocol']})"
    )


def score_progress(progress: Any, task: Any) -> Callable[[str, int, int], None]:
    """trainables.train's score_progress, shown as the rich progress line `task`."""

    def update(protocol: str, encoded: int, total: int) -> None:
        if encoded == 0:  # a new score: restart the clock, so the time left is the score's
            progress.reset(task, total=total, visible=True, description=f"score {protocol}")
        status = "images encoded" if encoded < total else "fitting the classifier"
        progress.update(task, completed=encoded, status=status)

    return update


def _active(metrics: dict[str, Any], latent_size: int) -> str:
    """Active units beside the score: a collapsed model (0) must score at chance."""
    units = metrics.get("active_units")
    return "" if units is None else f" active_units={units}/{latent_size}"


def _status(metrics: dict[str, Any]) -> str:
    parts = [f"loss {metrics['loss']:.1f}" if metrics["loss"] is not None else "loss nan"]
    if metrics.get("score") is not None:
        parts.append(f"score {metrics['score']:.3f}")
    parts.append(f"{metrics['images_per_s']:,.0f} img/s")
    return "  ".join(parts)


def _losses(metrics: dict[str, Any]) -> str:
    """recon and KL where the model has them (VAEs), then the model's own terms."""
    terms = {k: metrics.get(k) for k in ("recon", "kl")}
    terms.update(metrics.get("losses") or {})
    return " ".join(f"{k}={v:.2f}" for k, v in terms.items() if v is not None)


def _what(config: Any) -> str:
    """β for a β-VAE, the model's name for DC-IGN and InfoGAN (which read no β)."""
    return f"β={config.beta:g}" if config.model == "beta-vae" else config.model
