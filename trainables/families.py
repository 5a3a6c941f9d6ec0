"""Model families: what a trial trains, behind the one TrialConfig (its `model` field).

    beta-vae  the β-VAE (and Burgess et al.'s capacity objective): trainables.models/step
    dcign     Kulkarni et al.'s DC-IGN: a VAE trained on batches that vary one factor,
              the other factors' latent groups clamped (trainables.dcign)
    infogan   Chen et al.'s InfoGAN: generator, discriminator and Q head (trainables.infogan)

The training loop (trainables.loop) only sees a Family: it builds the model (whose
`encode(x)[0]` is the representation the metrics score), its optimiser, its stream of
batches (one generator, so a checkpoint resumes it exactly) and a stepper that takes
steps without host synchronisation and reads back an Interval (trainables.step) once per
report. Family modules are imported on first use: none is loaded unless a trial uses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trainables.config import TrialConfig


@dataclass(frozen=True)
class Family:
    build: Callable[..., Any]  # (config, device) -> nn.Module with latent_size, encode()
    optimizer: Callable[..., Any]  # (config, model, speed) -> state_dict()/load_state_dict()
    batches: Callable[..., Any]  # (sim, config) -> next(), state(), restore(state)
    stepper: Callable[..., Any]  # (config, model, optimizer, batches, speed, step)


# model name -> the module that defines FAMILY
_MODULES = {
    "beta-vae": "trainables.step",
    "dcign": "trainables.dcign",
    "infogan": "trainables.infogan",
}


def family(config: TrialConfig) -> Family:
    """The family that trains `config` (TrialConfig validates the name)."""
    return importlib.import_module(_MODULES[config.model]).FAMILY
