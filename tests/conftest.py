"""Session-wide test settings: nothing a test does touches the user's real caches."""

from __future__ import annotations

import os
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
