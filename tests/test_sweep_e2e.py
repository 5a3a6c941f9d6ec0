"""`sweep run` end to end on a local 2-CPU Ray: real trials (tiny steps, the tiny score
protocol, the conv model at batch 16), ASHA, Optuna, and the Parquet files they leave."""

from __future__ import annotations

import contextlib
import io
import re
from collections import Counter

import pytest

from metrics.higgins import PROTOCOLS
from sweep.cli import main
from sweep.store.parquet import read_dataset, read_table
from sweep.tune.callback import ParquetCallback

pytestmark = pytest.mark.slow

MAX_STEPS = 30
_tiny = PROTOCOLS["tiny"]
TINY = f"L={_tiny['batch_size']} train={_tiny['num_train']} test={_tiny['num_test']}"
# Sequential trials (--concurrency 1): ASHA then sees them in one order, so which trials
# it stops, like Optuna's proposals, is fixed by the seed and the test cannot flake.
SWEEP = [
    "run",
    "--beta", "1..250",
    "--latent", "4,8",
    "--samples", "4",
    "--max-steps", str(MAX_STEPS),
    "--grace-steps", "10",
    "--concurrency", "1",
    "--batch-size", "16",
    "--seed", "0",
]  # fmt: skip


def run_sweep(tmp_path_factory, name: str) -> dict:
    """Run SWEEP through the CLI, recording every result Tune hands the Parquet callback."""
    storage = tmp_path_factory.mktemp("sweeps")
    delivered: list[tuple[str, int]] = []
    original = ParquetCallback.on_trial_result

    def recording(self, iteration, trials, trial, result, **info):
        delivered.append((trial.trial_id, result["step"]))
        return original(self, iteration, trials, trial, result, **info)

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(ParquetCallback, "on_trial_result", recording)
        code = main([*SWEEP, "--storage", str(storage), "--name", name])
    sweep_dir = storage / name
    return {
        "code": code,
        "out": out.getvalue(),
        "storage": storage,
        "dir": sweep_dir,
        "delivered": delivered,
        "results": read_dataset(sweep_dir / "results").to_pylist(),
        "trials": read_table(sweep_dir / "trials.parquet", "trials").to_pylist(),
    }


@pytest.fixture(scope="module")
def first(ray_local, tmp_path_factory):
    return run_sweep(tmp_path_factory, "demo")


def test_gpus_asked_of_a_cluster_without_gpus_are_refused(ray_local, tmp_path, capsys):
    for extra, message in [
        (["--gpus-per-trial", "0.25"], r"--gpus-per-trial 0.25: the Ray cluster has no GPU"),
        (["--cpus-per-trial", "3"], r"no node of the Ray cluster can hold one trial"),
    ]:
        argv = ["run", "--storage", str(tmp_path / "sweeps"), "--max-steps", "10", *extra]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert re.search(message, err[-1]) and err[-1].startswith("sweep: error: ")
        assert list(tmp_path.iterdir()) == []  # checked after connecting, before writing
    assert ray_local.is_initialized()  # the caller's Ray session is left running


def test_the_sweep_finishes_and_prints_where_its_files_are(first):
    assert first["code"] == 0
    storage = first["storage"]
    assert first["out"].strip().splitlines()[-5:] == [
        f"sweep demo: 4 trials ({_counts(first['trials'])}), {len(first['results'])} result rows",
        f"  results  {storage}/demo/results/  (Parquet dataset, one row per report)",
        f"  trials   {storage}/demo/trials.parquet",
        f"  status   sweep status demo --storage {storage}",
        f"  report   sweep report demo --storage {storage}",
    ]
    trials = first["trials"]
    assert len(trials) == 4
    assert all(t["status"] in ("terminated", "stopped-early") for t in trials)
    assert {t["latent_size"] for t in trials} <= {4, 8}
    assert all(1 <= t["beta"] <= 250 for t in trials)
    assert all(t["beta_norm"] == pytest.approx(t["beta"] * t["latent_size"] / 4096) for t in trials)


def _counts(trials: list[dict]) -> str:
    counts = Counter(t["status"] for t in trials)
    return ", ".join(f"{counts[s]} {s}" for s in ("terminated", "stopped-early") if counts[s])


def test_parquet_holds_exactly_the_reported_rows(first):
    keys = [(r["trial_id"], r["step"]) for r in first["results"]]
    assert len(keys) == len(set(keys))  # no (trial, step) twice
    assert sorted(keys) == sorted(first["delivered"])  # every result Tune delivered, no other
    steps = Counter()
    for trial in first["trials"]:
        mine = sorted(step for tid, step in keys if tid == trial["trial_id"])
        assert mine == list(range(10, trial["steps_done"] + 1, 10))  # every report, in order
        steps[trial["trial_id"]] = trial["steps_done"]
        last = next(
            r
            for r in first["results"]
            if (r["trial_id"], r["step"]) == (trial["trial_id"], mine[-1])
        )
        assert trial["last_recon"] == last["recon"]
    for row in first["results"]:
        assert row["sweep"] == "demo" and row["steps"] == MAX_STEPS and row["batch_size"] == 16
        assert row["score"] is not None  # scored at every report: score_every = grace = 10
        assert TINY in row["score_protocol"]  # on CPU trials score with the tiny protocol
        assert row["node"] and row["node_id"] and row["wall_time"] > 0


def test_the_finished_sweep_is_one_result_file_and_at_most_two_checkpoints_a_trial(first):
    # Compacted per trial as each ended, then sweep-wide: one file for the whole sweep.
    parts = [p.name for p in (first["dir"] / "results").iterdir() if not p.name.startswith(".")]
    assert len(parts) == 1 and parts[0].startswith("compact-"), parts
    # --keep-checkpoints best (the default): the latest (= final) and the best-scoring.
    for trial in first["trials"]:
        kept = sorted((first["dir"] / "tune" / trial["trial_id"]).glob("checkpoint_*"))
        assert 1 <= len(kept) <= 2, kept
        assert first["dir"] / trial["checkpoint_path"] in kept  # what traversals read


def test_asha_stops_some_trials_early(first):
    stopped = [t for t in first["trials"] if t["status"] == "stopped-early"]
    finished = [t for t in first["trials"] if t["status"] == "terminated"]
    assert stopped and finished
    assert all(t["stopped_early"] and t["steps_done"] < MAX_STEPS for t in stopped)
    assert all(t["steps_done"] in (10, 20) for t in stopped)  # at a rung: grace·2^k
    assert all(t["steps_done"] == MAX_STEPS and not t["stopped_early"] for t in finished)
    for trial in first["trials"]:  # the latest checkpoint, relative to the sweep directory
        checkpoint = first["dir"] / trial["checkpoint_path"]
        assert checkpoint.is_dir() and checkpoint.parent.name == trial["trial_id"]


def test_status_and_ls(first, capsys):
    assert main(["status", "demo", "--storage", str(first["storage"])]) == 0
    out = capsys.readouterr().out
    assert re.search(
        r"^trial\s+state\s+beta\s+beta_norm\s+latent\s+steps\s+recon\s+score\s+active\s+early", out
    )
    assert len(out.strip().splitlines()) == 1 + 4 + 1
    assert re.search(r"stopped-early .* yes", out)
    assert main(["ls", "--storage", str(first["storage"])]) == 0
    assert re.match(
        r"demo  \S+  optuna beta 1..250 latent 4,8  4 trials: ", capsys.readouterr().out
    )


def test_the_optuna_run_is_reproducible_for_a_fixed_seed(first, tmp_path_factory):
    second = run_sweep(tmp_path_factory, "again")
    assert second["code"] == 0

    def runs(sweep: dict) -> list[tuple]:
        """Trials in the order they ran, with their whole course of reports."""
        by_trial: dict[str, list] = {}
        for r in sorted(sweep["results"], key=lambda r: r["timestamp"]):
            by_trial.setdefault(r["trial_id"], []).append(r)
        return [
            (
                rows[0]["beta"],
                rows[0]["latent_size"],
                [(r["step"], r["recon"], r["score"]) for r in rows],
            )
            for rows in by_trial.values()
        ]

    one, two = runs(first), runs(second)
    assert [(b, m) for b, m, _ in one] == [(b, m) for b, m, _ in two]
    for (_, _, course_one), (_, _, course_two) in zip(one, two, strict=True):
        assert [s for s, _, _ in course_one] == [s for s, _, _ in course_two]  # same ASHA stops
        assert [r for _, r, _ in course_one] == pytest.approx(
            [r for _, r, _ in course_two], rel=1e-5
        )
