"""Learning curves: score and reconstruction against training steps for every trial.

Colour is β as on the frontier; trials ASHA stopped are dashed, and the rungs at which it
stopped them are vertical dotted lines, so a reader sees what each trial had to beat there.
Only the report's ranking protocol is drawn (reports.protocols): final scores under it are
stars at the end of a curve, the line joins in-loop scores; other protocols' scores are
left to the table.

A sweep of thousands of trials would be an unreadable knot of lines (and slow to draw):
above MAX_CURVES trials the figure shows a *sample* of them, not an aggregate (an average
curve would hide exactly the early stops and divergences the figure is for): the
BEST_CURVES best-scoring trials, then trials spread evenly over the β order, named in the
title. Each curve is also thinned to at most MAX_POINTS reports (evenly, the last kept).
The frontier figure still shows every trial.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from reports.rungs import Rungs
from reports.searched import SearchedAxis, searched_axis
from reports.selection import protocol_lines
from reports.style import (
    LITERAL,
    RECON_LABEL,
    SCORE_LABEL,
    beta_colorbar,
    beta_colors,
    new_figure,
    plural,
    wrap,
)
from reports.sweepdata import Trial

SIZE = (12.0, 10.0)
MAX_CURVES = 40
BEST_CURVES = 10
MAX_POINTS = 300
RUNG_COLOR = "0.45"
DIVERGED_COLOR = "red"


def sample_trials(trials: list[Trial], axis: SearchedAxis) -> tuple[list[Trial], str]:
    """The trials to draw and how they were chosen (empty text: all of them)."""
    if len(trials) <= MAX_CURVES:
        return trials, ""
    chosen = [t for t in trials if t.has_score]
    best = sorted(chosen, key=lambda t: (-(t.score or 0.0), t.trial_id))[:BEST_CURVES]
    rest = sorted((t for t in trials if t not in best), key=lambda t: (axis.colour(t), t.trial_id))
    spread = MAX_CURVES - len(best)
    picks = np.unique(np.linspace(0, len(rest) - 1, spread).round().astype(int))
    shown = sorted([*best, *(rest[i] for i in picks)], key=lambda t: t.trial_id)
    how = (
        f"{len(shown)} of {len(trials)} trials drawn (a sample): the {len(best)} best-scoring "
        f"and {len(picks)} spread evenly over {axis.colour_label.split(' (')[0]}"
    )
    return shown, how


def _thin(count: int) -> np.ndarray:
    """Indices of at most MAX_POINTS of `count` points, evenly spaced, the last included."""
    if count <= MAX_POINTS:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, MAX_POINTS).round().astype(int))


def curves_figure(name: str, trials: list[Trial], rungs: Rungs, protocol: str | None) -> Figure:
    total = len(trials)
    axis = searched_axis(trials)  # colour by what the sweep searched: β, C_max or M
    trials, sampled = sample_trials(trials, axis)
    figure = new_figure(*SIZE)
    grid = figure.add_gridspec(3, 1, height_ratios=(4, 4, 1))
    score_ax = figure.add_subplot(grid[0])
    recon_ax = figure.add_subplot(grid[1], sharex=score_ax)
    notes = figure.add_subplot(grid[2])
    notes.axis("off")
    norm, cmap = beta_colors(axis.colour(t) for t in trials)
    alpha = 0.9 if len(trials) <= 12 else 0.55
    for trial in trials:
        color = cmap(norm(axis.colour(trial)))
        style = "--" if trial.stopped_early else "-"
        curve = trial.curve
        # One protocol per figure: the report's ranking protocol (reports.protocols).
        ranked = curve.score_protocol == protocol
        loop = ~curve.score_final & ranked
        loop = np.flatnonzero(loop)
        loop = loop[_thin(len(loop))]
        score_ax.plot(
            curve.score_step[loop],
            100 * curve.score[loop],
            style,
            color=color,
            alpha=alpha,
            marker=".",
            markersize=4,
            linewidth=1.1,
        )
        score_ax.plot(
            curve.score_step[curve.score_final & ranked],
            100 * curve.score[curve.score_final & ranked],
            "*",
            color=color,
            markersize=11,
            markeredgecolor="black",
            markeredgewidth=0.5,
        )
        finite = np.isfinite(curve.recon)
        drawn = np.flatnonzero(finite)
        drawn = drawn[_thin(len(drawn))]
        recon_ax.plot(
            curve.step[drawn], curve.recon[drawn], style, color=color, alpha=alpha, linewidth=1.1
        )
        if trial.diverged and finite.any():
            last = np.flatnonzero(finite)[-1]
            recon_ax.plot(
                curve.step[last], curve.recon[last], "x", color=DIVERGED_COLOR, ms=9, mew=2
            )
    for ax in (score_ax, recon_ax):
        for rung in rungs.steps:
            ax.axvline(rung, color=RUNG_COLOR, linestyle=":", linewidth=1.2)
        ax.grid(alpha=0.3)
    if any(np.isfinite(t.curve.recon).any() for t in trials):
        recon_ax.set_yscale("log")
    else:  # InfoGAN sweeps: a GAN reconstructs nothing
        recon_ax.text(0.5, 0.5, "no reconstruction reported (not a VAE)", ha="center",
                      va="center", transform=recon_ax.transAxes, color="0.4")  # fmt: skip
    score_ax.set_ylabel(SCORE_LABEL.replace(" (", "\n("))
    recon_ax.set_ylabel(RECON_LABEL.replace(" (", "\n("))
    recon_ax.set_xlabel("training step (batches of images)")
    beta_colorbar(figure, norm, cmap, [score_ax, recon_ax], axis.colour_label)
    _score_limits(score_ax, trials, protocol)
    handles = [
        Line2D([], [], color="0.35", marker=".", label="in-loop score"),
        Line2D(
            [], [], color="0.35", marker="*", linestyle="none", markersize=11, label="final score"
        ),
        Line2D([], [], color="0.35", linestyle="--", label="stopped early by ASHA"),
    ]
    if rungs.steps:
        handles.append(Line2D([], [], color=RUNG_COLOR, linestyle=":", label="ASHA rung"))
    if any(t.diverged for t in trials):
        handles.append(
            Line2D(
                [], [], color=DIVERGED_COLOR, marker="x", linestyle="none", label="diverged here"
            )
        )
    score_ax.legend(handles=handles, loc="best", fontsize=9, framealpha=0.85)
    shown = f"{len(trials)} of {total} trials (sampled)" if sampled else plural(total, "trial")
    score_ax.set_title(f"Sweep {name}: learning curves of {shown}", **LITERAL)
    rung_text = rungs.source + (
        ": " + ", ".join(str(r) for r in rungs.steps) if rungs.steps else "."
    )
    lines = [rung_text, *(wrap(line, 140) for line in protocol_lines(trials))]
    if sampled:
        lines.append(sampled + f"; at most {MAX_POINTS} reports per curve.")
    notes.text(
        0, 1, "\n".join(lines), va="top", ha="left", fontsize=8.5, family="monospace", **LITERAL
    )
    return figure


def _score_limits(ax: Any, trials: list[Trial], protocol: str | None) -> None:
    """At least 20 points of score axis: a lone score must not fill the panel."""
    scores = [100 * s for t in trials for s in t.curve.score[t.curve.score_protocol == protocol]]
    if not scores:
        return
    low, high = min(scores) - 5, max(scores) + 5
    if high - low < 20:
        middle = (low + high) / 2
        low, high = middle - 10, middle + 10
    ax.set_ylim(max(low, 0), min(high, 100.5))
