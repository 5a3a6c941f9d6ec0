"""A sweep on a Ray cluster of three nodes on this machine (ray.cluster_utils.Cluster: a
head without CPUs and two one-CPU workers): trials run on both workers, and removing a
worker mid-trial costs only the steps since that trial's last checkpoint."""

from __future__ import annotations

import threading
import time

import pytest

from sweep.cli import main
from sweep.store.parquet import read_dataset, read_table
from sweep.store.schema import SchemaError

pytestmark = pytest.mark.slow

MAX_STEPS = 100
# Two trials (a grid over two βs), one per worker; no pruning (grace = max steps), no
# in-loop scores (ASHA would prune on recon). Batch 64 (~60 ms a step on one CPU) leaves
# time to remove a worker between a trial's checkpoints.
SWEEP = [
    "run",
    "--search", "grid",
    "--beta", "4,16",
    "--latent", "4",
    "--max-steps", str(MAX_STEPS),
    "--grace-steps", str(MAX_STEPS),
    "--metric", "recon",
    "--report-every", "10",
    "--checkpoint-every", "10",
    "--score-every", "0",
    "--batch-size", "64",
    "--max-failures", "2",
]  # fmt: skip


@pytest.fixture(scope="module")
def cluster(ray_tmpdir):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, workers
    cluster.shutdown()


def _remove_a_busy_worker(cluster, workers, sweep_dir, removed: dict) -> None:
    """Once a trial has a checkpoint and is still short of its last steps, remove its node."""
    try:
        by_id = {w.node_id: w for w in workers}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                trials = read_table(sweep_dir / "trials.parquet", "trials").to_pylist()
                rows = read_dataset(sweep_dir / "results").to_pylist()
            except SchemaError:  # not written yet
                continue
            for trial in trials:
                if trial["status"] == "running" and 20 <= (trial["steps_done"] or 0) <= 70:
                    node_id = next(r["node_id"] for r in rows if r["trial_id"] == trial["trial_id"])
                    removed.update(trial=trial["trial_id"], node_id=node_id)
                    cluster.remove_node(by_id[node_id], allow_graceful=False)
                    return
    except Exception as error:  # reported by the test, not lost with the thread
        removed["error"] = repr(error)


def test_trials_survive_the_loss_of_a_worker(cluster, tmp_path, capsys):
    cluster, workers = cluster
    storage, name = tmp_path / "sweeps", "nodes"
    removed: dict = {}
    remover = threading.Thread(
        target=_remove_a_busy_worker, args=(cluster, workers, storage / name, removed)
    )
    remover.start()
    try:
        code = main(
            [*SWEEP, "--address", cluster.address, "--storage", str(storage), "--name", name]
        )
    finally:
        remover.join()
    assert "error" not in removed, removed
    assert removed, "no trial was caught mid-run to remove its node"
    assert code == 0, capsys.readouterr().err[-3000:]

    rows = read_dataset(storage / name / "results").to_pylist()
    trials = read_table(storage / name / "trials.parquet", "trials").to_pylist()
    assert {r["node_id"] for r in rows} >= {w.node_id for w in workers}  # both workers ran trials
    assert len(trials) == 2 and all(t["status"] == "terminated" for t in trials)
    keys = [(r["trial_id"], r["step"]) for r in rows]
    for trial in trials:  # every report exactly once, none missing, none doubled
        steps = sorted(s for t, s in keys if t == trial["trial_id"])
        assert steps == list(range(10, MAX_STEPS + 1, 10))
    hit = sorted((r for r in rows if r["trial_id"] == removed["trial"]), key=lambda r: r["step"])
    survivor = next(w.node_id for w in workers if w.node_id != removed["node_id"])
    assert hit[0]["node_id"] == removed["node_id"] and hit[-1]["node_id"] == survivor
    restored = {r["restored_from_step"] for r in hit if r["node_id"] == survivor}
    assert len(restored) == 1 and restored.pop() in range(10, MAX_STEPS, 10)  # from a checkpoint
    (summary,) = [t for t in trials if t["trial_id"] == removed["trial"]]
    assert summary["failures"] >= 1
