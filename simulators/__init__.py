"""Ground truth: generative factors -> images (procedural dSprites, or the real npz archive)."""

from simulators.dsprites import DSprites
from simulators.npz import DSpritesNpz

__all__ = ["DSprites", "DSpritesNpz"]
