"""The Tune callback's own records: checkpoint locations on every storage, and what a failed
trial leaves in trials.parquet (its real error, where the full one is, its restarts)."""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow.fs as pafs
import pytest

pytest.importorskip("ray")

from sweep.tune.callback import checkpoint_location


@pytest.mark.parametrize(
    ("filesystem", "sweep_dir"),
    [
        (pafs.LocalFileSystem(), "/data/sweeps/s"),
        (pafs.S3FileSystem(anonymous=True, region="us-east-1"), "s3://bucket/sweeps/s"),
        (pafs.GcsFileSystem(anonymous=True), "gs://bucket/sweeps/s"),
    ],
)
def test_checkpoints_inside_the_sweep_are_relative_on_every_storage(filesystem, sweep_dir):
    base = sweep_dir.split("://")[-1]  # pyarrow's remote paths are bucket/key
    inside = SimpleNamespace(filesystem=filesystem, path=f"{base}/tune/a1/checkpoint_000002")
    assert checkpoint_location(inside, sweep_dir) == "tune/a1/checkpoint_000002"
    scheme = sweep_dir.split("://")[0] + "://" if "://" in sweep_dir else ""
    root = "/" if scheme == "" else ""
    outside = SimpleNamespace(filesystem=filesystem, path=f"{root}other/checkpoint_000001")
    assert checkpoint_location(outside, sweep_dir) == f"{scheme}{root}other/checkpoint_000001"


def test_a_failed_trial_records_its_error_its_file_and_its_restarts(ray_local, tmp_path, capsys):
    """A trial that fails on every try with --max-failures 1: restarted once, then failed."""
    from ray import tune

    from sweep.store.parquet import read_table
    from sweep.tune.callback import ParquetCallback
    from trainables.config import TrialConfig

    def always_fails(config):
        raise ValueError("bad.npz is not a dSprites archive: missing key(s) imgs\nsecond line")

    sweep_dir = tmp_path / "s"
    tuner = tune.Tuner(
        always_fails,
        param_space=TrialConfig(beta=4.0, latent_size=4, steps=20).to_dict(),
        tune_config=tune.TuneConfig(trial_dirname_creator=lambda trial: trial.trial_id),
        run_config=tune.RunConfig(
            name="tune",
            storage_path=str(sweep_dir),
            callbacks=[ParquetCallback(str(sweep_dir), "s")],
            failure_config=tune.FailureConfig(max_failures=1),
            verbose=0,
        ),
    )
    tuner.fit()
    (trial,) = read_table(sweep_dir / "trials.parquet", "trials").to_pylist()
    assert trial["status"] == "error"
    assert trial["failures"] == 1  # survived once by restarting; the second ended it
    error_file = sweep_dir / "tune" / trial["trial_id"] / "error.txt"
    assert trial["message"] == (
        f"ValueError: bad.npz is not a dSprites archive: missing key(s) imgs (see {error_file})"
    )
    assert error_file.is_file()
    err = capsys.readouterr().err
    assert "failed (ValueError: bad.npz is not a dSprites archive: missing key(s) imgs" in err
