"""A frontier sweep end to end through the CLI (`sweep run --metric recon,score`) on a
local 2-CPU Ray, with the synthetic trial in place of the β-VAE (sweep.tune.synthetic:
objectives are known functions of β, latent size and step), so every decision of
multi-objective ASHA can be recomputed by hand from the Parquet files; then the same sweep
interrupted (SIGINT, as Ctrl-C) and continued by `sweep resume`, deciding the same."""

from __future__ import annotations

import contextlib
import glob
import io
import json
import signal
from pathlib import Path

import pytest
import ray.cloudpickle as pickle

import sweep.tune.trainable
from sweep.cli import main
from sweep.multiobjective import fronts, promoted
from sweep.store.parquet import read_dataset, read_table
from sweep.store.writer import trial_config
from sweep.tune.callback import ParquetCallback
from sweep.tune.schedulers import rung_steps
from sweep.tune.synthetic import metrics_at, run_synthetic_trial
from trainables.config import config_fields

pytestmark = pytest.mark.slow

MAX_STEPS, GRACE, RF = 40, 10, 2
MAXIMIZE = (False, True)  # recon, score


SWEEP = [
    "run",
    "--metric", "recon,score",
    "--beta", "1..250",
    "--latent", "4..16",
    "--samples", "6",
    "--max-steps", str(MAX_STEPS),
    "--grace-steps", str(GRACE),
    "--reduction-factor", str(RF),
    "--concurrency", "1",  # one order of arrival at the rungs: the run repeats exactly
    "--seed", "0",
    "--max-failures", "0",
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def synthetic_trials():
    """Trials run sweep.tune.synthetic instead of training a β-VAE (Ray pickles the
    function by reference, so the workers import and run the synthetic one)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sweep.tune.trainable, "run_trial", run_synthetic_trial)
        yield


def run(storage: Path, name: str, expected: int = 0) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(out):
        assert main([*SWEEP, "--storage", str(storage), "--name", name]) == expected
    return read(storage / name)


def read(sweep_dir: Path) -> dict:
    trials = read_table(sweep_dir / "trials.parquet", "trials").to_pylist()
    results = read_dataset(sweep_dir / "results").to_pylist()
    first_report = {}
    for r in results:
        first_report[r["trial_id"]] = min(
            r["timestamp"], first_report.get(r["trial_id"], r["timestamp"])
        )
    # In the order they started; one created but not yet reporting (interrupted) last.
    order = sorted(
        trials,
        key=lambda t: (t["trial_id"] not in first_report, first_report.get(t["trial_id"]) or 0),
    )
    return {"dir": sweep_dir, "trials": order, "results": results}


def course(sweep: dict) -> list[tuple]:
    """Trials in the order they started: β, latent size, where they stopped."""
    return [(round(t["beta"], 9), t["latent_size"], t["steps_done"]) for t in sweep["trials"]]


@pytest.fixture(scope="module")
def first(ray_local, tmp_path_factory):
    return run(tmp_path_factory.mktemp("sweeps"), "frontier")


def objectives(trial: dict, step: int) -> tuple[float, float]:
    """(recon, score) the trial reported at `step`: the known synthetic functions."""
    config = trial_config({f.name: trial[f.name] for f in config_fields()})
    values = metrics_at(config, step)
    return values["recon"], values["score"]


def test_every_decision_is_the_multi_objective_rule_replayed_by_hand(first):
    trials = first["trials"]
    assert len(trials) == 6
    assert {t["status"] for t in trials} <= {"terminated", "stopped-early"}
    assert any(t["status"] == "stopped-early" for t in trials)
    records: dict[int, list[tuple[float, float]]] = {
        r: [] for r in rung_steps(GRACE, MAX_STEPS, RF)
    }
    for trial in trials:  # concurrency 1: each trial meets the rungs after the earlier ones
        stopped_at = None
        for rung, recorded in records.items():
            recorded.append(objectives(trial, rung))
            if not promoted(recorded, MAXIMIZE, len(recorded) - 1, RF):
                stopped_at = rung
                break
        expected = stopped_at or MAX_STEPS
        assert trial["steps_done"] == expected, trial["trial_id"]
        assert trial["status"] == ("stopped-early" if stopped_at else "terminated")
        # Its reported values are the known functions (what the replay assumed).
        row = next(
            r for r in first["results"] if (r["trial_id"], r["step"]) == (trial["trial_id"], GRACE)
        )
        assert (row["recon"], row["score"]) == pytest.approx(objectives(trial, GRACE))


def test_trials_table_carries_the_frontier_columns(first):
    trials = first["trials"]
    finals = [objectives(t, t["steps_done"]) for t in trials]
    front = fronts(finals, MAXIMIZE)
    assert [t["on_frontier"] for t in trials] == [f == 1 for f in front]
    for trial in trials:
        last_rung = max(r for r in rung_steps(GRACE, MAX_STEPS, RF) if r <= trial["steps_done"])
        at_rung = [t for t in trials if t["steps_done"] >= last_rung]
        ranks = fronts([objectives(t, last_rung) for t in at_rung], MAXIMIZE)
        assert trial["frontier_rung"] == last_rung
        assert trial["frontier_rank"] == ranks[at_rung.index(trial)]


def test_the_frontier_sweep_repeats_exactly_for_a_seed(first, tmp_path_factory):
    again = run(tmp_path_factory.mktemp("sweeps"), "again")
    assert course(again) == course(first)


def test_report_states_the_hypervolume_and_its_reference_point(first, capsys):
    sweep_dir = first["dir"]
    code = main(["report", "frontier", "--storage", str(sweep_dir.parent), "--no-traversals"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((sweep_dir / "report" / "report.json").read_text())
    searched = report["searched_frontier"]
    assert searched["objectives"] == ["recon", "score"] and searched["directions"] == ["min", "max"]
    assert searched["trials"] == sorted(t["trial_id"] for t in first["trials"] if t["on_frontier"])
    assert searched["hypervolume"] > 0 and len(searched["reference_point"]) == 2


class _Interrupt:
    """Sends SIGINT to the driver (as Ctrl-C does) once `after` results have arrived: a
    trial is then in flight, between its rungs or at one."""

    def __init__(self, after: int):
        self.after, self.done = after, 0

    def __call__(self, original):
        def on_trial_result(callback, iteration, trials, trial, result, **info):
            original(callback, iteration, trials, trial, result, **info)
            self.done += 1
            if self.done == self.after:
                signal.raise_signal(signal.SIGINT)

        return on_trial_result


def test_an_interrupted_frontier_sweep_resumes_with_its_rung_records(first, tmp_path_factory):
    storage = tmp_path_factory.mktemp("sweeps")
    interrupt = _Interrupt(after=9)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            ParquetCallback, "on_trial_result", interrupt(ParquetCallback.on_trial_result)
        )
        cut = run(storage, "cut", expected=130)  # interrupted: `sweep resume` continues it
    finished = sum(t["status"] in ("terminated", "stopped-early") for t in cut["trials"])
    assert finished < 6, "the sweep was not interrupted"
    before = _saved_records(storage / "cut")
    assert sum(len(r) for r in before.values()) >= 3

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(["resume", "cut", "--storage", str(storage)]) == 0
    resumed = read(storage / "cut")
    after = _saved_records(storage / "cut")
    for rung, recorded in before.items():  # nothing recorded before the interruption is lost
        assert recorded.items() <= after[rung].items()
    assert len(after[GRACE]) == 6  # every trial reached the first rung and is recorded there
    # With its records restored, the scheduler decides as in the uninterrupted sweep.
    assert course(resumed) == course(first)


def _saved_records(sweep_dir: Path) -> dict[int, dict[str, list[float]]]:
    """The scheduler's rung records in the callback state Tune would restore: the file of
    the latest session, by name (ray.tune.utils.util._load_newest_checkpoint)."""
    files = glob.glob(str(sweep_dir / "tune" / "callback-states-*.pkl"))
    assert files, "no callback state saved with the experiment"
    with open(max(files), "rb") as file:
        states = pickle.load(file)
    return next(s for s in states.values() if s)["scheduler"]["records"]
