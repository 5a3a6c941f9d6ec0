"""The report of a capacity sweep plots what it searched, C_max, where a β sweep has β_norm
(issue 17, item 2)."""

from __future__ import annotations

import json

import pytest
from matplotlib.collections import PathCollection
from synthetic_sweep import SyntheticTrial, write_sweep

from reports import build
from reports.figure_beta_norm import beta_norm_figure
from reports.figure_frontier import frontier_label
from reports.searched import BETA_NORM, CAPACITY_MAX, searched_axis
from reports.sweepdata import load_sweep


def _capacity(trial_id: str, c_max: float, latent: int, recon: float, score: float):
    changes = {"objective": "capacity", "capacity_max": c_max, "gamma": 1000.0}
    # β is left at its default: the capacity objective does not read it.
    return SyntheticTrial(trial_id, 4.0, latent, recon, score, config_changes=changes)


TRIALS = [
    _capacity("a", 5.0, 5, recon=60.0, score=0.9),
    _capacity("b", 12.0, 5, recon=40.0, score=0.8),
    _capacity("c", 30.0, 10, recon=25.0, score=0.6),
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return load_sweep(write_sweep(tmp_path_factory.mktemp("s") / "cap", TRIALS), "cap")


def test_the_capacity_sweep_is_read_with_its_c_max(sweep):
    assert searched_axis(sweep.trials) is CAPACITY_MAX
    assert [t.capacity_max for t in sweep.trials] == [5.0, 12.0, 30.0]
    assert {t.objective for t in sweep.trials} == {"capacity"}
    assert frontier_label(1, sweep.trials[0], CAPACITY_MAX).startswith("1. C_max = 5, γ = 1000")


def test_score_is_plotted_against_c_max_not_beta_norm(sweep):
    figure = beta_norm_figure("cap", sweep.trials, CAPACITY_MAX)
    ax = figure.axes[0]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    xs = sorted(float(x) for c in scatters for x, _ in c.get_offsets())
    assert xs == [5.0, 12.0, 30.0]  # all three trials share β = 4: β_norm would not separate
    assert "C_max" in ax.get_xlabel() and "β" not in ax.get_xlabel()


def test_the_report_names_the_figure_after_c_max(sweep, tmp_path):
    out = tmp_path / "report"
    result = build.build_report(sweep.directory, "cap", out, traversals=False)
    assert "score_vs_capacity_max.png" in result.figures
    assert "score_vs_beta_norm.png" not in result.figures
    assert json.loads((out / "report.json").read_text())["figures"]
    page = (out / "index.html").read_text()
    assert "<th>C_max</th>" in page and CAPACITY_MAX.title in page


def test_a_beta_sweep_keeps_beta_norm(tmp_path):
    trials = [SyntheticTrial("x", 4.0, 10, 30.0, 0.5), SyntheticTrial("y", 16.0, 10, 40.0, 0.7)]
    beta = load_sweep(write_sweep(tmp_path / "b", trials), "b")
    assert searched_axis(beta.trials) is BETA_NORM and BETA_NORM.stem == "score_vs_beta_norm"
