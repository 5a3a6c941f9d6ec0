"""`sweep run --log tensorboard,mlflow,wandb`: one small real sweep (a subprocess, as a user
runs it) with early stops, its numbers read back from each tracker's own files without
any network, and what the user sees: no traceback, an honest concurrency line, and every
trial's scoring progress in its trial.log."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from sweep.cli import main
from sweep.store.parquet import read_dataset, read_table
from sweep.store.schema import METRIC_COLUMNS

pytestmark = pytest.mark.slow

NAME = "tracked"
# Sequential trials: ASHA sees them in one order, so with this seed the second trial
# (β 52 after β 21) has the worse reconstruction at step 10 and is stopped there every
# time (asserted below); the test cannot flake on it.
SWEEP = [
    "run",
    "--beta", "1..250",
    "--latent", "4",
    "--samples", "2",
    "--metric", "recon",
    "--max-steps", "20",
    "--grace-steps", "10",
    "--concurrency", "1",
    "--batch-size", "16",
    "--seed", "0",
    "--log", "tensorboard,mlflow,wandb",
]  # fmt: skip
# Every number a trial reports (and Parquet keeps) must reach each tracker: the active
# units or any metric added later are covered as soon as they are in METRIC_COLUMNS.
CLI = "import sys; from sweep.cli import main; sys.exit(main())"
NUMERIC = [
    f.name
    for f in METRIC_COLUMNS
    if f.name != "step" and (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, ray_tmpdir):
    root = tmp_path_factory.mktemp("tracked")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WANDB_"))}
    env.update(
        WANDB_MODE="offline",  # nothing leaves the machine; runs stay on disk
        WANDB_CONFIG_DIR=str(root / "wandb-config"),
        WANDB_CACHE_DIR=str(root / "wandb-cache"),
        WANDB_DATA_DIR=str(root / "wandb-data"),
        XDG_CACHE_HOME=str(root / "cache"),
        OMP_NUM_THREADS="1",
    )
    storage = root / "sweeps"
    done = subprocess.run(
        [sys.executable, "-c", CLI, *SWEEP, "--storage", str(storage), "--name", NAME],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    sweep_dir = storage / NAME
    results = read_dataset(sweep_dir / "results").to_pylist()
    trials = read_table(sweep_dir / "trials.parquet", "trials").to_pylist()
    by_trial: dict[str, list[dict]] = {}
    for row in sorted(results, key=lambda r: (r["trial_id"], r["step"])):
        by_trial.setdefault(row["trial_id"], []).append(row)
    return {"done": done, "dir": sweep_dir, "trials": trials, "rows": by_trial}


def expected(rows: list[dict], metric: str) -> list[tuple[int, float]]:
    return [(r["step"], float(r[metric])) for r in rows if r[metric] is not None]


def test_the_sweep_runs_with_early_stops_and_prints_no_traceback(sweep):
    done = sweep["done"]
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert any(t["status"] == "stopped-early" for t in sweep["trials"])
    assert "Traceback" not in output and "Exception ignored" not in output, output
    assert "SystemExit" not in output
    assert "per trial, ≤1 at once;" in done.stderr  # --concurrency 1


def test_every_trial_logs_its_scoring_progress(sweep):
    for trial in sweep["trials"]:
        log = (sweep["dir"] / "tune" / trial["trial_id"] / "trial.log").read_text()
        scores = len(sweep["rows"][trial["trial_id"]])  # every report is a scoring step here
        assert log.count("score tiny: encoding") == scores
        assert log.count("images encoded in") == scores


def test_tensorboard_event_files_hold_every_report(sweep):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for trial_id, rows in sweep["rows"].items():
        events = EventAccumulator(str(sweep["dir"] / "tune" / trial_id))
        events.Reload()
        for metric in NUMERIC:
            want = expected(rows, metric)
            if not want:
                continue
            got = [(e.step, e.value) for e in events.Scalars(f"ray/tune/{metric}")]
            assert [s for s, _ in got] == [s for s, _ in want], metric
            assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-6)


def test_mlflow_holds_a_run_per_trial_with_its_config_and_metrics(sweep):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{sweep['dir'] / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(NAME)
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert len(runs) == len(sweep["trials"])
    for trial in sweep["trials"]:
        run = runs[f"run_trial_{trial['trial_id']}"]
        assert run.info.status == "FINISHED" and run.data.tags["sweep"] == NAME
        assert float(run.data.params["beta"]) == trial["beta"]
        assert int(run.data.params["latent_size"]) == trial["latent_size"]
        assert run.data.params["batch_size"] == "16"
        rows = sweep["rows"][trial["trial_id"]]
        for metric in NUMERIC:
            history = client.get_metric_history(run.info.run_id, metric)
            assert [(m.step, m.value) for m in history] == expected(rows, metric), metric


def wandb_records(path: Path):
    """The records of a W&B offline run file (.wandb): LevelDB's log format, 32 KiB blocks
    of chunks with a 7-byte header (CRC, length, type), after W&B's 7-byte file header."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    position, record, block = 7, b"", 32 * 1024
    while position + 7 <= len(data):
        room = block - position % block
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if room < 7 or (kind == 0 and length == 0):  # padding to the next block
            position += room
            continue
        record += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or its last chunk
            parsed = wandb_internal_pb2.Record()
            parsed.ParseFromString(record)
            yield parsed
            record = b""


def item_key(item) -> str:
    return item.key or "/".join(item.nested_key)  # W&B fills one or the other


def test_wandb_offline_runs_hold_config_and_metrics(sweep):
    for trial in sweep["trials"]:
        (run_dir,) = (sweep["dir"] / "wandb").glob(f"offline-run-*-{trial['trial_id']}")
        (run_file,) = run_dir.glob("*.wandb")
        config, history, group = {}, [], None
        for record in wandb_records(run_file):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                group = record.run.run_group
            elif kind == "config":
                config.update({item_key(i): json.loads(i.value_json) for i in record.config.update})
            elif kind == "history":
                history.append({item_key(i): json.loads(i.value_json) for i in record.history.item})
        assert group == NAME
        assert config["beta"] == trial["beta"] and config["latent_size"] == trial["latent_size"]
        rows = sweep["rows"][trial["trial_id"]]
        for metric in NUMERIC:
            got = [(h["step"], h[metric]) for h in history if h.get(metric) is not None]
            assert got == expected(rows, metric), metric


def test_an_unknown_or_missing_tracker_is_one_line_before_ray(tmp_path, capsys, monkeypatch):
    storage = tmp_path / "sweeps"
    assert main(["run", "--storage", str(storage), "--log", "tensorboard,comet"]) == 2
    assert capsys.readouterr().err.strip() == (
        "sweep: error: --log tensorboard,comet: unknown tracker 'comet'; "
        "expected some of tensorboard,mlflow,wandb"
    )
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a)
    )
    assert main(["run", "--storage", str(storage), "--log", "mlflow"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "sweep: error: --log mlflow: the mlflow package is not installed "
        "(pip install 'betasweep[mlflow]')"
    ]
    assert "ray" not in sys.modules or not __import__("ray").is_initialized()
    assert not storage.exists() or not any(storage.iterdir())


def test_trackers_that_cannot_work_there_are_refused_before_ray(tmp_path, monkeypatch):
    from sweep.errors import UserError
    from sweep.tune import trackers

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(UserError, match=r"--log mlflow with storage s3://b/s/x: set MLFLOW_TRACK"):
        trackers.check(("mlflow",), "s3://b/s/x")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    trackers.check(("mlflow",), "s3://b/s/x")
    assert trackers.mlflow_uri("/s/x") == "http://mlflow.example:5000"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert trackers.mlflow_uri("/s/x") == "sqlite:////s/x/mlflow.db"

    for name in ("WANDB_MODE", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HOME", "WANDB_CONFIG_DIR", "NETRC"):  # no `wandb login` of the user's
        monkeypatch.setenv(name, str(tmp_path / name))
    with pytest.raises(UserError, match=r"--log wandb: no W&B API key; run `wandb login`"):
        trackers.check(("wandb",), str(tmp_path))
    monkeypatch.setenv("WANDB_MODE", "offline")
    trackers.check(("wandb",), str(tmp_path))


def test_the_trackers_are_part_of_the_sweep_spec():
    from test_sweep_spec import make_spec

    from sweep.errors import UserError
    from sweep.spec import SweepSpec

    spec = make_spec(trackers=("mlflow", "tensorboard"))
    saved = json.loads(json.dumps(spec.to_dict()))  # sweep.json: a list
    assert (
        SweepSpec.from_dict(saved) == spec and SweepSpec.from_dict(saved).trackers == spec.trackers
    )
    older = {k: v for k, v in saved.items() if k != "trackers"}  # a sweep.json from before
    assert SweepSpec.from_dict(older).trackers == ()
    with pytest.raises(UserError, match="--log 'comet'"):
        make_spec(trackers=("comet",))
