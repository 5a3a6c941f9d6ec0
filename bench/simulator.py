"""Simulator speed beside the peer approach: indexing a preloaded uint8 array of the images.

    python bench/simulator.py [--device cpu|cuda] [--repeats 2000]

Prints a Markdown table: per-batch cost of a random batch of 64 (and of 4096), images/s,
and the time to render all 737,280 images, for
  - procedural:   DSprites.render of freshly sampled classes (nothing preloaded),
  - materialized: DSprites.sample_index + render_index over the bit-packed set on device,
  - peer:         numpy fancy indexing of the (737280, 64, 64) uint8 array every peer
                  project loads from the npz, then torch.from_numpy(...).float().to(device).
All three draw uniformly random images and produce a float32 (n, 1, 64, 64) batch on the
device, so the comparison is like for like.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulators import DSprites, bits


def per_call_seconds(fn: Callable[[], torch.Tensor], repeats: int, device: torch.device) -> float:
    """Median over 5 rounds of the mean time of `repeats` calls (after a warm-up)."""
    fn()
    rounds = []
    for _ in range(5):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rounds.append((time.perf_counter() - start) / repeats)
    return float(np.median(rounds))


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=500, help="calls per timing round")
    args = parser.parse_args()
    device = torch.device(args.device)

    sim = DSprites(device=device)
    render_all_s, packed = timed(sim.render_all, device)
    render_all_again_s, _ = timed(sim.render_all, device)
    materialized = DSprites(device=device)
    materialized._packed = bits.PackedImages(packed)  # the set just rendered, no cache I/O

    # The peer's array: the same pixels, unpacked to uint8 in host memory (2.9 GB).
    peer_images = np.unpackbits(packed.cpu().numpy(), axis=1).reshape(-1, 64, 64)
    rng = np.random.default_rng(0)
    generator = sim.generator(0)

    def procedural(n: int) -> Callable[[], torch.Tensor]:
        return lambda: sim.render_unchecked(sim.sample_factors(n, generator))

    def from_packed(n: int) -> Callable[[], torch.Tensor]:
        return lambda: materialized.render_index(materialized.sample_index(n, generator))

    def peer(n: int) -> Callable[[], torch.Tensor]:
        def draw() -> torch.Tensor:
            index = rng.integers(0, len(peer_images), n)
            return torch.from_numpy(peer_images[index]).to(device).float().unsqueeze(1)

        return draw

    rows = []
    for n, repeats in ((64, args.repeats), (4096, max(args.repeats // 50, 5))):
        for name, make in (
            ("procedural", procedural),
            ("materialized", from_packed),
            ("peer", peer),
        ):
            seconds = per_call_seconds(make(n), repeats, device)
            rows.append((n, name, seconds))

    print(
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, device {device}"
    )
    if device.type == "cuda":
        print(f"gpu: {torch.cuda.get_device_name(device)}")
    print(f"torch {torch.__version__}\n")
    print("| batch | approach | µs per batch | images/s | vs peer |")
    print("|---:|---|---:|---:|---:|")
    peer_cost = {n: s for n, name, s in rows if name == "peer"}
    for n, name, seconds in rows:
        print(
            f"| {n} | {name} | {seconds * 1e6:,.0f} | {n / seconds:,.0f} | "
            f"{peer_cost[n] / seconds:.2f}× |"
        )
    print(
        f"\nfull set (737,280 images) rendered and bit-packed on {device}: "
        f"{render_all_s:.2f} s (again: {render_all_again_s:.2f} s)"
    )


if __name__ == "__main__":
    main()
