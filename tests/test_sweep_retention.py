"""Checkpoint retention (sweep.tune.retention) with stand-ins for Tune's trial objects: the
policy, and the race it solves — a surplus checkpoint is deleted only once the experiment
state saved at the storage (what a resume reads) no longer names it."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow.fs as pafs
import pytest

from sweep.cli import main
from sweep.tune.retention import Retention, Saved, keep

FS = pafs.LocalFileSystem()


def saved(*scores):
    return [Saved(f"/c/checkpoint_{i:06d}", FS, s) for i, s in enumerate(scores)]


def paths(checkpoints):
    return [c.path.rsplit("_", 1)[-1] for c in checkpoints]


def test_policy_keeps_the_latest_and_the_best_scoring():
    checkpoints = saved(0.5, 0.9, 0.7, None)
    assert paths(keep(checkpoints, "best")) == ["000001", "000003"]
    assert paths(keep(checkpoints, "last")) == ["000003"]
    assert paths(keep(checkpoints, "all")) == ["000000", "000001", "000002", "000003"]
    assert paths(keep(saved(0.9, 0.9, 0.1), "best")) == ["000001", "000002"]  # latest of ties
    assert paths(keep(saved(None, None), "best")) == ["000001"]  # unscored: the latest only
    assert keep([], "best") == []


class FakeTrial:
    """What Retention reads of a Tune trial: its id and its checkpoint bookkeeping."""

    def __init__(self, trial_id: str):
        self.trial_id = trial_id
        self.run_metadata = SimpleNamespace(
            checkpoint_manager=SimpleNamespace(_checkpoint_results=[]),
            invalidate_cache=lambda: None,
        )

    def register(self, checkpoint, score):  # what Tune does after the callback's hook
        result = SimpleNamespace(checkpoint=checkpoint, metrics={"score": score})
        self.run_metadata.checkpoint_manager._checkpoint_results.append(result)

    def listed(self) -> list[str]:
        results = self.run_metadata.checkpoint_manager._checkpoint_results
        return [r.checkpoint.path for r in results]


def save_state(tune_dir: Path, trials: list[FakeTrial]) -> None:
    """A saved experiment state naming each trial's listed checkpoints, hex-encoded like the
    cloudpickled checkpoint objects in Tune's experiment_state-*.json."""
    names = [p.encode().hex() for t in trials for p in t.listed()]
    (tune_dir / "experiment_state-2026-01-01_00-00-00.json").write_text(json.dumps(names))


def test_a_checkpoint_goes_only_once_the_saved_state_no_longer_names_it(tmp_path):
    tune_dir = tmp_path / "tune"
    (tune_dir / "t1").mkdir(parents=True)
    retention = Retention(str(tune_dir), "best")
    trial = FakeTrial("t1")
    for step, score in enumerate([0.2, 0.8, 0.5]):
        path = tune_dir / "t1" / f"checkpoint_{step:06d}"
        path.mkdir()
        checkpoint = SimpleNamespace(path=str(path), filesystem=FS)
        retention.on_checkpoint(trial, checkpoint, score)
        trial.register(checkpoint, score)
        if step == 0:
            save_state(tune_dir, [trial])  # the state a resume would read names step 0
        retention.after_step([trial], force_check=True)
    on_disk = sorted(p.name for p in (tune_dir / "t1").iterdir())
    # Step 0 is surplus (neither best nor latest) and no longer in Tune's bookkeeping, but
    # the saved state still names it as the trial's checkpoint: it stays.
    assert trial.listed() == [str(tune_dir / "t1" / f"checkpoint_{i:06d}") for i in (1, 2)]
    assert on_disk == ["checkpoint_000000", "checkpoint_000001", "checkpoint_000002"]
    assert retention.pending() == [str(tune_dir / "t1" / "checkpoint_000000")]

    save_state(tune_dir, [trial])  # Tune saves again: the state names steps 1 and 2 only
    retention.after_step([trial], force_check=True)
    assert sorted(p.name for p in (tune_dir / "t1").iterdir()) == [
        "checkpoint_000001",
        "checkpoint_000002",
    ]
    assert retention.pending() == [] and retention.deleted == 1


def test_a_resumed_driver_deletes_what_a_killed_one_left_pending(tmp_path):
    tune_dir = tmp_path / "tune"
    trial_dir = tune_dir / "t1"
    for step in range(4):
        (trial_dir / f"checkpoint_{step:06d}").mkdir(parents=True)
    # The killed driver had pruned steps 0 and 1 and saved a state naming 2 only; step 3
    # was written after that save (a resumed trial writes it again): it must stay.
    trial = FakeTrial("t1")
    trial.register(SimpleNamespace(path=str(trial_dir / "checkpoint_000002"), filesystem=FS), 0.3)
    save_state(tune_dir, [trial])
    retention = Retention(str(tune_dir), "best")
    retention.after_step([trial], force_check=True)
    assert sorted(p.name for p in trial_dir.iterdir()) == ["checkpoint_000002", "checkpoint_000003"]


def test_all_keeps_every_checkpoint(tmp_path):
    tune_dir = tmp_path / "tune"
    retention = Retention(str(tune_dir), "all")
    trial = FakeTrial("t1")
    for step in range(3):
        path = tune_dir / "t1" / f"checkpoint_{step:06d}"
        path.mkdir(parents=True)
        checkpoint = SimpleNamespace(path=str(path), filesystem=FS)
        retention.on_checkpoint(trial, checkpoint, 0.1)
        trial.register(checkpoint, 0.1)
    save_state(tune_dir, [])
    retention.after_step([trial], force_check=True)
    assert len(list((tune_dir / "t1").iterdir())) == 3 and len(trial.listed()) == 3


@pytest.mark.parametrize("value", ["some", ""])
def test_a_bad_keep_checkpoints_is_one_line_before_ray(tmp_path, capsys, value):
    code = main(["run", "--keep-checkpoints", value, "--storage", str(tmp_path / "s")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sweep: error: --keep-checkpoints {value!r}: expected one of")
    assert not (tmp_path / "s").exists()
