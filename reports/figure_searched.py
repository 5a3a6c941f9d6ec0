"""The frontier a frontier sweep searched for, in its own objectives, with its hypervolume
and the reference point it is measured from."""

from __future__ import annotations

from matplotlib.figure import Figure

from reports.frontier_searched import LABELS, SearchedFrontier
from reports.style import LITERAL, new_figure

SIZE = (9.0, 6.5)
MEMBER_COLOR = "crimson"


def searched_figure(name: str, frontier: SearchedFrontier) -> Figure:
    figure = new_figure(*SIZE)
    ax = figure.add_subplot()
    x_name, y_name = frontier.objectives[:2]
    members = set(frontier.members)
    for on, color, label in (
        (False, "0.55", "other trials"),
        (True, MEMBER_COLOR, "final frontier"),
    ):
        group = [i for i, t in enumerate(frontier.trial_ids) if (t in members) == on]
        for hollow in (False, True):
            chosen = [i for i in group if frontier.stopped_early[i] == hollow]
            if not chosen:
                continue
            x = [frontier.points[i][0] for i in chosen]
            y = [frontier.points[i][1] for i in chosen]
            face = "none" if hollow else color
            text = f"{label}{', stopped early' if hollow else ''}"
            ax.scatter(x, y, s=60, facecolors=face, edgecolors=color, linewidths=1.5, label=text)
    line = sorted(frontier.points[frontier.trial_ids.index(t)][:2] for t in members)
    if len(line) > 1 and len(frontier.objectives) == 2:
        ax.plot(*zip(*line, strict=True), color=MEMBER_COLOR, linewidth=1.2, zorder=0)
    reference = frontier.reference_point
    ax.scatter([reference[0]], [reference[1]], marker="x", s=80, color="black",
               label="reference point")  # fmt: skip
    ax.set_xlabel(_label(x_name, frontier.directions[0]))
    ax.set_ylabel(_label(y_name, frontier.directions[1]))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9, framealpha=0.85)
    reference_text = ", ".join(
        f"{n} {v:.4g}" for n, v in zip(frontier.objectives, reference, strict=True)
    )
    projection = (
        f" (drawn on the first two of {', '.join(frontier.objectives)})"
        if len(frontier.objectives) > 2
        else ""
    )
    ax.set_title(
        f"Sweep {name}: the searched frontier{projection}\n"
        f"hypervolume {frontier.hypervolume:.4g} from reference point ({reference_text}): "
        "the worst value of each objective",
        fontsize=10,
        **LITERAL,
    )
    return figure


def _label(objective: str, direction: str) -> str:
    return f"{LABELS[objective]}; {'lower' if direction == 'min' else 'higher'} is better"


def annotate_hypervolume(figure: Figure, value: float, reference: list[float]) -> None:
    """One line in the corner of the report's recon–score frontier (reports.figure_frontier):
    the hypervolume of the trials it draws and the reference point it is measured from."""
    ax = figure.axes[0]
    ax.text(
        0.01,
        0.01,
        f"hypervolume {value:.4g} (reconstruction nats × score %) from reference point "
        f"({reference[0]:.4g} nats, {reference[1]:.4g}%): the worst of each",
        transform=ax.transAxes,
        fontsize=8,
        color="0.3",
        **LITERAL,
    )
