"""Checks on paths a user names, done before any work so a bad path costs nothing."""

from __future__ import annotations

import os
from pathlib import Path

from sweep.errors import fail


def check_output_file(path: Path, suffixes: tuple[str, ...]) -> None:
    """The file can be written: a known suffix, an existing writable parent directory."""
    if path.suffix.lower() not in suffixes:
        fail(f"{path}: expected a {' or '.join(suffixes)} file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        fail(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        fail(f"{path}: directory {parent} is not writable")
    if path.is_dir():
        fail(f"{path} is a directory")


def check_npz(path: str) -> str:
    """An --npz that is a dSprites archive by its keys, shapes and dtypes (read from the
    headers, not the 3 GB of images), as an absolute path: trials run elsewhere."""
    from simulators.npz import NpzFormatError, check_archive

    resolved = Path(path).expanduser().resolve()
    try:
        check_archive(resolved)
    except NpzFormatError as error:
        fail(f"--npz {error}")
    return str(resolved)
