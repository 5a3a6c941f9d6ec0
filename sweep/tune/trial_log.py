"""A trial's own log of its scores in progress: `tune/<trial_id>/trial.log` in the sweep.

A score under the paper's protocol encodes ~0.7 M images, minutes on a CPU, during which
a trial reports nothing to Tune. The trial writes here how far it is and how long is left
(no more than a line every `every` seconds). Pure Python: the trainable
(sweep.tune.trainable) opens it in the trial's working directory, which Tune copies into
the sweep's storage with the trial's other artifacts at the trial's next checkpoint and
at its end. So that a long score also shows on the sweep's console while it runs, a score
still running after `echo_after` seconds echoes its lines there too (a trial's stdout
reaches the driver's console): short scores, e.g. the CPU's tiny ones, stay quiet.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

TRIAL_LOG = "trial.log"


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s"


class ScoreLog:
    """score_progress(protocol, encoded, total) for trainables.train: appends progress
    lines to `path` (a line at the start, at most one per `every` seconds, one at the end)."""

    def __init__(
        self,
        path: Path,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        echo: Callable[[str], None] | None = None,
        echo_after: float = 30.0,
    ):
        self.path = path
        self.every = every
        self.clock = clock
        self.echo = echo
        self.echo_after = echo_after
        self._started = self._last = 0.0
        self._echoed = False

    def write(self, text: str) -> None:
        stamp = dt.datetime.now().isoformat(sep=" ", timespec="seconds")
        with open(self.path, "a", encoding="utf-8") as log:  # closed at once: a crash keeps it
            log.write(f"{stamp} {text}\n")
        elapsed = self.clock() - self._started
        if self.echo is not None and (self._echoed or elapsed >= self.echo_after):
            self.echo(text)
            self._echoed = True

    def __call__(self, protocol: str, encoded: int, total: int) -> None:
        now = self.clock()
        if encoded == 0:
            self._started = self._last = now
            self._echoed = False
            self.write(f"score {protocol}: encoding {total:,} images")
            return
        elapsed = now - self._started
        if encoded >= total:
            self.write(
                f"score {protocol}: {total:,} images encoded in {duration(elapsed)}; "
                "fitting the classifier"
            )
        elif now - self._last >= self.every:
            left = elapsed / encoded * (total - encoded)
            self.write(
                f"score {protocol}: {encoded:,}/{total:,} images encoded "
                f"({100 * encoded / total:.0f}%), about {duration(left)} left"
            )
        else:
            return
        self._last = now
