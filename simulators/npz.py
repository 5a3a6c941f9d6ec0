"""The real dSprites archive behind the same interface as the procedural simulator.

The archive is read without unpickling (its `metadata` entry is a pickle, and nothing here
needs it), validated, and kept bit-packed on the device. Factor sizes come from the file:
the real archive has (3, 6, 40, 32, 32); a smaller archive in the same format and order
(a complete grid of fewer values) is accepted too, which is what tests build.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from simulators.bits import PackedImages
from simulators.factors import DSPRITES_FACTOR_NAMES, FactorSpace, resolve_device

REQUIRED_KEYS = ("imgs", "latents_classes", "latents_values")
LATENT_COLUMNS = ("color", *DSPRITES_FACTOR_NAMES)


class NpzFormatError(ValueError):
    """The file is not a dSprites archive; the message says what is wrong with it."""


def _fail(path: Path, problem: str) -> None:
    raise NpzFormatError(f"{path} is not a dSprites archive: {problem}")


def _expected_order(sizes: tuple[int, ...]) -> np.ndarray:
    """Class vectors of a complete grid with the last factor varying fastest."""
    grids = np.meshgrid(*(np.arange(s) for s in sizes), indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=1)


def check_archive(path: Path) -> None:
    """What can be known of an archive without loading it: its keys, and the shapes and
    dtypes in its arrays' headers. Cheap (the real archive's images take 3 GB once
    loaded), so commands check an --npz this way before any work; read_archive, run by
    the trial that loads the archive, checks the contents as well."""
    if not path.is_file():
        raise NpzFormatError(f"{path}: no such file")
    layout: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            entries = {n.removesuffix(".npy"): n for n in archive.namelist()}
            for key in (k for k in REQUIRED_KEYS if k in entries):
                with archive.open(entries[key]) as stream:
                    version = np.lib.format.read_magic(stream)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(stream)
                layout[key] = (shape, dtype)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        _fail(path, f"not a NumPy .npz archive ({error})")
    missing = [k for k in REQUIRED_KEYS if k not in layout]
    if missing:
        _fail(path, f"missing key(s) {', '.join(missing)}; it has {', '.join(entries)}")
    if any(dtype.hasobject for _, dtype in layout.values()):
        _fail(path, "an entry cannot be read without unpickling (it holds Python objects)")
    _check_layout(path, layout)


def _check_layout(path: Path, layout: dict[str, tuple[tuple[int, ...], np.dtype]]) -> int:
    """The shapes and dtypes of imgs, latents_classes and latents_values; returns n."""
    shape, dtype = layout["imgs"]
    n = shape[0] if shape else 0
    if len(shape) != 3 or shape[1:] != (64, 64):
        _fail(path, f"imgs has shape {shape}, expected (n, 64, 64)")
    if dtype != np.uint8:
        _fail(path, f"imgs has dtype {dtype}, expected uint8")
    for name, kind in (("latents_classes", "iu"), ("latents_values", "f")):
        shape, dtype = layout[name]
        if shape != (n, len(LATENT_COLUMNS)):
            _fail(path, f"{name} has shape {shape}, expected ({n}, 6) to match imgs")
        if dtype.kind not in kind:
            _fail(
                path,
                f"{name} has dtype {dtype}, expected {'integer' if kind == 'iu' else 'float'}",
            )
    if n == 0:
        _fail(path, "it holds no images")
    return n


def read_archive(path: Path) -> tuple[tuple[int, ...], np.ndarray]:
    """Validated factor sizes and packed images (n, 512) of an archive."""
    if not path.is_file():
        raise NpzFormatError(f"{path}: no such file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        _fail(path, f"not a NumPy .npz archive ({error})")
    if not isinstance(archive, np.lib.npyio.NpzFile):
        _fail(path, "it holds a single array, not an .npz archive of named arrays")
    with archive:
        missing = [k for k in REQUIRED_KEYS if k not in archive.files]
        if missing:
            _fail(path, f"missing key(s) {', '.join(missing)}; it has {', '.join(archive.files)}")
        try:
            imgs, classes, values = (archive[k] for k in REQUIRED_KEYS)
        except ValueError as error:
            _fail(path, f"an entry cannot be read without unpickling ({error})")
    layout = {
        k: (a.shape, a.dtype) for k, a in zip(REQUIRED_KEYS, (imgs, classes, values), strict=True)
    }
    n = _check_layout(path, layout)
    if int(imgs.max()) > 1:
        _fail(path, f"imgs holds the value {int(imgs.max())}; binary images hold only 0 and 1")
    if not np.isfinite(values).all():
        _fail(path, "latents_values holds NaN or infinite values")
    if classes.min() < 0 or classes[:, 0].max() != 0:
        _fail(path, "latents_classes must be non-negative with a single color class (0)")
    sizes = tuple(int(m) + 1 for m in classes[:, 1:].max(axis=0))
    if int(np.prod(sizes)) != n or not np.array_equal(classes[:, 1:], _expected_order(sizes)):
        named = ", ".join(f"{k}={s}" for k, s in zip(DSPRITES_FACTOR_NAMES, sizes, strict=True))
        _fail(
            path,
            f"latents_classes is not the complete grid ({named}) in npz order "
            "(posY fastest, then posX, orientation, scale, shape)",
        )
    return sizes, np.packbits(imgs.reshape(n, -1), axis=1)


class DSpritesNpz(FactorSpace):
    """dSprites from `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`, kept packed on device."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        self.path = Path(path)
        resolved = resolve_device(device)
        sizes, packed = read_archive(self.path)
        super().__init__(DSPRITES_FACTOR_NAMES, sizes, resolved)
        self._packed = PackedImages(torch.from_numpy(packed).to(resolved))

    def __repr__(self) -> str:
        return f"DSpritesNpz({str(self.path)!r}, device={str(self.device)!r})"

    @property
    def materialized(self) -> bool:
        return True

    def render(self, classes: torch.Tensor) -> torch.Tensor:
        return self.render_unchecked(self.check_classes(classes))

    def render_unchecked(self, classes: torch.Tensor) -> torch.Tensor:
        return self._packed.render((classes * self._strides).sum(dim=1))

    def render_index(self, flat: torch.Tensor) -> torch.Tensor:
        return self._packed.render(flat)

    def materialize(self, *args, **kwargs) -> DSpritesNpz:
        """Already materialised: the archive is the data set."""
        return self
