"""Checkpoint retention: which trial checkpoints to keep, and deleting the rest safely.

`--keep-checkpoints`:
    all   every checkpoint (the disk use grows with the steps)
    best  the latest (which is the final one once a trial ends) and the best-scoring one
    last  the latest only (resume works; no best-score checkpoint for traversals)

The race, and why Tune's own CheckpointConfig(num_to_keep=…) is not used: Tune deletes a
surplus checkpoint the moment a newer one is registered, but it writes its experiment
state (what `sweep resume` restores trials from) only every TUNE_GLOBAL_CHECKPOINT_S
(≥ 10 s, longer for large sweeps). A driver killed in between leaves a saved state whose
"latest checkpoint" of a trial is already deleted, and that trial cannot be restored.
With a checkpoint_score_attribute the window is not milliseconds but up to num_to_keep
checkpoint periods: the previous latest is deleted as soon as it is neither latest nor
among the best, though the saved state still names it.

What is done instead (Tune keeps every checkpoint, num_to_keep=None; this module deletes):
  1. on each checkpoint the trial's records gain it, with the score reported with it;
  2. after Tune registered it (the callback's on_step_end), the surplus ones (the
     --keep-checkpoints policy) are removed from the trial's checkpoint bookkeeping in
     Tune, so the *next* experiment state Tune saves no longer refers to them;
  3. a surplus checkpoint's directory is deleted only once the experiment state saved at
     the storage (the newest experiment_state-*.json: the file a resume reads) does not
     mention it. Until then it stays, so whatever moment the driver dies at, the state a
     resume reads names only checkpoints still on disk.
Per trial that is at most 2 checkpoints at rest with `best` (1 with `last`), plus the
previous latest for up to one state-save interval: ≤ 3.

Ray Tune internals used in step 2 (trial.run_metadata.checkpoint_manager and its
_checkpoint_results list) are read defensively: if a Ray version lacks them nothing is
pruned, the saved state keeps mentioning every checkpoint, and nothing is deleted (the
safe side). Mentions are found in the state's text both plainly and hex-encoded
(Tune stores the checkpoint objects cloudpickled and hex-encoded); a false match only
keeps a checkpoint longer.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from sweep.spec import DEFAULT_KEEP_CHECKPOINTS as DEFAULT_KEEP
from sweep.store import storage

_CHECK_EVERY_S = 5.0  # how often the saved experiment state is read while deletions wait
_INDEX = re.compile(r"checkpoint_(\d+)$")


@dataclass
class Saved:
    """One checkpoint of one trial, in the order the trial wrote them."""

    path: str  # on `filesystem` (Tune's checkpoint.path)
    filesystem: Any  # pyarrow filesystem
    score: float | None  # the disentanglement score reported with it, None if not scored


def keep(checkpoints: list[Saved], mode: str) -> list[Saved]:
    """The checkpoints `mode` keeps; `checkpoints` in the order written, latest last."""
    if not checkpoints or mode == "all":
        return list(checkpoints)
    latest = checkpoints[-1]
    if mode == "last":
        return [latest]
    scored = [c for c in checkpoints if c.score is not None and math.isfinite(c.score)]
    # The best score, the latest of equal ones (the longest-trained model of that score).
    best = max(reversed(scored), key=lambda c: c.score, default=None)
    return [c for c in checkpoints if c is best or c is latest]


def _index(path: str) -> int | None:
    match = _INDEX.search(path)
    return int(match.group(1)) if match else None


def mentioned(path: str, state_text: str) -> bool:
    return path in state_text or path.encode().hex() in state_text


@dataclass
class Retention:
    """The driver's view of every trial's checkpoints; see the module docstring."""

    tune_dir: str  # the sweep's Tune directory at the storage
    mode: str = DEFAULT_KEEP
    _saved: dict[str, list[Saved]] = field(default_factory=dict)
    _unregistered: set[str] = field(default_factory=set)  # trials with news for step 2
    _pending: list[Saved] = field(default_factory=list)  # pruned, to delete (step 3)
    _seen_trials: set[str] = field(default_factory=set)
    _last_check: float = 0.0
    _state_version: tuple | None = None  # (file, mtime, size) of the state last read
    deleted: int = 0

    def on_checkpoint(self, trial: Any, checkpoint: Any, score: float | None) -> None:
        self._adopt(trial)
        self._saved.setdefault(trial.trial_id, []).append(
            Saved(checkpoint.path, checkpoint.filesystem, score)
        )
        self._unregistered.add(trial.trial_id)

    def kept(self, trial_id: str) -> list[str]:
        return [c.path for c in self._saved.get(trial_id, [])]

    def pending(self) -> list[str]:
        return [c.path for c in self._pending]

    def after_step(self, trials: list[Any], force_check: bool = False) -> None:
        """Steps 2 and 3; called after Tune registered the step's checkpoints."""
        if self.mode != "all":
            for trial in trials:
                self._adopt(trial)
            by_id = {t.trial_id: t for t in trials}
            for trial_id in sorted(self._unregistered):
                if trial_id in by_id:
                    self._prune(by_id[trial_id])
        self._unregistered.clear()
        due = time.monotonic() - self._last_check >= _CHECK_EVERY_S
        if self._pending and (due or force_check):
            self._delete_unmentioned()

    # -- internals ----------------------------------------------------------------------

    def _prune(self, trial: Any) -> None:
        saved = self._saved.get(trial.trial_id, [])
        kept = keep(saved, self.mode)
        surplus = [c for c in saved if c not in kept]
        if not surplus:
            return
        manager = getattr(getattr(trial, "run_metadata", None), "checkpoint_manager", None)
        results = getattr(manager, "_checkpoint_results", None)
        if not isinstance(results, list):
            return  # another Ray: its saved state keeps naming them, so none is deleted
        gone = {c.path for c in surplus}
        results[:] = [r for r in results if getattr(r.checkpoint, "path", None) not in gone]
        for invalidate in ("invalidate_json_state",):
            getattr(trial, invalidate, lambda: None)()
        getattr(trial.run_metadata, "invalidate_cache", lambda: None)()
        self._saved[trial.trial_id] = kept
        self._pending.extend(surplus)

    def _adopt(self, trial: Any) -> None:
        """A trial this driver did not see checkpoint (a resumed sweep): its records are
        Tune's restored list, and checkpoint directories Tune no longer lists (a killed
        driver's pending deletions) are pending again."""
        if trial.trial_id in self._seen_trials:
            return
        self._seen_trials.add(trial.trial_id)
        manager = getattr(getattr(trial, "run_metadata", None), "checkpoint_manager", None)
        results = getattr(manager, "_checkpoint_results", None)
        if not isinstance(results, list) or not results:
            return
        restored = []
        for result in results:
            checkpoint = result.checkpoint
            score = (result.metrics or {}).get("score")
            restored.append(Saved(checkpoint.path, checkpoint.filesystem, score))
        self._saved[trial.trial_id] = restored + self._saved.get(trial.trial_id, [])
        self._unregistered.add(trial.trial_id)  # its restored list may hold surplus ones
        if self.mode == "all":
            return
        listed = {c.path for c in restored}
        filesystem, trial_dir = restored[-1].filesystem, restored[-1].path.rsplit("/", 1)[0]
        try:
            import pyarrow.fs as pafs

            infos = filesystem.get_file_info(pafs.FileSelector(trial_dir))
        except OSError:
            return
        latest = _index(restored[-1].path)
        for info in infos:
            index = _index(info.path)
            # Only older than the restored latest: a newer directory may be one the trial
            # is writing right now, or one it will write again under the same name.
            if index is None or latest is None or index >= latest or info.path in listed:
                continue
            if info.type == pafs.FileType.Directory:
                self._pending.append(Saved(info.path, filesystem, None))

    def _saved_state(self) -> str | None:
        """The newest saved experiment state's text; None if none, or unchanged since the
        last look (it can be tens of MB at 10,000 trials: read it once per save)."""
        states = storage.list_files(self.tune_dir, ".json")
        names = [s for s in states if s.rsplit("/", 1)[-1].startswith("experiment_state-")]
        if not names:
            return None
        try:
            filesystem, path = storage.filesystem(max(names))
            info = filesystem.get_file_info(path)
            version = (max(names), info.mtime_ns, info.size)
            if version == self._state_version:
                return None
            text = storage.read_bytes(max(names)).decode()
        except OSError:
            return None
        self._state_version = version
        return text

    def _delete_unmentioned(self) -> None:
        self._last_check = time.monotonic()
        text = self._saved_state()
        if text is None:
            return
        waiting = []
        for checkpoint in self._pending:
            if mentioned(checkpoint.path, text):
                waiting.append(checkpoint)
                continue
            try:
                checkpoint.filesystem.delete_dir(checkpoint.path)
            except FileNotFoundError:
                pass
            except OSError:
                waiting.append(checkpoint)  # try again at the next check
                continue
            self.deleted += 1
        self._pending = waiting
