"""One user seed, independent random streams: weights, batches and noise never share one."""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for `purpose` ("init", "batches", ...) derived from the trial's seed."""
    digest = hashlib.sha256(f"betasweep:{seed}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
