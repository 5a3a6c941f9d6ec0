"""Session-wide test settings: nothing a test does touches the user's real caches; Ray for
the tests that need a cluster."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_render_cache():
    """The rendered-set cache goes to a temporary directory, not ~/.cache/betasweep."""
    with tempfile.TemporaryDirectory(prefix="betasweep-cache-") as directory:
        previous = os.environ.get("BETASWEEP_CACHE_DIR")
        os.environ["BETASWEEP_CACHE_DIR"] = directory
        yield directory
        if previous is None:
            os.environ.pop("BETASWEEP_CACHE_DIR", None)
        else:
            os.environ["BETASWEEP_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def ray_tmpdir():
    """A short RAY_TMPDIR for Ray started by tests: Ray's socket paths have a length limit,
    and a private directory keeps test sessions apart from each other and from users'."""
    directory = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    previous = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = directory
    yield directory
    if previous is None:
        os.environ.pop("RAY_TMPDIR", None)
    else:
        os.environ["RAY_TMPDIR"] = previous
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_local(ray_tmpdir):
    """A local Ray of 2 CPUs shared by the tests of one module, shut down after them."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()
