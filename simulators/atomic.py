"""Atomic writes, shared by every stage that leaves files behind (caches, checkpoints,
Parquet reports, report directories): a reader sees the old content or the new, never a
half-written file, and a crash leaves at most a hidden temporary beside the target.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _fsync(path: Path) -> None:
    if path.is_file():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; write a file or a directory there.

    On a clean exit the temporary replaces `target` (a file in one rename; a directory by
    moving the old one aside first). On an exception it is removed and `target` is untouched.
    """
    target = Path(target)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        if tmp.is_dir() and target.is_dir():
            old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            _fsync(tmp)
            os.replace(tmp, target)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
