"""What every report figure shares: the Agg canvas, the β colours, the latent-size markers,
and writing one figure as PNG and SVG.

Figures are built on matplotlib.figure.Figure with an Agg canvas attached, never through
pyplot, so a report changes no global backend state and needs no display.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

DPI = 100
BETA_COLORMAP = "viridis"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p")
SCORE_LABEL = "disentanglement score (Higgins test accuracy, %)"
RECON_LABEL = "reconstruction loss (Bernoulli NLL, nats per image)"
STOPPED_EARLY_LABEL = "stopped early by ASHA (hollow)"
# Text from the data (trial ids, protocols, sweep names) is drawn as written: a "$" in it
# must not switch matplotlib into mathtext (or fail to parse as such).
LITERAL = {"parse_math": False}
NOTHING_TO_PLOT = "No trial to plot yet: none has a score without having diverged"


def new_figure(width: float, height: float) -> Figure:
    """A figure of width × height inches at DPI, on an Agg canvas, laid out by matplotlib."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def pixel_size(figure: Figure) -> tuple[int, int]:
    """(width, height) in pixels of the PNG that save() writes."""
    width, height = figure.get_size_inches() * DPI
    return round(width), round(height)


def save(figure: Figure, directory: Path, stem: str) -> list[str]:
    """Write stem.png and stem.svg into directory; returns the two file names.

    No bbox_inches="tight": the PNG keeps the figure's declared size, which tests check.
    The SVG's date is left out so that the same sweep gives the same file.
    """
    names = [f"{stem}.png", f"{stem}.svg"]
    figure.savefig(directory / names[0], format="png", dpi=DPI)
    figure.savefig(directory / names[1], format="svg", metadata={"Date": None})
    return names


def beta_colors(betas: Iterable[float]) -> tuple[LogNorm, Colormap]:
    """A log-scale norm over the sweep's β range and the colormap to colour trials by β."""
    values = [b for b in betas if b > 0]
    low, high = (min(values), max(values)) if values else (1.0, 1.0)
    if low == high:  # one β: widen so that the colour bar still has a range
        low, high = low / 2, high * 2
    return LogNorm(vmin=low, vmax=high), matplotlib.colormaps[BETA_COLORMAP]


def beta_colorbar(
    figure: Figure, norm: LogNorm, cmap: Colormap, ax: Any, label: str = "β (log scale)"
) -> None:
    """A colour bar for β with ticks at powers of two (β grids are usually 1, 2, 4, …),
    written as plain numbers rather than matplotlib's 2×10⁰ notation."""
    low, high = norm.vmin, norm.vmax
    ticks = [2.0**k for k in range(math.floor(math.log2(low)), math.ceil(math.log2(high)) + 1)]
    ticks = [t for t in ticks if low <= t <= high] or [low, high]
    bar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=label)
    bar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
    bar.ax.minorticks_off()


def marker_by_latent(latent_sizes: Iterable[int]) -> dict[int, str]:
    return {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(sorted(set(latent_sizes)))}


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def wrap(text: str, width: int = 150) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


def chance_percent(protocols: Iterable[str | None]) -> float | None:
    """Chance level 100/K of the Higgins score, when every protocol names the same K factors.

    The protocol string (metrics.higgins.describe) lists them as factors=a,b,c.
    """
    counts = set()
    for protocol in protocols:
        match = re.search(r"factors=(\S+)", protocol or "")
        if match is None:
            return None
        counts.add(len(match.group(1).split(",")))
    return 100.0 / counts.pop() if len(counts) == 1 else None


def stopped_early_handle() -> Line2D:
    """The legend entry for trials ASHA stopped: a hollow marker."""
    return Line2D(
        [],
        [],
        marker="o",
        linestyle="none",
        markerfacecolor="none",
        color="0.35",
        label=STOPPED_EARLY_LABEL,
    )
