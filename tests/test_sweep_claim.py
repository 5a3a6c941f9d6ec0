"""One driver per sweep (sweep.store.claim): a new sweep's name is taken atomically, a live
driver's claim refuses a second one before Ray starts, a dead driver's claim is replaced."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import sweep.tune.run
from sweep.cli import main
from sweep.errors import UserError
from sweep.spec import SweepSpec
from sweep.store.claim import LOCK_FILE, SweepClaim, SweepExists, _start_time, claimed


@pytest.fixture
def no_ray(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started")

    monkeypatch.setattr(sweep.tune.run, "ray_session", refuse)


@pytest.fixture
def live_process():
    """Another process on this host, standing in for a running driver."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def write_lock(sweep_dir: Path, **holder) -> Path:
    sweep_dir.mkdir(parents=True, exist_ok=True)
    values = {"host": socket.gethostname(), "since": "2026-01-01T00:00:00+00:00"}
    values |= {"command": "sweep run --name s", "token": "t", **holder}
    lock = sweep_dir / LOCK_FILE
    lock.write_text(json.dumps(values))
    return lock


def write_sweep_json(root: Path, name: str, created_as: Path | None = None) -> None:
    """A sweep.json as `sweep run` writes it, for the sweep created at `created_as`."""
    created_as = created_as or root / name
    spec = SweepSpec.from_dict(
        {
            "name": created_as.name,
            "storage": str(created_as.parent),
            "beta": "1..4",
            "beta_norm": None,
            "latent": "4",
            "samples": 2,
            "max_steps": 20,
            "grace_steps": 10,
            "reduction_factor": 2,
            "metric": "recon",
            "search": "random",
            "concurrency": 2,
            "cpus_per_trial": 1.0,
            "gpus_per_trial": 0.0,
            "address": None,
            "seed": 0,
            "max_failures": 0,
            "trial": {},
        }
    )
    sweep.tune.run.write_spec(spec, str(root / name))


def test_a_new_name_is_taken_once_and_an_unused_claim_leaves_nothing(tmp_path):
    root = tmp_path / "a" / "b"
    first = SweepClaim(str(root), "s")
    first.create()
    lock = json.loads((root / "s" / LOCK_FILE).read_text())
    assert lock["pid"] > 0 and lock["host"] == socket.gethostname()
    with pytest.raises(SweepExists):
        SweepClaim(str(root), "s").create()
    assert sorted(p.name for p in root.iterdir()) == ["s"]  # no staging directory left
    first.release()
    assert list(tmp_path.iterdir()) == []  # the directories it created went with it


def test_a_sweep_that_started_keeps_its_files_and_loses_only_the_lock(tmp_path):
    with claimed(str(tmp_path), "s", new=True):
        (tmp_path / "s" / "sweep.json").write_text("{}")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["sweep.json"]
    with claimed(str(tmp_path), "s", new=False):
        assert (tmp_path / "s" / LOCK_FILE).is_file()
    assert not (tmp_path / "s" / LOCK_FILE).exists()


def test_a_live_drivers_claim_refuses_a_second(tmp_path, live_process):
    lock = write_lock(
        tmp_path / "s", pid=live_process.pid, pid_started=_start_time(live_process.pid)
    )
    before = lock.read_text()
    with pytest.raises(UserError, match=r"sweep 's' is being run by another driver \(pid "):
        SweepClaim(str(tmp_path), "s").acquire()
    assert lock.read_text() == before


def test_a_dead_drivers_claim_is_replaced(tmp_path, capsys, live_process):
    for holder in (
        {"pid": dead_pid()},
        {"pid": live_process.pid, "pid_started": "1"},  # the pid now names another process
    ):
        lock = write_lock(tmp_path / "s", **holder)
        with claimed(str(tmp_path), "s", new=False) as claim:
            assert json.loads(lock.read_text())["token"] == claim.holder["token"]
        assert "replacing the stale claim" in capsys.readouterr().err
        assert not lock.exists()


def test_another_hosts_claim_is_respected_and_the_error_names_the_file(tmp_path):
    lock = write_lock(tmp_path / "s", host="elsewhere", pid=1)
    with pytest.raises(UserError) as caught:
        SweepClaim(str(tmp_path), "s").acquire()
    message = str(caught.value)
    assert "claimed by a driver on another host (pid 1 on elsewhere" in message
    assert f"if it no longer runs, delete {lock} and try again" in message


@pytest.mark.parametrize("command", ["resume", "run"])
def test_resume_while_a_driver_runs_is_refused_before_ray(
    tmp_path, capsys, no_ray, live_process, command
):
    write_sweep_json(tmp_path, "s")
    write_lock(tmp_path / "s", pid=live_process.pid, pid_started=_start_time(live_process.pid))
    before = sorted(p.name for p in (tmp_path / "s").iterdir())
    argv = ["resume", "s"] if command == "resume" else ["run", "--name", "s", "--resume"]
    argv += ["--storage", str(tmp_path)]
    if command == "run":
        argv += ["--beta", "1..4", "--latent", "4", "--samples", "2", "--max-steps", "20"]
        argv += ["--grace-steps", "10", "--metric", "recon", "--search", "random"]
        argv += ["--max-failures", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert re.match(r"sweep: error: sweep 's' is being run by another driver \(pid \d+ on ", err)
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == before


@pytest.mark.parametrize(
    "storage", ["/proc/betasweep-forbidden", "/proc/sys/betasweep/sweeps", "{tmp}/afile/sub"]
)
def test_storage_that_cannot_be_written_fails_before_ray_even_for_root(
    tmp_path, capsys, no_ray, storage
):
    (tmp_path / "afile").write_text("not a directory")
    storage = storage.replace("{tmp}", str(tmp_path))
    assert main(["run", "--storage", storage, "--name", "x", "--beta", "1..4"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"sweep: error: --storage {storage}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    assert not Path(storage).exists()


def test_object_store_claims_refuse_a_second_driver(monkeypatch):
    """The s3:// and gs:// path (check, write, read back) on an in-memory object store that
    pyarrow reaches through its FileSystem interface, as it reaches S3 and GCS."""
    import fsspec
    import pyarrow.fs as pafs

    from sweep.store import claim, storage

    memory = pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem("memory")))
    monkeypatch.setattr(storage, "_fs", lambda location: (memory, location.split("://")[1]))
    monkeypatch.setattr(claim, "REMOTE_SETTLE_S", 0.0)
    root, lock = "s3://bucket/sweeps", "s3://bucket/sweeps/s/" + LOCK_FILE
    first = SweepClaim(root, "s")
    first.create()
    assert json.loads(storage.read_bytes(lock))["token"] == first.holder["token"]
    with pytest.raises(SweepExists):
        SweepClaim(root, "s").create()
    with pytest.raises(UserError, match="is being run by another driver"):
        SweepClaim(root, "s").acquire()
    first.release()
    assert not storage.exists(lock)
    stale = {"host": socket.gethostname(), "pid": dead_pid(), "token": "t"}
    storage.write_bytes(lock, json.dumps(stale).encode())
    with claimed(root, "s", new=False) as second:
        assert json.loads(storage.read_bytes(lock))["token"] == second.holder["token"]
    assert not storage.exists(lock)


def test_a_writer_opening_leaves_another_writers_fresh_temporaries_and_parts(tmp_path):
    import os
    import time

    from sweep.store.writer import SweepWriter
    from trainables.config import TrialConfig

    results = tmp_path / "s" / "results"
    results.mkdir(parents=True)
    fresh, old = results / ".part-000001.parquet.1a2b3c4d.tmp", results / ".x.parquet.9.tmp"
    fresh.write_bytes(b"being written")
    old.write_bytes(b"left by a killed writer")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    config = TrialConfig(beta=4.0, latent_size=4, steps=40, batch_size=16).to_dict()
    one, two = (SweepWriter(str(tmp_path / "s"), "s", flush_seconds=3600) for _ in range(2))
    one.open()
    two.open()
    assert fresh.exists() and not old.exists()
    for writer, trial in ((one, "a"), (two, "b")):  # both computed part 1 when they opened
        writer.add_result(trial, config, {"step": 10, "recon": 1.0, "diverged": False})
        writer.flush()
    parts = sorted(p.name for p in results.glob("part-*.parquet"))
    assert parts == ["part-000001.parquet", "part-000002.parquet"]


# Two real drivers on one sweep name, started together: one runs the sweep, the other and a
# `sweep resume` started while it runs are refused, and every row the winner reports is on
# disk. Tiny: 2 trials of 20 steps at batch 16, the only Ray in this file.
DRIVER = [sys.executable, "-c", "from sweep.cli import main; main()"]
SWEEP = [
    "run",
    "--search", "random",
    "--beta", "1..50",
    "--latent", "4",
    "--samples", "2",
    "--max-steps", "20",
    "--grace-steps", "10",
    "--metric", "recon",
    "--score-every", "0",
    "--batch-size", "16",
    "--name", "dup",
]  # fmt: skip


@pytest.mark.slow
def test_two_drivers_on_one_name_one_is_refused_and_no_row_is_lost(tmp_path, ray_tmpdir):
    import time

    from sweep.store.parquet import read_dataset, read_table

    storage = tmp_path / "sweeps"
    argv = [*SWEEP, "--storage", str(storage)]
    drivers = [
        subprocess.Popen(
            [*DRIVER, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        # The loser is refused within seconds, before Ray: it never needs the winner to end.
        deadline = time.monotonic() + 120
        while all(d.poll() is None for d in drivers) and time.monotonic() < deadline:
            time.sleep(0.1)
        loser = next(d for d in drivers if d.poll() is not None)
        winner = next(d for d in drivers if d is not loser)
        out, err = loser.communicate()
        assert loser.returncode == 2, err
        assert re.fullmatch(
            r"sweep: error: sweep 'dup' already exists under .*: continue it with .*\n", err
        )
        assert winner.poll() is None, "the winner ended before the loser was refused"
        resumed = subprocess.run(
            [*DRIVER, "resume", "dup", "--storage", str(storage)], capture_output=True, text=True
        )
        assert resumed.returncode == 2, resumed.stderr
        assert re.fullmatch(
            r"sweep: error: sweep 'dup' is being run by another driver \(pid "
            rf"{winner.pid} on .*\)\; wait for it to end, or stop it first\n",
            resumed.stderr,
        )
        out, err = winner.communicate(timeout=300)
    finally:
        for driver in drivers:
            driver.kill()
            driver.wait()
    assert winner.returncode == 0, err
    reported = int(re.search(r"sweep dup: 2 trials \(.*\), (\d+) result rows", out).group(1))
    rows = read_dataset(storage / "dup" / "results").to_pylist()
    trials = read_table(storage / "dup" / "trials.parquet", "trials").to_pylist()
    assert len(rows) == reported
    assert len(trials) == 2
    assert all(t["status"] in ("terminated", "stopped-early") for t in trials), trials
    for trial in trials:
        steps = sorted(r["step"] for r in rows if r["trial_id"] == trial["trial_id"])
        assert steps == list(range(10, trial["steps_done"] + 1, 10))  # every report, once
    assert not (storage / "dup" / LOCK_FILE).exists()  # released at the end
