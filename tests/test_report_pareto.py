"""reports.pareto: the frontier of point sets whose answer is known by hand."""

from __future__ import annotations

import random

import pytest

from reports.pareto import pareto_front

MIN, MAX = False, True
# Five points used in every direction: (1,3) (2,2) (3,1) (2,1) (3,3).
POINTS = [(1, 3), (2, 2), (3, 1), (2, 1), (3, 3)]


def test_empty_and_single_point():
    assert pareto_front([], maximize=(MIN, MAX)) == []
    assert pareto_front([(5.0, 0.2)], maximize=(MIN, MAX)) == [0]


@pytest.mark.parametrize(
    ("maximize", "expected"),
    [
        ((MIN, MIN), [0, 3]),  # (1,3) and (2,1); (3,1) is beaten by (2,1)
        ((MAX, MAX), [4]),  # (3,3) beats everything
        ((MIN, MAX), [0]),  # (1,3): lowest x, and (3,3) ties its y with a worse x
        ((MAX, MIN), [2]),  # (3,1): highest x, lowest y
    ],
)
def test_each_direction(maximize, expected):
    assert pareto_front(POINTS, maximize=maximize) == expected


def test_reconstruction_against_score_staircase():
    # (recon, score): low recon and high score are good.
    points = [(30, 0.60), (35, 0.70), (33, 0.65), (40, 0.68), (50, 0.90), (45, 0.90)]
    assert pareto_front(points, maximize=(MIN, MAX)) == [0, 1, 2, 5]


def test_exact_duplicates_both_stay_on_the_front():
    points = [(1.0, 0.5), (1.0, 0.5), (2.0, 0.4)]
    assert pareto_front(points, maximize=(MIN, MAX)) == [0, 1]


def test_a_tie_on_one_objective_is_decided_by_the_other():
    assert pareto_front([(1.0, 0.5), (1.0, 0.7)], maximize=(MIN, MAX)) == [1]
    assert pareto_front([(1.0, 0.7), (2.0, 0.7)], maximize=(MIN, MAX)) == [0]


def test_matches_a_plain_definition_on_random_points_with_ties():
    rng = random.Random(7)
    for _ in range(20):
        points = [(rng.randint(0, 6), rng.randint(0, 6)) for _ in range(rng.randint(1, 25))]

        def dominated(p, points=points):
            # q beats p: no worse (lower x, higher y) everywhere, strictly better somewhere.
            return any(
                q[0] <= p[0] and q[1] >= p[1] and (q[0] < p[0] or q[1] > p[1]) for q in points
            )

        expected = [i for i, p in enumerate(points) if not dominated(p)]
        assert pareto_front(points, maximize=(MIN, MAX)) == expected


def test_three_objectives():
    points = [(1, 1, 1), (0, 2, 2), (2, 0, 0), (1, 1, 0)]
    assert pareto_front(points, maximize=(MAX, MAX, MAX)) == [0, 1, 2]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([(1.0, float("nan"))], "finite"),
        ([(1.0, float("inf"))], "finite"),
        ([(1.0, 2.0, 3.0)], "rows of 2 objectives"),
    ],
)
def test_rejects_non_finite_and_misshapen_points(points, message):
    with pytest.raises(ValueError, match=message):
        pareto_front(points, maximize=(MIN, MAX))
