"""Latent traversals of a trained trial (the paper's Figure 1), from its checkpoint.

For a few seed images (one per dSprites shape, the other factors random), each latent is
set in turn to values over [−3, 3] with the others held at the encoder's mean, and the
decoder draws the result. Rows are latents ordered by their KL (most informative first),
so a disentangled model shows one factor changing per row and blank rows at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reports.sweepdata import kl_order
from sweep.errors import fail

TRAVERSAL_VALUES = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
SEED_IMAGES = 3
IMAGE_SEED = 0
MAX_LATENTS = 10  # rows drawn; the rest (the lowest KL) are only counted in the title
CELL, GAP, PAIR_GAP, GROUP_GAP = 64, 4, 12, 32  # pixels of the mosaic


@dataclass(frozen=True)
class Traversal:
    """What the figure draws: images in [0, 1] and the latents they vary."""

    inputs: np.ndarray  # (S, 64, 64)
    reconstructions: np.ndarray  # (S, 64, 64)
    grid: np.ndarray  # (S, L, V, 64, 64): seed image, latent row, traversal value
    latents: list[int]  # the latent index of each row
    kl: list[float | None]  # its KL (nats), None where not known
    latent_size: int
    seed_labels: list[str]


def resolve_checkpoint(path: str, sweep_dir: Path, trial_id: str) -> Path:
    """The local directory of a checkpoint path (relative paths are under the sweep)."""
    if "://" in path:
        fail(
            f"trial {trial_id}: checkpoint {path} is not on the local file system; copy the "
            "sweep locally or run the report with --no-traversals"
        )
    resolved = Path(path) if Path(path).is_absolute() else sweep_dir / path
    if not resolved.exists():
        fail(f"trial {trial_id}: checkpoint {resolved} does not exist")
    return resolved


def load_trial_model(path: Path, trial_id: str, latent_size: int) -> Any:
    """The trial's model on the CPU in eval mode; any failure is one `fail` line."""
    try:
        from trainables.checkpoint import load_model
    except ImportError as error:
        fail(f"cannot load checkpoints ({error}); run the report with --no-traversals")
    try:
        model, config = load_model(path, device="cpu")
    except Exception as error:  # a checkpoint can fail in many ways (zip, pickle, keys)
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        fail(f"trial {trial_id}: checkpoint {path} cannot be read: {first_line}")
    if config.latent_size != latent_size:
        fail(
            f"trial {trial_id}: checkpoint {path} has {config.latent_size} latents, the sweep's "
            f"results {latent_size}; is it the checkpoint of another trial?"
        )
    return model.eval()


def seed_images(count: int = SEED_IMAGES, seed: int = IMAGE_SEED) -> tuple[Any, list[str]]:
    """(count, 1, 64, 64) images: one per shape in turn, the other factors random."""
    import torch

    from simulators import DSprites

    sim = DSprites(device="cpu")
    classes = sim.sample_factors(count, sim.generator(seed))
    shapes = sim.factor_sizes[0]
    classes[:, 0] = torch.arange(count) % shapes
    labels = [f"seed image {i + 1}" for i in range(count)]
    return sim.render(classes), labels


def traverse(
    model: Any, images: Any, kl_per_latent: tuple[float, ...] | None, labels: list[str]
) -> Traversal:
    import torch

    with torch.no_grad():
        mu, logvar = model.encode(images)
        latent_size = mu.shape[1]
        if kl_per_latent is None or len(kl_per_latent) != latent_size:
            # No KL in the Parquet files: estimate it on the seed images themselves.
            kl_values = (0.5 * (mu**2 + logvar.exp() - logvar - 1)).mean(dim=0).tolist()
            kl: list[float | None] = [None] * latent_size
        else:
            kl_values = list(kl_per_latent)
            kl = list(kl_per_latent)
        order = kl_order(kl_values)[:MAX_LATENTS]
        values = torch.tensor(TRAVERSAL_VALUES, dtype=mu.dtype)
        count, rows, steps = mu.shape[0], len(order), len(TRAVERSAL_VALUES)
        z = mu[:, None, None, :].repeat(1, rows, steps, 1)
        for row, latent in enumerate(order):
            z[:, row, :, latent] = values
        decoded = torch.sigmoid(model.decode(z.reshape(-1, latent_size)))
        grid = decoded.reshape(count, rows, steps, 64, 64).numpy()
        reconstructions = torch.sigmoid(model.decode(mu))[:, 0].numpy()
    return Traversal(
        inputs=images[:, 0].numpy(),
        reconstructions=reconstructions,
        grid=grid,
        latents=order,
        kl=[kl[i] for i in order],
        latent_size=latent_size,
        seed_labels=labels,
    )


def mosaic(traversal: Traversal) -> tuple[np.ndarray, list[float], list[str], list[float]]:
    """One image of every cell on a white ground, with the x centres and labels of the
    columns and the x centre of each seed group."""
    count, rows, steps = traversal.grid.shape[:3]
    group_width = (2 + steps) * (CELL + GAP) + PAIR_GAP
    width = count * group_width + (count - 1) * GROUP_GAP
    height = rows * (CELL + GAP)
    canvas = np.ones((height, width))
    x_centres, x_labels, group_centres = [], [], []
    for s in range(count):
        left = s * (group_width + GROUP_GAP)
        columns = [
            ("input", traversal.inputs[s], left),
            ("recon.", traversal.reconstructions[s], left + CELL + GAP),
        ]
        for v, value in enumerate(TRAVERSAL_VALUES):
            x = left + (2 + v) * (CELL + GAP) + PAIR_GAP
            columns.append((f"{value:g}".replace("-", "−"), None, x))
        for c, (label, image, x) in enumerate(columns):
            x_centres.append(x + CELL / 2)
            x_labels.append(label)
            if image is not None:  # the seed image and its reconstruction: top row only
                canvas[:CELL, x : x + CELL] = image
                continue
            for r in range(rows):
                y = r * (CELL + GAP)
                canvas[y : y + CELL, x : x + CELL] = traversal.grid[s, r, c - 2]
        group_centres.append(left + (group_width - GAP) / 2)
    return canvas, x_centres, x_labels, group_centres


def traversal_size(rows: int) -> tuple[float, float]:
    """Inches of the figure for `rows` latent rows (3 seed images, 7 values)."""
    cells_wide = SEED_IMAGES * (2 + len(TRAVERSAL_VALUES))
    width = cells_wide * (CELL + GAP) / 100 + 2.4
    return round(width, 2), round(rows * (CELL + GAP) / 100 + 1.9, 2)
