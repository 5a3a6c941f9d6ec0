"""One optimisation step, executed without host synchronisation.

Everything a step produces stays on the device: the loss terms are summed into an
accumulator and the first non-finite step is remembered there, so a step never waits for
the GPU; the loop reads the device state once per report (`drain`). On CUDA this is what
lets kernels queue ahead of Python; on CPU it costs a few tiny ops per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from trainables.config import TrialConfig
from trainables.data import Batches
from trainables.families import Family
from trainables.models import build_model
from trainables.objectives import capacity_at, objective
from trainables.speed import Speed

# Layout of the per-step statistics vector: loss, recon, kl, then KL per latent.
TERMS = ("loss", "recon", "kl")


def make_optimizer(config: TrialConfig, model: nn.Module, speed: Speed) -> torch.optim.Optimizer:
    # fused=None (not False) lets PyTorch pick its foreach implementation when not fused.
    fused = True if speed.fused_optimizer else None
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=fused)
    if config.optimizer == "adagrad":
        return torch.optim.Adagrad(model.parameters(), lr=config.learning_rate, fused=fused)
    raise ValueError(f"unknown optimizer {config.optimizer!r}")  # TrialConfig validates


@dataclass
class Interval:
    """What the steps since the last drain did, read back to the host: the contract between
    every model family's stepper and the training loop (trainables.families)."""

    steps: int
    # Means over the interval of the family's loss terms by name: always "loss" (what the
    # family minimises; the generator's objective for a GAN), "recon" and "kl" where the
    # model has them (the loop derives the ELBO from those two), any others the family's own.
    terms: dict[str, float]
    kl_per_latent: list[float] | None  # KL per latent (interval means), VAEs only
    first_bad_step: int | None  # first step whose loss terms were not finite
    bad_terms: dict[str, float]  # the loss terms of that step (empty if none)
    bad_kl_per_latent: list[float] | None = None  # and its KL per latent (VAEs)


class StepStats:
    """A stepper's per-step statistics, kept on the device: the step counter, the sums of
    the statistics over the interval, and the first non-finite step with its values, so
    that a step never waits for the device. drain() reads them back once per report.

    A statistics vector holds the named loss terms (`names`, "loss" first), then any
    per-latent KL values.
    """

    def __init__(self, names: tuple[str, ...], width: int, device: torch.device, step: int):
        self.names = names
        self.step_t = torch.tensor(step, dtype=torch.long, device=device)
        self.sums = torch.zeros(width, dtype=torch.float64, device=device)
        self.first_bad = torch.tensor(-1, dtype=torch.long, device=device)
        self.bad_values = torch.zeros(width, dtype=torch.float32, device=device)
        self.steps = 0

    def record(self, stats: torch.Tensor) -> None:
        """Add one step's statistics (the step counter already advanced for it)."""
        finite = torch.isfinite(stats[: len(self.names)]).all()
        newly_bad = finite.logical_not() & (self.first_bad < 0)
        self.first_bad.copy_(torch.where(newly_bad, self.step_t, self.first_bad))
        self.bad_values.copy_(torch.where(newly_bad, stats, self.bad_values))
        self.sums += stats
        self.steps += 1

    def drain(self) -> Interval:
        """Read the interval's statistics (one synchronisation) and start a new interval."""
        width, n = len(self.names), max(self.steps, 1)
        means = [value / n for value in self.sums.tolist()]
        first_bad = int(self.first_bad)
        bad = self.bad_values.tolist() if first_bad >= 0 else None
        interval = Interval(
            steps=self.steps,
            terms=dict(zip(self.names, means[:width], strict=True)),
            kl_per_latent=means[width:] or None,
            first_bad_step=first_bad if first_bad >= 0 else None,
            bad_terms={} if bad is None else dict(zip(self.names, bad[:width], strict=True)),
            bad_kl_per_latent=None if bad is None else bad[width:] or None,
        )
        self.sums.zero_()
        self.steps = 0
        return interval


class Stepper:
    def __init__(
        self,
        config: TrialConfig,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        batches: Batches,
        speed: Speed,
        step: int,
    ):
        self.config = config
        self.model = model
        self.optimizer = optimizer
        self.batches = batches
        self.speed = speed
        self.device = next(model.parameters()).device
        self.stats = StepStats(TERMS, len(TERMS) + config.latent_size, self.device, step)
        self.core = self._core
        if speed.compile:
            self.core = torch.compile(self._core, mode=speed.compile)
        self._mark_cudagraph_step = speed.compile in ("reduce-overhead", "max-autotune")

    def _core(
        self, images: torch.Tensor, noise: torch.Tensor, capacity: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.speed.bf16):
            logits, mu, logvar = self.model(images, noise)
        terms = objective(self.config, logits, images, mu, logvar, capacity)
        stats = torch.cat(
            [
                terms.loss.reshape(1),
                terms.recon.reshape(1),
                terms.kl.reshape(1),
                terms.kl_per_latent,
            ]
        )
        return terms.loss, stats.detach()

    def capacity(self) -> torch.Tensor | None:
        """C for the step being taken (the capacity objective only), computed on the device."""
        if self.config.objective != "capacity":
            return None
        return capacity_at(self.config, self.stats.step_t.double()).float()

    def step(self) -> None:
        images, noise = self.batches.next()
        if self.speed.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        if self._mark_cudagraph_step:
            # The previous step's graph outputs are consumed; let CUDA graphs reuse them.
            torch.compiler.cudagraph_mark_step_begin()
        self.stats.step_t += 1
        loss, stats = self.core(images, noise, self.capacity())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.stats.record(stats)

    def drain(self) -> Interval:
        return self.stats.drain()


def _batches(sim, config: TrialConfig) -> Batches:
    return Batches(sim, config.batch_size, config.latent_size, config.seed)


FAMILY = Family(build=build_model, optimizer=make_optimizer, batches=_batches, stepper=Stepper)
