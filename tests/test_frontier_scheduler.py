"""sweep.tune.schedulers without a running Ray: MultiObjectiveASHA's decisions on
hand-built rung records, its frontier columns, and the rung records of both schedulers
surviving the save/restore path that Tuner.restore takes (tuner.pkl + callback state)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import ray.cloudpickle as pickle
from ray.tune.schedulers import TrialScheduler

from sweep.tune.schedulers import (
    MultiObjectiveASHA,
    RestorableASHA,
    SchedulerState,
    rung_steps,
)

CONTINUE, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP
KEYS = ["latest_recon", "latest_score"]


def make(max_t: int = 80, grace: int = 10, rf: int = 2, metrics=KEYS, modes=("min", "max")):
    return MultiObjectiveASHA(
        list(metrics),
        list(modes),
        time_attr="step",
        max_t=max_t,
        grace_period=grace,
        reduction_factor=rf,
    )


def report(scheduler, trial_id: str, step: int, *values: float) -> str:
    result = {"step": step, **dict(zip(scheduler.metrics, values, strict=True))}
    return scheduler.on_trial_result(None, SimpleNamespace(trial_id=trial_id), result)


def test_rungs_are_graces_times_powers_of_rf_below_the_last_step():
    assert rung_steps(10, 80, 2) == [10, 20, 40]
    assert rung_steps(10, 30, 2) == [10, 20]
    assert rung_steps(5, 100, 3) == [5, 15, 45]
    assert sorted(make().records) == [10, 20, 40]


def test_a_single_trial_always_goes_on_and_stops_at_the_last_step():
    scheduler = make()
    assert [report(scheduler, "a", s, 100.0, 0.5) for s in (5, 10, 20, 40)] == [CONTINUE] * 4
    assert report(scheduler, "a", 80, 90.0, 0.6) == STOP
    assert scheduler.records == {
        10: {"a": [100.0, 0.5]},
        20: {"a": [100.0, 0.5]},
        40: {"a": [100.0, 0.5]},
    }


def test_asynchronous_promotion_at_a_rung():
    scheduler = make()
    assert report(scheduler, "a", 10, 100.0, 0.5) == CONTINUE  # first at the rung
    assert report(scheduler, "b", 10, 120.0, 0.4) == STOP  # of two, dominated by a
    assert report(scheduler, "c", 10, 80.0, 0.6) == CONTINUE  # dominates both
    assert report(scheduler, "d", 10, 150.0, 0.9) == CONTINUE  # trades off: on the front
    # Fronts now {c, d}, {a}, {b}: a is third of four, 2·2 < 4 fails.
    assert report(scheduler, "a", 15, 90.0, 0.55) == CONTINUE  # between rungs: nothing to decide
    assert scheduler.num_stopped == 1
    assert list(scheduler.records[10]) == ["a", "b", "c", "d"]


def test_a_trial_is_judged_once_per_rung_even_if_it_reports_the_rung_again():
    scheduler = make()
    report(scheduler, "a", 10, 80.0, 0.6)
    assert report(scheduler, "b", 10, 120.0, 0.4) == STOP
    # A restored trial reports step 10 again: its record stays, no second judgement.
    assert report(scheduler, "b", 10, 10.0, 0.99) == CONTINUE
    assert scheduler.records[10]["b"] == [120.0, 0.4]


def test_duplicates_go_on_together():
    scheduler = make()
    assert report(scheduler, "a", 10, 100.0, 0.5) == CONTINUE
    assert report(scheduler, "b", 10, 100.0, 0.5) == CONTINUE  # a tie: like Ray's ASHA


def test_nan_objectives_rank_last():
    scheduler = make()
    report(scheduler, "a", 10, 100.0, math.nan)  # first: goes on, whatever its values
    assert report(scheduler, "b", 10, 300.0, 0.1) == CONTINUE  # a finite one beats a NaN one
    assert report(scheduler, "c", 10, 400.0, 0.05) == CONTINUE  # second of three: top 2
    # Behind b and c, level with a: position 2 of 4, outside the top half.
    assert report(scheduler, "d", 10, math.nan, 0.9) == STOP


def test_three_objectives_and_mixed_directions():
    scheduler = make(
        metrics=["latest_recon", "latest_score", "latest_kl"], modes=("min", "max", "min")
    )
    assert report(scheduler, "a", 10, 100.0, 0.5, 20.0) == CONTINUE
    assert report(scheduler, "b", 10, 110.0, 0.5, 25.0) == STOP  # worse on two, tied on one
    assert report(scheduler, "c", 10, 110.0, 0.5, 10.0) == CONTINUE  # better kl: on the front
    # Fronts {a, c}, {b}: the top half of 4 is 2; d dominated by a and c → third → stops.
    assert report(scheduler, "d", 10, 120.0, 0.4, 30.0) == STOP


def test_frontier_columns_rank_each_trial_at_its_last_rung():
    scheduler = make()
    report(scheduler, "a", 10, 100.0, 0.5)
    report(scheduler, "b", 10, 120.0, 0.4)  # stopped at 10
    report(scheduler, "a", 20, 90.0, 0.6)
    report(scheduler, "c", 10, 150.0, 0.9)
    report(scheduler, "c", 20, 140.0, 0.95)
    columns = scheduler.frontier_columns()
    assert columns["a"] == {"frontier_rank": 1, "frontier_rung": 20, "on_frontier": True}
    assert columns["b"] == {"frontier_rank": 2, "frontier_rung": 10, "on_frontier": False}
    assert columns["c"] == {"frontier_rank": 1, "frontier_rung": 20, "on_frontier": True}
    report(scheduler, "e", 5, 200.0, 0.1)  # before the first rung: no rank yet
    assert scheduler.frontier_columns()["e"] == {
        "frontier_rank": None,
        "frontier_rung": None,
        "on_frontier": False,
    }


def test_records_survive_the_path_of_tuner_restore():
    # Tuner pickles the scheduler and the callbacks together in tuner.pkl before the first
    # trial; Tune saves callback states with each experiment state and restores them.
    scheduler = make()
    pickled = pickle.dumps({"scheduler": scheduler, "callbacks": [SchedulerState(scheduler)]})
    report(scheduler, "a", 10, 100.0, 0.5)
    report(scheduler, "b", 10, 120.0, 0.4)
    saved = pickle.dumps(SchedulerState(scheduler).get_state())

    restored = pickle.loads(pickled)  # as Tuner.restore loads tuner.pkl: empty records
    assert restored["scheduler"].records[10] == {}
    restored["callbacks"][0].set_state(pickle.loads(saved))
    assert restored["scheduler"].records[10] == {"a": [100.0, 0.5], "b": [120.0, 0.4]}
    assert report(restored["scheduler"], "c", 10, 130.0, 0.3) == STOP  # judged against them


def test_single_objective_asha_records_survive_too():
    def asha():
        scheduler = RestorableASHA(
            time_attr="step", max_t=80, grace_period=10, reduction_factor=2, brackets=1
        )
        scheduler.set_search_properties("latest_score", "max")
        return scheduler

    def result(step, score):
        return {"step": step, "latest_score": score}

    scheduler = asha()
    pickled = pickle.dumps({"scheduler": scheduler, "callbacks": [SchedulerState(scheduler)]})
    for trial_id, score in (("a", 0.9), ("b", 0.8)):
        trial = SimpleNamespace(trial_id=trial_id)
        scheduler.on_trial_add(None, trial)
        scheduler.on_trial_result(None, trial, result(10, score))
    saved = pickle.dumps(SchedulerState(scheduler).get_state())

    restored = pickle.loads(pickled)
    fresh = restored["scheduler"]
    restored["callbacks"][0].set_state(pickle.loads(saved))
    assert fresh.recorded()[10] == {"a": 0.9, "b": 0.8}
    trial = SimpleNamespace(trial_id="c")
    fresh.on_trial_add(None, trial)  # Tune re-adds trials after restoring callbacks
    assert fresh.on_trial_result(None, trial, result(10, 0.5)) == STOP
    # Without the saved records the same trial would have been the first at its rung.
    empty = asha()
    empty.on_trial_add(None, trial)
    assert empty.on_trial_result(None, trial, result(10, 0.5)) == CONTINUE
