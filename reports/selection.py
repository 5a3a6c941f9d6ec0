"""Which trials the report singles out, and the notes that say what a figure shows.

Every score here is under the report's one ranking protocol (reports.protocols).
The frontier: trials no other trial beats on both low reconstruction loss and high score.
The best trials (traversals, KL bars, the baseline table): the top `k` by score among the
trials that can be chosen (finite score and reconstruction, not diverged), ties broken by
the lower reconstruction loss; they are usually frontier members, but a high score from a
trial that ASHA stopped early stays in the list and is labelled as such.
"""

from __future__ import annotations

from collections import Counter

from reports.pareto import pareto_front
from reports.protocols import other_scores
from reports.sweepdata import Trial

DEFAULT_TOP_K = 3


def frontier_members(trials: list[Trial]) -> list[Trial]:
    """The Pareto frontier (min reconstruction, max score), ordered by reconstruction."""
    candidates = [t for t in trials if t.can_be_chosen]
    points = [(t.recon, t.score) for t in candidates]
    members = [candidates[i] for i in pareto_front(points, maximize=(False, True))]
    return sorted(members, key=lambda t: (t.recon, -t.score, t.trial_id))


def best_trials(trials: list[Trial], k: int = DEFAULT_TOP_K) -> list[Trial]:
    """The k highest-scoring trials (ties: the better reconstruction, where there is one)."""
    candidates = [t for t in trials if t.has_score]
    inf = float("inf")
    return sorted(
        candidates, key=lambda t: (-t.score, inf if t.recon is None else t.recon, t.trial_id)
    )[:k]


def score_kind(trial: Trial) -> str:
    if trial.score is None:
        return "none"
    return "final" if trial.score_is_final else "in-loop"


def protocol_lines(trials: list[Trial]) -> list[str]:
    """What the plotted scores are: the one ranking protocol (reports.protocols), how many
    of its scores are final and in-loop, and the other protocols' scores left out."""
    ranked = [t for t in trials if t.score is not None]
    lines = []
    if ranked:
        kinds = Counter(score_kind(t) for t in ranked)
        split = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        lines.append(
            f"Ranked and plotted: one protocol, each trial's latest score under it "
            f"({_trials(len(ranked))}: {split}): {ranked[0].score_protocol}"
        )
    others = Counter(s.protocol for t in trials for s in other_scores(t))
    for protocol, n in sorted(others.items()):
        lines.append(f"Not ranked (other protocol, in index.html): {_trials(n)}: {protocol}")
    return lines


def _trials(n: int) -> str:
    return f"{n} trial{'s' if n != 1 else ''}"


def status_notes(trials: list[Trial]) -> list[str]:
    """What a reader must know before trusting the figures: few trials, missing scores."""
    notes = []
    if len(trials) == 1:
        notes.append("This sweep has a single trial: there is no trade-off to read yet.")
    diverged = [t.trial_id for t in trials if t.diverged]
    if diverged:
        notes.append(
            f"{len(diverged)} trial{'s' if len(diverged) != 1 else ''} diverged "
            f"({_some(diverged)}): listed in the table, not on the frontier."
        )
    unranked = [t.trial_id for t in trials if t.score is None and t.scores and not t.diverged]
    if unranked:
        notes.append(
            f"{_trials(len(unranked))} scored only under another protocol ({_some(unranked)}): "
            "listed in the table, not ranked nor plotted."
        )
    unscored = [t.trial_id for t in trials if not t.scores and not t.diverged]
    if unscored:
        notes.append(
            f"{len(unscored)} trial{'s' if len(unscored) != 1 else ''} without a score yet "
            f"({_some(unscored)}): listed in the table, not on the frontier."
        )
    running = sum(t.status in ("pending", "running") for t in trials)
    if running:
        notes.append(
            f"The sweep is still running ({running} trial{'s' if running != 1 else ''} "
            "pending or running): their points show the latest in-loop score."
        )
    return notes


def _some(ids: list[str], limit: int = 6) -> str:
    shown = ", ".join(ids[:limit])
    return shown if len(ids) <= limit else f"{shown} and {len(ids) - limit} more"


def active_text(trial: Trial) -> str:
    """The active units beside a score, so that a collapsed model shows as one."""
    if trial.active_units is None:
        return ""
    return f", {trial.active_units}/{trial.latent_size} active units"
