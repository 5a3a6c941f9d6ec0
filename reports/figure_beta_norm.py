"""Score against normalised β, one line per latent size: the paper's Figure 6 — or, for a
sweep of the capacity objective, score against C_max (reports.searched).

A line joins the mean score of the trials at each β_norm (error bars: their standard
deviation over seeds). Trials ASHA stopped early are drawn hollow and left out of the line:
their score was measured early, with the in-loop protocol, and would drag the mean down.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from reports.searched import BETA_NORM, SearchedAxis
from reports.selection import protocol_lines, status_notes
from reports.style import (
    LITERAL,
    NOTHING_TO_PLOT,
    SCORE_LABEL,
    chance_percent,
    new_figure,
    stopped_early_handle,
    wrap,
)
from reports.sweepdata import Trial

SIZE = (10.0, 7.0)
LATENT_COLORS = "tab10"


def beta_norm_figure(name: str, trials: list[Trial], axis: SearchedAxis = BETA_NORM) -> Figure:
    import matplotlib

    figure = new_figure(*SIZE)
    grid = figure.add_gridspec(2, 1, height_ratios=(5, 1))
    ax = figure.add_subplot(grid[0])
    notes = figure.add_subplot(grid[1])
    notes.axis("off")
    palette = matplotlib.colormaps[LATENT_COLORS]
    scored = [t for t in trials if t.has_score]
    sizes = sorted({t.latent_size for t in trials})
    handles = []
    for index, latent_size in enumerate(sizes):
        color = palette(index % palette.N)
        group = [t for t in scored if t.latent_size == latent_size]
        kept = [t for t in group if not t.stopped_early]
        pruned = [t for t in group if t.stopped_early]
        ax.scatter(
            [axis.x(t) for t in kept], [100 * t.score for t in kept], color=color, s=22, alpha=0.6
        )
        ax.scatter(
            [axis.x(t) for t in pruned],
            [100 * t.score for t in pruned],
            s=40,
            facecolors="none",
            edgecolors=color,
            linewidths=1.4,
        )
        x, mean, std = _mean_by_x(kept, axis)
        if x.size:
            ax.errorbar(
                x, mean, yerr=np.where(std > 0, std, np.nan), color=color, marker="o", capsize=3
            )
        handles.append(Line2D([], [], color=color, marker="o", label=f"M = {latent_size} latents"))
    handles.append(stopped_early_handle())
    chance = chance_percent(t.score_protocol for t in scored)
    if chance is not None and scored:
        ax.axhline(chance, color="0.5", linestyle=":", linewidth=1)
        handles.append(Line2D([], [], color="0.5", linestyle=":", label=f"chance ({chance:.0f}%)"))
    if not scored:
        ax.text(0.5, 0.5, NOTHING_TO_PLOT, transform=ax.transAxes, ha="center")
    else:
        ax.set_xscale("log")
    ax.legend(handles=handles, loc="best", fontsize=9, framealpha=0.85)
    ax.set_xlabel(axis.x_label)
    ax.set_ylabel(SCORE_LABEL)
    ax.grid(alpha=0.3, which="both")
    ax.set_title(f"Sweep {name}: {axis.title}, one line per latent size", **LITERAL)
    text = ["Lines: mean over trials at each value, error bars one standard deviation."]
    text += [wrap(line, 130) for line in protocol_lines(trials) + status_notes(trials)]
    notes.text(
        0, 1, "\n".join(text), va="top", ha="left", fontsize=8.5, family="monospace", **LITERAL
    )
    return figure


def _mean_by_x(
    trials: list[Trial], axis: SearchedAxis
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation (in %) of the scores at each distinct x, ascending.

    x is rounded to 9 significant digits first: β·M/4096 computed for different
    seeds of one configuration must fall into one group.
    """
    groups: dict[float, list[float]] = defaultdict(list)
    for t in trials:
        groups[float(f"{axis.x(t):.9g}")].append(100 * t.score)
    x = np.array(sorted(groups), dtype=float)
    mean = np.array([np.mean(groups[k]) for k in x], dtype=float)
    std = np.array([np.std(groups[k]) for k in x], dtype=float)
    return x, mean, std
