"""TrialConfig: the one description of a trial.

The CLI (`sweep train`, the pass-through options of `sweep run`), the Tune search space
and the Parquet columns are all derived from these fields and their metadata, so a new
knob is added here once. Every field carries a `help` string; fields a sweep may search
over carry `searchable=True`; `aliases` are extra CLI spellings.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

INPUT_SIZE = 64 * 64
# What a trial trains (trainables.families). DC-IGN and InfoGAN are the paper's comparison
# models: neither reads β, β_norm or the objective (they are null in their configs).
MODELS = ("beta-vae", "dcign", "infogan")
ARCHITECTURES = ("mlp", "conv")
OBJECTIVES = ("beta", "capacity")
OPTIMIZERS = ("adam", "adagrad")
# The optimiser follows the architecture (the paper's dSprites mlp trains with Adagrad,
# Burgess et al.'s conv model with Adam); the rate follows the optimiser and, where the
# papers tie them, the architecture, so no combination trains at another optimiser's rate.
# Adagrad: the paper's 1e-2 on its mlp; on the conv model 1e-2 diverged at step 3 (Adagrad's
# first steps move every weight by about the rate), 3e-3 trained like Adam (measured,
# 100 steps, batch 32, β = 4). Adam: 5e-4, the top of Burgess et al.'s 1e-4 to 5e-4.
DEFAULT_OPTIMIZER = {"mlp": "adagrad", "conv": "adam"}
DEFAULT_LEARNING_RATE = {
    ("mlp", "adagrad"): 1e-2,
    ("mlp", "adam"): 5e-4,
    ("conv", "adagrad"): 3e-3,
    ("conv", "adam"): 5e-4,
}
# C reaches C_max at this fraction of the trial's steps unless capacity_steps is given:
# Burgess et al. let C reach C_max during training and then train on at C_max; a fixed
# 100,000-step ramp would leave a 1,000-step trial at C = 0.25 nats, its KL pinned near 0.
CAPACITY_RAMP_FRACTION = 0.5
DEFAULT_BETA = 4.0
# DC-IGN has one latent group per dSprites factor (5); InfoGAN's codes are a 3-way
# categorical code for shape (its 3 class probabilities) plus at least one continuous code.
MIN_LATENT_SIZE = {"dcign": 5, "infogan": 4}
# InfoGAN (Chen et al. 2016): Adam with β1 = 0.5 at 2e-4 for the discriminator and Q head
# (the trial's learning_rate) and 5 times that, 1e-3, for the generator.
INFOGAN_LEARNING_RATE = 2e-4


class ConfigError(ValueError):
    """A TrialConfig value is out of its domain; the message names the field."""


def _field(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


def beta_to_norm(beta: float, latent_size: int) -> float:
    """β_norm = β·M/N with N = 64·64 input pixels (the paper's Figure 6 axis)."""
    return beta * latent_size / INPUT_SIZE


def norm_to_beta(beta_norm: float, latent_size: int) -> float:
    return beta_norm * INPUT_SIZE / latent_size


@dataclass(frozen=True)
class TrialConfig:
    model: str = _field(
        "beta-vae",
        "beta-vae; dcign (Kulkarni et al.: batches vary one factor, the other factors' latent "
        "groups are clamped; trains the VAE bound) or infogan (Chen et al.: generator, "
        "discriminator and Q head; conv only). Neither reads β or the objective.",
    )
    beta: float | None = _field(None, "β, the KL weight (β = 1 is the plain VAE).", searchable=True)
    beta_norm: float | None = _field(
        None, "Normalised β = β·M/4096; give β or β_norm, the other is derived.", searchable=True
    )
    latent_size: int = _field(10, "Latent size M.", searchable=True, aliases=("--latent",))
    architecture: str = _field("conv", "mlp (the paper's dSprites model) or conv (Burgess et al.).")
    objective: str | None = _field(
        "beta", "beta: recon + β·KL; capacity: recon + γ·|KL − C| (model beta-vae only)."
    )
    gamma: float = _field(1000.0, "γ of the capacity objective.")
    capacity_max: float = _field(25.0, "C_max (nats) of the capacity objective.")
    capacity_steps: int | None = _field(
        None,
        "Steps over which C rises linearly from 0 to C_max, then stays there.",
        default_text=f"{CAPACITY_RAMP_FRACTION:g} × --steps",
    )
    optimizer: str | None = _field(
        None, "adam or adagrad.", default_text="adagrad for mlp, adam for conv"
    )
    learning_rate: float | None = _field(
        None,
        "Learning rate.",
        default_text="by optimiser: adagrad 1e-2 (conv 3e-3), adam 5e-4",
    )
    batch_size: int = _field(64, "Images per training step.")
    steps: int = _field(10_000, "Training steps.")
    seed: int = _field(0, "Seed of initialisation, batches and the metric.")
    report_every: int = _field(100, "Report losses every N steps.")
    score_every: int = _field(1000, "Score disentanglement every N steps (0: only at the end).")
    score_growth: int = _field(
        1,
        "Score at score_every·g^k steps (k = 0, 1, …) only, plus the last; 1: every "
        "score_every steps. In a sweep, g = ASHA's reduction factor scores only its rungs.",
    )
    loop_score_protocol: str = _field("fast", "Higgins protocol while training (metrics.higgins).")
    final_score_protocol: str = _field("paper", "Higgins protocol of the final report.")
    checkpoint_every: int = _field(1000, "Write a checkpoint every N steps (and at the end).")
    device: str = _field("auto", "cpu, cuda, cuda:N or auto (cuda when available).")
    npz: str | None = _field(None, "Train on the real dSprites archive at this path.")

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: derived values are filled in once, here
        _check_choice("model", self.model, MODELS)
        _check_choice("architecture", self.architecture, ARCHITECTURES)
        _check_int("latent_size", self.latent_size, MIN_LATENT_SIZE.get(self.model, 1))
        if self.model == "beta-vae":
            _check_choice("objective", self.objective, OBJECTIVES)
            self._resolve_beta()
        else:
            self._resolve_comparison_model()
        if self.optimizer is None:
            set_(self, "optimizer", _default_optimizer(self.model, self.architecture))
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        if self.learning_rate is None:
            set_(
                self,
                "learning_rate",
                _default_learning_rate(self.model, self.architecture, self.optimizer),
            )
        set_(self, "learning_rate", _positive("learning_rate", self.learning_rate))
        for name in ("gamma", "capacity_max"):
            set_(self, name, _positive(name, getattr(self, name), allow_zero=True))
        _check_int("batch_size", self.batch_size, 2)
        _check_int("steps", self.steps, 1)
        if self.capacity_steps is None:  # resolved once, so files and checkpoints say it
            set_(self, "capacity_steps", max(1, round(CAPACITY_RAMP_FRACTION * self.steps)))
        _check_int("capacity_steps", self.capacity_steps, 1)
        _check_int("seed", self.seed, 0)
        _check_int("report_every", self.report_every, 1)
        _check_int("score_every", self.score_every, 0)
        _check_int("score_growth", self.score_growth, 1)
        _check_int("checkpoint_every", self.checkpoint_every, 1)
        _check_device(self.device)
        _check_protocol("loop_score_protocol", self.loop_score_protocol)
        _check_protocol("final_score_protocol", self.final_score_protocol)

    def _resolve_beta(self) -> None:
        """β and β_norm = β·M/4096: either given (or the default β), the other derived."""
        beta, beta_norm = self.beta, self.beta_norm
        if beta is None and beta_norm is None:
            beta = DEFAULT_BETA
        if beta is not None:
            beta = _positive("beta", beta)
            derived = beta_to_norm(beta, self.latent_size)
            if beta_norm is not None and not math.isclose(
                _positive("beta_norm", beta_norm), derived, rel_tol=1e-9
            ):
                raise ConfigError(
                    f"beta={beta} and beta_norm={beta_norm} disagree for latent_size="
                    f"{self.latent_size} (beta_norm would be {derived:.6g}); give only one"
                )
            beta_norm = derived
        else:
            beta_norm = _positive("beta_norm", beta_norm)
            beta = norm_to_beta(beta_norm, self.latent_size)
        object.__setattr__(self, "beta", beta)
        object.__setattr__(self, "beta_norm", beta_norm)

    def _resolve_comparison_model(self) -> None:
        """DC-IGN and InfoGAN read neither β nor the objective: a value given for either is
        refused rather than silently ignored, and both are null in the trial's files."""
        for name in ("beta", "beta_norm"):
            if getattr(self, name) is not None:
                raise ConfigError(f"{name} is not used by model {self.model}: leave it out")
        if self.objective not in (None, "beta"):  # "beta" is the field's default
            raise ConfigError(
                f"objective {self.objective!r} is not used by model {self.model}: leave it out"
            )
        object.__setattr__(self, "objective", None)
        if self.model == "infogan":
            if self.architecture != "conv":
                raise ConfigError(
                    "model infogan has the conv architecture only (its generator and "
                    "discriminator mirror the conv VAE's decoder and encoder)"
                )
            if self.optimizer not in (None, "adam"):
                raise ConfigError(
                    f"model infogan trains with adam (Chen et al.); got {self.optimizer!r}"
                )

    def replace(self, **changes: Any) -> TrialConfig:
        """A copy with `changes`; changing β (or M) re-derives β_norm, and the reverse."""
        values = self.to_dict()
        if "beta" in changes and "beta_norm" not in changes:
            values["beta_norm"] = None
        elif "beta_norm" in changes and "beta" not in changes:
            values["beta"] = None
        elif "latent_size" in changes:
            values["beta_norm"] = None  # keep β; β_norm follows M
        values.update(changes)
        return TrialConfig.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrialConfig:
        """Build from a mapping (a Tune config, a checkpoint), rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown TrialConfig field(s): {', '.join(unknown)}")
        return cls(**values)

    def is_score_step(self, step: int) -> bool:
        """Whether the loop scores at `step` before the last one (which is always scored)."""
        if not self.score_every or step % self.score_every:
            return False
        multiple = step // self.score_every
        if self.score_growth == 1:
            return True
        while multiple % self.score_growth == 0:  # a power of the growth factor?
            multiple //= self.score_growth
        return multiple == 1

    @property
    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


def _default_optimizer(model: str, architecture: str) -> str:
    return "adam" if model == "infogan" else DEFAULT_OPTIMIZER[architecture]


def _default_learning_rate(model: str, architecture: str, optimizer: str) -> float:
    if model == "infogan":
        return INFOGAN_LEARNING_RATE
    return DEFAULT_LEARNING_RATE[architecture, optimizer]


def config_fields() -> tuple[dataclasses.Field, ...]:
    """The fields with their metadata (help, searchable) for deriving CLIs and schemas."""
    return dataclasses.fields(TrialConfig)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer ≥ {minimum}; got {value!r}")


def _positive(name: str, value: Any, allow_zero: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number; got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a finite number {bound}; got {value!r}")
    return number


def _check_protocol(name: str, value: Any) -> None:
    # Imported on first use, not with this module: sweep.store.schema imports this module for its
    # field list and must stay quick to import (the metric pulls in torch).
    from metrics.higgins import PROTOCOLS

    if value not in PROTOCOLS:
        raise ConfigError(f"{name} must be one of {', '.join(PROTOCOLS)}; got {value!r}")


def _check_device(device: Any) -> None:
    if not isinstance(device, str):
        raise ConfigError(f"device must be a string; got {device!r}")
    if device in ("auto", "cpu", "cuda"):
        return
    if device.startswith("cuda:") and device[5:].isdigit():
        return
    raise ConfigError(f"device must be auto, cpu, cuda or cuda:N; got {device!r}")
