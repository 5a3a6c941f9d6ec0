"""Scale simulation: the real Parquet callback, writer, compaction and readers under a sweep
of many trials with many reports, with a synthetic trainable that reports instantly.

    nice -n 10 python bench/scale.py --trials 1000 --reports 1000 [--checkpoint-every 100]
                                     [--cpus 2] [--concurrency 8] [--out DIR] [--keep]
    nice -n 10 python bench/scale.py --trials 1000 --reports 1000 --no-ray
    nice -n 10 python bench/scale.py --reads-only DIR   # a sweep left by --keep (or killed)

With Ray (the default) the sweep runs on an embedded local Ray: Tune, the ParquetCallback
(sweep.tune.callback) and its retention exactly as `sweep run` wires them, each trial a
function trainable that reports `--reports` results as fast as Tune takes them, with a tiny
checkpoint every `--checkpoint-every` reports (so rows are flushed as in a real sweep).
`--no-ray` instead feeds the same rows to the SweepWriter directly (the driver's work
without Tune's): it shows what the readers cost at a size the shared machine cannot run
through Tune in the time available, and what the writer alone sustains.

Measured: rows/s (total rows / wall time of the run), the driver's resident memory over
the run (sampled every 0.5 s: flat or growing with rows), result files before compaction
(at the most, and when the sweep ended) and after, checkpoints left per trial, `sweep
status` (the CLI in a fresh process, and read_summary in-process), a duckdb `group by
trial` query over results/*.parquet, and `sweep report --no-traversals` (a fresh process).
Checks: every (trial, step) written exactly once. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sweep.spec import SweepSpec, parse_beta, parse_latent  # noqa: E402
from sweep.store import compaction, storage  # noqa: E402
from sweep.store.summary import read_summary, status_table  # noqa: E402

NAME = "scale"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler:
    """Every 0.5 s: (seconds, driver RSS MB, result files on disk)."""

    def __init__(self, results: Path):
        self.results = results
        self.samples: list[tuple[float, float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.monotonic()

    def _files(self) -> int:
        try:
            return sum(1 for n in os.listdir(self.results) if n.endswith(".parquet"))
        except FileNotFoundError:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.samples.append((time.monotonic() - self._start, rss_mb(), self._files()))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_spec(args: argparse.Namespace, storage_root: str) -> SweepSpec:
    return SweepSpec(
        name=NAME,
        storage=storage_root,
        beta=parse_beta("1..250", "--beta"),
        beta_norm=None,
        latent=parse_latent("4,8,16"),
        samples=args.trials,
        max_steps=args.reports,
        grace_steps=args.reports,
        reduction_factor=2,
        metric="score",
        search="random",
        concurrency=args.concurrency,
        cpus_per_trial=args.cpus / args.concurrency,
        gpus_per_trial=0.0,
        address=None,
        seed=0,
        max_failures=0,
        trial={"report_every": 1, "score_every": args.checkpoint_every},
    )


def metrics(step: int, steps: int, latent: int, scored: bool) -> dict:
    """One report as trainables.train gives it (sweep.tune.trainable adds the rest); the
    score peaks mid-run, so the best checkpoint is not the latest one."""
    score = 0.9 - 0.4 * abs(step / steps - 0.5) if scored else None
    return {
        "step": step,
        "recon": 100.0 + 1000.0 / step,
        "kl": 10.0,
        "kl_per_latent": [10.0 / latent] * latent,
        "elbo": -(110.0 + 1000.0 / step),
        "loss": 110.0 + 1000.0 / step,
        "capacity": None,
        "score": score,
        "score_train": score,
        "score_protocol": "higgins tiny" if scored else None,
        "images_per_s": 1e6,
        "diverged": False,
    }


def synthetic_trial(config: dict) -> None:
    """Reports `steps` results at once; a tiny checkpoint at every scoring step."""
    import json

    from ray import tune

    from sweep.tune.trainable import STATE_FILE, tune_payload

    steps, every, latent = config["steps"], config["score_every"], config["latent_size"]
    state = {
        "node": "bench",
        "node_id": "bench",
        "first_started": time.time(),
        "latest_score": None,
        "restored_from_step": None,
    }
    with tempfile.TemporaryDirectory() as scratch:
        for step in range(1, steps + 1):
            scored = step % every == 0 or step == steps
            payload = tune_payload(metrics(step, steps, latent, scored), state, time.time())
            if not scored:
                tune.report(payload)
                continue
            directory = Path(scratch, f"c{step}")
            directory.mkdir()
            (directory / STATE_FILE).write_text(json.dumps({"step": step}))
            tune.report(payload, checkpoint=tune.Checkpoint.from_directory(str(directory)))
            shutil.rmtree(directory)


def read_times(sweep_dir: str) -> str:
    """In-process read_summary + status table, and the duckdb query: "status s / duckdb s"."""
    import duckdb

    start = time.perf_counter()
    status_table(read_summary(sweep_dir, NAME))
    status = time.perf_counter() - start
    start = time.perf_counter()
    duckdb.sql(query(Path(sweep_dir, storage.RESULTS_DIR))).fetchall()
    return f"status {status:.2f} s, duckdb {time.perf_counter() - start:.2f} s"


def query(results: Path) -> str:
    return (
        f"select trial_id, count(*), max(score), min(recon) "
        f"from read_parquet('{results}/*.parquet') group by trial_id"
    )


class MeasuredCallback:
    """Built lazily (Ray import): the real ParquetCallback, plus the file counts around
    its end-of-sweep compaction."""

    @staticmethod
    def make(sweep_dir: str, keep: str, record: dict):
        from sweep.tune.callback import ParquetCallback

        class Measured(ParquetCallback):
            def on_experiment_end(self, trials, **info):
                results = Path(sweep_dir, storage.RESULTS_DIR)
                record["files_at_end"] = len(list(results.glob("*.parquet")))
                record["parts_written"] = self.writer._next_part - 1
                self.writer.flush()
                record["reads_before"] = read_times(sweep_dir)
                start = time.perf_counter()
                super().on_experiment_end(trials, **info)
                record["close_s"] = time.perf_counter() - start

        return Measured(sweep_dir, NAME, keep_checkpoints=keep)


def run_ray(args: argparse.Namespace, spec: SweepSpec, sweep_dir: str, record: dict) -> None:
    import ray
    from ray import tune

    from sweep.tune import run as tune_run
    from sweep.tune import space as tune_space

    tune_run._quiet_tune()
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="ERROR")
    try:
        tune_run.write_spec(spec, sweep_dir)
        trainable = tune.with_resources(synthetic_trial, {"cpu": spec.cpus_per_trial})
        tuner = tune.Tuner(
            trainable,
            param_space=tune_space.param_space(spec),
            tune_config=tune.TuneConfig(
                metric=spec.tune_metric,
                mode=spec.mode,
                search_alg=tune_space.search_algorithm(spec),
                num_samples=spec.samples,
                trial_dirname_creator=tune_run._trial_dirname,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name=storage.TUNE_DIR,
                storage_path=sweep_dir,
                callbacks=[MeasuredCallback.make(sweep_dir, args.keep_checkpoints, record)],
                checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
                verbose=0,
            ),
        )
        tuner.fit()
    finally:
        ray.shutdown()


def run_writer(args: argparse.Namespace, spec: SweepSpec, sweep_dir: str, record: dict) -> None:
    """The driver's Parquet work without Tune: the same calls the callback makes."""
    from sweep.store.writer import SweepWriter
    from sweep.tune import run as tune_run
    from sweep.tune.trainable import tune_payload

    tune_run.write_spec(spec, sweep_dir)
    writer = SweepWriter(sweep_dir, NAME)
    writer.open()
    config = spec.base_config().to_dict()
    live: list[str] = []
    for index in range(args.trials):
        trial_id = f"t{index:05d}"
        live.append(trial_id)
        trial = {**config, "beta": 1.0 + index % 250, "beta_norm": None}
        trial["latent_size"] = (4, 8, 16)[index % 3]
        writer.running(trial_id, trial)
        state = {"node": "b", "node_id": "b", "first_started": 0.0, "latest_score": None}
        state["restored_from_step"] = None
        for step in range(1, args.reports + 1):
            scored = step % args.checkpoint_every == 0 or step == args.reports
            result = tune_payload(
                metrics(step, args.reports, trial["latent_size"], scored), state, 1.0
            )
            writer.add_result(trial_id, trial, result)
            if scored:
                writer.checkpoint(trial_id, trial, f"tune/{trial_id}/checkpoint_{step:06d}")
            writer.maybe_flush()
        writer.finished(trial_id, trial)
    record["files_at_end"] = len(list(Path(sweep_dir, storage.RESULTS_DIR).glob("*.parquet")))
    record["parts_written"] = writer._next_part - 1
    record["reads_before"] = read_times(sweep_dir)
    start = time.perf_counter()
    writer.close()
    record["close_s"] = time.perf_counter() - start


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of a command in a fresh process: on a shared machine the
    CPU time is the figure that does not depend on what else runs."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure_readers(root: Path, sweep_dir: str, results: Path) -> tuple[list, list[tuple]]:
    """Time what a user reads a sweep with: `sweep status` (in-process and as a process),
    a duckdb group-by-trial query (3 runs) and `sweep report`; the query's groups too."""
    import duckdb

    start = time.perf_counter()
    status_table(read_summary(sweep_dir, NAME))
    status_inproc = time.perf_counter() - start
    status_cli = timed(["sweep", "status", NAME, "--storage", str(root)])
    duck = []
    for _ in range(3):
        start = time.perf_counter()
        groups = duckdb.sql(query(results)).fetchall()
        duck.append(time.perf_counter() - start)
    report_s = timed(["sweep", "report", NAME, "--storage", str(root), "--no-traversals"])
    rows = [
        (
            "sweep status: process wall (CPU) / in-process",
            f"{status_cli[0]:.2f} s ({status_cli[1]:.2f} s CPU) / {status_inproc:.2f} s",
        ),
        ("duckdb group by trial (3 runs)", ", ".join(f"{d:.2f} s" for d in duck)),
        (
            "sweep report --no-traversals: process wall (CPU)",
            f"{report_s[0]:.1f} s ({report_s[1]:.1f} s CPU)",
        ),
    ]
    return groups, rows


def print_table(rows: list[tuple]) -> None:
    print(
        f"\nbench/scale.py on {platform.node()} ({os.cpu_count()} CPUs): {' '.join(sys.argv[1:])}"
    )
    print("\n| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def reads_only(root: Path) -> None:
    """Readers and compaction on an existing bench sweep (e.g. one whose driver was killed
    before the end): before compaction, `sweep compact`, after it."""
    sweep_dir = str(root / NAME)
    results = Path(sweep_dir, storage.RESULTS_DIR)
    from sweep.store.writer import read_written_keys

    keys = read_written_keys(sweep_dir)
    files_before = len(list(results.glob("*.parquet")))
    before = read_times(sweep_dir)
    compact = timed(["sweep", "compact", NAME, "--storage", str(root)])
    files_after = len(list(results.glob("*.parquet")))
    groups, reader_rows = measure_readers(root, sweep_dir, results)
    after_keys = read_written_keys(sweep_dir)
    rows = [
        ("rows / distinct / trials", f"{len(keys):,} / {len(set(keys)):,} / {len(groups)}"),
        ("result files before compaction", f"{files_before}"),
        ("before compaction: in-process", before),
        ("sweep compact: process wall (CPU)", f"{compact[0]:.1f} s ({compact[1]:.1f} s CPU)"),
        ("result files after", f"{files_after}"),
        *reader_rows,
    ]
    print_table(rows)
    same = sorted(keys) == sorted(after_keys) and len(keys) == len(set(keys))
    print(f"\nsame rows before and after compaction, none twice: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep-checkpoints", default="best")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="storage root (default: a tmp)")
    parser.add_argument("--keep", action="store_true", help="leave the sweep on disk")
    parser.add_argument(
        "--reads-only", type=Path, default=None, help="measure readers on the sweep under DIR"
    )
    args = parser.parse_args()
    if args.reads_only is not None:
        reads_only(args.reads_only.resolve())
        return

    root = Path(args.out or tempfile.mkdtemp(prefix="betasweep-scale-")).resolve()
    sweep_dir = str(root / NAME)
    if Path(sweep_dir).exists():
        sys.exit(f"{sweep_dir} exists; choose another --out")
    spec = make_spec(args, str(root))
    record: dict = {}
    results = Path(sweep_dir, storage.RESULTS_DIR)
    start = time.perf_counter()
    with Sampler(results) as sampler:
        (run_writer if args.no_ray else run_ray)(args, spec, sweep_dir, record)
    wall = time.perf_counter() - start

    from sweep.store.writer import read_written_keys

    keys = read_written_keys(sweep_dir)
    want = args.trials * args.reports
    distinct = len(set(keys))
    files_after = len(compaction.live_parts(str(results)))
    all_files = len(list(results.glob("*.parquet")))

    groups, reader_rows = measure_readers(root, sweep_dir, results)

    checkpoints = [
        len(list(d.glob("checkpoint_*"))) for d in Path(sweep_dir, "tune").glob("*") if d.is_dir()
    ]
    states = sorted(Path(sweep_dir, "tune").glob("experiment_state-*.json"))
    state_kb = states[-1].stat().st_size / 1024 if states else 0.0
    ckpt_bytes = sum(f.stat().st_size for f in Path(sweep_dir, "tune").rglob("*") if f.is_file())
    rss = [s[1] for s in sampler.samples] or [rss_mb()]
    quarter = max(1, len(rss) // 4)
    rss_marks = [rss[min(len(rss) - 1, i * quarter)] for i in range(4)] + [rss[-1]]
    max_files = max((s[2] for s in sampler.samples), default=record.get("files_at_end", 0))

    rows = [
        ("mode", "writer only (no Ray)" if args.no_ray else f"Ray Tune, local, {args.cpus} CPUs"),
        ("trials × reports", f"{args.trials} × {args.reports} = {want:,} rows"),
        ("rows written / distinct", f"{len(keys):,} / {distinct:,} (expected {want:,})"),
        ("wall time, rows/s", f"{wall:.1f} s, {want / wall:,.0f} rows/s"),
        ("driver RSS MB at 0, ¼, ½, ¾, end", ", ".join(f"{m:.0f}" for m in rss_marks)),
        ("small parts written", f"{record.get('parts_written', '?'):,}"),
        ("result files: most at once / at sweep end", f"{max_files} / {record['files_at_end']}"),
        ("before compaction: in-process", record["reads_before"]),
        ("sweep-wide compaction", f"{record['close_s']:.1f} s → {files_after} live files"),
        ("files in results/ after", f"{all_files}"),
        ("checkpoints per trial (max)", f"{max(checkpoints, default=0)}"),
        ("tune/ bytes", f"{ckpt_bytes / 2**20:.1f} MB"),
        (
            "Tune experiment state",
            f"{state_kb:.0f} KB ({state_kb / max(1, args.trials):.1f} KB per trial)",
        ),
        *reader_rows,
    ]
    print_table(rows)
    ok = len(keys) == distinct == want and len(groups) == args.trials
    print(f"\nno row lost or duplicated: {'yes' if ok else 'NO'}; sweep at {root}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
