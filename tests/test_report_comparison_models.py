"""The report of a DC-IGN sweep plots what it searched, the latent size: DC-IGN and InfoGAN
read no β, so their trials have none to plot or to label (issue 15)."""

from __future__ import annotations

import pytest
from matplotlib.collections import PathCollection
from synthetic_sweep import SyntheticTrial, write_sweep

from reports import build
from reports.figure_beta_norm import beta_norm_figure
from reports.searched import LATENT_SIZE, searched_axis
from reports.sweepdata import load_sweep


def _dcign(trial_id: str, latent: int, recon: float, score: float) -> SyntheticTrial:
    return SyntheticTrial(trial_id, 1.0, latent, recon, score, config_changes={"model": "dcign"})


TRIALS = [_dcign("a", 5, 60.0, 0.9), _dcign("b", 10, 40.0, 0.8), _dcign("c", 20, 25.0, 0.6)]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return load_sweep(write_sweep(tmp_path_factory.mktemp("s") / "dc", TRIALS), "dc")


def test_a_dcign_sweep_is_read_without_beta_and_plotted_against_latent_size(sweep):
    assert searched_axis(sweep.trials) is LATENT_SIZE
    assert [(t.model, t.beta, t.objective) for t in sweep.trials] == [("dcign", None, None)] * 3
    figure = beta_norm_figure("dc", sweep.trials, LATENT_SIZE)
    ax = figure.axes[0]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(float(x) for c in scatters for x, _ in c.get_offsets()) == [5.0, 10.0, 20.0]
    assert "latent size" in ax.get_xlabel() and "β" not in ax.get_xlabel()


def test_the_report_of_a_dcign_sweep_names_no_beta(sweep, tmp_path):
    out = tmp_path / "report"
    result = build.build_report(sweep.directory, "dc", out, traversals=False)
    assert "score_vs_latent_size.png" in result.figures
    assert "score_vs_beta_norm.png" not in result.figures
    page = (out / "index.html").read_text()
    assert LATENT_SIZE.title in page and "β = " not in page


def test_an_infogan_sweep_is_ranked_by_score_without_a_reconstruction(tmp_path):
    """InfoGAN reconstructs nothing: no frontier, but its trials are still plotted, ranked
    and listed by score, and the report says why there is no frontier."""
    from reports.selection import best_trials, frontier_members

    changes = {"model": "infogan"}
    trials = [
        SyntheticTrial("g1", 1.0, 5, 0.0, 0.4, config_changes=changes),
        SyntheticTrial("g2", 1.0, 10, 0.0, 0.7, config_changes=changes),
    ]
    sweep = load_sweep(write_sweep(tmp_path / "ig", trials), "ig")
    assert all(t.recon is None and t.has_score and not t.can_be_chosen for t in sweep.trials)
    assert frontier_members(sweep.trials) == []
    assert [t.trial_id for t in best_trials(sweep.trials)] == ["g2", "g1"]
    out = tmp_path / "report"
    result = build.build_report(sweep.directory, "ig", out, traversals=True)
    assert "learning_curves.png" in result.figures and result.best == ["g2", "g1"]
    page = (out / "index.html").read_text()
    assert "is an InfoGAN: no latent traversal drawn" in page
