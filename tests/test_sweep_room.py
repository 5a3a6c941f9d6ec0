"""What a sweep's announcement promises about concurrency: no more trials at once than the
cluster has room for (2 trials of 1 CPU on 2 cores, whatever --concurrency says)."""

from __future__ import annotations

import re

from test_sweep_spec import make_spec

from sweep.tune import capacity
from sweep.tune import run as tune_run


def test_trials_per_node_counts_cpus_and_gpus():
    assert capacity.trials_per_node({"CPU": 2.0}, 1.0, 0.0) == 2
    assert capacity.trials_per_node({"CPU": 2.0}, 0.5, 0.0) == 4
    assert capacity.trials_per_node({"CPU": 3.0}, 2.0, 0.0) == 1
    assert capacity.trials_per_node({"CPU": 16.0, "GPU": 1.0}, 1.0, 0.5) == 2  # GPU-bound
    assert capacity.trials_per_node({"CPU": 16.0, "GPU": 0.6}, 1.0, 0.2) == 3  # 2.999…
    assert capacity.trials_per_node({"CPU": 16.0}, 1.0, 0.5) == 0  # no GPU on this node
    assert capacity.trials_per_node({}, 1.0, 0.0) == 0  # a head that takes no trials
    nodes = [{"CPU": 4.0, "GPU": 1.0}, {"CPU": 4.0, "GPU": 1.0}, {"CPU": 8.0}]
    assert capacity.cluster_slots(nodes, 1.0, 0.5) == 4


def test_announcement_says_what_a_two_cpu_ray_can_hold(ray_local, capsys):
    spec = make_spec(concurrency=4, samples=8)
    tune_run._announce(spec)
    line = capsys.readouterr().err
    assert "≤2 at once (the cluster has room for 2; --concurrency 4)" in line
    assert "≤4 at once" not in line


def test_announcement_keeps_concurrency_when_it_fits(ray_local, capsys):
    tune_run._announce(make_spec(concurrency=2, samples=8))
    assert re.search(r"per trial, ≤2 at once; scores", capsys.readouterr().err)
    tune_run._announce(make_spec(concurrency=4, samples=1))  # one trial: one at a time
    assert re.search(r"per trial, ≤1 at once; scores", capsys.readouterr().err)


def test_announcement_counts_nodes_the_autoscaler_may_add(monkeypatch):
    monkeypatch.setattr(tune_run, "_live_nodes", lambda: [{"CPU": 4.0}])  # a head, no GPU
    monkeypatch.setattr(tune_run, "_node_types", lambda: [({"CPU": 4.0, "GPU": 1.0}, 4)])
    spec = make_spec(concurrency=16, samples=64, gpus_per_trial=0.5)
    assert tune_run._at_once_text(spec) == "none at once now, up to 8 as the autoscaler adds nodes"
    monkeypatch.setattr(tune_run, "_node_types", lambda: [({"CPU": 4.0, "GPU": 1.0}, -1)])
    assert tune_run._at_once_text(spec).endswith("up to 16 as the autoscaler adds nodes")
