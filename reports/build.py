"""`sweep report`: read a sweep, draw its figures, write index.html — all or nothing.

Everything that can fail on the user's input (the Parquet files, the checkpoints, the
output directory) is checked before the first figure is drawn; the report is then written
into a temporary directory beside the target and moved into place in one step.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports import html
from reports.figure_searched import annotate_hypervolume
from reports.frontier_searched import SearchedFrontier, searched_frontier
from reports.rungs import Rungs, asha_rungs
from reports.searched import searched_axis
from reports.selection import (
    DEFAULT_TOP_K,
    active_text,
    best_trials,
    frontier_members,
    status_notes,
)
from reports.style import pixel_size, save
from reports.sweepdata import Sweep, Trial, load_sweep
from simulators.atomic import atomic_path
from sweep.errors import fail

MARKER_FILE = "report.json"  # also tells a later report that this directory may be replaced
MARKER_KIND = "betasweep-report"


@dataclass(frozen=True)
class ReportResult:
    out: Path
    figures: dict[str, tuple[int, int]]  # PNG name -> (width, height) in pixels
    frontier: list[str]  # trial ids
    best: list[str]


def build_report(
    sweep_dir: Path,
    name: str,
    out: Path,
    *,
    baselines: Path | None = None,
    top_k: int = DEFAULT_TOP_K,
    traversals: bool = True,
) -> ReportResult:
    if top_k < 1:
        fail(f"--top must be at least 1; got {top_k}")
    sweep = load_sweep(sweep_dir, name, baselines)
    check_output_dir(out, sweep_dir)
    frontier = frontier_members(sweep.trials)
    searched = searched_frontier(sweep.directory)
    best = best_trials(sweep.trials, top_k)
    rungs = asha_rungs(sweep.trials, sweep.directory)
    models, traversal_notes = _load_models(sweep, best) if traversals else ({}, [])
    if not traversals:
        traversal_notes = ["Latent traversals were not drawn (--no-traversals)."]
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        tmp.mkdir()
        sections, sizes = _draw(tmp, sweep, frontier, best, rungs, models, searched)
        page = html.Page(
            sweep=sweep,
            frontier=frontier,
            best=best,
            notes=status_notes(sweep.trials),
            sections=sections,
            traversal_notes=traversal_notes,
            generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
        (tmp / "index.html").write_text(html.render(page), encoding="utf-8")
        result = ReportResult(
            out, sizes, [t.trial_id for t in frontier], [t.trial_id for t in best]
        )
        marker = {
            **_marker(sweep, result),
            "hypervolume": frontier_hypervolume(sweep.trials),
            "searched_frontier": None if searched is None else searched.to_json(),
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")
    return result


def check_output_dir(out: Path, sweep_dir: Path) -> None:
    """Refuse an output that replacing would destroy: the sweep itself, or foreign files."""
    resolved, sweep = out.resolve(), sweep_dir.resolve()
    if resolved == sweep or resolved in sweep.parents:
        fail(f"--out {out} would replace the sweep's own directory; choose another directory")
    if resolved.is_file():
        fail(f"--out {out} is a file; expected a directory")
    if resolved.is_dir() and any(resolved.iterdir()):
        marker = resolved / MARKER_FILE
        if not marker.is_file() or _marker_kind(marker) != MARKER_KIND:
            fail(f"--out {out} exists and is not a betasweep report; refusing to replace it")
    parent = resolved.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        fail(f"--out {out}: {parent} is not writable")


def _marker_kind(marker: Path) -> str | None:
    try:
        return json.loads(marker.read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None


def _marker(sweep: Sweep, result: ReportResult) -> dict[str, Any]:
    return {
        "kind": MARKER_KIND,
        "sweep": sweep.name,
        "sweep_directory": str(sweep.directory),
        "trials": [t.trial_id for t in sweep.trials],
        "frontier": result.frontier,
        "best": result.best,
        "figures": {name: list(size) for name, size in result.figures.items()},
    }


def _load_models(sweep: Sweep, best: list[Trial]) -> tuple[dict[str, Any], list[str]]:
    """The best trials' models, loaded before anything is written (a bad one fails here)."""
    from reports.traversals import load_trial_model, resolve_checkpoint

    models, notes = {}, []
    for trial in best:
        if trial.model == "infogan":  # a GAN has no encoder-decoder round trip to traverse
            notes.append(f"Trial {trial.trial_id} is an InfoGAN: no latent traversal drawn.")
            continue
        if not trial.checkpoint_path:
            notes.append(f"Trial {trial.trial_id} has no checkpoint yet: no traversal drawn.")
            continue
        path = resolve_checkpoint(trial.checkpoint_path, sweep.directory, trial.trial_id)
        models[trial.trial_id] = load_trial_model(path, trial.trial_id, trial.latent_size)
    return models, notes


def _draw(
    directory: Path,
    sweep: Sweep,
    frontier: list[Trial],
    best: list[Trial],
    rungs: Rungs,
    models: dict[str, Any],
    searched: SearchedFrontier | None = None,
) -> tuple[dict[str, list[html.FigureEntry]], dict[str, tuple[int, int]]]:
    from reports.figure_beta_norm import beta_norm_figure
    from reports.figure_curves import curves_figure
    from reports.figure_frontier import frontier_figure
    from reports.figure_kl import kl_figure

    sections: dict[str, list[html.FigureEntry]] = {}
    sizes: dict[str, tuple[int, int]] = {}

    def add(section: str, stem: str, figure: Any, title: str, caption: str) -> None:
        save(figure, directory, stem)
        sizes[f"{stem}.png"] = pixel_size(figure)
        sections.setdefault(section, []).append(html.FigureEntry(stem, title, caption))

    name, trials = sweep.name, sweep.trials
    axis = searched_axis(trials)
    figure = frontier_figure(name, trials, frontier)
    volume = frontier_hypervolume(trials)
    if volume is not None:
        annotate_hypervolume(figure, volume["value"], volume["reference_point"])
    add(
        "frontier",
        "frontier",
        figure,
        "Frontier",
        "Every trial with a score: reconstruction loss against disentanglement score, colour "
        f"by {axis.colour_label.split(' (')[0]}, marker by latent size, hollow if ASHA "
        "stopped it; the red line is the Pareto frontier.",
    )
    if searched is not None:
        from reports.figure_searched import searched_figure

        add(
            "frontier",
            "searched_frontier",
            searched_figure(name, searched),
            "The searched frontier",
            f"What this frontier sweep optimised ({', '.join(searched.objectives)}): every "
            "trial's latest values, red if the sweep put it on the final frontier, hollow if "
            f"ASHA stopped it; hypervolume {searched.hypervolume:.4g} from the reference point "
            "(the worst value of each objective).",
        )
    add(
        "beta_norm",
        axis.stem,
        beta_norm_figure(name, trials, axis),
        axis.title,
        f"Disentanglement score against {axis.x_label}, one line per latent size M.",
    )
    add(
        "curves",
        "learning_curves",
        curves_figure(name, trials, rungs, sweep.protocol),
        "Learning curves",
        "Score (top) and reconstruction loss (bottom) against training steps; dotted lines "
        "are ASHA's rungs, where it compares trials and stops the worse ones.",
    )
    if models:
        from reports.figure_traversals import traversal_figure
        from reports.traversals import seed_images, traverse

        images, labels = seed_images()
        for rank, trial in enumerate(best, start=1):
            if trial.trial_id not in models:
                continue
            traversal = traverse(models[trial.trial_id], images, trial.kl_per_latent, labels)
            add(
                "best",
                f"traversal_{rank}",
                traversal_figure(name, rank, trial, traversal),
                f"Latent traversals of best trial #{rank}",
                f"Best trial #{rank} ({trial.trial_id}{active_text(trial)}): each row "
                "varies one latent over [−3, 3] with the others at the encoder's mean, for "
                "three seed images.",
            )
    add(
        "best",
        "kl_per_latent",
        kl_figure(name, best),
        "KL per latent",
        "KL divergence to the prior per latent for the best trials: the active latents.",
    )
    if sweep.baselines is not None:
        from reports.figure_baselines import baselines_figure

        add(
            "baselines",
            "baselines",
            baselines_figure(name, sweep.baselines, best),
            "Baselines",
            "The paper's table, our baseline scores and the sweep's best trials.",
        )
    return sections, sizes


def frontier_hypervolume(trials: list[Trial]) -> dict[str, Any] | None:
    """The hypervolume of the report's recon–score points (reconstruction nats × score in
    percent, as drawn), from the worst reconstruction and the worst score among them."""
    from sweep.multiobjective import hypervolume, nadir_reference

    points = [(t.recon, 100 * t.score) for t in trials if t.can_be_chosen]
    if not points:
        return None
    reference = nadir_reference(points, (False, True))
    return {
        "objectives": ["recon", "score_percent"],
        "directions": ["min", "max"],
        "reference_point": reference,
        "reference_rule": "the worst reconstruction and the worst score among the drawn trials",
        "value": hypervolume(points, (False, True), reference),
    }
