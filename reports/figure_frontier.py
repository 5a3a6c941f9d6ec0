"""The reconstruction–disentanglement frontier: every scored trial, and the Pareto front."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from reports.searched import BETA_NORM, SearchedAxis, searched_axis
from reports.selection import protocol_lines, score_kind, status_notes
from reports.style import (
    LITERAL,
    NOTHING_TO_PLOT,
    RECON_LABEL,
    SCORE_LABEL,
    beta_colorbar,
    beta_colors,
    marker_by_latent,
    new_figure,
    plural,
    stopped_early_handle,
    wrap,
)
from reports.sweepdata import Trial

SIZE = (11.0, 8.5)  # inches; the notes below the axes take the bottom quarter
FRONTIER_COLOR = "crimson"
LISTED = 6  # frontier members written under the plot; index.html lists them all
NOTE_LINES = 12
LOG_X_RATIO = 10


def frontier_label(index: int, trial: Trial, axis: SearchedAxis = BETA_NORM) -> str:
    return (
        f"{index}. {axis.describe(trial)}, M = {trial.latent_size}: "
        f"score {100 * trial.score:.1f}% ({score_kind(trial)}), "
        f"reconstruction {trial.recon:.1f} nats [trial {trial.trial_id}]"
    )


def frontier_figure(name: str, trials: list[Trial], members: list[Trial]) -> Figure:
    figure = new_figure(*SIZE)
    grid = figure.add_gridspec(2, 1, height_ratios=(3, 1))
    ax = figure.add_subplot(grid[0])
    notes = figure.add_subplot(grid[1])
    notes.axis("off")
    axis = searched_axis(trials)  # colour by what the sweep searched: β, or C_max
    norm, cmap = beta_colors(axis.colour(t) for t in trials)
    markers = marker_by_latent(t.latent_size for t in trials)
    plotted = [t for t in trials if t.can_be_chosen]
    for latent_size, marker in markers.items():
        for hollow in (False, True):
            group = [
                t for t in plotted if t.latent_size == latent_size and t.stopped_early == hollow
            ]
            if not group:
                continue
            colors = cmap(norm([axis.colour(t) for t in group]))
            x = [t.recon for t in group]
            y = [100 * t.score for t in group]
            if hollow:
                ax.scatter(
                    x, y, s=70, marker=marker, facecolors="none", edgecolors=colors, linewidths=1.8
                )
            else:
                ax.scatter(x, y, s=70, marker=marker, c=colors, edgecolors="black", linewidths=0.5)
    if members:
        ax.plot(
            [t.recon for t in members],
            [100 * t.score for t in members],
            color=FRONTIER_COLOR,
            linewidth=1.5,
            zorder=0,
        )
        for index, trial in enumerate(members, start=1):
            ax.annotate(
                str(index),
                (trial.recon, 100 * trial.score),
                xytext=(7, 5),
                textcoords="offset points",
                color=FRONTIER_COLOR,
                fontsize=10,
                fontweight="bold",
            )
    if not plotted:
        no_recon = any(t.has_score for t in trials)  # scored, yet none has a reconstruction
        text = "No trial reports a reconstruction (not a VAE): no frontier" if no_recon else None
        ax.text(0.5, 0.5, text or NOTHING_TO_PLOT, transform=ax.transAxes, ha="center")
    beta_colorbar(figure, norm, cmap, ax, axis.colour_label)
    handles = [
        Line2D([], [], marker=m, linestyle="none", color="0.35", label=f"M = {size} latents")
        for size, m in markers.items()
    ]
    handles.append(stopped_early_handle())
    handles.append(Line2D([], [], color=FRONTIER_COLOR, label="Pareto frontier (numbered below)"))
    ax.legend(handles=handles, loc="best", fontsize=9, framealpha=0.85)
    recons = [t.recon for t in plotted]
    # A trial that barely trained sits far right; a log axis keeps the frontier readable.
    wide = bool(recons) and min(recons) > 0 and max(recons) / min(recons) > LOG_X_RATIO
    if wide:
        ax.set_xscale("log")
    scale = ", log scale" if wide else ""
    ax.set_xlabel(f"{RECON_LABEL}{scale}; lower is better")
    ax.set_ylabel(f"{SCORE_LABEL}; higher is better")
    ax.grid(alpha=0.3)
    ax.set_title(
        f"Sweep {name}: reconstruction against disentanglement, {len(plotted)} of "
        f"{plural(len(trials), 'trial')} plotted",
        **LITERAL,
    )
    notes.text(
        0,
        1,
        _notes(trials, members, axis),
        va="top",
        ha="left",
        fontsize=8.5,
        family="monospace",
        **LITERAL,
    )
    return figure


def _notes(trials: list[Trial], members: list[Trial], axis: SearchedAxis) -> str:
    lines = [
        "Pareto frontier (low reconstruction loss, high score):"
        if members
        else "Pareto frontier: empty."
    ]
    lines += [frontier_label(i, t, axis) for i, t in enumerate(members[:LISTED], start=1)]
    if len(members) > LISTED:
        lines.append(f"... and {len(members) - LISTED} more, listed in index.html")
    lines += [wrap(line, 140) for line in protocol_lines(trials) + status_notes(trials)]
    text = "\n".join(lines).splitlines()
    if len(text) > NOTE_LINES:
        text = [*text[: NOTE_LINES - 1], "... (the rest in index.html)"]
    return "\n".join(text)
