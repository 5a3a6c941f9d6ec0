"""Running a sweep on Ray Tune: connect, check the cluster, start or resume, summarise.

The only module that starts Ray. Everything a user typed was validated before any
function here is called (sweep.cli.sweeps); what can only be checked once connected
(is there a GPU for --gpus-per-trial, can any node hold one trial) is checked right after
ray.init, before a file is written, and ends the command the same way (exit code 2).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sweep.errors import fail
from sweep.spec import SweepSpec
from sweep.store import storage
from sweep.store.summary import SweepSummary, read_summary
from sweep.tune import capacity, trackers

# Trials per GPU by default: 2 (0.5 GPU each). A conservative choice until bench/packing.py
# has measured aggregate images/s on a GPU (docs/benchmarks.md); override per sweep.
DEFAULT_GPUS_PER_TRIAL = 0.5
SPEC_VERSION = 1


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Connected to Ray for the block: an embedded local Ray when `address` is None, else
    the cluster at `address` ("auto", "host:port" or "ray://host:10001"). Shuts down only
    what it started; a caller already connected (a test, a notebook) keeps its session."""
    import ray

    if ray.is_initialized():
        yield
        return
    if address is not None:
        _check_reachable(address)
    try:
        if address is None:
            ray.init(include_dashboard=False)
        else:
            ray.init(address=address)
    except (ConnectionError, RuntimeError, ValueError) as error:
        ray.shutdown()
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        target = "start an embedded local Ray" if address is None else f"connect to {address}"
        fail(f"cannot {target}: {reason}")
    try:
        yield
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail fast on an address nothing listens at: Ray itself retries for minutes."""
    if address == "auto":
        return  # Ray reads the local cluster's address file and fails at once without one
    host, _, port = address.removeprefix("ray://").rpartition(":")  # checked by SweepSpec
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        fail(f"--address {address}: no Ray cluster reachable there ({error.strerror or error})")


def _live_nodes() -> list[dict[str, float]]:
    import ray

    return [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]


def _node_types() -> list[tuple[dict[str, float], int]]:
    """Resources and most nodes (negative: no limit) of each node type the autoscaler of a
    `ray up` cluster may add; none on a local Ray."""
    try:
        from ray._private.state import state

        config = state.get_cluster_config()
        groups = config.node_group_configs if config is not None else []
        return [(dict(g.resources), int(g.max_count)) for g in groups if g.max_count != 0]
    except Exception:  # a private API: without it, judge by the live nodes alone
        return []


def _node_resources() -> list[dict[str, float]]:
    """Resources of the live nodes and of every node type the autoscaler may add."""
    return _live_nodes() + [resources for resources, _ in _node_types()]


def resolve_resources(spec: SweepSpec) -> SweepSpec:
    """`spec` with --gpus-per-trial decided, after checking one trial fits on some node."""
    nodes = _node_resources()
    has_gpu = any(n.get("GPU", 0) > 0 for n in nodes)
    gpus = spec.gpus_per_trial
    if gpus is None:
        gpus = DEFAULT_GPUS_PER_TRIAL if has_gpu else 0.0
    elif gpus > 0 and not has_gpu:
        fail(
            f"--gpus-per-trial {gpus:g}: the Ray cluster has no GPU (nor a node type that "
            "adds one); use --gpus-per-trial 0 to train on CPUs"
        )
    cpus = spec.cpus_per_trial
    if not any(n.get("CPU", 0) >= cpus and n.get("GPU", 0) >= gpus for n in nodes):
        largest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
        fail(
            f"no node of the Ray cluster can hold one trial of --cpus-per-trial {cpus:g} "
            f"--gpus-per-trial {gpus:g} (the largest has {largest.get('CPU', 0):g} CPUs, "
            f"{largest.get('GPU', 0):g} GPUs)"
        )
    return dataclasses.replace(spec, gpus_per_trial=float(gpus))


def _trial_dirname(trial: Any) -> str:
    return trial.trial_id  # short: Ray's socket and checkpoint paths have length limits


def _trainable(spec: SweepSpec, function: Callable[[dict], None] | None = None) -> Any:
    """The trial function with its resources: sweep.tune.trainable.run_trial, or another
    function of the same contract (tests and bench/frontier.py give a synthetic one)."""
    from ray import tune

    from sweep.tune.trainable import run_trial

    # Always both: a GPU-only request would reserve no CPU for the trial's data pipeline.
    resources = {"cpu": spec.cpus_per_trial, "gpu": spec.gpus_per_trial}
    return tune.with_resources(function or run_trial, resources)


def _new_tuner(
    spec: SweepSpec, sweep_dir: str, function: Callable[[dict], None] | None = None
) -> Any:
    from ray import tune

    from sweep.tune import space as tune_space
    from sweep.tune.callback import ParquetCallback
    from sweep.tune.schedulers import SchedulerState

    scheduler = tune_space.scheduler(spec)
    # A frontier sweep's scheduler and searcher carry their own objectives and directions.
    metric, mode = (None, None) if spec.is_frontier else (spec.tune_metric, spec.mode)
    return tune.Tuner(
        _trainable(spec, function),
        param_space=tune_space.param_space(spec),
        tune_config=tune.TuneConfig(
            metric=metric,
            mode=mode,
            search_alg=tune_space.search_algorithm(spec),
            scheduler=scheduler,
            num_samples=tune_space.num_samples(spec),
            trial_dirname_creator=_trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=storage.TUNE_DIR,
            storage_path=sweep_dir,
            # SchedulerState first: a restore fills the scheduler before anything reads it.
            callbacks=[
                SchedulerState(scheduler),
                ParquetCallback(
                    sweep_dir, spec.name, scheduler, keep_checkpoints=spec.keep_checkpoints
                ),
                *trackers.callbacks(spec.trackers, spec.name, sweep_dir),
            ],
            failure_config=tune.FailureConfig(max_failures=spec.max_failures),
            # Tune deletes nothing: its num_to_keep deletes surplus checkpoints at once, and a
            # driver killed before the next state save would resume from a deleted one.
            # sweep.tune.retention deletes them only once the saved state no longer names them.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
            # Copies each trial's working directory (its trial.log) into tune/<trial_id>/.
            sync_config=tune.SyncConfig(sync_artifacts=True),
            verbose=0,  # ParquetCallback prints one line per trial start and end instead
        ),
    )


def _quiet_tune() -> None:
    # The Parquet files are the record: Tune's own per-trial CSV/JSON/TensorBoard logs
    # would only duplicate them (and ResultGrid's warning that they are absent is noise).
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    # A trial restored from a checkpoint counts Tune's iterations from 1 again; Optuna then
    # ignores those intermediate values (the final one still counts) and says so each time.
    warnings.filterwarnings("ignore", message="The reported value is ignored because this")
    # Tune warns of every callback slower than 0.5 s: a tracker's first result (opening
    # MLflow's database, starting a W&B process) takes seconds on a busy machine.
    os.environ.setdefault("TUNE_WARN_THRESHOLD_S", "10")


def write_spec(spec: SweepSpec, sweep_dir: str) -> None:
    storage.write_json(
        storage.join(sweep_dir, storage.SPEC_FILE),
        {
            "version": SPEC_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "spec": spec.to_dict(),
        },
    )


def read_spec(sweep_dir: str, name: str) -> SweepSpec:
    location = storage.join(sweep_dir, storage.SPEC_FILE)
    if not storage.is_file(location):
        fail(f"no sweep named {name!r} under {sweep_dir.rsplit('/', 1)[0]} (no {location})")
    try:
        saved = storage.read_json(location)
        return SweepSpec.from_dict(saved["spec"])
    except (ValueError, KeyError, TypeError) as error:
        fail(f"{location}: not a readable sweep description ({error})")
    raise AssertionError("unreachable")


def start(spec: SweepSpec, function: Callable[[dict], None] | None = None) -> SweepSummary:
    """Run a new sweep to its end (the caller has claimed its directory: sweep.store.claim)."""
    sweep_dir = storage.join(spec.storage, spec.name)
    with ray_session(spec.address):
        spec = resolve_resources(spec)
        _announce(spec)
        write_spec(spec, sweep_dir)
        _quiet_tune()
        _new_tuner(spec, sweep_dir, function).fit()
    return read_summary(sweep_dir, spec.name)


def resume(
    spec: SweepSpec, address: str | None, function: Callable[[dict], None] | None = None
) -> SweepSummary:
    """Continue an interrupted sweep: finished trials stay, unfinished and failed ones
    continue from their latest checkpoints, the search goes on to its planned trials."""
    from ray import tune

    sweep_dir = storage.join(spec.storage, spec.name)
    tune_dir = storage.join(sweep_dir, storage.TUNE_DIR)
    with ray_session(address):
        resolve_resources(spec)  # the same resources must still fit (spec's are resolved)
        _quiet_tune()
        if tune.Tuner.can_restore(tune_dir):
            print(f"sweep {spec.name}: resuming from {tune_dir}", file=sys.stderr)
            tuner = tune.Tuner.restore(
                tune_dir,
                trainable=_trainable(spec, function),
                resume_unfinished=True,
                resume_errored=True,
            )
        else:  # killed before Tune saved anything: start it again, from nothing lost
            print(f"sweep {spec.name}: no Tune state yet, starting it", file=sys.stderr)
            tuner = _new_tuner(spec, sweep_dir, function)
        tuner.fit()
    return read_summary(sweep_dir, spec.name)


def _announce(spec: SweepSpec) -> None:
    config = spec.base_config()
    print(
        f"sweep {spec.name}: {spec.num_trials} trials ({spec.search}), "
        f"{spec.describe_search()}, latent {spec.latent}, ≤{spec.max_steps} steps; "
        f"{_pruning(spec)} from step {spec.grace_steps}, "
        f"reduction {spec.reduction_factor}; {spec.cpus_per_trial:g} CPU + "
        f"{spec.gpus_per_trial:g} GPU per trial, {_at_once_text(spec)}; scores "
        f"{config.loop_score_protocol}/{config.final_score_protocol} every "
        f"{config.score_every} steps"
        + (f" (then ×{config.score_growth}: ASHA's rungs)" if config.score_growth > 1 else ""),
        file=sys.stderr,
    )


def _at_once_text(spec: SweepSpec) -> str:
    """How many trials run at once: --concurrency, unless the cluster has room for fewer
    (2 trials of 1 CPU on a 2-core machine, whatever --concurrency says)."""
    cpus, gpus = spec.cpus_per_trial, spec.gpus_per_trial or 0.0
    wanted = min(spec.concurrency, spec.num_trials)
    now = min(wanted, capacity.cluster_slots(_live_nodes(), cpus, gpus))
    if now == wanted:
        return f"≤{now} at once"
    types = _node_types()
    if any(most < 0 for _, most in types):
        later = wanted  # an autoscaler without a node limit
    else:
        added = sum(most * capacity.trials_per_node(r, cpus, gpus) for r, most in types)
        later = min(wanted, now + added)
    if later > now:
        return f"{f'≤{now}' if now else 'none'} at once now, up to {later} as the autoscaler adds nodes"
    return f"≤{now} at once (the cluster has room for {now}; --concurrency {spec.concurrency})"


def _pruning(spec: SweepSpec) -> str:
    if not spec.is_frontier:
        return f"ASHA on {spec.metric} ({spec.mode})"
    objectives = ", ".join(f"{n} ({m})" for n, m in zip(spec.objectives, spec.modes, strict=True))
    return f"multi-objective ASHA on {objectives}"
