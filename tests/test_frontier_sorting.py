"""sweep.multiobjective: non-dominated sorting, crowding, the MO-ASHA promotion rule and
the hypervolume, on point sets whose answers are worked out by hand."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from reports.pareto import pareto_front
from sweep.multiobjective import (
    crowding,
    fronts,
    hypervolume,
    nadir_reference,
    order_keys,
    position,
    promoted,
)

MIN, MAX = False, True
NAN = math.nan
# (recon, score): low recon and high score are good.
STAIRCASE = [(30, 0.60), (35, 0.70), (33, 0.65), (40, 0.68), (50, 0.90), (45, 0.90)]


def test_fronts_peel_the_staircase_layer_by_layer():
    # Front 1 as reports.pareto says; (40, .68) is beaten only by (35, .70); (50, .90) by (45, .90).
    assert fronts(STAIRCASE, (MIN, MAX)) == [1, 1, 1, 2, 2, 1]
    assert [i for i, f in enumerate(fronts(STAIRCASE, (MIN, MAX))) if f == 1] == pareto_front(
        STAIRCASE, (MIN, MAX)
    )


def test_single_point_and_empty():
    assert fronts([(1.0, 2.0)], (MIN, MAX)) == [1]
    assert crowding([(1.0, 2.0)], (MIN, MAX), [1]) == [math.inf]
    assert fronts([], (MIN, MAX)) == []
    assert promoted([(1.0, 2.0)], (MIN, MAX), 0, 2)  # the first at a rung always goes on


def test_duplicates_share_front_and_crowding_whatever_their_order():
    points = [(1, 5), (3, 3), (3, 3), (5, 1), (4, 4)]
    ranks = fronts(points, (MIN, MIN))
    assert ranks == [1, 1, 1, 1, 2]
    distance = crowding(points, (MIN, MIN), ranks)
    # Distinct front values (1,5) (3,3) (5,1): the middle one's gap is (5-1)/4 + (5-1)/4 = 2.
    assert distance[:4] == [math.inf, 2.0, 2.0, math.inf]
    swapped = [points[i] for i in (2, 0, 1, 4, 3)]
    assert sorted(crowding(swapped, (MIN, MIN), fronts(swapped, (MIN, MIN)))) == sorted(distance)


@pytest.mark.parametrize(
    ("maximize", "expected"),
    [
        ((MIN, MIN), [1, 2, 2, 1, 3]),  # (1,3) (2,1); then (2,2) (3,1); then (3,3)
        ((MAX, MAX), [2, 2, 2, 3, 1]),  # (3,3) beats all; then (1,3) (2,2) (3,1); then (2,1)
        ((MIN, MAX), [1, 2, 4, 3, 2]),  # (1,3); then (2,2) (3,3); then (2,1); then (3,1)
        ((MAX, MIN), [4, 3, 1, 2, 2]),  # (3,1); then (2,1) (3,3); then (2,2); then (1,3)
    ],
)
def test_mixed_directions(maximize, expected):
    points = [(1, 3), (2, 2), (3, 1), (2, 1), (3, 3)]
    assert fronts(points, maximize) == expected


def test_three_objectives():
    # (recon min, score max, kl min): a, b, c trade off; d is beaten by a everywhere.
    points = [(10, 0.9, 5), (20, 0.95, 2), (15, 0.8, 1), (11, 0.85, 6)]
    assert fronts(points, (MIN, MAX, MIN)) == [1, 1, 1, 2]
    # Three points on one front: each is an extreme in some objective.
    assert crowding(points, (MIN, MAX, MIN), [1, 1, 1, 2])[:3] == [math.inf] * 3


def test_non_finite_points_come_last():
    points = [(1.0, NAN), (5.0, 0.1), (2.0, 0.9), (math.inf, 1.0)]
    assert fronts(points, (MIN, MAX)) == [3, 2, 1, 3]
    assert crowding(points, (MIN, MAX), fronts(points, (MIN, MAX)))[0] == 0.0


def test_sorting_matches_brute_force_on_random_sets():
    rng = random.Random(0)
    for _ in range(30):
        d = rng.choice((2, 3))
        maximize = tuple(rng.random() < 0.5 for _ in range(d))
        points = [tuple(rng.randint(0, 4) for _ in range(d)) for _ in range(rng.randint(1, 12))]
        ranks = fronts(points, maximize)
        remaining = list(range(len(points)))
        level = 0
        while remaining:  # peel Pareto fronts with the independent reports.pareto
            level += 1
            front = pareto_front([points[i] for i in remaining], maximize)
            assert {remaining[i] for i in front} == {i for i in remaining if ranks[i] == level}
            remaining = [i for j, i in enumerate(remaining) if j not in front]


def test_promotion_keeps_the_top_one_over_rf():
    # Four trials at a rung, rf 2: the best two by (front, crowding) go on.
    rung = [(30, 0.6), (40, 0.5), (50, 0.4), (20, 0.7)]  # each beats the next: fronts 2,3,4,1
    assert [promoted(rung, (MIN, MAX), i, 2) for i in range(4)] == [True, False, False, True]
    # Of two, only the better; at rf 3, of three only the best.
    assert not promoted([(20, 0.7), (30, 0.6)], (MIN, MAX), 1, 2)
    assert promoted([(30, 0.6), (20, 0.7)], (MIN, MAX), 1, 2)
    assert [promoted(rung[:3], (MIN, MAX), i, 3) for i in range(3)] == [True, False, False]


def test_crowding_breaks_ties_within_a_front():
    # One front of five: the two extremes (infinite crowding) rank first, then the middle
    # point with the widest gap; with rf 2 the top 1/2 of 5 is 3 points (position·2 < 5).
    front = [(1, 9), (2, 8.5), (5, 5), (8.5, 2), (9, 1)]
    keys = order_keys(front, (MIN, MIN))
    assert [k[0] for k in keys] == [1] * 5
    assert [position(front, (MIN, MIN), i) for i in range(5)] == [0, 3, 2, 3, 0]
    assert [promoted(front, (MIN, MIN), i, 2) for i in range(5)] == [
        True,
        False,
        True,
        False,
        True,
    ]


def test_exact_ties_go_to_the_newcomer():
    # A duplicate of a recorded trial shares its rank: like Ray's ASHA, which stops only a
    # trial strictly below the cutoff, the newcomer goes on.
    assert promoted([(20, 0.7), (20, 0.7)], (MIN, MAX), 1, 2)
    assert position([(20, 0.7), (20, 0.7), (10, 0.9)], (MIN, MAX), 1) == 1


def test_hypervolume_by_hand():
    # Staircase (1,3) (2,2) (3,1) minimised, reference (4,4): 3 + 2 + 1 = 6.
    assert hypervolume([(1, 3), (2, 2), (3, 1)], (MIN, MIN), (4, 4)) == 6.0
    # Dominated points, duplicates and points beyond the reference add nothing.
    more = [(1, 3), (2, 2), (3, 1), (3, 3), (2, 2), (5, 0), (NAN, 0)]
    assert hypervolume(more, (MIN, MIN), (4, 4)) == 6.0
    # (recon min, score max): reference recon 100, score 0.
    assert hypervolume([(50, 0.5)], (MIN, MAX), (100, 0.0)) == pytest.approx(25.0)
    assert hypervolume([], (MIN, MAX), (100, 0.0)) == 0.0
    # Three objectives: two boxes of 4 and 2 overlapping in 1.
    assert hypervolume([(0, 0, 1), (1, 1, 0)], (MIN, MIN, MIN), (2, 2, 2)) == 5.0


def test_hypervolume_matches_inclusion_exclusion_on_random_3d_sets():
    rng = random.Random(1)
    for _ in range(10):
        points = [tuple(rng.uniform(0, 1) for _ in range(3)) for _ in range(rng.randint(1, 5))]
        ref = (1.0, 1.0, 1.0)
        total = 0.0  # the union of boxes [p, ref] by inclusion–exclusion
        for size in range(1, len(points) + 1):
            for subset in itertools.combinations(points, size):
                corner = [max(p[k] for p in subset) for k in range(3)]
                volume = math.prod(ref[k] - corner[k] for k in range(3))
                total += (-1) ** (size + 1) * volume
        assert hypervolume(points, (MIN, MIN, MIN), ref) == pytest.approx(total)


def test_nadir_reference_is_the_worst_finite_value_per_objective():
    assert nadir_reference([*STAIRCASE, (NAN, 1.0)], (MIN, MAX)) == [50.0, 0.6]
    with pytest.raises(ValueError, match="no finite point"):
        nadir_reference([(NAN, 1.0)], (MIN, MAX))
