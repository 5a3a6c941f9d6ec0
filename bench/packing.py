"""How many trials to pack on one device: aggregate training images/s with k concurrent trials.

    python bench/packing.py [--device cuda] [--trials 1,2,4,8] [--architectures conv,mlp]
                            [--steps 600] [--batch-size 64] [--threads 1]

Runs k copies of trainables.train (no Ray: the machine that has the GPU need not have a Ray
cluster) in k processes on the same device, started together behind a barrier, and sums
their training throughput over the window in which all k are training. Each process
reports every `--report-every` steps; a report's images/s counts training time only
(trainables.loop), and the first two reports (start-up, cuDNN autotuning, materialising
the data set) and the last (the final score runs after it) are left out.

Prints a Markdown table per architecture: k, aggregate images/s, images/s per trial, and
the speed-up over one trial. Packing k trials per GPU means `--gpus-per-trial 1/k` for
`sweep run`; pick the smallest k within a few percent of the best aggregate (more trials
per GPU only add memory pressure and latency for no throughput).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _trial(
    architecture: str,
    device: str,
    steps: int,
    batch_size: int,
    report_every: int,
    threads: int,
    seed: int,
    barrier,  # multiprocessing.Barrier
    results,  # multiprocessing.Queue
) -> None:
    import torch

    from trainables import TrialConfig, train

    torch.set_num_threads(threads)
    config = TrialConfig(
        beta=4.0,
        latent_size=10,
        architecture=architecture,
        batch_size=batch_size,
        steps=steps,
        seed=seed,
        report_every=report_every,
        score_every=0,
        final_score_protocol="tiny",  # after the measured window; keep it short
        device=device,
    )
    reports: list[tuple[float, int]] = []
    barrier.wait()
    train(config, report=lambda metrics, _: reports.append((time.time(), metrics["step"])))
    results.put(reports)


def aggregate(per_trial: list[list[tuple[float, int]]], batch_size: int) -> tuple[float, float]:
    """(aggregate images/s, window seconds) over the window in which every trial trains."""
    start = max(reports[2][0] for reports in per_trial)  # all past their start-up
    end = min(reports[-2][0] for reports in per_trial)  # none yet in its final score
    if end <= start:
        raise SystemExit("no common training window: raise --steps")
    total = 0.0
    for reports in per_trial:
        inside = [(t, s) for t, s in reports[:-1] if start <= t <= end]
        if len(inside) < 2:
            raise SystemExit("too few reports inside the common window: raise --steps")
        (t0, s0), (t1, s1) = inside[0], inside[-1]
        total += (s1 - s0) * batch_size / (t1 - t0)
    return total, end - start


def measure(args: argparse.Namespace, architecture: str, k: int) -> tuple[float, float]:
    context = mp.get_context("spawn")  # CUDA in each child; fork would inherit a CUDA context
    barrier, results = context.Barrier(k), context.Queue()
    processes = [
        context.Process(
            target=_trial,
            args=(
                architecture,
                args.device,
                args.steps,
                args.batch_size,
                args.report_every,
                args.threads,
                i,
                barrier,
                results,
            ),
        )
        for i in range(k)
    ]
    for process in processes:
        process.start()
    per_trial = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a trial process failed (exit code {process.exitcode})")
    return aggregate(per_trial, args.batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--trials", default="1,2,4,8", help="Concurrent trials to try.")
    parser.add_argument("--architectures", default="conv,mlp")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--report-every", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per trial.")
    args = parser.parse_args()

    import torch

    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: no CUDA device here")
        from simulators import DSprites

        DSprites(device="cpu").materialize()  # fill the disk cache once, not in k trials
        name = torch.cuda.get_device_name(args.device)
    else:
        name = platform.processor() or platform.machine()
    print(f"device {args.device} ({name}), torch {torch.__version__}, batch {args.batch_size},")
    print(f"{args.steps} steps per trial, {args.threads} torch thread(s) per trial\n")
    for architecture in args.architectures.split(","):
        print(f"### {architecture}\n")
        print("| trials | aggregate images/s | per trial | speed-up | window s |")
        print("|---:|---:|---:|---:|---:|")
        single = None
        for k in (int(x) for x in args.trials.split(",")):
            total, window = measure(args, architecture, k)
            single = single or total
            print(
                f"| {k} | {total:,.0f} | {total / k:,.0f} | {total / single:.2f}× | {window:.1f} |"
            )
        print()


if __name__ == "__main__":
    main()
