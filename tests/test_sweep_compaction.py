"""Compaction of the result parts (sweep.store.compaction): one file per trial when it
ends, a few files for the sweep, no (trial, step) row lost or seen twice — also when the
process compacting is killed between publishing the compacted file and deleting parts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
from test_sweep_writer import CONFIG, result

from sweep.cli import main
from sweep.store import compaction
from sweep.store.parquet import read_dataset
from sweep.store.summary import read_summary
from sweep.store.writer import SweepWriter, read_written_keys


def write_sweep(sweep_dir: Path, trials: str = "abc", steps: int = 6, finish: bool = True) -> None:
    """Trials reporting every step with a checkpoint (a flush) every second step."""
    writer = SweepWriter(str(sweep_dir), "s", flush_seconds=3600)
    writer.open()
    for trial in trials:
        writer.running(trial, CONFIG)
    for step in range(1, steps + 1):
        for trial in trials:
            writer.add_result(trial, CONFIG, result(step))
            if step % 2 == 0:
                writer.checkpoint(trial, CONFIG, f"{trial}/ckpt{step}")
    if finish:
        for trial in trials:
            writer.finished(trial, CONFIG)


def names(results: Path) -> list[str]:
    return sorted(p.name for p in results.iterdir() if not p.name.startswith("."))


def expected(trials: str = "abc", steps: int = 6) -> list[tuple[str, int]]:
    return sorted((t, s) for t in trials for s in range(1, steps + 1))


def test_parts_are_per_trial_and_a_finished_trial_is_one_file(tmp_path):
    sweep_dir = tmp_path / "s"
    write_sweep(sweep_dir, finish=False)
    results = sweep_dir / "results"
    assert len(names(results)) == 9  # 3 trials × 3 checkpoints, one trial per part
    writer = SweepWriter(str(sweep_dir), "s", flush_seconds=3600)
    writer.open()  # a new driver finds each trial's parts
    writer.finished("a", CONFIG)
    files = names(results)
    assert len(files) == 7 and sum(n.startswith("compact-") for n in files) == 1
    assert sorted(read_written_keys(str(sweep_dir))) == expected()


def test_the_sweep_compacts_to_one_file_every_reader_reads_once(tmp_path):
    sweep_dir = tmp_path / "s"
    write_sweep(sweep_dir)
    results = sweep_dir / "results"
    assert len(names(results)) == 3  # one per finished trial
    writer = SweepWriter(str(sweep_dir), "s")
    writer.open()
    report = writer.close()
    assert (report.parts_before, report.parts_after, report.rows) == (3, 1, 18)
    assert len(names(results)) == 1
    assert sorted(read_written_keys(str(sweep_dir))) == expected()
    glob = f"{results}/*.parquet"
    assert duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchall() == [(18,)]
    assert len(pd.read_parquet(results)) == 18 and read_summary(str(sweep_dir), "s").rows == 18


def test_a_small_target_packs_whole_trials(tmp_path):
    sweep_dir = tmp_path / "s"
    write_sweep(sweep_dir, trials="abcdef")
    report = compaction.compact(str(sweep_dir / "results"), target_bytes=1)
    assert (report.parts_before, report.parts_after) == (6, 6)  # never a file per row
    for part in compaction.live_parts(str(sweep_dir / "results")):
        assert compaction.trial_of(part)[0] is not None  # one trial each: none split


KILL_AFTER_FIRST_DELETE = """
import os, signal, sys
from sweep.store import compaction, storage
real_delete = storage.delete
def delete_then_die(location):
    real_delete(location)
    os.kill(os.getpid(), signal.SIGKILL)  # killed with the compacted file in place
storage.delete = delete_then_die
compaction.compact(sys.argv[1])
"""


def test_a_compaction_killed_midway_loses_and_repeats_nothing(tmp_path):
    sweep_dir = tmp_path / "s"
    write_sweep(sweep_dir, finish=False)
    results = sweep_dir / "results"
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILL_AFTER_FIRST_DELETE), str(results)],
        cwd=Path(__file__).parents[1],
    )
    assert killed.returncode == -9
    files = names(results)
    assert len(files) == 9  # the compact file in place, one part deleted, 8 superseded left
    listing = compaction.list_parts(str(results))
    assert len(listing.live) == 1 and len(listing.superseded) == 8
    # Every reader sees each row once.
    assert sorted(read_written_keys(str(sweep_dir))) == expected()
    assert read_dataset(results).num_rows == 18 == read_summary(str(sweep_dir), "s").rows

    # The next driver numbers its parts above every superseded one, and its trials'
    # rows already written are not written again.
    writer = SweepWriter(str(sweep_dir), "s", flush_seconds=3600)
    writer.open()
    assert not writer.add_result("a", CONFIG, result(6))
    assert writer.add_result("a", CONFIG, result(7))
    writer.flush()
    assert "part-000010.parquet" in names(results)
    (sweep_dir / "sweep.json").write_text("{}")  # what makes a directory a sweep
    assert main(["compact", "s", "--storage", str(tmp_path)]) == 0  # finishes the deletes
    assert len(names(results)) == 1
    assert sorted(read_written_keys(str(sweep_dir))) == sorted([*expected(), ("a", 7)])


def test_compact_command_errors(tmp_path, capsys):
    assert main(["compact", "nope", "--storage", str(tmp_path)]) == 2
    assert "no sweep named 'nope'" in capsys.readouterr().err
    assert main(["compact", "nope", "--target-mb", "0", "--storage", str(tmp_path)]) == 2
    assert "--target-mb 0" in capsys.readouterr().err


def test_a_failing_compaction_warns_and_keeps_every_row(tmp_path, monkeypatch, capsys):
    sweep_dir = tmp_path / "s"
    write_sweep(sweep_dir, finish=False)

    def broken(*args, **kwargs):
        raise OSError("the bucket said no")

    writer = SweepWriter(str(sweep_dir), "s", flush_seconds=3600)
    writer.open()
    monkeypatch.setattr(compaction.storage, "read_parquet", broken)  # reading the parts fails
    writer.finished("a", CONFIG)  # the sweep goes on
    assert writer.close() is None
    monkeypatch.undo()
    assert capsys.readouterr().err.count("sweep: warning: compaction skipped") == 2
    assert len(names(sweep_dir / "results")) == 9
    assert sorted(read_written_keys(str(sweep_dir))) == expected()


def test_a_compaction_keeps_the_first_row_of_a_repeated_key_in_file_order(tmp_path):
    import pyarrow as pa

    from sweep.store.parquet import rows_to_table, write_table
    from sweep.store.schema import RESULTS_SCHEMA

    def rows(steps, recon):
        writer = SweepWriter(str(tmp_path / "w"), "s")
        made = []
        for step in steps:
            writer.add_result("a", CONFIG, result(step) | {"recon": recon})
            made += writer._buffers.pop("a")
            writer._max_step.clear()
        return made

    results = tmp_path / "results"
    # Two compactions racing on an object store could leave the same rows twice.
    write_table(
        rows_to_table(rows([3, 1, 2], 1.0), RESULTS_SCHEMA), results / "part-000001.parquet"
    )
    write_table(rows_to_table(rows([2, 4], 2.0), RESULTS_SCHEMA), results / "part-000002.parquet")
    table = compaction.dedupe(read_dataset(results))
    assert table["step"].to_pylist() == [3, 1, 2, 4]
    assert table["recon"].to_pylist() == [1.0, 1.0, 1.0, 2.0]
    compaction.compact(str(results))
    merged = read_dataset(results)
    assert list(zip(merged["step"].to_pylist(), merged["recon"].to_pylist(), strict=True)) == [
        (1, 1.0),
        (2, 1.0),
        (3, 1.0),
        (4, 2.0),
    ]
    assert isinstance(merged, pa.Table)
