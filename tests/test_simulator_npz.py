"""DSpritesNpz: the real archive's format, validated, behind the simulator's interface."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from simulators import DSprites, DSpritesNpz
from simulators.npz import NpzFormatError

SMALL_SIZES = (3, 2, 3, 4, 4)  # a complete grid of fewer values, in npz order


def grid(sizes: tuple[int, ...]) -> np.ndarray:
    mesh = np.meshgrid(*(np.arange(s) for s in sizes), indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1)


def small_archive_arrays() -> dict[str, np.ndarray]:
    """A miniature dSprites archive whose images are procedural renders of its factors."""
    classes = grid(SMALL_SIZES)
    full_classes = classes * np.array([1, 5, 13, 10, 10])  # spread over the real value ranges
    images = DSprites().render(torch.from_numpy(full_classes))[:, 0].numpy().astype(np.uint8)
    latents_classes = np.concatenate([np.zeros((len(classes), 1), np.int64), classes], axis=1)
    values = np.concatenate([np.ones((len(classes), 1)), full_classes / 31.0], axis=1)
    return {"imgs": images, "latents_classes": latents_classes, "latents_values": values}


def write(path: Path, **arrays: np.ndarray) -> Path:
    np.savez_compressed(path, **arrays)
    return path


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return small_archive_arrays()


def test_small_archive_loads_and_renders_its_images(tmp_path, arrays):
    sim = DSpritesNpz(write(tmp_path / "small.npz", **arrays))
    assert sim.factor_sizes == SMALL_SIZES and len(sim) == len(arrays["imgs"])
    classes = sim.sample_factors(50, sim.generator(0))
    rows = sim.index(classes).numpy()
    assert np.array_equal(sim.render(classes)[:, 0].numpy(), arrays["imgs"][rows])
    assert torch.equal(sim.render_index(torch.from_numpy(rows)), sim.render(classes))
    with pytest.raises(ValueError, match=r"scale class 2 .* out of range 0\.\.1"):
        sim.render(torch.tensor([[0, 2, 0, 0, 0]]))


def with_changes(arrays: dict[str, np.ndarray], **changes) -> dict[str, np.ndarray]:
    out = dict(arrays)
    for key, value in changes.items():
        if value is None:
            out.pop(key)
        else:
            out[key] = value
    return out


def shuffled(classes: np.ndarray) -> np.ndarray:
    out = classes.copy()
    out[[0, 1]] = out[[1, 0]]
    return out


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"imgs": None}, "missing key.*imgs"),
        ({"imgs": "float32"}, "imgs has dtype float32, expected uint8"),
        ({"imgs": "3d-wrong"}, r"imgs has shape \(.*, 32, 32\), expected \(n, 64, 64\)"),
        ({"imgs": "value-2"}, "imgs holds the value 2"),
        ({"latents_classes": "float"}, "latents_classes has dtype float64, expected integer"),
        ({"latents_values": "short"}, r"latents_values has shape .*expected \(288, 6\)"),
        ({"latents_classes": "shuffled"}, "not the complete grid .* in npz order"),
    ],
)
def test_files_that_are_not_the_archive_are_refused_precisely(tmp_path, arrays, changes, message):
    (key, how) = next(iter(changes.items()))
    if how is not None:
        original = arrays[key]
        how = {
            "float32": lambda: original.astype(np.float32),
            "3d-wrong": lambda: original[:, :32, :32],
            "value-2": lambda: original * 2,
            "float": lambda: original.astype(np.float64),
            "short": lambda: original[:, :5],
            "shuffled": lambda: shuffled(original),
        }[how]()
    path = write(tmp_path / "bad.npz", **with_changes(arrays, **{key: how}))
    with pytest.raises(NpzFormatError, match=message):
        DSpritesNpz(path)


def test_unreadable_files_are_refused(tmp_path, arrays):
    with pytest.raises(NpzFormatError, match="no such file"):
        DSpritesNpz(tmp_path / "absent.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive")
    with pytest.raises(NpzFormatError, match=r"not a NumPy \.npz archive"):
        DSpritesNpz(garbage)
    pickled = dict(arrays, imgs=np.array([{"a": 1}], dtype=object))
    with pytest.raises(NpzFormatError, match="without unpickling"):
        DSpritesNpz(write(tmp_path / "pickled.npz", **pickled))


@pytest.mark.skipif(not os.environ.get("DSPRITES_NPZ"), reason="set DSPRITES_NPZ to the real file")
def test_procedural_images_against_the_real_archive():
    real = DSpritesNpz(os.environ["DSPRITES_NPZ"])
    procedural = DSprites()
    assert real.factor_sizes == procedural.factor_sizes
    classes = procedural.sample_factors(6000, procedural.generator(0))
    ours, theirs = procedural.render(classes).bool(), real.render(classes).bool()
    iou = (ours & theirs).sum(dim=(1, 2, 3)) / (ours | theirs).sum(dim=(1, 2, 3))
    for shape, name in enumerate(("square", "ellipse", "heart")):
        print(f"mean IoU {name}: {iou[classes[:, 0] == shape].mean():.3f}")
    print(f"mean IoU all: {iou.mean():.3f}")
    assert iou.mean() > 0.7
