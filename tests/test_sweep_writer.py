"""The sweep's Parquet writer with synthetic results (no Ray cluster): one row per
(trial, step) across retries and driver restarts, trial statuses, files every reader opens."""

from __future__ import annotations

import os
import pickle
import threading

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from sweep.store import storage
from sweep.store.parquet import read_dataset, read_table, rows_to_table, write_table
from sweep.store.schema import RESULTS_SCHEMA, TRIALS_SCHEMA
from sweep.store.summary import read_summary, status_table
from sweep.store.writer import SweepWriter, read_written_keys
from trainables.config import TrialConfig

CONFIG = TrialConfig(beta=4.0, latent_size=4, steps=40, batch_size=16).to_dict()


def result(step: int, score: float | None = None, **extra) -> dict:
    return {
        "step": step,
        "recon": 1000.0 - step,
        "kl": 1.0,
        "kl_per_latent": [0.25] * 4,
        "elbo": -(1001.0 - step),
        "loss": 1004.0 - step,
        "capacity": None,
        "score": score,
        "score_train": score,
        "score_protocol": None if score is None else "higgins tiny",
        "images_per_s": 100.0,
        "diverged": False,
        "node": "host",
        "node_id": "n1",
        "wall_time": float(step),
        "reported_at": 1_800_000_000.0 + step,
        **extra,
    }


def open_writer(tmp_path) -> SweepWriter:
    writer = SweepWriter(str(tmp_path / "s"), "s", flush_seconds=3600)
    writer.open()
    return writer


def test_rows_are_buffered_until_a_checkpoint_then_readable_by_every_reader(tmp_path):
    writer = open_writer(tmp_path)
    writer.running("a", CONFIG)
    assert writer.add_result("a", CONFIG, result(10))
    assert not (tmp_path / "s" / "results").exists()  # buffered: no checkpoint yet
    assert writer.add_result("a", CONFIG, result(20, score=0.5))
    writer.checkpoint("a", CONFIG, str(tmp_path / "ckpt20"))
    results = tmp_path / "s" / "results"
    assert [p.name for p in results.iterdir()] == ["part-000001.parquet"]

    assert len(pd.read_parquet(results)) == 2
    assert ds.dataset(results).to_table().num_rows == 2
    assert duckdb.sql(f"select count(*) from read_parquet('{results}/*.parquet')").fetchall() == [
        (2,)
    ]
    table = read_dataset(results)
    assert table.schema.equals(RESULTS_SCHEMA, check_metadata=False)
    row = table.to_pylist()[1]
    assert (row["sweep"], row["trial_id"], row["step"], row["score"]) == ("s", "a", 20, 0.5)
    assert (row["beta"], row["beta_norm"], row["latent_size"]) == (4.0, 4 * 4 / 4096, 4)
    assert row["kl_per_latent"] == [0.25] * 4 and row["node_id"] == "n1"

    trials = read_table(tmp_path / "s" / "trials.parquet", "trials")
    assert trials.schema.equals(TRIALS_SCHEMA, check_metadata=False)
    (summary,) = trials.to_pylist()
    assert summary["status"] == "running" and summary["steps_done"] == 20
    assert summary["checkpoint_path"] == str(tmp_path / "ckpt20")


def test_a_killed_driver_loses_no_row_and_a_restored_trial_duplicates_none(tmp_path):
    first = open_writer(tmp_path)
    for step in (10, 20):
        first.add_result("a", CONFIG, result(step))
    first.checkpoint("a", CONFIG, "ckpt20")
    first.add_result("a", CONFIG, result(30))  # buffered when the driver dies: never written
    del first

    second = open_writer(tmp_path)  # a resumed sweep: the trial restarts from step 20's checkpoint
    assert not second.add_result("a", CONFIG, result(20))  # already on disk
    for step in (30, 40):
        assert second.add_result("a", CONFIG, result(step, restored_from_step=20))
    assert not second.add_result("a", CONFIG, result(40))  # a retry reporting it again
    second.finished("a", CONFIG)

    keys = read_written_keys(str(tmp_path / "s"))
    assert sorted(keys) == [("a", 10), ("a", 20), ("a", 30), ("a", 40)]
    rows = {r["step"]: r for r in read_dataset(tmp_path / "s" / "results").to_pylist()}
    assert rows[20]["restored_from_step"] is None and rows[30]["restored_from_step"] == 20
    (summary,) = read_table(tmp_path / "s" / "trials.parquet", "trials").to_pylist()
    assert (summary["status"], summary["steps_done"], summary["stopped_early"]) == (
        "terminated",
        40,
        False,
    )


def test_statuses_and_best_scores(tmp_path):
    writer = open_writer(tmp_path)
    for trial in "abcd":
        writer.observe(trial, CONFIG)
    writer.flush()
    assert {t["status"] for t in read_summary(str(tmp_path / "s"), "s").trials} == {"pending"}

    for step, score in ((10, 0.4), (20, 0.7), (30, 0.6), (40, 0.65)):
        writer.add_result("a", CONFIG, result(step, score))
    writer.finished("a", CONFIG)
    writer.add_result("b", CONFIG, result(10, 0.3))
    writer.finished("b", CONFIG)  # ASHA stopped it at its first rung
    writer.add_result("c", CONFIG, result(10))
    nan_report = result(20, diverged=True, message="diverged: non-finite loss at step 17")
    writer.add_result("c", CONFIG, {**nan_report, "recon": None, "elbo": None})
    writer.finished("c", CONFIG)
    writer.running("d", CONFIG)
    writer.finished("d", CONFIG, error="RuntimeError: CUDA out of memory", failures=3)

    summary = read_summary(str(tmp_path / "s"), "s")
    by_id = {t["trial_id"]: t for t in summary.trials}
    assert by_id["a"]["status"] == "terminated"
    assert (by_id["a"]["last_score"], by_id["a"]["best_score"], by_id["a"]["best_score_step"]) == (
        0.65,
        0.7,
        20,
    )
    assert by_id["b"]["status"] == "stopped-early" and by_id["b"]["stopped_early"]
    assert by_id["c"]["status"] == "diverged" and "step 17" in by_id["c"]["message"]
    assert by_id["d"]["status"] == "error" and by_id["d"]["failures"] == 3
    table = status_table(summary)
    assert "stopped-early" in table and "d: RuntimeError: CUDA out of memory" in table
    assert "4 trials: 1 terminated, 1 stopped-early, 1 diverged, 1 error; 7 result rows" in table


def test_stale_temporaries_are_removed_and_never_read(tmp_path):
    writer = open_writer(tmp_path)
    writer.add_result("a", CONFIG, result(10))
    writer.flush()
    stale = tmp_path / "s" / "results" / ".part-000002.parquet.1234abcd.tmp"
    stale.write_bytes(b"half a file")
    os.utime(stale, (0, 0))  # a killed writer's, long ago (a fresh one may be in progress)
    assert len(storage.list_files(str(tmp_path / "s" / "results"), ".parquet")) == 1
    open_writer(tmp_path)
    assert not stale.exists()


def test_the_callback_pickles_only_its_settings(tmp_path):
    pytest.importorskip("ray")
    from sweep.tune.callback import ParquetCallback

    callback = ParquetCallback(str(tmp_path / "s"), "s")
    callback.setup()
    callback.writer.add_result("a", CONFIG, result(10))
    clone = pickle.loads(pickle.dumps(callback))
    assert clone._writer is None and clone.sweep_dir == callback.sweep_dir


def test_checkpoint_paths_are_relative_to_the_sweep(tmp_path):
    pytest.importorskip("ray")
    from types import SimpleNamespace

    from sweep.tune.callback import checkpoint_location

    def checkpoint(kind: str, path: str) -> SimpleNamespace:
        return SimpleNamespace(filesystem=SimpleNamespace(type_name=kind), path=path)

    local = checkpoint("local", "/data/sweeps/s/tune/a1/checkpoint_000002")
    assert checkpoint_location(local, "/data/sweeps/s") == "tune/a1/checkpoint_000002"
    remote = checkpoint("s3", "bucket/sweeps/s/tune/a1/checkpoint_000002")
    assert checkpoint_location(remote, "s3://bucket/sweeps/s") == "tune/a1/checkpoint_000002"
    elsewhere = checkpoint("local", "/other/checkpoint_000001")
    assert checkpoint_location(elsewhere, "/data/sweeps/s") == "/other/checkpoint_000001"


def test_what_tune_sees_is_numeric_and_what_parquet_keeps_is_faithful(tmp_path):
    import math

    from sweep.tune.trainable import tune_payload

    state = {
        "node": "host",
        "node_id": "n1",
        "first_started": 100.0,
        "latest_score": None,
        "restored_from_step": None,
    }
    first = tune_payload(result(10), state, now=103.0)
    assert math.isnan(first["latest_score"]) and first["latest_recon"] == 990.0
    assert first["wall_time"] == 3.0 and first["score"] is None
    scored = tune_payload(result(20, score=0.6), state, now=104.0)
    carried = tune_payload(result(30), state, now=105.0)
    assert scored["latest_score"] == carried["latest_score"] == 0.6  # carried for ASHA
    assert carried["score"] is None  # ... but not into the Parquet row
    diverged = {**result(37, diverged=True, message="diverged"), "recon": None, "elbo": None}
    payload = tune_payload(diverged, state, now=106.0)
    assert math.isnan(payload["latest_recon"]) and math.isnan(payload["latest_elbo"])

    writer = open_writer(tmp_path)
    for report in (first, scored, carried, payload):
        writer.add_result("a", CONFIG, report)
    writer.finished("a", CONFIG)
    rows = read_dataset(tmp_path / "s" / "results").to_pylist()
    assert [r["score"] for r in rows] == [None, 0.6, None, None]
    assert rows[-1]["recon"] is None and rows[-1]["diverged"]
    (summary,) = read_table(tmp_path / "s" / "trials.parquet", "trials").to_pylist()
    assert summary["status"] == "diverged" and summary["message"] == "diverged"


def test_active_units_travel_with_the_score_to_results_trials_and_status(tmp_path):
    writer = open_writer(tmp_path)
    writer.add_result("a", CONFIG, result(10, 0.6, active_units=3))
    writer.add_result("a", CONFIG, result(20, 0.21, active_units=0))
    writer.add_result("a", CONFIG, result(30))  # no score at this step: units stay
    writer.finished("a", CONFIG)
    rows = {r["step"]: r for r in read_dataset(tmp_path / "s" / "results").to_pylist()}
    assert [rows[s]["active_units"] for s in (10, 20, 30)] == [3, 0, None]
    summary = read_summary(str(tmp_path / "s"), "s")
    (trial,) = summary.trials
    assert (trial["last_score"], trial["last_active_units"]) == (0.21, 0)
    header, line = status_table(summary).splitlines()[:2]
    assert header.split()[7:9] == ["score", "active"]
    assert line.split()[7:9] == ["0.21", "0/4"]


def test_a_file_replaced_while_it_is_read_is_read_whole(tmp_path):
    """The driver rewrites trials.parquet (a rename) while `sweep report` or a monitoring
    script reads it: every read sees one whole version, old or new, never a mix."""
    path = tmp_path / "trials.parquet"
    rows = {
        n: [{"sweep": "s", "trial_id": f"t{i}", "step": i} for i in range(n)] for n in (5, 3000)
    }
    versions = {n: rows_to_table(r, RESULTS_SCHEMA) for n, r in rows.items()}
    write_table(versions[5], path)
    stop = threading.Event()

    def rewrite() -> None:
        while not stop.is_set():
            for table in versions.values():
                write_table(table, path)

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        seen = [read_table(path, "results").num_rows for _ in range(400)]
    finally:
        stop.set()
        writer.join()
    assert set(seen) <= set(versions)
