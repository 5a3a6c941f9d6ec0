"""Frontier search at equal budget: the hypervolume each way of searching reaches.

    python bench/frontier.py synthetic [--seeds 10] [--budget 3200] [--ablations]
    python bench/frontier.py real [--seeds 2] [--budget 1200] [--max-steps 200]

At the same total number of training steps, compares
  (a) frontier: multi-objective ASHA + multi-objective TPE (`--metric recon,score`),
  (b) score:    single-objective ASHA + TPE on the score (`--metric score`, today's default),
  (c) random:   random β and latent size, every trial to its last step (no pruning),
by the hypervolume of the (reconstruction, score) points of every trial the search ran,
each at its last report (pruned trials count where they stopped).

The schedulers and searchers are the very objects `sweep run` builds
(sweep.tune.space.scheduler and search_algorithm, with the seed), driven one trial at a
time as Tune drives them at --concurrency 1 (suggest; each report to the searcher and
the scheduler; stop on STOP; on_trial_complete), without Ray's actors: the comparison is
about what the algorithms choose, and Ray would add seconds of process start-up per trial
on a shared 2-core machine. A search stops when the budget is spent, cutting the trial in
flight at that step. Random search draws β log-uniformly and the latent size uniformly
from the same ranges, seeded.

synthetic: sweep.tune.synthetic (ZDT1 in log β and latent size; the front is latent size
10); hypervolume as a fraction of the true front's, reference point (540 nats, score
0.78): the true front's worst values pushed out by a tenth of its range.
real: β-VAE trials (conv, batch 16, CPU, the tiny score protocol, --max-steps steps);
reference point (4096·ln 2 ≈ 2839 nats: a decoder that predicts 0.5 for every pixel;
score 0.2: chance for five factors).
Prints a Markdown table: mean ± standard deviation over seeds.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from ray.tune.schedulers import TrialScheduler

from sweep.multiobjective import hypervolume
from sweep.spec import SweepSpec, parse_beta, parse_latent
from sweep.tune import space as tune_space
from sweep.tune import synthetic
from sweep.tune.trainable import tune_payload
from trainables.config import TrialConfig

METHODS = {
    "frontier": "(a) MO-ASHA + MO-TPE on recon, score",
    "score": "(b) ASHA + TPE on score",
    "random": "(c) random, no pruning",
}
# --ablations: which half of (a) makes the difference, the pruning or the proposals.
ABLATIONS = {
    "mo-tpe": "(d) MO-TPE, no pruning",
    "mo-asha-random": "(e) MO-ASHA, random proposals",
}
MULTI_OBJECTIVE = ("frontier", "mo-tpe", "mo-asha-random")
RANDOM_PROPOSALS = ("random", "mo-asha-random")
NO_PRUNING = ("random", "mo-tpe")
MAXIMIZE = (False, True)
SYNTHETIC_REFERENCE = (540.0, 0.78)
REAL_REFERENCE = (4096 * math.log(2), 0.2)
BETA, LATENT = "1..250", "4..16"


class _Budget(Exception):
    """The budget is spent: the search stops here."""


class _Stopped(Exception):
    """The scheduler stopped the trial."""


def spec_for(method: str, seed: int, samples: int, args: argparse.Namespace) -> SweepSpec:
    return SweepSpec(
        name="bench",
        storage="/tmp/unused",
        beta=parse_beta(BETA, "--beta"),
        beta_norm=None,
        latent=parse_latent(LATENT),
        samples=samples,
        max_steps=args.max_steps,
        grace_steps=args.grace_steps,
        reduction_factor=2,
        metric="recon,score" if method in MULTI_OBJECTIVE else "score",
        search="random" if method == "random" else "optuna",
        concurrency=1,
        cpus_per_trial=1.0,
        gpus_per_trial=0.0,
        address=None,
        seed=seed,
        max_failures=0,
        trial=args.trial,
    )


def search(
    method: str,
    seed: int,
    args: argparse.Namespace,
    run: Callable[[TrialConfig, Callable[[dict], None]], None],
) -> list[tuple[float, float]]:
    """Run one search until the budget is spent; every trial's last (recon, score)."""
    samples = 10_000  # more than the budget allows: the budget ends the search
    spec = spec_for(method, seed, samples, args)
    base = spec.base_config().to_dict()
    base.update(device="cpu")
    space = tune_space.param_space(spec)
    rng = np.random.default_rng(seed)
    searcher = None if method in RANDOM_PROPOSALS else tune_space.search_algorithm(spec)
    scheduler = None if method in NO_PRUNING else tune_space.scheduler(spec)
    if searcher is not None:
        metric, mode = (None, None) if spec.is_frontier else (spec.tune_metric, spec.mode)
        searcher.set_search_properties(metric, mode, space)
    if scheduler is not None and not spec.is_frontier:
        scheduler.set_search_properties(spec.tune_metric, spec.mode)
    spent, found = 0, []
    for number in range(samples):
        trial = SimpleNamespace(trial_id=f"t{number:05d}")
        if searcher is None:
            low, high = spec.beta_domain.values
            values = {
                "beta": float(math.exp(rng.uniform(math.log(low), math.log(high)))),
                "latent_size": int(rng.integers(spec.latent.values[0], spec.latent.values[1] + 1)),
            }
        else:
            values = searcher.suggest(trial.trial_id)
        if scheduler is not None:
            scheduler.on_trial_add(None, trial)
        config = TrialConfig.from_dict({**base, "beta_norm": None, **values})
        one = _OneTrial(trial, searcher, scheduler, args.budget - spent)
        with contextlib.suppress(_Stopped, _Budget):
            run(config, one.report)
        spent += one.spent
        if one.last:
            found.append((one.last["latest_recon"], one.last["latest_score"]))
            if searcher is not None:
                searcher.on_trial_complete(trial.trial_id, one.last)
            if scheduler is not None:
                scheduler.on_trial_complete(None, trial, one.last)
        if spent >= args.budget:
            break
    return found


class _OneTrial:
    """One trial's reports, as Tune hands them to the searcher and the scheduler."""

    def __init__(self, trial: Any, searcher: Any, scheduler: Any, budget_left: int):
        self.trial, self.searcher, self.scheduler = trial, searcher, scheduler
        self.budget_left = budget_left
        self.spent = 0
        self.last: dict[str, Any] = {}
        self.state: dict[str, Any] = {
            "latest_score": None,
            "node": "",
            "node_id": "",
            "first_started": 0.0,
            "restored_from_step": None,
        }

    def report(self, metrics: dict[str, Any]) -> None:
        self.spent = metrics["step"]
        self.last = tune_payload(metrics, self.state, 0.0)
        self.last["training_iteration"] = metrics["step"]  # unique per report, like Tune's
        # In Tune's order (TuneController._process_trial_result): the scheduler, then the
        # searcher unless the trial was stopped.
        scheduler = self.scheduler
        if (
            scheduler
            and scheduler.on_trial_result(None, self.trial, self.last) == TrialScheduler.STOP
        ):
            raise _Stopped
        if self.searcher is not None:
            self.searcher.on_trial_result(self.trial.trial_id, self.last)
        if self.spent >= self.budget_left:
            raise _Budget


def run_synthetic(config: TrialConfig, report: Callable[[dict], None]) -> None:
    due = {config.report_every, config.score_every}
    for step in range(1, config.steps + 1):
        if step == config.steps or any(e and step % e == 0 for e in due):
            report(synthetic.metrics_at(config, step))


def run_real(config: TrialConfig, report: Callable[[dict], None]) -> None:
    from trainables import train

    train(config, report=lambda metrics, checkpoint: report(metrics))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("problem", choices=("synthetic", "real"))
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--budget", type=int, default=None, help="total training steps")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--grace-steps", type=int, default=None)
    parser.add_argument("--ablations", action="store_true", help="add rows (d) and (e)")
    args = parser.parse_args()
    methods = {**METHODS, **(ABLATIONS if args.ablations else {})}
    real = args.problem == "real"
    args.seeds = args.seeds or (2 if real else 10)
    args.max_steps = args.max_steps or (200 if real else 160)
    args.grace_steps = args.grace_steps or args.max_steps // 8
    args.budget = args.budget or args.max_steps * (6 if real else 20)
    if real:
        args.trial = {
            "batch_size": 16,
            "loop_score_protocol": "tiny",
            "final_score_protocol": "tiny",
        }
        reference, run, scale = REAL_REFERENCE, run_real, 1.0
    else:
        args.trial = {}
        reference, run = SYNTHETIC_REFERENCE, run_synthetic
        scale = hypervolume(synthetic.true_front(), MAXIMIZE, reference)
    rows: dict[str, list[float]] = {m: [] for m in methods}
    trials: dict[str, list[int]] = {m: [] for m in methods}
    started = time.time()
    for seed in range(args.seeds):
        for method in methods:  # side by side per seed: load from other work hits them alike
            found = search(method, seed, args, run)
            rows[method].append(hypervolume(found, MAXIMIZE, reference) / scale)
            trials[method].append(len(found))
            print(f"seed {seed} {method}: {len(found)} trials, hv {rows[method][-1]:.4g}",
                  file=sys.stderr, flush=True)  # fmt: skip
    unit = "fraction of the true front's hypervolume" if not real else "nats × score"
    print(
        f"\n{args.problem}: budget {args.budget} steps, trials of ≤{args.max_steps} steps, "
        f"rungs from {args.grace_steps} (rf 2), {args.seeds} seeds, reference point "
        f"{reference[0]:.1f} nats, score {reference[1]}; {platform.processor() or 'cpu'}, "
        f"{time.time() - started:.0f} s\n"
    )
    print(f"| search | hypervolume ({unit}), mean ± std | trials run, mean |")
    print("|---|---|---|")
    for method, label in methods.items():
        values = rows[method]
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        print(
            f"| {label} | {statistics.mean(values):.4g} ± {std:.2g} | "
            f"{statistics.mean(trials[method]):.1f} |"
        )
    print("\nper seed: " + "; ".join(
        f"{m} " + ", ".join(f"{v:.4g}" for v in rows[m]) for m in methods))  # fmt: skip


if __name__ == "__main__":
    main()
