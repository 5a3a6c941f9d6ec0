"""The baseline table (the paper's rows, scored by us) beside the sweep's best trials."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from reports.searched import searched_axis
from reports.selection import score_kind
from reports.style import LITERAL, new_figure, wrap
from reports.sweepdata import Trial

WIDTH = 11.0
ROW_HEIGHT = 0.42
FIXED_HEIGHT = 2.6  # title, axis label, legend and the protocol notes


def baselines_size(rows: int) -> tuple[float, float]:
    return WIDTH, FIXED_HEIGHT + ROW_HEIGHT * rows


def baselines_figure(name: str, baselines: list[dict[str, Any]], best: list[Trial]) -> Figure:
    rows = len(baselines) + len(best)
    figure = new_figure(*baselines_size(rows))
    grid = figure.add_gridspec(2, 1, height_ratios=(ROW_HEIGHT * rows + 1.2, 1.0))
    ax = figure.add_subplot(grid[0])
    notes = figure.add_subplot(grid[1])
    notes.axis("off")
    labels, y = [], 0
    for row in baselines:
        if row.get("score_mean") is not None:
            ax.barh(
                y, row["score_mean"], xerr=row.get("score_std") or 0, color="tab:gray", capsize=3
            )
        if row.get("paper_score") is not None:
            ax.plot(row["paper_score"], y, "D", color="black", markersize=6)
        labels.append(row["model"])
        y += 1
    for rank, trial in enumerate(best, start=1):
        ax.barh(y, 100 * trial.score, color="tab:blue")
        _value(ax, y, 100 * trial.score, 100 * trial.score)
        labels.append(
            f"#{rank} {searched_axis([trial]).describe(trial)}, M = {trial.latent_size} "
            f"({score_kind(trial)})"
        )
        y += 1
    ax.set_yticks(range(rows), labels, **LITERAL)
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("disentanglement score (Higgins test accuracy, %)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"Sweep {name}: baselines beside the sweep's best trials", **LITERAL)
    protocols = sorted({str(r.get("protocol")) for r in baselines})
    trial_protocols = sorted({str(t.score_protocol) for t in best})
    text = [wrap(f"baselines: {p}", 150) for p in protocols]
    text += [wrap(f"trials: {p}", 150) for p in trial_protocols]
    if not best:
        text.append("No trial of this sweep has a score yet.")
    elif set(protocols) != set(trial_protocols):
        text.append("The protocols differ: compare the numbers with care.")
    notes.text(
        0, 1, "\n".join(text), va="top", ha="left", fontsize=8, family="monospace", **LITERAL
    )
    notes.legend(
        handles=[
            Line2D(
                [],
                [],
                color="tab:gray",
                linewidth=8,
                label="baseline, ours (mean ± std over seeds)",
            ),
            Line2D([], [], color="black", marker="D", linestyle="none", label="the paper's table"),
            Line2D([], [], color="tab:blue", linewidth=8, label="best trials of this sweep"),
        ],
        loc="lower right",
        ncols=3,
        fontsize=8.5,
        frameon=False,
    )
    return figure


def _value(ax: Any, y: float, value: float, right: float) -> None:
    """The score written right of its bar (and error bar), so a reader need not estimate it."""
    ax.text(right + 1.5, y, f"{value:.1f}", va="center", ha="left", fontsize=8, color="0.2")
