"""The traversal figure of one trial: the mosaic of reports.traversals with its labels."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from reports.figure_kl import trial_title
from reports.style import LITERAL, new_figure
from reports.sweepdata import Trial
from reports.traversals import TRAVERSAL_VALUES, Traversal, mosaic, traversal_size


def traversal_figure(name: str, rank: int, trial: Trial, traversal: Traversal) -> Figure:
    canvas, x_centres, x_labels, group_centres = mosaic(traversal)
    rows = len(traversal.latents)
    figure = new_figure(*traversal_size(rows))
    ax = figure.add_subplot()
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(x_centres, x_labels, fontsize=8)
    row_height = canvas.shape[0] / rows
    ax.set_yticks(
        [row_height * (r + 0.5) for r in range(rows)],
        [
            _row_label(latent, kl)
            for latent, kl in zip(traversal.latents, traversal.kl, strict=True)
        ],
        fontsize=9,
    )
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    for centre, label in zip(group_centres, traversal.seed_labels, strict=True):
        ax.text(centre, -12, label, ha="center", va="bottom", fontsize=10)
    hidden = traversal.latent_size - rows
    rest = f"; {hidden} latents with lower KL not shown" if hidden > 0 else ""
    low, high = TRAVERSAL_VALUES[0], TRAVERSAL_VALUES[-1]
    figure.suptitle(
        f"Sweep {name}: latent traversals of {trial_title(rank, trial)}\n"
        f"each row sets one latent to {low:g} … {high:g} (columns), the others at the "
        f"encoder's mean; rows by KL, highest first{rest}",
        fontsize=11,
        **LITERAL,
    )
    return figure


def _row_label(latent: int, kl: float | None) -> str:
    return f"z{latent}" if kl is None or not math.isfinite(kl) else f"z{latent}\nKL {kl:.2f}"
