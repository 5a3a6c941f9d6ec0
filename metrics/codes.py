"""Turning flat positions into codes: the fast path every metric shares.

Every image a metric looks at belongs to the finite data set, so a metric never needs to
encode an image twice. `grouped_features` takes the positions a metric drew, groups of G
per point, and a reduction of each group's codes (e.g. mean |z1 − z2| over a pair batch):

- encoding="unique" (the fast path): encode each distinct drawn image once, keep its code
  in a table on the simulator's device, then index the table group by group. At the
  default Higgins protocol 1.92 M drawn images are about 0.68 M distinct ones.
- encoding="direct": render and encode each group afresh, point by point (a Higgins point
  is two calls of 64 on a CPU, as disentanglement_lib encodes each half of a pair batch).
  Kept as the straightforward path to measure against; it gives the same features.

A representation may also provide codes by flat position without images: any `encode`
with a method `encode_index(flat) -> (n, d)` is called that way (the ground-truth
baseline maps a position to its factor classes; `CodeTable` serves precomputed codes).
Such codes are already a lookup, so they are read group by group and never tabulated.

Codes are checked once per table or per feature tensor, not per batch: on a GPU a
finiteness check is a device-to-host sync.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch

from metrics import checks

ENCODINGS = ("unique", "direct")
# A code table above this size (e.g. 4096-d raw pixels for 0.68 M images = 11 GB) is not
# built; the groups are then encoded chunk by chunk instead.
TABLE_BYTES_LIMIT = 2 << 30
# Images per encoder call: small on a CPU to stay in cache, large on a GPU to fill it.
# Measured on 2 CPU cores: the conv β-VAE encodes 6-7k images/s in calls of 64 but only
# 2.1-2.8k/s in calls of 128 to 1024 (its first activation outgrows the cache); the mlp
# prefers large calls (4k/s at 64, 9k/s at 1024). 64 favours the default architecture.
DEFAULT_ENCODE_BATCH = {"cpu": 64, "cuda": 16384}
# Groups gathered and reduced at a time: bounds the (P, G, d) temporary.
GROUP_ELEMENTS = 1 << 24

Encode = Callable[[torch.Tensor], torch.Tensor]
Reduce = Callable[[torch.Tensor], torch.Tensor]
# progress(encoded, total): images encoded so far of those this call encodes, called once
# with 0 before the first batch and after every batch; for a caller's progress bar. The
# metric's result does not depend on it.
Progress = Callable[[int, int], None]


@runtime_checkable
class IndexedRepresentation(Protocol):
    """An encode function that can also give codes by flat position, without images."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...

    def encode_index(self, flat: torch.Tensor) -> torch.Tensor: ...


def encode_batch_size(sim, batch_size: int | None) -> int:
    if batch_size is None:
        return DEFAULT_ENCODE_BATCH.get(sim.device.type, 4096)
    return checks.positive_int("encode_batch_size", batch_size)


def _checked(codes: object, n: int, device: torch.device) -> torch.Tensor:
    """Shape and type of one encoder output (free: no values are read)."""
    if not isinstance(codes, torch.Tensor):
        raise TypeError(f"encode must return a torch.Tensor of codes; got {type(codes).__name__}")
    if codes.ndim != 2 or codes.shape[0] != n:
        raise ValueError(
            f"encode must return codes of shape (n, d) with one row per image: for n={n} "
            f"images it returned shape {tuple(codes.shape)}"
        )
    if codes.shape[1] < 1:
        raise ValueError("encode returned codes with 0 dimensions; d must be ≥ 1")
    if codes.dtype.is_complex:
        raise TypeError(f"encode must return real codes; got {codes.dtype}")
    return codes.to(device=device, dtype=torch.float32)


def check_finite(values: torch.Tensor, what: str = "codes") -> torch.Tensor:
    if not bool(torch.isfinite(values).all()):
        raise ValueError(f"encode returned NaN or infinite values (seen in the {what})")
    return values


def _counter(progress: Progress | None, total: int) -> Callable[[int], None] | None:
    """advance(n): n more images encoded; reports (done, total) to `progress`."""
    if progress is None:
        return None
    done = 0
    progress(0, total)

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    return advance


@torch.no_grad()
def encode_positions(
    sim,
    encode: Encode,
    flat: torch.Tensor,
    batch_size: int,
    advance: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Codes (n, d) of the images at flat positions, encoded in batches (not deduplicated).
    advance(n), if given, is told of every batch of n images encoded."""
    indexed = isinstance(encode, IndexedRepresentation)
    parts, width = [], None
    for chunk in flat.split(batch_size):
        raw = encode.encode_index(chunk) if indexed else encode(sim.render_index(chunk))
        codes = _checked(raw, chunk.shape[0], sim.device)
        if width is not None and codes.shape[1] != width:
            raise ValueError(
                f"encode returned {codes.shape[1]} dimensions after returning {width}; "
                "the code size must not change between batches"
            )
        width = codes.shape[1]
        parts.append(codes)
        if advance is not None:
            advance(chunk.shape[0])
    if not parts:
        raise ValueError("no images to encode")
    return torch.cat(parts)


def _reduce_in_chunks(groups: int, width: int, size: int, gather_reduce) -> torch.Tensor:
    per_chunk = max(1, GROUP_ELEMENTS // max(1, size * width))
    parts = [
        gather_reduce(start, min(start + per_chunk, groups))
        for start in range(0, groups, per_chunk)
    ]
    return torch.cat(parts)


@torch.no_grad()
def grouped_features(
    sim,
    encode: Encode,
    flat: torch.Tensor,
    reduce: Reduce,
    *,
    encoding: str = "unique",
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> torch.Tensor:
    """reduce(codes of each group): flat (N, G) positions -> features (N, e), checked finite.

    `reduce` maps codes (P, G, d) to (P, e) for any number P of groups. progress: see
    Progress (the total is the distinct images on the fast path, else every position).
    """
    checks.choice("encoding", encoding, ENCODINGS)
    batch = encode_batch_size(sim, batch_size)
    groups, size = flat.shape
    if encoding == "direct":
        advance = _counter(progress, flat.numel())
        features = torch.cat(
            [
                reduce(encode_positions(sim, encode, row, batch, advance).unsqueeze(0))
                for row in flat
            ]
        )
        return check_finite(features, "features")

    if isinstance(encode, IndexedRepresentation):
        advance = _counter(progress, flat.numel())
        return check_finite(_by_chunks(sim, encode, flat, reduce, batch, advance), "features")

    distinct, inverse = torch.unique(flat, return_inverse=True)
    probe = encode_positions(sim, encode, distinct[:batch], batch)
    if distinct.numel() * probe.shape[1] * 4 > TABLE_BYTES_LIMIT:
        advance = _counter(progress, flat.numel())
        return check_finite(_by_chunks(sim, encode, flat, reduce, batch, advance), "features")
    advance = _counter(progress, distinct.numel())
    if advance is not None:
        advance(probe.shape[0])
    rest = distinct[batch:]
    table = (
        torch.cat([probe, encode_positions(sim, encode, rest, batch, advance)])
        if rest.numel()
        else probe
    )
    check_finite(table)

    def gather_reduce(start: int, stop: int) -> torch.Tensor:
        rows = table.index_select(0, inverse[start:stop].reshape(-1))
        return reduce(rows.view(stop - start, size, -1))

    # Finite codes can still overflow in a reduction (e.g. 1e38 − (−1e38)): check the result.
    return check_finite(_reduce_in_chunks(groups, table.shape[1], size, gather_reduce), "features")


def _by_chunks(
    sim,
    encode: Encode,
    flat: torch.Tensor,
    reduce: Reduce,
    batch: int,
    advance: Callable[[int], None] | None = None,
):
    """Encode the groups a chunk at a time: for lookups, and codes too large to tabulate."""
    groups, size = flat.shape
    width = encode_positions(sim, encode, flat[0, :1], batch).shape[1]

    def gather_reduce(start: int, stop: int) -> torch.Tensor:
        block = flat[start:stop]
        codes = encode_positions(sim, encode, block.reshape(-1), batch, advance)
        return reduce(codes.view(stop - start, size, -1))

    return _reduce_in_chunks(groups, width, size, gather_reduce)


@torch.no_grad()
def sample_codes(
    sim, encode: Encode, flat: torch.Tensor, *, encoding: str = "unique", batch_size=None
) -> torch.Tensor:
    """Codes (n, d) of single images (MIG, DCI, variance estimates), checked finite."""
    checks.choice("encoding", encoding, ENCODINGS)
    batch = encode_batch_size(sim, batch_size)
    if encoding == "direct" or isinstance(encode, IndexedRepresentation):
        return check_finite(encode_positions(sim, encode, flat, batch))
    distinct, inverse = torch.unique(flat, return_inverse=True)
    return check_finite(encode_positions(sim, encode, distinct, batch))[inverse]


class CodeTable:
    """Codes of every image of a data set, computed once: many metrics, one encoder pass.

    It is itself an encode function: metrics index it by flat position, and images (which
    the metrics never pass once they know of encode_index) go to the original encoder.
    """

    def __init__(self, codes: torch.Tensor, encode: Encode | None = None):
        if codes.ndim != 2:
            raise ValueError(f"codes must be (n, d); got shape {tuple(codes.shape)}")
        self.codes = codes
        self._encode = encode

    @classmethod
    def build(cls, sim, encode: Encode, *, batch_size: int | None = None) -> CodeTable:
        flat = torch.arange(len(sim), device=sim.device)
        codes = encode_positions(sim, encode, flat, encode_batch_size(sim, batch_size))
        return cls(check_finite(codes), encode)

    def encode_index(self, flat: torch.Tensor) -> torch.Tensor:
        return self.codes.index_select(0, flat)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if self._encode is None:
            raise TypeError("this CodeTable has no encoder for images; index it by position")
        return self._encode(images)
