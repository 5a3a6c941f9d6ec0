"""train(): one β-VAE trial, in plain PyTorch (no Ray), reporting as it goes.

Reports fall on every `report_every`-th step, on every scoring and checkpoint step (so
neither is lost when the intervals are not multiples of each other) and on the last step.
Loss columns are means over the steps since the previous report; images/s counts training
time only (not scoring, checkpointing or the caller's report callback).
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from simulators.factors import resolve_device
from trainables import checkpoint, data, scoring
from trainables.config import ConfigError, TrialConfig
from trainables.families import family
from trainables.objectives import capacity_at
from trainables.speed import Speed
from trainables.step import Interval

Report = Callable[[dict[str, Any], Path | None], None]


@dataclass
class TrainResult:
    status: str  # "completed" or "diverged"
    steps_done: int  # optimisation steps taken, counted from the run's start (not this call's)
    metrics: dict[str, Any] | None  # the last report's metrics
    checkpoint: Path | None  # the final checkpoint, if one was written and is still there
    elapsed_s: float  # wall time of this call
    message: str | None = None  # why the trial diverged


def train(
    config: TrialConfig,
    report: Report | None = None,
    checkpoint_dir: Path | None = None,
    resume_from: Path | None = None,
    *,
    speed: Speed | None = None,
    score_progress: scoring.ScoreProgress | None = None,
) -> TrainResult:
    """Train one trial. See README.md ("One trial") for the report and checkpoint contract.

    report(metrics, checkpoint): metrics has the keys of sweep.store.schema.METRIC_COLUMNS (plus
    `message` when diverged); checkpoint is a fresh checkpoint directory on checkpoint
    steps, else None. checkpoint_dir: where checkpoints go (none are written without it);
    only the newest one this call wrote is kept. resume_from: a checkpoint directory to
    continue from. speed: execution settings (default: Speed.auto for the device).
    score_progress(protocol, encoded, total): told of every batch of images a score encodes
    (scoring takes minutes at the paper's protocol on a CPU; a caller shows it).
    """
    started = time.perf_counter()
    device = device_of(config)
    speed = speed if speed is not None else Speed.auto(device, config.architecture)
    state, start = None, 0
    if resume_from is not None:
        state = checkpoint.resume_point(resume_from, config, device)
        start = state["step"]
    sim = data.simulator(str(device), config.npz, _should_materialize(config, device, start))

    kind = family(config)
    model = kind.build(config, device=device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = kind.optimizer(config, model, speed)
    batches = kind.batches(sim, config)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        batches.restore(state["rng"]["batches"])
    model.train()
    stepper = kind.stepper(config, model, optimizer, batches, speed, start)

    metrics: dict[str, Any] | None = None
    written: Path | None = None  # the newest checkpoint this call wrote
    clock = time.perf_counter()
    for step in range(start + 1, config.steps + 1):
        stepper.step()
        if not _is_report_step(config, step, checkpoint_dir is not None):
            continue
        interval = stepper.drain()  # the one host synchronisation per report
        images_per_s = interval.steps * config.batch_size / (time.perf_counter() - clock)
        if interval.first_bad_step is not None:
            metrics = _diverged_metrics(config, interval, images_per_s)
            if report is not None:
                report(metrics, None)
            kept = written if written is not None and written.exists() else None
            return TrainResult(
                "diverged", step, metrics, kept, time.perf_counter() - started, metrics["message"]
            )
        metrics = _metrics(config, step, interval, images_per_s)
        final = step == config.steps
        if final or config.is_score_step(step):
            protocol = config.final_score_protocol if final else config.loop_score_protocol
            metrics.update(
                scoring.score(sim, model, protocol, config.seed, progress=score_progress)
            )
        fresh = None
        if checkpoint_dir is not None and (final or step % config.checkpoint_every == 0):
            fresh = checkpoint.save(
                Path(checkpoint_dir) / f"step-{step:09d}",
                config=config,
                step=step,
                model=model,
                optimizer=optimizer,
                rng={"batches": batches.state()},
            )
        if report is not None:
            report(metrics, fresh)
        if fresh is not None:
            # Keep disk use flat: the caller has had its chance to persist the older one.
            if written is not None and written != fresh and written.exists():
                shutil.rmtree(written, ignore_errors=True)
            written = fresh
        clock = time.perf_counter()
    kept = written if written is not None and written.exists() else None
    return TrainResult("completed", config.steps, metrics, kept, time.perf_counter() - started)


def device_of(config: TrialConfig) -> torch.device:
    """The device the trial trains on, or a ConfigError if it is not available here."""
    try:
        return resolve_device(config.resolved_device)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _should_materialize(config: TrialConfig, device: torch.device, start: int) -> bool:
    """Whether this trial renders enough images to pay for materialising the data set."""
    if device.type != "cpu":
        return True  # on a GPU a gather beats a rasteriser's dozen kernel launches per batch
    loop_scores = sum(config.is_score_step(s) for s in _score_candidates(config, start))
    images = (config.steps - start) * config.batch_size
    images += loop_scores * scoring.images_per_score(config.loop_score_protocol)
    images += scoring.images_per_score(config.final_score_protocol)
    return images >= data.MATERIALIZE_MIN_IMAGES


def _score_candidates(config: TrialConfig, start: int) -> range:
    """The multiples of score_every after `start` (the steps that may be scoring steps)."""
    if not config.score_every:
        return range(0)
    first = (start // config.score_every + 1) * config.score_every
    return range(first, config.steps + 1, config.score_every)


def _is_report_step(config: TrialConfig, step: int, checkpoints: bool) -> bool:
    return (
        step == config.steps
        or step % config.report_every == 0
        or config.is_score_step(step)
        or (checkpoints and step % config.checkpoint_every == 0)
    )


def _metrics(
    config: TrialConfig, step: int, interval: Interval, images_per_s: float
) -> dict[str, Any]:
    return _row(config, step, interval.terms, interval.kl_per_latent, images_per_s, diverged=False)


def _diverged_metrics(
    config: TrialConfig, interval: Interval, images_per_s: float
) -> dict[str, Any]:
    """The report of a diverged trial: the first non-finite step's values, NaN/inf as None."""
    step = interval.first_bad_step
    assert step is not None

    def finite(v: float) -> float | None:
        return v if math.isfinite(v) else None

    terms = {k: finite(v) for k, v in interval.bad_terms.items()}
    bad_kl = interval.bad_kl_per_latent
    per_latent = None if bad_kl is None else [finite(v) for v in bad_kl]
    shown = ", ".join(f"{name}={value:.4g}" for name, value in interval.bad_terms.items())
    what = f"β={config.beta:g}, " if config.beta is not None else f"{config.model}, "
    message = (
        f"diverged: non-finite loss at step {step} ({shown}; {what}"
        f"{config.optimizer} lr={config.learning_rate:g}); try a lower learning rate"
    )
    row = _row(config, step, terms, per_latent, images_per_s, diverged=True)
    return {**row, "message": message}


def _row(
    config: TrialConfig,
    step: int,
    terms: dict[str, float | None],
    kl_per_latent: list[float] | None,
    images_per_s: float,
    *,
    diverged: bool,
) -> dict[str, Any]:
    """A report's metrics from a family's loss terms at `step` (trainables.step.Interval)."""
    recon, kl = terms.get("recon"), terms.get("kl")
    own = {k: v for k, v in terms.items() if k not in ("loss", "recon", "kl")}
    return {
        "step": step,
        "recon": recon,
        "kl": kl,
        "kl_per_latent": kl_per_latent,
        "elbo": None if recon is None or kl is None else -(recon + kl),
        "loss": terms.get("loss"),
        "losses": own or None,
        "capacity": capacity_at(config, step) if config.objective == "capacity" else None,
        "score": None,
        "score_train": None,
        "score_protocol": None,
        "active_units": None,
        "images_per_s": images_per_s,
        "diverged": diverged,
    }
