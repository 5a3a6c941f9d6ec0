"""On-disk cache of the fully rendered data set: packed bits plus an integrity record.

Files, in the cache directory:
  dsprites-<fingerprint>.npy   (737280, 512) uint8, numpy.packbits order
  dsprites-<fingerprint>.json  {"sha256": ..., "shape": [...], "fingerprint": ...}

The fingerprint hashes the geometry tables and the rasteriser's source, so a change to
how sprites are drawn can never be served stale pixels. Both files are written to a
temporary name and renamed into place, the record last, so a reader sees either nothing
or a complete, checked pair. A lock file makes concurrent trials on one node render once.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import os
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from simulators import geometry, raster
from simulators.atomic import atomic_path

CACHE_ENV = "BETASWEEP_CACHE_DIR"


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "betasweep")


def renderer_fingerprint() -> str:
    digest = hashlib.sha256(inspect.getsource(raster).encode())
    for table in geometry.class_tables(torch.device("cpu")).values():
        digest.update(table.numpy().tobytes())
    return digest.hexdigest()[:16]


def _paths(cache_dir: Path) -> tuple[Path, Path]:
    stem = cache_dir / f"dsprites-{renderer_fingerprint()}"
    return stem.with_suffix(".npy"), stem.with_suffix(".json")


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(memoryview(np.ascontiguousarray(array)).cast("B")).hexdigest()


def load(cache_dir: Path, expected_rows: int) -> torch.Tensor | None:
    """The cached packed set, or None when it is missing, stale or fails its check."""
    data_path, record_path = _paths(cache_dir)
    try:
        record = json.loads(record_path.read_text())
        array = np.load(data_path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    if list(array.shape) != [expected_rows, 512] or array.dtype != np.uint8:
        return None
    if record.get("shape") != list(array.shape) or record.get("sha256") != _sha256(array):
        return None
    return torch.from_numpy(np.array(array))


def save(cache_dir: Path, packed: torch.Tensor) -> Path:
    data_path, record_path = _paths(cache_dir)
    array = packed.cpu().numpy()
    record = {"sha256": _sha256(array), "shape": list(array.shape), "fingerprint": data_path.stem}
    with atomic_path(data_path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)
    with atomic_path(record_path) as tmp:  # the record last: it vouches for the data
        tmp.write_text(json.dumps(record))
    return data_path


@contextmanager
def exclusive(cache_dir: Path):
    """Hold the cache directory's lock: one process renders while the others wait."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_or_render(cache_dir: Path, expected_rows: int, render: Callable[[], torch.Tensor]):
    """Load the packed set from cache_dir, rendering and saving it first if needed."""
    packed = load(cache_dir, expected_rows)
    if packed is not None:
        return packed
    with exclusive(cache_dir):
        packed = load(cache_dir, expected_rows)  # another process may have finished meanwhile
        if packed is None:
            packed = render()
            save(cache_dir, packed)
    return packed
