"""Training speed: betasweep's step beside the straightforward peer pipeline, same model.

    python bench/train.py [--device cpu|cuda] [--archs conv,mlp] [--batches 64,1024]
                          [--threads N] [--variants auto,eager,procedural,bf16,compile]

Pipelines, each training its own copy of the same model (same init, same optimiser):
  - peer: the whole data set (here a random subset, --peer-images) as a float32 tensor
    in host memory, a shuffling DataLoader over a TensorDataset, `.to(device)` per step,
    an eager forward/backward and PyTorch's default optimiser implementation;
  - ours (<variant>): trainables.step.Stepper drawing batches from the simulator on the
    device, with trainables.speed.Speed settings:
      auto        Speed.auto for the device (what train() uses)
      eager       no speed settings: the data path alone
      procedural  auto, but rendering every batch instead of indexing the materialised set
      channels-last, fused, bf16, compile
                  eager + that one setting (compile: torch.compile, --compile-mode)
      auto+bf16, auto+compile
                  auto + that setting
Rounds alternate between pipelines so that load from other processes hits them alike; the
figure is the median over rounds of steps/s. Prints a Markdown table.

    python bench/train.py --loss-check 2000 [--variants bf16] ...

instead trains each variant (and eager float32) for that many steps from the same seed
and prints the loss over the run: a setting that changes rounding must not change it.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulators import DSprites
from trainables import TrialConfig, build_model
from trainables.data import Batches
from trainables.speed import Speed
from trainables.step import Stepper, make_optimizer


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peer_pipeline(
    config: TrialConfig, images: torch.Tensor, device: torch.device
) -> Callable[[int], None]:
    """The usual PyTorch loop: host tensor -> DataLoader(shuffle) -> .to(device) -> step."""
    model = build_model(config, device=device)
    optimizer = make_optimizer(config, model, Speed())  # PyTorch's default implementation
    loader = DataLoader(
        TensorDataset(images), batch_size=config.batch_size, shuffle=True, drop_last=True
    )
    batches = iter(loader)

    def run(steps: int) -> None:
        nonlocal batches
        for _ in range(steps):
            try:
                (x,) = next(batches)
            except StopIteration:
                batches = iter(loader)
                (x,) = next(batches)
            x = x.to(device)
            mu, logvar = model.encode(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            logits = model.decode(z)
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
            kl = 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum() / x.shape[0]
            loss = recon + config.beta * kl
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        sync(device)

    return run


def our_pipeline(
    config: TrialConfig, sim: DSprites, speed: Speed, device: torch.device
) -> Callable[[int], None]:
    model = build_model(config, device=device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(config, model, speed)
    batches = Batches(sim, config.batch_size, config.latent_size, config.seed)
    stepper = Stepper(config, model, optimizer, batches, speed, step=0)

    def run(steps: int) -> None:
        for _ in range(steps):
            stepper.step()
        stepper.drain()  # what train() does at a report; also synchronises the device

    return run


def variant_speed(
    variant: str, device: torch.device, arch: str, compile_mode: str
) -> tuple[Speed, bool]:
    """The Speed of a named variant, and whether it renders procedurally."""
    auto = Speed.auto(device, arch)
    return {
        "auto": (auto, False),
        "eager": (Speed(), False),
        "procedural": (auto, True),
        "channels-last": (Speed(channels_last=True), False),
        "fused": (Speed(fused_optimizer=True), False),
        "bf16": (Speed(bf16=True), False),
        "compile": (Speed(compile=compile_mode), False),
        "auto+bf16": (dataclasses.replace(auto, bf16=True), False),
        "auto+compile": (dataclasses.replace(auto, compile=compile_mode), False),
    }[variant]


def measure(
    pipelines: dict[str, Callable[[int], None]], steps: int, rounds: int, device: torch.device
) -> tuple[dict[str, float], dict[str, float]]:
    """Median steps/s per pipeline, and the seconds each one's first (warm-up) call took."""
    warmup: dict[str, float] = {}
    for name, run in pipelines.items():
        start = time.perf_counter()
        run(2)
        warmup[name] = time.perf_counter() - start
    rates: dict[str, list[float]] = {name: [] for name in pipelines}
    for _ in range(rounds):
        for name, run in pipelines.items():
            sync(device)
            start = time.perf_counter()
            run(steps)
            rates[name].append(steps / (time.perf_counter() - start))
    return {name: statistics.median(r) for name, r in rates.items()}, warmup


def loss_check(
    config: TrialConfig, sim: DSprites, speeds: dict[str, Speed], device: torch.device
) -> None:
    """Loss (mean over tenths of the run) per variant, same seed and batches."""
    print(f"\n{config.architecture}, batch {config.batch_size}, {config.steps} steps:\n")
    print("| pipeline | loss by tenth of the run | last tenth vs eager |")
    print("|---|---|---:|")
    reference = None
    for name, speed in {"eager": Speed(), **speeds}.items():
        model = build_model(config, device=device)
        if speed.channels_last:
            model = model.to(memory_format=torch.channels_last)
        batches = Batches(sim, config.batch_size, config.latent_size, config.seed)
        optimizer = make_optimizer(config, model, speed)
        stepper = Stepper(config, model, optimizer, batches, speed, step=0)
        tenths = []
        for _ in range(10):
            for _ in range(config.steps // 10):
                stepper.step()
            tenths.append(stepper.drain().terms["loss"])
        reference = reference or tenths[-1]
        shown = " ".join(f"{loss:.1f}" for loss in tenths)
        print(f"| {name} ({speed.describe()}) | {shown} | {tenths[-1] / reference - 1:+.2%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--archs", default="conv,mlp")
    parser.add_argument("--batches", default="64,1024")
    parser.add_argument("--variants", default="auto,eager,procedural")
    parser.add_argument("--compile-mode", default=None, help="default: reduce-overhead on CUDA")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--peer-images", type=int, default=65_536, help="peer's host subset")
    parser.add_argument("--images-per-round", type=int, default=2048, help="per pipeline")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loss-check", type=int, default=0, help="steps; see above")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    compile_mode = args.compile_mode or ("reduce-overhead" if device.type == "cuda" else "default")
    variants = args.variants.split(",")

    procedural = DSprites(device=device)
    materialized = DSprites(device=device).materialize()
    if args.loss_check:
        for arch in args.archs.split(","):
            for batch in (int(b) for b in args.batches.split(",")):
                config = TrialConfig(
                    architecture=arch, batch_size=batch, steps=args.loss_check, device=str(device)
                )
                speeds = {v: variant_speed(v, device, arch, compile_mode)[0] for v in variants}
                loss_check(config, materialized, speeds, device)
        return
    # The peer's data: the same images, as float32 in host memory (the full set would be
    # 12 GB; per-step cost does not depend on the set's size beyond cache effects).
    index = torch.randperm(len(materialized), generator=torch.Generator().manual_seed(0))
    peer_images = torch.cat(
        [
            materialized.render_index(chunk.to(device)).cpu()
            for chunk in index[: args.peer_images].split(8192)
        ]
    )

    print(f"machine: {platform.machine()} {platform.processor() or ''}".rstrip())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, {device}")
    if device.type == "cuda":
        print(f"gpu: {torch.cuda.get_device_name(device)}")
    print(f"peer data: {len(peer_images):,} images as float32 in host memory\n")
    print("| arch | batch | pipeline | steps/s | images/s | vs peer | first 2 steps (s) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for arch in args.archs.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            config = TrialConfig(architecture=arch, batch_size=batch, device=str(device))
            pipelines = {"peer": peer_pipeline(config, peer_images, device)}
            for variant in variants:
                speed, rendered = variant_speed(variant, device, arch, compile_mode)
                sim = procedural if rendered else materialized
                label = f"ours {variant} ({speed.describe()})"
                pipelines[label] = our_pipeline(config, sim, speed, device)
            steps = max(args.images_per_round // batch, 3)
            rates, warmup = measure(pipelines, steps, args.rounds, device)
            for name, rate in rates.items():
                shown = f"{rate:.2f}" if rate < 10 else f"{rate:,.1f}"
                print(
                    f"| {arch} | {batch} | {name} | {shown} | {rate * batch:,.0f} | "
                    f"{rate / rates['peer']:.2f}× | {warmup[name]:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
