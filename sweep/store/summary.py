"""What `sweep status`, `sweep ls` and the end of `sweep run` print, read from the Parquet
files alone (no Ray): they work while a sweep runs, after it, and on another machine."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sweep.errors import UserError, fail
from sweep.store import storage
from sweep.store.compaction import count_rows
from sweep.store.schema import TRIAL_STATUSES, SchemaError

FINISHED = ("terminated", "stopped-early", "diverged")


@dataclass
class SweepSummary:
    name: str
    sweep_dir: str
    trials: list[dict[str, Any]] = field(default_factory=list)  # trials.parquet rows
    rows: int = 0  # result rows in results/

    @property
    def counts(self) -> Counter:
        return Counter(t["status"] for t in self.trials)

    @property
    def unfinished(self) -> int:
        return sum(n for status, n in self.counts.items() if status in ("pending", "running"))

    def counts_text(self) -> str:
        counts = self.counts
        return ", ".join(f"{counts[s]} {s}" for s in TRIAL_STATUSES if counts[s]) or "no trials"


def read_summary(sweep_dir: str, name: str) -> SweepSummary:
    summary = SweepSummary(name, sweep_dir)
    try:
        trials_file = storage.join(sweep_dir, storage.TRIALS_FILE)
        if storage.exists(trials_file):
            summary.trials = storage.read_parquet(trials_file, "trials").to_pylist()
        # Footers of the live parts only (sweep.store.compaction): fast at a million rows.
        summary.rows = count_rows(storage.join(sweep_dir, storage.RESULTS_DIR))
    except SchemaError as error:
        fail(str(error))
    summary.trials.sort(key=lambda t: t["trial_id"])
    return summary


def _number(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _active(units: int | None, latent_size: int) -> str:
    return "-" if units is None else f"{units}/{latent_size}"


def status_table(summary: SweepSummary) -> str:
    """One line per trial: state, β, latent size, steps, last recon, last score with the
    active units beside it (a collapsed model shows 0), early stop."""
    header = (
        "trial",
        "state",
        "beta",
        "beta_norm",
        "latent",
        "steps",
        "recon",
        "score",
        "active",
        "early",
    )
    lines = [header]
    for t in summary.trials:
        steps = f"{t['steps_done'] or 0}/{t['steps']}"
        lines.append(
            (
                t["trial_id"],
                t["status"],
                _number(t["beta"]),
                _number(t["beta_norm"], 3),
                str(t["latent_size"]),
                steps,
                _number(t["last_recon"], 5),
                _number(t["last_score"], 3),
                _active(t.get("last_active_units"), t["latent_size"]),
                "yes" if t["stopped_early"] else "no",
            )
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in lines]
    text.append(
        f"{len(summary.trials)} trials: {summary.counts_text()}; {summary.rows} result rows"
    )
    errors = [t for t in summary.trials if t["status"] == "error" and t["message"]]
    text += [f"{t['trial_id']}: {t['message']}" for t in errors]
    return "\n".join(line.rstrip() for line in text)


def where_text(summary: SweepSummary, storage_root: str) -> str:
    """Where the files are, and the command that draws the report."""
    results = storage.join(summary.sweep_dir, storage.RESULTS_DIR)
    trials = storage.join(summary.sweep_dir, storage.TRIALS_FILE)
    return "\n".join(
        [
            f"sweep {summary.name}: {len(summary.trials)} trials ({summary.counts_text()}), "
            f"{summary.rows} result rows",
            f"  results  {results}/  (Parquet dataset, one row per report)",
            f"  trials   {trials}",
            f"  status   sweep status {summary.name} --storage {storage_root}",
            f"  report   sweep report {summary.name} --storage {storage_root}",
        ]
    )


def list_sweeps(storage_root: str) -> str:
    """`sweep ls`: one line per sweep under `storage_root`; a damaged one says what is wrong
    with it, and the others are listed all the same."""
    names = [
        name
        for name in storage.list_dirs(storage_root)
        if storage.is_file(storage.join(storage_root, name, storage.SPEC_FILE))
    ]
    if not names:
        return f"no sweeps under {storage_root}"
    lines = []
    for name in names:
        try:
            lines.append(_sweep_line(storage.join(storage_root, name), name))
        except (UserError, ValueError, OSError) as error:
            lines.append(f"{name}  damaged: {error}")
    return "\n".join(lines)


def _sweep_line(sweep_dir: str, name: str) -> str:
    location = storage.join(sweep_dir, storage.SPEC_FILE)
    try:
        saved = storage.read_json(location)
    except ValueError as error:
        raise ValueError(f"{location} is not readable JSON ({error})") from None
    spec = saved.get("spec") if isinstance(saved, dict) else None
    if not isinstance(spec, dict):
        raise ValueError(f"{location} holds no sweep specification")
    searched = (
        f"beta {spec.get('beta')}" if spec.get("beta") else f"beta_norm {spec.get('beta_norm')}"
    )
    summary = read_summary(sweep_dir, name)
    return (
        f"{name}  {saved.get('created_at', '?')}  {spec.get('search')} {searched} "
        f"latent {spec.get('latent')}  {len(summary.trials)} trials: "
        f"{summary.counts_text()}; {summary.rows} rows"
    )
