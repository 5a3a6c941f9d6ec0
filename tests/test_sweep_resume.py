"""Killing the driver mid-sweep (SIGKILL: no chance to flush anything) and `sweep resume`
completing the sweep with no result row lost or written twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sweep.cli import main
from sweep.store.parquet import read_dataset, read_table
from sweep.store.schema import SchemaError
from sweep.store.writer import read_written_keys

pytestmark = pytest.mark.slow

MAX_STEPS = 100
# Reports every 5 steps but checkpoints every 20: rows after a checkpoint sit in the
# writer's buffer, so the kill loses some and the resumed trials must report them again.
# Batch 64 makes a step slow enough (~60 ms) to kill a trial between its checkpoints.
SWEEP = [
    "run",
    "--beta", "1..250",
    "--latent", "4,8",
    "--samples", "3",
    "--concurrency", "2",
    "--max-steps", str(MAX_STEPS),
    "--grace-steps", "20",
    "--report-every", "5",
    "--checkpoint-every", "20",
    "--metric", "recon",
    "--score-every", "0",
    "--batch-size", "64",
]  # fmt: skip


def _trials(sweep_dir: Path) -> list[dict]:
    try:
        return read_table(sweep_dir / "trials.parquet", "trials").to_pylist()
    except SchemaError:  # not written yet
        return []


def test_a_killed_driver_resumes_with_no_row_lost_or_repeated(ray_tmpdir, tmp_path, capsys):
    storage, name = tmp_path / "sweeps", "killed"
    sweep_dir = storage / name
    command = [sys.executable, "-c", "from sweep.cli import main; main()"]
    # Tune saves its experiment state every second instead of every 10 (TUNE_GLOBAL_CHECKPOINT_S),
    # so the kill can come after a state that knows a trial's checkpoint.
    env = {**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "1"}
    driver = subprocess.Popen(
        [*command, *SWEEP, "--storage", str(storage), "--name", name],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill reaches only what it started
    )
    victim = None
    try:
        deadline = time.monotonic() + 240
        seen: dict[str, float] = {}  # trial id -> when a checkpoint of it was first on disk
        while victim is None and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.1)
            states = list((sweep_dir / "tune").glob("experiment_state-*.json"))
            saved_at = max((p.stat().st_mtime for p in states), default=0.0)
            for trial in _trials(sweep_dir):
                if trial["status"] != "running" or not 20 <= (trial["steps_done"] or 0) < 80:
                    continue
                seen.setdefault(trial["trial_id"], time.time())
                # Tune saved its state since: the resumed trial must start from a checkpoint.
                if saved_at > seen[trial["trial_id"]] + 0.05:
                    victim = trial
        assert victim is not None, "no trial was caught between two checkpoints"
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()

    before = read_dataset(sweep_dir / "results").to_pylist()
    assert main(["resume", name, "--storage", str(storage)]) == 0
    out = capsys.readouterr().out
    assert f"sweep {name}: 3 trials" in out and f"report   sweep report {name}" in out

    rows = read_dataset(sweep_dir / "results").to_pylist()
    keys = [(r["trial_id"], r["step"]) for r in rows]
    # In the files, not only as read_dataset (which drops repeats) shows them.
    assert sorted(read_written_keys(str(sweep_dir))) == sorted(keys)
    assert len(keys) == len(set(keys))  # nothing written twice
    assert {(r["trial_id"], r["step"]) for r in before} <= set(keys)  # nothing lost
    trials = read_table(sweep_dir / "trials.parquet", "trials").to_pylist()
    assert len(trials) == 3
    for trial in trials:
        assert trial["status"] in ("terminated", "stopped-early"), trial
        steps = sorted(s for t, s in keys if t == trial["trial_id"])
        assert steps == list(range(5, trial["steps_done"] + 1, 5))  # every report, once
    resumed = [r for r in rows if r["trial_id"] == victim["trial_id"] and r["restored_from_step"]]
    assert resumed, "the trial caught mid-run did not continue from a checkpoint"
    assert {r["restored_from_step"] for r in resumed} <= {20, 40, 60, 80}
    assert min(r["step"] for r in resumed) > min(r["restored_from_step"] for r in resumed)

    # Compacted and pruned after the kill too: one result file; the latest and the best
    # checkpoint of each trial (with --score-every 0 only the latest: nothing is scored).
    parts = [p for p in (sweep_dir / "results").iterdir() if not p.name.startswith(".")]
    assert len(parts) == 1
    for trial in trials:
        kept = list((sweep_dir / "tune" / trial["trial_id"]).glob("checkpoint_*"))
        assert [sweep_dir / trial["checkpoint_path"]] == kept

    # Running the finished sweep again with --resume and the same options changes nothing.
    assert main([*SWEEP, "--storage", str(storage), "--name", name, "--resume"]) == 0
    assert sorted(read_written_keys(str(sweep_dir))) == sorted(keys)
