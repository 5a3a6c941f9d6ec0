"""Benchmarks of the disentanglement metrics (figures in docs/benchmarks.md).

    python bench/metrics.py timing [--encoder conv] [--train-steps N] [--repeats N] [--metrics ...]
        Each metric at its default (reference) settings on a 10-latent encoder, three ways:
        direct (every group of images rendered and encoded afresh, one encoder call per
        point, as the reference implementations do), unique (each distinct image drawn
        encoded once, the default), and table (the encoder run once over the whole data
        set, every metric indexing the codes). Reports seconds and the scores, which must
        agree between the paths.

    python bench/metrics.py protocols [--seeds 3] [--candidates paper,fast,tiny]
        How cheaper Higgins protocols track the paper protocol: scores over seeds on
        representations from chance to perfect, against the images each one encodes.

    python bench/metrics.py collapse [--dci-trees 100]
        Every metric, reference and active-units-aware variants, on an informative code,
        the same code collapsed (×1e-4), a constant encoder and an untrained encoder.

The encoder is an untrained β-VAE: its cost per image is a trained one's, and the
scores it gets are beside the point here.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metrics import active_units, baselines, codes, dci, factor_vae, higgins, mig, synthetic
from simulators import DSprites
from trainables.scoring import untrained_encoder

METRICS: dict[str, tuple[Callable[..., dict], str]] = {
    "higgins": (higgins.score, "test_accuracy"),
    "factor_vae": (factor_vae.score, "eval_accuracy"),
    "mig": (mig.score, "mig"),
    "dci": (dci.score, "disentanglement"),
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, work: Callable[[], Any]) -> tuple[float, Any]:
    sync(device)
    started = time.perf_counter()
    result = work()
    sync(device)
    return time.perf_counter() - started, result


def make_encoder(sim, name: str, train_steps: int = 0):
    """An encoder of the given architecture: untrained, or trained `train_steps` steps.

    Any 10-latent model costs the same per image; a trained one is needed for FactorVAE,
    which prunes dimensions whose std is < 0.05, as every μ of a fresh network is.
    """
    if name == "pca":
        return baselines.pca(sim, seed=0)
    if train_steps == 0:
        return untrained_encoder(sim, seed=0, architecture=name)
    import tempfile

    from trainables import TrialConfig, load_model, train

    config = TrialConfig(
        architecture=name,
        beta=4.0,
        latent_size=10,
        steps=train_steps,
        score_every=0,
        final_score_protocol="tiny",
        device=str(sim.device),
        seed=0,
    )
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        result = train(config, checkpoint_dir=Path(directory))
        print(f"trained {name} {train_steps} steps: {time.perf_counter() - started:.0f} s")
        model, _ = load_model(result.checkpoint, device=sim.device)
    return baselines.encoder_means(model)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {torch.get_num_threads()} torch threads, {gpu}, torch {torch.__version__}"


def timing(args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    started = time.perf_counter()
    sim = DSprites(device=device).materialize()
    print(f"materialize: {time.perf_counter() - started:.1f} s", flush=True)
    encode = make_encoder(sim, args.encoder, args.train_steps)
    results: dict[str, Any] = {
        "machine": machine(),
        "encoder": args.encoder,
        "train_steps": args.train_steps,
        "encode_batch": args.encode_batch,
        "runs": [],
    }

    def record(metric: str, path: str, seconds: float, result: dict) -> None:
        key = METRICS[metric][1]
        row = {"metric": metric, "path": path, "seconds": seconds, "score": result[key]}
        row["protocol"] = result["protocol"]
        results["runs"].append(row)
        print(f"{metric:10s} {path:7s} {seconds:8.1f} s  {key}={result[key]:.4f}", flush=True)

    # Paths alternate within each repeat so that a change in the machine's load hits
    # both alike; the minimum over repeats is the figure to compare.
    for _ in range(args.repeats):
        for metric in args.metrics:
            score = METRICS[metric][0]
            for path in ("unique", "direct"):
                if path in args.paths:
                    seconds, result = timed(
                        device,
                        lambda s=score, p=path: s(
                            sim, encode, seed=0, encoding=p, encode_batch_size=args.encode_batch
                        ),
                    )
                    record(metric, path, seconds, result)
        if "table" in args.paths:
            seconds, table = timed(
                device,
                lambda: codes.CodeTable.build(sim, encode, batch_size=args.encode_batch),
            )
            results.setdefault("table_build_seconds", []).append(seconds)
            print(f"code table over all {len(sim)} images: {seconds:.1f} s", flush=True)
            for metric in args.metrics:
                score = METRICS[metric][0]
                seconds, result = timed(device, lambda s=score, t=table: s(sim, t, seed=0))
                record(metric, "table", seconds, result)
    scores = {(run["metric"], run["score"]) for run in results["runs"]}
    agree = len(scores) == len({metric for metric, _ in scores})
    results["scores_agree"] = agree
    print(f"every path and repeat gave the same score per metric: {agree}", flush=True)
    return results


CANDIDATES = {
    "paper": higgins.PROTOCOLS["paper"],
    "L64 2000/1000": {"batch_size": 64, "num_train": 2000, "num_test": 1000},
    "L32 2000/1000": {"batch_size": 32, "num_train": 2000, "num_test": 1000},
    "L64 1000/500": {"batch_size": 64, "num_train": 1000, "num_test": 500},
    "L16 2000/1000": {"batch_size": 16, "num_train": 2000, "num_test": 1000},
    "L16 1000/1000": {"batch_size": 16, "num_train": 1000, "num_test": 1000},
    "L8 2000/2000": {"batch_size": 8, "num_train": 2000, "num_test": 2000},
    "fast": higgins.PROTOCOLS["fast"],
    "tiny": higgins.PROTOCOLS["tiny"],
}


def representations(sim) -> dict[str, Any]:
    """From perfect to near chance: synthetic codes, and real baselines as code tables."""
    reps: dict[str, Any] = {}
    for noise in (0.2, 0.3, 0.5):
        reps[f"factors+noise {noise}"] = synthetic.FactorCodes(sim, noise=noise, seed=0)
    for noise in (0.05, 0.2, 0.3, 0.5):
        rotation = synthetic.random_rotation(5, seed=0)
        reps[f"rotated+noise {noise}"] = synthetic.FactorCodes(
            sim, mixing=rotation, noise=noise, seed=0
        )
    reps["4 of 5 factors"] = synthetic.FactorCodes(sim, columns=[0, 1, 2, 3])
    for name, build in (("PCA", baselines.pca), ("ICA", baselines.ica)):
        reps[name] = codes.CodeTable.build(sim, build(sim, seed=0))
    reps["untrained mlp"] = codes.CodeTable.build(sim, untrained_encoder(sim, seed=0))
    # Collapse: the reference classifier must read a latent scaled to nothing as nothing.
    informative = synthetic.FactorCodes(sim, noise=0.2, seed=0)
    reps["factors+noise 0.2, all ×1e-4"] = Scaled(informative, [1e-4] * 5)
    reps["factors+noise 0.2, 2 of 5 ×1e-4"] = Scaled(informative, [1e-4, 1, 1, 1, 1e-4])
    return reps


class Scaled:
    """Codes of a representation by flat position, each dimension multiplied by a scale."""

    def __init__(self, base, scales: list[float]):
        self.base, self.scales = base, torch.tensor(scales, dtype=torch.float32)

    def encode_index(self, flat: torch.Tensor) -> torch.Tensor:
        return self.base.encode_index(flat) * self.scales

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        raise TypeError("by flat position only")


class Constant:
    """The same code for every image."""

    def encode_index(self, flat: torch.Tensor) -> torch.Tensor:
        return torch.full((flat.shape[0], 10), 0.3)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        raise TypeError("by flat position only")


def distinct_images(protocol: dict[str, Any], size: int) -> float:
    draws = (protocol["num_train"] + protocol["num_test"]) * 2 * protocol["batch_size"]
    return size * (1 - math.exp(-draws / size))


def protocols(args: argparse.Namespace) -> dict[str, Any]:
    sim = DSprites().materialize()
    started = time.perf_counter()
    reps = representations(sim)
    print(f"representations ready in {time.perf_counter() - started:.0f} s", flush=True)
    candidates = {name: CANDIDATES[name] for name in args.candidates}
    scores: dict[str, dict[str, list[float]]] = {}
    for rep_name, rep in reps.items():
        scores[rep_name] = {}
        for name, protocol in candidates.items():
            values = [
                higgins.score(sim, rep, **protocol, seed=seed)["test_accuracy"]
                for seed in range(args.seeds)
            ]
            scores[rep_name][name] = values
        paper = statistics.fmean(scores[rep_name]["paper"])
        print(f"{rep_name:22s} paper {100 * paper:6.2f}", flush=True)

    encode = untrained_encoder(sim, seed=0)  # the cost of a real encoder
    summary = []
    for name, protocol in candidates.items():
        seconds, _ = timed(sim.device, lambda p=protocol: higgins.score(sim, encode, **p, seed=0))
        diffs = [statistics.fmean(s[name]) - statistics.fmean(s["paper"]) for s in scores.values()]
        spreads = [statistics.stdev(s[name]) for s in scores.values()]
        means = [statistics.fmean(s[name]) for s in scores.values()]
        papers = [statistics.fmean(s["paper"]) for s in scores.values()]
        row = {
            "protocol": name,
            "distinct_images": distinct_images(protocol, len(sim)),
            "seconds_mlp_cpu": seconds,
            "mean_abs_diff_pts": 100 * statistics.fmean(abs(d) for d in diffs),
            "max_abs_diff_pts": 100 * max(abs(d) for d in diffs),
            "mean_seed_std_pts": 100 * statistics.fmean(spreads),
            "pearson_r": statistics.correlation(means, papers) if name != "paper" else 1.0,
        }
        summary.append(row)
        print(
            f"{name:14s} images {row['distinct_images']:8.0f}  {seconds:6.1f} s  "
            f"|diff| mean {row['mean_abs_diff_pts']:.2f} max {row['max_abs_diff_pts']:.2f} pts  "
            f"seed std {row['mean_seed_std_pts']:.2f} pts  r {row['pearson_r']:.4f}",
            flush=True,
        )
    return {"machine": machine(), "scores": scores, "summary": summary}


def collapse(args: argparse.Namespace) -> dict[str, Any]:
    """FactorVAE, MIG and DCI (reference and active_only) and Higgins on collapse cases."""
    sim = DSprites().materialize()
    informative = synthetic.FactorCodes(sim, noise=0.1, seed=0)
    cases = {
        "informative (factors+noise 0.1)": informative,
        "collapsed (the same ×1e-4)": Scaled(informative, [1e-4] * 5),
        "constant": Constant(),
        "untrained mlp": codes.CodeTable.build(sim, untrained_encoder(sim, seed=0)),
    }
    dci_options = {"trees": args.dci_trees}
    runs: dict[str, dict[str, float]] = {}
    for name, rep in cases.items():
        row = {
            "active_units": active_units.score(sim, rep, seed=0)["active_units"],
            "higgins": higgins.score(sim, rep, seed=0)["test_accuracy"],
            "higgins standardised": higgins.score(sim, rep, seed=0, standardise=True)[
                "test_accuracy"
            ],
            "factor_vae": factor_vae.score(sim, rep, seed=0)["eval_accuracy"],
            "mig": mig.score(sim, rep, seed=0)["mig"],
            "mig active_only": mig.score(sim, rep, seed=0, active_only=True)["mig"],
        }
        for variant, only in (("dci", False), ("dci active_only", True)):
            result = dci.score(sim, rep, seed=0, active_only=only, **dci_options)
            row[f"{variant} D"] = result["disentanglement"]
            row[f"{variant} C"] = result["completeness"]
            row[f"{variant} I"] = result["informativeness_test"]
        runs[name] = row
        print(name, json.dumps({k: round(v, 4) for k, v in row.items()}), flush=True)
    return {"machine": machine(), "dci_trees": args.dci_trees, "cases": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    timing_parser = commands.add_parser("timing")
    timing_parser.add_argument("--encoder", choices=("conv", "mlp", "pca"), default="conv")
    timing_parser.add_argument("--device", default="cpu")
    timing_parser.add_argument("--train-steps", type=int, default=0, help="train the encoder")
    timing_parser.add_argument("--repeats", type=int, default=1, help="alternating repeats")
    timing_parser.add_argument(
        "--encode-batch",
        type=int,
        default=None,
        help="images per encoder call (default: by device)",
    )
    timing_parser.add_argument(
        "--metrics", type=lambda s: s.split(","), default=list(METRICS), help="comma-separated"
    )
    timing_parser.add_argument(
        "--paths", type=lambda s: s.split(","), default=["unique", "direct", "table"]
    )
    protocols_parser = commands.add_parser("protocols")
    protocols_parser.add_argument("--seeds", type=int, default=3)
    protocols_parser.add_argument(
        "--candidates",
        type=lambda s: s.split(","),
        default=[name for name in CANDIDATES if name not in ("fast", "tiny")],
        help=f"comma-separated, from: {', '.join(CANDIDATES)}",
    )
    collapse_parser = commands.add_parser("collapse")
    collapse_parser.add_argument("--dci-trees", type=int, default=100)
    for sub in (timing_parser, protocols_parser, collapse_parser):
        sub.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    run = {"timing": timing, "protocols": protocols, "collapse": collapse}[args.command]
    results = run(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
