"""Training batches drawn from the simulator on the training device.

No DataLoader and no host-to-device copy: the whole set is kept bit-packed on the device
(simulators materialize), and a batch is one random draw of flat indices, one gather and
one unpack there. The simulator is built once per process and device and shared by the
trials and the metric that run in it, so a second trial does not load the 377 MB again.
"""

from __future__ import annotations

import functools

import torch

from simulators import DSprites, DSpritesNpz
from simulators.factors import FactorSpace
from trainables.seeds import derive_seed

# Rendering procedurally costs ~12 µs per image on one 2-core CPU, indexing the
# materialised set ~0.5 µs; materialising costs ~1 s from the disk cache (~7 s to render it
# the first time). Below this many images a CPU run renders procedurally.
MATERIALIZE_MIN_IMAGES = 250_000


@functools.lru_cache(maxsize=4)
def simulator(device: str, npz: str | None = None, materialize: bool = True) -> FactorSpace:
    """The data set on `device`: the npz archive, or procedural dSprites, materialised
    (the whole set bit-packed on the device, a batch is one gather) unless told not to.

    Cached per process: trials and scores in one worker share one copy of the 377 MB.
    """
    if npz is not None:
        return DSpritesNpz(npz, device=device)
    sim = DSprites(device=device)
    return sim.materialize() if materialize else sim


class Batches:
    """The stream of training inputs of one trial: images and reparameterisation noise.

    One generator on the device feeds both, so a checkpoint of its state (and the step)
    restores the exact continuation of the stream.
    """

    def __init__(self, sim: FactorSpace, batch_size: int, latent_size: int, seed: int):
        self.sim = sim
        self.batch_size = batch_size
        self.latent_size = latent_size
        self.generator = sim.generator(derive_seed(seed, "batches"))

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        flat = self.sim.sample_index(self.batch_size, self.generator)
        images = self.sim.render_index(flat)
        noise = torch.randn(
            (self.batch_size, self.latent_size),
            generator=self.generator,
            device=self.generator.device,
        )
        return images, noise

    def state(self) -> torch.Tensor:
        return self.generator.get_state()

    def restore(self, state: torch.Tensor) -> None:
        self.generator.set_state(state.cpu())
