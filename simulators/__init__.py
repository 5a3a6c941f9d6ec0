"""Ground truth: generative factors -> images (procedural dSprites, or the real npz archive)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators.dsprites import DSprites
    from simulators.npz import DSpritesNpz

__all__ = ["DSprites", "DSpritesNpz"]
_WHERE = {"DSprites": "simulators.dsprites", "DSpritesNpz": "simulators.npz"}


def __getattr__(name: str) -> Any:
    # Imported on first use, so that a light submodule (simulators.atomic, used by the
    # Parquet store) does not import PyTorch: `sweep status` starts in well under a second.
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'simulators' has no attribute {name!r}")
