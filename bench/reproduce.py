"""Reproduce the paper's dSprites result: β = 4 (M = 10) disentangles, β = 1 much less.

    python bench/reproduce.py [--steps 300000] [--betas 4,1] [--arch mlp] [--device auto]
                              [--score-every 10000] [--out out/reproduce] [--threads N]

Trains one trial per β with the paper's model and optimiser (mlp, Adagrad 1e-2, batch 64)
unless told otherwise, scoring with the "fast" Higgins protocol while it trains and the
"paper" protocol (L = 64, 10,000 train / 5,000 test points, all five factors) at the end.
The paper reports 99.23 ± 0.1% for β = 4 and 61.58 ± 0.5% for β = 1. Writes every report
to OUT/results.parquet and a Markdown summary (OUT/summary.md); prints progress lines.
Long on a CPU: pass --steps to bound it, and say so beside the figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import socket
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sweep.store.parquet import rows_to_table, write_table
from sweep.store.schema import RESULTS_SCHEMA
from trainables import TrialConfig, train
from trainables.loop import device_of

PAPER = {4.0: "99.23 ± 0.1", 1.0: "61.58 ± 0.5"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument("--betas", default="4,1")
    parser.add_argument("--latent", type=int, default=10)
    parser.add_argument("--arch", default="mlp")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--score-every", type=int, default=10_000)
    parser.add_argument("--report-every", type=int, default=500)
    parser.add_argument("--final-protocol", default="paper")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--out", type=Path, default=Path("out/reproduce"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    rows: list[dict] = []
    summary = []
    for beta in (float(b) for b in args.betas.split(",")):
        config = TrialConfig(
            beta=beta,
            latent_size=args.latent,
            architecture=args.arch,
            steps=args.steps,
            seed=args.seed,
            report_every=args.report_every,
            score_every=args.score_every,
            checkpoint_every=args.steps,  # the final one only
            final_score_protocol=args.final_protocol,
            device=args.device,
        )
        trial_id = f"beta{beta:g}-M{args.latent}-{args.arch}-seed{args.seed}"
        result = run_trial(config, trial_id, rows, args.out)
        m = result.metrics or {}
        loop_scores = [r["score"] for r in rows if r["trial_id"] == trial_id and r["score"]]
        summary.append(
            f"| {beta:g} | {args.latent} | {args.arch} | {result.status} | "
            f"{result.steps_done:,} | {result.elapsed_s / 60:.1f} | "
            f"{_percent(m.get('score'))} | {_percent(max(loop_scores, default=None))} | "
            f"{PAPER.get(beta, '–')} |"
        )
        protocol = m.get("score_protocol")

    device = device_of(config)
    lines = [
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        f"torch {torch.__version__}; final protocol: {protocol}",
        "",
        "| β | M | arch | status | steps | minutes | final score % | best score seen % | paper % |",
        "|---:|---:|---|---|---:|---:|---:|---:|---|",
        *summary,
    ]
    text = "\n".join(lines) + "\n"
    (args.out / "summary.md").write_text(text)
    print("\n" + text)


def run_trial(config: TrialConfig, trial_id: str, rows: list[dict], out: Path):
    """Train one trial, appending its reports to `rows` and OUT/results.parquet."""
    started = time.perf_counter()

    def report(metrics: dict, checkpoint: Path | None) -> None:
        elapsed = time.perf_counter() - started
        row = {k: v for k, v in metrics.items() if k != "message"}
        row.update(config.to_dict(), sweep="reproduce", trial_id=trial_id)
        row.update(node=socket.gethostname(), wall_time=elapsed)
        row["timestamp"] = dt.datetime.now(dt.UTC)
        rows.append(row)
        write_table(rows_to_table(rows, RESULTS_SCHEMA), out / "results.parquet")
        score = "" if metrics["score"] is None else f" score={metrics['score']:.4f}"
        print(
            f"{trial_id} step {metrics['step']:>7,} recon={metrics['recon']:.2f} "
            f"kl={metrics['kl']:.2f}{score} {metrics['images_per_s']:,.0f} img/s "
            f"{elapsed / 60:.1f} min",
            flush=True,
        )

    return train(config, report=report, checkpoint_dir=out / trial_id)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


if __name__ == "__main__":
    main()
