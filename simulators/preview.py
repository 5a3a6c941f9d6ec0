"""A picture of the simulator for people: random samples and one traversal per factor."""

from __future__ import annotations

import torch

from simulators.factors import FactorSpace

TRAVERSAL_STEPS = 10
HEART, HEART_ORIENTATIONS = 2, (0, 2, 4, 6, 8, 10, 15, 20, 25, 30)  # orientation classes


def heart_classes(sim: FactorSpace) -> tuple[torch.Tensor, torch.Tensor]:
    """Hearts at posX = posY = 0 (centre (16, 16), a pixel corner, as the reference measured
    them): every scale at orientation 0, and the largest at a few orientations."""
    scales = torch.arange(sim.factor_sizes[1])
    by_scale = torch.zeros((len(scales), 5), dtype=torch.long)
    by_scale[:, 0], by_scale[:, 1] = HEART, scales
    by_orientation = torch.zeros((len(HEART_ORIENTATIONS), 5), dtype=torch.long)
    by_orientation[:, 0], by_orientation[:, 1] = HEART, len(scales) - 1
    by_orientation[:, 2] = torch.tensor(HEART_ORIENTATIONS)
    return by_scale.to(sim.device), by_orientation.to(sim.device)


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
    rows = sample_rows + sim.num_factors + 2
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
    # Hearts up close (the 32×32 px around the centre) to compare with the real frames:
    # `sweep simulator preview --npz` draws the same classes from the real archive.
    for r, (classes, name) in enumerate(
        zip(heart_classes(sim), ("scale", "orientation"), strict=True)
    ):
        row = axes[sample_rows + sim.num_factors + r]
        factor = 1 if name == "scale" else 2
        for ax, image, value in zip(
            row, sim.render(classes)[:, 0].cpu().numpy(), classes[:, factor], strict=False
        ):
            ax.imshow(image[:32, :32], cmap="gray", vmin=0, vmax=1)
            ax.set_xlabel(f"{int(value)}", fontsize=7)
        row[0].set_ylabel(f"heart\n{name}\n(class, 2×)", fontsize=8)
    axes[0, 0].set_ylabel("random\nsamples", fontsize=8)
    figure.suptitle(
        f"{sim!r}: {samples} samples (seed {seed}), traversals, hearts up close",
        fontsize=10,
    )
    figure.tight_layout()
    return figure
