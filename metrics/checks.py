"""Argument checks shared by the metrics: every message names the parameter and its range."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer ≥ {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value}")
    return value


def positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a positive number; got {value!r}")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0; got {value}")
    return float(value)


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return value


def seed(value: Any) -> int:
    return positive_int("seed", value, minimum=0)


def choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def factor_columns(sim: Any, factors: Sequence[str] | None) -> tuple[int, ...]:
    """Columns of the chosen factors (None: all of them), in the simulator's order.

    At least two factors: with one, every point has the same label and there is nothing
    to classify or compare.
    """
    names = tuple(sim.factor_names)
    if factors is None:
        chosen = names
    else:
        if isinstance(factors, str):
            raise TypeError(
                f"factors must be a sequence of factor names, not the string {factors!r}; "
                f"e.g. {list(names[1:])!r}"
            )
        chosen = tuple(factors)
        unknown = [f for f in chosen if f not in names]
        if unknown:
            raise ValueError(
                f"unknown factor name(s) {', '.join(map(repr, unknown))} in factors; "
                f"expected names among {', '.join(names)}"
            )
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"factors must not repeat a name; got {list(chosen)}")
    if len(chosen) < 2:
        raise ValueError(f"factors must name at least 2 factors; got {list(chosen)}")
    return tuple(sorted(names.index(f) for f in chosen))
