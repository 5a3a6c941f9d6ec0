"""`sweep run`, `sweep resume`, `sweep status`, `sweep ls`.

Every option is parsed into one SweepSpec and checked (with the storage location and
the sweep name) before Ray starts: a bad value ends the command with one line and exit
code 2, and nothing is written. Ray is imported only inside sweep.tune.run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import typer

from sweep.cli.config_options import trial_options
from sweep.errors import fail
from sweep.spec import (
    DEFAULT_BETA,
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
from sweep.store.summary import SweepSummary, list_sweeps, read_summary, status_table, where_text

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
    resume: bool = typer.Option(
        False, "--resume", help="If the sweep NAME exists, continue it (same options)."
    ),
    *,
    trial: dict,
) -> None:
    """Run a sweep of β-VAE trials over β and latent size, pruned by ASHA, into Parquet.

    Trial options left out follow the sweep: --report-every divides --grace-steps, and --score-every and --checkpoint-every equal it, so every ASHA rung is a scored and checkpointed step; with trials on CPU both score protocols default to tiny.
    """
    if beta is None and beta_norm is None:
        beta = DEFAULT_BETA
    if search not in SEARCHES:  # needed below, before the spec checks everything else
        fail(f"--search {search!r}: expected one of {', '.join(SEARCHES)}")
    if samples is None:
        samples = 1 if search == "grid" else 8
    metric = ",".join(part.strip() for part in metric.split(","))  # "recon, score" too
    if grace_steps is None:
        grace_steps = max(1, max_steps // 8)
    if "npz" in trial:
        trial["npz"] = _local_file(trial["npz"], "--npz")
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
    )
    if spec.search == "grid" and concurrency is None:
        spec = dataclasses.replace(spec, concurrency=spec.num_trials)
    storage.check_writable(root)
    sweep_dir = storage.join(root, spec.name)
    if storage.exists(sweep_dir):
        if not resume:
            fail(
                f"sweep {spec.name!r} already exists under {root}: continue it with "
                f"`sweep resume {spec.name} --storage {root}`, or choose another --name"
            )
        from sweep.tune import run as tune_run

        saved = tune_run.read_spec(sweep_dir, spec.name)
        _check_same(saved, spec)
        _finish(tune_run.resume(saved, address), root)
        return
    if address is not None and address.startswith("ray://") and not storage.is_remote(root):
        print(
            f"sweep: note: with --address {address} the files are written on the cluster's "
            f"head node under {root}; use --storage s3://… to keep them off the head",
            file=sys.stderr,
        )
    from sweep.tune import run as tune_run

    _finish(tune_run.start(spec), root)


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
    sweep_dir = storage.join(root, name)
    spec = tune_run.read_spec(sweep_dir, name)
    if spec.storage != root:
        fail(
            f"sweep {name!r} was created under {spec.storage} and Ray Tune's state points "
            "there: resume it from that location"
        )
    _finish(tune_run.resume(spec, address if address is not None else spec.address), root)


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


def _local_file(path: str, option: str) -> str:
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        fail(f"{option} {path}: no such file")
    return str(resolved)  # trials run in other working directories


def _check_same(saved: SweepSpec, given: SweepSpec) -> None:
    """`sweep run --resume` continues a sweep only under the options it was started with."""
    ignore = {"address", "gpus_per_trial", "name"}  # where it runs may change; GPUs resolved
    old, new = saved.to_dict(), given.to_dict()
    changed = [k for k in old if k not in ignore and old[k] != new[k]]
    if given.gpus_per_trial is not None and given.gpus_per_trial != saved.gpus_per_trial:
        changed.append("gpus_per_trial")
    if changed:
        detail = "; ".join(f"{k}: {old[k]!r} then, {new[k]!r} now" for k in changed)
        fail(f"sweep {saved.name!r} was started with other options ({detail})")


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
