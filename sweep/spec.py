"""SweepSpec: the one description of a sweep.

`sweep run` parses its options into a SweepSpec and validates all of it here, before Ray
starts; the Tune search space (sweep.tune.space), the trials' TrialConfigs and the
sweep.json saved beside the Parquet files all derive from it. Pure Python: no Ray.

Step bookkeeping, chosen so ASHA always compares fresh numbers: ASHA's rungs sit at
grace·rf^k steps (rf an integer), so when a trial scores and checkpoints every
`grace_steps` (the default) every rung falls on a step that was scored and checkpointed,
and a pruned trial stops exactly where its last checkpoint is.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sweep.domains import Domain, parse_domain
from sweep.errors import fail
from sweep.store.schema import METRIC_COLUMNS
from trainables.config import ConfigError, TrialConfig

METRICS = {"score": "max", "recon": "min", "elbo": "max"}  # what ASHA (and Optuna) optimise
# A frontier sweep (--metric recon,score) searches two or three of these at once, each in
# its known direction: kl is the rate of the rate–distortion trade-off (recon its
# distortion), active_units the latents the model uses (reported by the trainer where
# that column exists).
OBJECTIVES = {**METRICS, "kl": "min", "active_units": "max"}
FRONTIER_SIZES = (2, 3)
# Objectives only a VAE reports (InfoGAN has no reconstruction or KL).
_VAE_ONLY_OBJECTIVES = ("recon", "elbo", "kl")
# The key reported to Tune for each metric (sweep.tune.trainable.tune_payload). The score
# is measured only every score_every steps, so Tune gets the latest measured one carried
# forward (NaN before the first); the Parquet files keep the true per-step `score`, null
# where it was not measured. The keys are always floats, NaN where a value is unknown.
TUNE_METRIC_KEYS = {
    "score": "latest_score",
    "recon": "latest_recon",
    "elbo": "latest_elbo",
    "kl": "latest_kl",
    "active_units": "latest_active_units",
}
SEARCHES = ("optuna", "random", "grid", "nsga2")
FRONTIER_ONLY_SEARCHES = ("nsga2",)  # Optuna's NSGA-II: multi-objective by nature
# Experiment trackers a sweep can report to besides its Parquet files (sweep.tune.trackers).
TRACKERS = ("tensorboard", "mlflow", "wandb")
# Which trial checkpoints a sweep keeps (sweep.tune.retention explains each and the race).
KEEP_CHECKPOINTS = ("all", "best", "last")
DEFAULT_KEEP_CHECKPOINTS = "best"
# The sweep sets these TrialConfig fields itself; they are not trial pass-through options.
SWEEP_OWNED_FIELDS = (
    "beta",
    "beta_norm",
    "latent_size",
    "steps",
    "seed",
    "device",
    "capacity_max",
    "gamma",
)
DEFAULT_BETA = "1..250"  # the paper's Figure 6 spans β from 1 to a few hundred
# The capacity objective does not read β: a capacity sweep searches C_max (and γ when
# given as a list or range) instead. Burgess et al. used C_max = 25 nats on dSprites.
DEFAULT_CAPACITY_MAX = "5..50"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # fullmatch: "$" allows a final "\n"
# On CPU a sweep scores with "tiny" in the loop and at the end: one protocol for every
# score of the sweep, so its trials are ranked by comparable numbers. "fast" (L = 64, within
# about a point of "paper"; tiny's L = 8 reads up to 39 points lower) even at ASHA's rungs
# only (--score-growth) made the README's demo several times slower than its few minutes
# (docs/benchmarks.md, "Score schedule on CPU"); ask for it with --loop-score-protocol fast
# --final-score-protocol fast --score-growth RF.
CPU_SCORE_PROTOCOL = "tiny"


@dataclass(frozen=True)
class SweepSpec:
    name: str
    storage: str  # absolute local path or a s3:// / gs:// URI (sweep.store.storage)
    beta: Domain | None  # exactly one of beta, beta_norm
    beta_norm: Domain | None
    latent: Domain
    samples: int  # trials (random, optuna) or seeds per grid point (grid)
    max_steps: int
    grace_steps: int
    reduction_factor: int
    metric: str  # one name of METRICS, or two or three of OBJECTIVES joined by commas
    search: str
    concurrency: int
    cpus_per_trial: float
    gpus_per_trial: float | None  # None: decided once connected (sweep.tune.run)
    address: str | None  # None: an embedded local Ray
    seed: int
    max_failures: int
    # The TrialConfig values the user gave (pass-through options); see trial_options().
    trial: dict[str, Any] = field(default_factory=dict)
    # The capacity objective's searched values (only with trial["objective"] == "capacity").
    capacity_max: Domain | None = None
    gamma: Domain | None = None
    trackers: tuple[str, ...] = ()  # --log: experiment trackers, as TRACKERS names
    # Which trial checkpoints stay (sweep.tune.retention): all, best (+ latest), last.
    keep_checkpoints: str = DEFAULT_KEEP_CHECKPOINTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "trackers", tuple(self.trackers))  # a list when from JSON
        _validate(self)

    @property
    def objectives(self) -> tuple[str, ...]:
        return tuple(self.metric.split(","))

    @property
    def is_frontier(self) -> bool:
        """Two or three objectives: multi-objective ASHA and Optuna (sweep.tune.space)."""
        return len(self.objectives) > 1

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(OBJECTIVES[name] for name in self.objectives)

    @property
    def tune_metrics(self) -> tuple[str, ...]:
        return tuple(TUNE_METRIC_KEYS[name] for name in self.objectives)

    @property
    def mode(self) -> str:
        return METRICS[self.metric]

    @property
    def tune_metric(self) -> str:
        return TUNE_METRIC_KEYS[self.metric]

    @property
    def objective(self) -> str:
        return self.trial.get("objective", "beta")

    @property
    def model(self) -> str:
        return self.trial.get("model", "beta-vae")

    @property
    def searched(self) -> str:
        """The TrialConfig field β is searched in: "beta" or "beta_norm"."""
        return "beta" if self.beta is not None else "beta_norm"

    @property
    def beta_domain(self) -> Domain:
        domain = self.beta if self.beta is not None else self.beta_norm
        assert domain is not None
        return domain

    @property
    def domains(self) -> dict[str, Domain]:
        """The TrialConfig fields the search draws besides the latent size, with their
        domains: β (or β_norm) for the beta objective; C_max, and γ when given, for the
        capacity objective (which does not read β); nothing for DC-IGN and InfoGAN, whose
        sweeps search the latent size (and seeds, with --search grid --samples N)."""
        if self.model != "beta-vae":
            return {}
        if self.objective == "capacity":
            searched = {"capacity_max": self.capacity_max, "gamma": self.gamma}
            return {name: domain for name, domain in searched.items() if domain is not None}
        return {self.searched: self.beta_domain}

    def describe_search(self) -> str:
        return ", ".join(f"{name} {domain}" for name, domain in self.domains.items())

    @property
    def seeds(self) -> tuple[int, ...]:
        """Trial seeds: a grid repeats each point with `samples` seeds; random and Optuna
        trials all share --seed, so trials differ only in what is searched."""
        if self.search == "grid":
            return tuple(range(self.seed, self.seed + self.samples))
        return (self.seed,)

    @property
    def num_trials(self) -> int:
        if self.search != "grid":
            return self.samples
        return math.prod(len(d.choices) for d in (*self.domains.values(), self.latent)) * (
            self.samples
        )

    def trial_options(self) -> dict[str, Any]:
        """The user's trial options plus the step intervals and score protocols the sweep
        chooses for those left out (module docstring). When trials run on CPU both
        protocols default to CPU_SCORE_PROTOCOL: one protocol for every score of the
        sweep, at a cost a laptop can pay."""
        trial = dict(self.trial)
        trial.setdefault("report_every", default_report_every(self.grace_steps))
        trial.setdefault("score_every", self.grace_steps)
        trial.setdefault("checkpoint_every", trial["score_every"] or self.grace_steps)
        if self.gpus_per_trial == 0:
            trial.setdefault("loop_score_protocol", CPU_SCORE_PROTOCOL)
            trial.setdefault("final_score_protocol", CPU_SCORE_PROTOCOL)
        return trial

    def base_config(self) -> TrialConfig:
        """The TrialConfig every trial shares, before the searched values are drawn."""
        values = {
            **self.trial_options(),
            **{name: domain.values[0] for name, domain in self.domains.items()},
            "latent_size": self.latent.values[0],
            "steps": self.max_steps,
            "seed": self.seed,
            "device": "auto",  # Ray assigns the GPU (or none); the trial uses what it sees
        }
        return TrialConfig.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; domains as the text the user typed (from_dict parses them back)."""
        values = dataclasses.asdict(self)
        for name in _DOMAIN_OPTIONS:
            domain = getattr(self, name)
            values[name] = None if domain is None else str(domain)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SweepSpec:
        values = dict(values)
        for name, (option, integer) in _DOMAIN_OPTIONS.items():
            if values.get(name) is not None:
                values[name] = parse_domain(values[name], option, integer, *_BOUNDS[integer])
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


_BOUNDS = {False: (0.0, True), True: (1, False)}  # β, C_max, γ > 0; latent sizes ≥ 1
# SweepSpec fields that hold a Domain: their option and whether their values are integers.
_DOMAIN_OPTIONS = {
    "beta": ("--beta", False),
    "beta_norm": ("--beta-norm", False),
    "latent": ("--latent", True),
    "capacity_max": ("--capacity-max", False),
    "gamma": ("--gamma", False),
}


def parse_beta(text: str | None, option: str) -> Domain | None:
    """A positive float domain: β, β_norm, C_max or γ."""
    return None if text is None else parse_domain(text, option, False, *_BOUNDS[False])


def parse_latent(text: str) -> Domain:
    return parse_domain(text, "--latent", True, *_BOUNDS[True])


def default_report_every(grace_steps: int) -> int:
    """The largest divisor of the grace period up to 100 (TrialConfig's default interval),
    so ASHA's rungs are report steps."""
    return max(d for d in range(1, min(100, grace_steps) + 1) if grace_steps % d == 0)


def asha_rungs(spec: SweepSpec) -> list[int]:
    """The steps where ASHA compares trials: grace·rf^k below max_steps."""
    rungs, step = [], spec.grace_steps
    while step < spec.max_steps:
        rungs.append(step)
        step *= spec.reduction_factor
    return rungs


def _validate(spec: SweepSpec) -> None:
    if not NAME_PATTERN.fullmatch(spec.name):
        fail(
            f"--name {spec.name!r}: use letters, digits, '.', '_' and '-' (at most 100, "
            "not starting with '.', '_' or '-')"
        )
    _check_objective_domains(spec)
    _at_least("--samples", spec.samples, 1)
    _at_least("--max-steps", spec.max_steps, 1)
    _at_least("--grace-steps", spec.grace_steps, 1)
    if spec.grace_steps > spec.max_steps:
        fail(
            f"--grace-steps {spec.grace_steps} is more than --max-steps {spec.max_steps}: "
            "ASHA could never stop a trial"
        )
    _at_least("--reduction-factor", spec.reduction_factor, 2)
    _check_metric(spec.metric)
    if spec.search not in SEARCHES:
        fail(f"--search {spec.search!r}: expected one of {', '.join(SEARCHES)}")
    if spec.search in FRONTIER_ONLY_SEARCHES and "," not in spec.metric:
        fail(
            f"--search {spec.search} is multi-objective: give two or three objectives, "
            "e.g. --metric recon,score"
        )
    _at_least("--concurrency", spec.concurrency, 1)
    _at_least("--seed", spec.seed, 0)
    _at_least("--max-failures", spec.max_failures, 0)
    if spec.keep_checkpoints not in KEEP_CHECKPOINTS:
        fail(
            f"--keep-checkpoints {spec.keep_checkpoints!r}: expected one of "
            f"{', '.join(KEEP_CHECKPOINTS)}"
        )
    _check_resources(spec.cpus_per_trial, spec.gpus_per_trial)
    check_address(spec.address)
    unknown = [t for t in spec.trackers if t not in TRACKERS]
    if unknown:
        fail(f"--log {unknown[0]!r}: expected some of {','.join(TRACKERS)}")
    if spec.search == "grid":
        for name, domain in spec.domains.items():
            if domain.is_range:
                option = _DOMAIN_OPTIONS[name][0]
                fail(f"--search grid needs lists: {option} {domain} is a range (try 1,4,16,64)")
        if spec.latent.is_range:
            fail(f"--search grid needs lists: --latent {spec.latent} is a range (try 4,8,16)")
    _check_trial(spec)


def _check_objective_domains(spec: SweepSpec) -> None:
    """Search what the objective reads: β for beta, C_max (and γ) for capacity."""
    beta_given = [o for o, d in (("--beta", spec.beta), ("--beta-norm", spec.beta_norm)) if d]
    capacity_given = [
        o for o, d in (("--capacity-max", spec.capacity_max), ("--gamma", spec.gamma)) if d
    ]
    if spec.model != "beta-vae":
        given = beta_given + capacity_given
        if given:
            fail(
                f"{given[0]}: model {spec.model} does not use it; its sweeps search "
                "--latent (and seeds: --search grid --samples N)"
            )
        unreported = [o for o in spec.objectives if o in _VAE_ONLY_OBJECTIVES]
        if spec.model == "infogan" and unreported:
            fail(
                f"--metric {spec.metric}: model infogan has no {unreported[0]} (it is not a "
                "VAE); optimise score or active_units"
            )
        return
    if spec.objective == "capacity":
        if beta_given:
            fail(
                f"{beta_given[0]}: the capacity objective does not use β; search "
                f"--capacity-max (C_max, e.g. {DEFAULT_CAPACITY_MAX}) and --gamma instead"
            )
        if spec.capacity_max is None:
            fail("--objective capacity needs --capacity-max (a value, a list or a range)")
        return
    if capacity_given:
        fail(f"{capacity_given[0]} is used only with --objective capacity")
    if spec.beta is not None and spec.beta_norm is not None:
        fail("give --beta or --beta-norm, not both")
    if spec.beta is None and spec.beta_norm is None:
        fail("give --beta or --beta-norm")


def _check_metric(metric: Any) -> None:
    if not isinstance(metric, str):
        fail(f"--metric {metric!r}: expected a name such as score, or names such as recon,score")
    names = metric.split(",")
    if len(names) == 1:
        if metric not in METRICS:
            fail(
                f"--metric {metric!r}: expected one of {', '.join(METRICS)}, or two or three "
                f"of {', '.join(OBJECTIVES)} joined by commas for a frontier sweep"
            )
        return
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown:
        fail(f"--metric {metric}: {unknown[0]!r} is not one of {', '.join(OBJECTIVES)}")
    if len(set(names)) != len(names):
        fail(f"--metric {metric}: an objective is named twice")
    if len(names) not in FRONTIER_SIZES:
        fail(f"--metric {metric}: a frontier sweep takes two or three objectives")
    reported = {f.name for f in METRIC_COLUMNS}
    missing = [n for n in names if n not in reported]
    if missing:  # active_units where this betasweep's trainer does not report it yet
        fail(f"--metric {metric}: the trials of this betasweep do not report {missing[0]!r}")


def _at_least(option: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        fail(f"{option} must be an integer ≥ {minimum}; got {value!r}")


def _check_resources(cpus: float, gpus: float | None) -> None:
    for option, value in (("--cpus-per-trial", cpus), ("--gpus-per-trial", gpus)):
        if value is None and option == "--gpus-per-trial":
            continue
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            fail(f"{option} must be a number ≥ 0; got {value!r}")
    if cpus <= 0:
        fail(f"--cpus-per-trial must be > 0; got {cpus:g}")
    if gpus is not None and gpus > 1 and gpus != int(gpus):
        fail(f"--gpus-per-trial {gpus:g}: above 1 a trial takes whole GPUs (Ray's rule)")


def check_address(address: str | None) -> None:
    if address is None or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        fail(f"--address {address}: expected auto, host:port or ray://host:port")


def _check_trial(spec: SweepSpec) -> None:
    owned = sorted(set(spec.trial) & set(SWEEP_OWNED_FIELDS))
    if owned:
        fail(f"the sweep sets {', '.join(owned)} itself; use its own options instead")
    try:
        base = spec.base_config()
        # Every value the search can produce must make a valid trial: check the extremes.
        axes = {**spec.domains, "latent_size": spec.latent}
        for point in itertools.product(*(d.values for d in axes.values())):
            base.replace(**dict(zip(axes, point, strict=True)))
    except ConfigError as error:
        fail(_option_message(str(error)))
    if "score" in spec.objectives:
        if base.score_every == 0:
            fail(
                f"--metric {spec.metric} needs --score-every > 0: ASHA prunes on in-training scores"
            )
        if spec.grace_steps % base.score_every:
            fail(
                f"--grace-steps {spec.grace_steps} is not a multiple of --score-every "
                f"{base.score_every}: ASHA's rungs would compare stale scores"
            )
        stale = [r for r in asha_rungs(spec) if not base.is_score_step(r)]
        if stale:
            fail(
                f"--score-growth {base.score_growth} leaves ASHA's rung at step {stale[0]} "
                f"unscored (scores at {base.score_every}·{base.score_growth}^k steps): use "
                f"--score-growth 1 or {spec.reduction_factor}"
            )


def _option_message(message: str) -> str:
    """A TrialConfig message ("batch_size must be ...") in terms of the CLI option."""
    name = message.split(" ", 1)[0]
    if name in {f.name for f in dataclasses.fields(TrialConfig)}:
        return f"--{name.replace('_', '-')}: {message}"
    return message
