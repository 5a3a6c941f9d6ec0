"""`sweep run`, `sweep resume`, `sweep status`, `sweep ls`.

Every option is parsed into one SweepSpec and checked (with the storage location and
the sweep name) before Ray starts: a bad value ends the command with one line and exit
code 2, and nothing is written. Ray is imported only inside sweep.tune.run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from typing import Any

import typer

from sweep.cli.config_options import trial_options
from sweep.cli.paths import check_npz
from sweep.domains import Domain
from sweep.errors import fail
from sweep.spec import (
    DEFAULT_BETA,
    DEFAULT_CAPACITY_MAX,
    DEFAULT_KEEP_CHECKPOINTS,
    METRICS,
    OBJECTIVES,
    SEARCHES,
    SWEEP_OWNED_FIELDS,
    SweepSpec,
    check_address,
    parse_beta,
    parse_latent,
)
from sweep.store import storage
from sweep.store.claim import SweepExists, claimed
from sweep.store.summary import SweepSummary, list_sweeps, read_summary, status_table, where_text
from sweep.tune import trackers

OPTUNA_CONCURRENCY = 4  # TPE learns from finished trials: many at once is close to random
_STORAGE_HELP = "Local directory or s3://bucket/prefix, gs://… holding the sweeps."


@trial_options(exclude=SWEEP_OWNED_FIELDS)
def run_command(
    beta: str | None = typer.Option(
        None,
        help=f"β: a value (4), a list (1,4,16) or a log-uniform range A..B (default: {DEFAULT_BETA}).",
    ),
    beta_norm: str | None = typer.Option(
        None, "--beta-norm", help="Normalised β = β·M/4096 instead of --beta (same forms)."
    ),
    capacity_max: str | None = typer.Option(
        None,
        "--capacity-max",
        help="With --objective capacity, which does not use β: C_max (nats) in the same forms "
        f"(default: {DEFAULT_CAPACITY_MAX}).",
    ),
    gamma: str | None = typer.Option(
        None,
        help="With --objective capacity: γ in the same forms (default: TrialConfig's 1000).",
    ),
    latent: str = typer.Option("10", help="Latent size: a value, a list (4,8,16) or a range A..B."),
    samples: int | None = typer.Option(
        None,
        help="Trials for optuna and random (default: 8); seeds per grid point for grid (default: 1).",
    ),
    max_steps: int = typer.Option(1000, help="Training steps of a trial that is never pruned."),
    grace_steps: int | None = typer.Option(
        None, help="Steps before ASHA may stop a trial (default: max-steps/8)."
    ),
    reduction_factor: int = typer.Option(2, help="ASHA keeps 1/rf of the trials at each rung."),
    metric: str = typer.Option(
        "score",
        help=f"What ASHA prunes on: {', '.join(f'{k} ({v})' for k, v in METRICS.items())}; or "
        f"a frontier sweep on two or three of {', '.join(f'{k} ({v})' for k, v in OBJECTIVES.items())}"
        ", e.g. recon,score: multi-objective ASHA and Optuna.",
    ),
    search: str = typer.Option(
        "optuna",
        help=f"{' | '.join(SEARCHES)}; Optuna TPE is seeded; nsga2 (Optuna's NSGA-II, seeded) "
        "for frontier sweeps.",
    ),
    concurrency: int | None = typer.Option(
        None,
        help=f"Trials at once (default: {OPTUNA_CONCURRENCY} for optuna and nsga2, all for random "
        "and grid).",
    ),
    cpus_per_trial: float = typer.Option(1.0, help="CPUs reserved per trial."),
    gpus_per_trial: float | None = typer.Option(
        None,
        help="GPUs per trial; fractions share a GPU (default: 0.5 on a cluster with GPUs, else 0).",
    ),
    address: str | None = typer.Option(
        None,
        help="Ray cluster: auto, host:port or ray://host:10001 (default: an embedded local Ray).",
    ),
    storage_root: str = typer.Option(storage.DEFAULT_STORAGE, "--storage", help=_STORAGE_HELP),
    name: str | None = typer.Option(None, help="Sweep name (default: sweep-DATE-TIME)."),
    seed: int = typer.Option(0, help="Seeds the search and every trial."),
    max_failures: int = typer.Option(
        3, help="Restarts of a failed trial from its latest checkpoint."
    ),
    keep_checkpoints: str = typer.Option(
        DEFAULT_KEEP_CHECKPOINTS,
        "--keep-checkpoints",
        help="Trial checkpoints kept: best (the latest, which is the final one, and the "
        "best-scoring one; ≤3 per trial), last (the latest only) or all.",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="If the sweep NAME exists, continue it (same options)."
    ),
    log: str | None = typer.Option(
        None,
        "--log",
        help="Also report to experiment trackers: any of tensorboard,mlflow,wandb (default: none).",
    ),
    *,
    trial: dict,
) -> None:
    """Run a sweep of β-VAE trials over β and latent size (C_max and γ with --objective capacity), pruned by ASHA, into Parquet.

    Trial options left out follow the sweep: --report-every divides --grace-steps, and --score-every and --checkpoint-every equal it, so every ASHA rung is a scored and checkpointed step; with trials on CPU both score protocols default to tiny (one protocol for every score; --score-growth RF scores only ASHA's rungs, for a costlier protocol).
    """
    if trial.get("objective") == "capacity":
        if capacity_max is None:
            capacity_max = DEFAULT_CAPACITY_MAX
    elif beta is None and beta_norm is None and trial.get("model") in (None, "beta-vae"):
        beta = DEFAULT_BETA  # DC-IGN and InfoGAN read no β: their sweeps search latent size
    if search not in SEARCHES:  # needed below, before the spec checks everything else
        fail(f"--search {search!r}: expected one of {', '.join(SEARCHES)}")
    if samples is None:
        samples = 1 if search == "grid" else 8
    metric = ",".join(part.strip() for part in metric.split(","))  # "recon, score" too
    if grace_steps is None:
        grace_steps = max(1, max_steps // 8)
    if "npz" in trial:
        trial["npz"] = check_npz(trial["npz"])
    root = storage.normalize(storage_root)
    spec = SweepSpec(
        name=name or dt.datetime.now().strftime("sweep-%Y%m%d-%H%M%S"),
        storage=root,
        beta=parse_beta(beta, "--beta"),
        beta_norm=parse_beta(beta_norm, "--beta-norm"),
        latent=parse_latent(latent),
        samples=samples,
        max_steps=max_steps,
        grace_steps=grace_steps,
        reduction_factor=reduction_factor,
        metric=metric,
        search=search,
        concurrency=_concurrency(concurrency, search, samples),
        cpus_per_trial=cpus_per_trial,
        gpus_per_trial=gpus_per_trial,
        address=address,
        seed=seed,
        max_failures=max_failures,
        trial=trial,
        capacity_max=parse_beta(capacity_max, "--capacity-max"),
        gamma=parse_beta(gamma, "--gamma"),
        trackers=trackers.parse(log),
        keep_checkpoints=keep_checkpoints,
    )
    if spec.search == "grid" and concurrency is None:
        spec = dataclasses.replace(spec, concurrency=spec.num_trials)
    storage.check_writable(root)
    trackers.check(spec.trackers, storage.join(root, spec.name))
    if address is not None and address.startswith("ray://") and not storage.is_remote(root):
        print(
            f"sweep: note: with --address {address} the files are written on the cluster's "
            f"head node under {root}; use --storage s3://… to keep them off the head",
            file=sys.stderr,
        )
    from sweep.tune import run as tune_run

    # Claiming the name creates the sweep directory: the storage check that really writes,
    # and the end of any race with another driver given the same name.
    try:
        with claimed(root, spec.name, new=True):
            summary = tune_run.start(spec)
    except SweepExists:
        if not resume:
            fail(
                f"sweep {spec.name!r} already exists under {root}: continue it with "
                f"`sweep resume {spec.name} --storage {root}`, or choose another --name"
            )
        with claimed(root, spec.name, new=False):
            saved = _read_spec_here(root, spec.name)
            _check_same(saved, spec)
            summary = tune_run.resume(saved, address)
    _finish(summary, root)


def resume_command(
    name: str = typer.Argument(..., help="The sweep to continue."),
    storage_root: str = typer.Option(storage.DEFAULT_STORAGE, "--storage", help=_STORAGE_HELP),
    address: str | None = typer.Option(
        None, help="Ray cluster to continue on (default: the sweep's own --address)."
    ),
) -> None:
    """Continue an interrupted sweep: finished trials stay, the others go on from their
    latest checkpoints, and no result row is lost or written twice."""
    from sweep.tune import run as tune_run

    check_address(address)
    root = storage.normalize(storage_root)
    if not storage.exists(storage.join(root, name)):
        fail(f"no sweep named {name!r} under {root} (`sweep ls --storage {root}` lists them)")
    with claimed(root, name, new=False):
        spec = _read_spec_here(root, name)
        trackers.check(spec.trackers, storage.join(root, name))  # Tune's state holds them
        summary = tune_run.resume(spec, address if address is not None else spec.address)
    _finish(summary, root)


def status_command(
    name: str = typer.Argument(..., help="The sweep to show."),
    storage_root: str = typer.Option(storage.DEFAULT_STORAGE, "--storage", help=_STORAGE_HELP),
) -> None:
    """A table of the sweep's trials: state, β, latent size, steps, last recon and score."""
    root = storage.normalize(storage_root)
    sweep_dir = storage.join(root, name)
    if not storage.is_file(storage.join(sweep_dir, storage.SPEC_FILE)):
        fail(f"no sweep named {name!r} under {root} (`sweep ls --storage {root}` lists them)")
    typer.echo(status_table(read_summary(sweep_dir, name)))


def ls_command(
    storage_root: str = typer.Option(storage.DEFAULT_STORAGE, "--storage", help=_STORAGE_HELP),
) -> None:
    """List the sweeps in a storage location."""
    typer.echo(list_sweeps(storage.normalize(storage_root)))


def _concurrency(given: int | None, search: str, samples: int) -> int:
    if given is not None:
        return given
    return OPTUNA_CONCURRENCY if search in ("optuna", "nsga2") else samples


def _read_spec_here(root: str, name: str) -> SweepSpec:
    """The sweep.json of <root>/<name>, which must describe the sweep at that very place:
    Ray Tune's saved state (and the callback pickled in it) names the directory the sweep
    was created in, so a moved or copied sweep would write to, or resume, the original."""
    from sweep.tune.run import read_spec

    sweep_dir = storage.join(root, name)
    spec = read_spec(sweep_dir, name)
    created = storage.join(spec.storage, spec.name)
    if created != sweep_dir:
        fail(
            f"{sweep_dir} holds the sweep created as {created}: a moved or copied sweep "
            f"cannot be resumed (Ray Tune's state names {created}); resume it there"
        )
    return spec


def _check_same(saved: SweepSpec, given: SweepSpec) -> None:
    """`sweep run --resume` continues a sweep only under the options it was started with,
    compared as they resolve: a default typed out (--batch-size 64) or a list in another
    order (--beta 4,1 for 1,4) is the same sweep."""
    if given.gpus_per_trial is None:  # decided when the sweep started: the saved one holds
        given = dataclasses.replace(given, gpus_per_trial=saved.gpus_per_trial)
    old, new = _resolved(saved), _resolved(given)
    changed = [k for k in old if old[k] != new[k]]
    if changed:
        texts = (saved.to_dict(), given.to_dict())
        detail = "; ".join(_change(k, old, new, *texts) for k in changed)
        fail(f"sweep {saved.name!r} was started with other options ({detail})")


_NOT_COMPARED = {"address", "name", "trial"}  # where it runs may change; trial: as resolved
_SEARCHED = ("beta", "beta_norm", "latent_size", "capacity_max", "gamma")


def _resolved(spec: SweepSpec) -> dict[str, Any]:
    """What a sweep runs, free of how it was typed: each domain as its kind and its set of
    values, and every trial option with its default or sweep-chosen value filled in."""
    values = {k: v for k, v in spec.to_dict().items() if k not in _NOT_COMPARED}
    for name in ("beta", "beta_norm", "latent", "capacity_max", "gamma"):
        domain = getattr(spec, name)
        values[name] = None if domain is None else _domain_key(domain)
    config = spec.base_config().to_dict()
    values.update({f"trial.{k}": v for k, v in config.items() if k not in _SEARCHED})
    return values


def _domain_key(domain: Domain) -> tuple:
    if domain.is_range:
        return ("range", *domain.values)
    return ("values", *sorted(set(domain.values)))


def _change(key: str, old: dict, new: dict, old_text: dict, new_text: dict) -> str:
    if key.startswith("trial."):
        return f"{key.removeprefix('trial.')}: {old[key]!r} then, {new[key]!r} now"
    return f"{key}: {old_text[key]!r} then, {new_text[key]!r} now"


def _finish(summary: SweepSummary, root: str) -> None:
    typer.echo(where_text(summary, root))
    if summary.unfinished:
        typer.echo(
            f"sweep {summary.name} was interrupted: continue it with "
            f"`sweep resume {summary.name} --storage {root}`",
            err=True,
        )
        raise typer.Exit(130)
    failed = summary.counts.get("error", 0)
    if failed:
        typer.echo(f"sweep {summary.name}: {failed} trials failed (see sweep status)", err=True)
        raise typer.Exit(1)
