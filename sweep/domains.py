"""The values a sweep searches over, as the user writes them: `4`, `1,4,16` or `1..250`.

A Domain is plain data (no Ray): the Tune search space is derived from it in
sweep.tune.space, and it prints back exactly as it parses, so a sweep's sweep.json
stays readable and round-trips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sweep.errors import fail

VALUE, LIST, RANGE = "value", "list", "range"


@dataclass(frozen=True)
class Domain:
    """One searched dimension. A float range is sampled log-uniformly (β spans decades);
    an integer range uniformly over its integers, both ends included."""

    kind: str  # VALUE, LIST or RANGE
    values: tuple[float, ...] | tuple[int, ...]  # VALUE: (v,); LIST: (v1, v2, ...); RANGE: (lo, hi)
    integer: bool

    def __str__(self) -> str:
        text = [_number_text(v) for v in self.values]
        return "..".join(text) if self.kind == RANGE else ",".join(text)

    @property
    def is_range(self) -> bool:
        return self.kind == RANGE

    @property
    def choices(self) -> tuple:
        """The finite values of a VALUE or LIST domain (a grid axis)."""
        if self.kind == RANGE:
            raise ValueError(f"{self} is a range, not a list of values")
        return self.values


def _number_text(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.12g}"


def parse_domain(text: str, option: str, integer: bool, minimum: float, strict: bool) -> Domain:
    """Parse `text` given to `option`; every number must be ≥ `minimum` (> if `strict`).

    Errors name the option and the value, say what was expected, and end the command
    (sweep.errors.UserError) before anything starts.
    """
    raw = str(text).strip()
    kind_word = "an integer" if integer else "a number"
    example = "8, 4,8,16 or 4..16" if integer else "4, 1,4,16 or 1..250"
    if not raw:
        fail(f"{option} is empty: expected a value, a list or a range ({example})")
    if ".." in raw:
        parts = raw.split("..")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            fail(f"{option} {raw}: a range needs both ends, like {example.split()[-1]}")
        low, high = (_number(p, option, raw, integer, kind_word, example) for p in parts)
        for value in (low, high):
            _check_bound(value, option, raw, minimum, strict)
        if not low < high:
            fail(
                f"{option} {raw}: the range's first end must be below its second "
                f"(did you mean {_number_text(high)}..{_number_text(low)}?)"
                if low > high
                else f"{option} {raw}: an empty range; give a single value instead"
            )
        return Domain(RANGE, (low, high), integer)
    items = [p.strip() for p in raw.split(",")]
    if any(not p for p in items):
        fail(f"{option} {raw}: an empty item in the list; expected {example}")
    values = [_number(p, option, raw, integer, kind_word, example) for p in items]
    for value in values:
        _check_bound(value, option, raw, minimum, strict)
    if len(set(values)) != len(values):
        fail(f"{option} {raw}: a value appears twice in the list")
    return Domain(VALUE if len(values) == 1 else LIST, tuple(values), integer)


def _number(text: str, option: str, raw: str, integer: bool, kind_word: str, example: str):
    text = text.strip()
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        fail(f"{option} {raw}: {text!r} is not {kind_word}; expected {example}")
    if not integer and not math.isfinite(value):
        fail(f"{option} {raw}: {text!r} is not a finite number")
    return value


def _check_bound(value: float, option: str, raw: str, minimum: float, strict: bool) -> None:
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else "≥"
        fail(f"{option} {raw}: every value must be {relation} {_number_text(minimum)}")
