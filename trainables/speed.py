"""How a training step is executed: settings that change speed, not the run's definition.

They are kept out of TrialConfig on purpose: the same trial runs on a laptop CPU and on an
H100 and must mean the same thing. bf16 changes rounding (not the objective), so it is
off unless asked for. Each default below is backed by a figure in docs/benchmarks.md;
settings not yet measured on a device stay off there.

Override per process with BETASWEEP_SPEED, comma separated, e.g.
    BETASWEEP_SPEED="bf16,compile=reduce-overhead"  or  "no-fused,no-channels-last"
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch

SPEED_ENV = "BETASWEEP_SPEED"
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class Speed:
    # Conv weights and activations in NHWC: oneDNN's preferred layout on CPU.
    channels_last: bool = False
    # One fused optimizer kernel (per device and dtype) instead of a loop over parameters.
    fused_optimizer: bool = False
    # bf16 autocast of the networks; the loss terms stay float32 (objectives.py).
    bf16: bool = False
    # torch.compile mode of forward + loss (backward follows via AOTAutograd), or None.
    # "reduce-overhead" adds CUDA graphs on CUDA, which is what small models need there.
    compile: str | None = None

    def describe(self) -> str:
        on = [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is True]
        if self.compile:
            on.append(f"compile={self.compile}")
        return ", ".join(on) or "eager"

    @classmethod
    def auto(cls, device: torch.device, architecture: str) -> Speed:
        """The measured defaults for `device`, then any BETASWEEP_SPEED overrides.

        CPU (docs/benchmarks.md): channels_last helps the conv model, a fused optimizer
        both; torch.compile costs more to compile than a short trial gains, bf16 is off
        (it changes the numbers). CUDA: only the fused optimizer, PyTorch's documented
        fastest path; bf16, channels_last and compile wait for a GPU measurement.
        """
        if device.type == "cpu":
            speed = cls(channels_last=architecture == "conv", fused_optimizer=True)
        else:
            speed = cls(fused_optimizer=True)
        return speed.with_overrides(os.environ.get(SPEED_ENV, ""))

    def with_overrides(self, spec: str) -> Speed:
        """Apply a BETASWEEP_SPEED string; an unknown token is a ValueError naming it."""
        changes: dict[str, object] = {}
        flags = {"channels-last": "channels_last", "fused": "fused_optimizer", "bf16": "bf16"}
        for token in (t.strip() for t in spec.split(",")):
            if not token:
                continue
            name, _, value = token.partition("=")
            if name in flags and not value:
                changes[flags[name]] = True
            elif name.startswith("no-") and name[3:] in flags and not value:
                changes[flags[name[3:]]] = False
            elif name == "compile" and (not value or value in COMPILE_MODES):
                changes["compile"] = value or "default"
            elif name == "no-compile" and not value:
                changes["compile"] = None
            else:
                raise ValueError(
                    f"{SPEED_ENV}: unknown setting {token!r}; use [no-]channels-last, "
                    f"[no-]fused, [no-]bf16, no-compile or compile[={'|'.join(COMPILE_MODES)}]"
                )
        return dataclasses.replace(self, **changes)
