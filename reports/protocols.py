"""Which scores count: one Higgins protocol ranks and plots every trial of a report.

A sweep's scores come from more than one protocol: the cheap in-loop one at ASHA's rungs
(the only score a stopped trial has) and the final one at a finished trial's last step
(on GPUs `fast` and `paper`; the `paper` score reads higher than a `fast` or `tiny` score
of the same model). Ranked side by side they would compare numbers that are not
comparable, so the report chooses ONE protocol here, and the frontier, the best trials and
every figure use each trial's latest score under it. Scores under other protocols stay in
the table (and `Trial.scores`), shown apart, never ranked.

The choice: the protocol that scored the most trials (so every trial that ASHA stopped is
ranked); between protocols that scored as many, the one that scored more trials at their
latest scored step, then the one with more final scores (a sweep whose trials all
finished ranks by its final protocol).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.sweepdata import Trial

UNRECORDED = "protocol not recorded"


@dataclass(frozen=True)
class Score:
    """A trial's latest score under one protocol."""

    value: float  # fraction in [0, 1]
    step: int
    protocol: str
    final: bool  # the final-protocol score at the trial's planned last step
    recon: float | None  # reported with it (nats per image)


def ranking_protocol(trials: list[Trial]) -> str | None:
    """The one protocol whose scores rank and plot `trials` (module docstring)."""
    coverage: Counter[str] = Counter()
    latest: Counter[str] = Counter()
    finals: Counter[str] = Counter()
    for trial in trials:
        if not trial.scores:
            continue
        last_step = max(s.step for s in trial.scores)
        for score in trial.scores:
            coverage[score.protocol] += 1
            latest[score.protocol] += score.step == last_step
            finals[score.protocol] += score.final
    if not coverage:
        return None
    return max(coverage, key=lambda p: (coverage[p], latest[p], finals[p], p))


def rank_by(trials: list[Trial], protocol: str | None) -> list[Trial]:
    """`trials` with their score fields set to their latest score under `protocol` (None
    where they have none: listed, not ranked)."""
    return [_with_score(t, _score_under(t, protocol)) for t in trials]


def other_scores(trial: Trial) -> list[Score]:
    """The trial's latest scores under protocols other than the one it is ranked by."""
    return [s for s in trial.scores if s.protocol != trial.score_protocol]


def _score_under(trial: Trial, protocol: str | None) -> Score | None:
    return next((s for s in trial.scores if s.protocol == protocol), None)


def _with_score(trial: Trial, score: Score | None) -> Trial:
    return dataclasses.replace(
        trial,
        score=None if score is None else score.value,
        score_step=None if score is None else score.step,
        score_protocol=None if score is None else score.protocol,
        score_is_final=score is not None and score.final,
        recon=None if score is None else score.recon,
    )
