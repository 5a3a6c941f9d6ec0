"""Frontier sweeps without Ray: `--metric a,b[,c]` and `--search nsga2` parsed and refused
before Ray starts, the Tune objects they give, and the trials table's frontier columns."""

from __future__ import annotations

import pytest
from optuna.samplers import NSGAIISampler, TPESampler
from test_sweep_spec import make_spec

import sweep.tune.run
from sweep.cli import main
from sweep.store.parquet import read_table
from sweep.store.writer import SweepWriter
from sweep.tune import space as tune_space
from sweep.tune.schedulers import MultiObjectiveASHA, RestorableASHA


@pytest.fixture
def no_ray(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started for a bad input")

    monkeypatch.setattr(sweep.tune.run, "ray_session", refuse)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metric", "recon,kl,score,elbo"], "a frontier sweep takes two or three objectives"),
        (["--metric", "recon,recon"], "an objective is named twice"),
        (["--metric", "recon,foo"], "'foo' is not one of score, recon, elbo, kl, active_units"),
        (["--metric", "kl"], "expected one of score, recon, elbo, or two or three of"),
        (["--search", "nsga2"], "--search nsga2 is multi-objective: give two or three"),
        (["--metric", "recon,score", "--score-every", "0"], "needs --score-every > 0"),
        (
            ["--metric", "recon,score", "--grace-steps", "10", "--score-every", "4"],
            "is not a multiple of --score-every 4",
        ),
    ],
)
def test_bad_frontier_options_fail_before_ray(no_ray, tmp_path, capsys, args, message):
    assert main(["run", "--storage", str(tmp_path / "s"), "--max-steps", "40", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sweep: error: ") and message in err[0], err
    assert not (tmp_path / "s").exists()


def test_active_units_is_an_objective_and_refused_where_trials_do_not_report_it(
    no_ray, tmp_path, capsys, monkeypatch
):
    import sweep.spec

    spec = make_spec(metric="recon,active_units")
    assert spec.is_frontier and spec.modes == ("min", "max")
    assert spec.tune_metrics == ("latest_recon", "latest_active_units")
    older = [f for f in sweep.spec.METRIC_COLUMNS if f.name != "active_units"]
    monkeypatch.setattr(sweep.spec, "METRIC_COLUMNS", older)  # a trainer without the column
    assert main(["run", "--storage", str(tmp_path), "--metric", "recon,active_units"]) == 2
    assert "do not report 'active_units'" in capsys.readouterr().err


def test_a_frontier_spec_gives_multi_objective_tune_objects():
    spec = make_spec(metric="recon,score,kl")
    assert spec.is_frontier and spec.objectives == ("recon", "score", "kl")
    assert spec.modes == ("min", "max", "min")
    assert spec.tune_metrics == ("latest_recon", "latest_score", "latest_kl")
    scheduler = tune_space.scheduler(spec)
    assert isinstance(scheduler, MultiObjectiveASHA)
    assert scheduler.metrics == list(spec.tune_metrics) and scheduler.maximize == [0, 1, 0]
    assert sorted(scheduler.records) == [10, 20, 40]
    searcher = tune_space.search_algorithm(spec).searcher
    assert searcher.metric == list(spec.tune_metrics) and searcher.mode == ["min", "max", "min"]
    assert isinstance(searcher._sampler, TPESampler)
    nsga = tune_space.search_algorithm(make_spec(metric="recon,score", search="nsga2"))
    assert isinstance(nsga.searcher._sampler, NSGAIISampler)


def test_a_single_metric_spec_is_as_before():
    spec = make_spec(metric="score")
    assert not spec.is_frontier and (spec.tune_metric, spec.mode) == ("latest_score", "max")
    assert type(tune_space.scheduler(spec)) is RestorableASHA
    assert tune_space.search_algorithm(spec).searcher.metric is None  # from TuneConfig


CONFIG = make_spec().base_config().replace(beta=4.0, latent_size=4).to_dict()


def test_the_trials_table_carries_the_schedulers_frontier_columns(tmp_path):
    columns = {"a": {"frontier_rank": 2, "frontier_rung": 10, "on_frontier": False}}
    writer = SweepWriter(str(tmp_path / "f"), "f", frontier=lambda: columns)
    writer.open()
    writer.running("a", CONFIG)
    writer.running("b", CONFIG)
    writer.flush()
    rows = {
        r["trial_id"]: r
        for r in read_table(tmp_path / "f" / "trials.parquet", "trials").to_pylist()
    }
    assert (rows["a"]["frontier_rank"], rows["a"]["frontier_rung"], rows["a"]["on_frontier"]) == (
        2,
        10,
        False,
    )
    assert rows["b"]["frontier_rank"] is None and rows["b"]["on_frontier"] is None
    plain = SweepWriter(str(tmp_path / "p"), "p")  # a single-metric sweep: nulls
    plain.open()
    plain.running("a", CONFIG)
    plain.flush()
    row = read_table(tmp_path / "p" / "trials.parquet", "trials").to_pylist()[0]
    assert row["frontier_rank"] is None and row["on_frontier"] is None


def test_the_readmes_frontier_command_is_a_frontier_sweep(tmp_path, monkeypatch):
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    command = next(
        block.strip()
        for block in re.findall(r"```bash\n(.*?)\n```", readme, re.S)
        if "--metric recon,score" in block
    )
    started = []
    monkeypatch.setattr(sweep.tune.run, "start", lambda spec: started.append(spec) or None)
    monkeypatch.setattr("sweep.cli.sweeps._finish", lambda summary, root: None)
    argv = [*shlex.split(command)[1:], "--storage", str(tmp_path)]
    assert main(argv) == 0
    (spec,) = started
    assert spec.is_frontier and spec.objectives == ("recon", "score") and spec.search == "optuna"
