"""Ray Tune's W&B logger, made to keep the run of a sweep's last trial.

Ray's WandbLoggerCallback logs each trial from its own process (an actor) and kills that
process as soon as wandb.finish() returns. W&B's service, a child of that process, had
not written the run by then: the run of the sweep's last trial, ended when the sweep
ends, was lost (offline: a run file of 7 bytes, the header alone). Here the logging
process first waits for W&B to finish writing (or uploading) with wandb.teardown().
"""

from __future__ import annotations

from ray.air.integrations.wandb import WandbLoggerCallback, _WandbLoggingActor


class FlushingWandbLoggingActor(_WandbLoggingActor):
    def run(self) -> None:
        super().run()
        self._wandb.teardown()


class FlushingWandbLoggerCallback(WandbLoggerCallback):
    _logger_actor_cls = FlushingWandbLoggingActor
