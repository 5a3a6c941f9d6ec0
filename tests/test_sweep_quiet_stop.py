"""A trial's worker that Ray shuts down with SIGTERM prints no "Exception ignored …
SystemExit" traceback (issue 14.3): the SIGTERM Ray's raylet sends a trial's worker when
Tune removes its placement group raises SystemExit in whatever the main thread runs;
inside a finaliser that becomes such a traceback. Reproduced here with Ray's own handler."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_a_trial_worker_prints_no_systemexit_traceback_when_ray_stops_it(ray_local):
    # Defined in here so that Ray ships it to the worker by value (tests/ is no package).
    def _sigterm_inside_a_finaliser(quiet: bool) -> str:
        """In a Ray worker: SIGTERM arrives while a __del__ runs, and another finaliser fails
        with a real error; returns what the worker printed on stderr."""
        import contextlib
        import io
        import os
        import signal
        import time

        from sweep.tune.trainable import quiet_stopped_worker

        if quiet:
            quiet_stopped_worker()

        class StoppedWhileFinalising:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGTERM)  # Ray's handler raises SystemExit here
                time.sleep(1.0)

        class Broken:
            def __del__(self):
                raise ValueError("a real error in a finaliser")

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            stopped = StoppedWhileFinalising()
            del stopped
            broken = Broken()
            del broken
        return err.getvalue()

    @ray_local.remote(num_cpus=0, max_restarts=0)
    class Worker:
        def run(self, quiet: bool) -> str:
            return _sigterm_inside_a_finaliser(quiet)

    # Without the fix: Ray's SIGTERM handler inside a finaliser prints the traceback.
    loud = ray_local.get(Worker.remote().run.remote(False), timeout=120)
    assert "Exception ignored" in loud and "SystemExit" in loud
    quiet = ray_local.get(Worker.remote().run.remote(True), timeout=120)
    assert "SystemExit" not in quiet
    assert "ValueError: a real error in a finaliser" in quiet  # other reports still print


def test_the_trainable_installs_it_and_only_once():
    import inspect
    import sys

    from sweep.tune import trainable

    assert "quiet_stopped_worker()" in inspect.getsource(trainable.run_with_tune)
    before = sys.unraisablehook
    try:
        trainable.quiet_stopped_worker()
        first = sys.unraisablehook
        trainable.quiet_stopped_worker()
        assert sys.unraisablehook is first and first is not before
    finally:
        sys.unraisablehook = before
