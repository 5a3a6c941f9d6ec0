"""Scoring shows progress: the metric tells a callback how many images it has encoded of
how many (without changing the score), train() passes it through, `sweep train` draws it
as its own progress line, and a sweep's trial writes it to its trial.log."""

from __future__ import annotations

import io

import pytest
import torch
from rich.console import Console
from rich.progress import Progress, TextColumn, TimeRemainingColumn

from metrics import codes, higgins, synthetic
from simulators import DSprites
from sweep.cli.train import score_progress
from sweep.tune.trial_log import ScoreLog
from trainables import TrialConfig, train

IMAGES = {"batch_size": 4, "num_train": 150, "num_test": 100}


@pytest.fixture(scope="module")
def sim() -> DSprites:
    return DSprites()


def pixel_projection(seed: int = 0, width: int = 6):
    weights = torch.randn(64 * 64, width, generator=torch.Generator().manual_seed(seed))
    return lambda images: images.flatten(1) @ weights


def check_counts(calls: list[tuple[int, int]]) -> int:
    """One score's calls: (0, total) first, rising by batches, (total, total) last."""
    total = calls[0][1]
    assert calls[0] == (0, total) and calls[-1] == (total, total) and total > 0
    assert all(t == total for _, t in calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(done) > 2
    return total


@pytest.mark.parametrize("encoding", ["unique", "direct"])
def test_the_metric_reports_images_encoded_and_stays_the_same(sim, encoding):
    encode = pixel_projection()
    calls: list[tuple[int, int]] = []
    told = higgins.score(
        sim, encode, **IMAGES, seed=4, encoding=encoding, progress=lambda *c: calls.append(c)
    )
    assert told == higgins.score(sim, encode, **IMAGES, seed=4, encoding=encoding)
    total = check_counts(calls)
    drawn = 2 * IMAGES["batch_size"] * (IMAGES["num_train"] + IMAGES["num_test"])
    # The fast path encodes each distinct image once; the direct path every drawn one.
    assert total == drawn if encoding == "direct" else 0 < total <= drawn


def test_lookups_and_chunked_codes_report_too(sim, monkeypatch):
    calls: list[tuple[int, int]] = []
    factors = synthetic.FactorCodes(sim, noise=0.3, seed=1)  # codes by position (a lookup)
    higgins.score(sim, factors, **IMAGES, seed=2, progress=lambda *c: calls.append(c))
    check_counts(calls)
    calls.clear()
    monkeypatch.setattr(codes, "TABLE_BYTES_LIMIT", 0)  # too large to tabulate
    higgins.score(sim, pixel_projection(), **IMAGES, seed=2, progress=lambda *c: calls.append(c))
    check_counts(calls)


def test_train_passes_each_scores_progress_with_its_protocol():
    config = TrialConfig(
        beta=4, latent_size=4, steps=4, batch_size=8, report_every=2, score_every=2,
        loop_score_protocol="tiny", final_score_protocol="tiny", device="cpu", seed=1,
    )  # fmt: skip
    calls: list[tuple[str, int, int]] = []
    train(config, score_progress=lambda *c: calls.append(c))
    starts = [i for i, (_, done, _) in enumerate(calls) if done == 0]
    assert len(starts) == 2  # the in-loop score at step 2 and the final one at step 4
    for first, stop in zip(starts, [*starts[1:], len(calls)], strict=True):
        assert {p for p, _, _ in calls[first:stop]} == {"tiny"}
        check_counts([(d, t) for _, d, t in calls[first:stop]])


def test_sweep_train_draws_the_score_as_its_own_progress_line():
    out = io.StringIO()
    progress = Progress(
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
        console=Console(file=out, width=120),
    )
    task = progress.add_task("score", total=1, visible=False, status="")
    update = score_progress(progress, task)
    update("paper", 0, 683_000)
    update("paper", 120_000, 683_000)
    (shown,) = [t for t in progress.tasks if t.visible]
    assert shown.description == "score paper" and shown.total == 683_000
    progress.console.print(progress.get_renderable())
    assert "score paper 120,000/683,000 images encoded" in out.getvalue()
    update("paper", 683_000, 683_000)
    assert progress.tasks[task].fields["status"] == "fitting the classifier"
    update("fast", 0, 169_000)  # the next score starts from zero with its own total
    assert (progress.tasks[task].completed, progress.tasks[task].total) == (0, 169_000)


def test_a_trials_score_log_says_how_far_and_how_long_is_left(tmp_path):
    now, console = [100.0], []
    log = ScoreLog(
        tmp_path / "trial.log", every=10.0, clock=lambda: now[0], echo=console.append, echo_after=20
    )
    log("paper", 0, 600_000)
    for seconds, encoded in [(4, 40_000), (12, 120_000), (15, 150_000), (30, 300_000)]:
        now[0] = 100.0 + seconds
        log("paper", encoded, 600_000)
    now[0] = 160.0
    log("paper", 600_000, 600_000)
    lines = [line.split(" ", 2)[2] for line in (tmp_path / "trial.log").read_text().splitlines()]
    assert lines == [
        "score paper: encoding 600,000 images",
        "score paper: 120,000/600,000 images encoded (20%), about 48 s left",
        "score paper: 300,000/600,000 images encoded (50%), about 30 s left",
        "score paper: 600,000 images encoded in 1 min 00 s; fitting the classifier",
    ]
    assert console == lines[2:]  # on the console only once the score has taken 20 s
    log("tiny", 0, 8_000)
    now[0] = 165.0
    log("tiny", 8_000, 8_000)  # a short score: its lines stay in the log
    assert console == lines[2:]
