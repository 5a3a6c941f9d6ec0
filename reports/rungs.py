"""The ASHA rungs to mark on the learning curves.

From the sweep's own specification when it is there (sweep.json beside the Parquet files,
written by `sweep run`): ASHA's rungs sit at grace·rf^k steps below the last step. Without
it, from the data: ASHA stops a trial only at a rung, so the steps at which stopped-early
trials reported last are the rungs that have pruned something so far.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from reports.sweepdata import Trial
from sweep.errors import fail

SPEC_FILE = "sweep.json"  # sweep.store.storage.SPEC_FILE


@dataclass(frozen=True)
class Rungs:
    steps: list[int]
    source: str  # one line for the figure: where the rungs come from


def asha_rungs(trials: list[Trial], sweep_dir: Path | None = None) -> Rungs:
    spec = _read_spec(sweep_dir / SPEC_FILE) if sweep_dir is not None else None
    if spec is not None:
        grace, factor, last = spec
        steps = []
        rung = grace
        while rung < last:
            steps.append(rung)
            rung *= factor
        return Rungs(
            steps,
            f"ASHA rungs from {SPEC_FILE}: grace period {grace} steps × reduction factor "
            f"{factor}^k below {last} steps",
        )
    steps = sorted({int(t.curve.step[-1]) for t in trials if t.stopped_early and t.curve.step.size})
    source = (
        "ASHA rungs (steps at which trials were stopped early)"
        if steps
        else "No trial was stopped early by ASHA and no sweep.json gives its rungs"
    )
    return Rungs(steps, source)


def _read_spec(path: Path) -> tuple[int, int, int] | None:
    """(grace_steps, reduction_factor, max_steps) of sweep.json's spec; None if absent or
    if it predates these fields. A file that is not JSON is an error: the sweep is damaged."""
    if not path.is_file():
        return None
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(f"{path}: not a readable sweep specification ({error})")
    if not isinstance(values, dict):
        fail(f"{path}: not a sweep specification (expected a JSON object)")
    spec = values.get("spec")  # sweep.tune.run.write_spec: {"version", "created_at", "spec"}
    if not isinstance(spec, dict):
        return None
    numbers = [spec.get(k) for k in ("grace_steps", "reduction_factor", "max_steps")]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in numbers):
        return None
    grace, factor, last = numbers
    return (grace, factor, last) if factor >= 2 else None
