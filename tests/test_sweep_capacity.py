"""A sweep with --objective capacity searches what that objective reads, C_max (and γ when
asked), never β (issue 17, item 2). No Ray is started: the sweep is stopped at its start."""

from __future__ import annotations

import json
import re

import pytest

import sweep.tune.run
from sweep.cli import main
from sweep.spec import SweepSpec
from sweep.tune import space as tune_space
from trainables.config import TrialConfig

CAPACITY = ["--objective", "capacity", "--max-steps", "40", "--latent", "4,8", "--name", "c"]


def test_a_capacity_sweep_searches_c_max_not_beta(tmp_path, started):
    assert main(["run", *CAPACITY, "--storage", str(tmp_path)]) == 0
    (spec,) = started
    assert spec.beta is None and spec.beta_norm is None
    assert str(spec.capacity_max) == "5..50" and spec.gamma is None  # the defaults
    assert spec.describe_search() == "capacity_max 5..50"
    space = tune_space.param_space(spec)
    assert space["capacity_max"].lower == 5.0 and space["capacity_max"].upper == 50.0
    assert space["beta"] == 4.0 and space["gamma"] == 1000.0  # fixed: not searched
    assert tune_space.has_searched_dimension(spec)
    drawn = {space["capacity_max"].sample() for _ in range(4)}
    assert len(drawn) == 4 and all(5.0 <= c <= 50.0 for c in drawn)
    for latent_size in (4, 8):
        config = TrialConfig.from_dict({**space, "capacity_max": 30.0, "latent_size": latent_size})
        assert config.objective == "capacity" and config.capacity_max == 30.0
    again = SweepSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec


def test_gamma_is_searched_where_asked_and_a_grid_counts_every_point(tmp_path, started):
    grid = ["--search", "grid", "--capacity-max", "10,25", "--gamma", "100,1000", "--samples", "2"]
    assert main(["run", *CAPACITY, *grid, "--storage", str(tmp_path)]) == 0
    (spec,) = started
    assert spec.num_trials == 2 * 2 * 2 * 2  # C_max × γ × latent sizes × seeds
    space = tune_space.param_space(spec)
    assert space["capacity_max"] == {"grid_search": [10.0, 25.0]}
    assert space["gamma"] == {"grid_search": [100.0, 1000.0]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [*CAPACITY, "--beta", "1..250"],
            r"--beta: the capacity objective does not use β; search --capacity-max",
        ),
        ([*CAPACITY, "--beta-norm", "0.01"], r"--beta-norm: the capacity objective does not"),
        (["--capacity-max", "5..50"], r"--capacity-max is used only with --objective capacity"),
        (["--gamma", "100"], r"--gamma is used only with --objective capacity"),
        ([*CAPACITY, "--capacity-max", "50..5"], r"--capacity-max 50..5: the range's first end"),
        ([*CAPACITY, "--search", "grid"], r"--search grid needs lists: --capacity-max 5..50"),
    ],
)
def test_what_the_objective_does_not_read_is_refused(tmp_path, capsys, started, args, message):
    code = main(["run", "--storage", str(tmp_path / "sweeps"), "--max-steps", "40", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not started
    assert len(err.splitlines()) == 1 and err.startswith("sweep: error: "), err
    assert re.search(message, err), err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_resume_compares_the_capacity_domains_as_they_resolve(
    tmp_path, capsys, started, monkeypatch
):
    from sweep.tune.run import write_spec

    monkeypatch.setattr(sweep.tune.run, "resume", lambda saved, address: started.append(saved))

    argv = ["run", *CAPACITY, "--search", "grid", "--storage", str(tmp_path)]
    assert main([*argv, "--capacity-max", "10,25", "--gamma", "100,1000"]) == 0
    write_spec(started.pop(), str(tmp_path / "c"))
    reordered = ["--capacity-max", "25,10", "--gamma", "1000,100", "--resume"]
    assert main([*argv, *reordered]) == 0 and started
    capsys.readouterr()
    assert main([*argv, "--capacity-max", "10,30", "--gamma", "100,1000", "--resume"]) == 2
    assert "capacity_max: '10,25' then, '10,30' now" in capsys.readouterr().err
