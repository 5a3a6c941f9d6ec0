"""A SweepSpec as Ray Tune sees it: the search space, the search algorithm, the scheduler.

The param space is the whole TrialConfig (as a dict) with the searched fields (β or β_norm;
C_max and γ for the capacity objective) and the latent size replaced by Tune domains, so
every trial's config is a complete TrialConfig.
"""

from __future__ import annotations

from typing import Any

from sweep.domains import LIST, VALUE, Domain
from sweep.spec import SweepSpec


def _tune_domain(domain: Domain, search: str) -> Any:
    from ray import tune

    if domain.kind == VALUE:
        return domain.values[0]
    if search == "grid":
        return tune.grid_search(list(domain.values))
    if domain.kind == LIST:
        return tune.choice(list(domain.values))
    low, high = domain.values
    # β spans decades: log-uniform. Latent sizes: every integer in the range, ends included.
    return tune.randint(low, high + 1) if domain.integer else tune.loguniform(low, high)


def has_searched_dimension(spec: SweepSpec) -> bool:
    return any(d.kind != VALUE for d in (*spec.domains.values(), spec.latent))


def param_space(spec: SweepSpec) -> dict[str, Any]:
    from ray import tune

    space = spec.base_config().to_dict()
    space["beta_norm"] = None  # derived from β and each trial's latent size
    if spec.objective == "beta":
        space["beta"] = None  # the searched one of the two is set below
    for name, domain in spec.domains.items():
        space[name] = _tune_domain(domain, spec.search)
    space["latent_size"] = _tune_domain(spec.latent, spec.search)
    if spec.search == "grid" and len(spec.seeds) > 1:
        space["seed"] = tune.grid_search(list(spec.seeds))
    return space


def num_samples(spec: SweepSpec) -> int:
    return 1 if spec.search == "grid" else spec.samples  # a grid's repeats are its seeds


def search_algorithm(spec: SweepSpec) -> Any:
    """Optuna's TPE (or NSGA-II, --search nsga2) with a seeded sampler behind a concurrency
    limit, or Tune's seeded random/grid generator. A frontier sweep gives Optuna its
    objectives and directions (TPE is multi-objective as it is); a single-metric sweep
    gets them from TuneConfig. With nothing to search (β and latent size both single
    values) Optuna has no space, and the trials are all the same point: the generator is
    used."""
    if spec.search in ("optuna", "nsga2") and has_searched_dimension(spec):
        from optuna.samplers import NSGAIISampler, TPESampler
        from ray.tune.search import ConcurrencyLimiter
        from ray.tune.search.optuna import OptunaSearch

        sampler = (NSGAIISampler if spec.search == "nsga2" else TPESampler)(seed=spec.seed)
        if spec.is_frontier:
            searcher = OptunaSearch(
                metric=list(spec.tune_metrics), mode=list(spec.modes), sampler=sampler
            )
        else:
            searcher = OptunaSearch(sampler=sampler)
        return ConcurrencyLimiter(searcher, max_concurrent=spec.concurrency)
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(random_state=spec.seed, max_concurrent=spec.concurrency)


def scheduler(spec: SweepSpec) -> Any:
    """Multi-objective ASHA for a frontier sweep, else Ray's ASHA; both with rung records
    that SchedulerState saves with the experiment (sweep.tune.schedulers)."""
    from sweep.tune.schedulers import MultiObjectiveASHA, RestorableASHA

    if spec.is_frontier:
        return MultiObjectiveASHA(
            list(spec.tune_metrics),
            list(spec.modes),
            time_attr="step",
            max_t=spec.max_steps,
            grace_period=spec.grace_steps,
            reduction_factor=spec.reduction_factor,
        )
    return RestorableASHA(
        time_attr="step",
        max_t=spec.max_steps,
        grace_period=spec.grace_steps,
        reduction_factor=spec.reduction_factor,
        brackets=1,
    )
