"""KL per latent of the best trials: which latents carry information (are active).

A latent whose KL to the prior is near zero is the prior itself: the decoder ignores it.
The bars are the latest reported KL per latent (from the Parquet files), sorted.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from reports.searched import searched_axis
from reports.selection import active_text
from reports.style import LITERAL, NOTHING_TO_PLOT, new_figure
from reports.sweepdata import Trial, kl_order

ACTIVE_KL = 0.1  # nats; below it a latent is counted as inactive
WIDTH = 10.0
ROW_HEIGHT = 2.6
TITLE_HEIGHT = 0.8


def kl_size(rows: int) -> tuple[float, float]:
    return WIDTH, TITLE_HEIGHT + ROW_HEIGHT * max(rows, 1)


def trial_title(rank: int, trial: Trial) -> str:
    stopped = ", stopped early by ASHA" if trial.stopped_early else ""
    return (
        f"#{rank} trial {trial.trial_id}: {searched_axis([trial]).describe(trial)}, "
        f"M = {trial.latent_size}, score {100 * trial.score:.1f}%{active_text(trial)}{stopped}"
    )


def kl_figure(name: str, best: list[Trial]) -> Figure:
    figure = new_figure(*kl_size(len(best)))
    figure.suptitle(
        f"Sweep {name}: KL per latent of the best trials (active: KL > {ACTIVE_KL} nats)",
        **LITERAL,
    )
    if not best:
        ax = figure.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, NOTHING_TO_PLOT, ha="center", transform=ax.transAxes)
        return figure
    axes = figure.subplots(len(best), 1, squeeze=False)[:, 0]
    for rank, (ax, trial) in enumerate(zip(axes, best, strict=True), start=1):
        ax.set_title(trial_title(rank, trial), fontsize=10, **LITERAL)
        if not trial.kl_per_latent:
            ax.axis("off")
            ax.text(0.5, 0.5, "no KL per latent reported", ha="center", transform=ax.transAxes)
            continue
        order = kl_order(trial.kl_per_latent)
        values = [trial.kl_per_latent[i] for i in order]
        active = sum(v > ACTIVE_KL for v in values)
        colors = ["tab:blue" if v > ACTIVE_KL else "0.7" for v in values]
        ax.bar(range(len(values)), values, color=colors)
        ax.axhline(ACTIVE_KL, color="0.3", linestyle="--", linewidth=1)
        ax.set_xticks(range(len(values)), [f"z{i}" for i in order], fontsize=8)
        ax.set_ylabel("KL (nats)")
        ax.text(
            0.99,
            0.92,
            f"{active} of {len(values)} latents active",
            ha="right",
            va="top",
            transform=ax.transAxes,
            fontsize=9,
        )
    axes[-1].set_xlabel("latent (sorted by KL, highest first)")
    return figure
