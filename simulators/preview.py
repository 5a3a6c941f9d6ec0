"""A picture of the simulator for people: random samples and one traversal per factor."""

from __future__ import annotations

import torch

from simulators.factors import FactorSpace

TRAVERSAL_STEPS = 10


def traversal_classes(
    sim: FactorSpace, base: torch.Tensor, factor: int, steps: int
) -> torch.Tensor:
    """`steps` copies of `base` with one factor swept evenly over its classes."""
    size = sim.factor_sizes[factor]
    values = torch.linspace(0, size - 1, min(steps, size)).round().long()
    rows = base.repeat(values.numel(), 1)
    rows[:, factor] = values.to(rows.device)
    return rows


def preview_figure(sim: FactorSpace, seed: int, samples: int = 32):
    """A matplotlib Figure: a grid of random samples above one traversal row per factor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    generator = sim.generator(seed)
    images = sim.render(sim.sample_factors(samples, generator))[:, 0].cpu().numpy()
    base = sim.sample_factors(1, generator)
    columns = max(TRAVERSAL_STEPS, 8)
    sample_rows = -(-samples // columns)
    rows = sample_rows + sim.num_factors
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 0.9, rows * 1.0 + 0.6))
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    for i, image in enumerate(images):
        axes[i // columns, i % columns].imshow(image, cmap="gray", vmin=0, vmax=1)
    for f, name in enumerate(sim.factor_names):
        classes = traversal_classes(sim, base, f, TRAVERSAL_STEPS)
        row = axes[sample_rows + f]
        for ax, image, value in zip(
            row, sim.render(classes)[:, 0].cpu().numpy(), classes[:, f], strict=False
        ):
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_xlabel(f"{int(value)}", fontsize=7)
        row[0].set_ylabel(f"{name}\n(class)", fontsize=8)
    axes[0, 0].set_ylabel("random\nsamples", fontsize=8)
    figure.suptitle(
        f"{sim!r}: {samples} random samples (seed {seed}), then one traversal per factor"
    )
    figure.tight_layout()
    return figure
