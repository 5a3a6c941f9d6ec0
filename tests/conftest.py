"""Session-wide test settings: nothing a test does touches the user's real caches; Ray for
the tests that need a cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import pytest


@contextlib.contextmanager
def _environment(name: str, value: str):
    """Set an environment variable for the duration of a fixture, then restore it."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield value
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@pytest.fixture(autouse=True, scope="session")
def _private_render_cache():
    """The rendered-set cache goes to a temporary directory, not ~/.cache/betasweep."""
    with (
        tempfile.TemporaryDirectory(prefix="betasweep-cache-") as directory,
        _environment("BETASWEEP_CACHE_DIR", directory),
    ):
        yield directory


@pytest.fixture(scope="session")
def ray_tmpdir():
    """A short RAY_TMPDIR for Ray started by tests: Ray's socket paths have a length limit,
    and a private directory keeps test sessions apart from each other and from users'."""
    directory = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    with _environment("RAY_TMPDIR", directory):
        yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_local(ray_tmpdir):
    """A local Ray of 2 CPUs shared by the tests of one module, shut down after them."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def sim():
    """The procedural simulator, one per test module."""
    from simulators import DSprites

    return DSprites()


@pytest.fixture(scope="module")
def images(sim):
    """64 seeded dSprites images."""
    return sim.render_index(sim.sample_index(64, sim.generator(11)))


@pytest.fixture
def started(monkeypatch):
    """The SweepSpecs `sweep run` would start, with Ray and the summary stubbed out."""
    import sweep.tune.run

    specs: list = []
    monkeypatch.setattr(sweep.tune.run, "start", specs.append)
    monkeypatch.setattr("sweep.cli.sweeps._finish", lambda summary, root: None)
    return specs


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread: on a CPU shared with other jobs, two OpenMP threads per process
    ran a conv step 17× slower than one (docs/benchmarks.md); results do not change.
    Module-scoped, so a module's own module-scoped training fixtures run under it too."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def no_scoring(monkeypatch):
    """Score stand-in: a function of the model's weights, so equal models score equally."""
    from trainables import scoring

    def stand_in(sim, model, protocol, seed, progress=None):
        total = sum(float(p.detach().double().sum()) for p in model.parameters())
        return {"score": total, "score_train": total, "score_protocol": f"stand-in {protocol}"}

    monkeypatch.setattr(scoring, "score", stand_in)
