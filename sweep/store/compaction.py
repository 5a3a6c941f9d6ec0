"""Compacting a sweep's result parts, and reading the live ones, with no row lost or seen twice.

While a trial runs the writer appends small parts (results/part-NNNNNN.parquet, each
holding the rows of one trial). Compaction merges parts into one file,
results/compact-<digest>.parquet, in two steps (there is no manifest to update):

  1. write the merged rows to a hidden temporary and rename it into place (atomic; on an
     object store the upload publishes it whole); its Parquet footer names every part it
     replaces (SUPERSEDES_KEY) and the highest part number ever used (HIGH_WATER_KEY);
  2. delete the replaced parts.

On local storage one compaction runs at a time (results/.compaction.lock, flock): the
driver's per-trial compactions and `sweep compact` never merge the same part twice.

A driver killed during step 1 leaves a hidden temporary (deleted by the next writer) and
every source intact; killed during step 2 it leaves a compacted file beside some of the
parts it replaces. The rule that makes every moment consistent: **a part named in the
footer of a present compact file is superseded; readers skip it** (live_parts), and the
next compaction deletes it first (finish_pending). Rows are therefore never lost (the
sources go only once the compacted file is in place) and never counted twice (the
compacted file and its sources are never both live). A compaction keeps the first row
of a repeated (trial_id, step) key (dedupe): the writer never writes one, but two
compactions racing on an object store (where there is no lock) could leave the same
rows in two compact files, and the next compaction merges them back to one.

Part numbers are never reused: a writer numbers its next part above every present part
and every compact file's high-water mark, so a new part cannot take the name of a
superseded one that a footer still lists.

Readers that glob the directory themselves (duckdb read_parquet('results/*.parquet'),
pandas) see one row twice only inside step 2's window (milliseconds, or until the next
compaction if the driver was killed there); `sweep compact NAME` closes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sweep.store import storage
from sweep.store.schema import SchemaError, check_schema

SUPERSEDES_KEY = b"betasweep.supersedes"
HIGH_WATER_KEY = b"betasweep.part_high_water"
COMPACT_PREFIX = "compact-"
# Sweep-wide compaction packs whole trials into files of about this many bytes on disk:
# large enough that a million rows (~60 MB here) are one or two files, small enough that
# merging one file holds a few hundred MB in memory at most.
TARGET_BYTES = 64 * 2**20
_PART = re.compile(r"^part-(\d+)\.parquet$")
_LOCK = ".compaction.lock"


def name_of(location: str) -> str:
    return location.rsplit("/", 1)[-1]


def part_number(name: str) -> int | None:
    match = _PART.match(name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Listing:
    """The results directory at one moment: live parts, superseded parts, high-water mark,
    and the row count of every file whose footer was read."""

    live: list[str]
    superseded: list[str]
    high_water: int
    rows: dict[str, int]


@dataclass(frozen=True)
class _Footer:
    supersedes: list[str]
    high_water: int
    rows: int


def _footer(location: str) -> _Footer:
    """One file's footer: what it supersedes, its high-water mark, its rows (schema checked)."""
    fs, path = storage.filesystem(location)
    try:
        with fs.open_input_file(path) as handle:
            metadata = pq.read_metadata(handle)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowInvalid) as error:
        raise SchemaError(f"{location}: not a readable Parquet file ({error})") from None
    schema = metadata.schema.to_arrow_schema()
    check_schema(schema, "results", location)
    keys = schema.metadata or {}
    names = json.loads(keys.get(SUPERSEDES_KEY, b"[]"))
    return _Footer(names, int(keys.get(HIGH_WATER_KEY, b"0")), metadata.num_rows)


def list_parts(results_dir: str, count: bool = False) -> Listing:
    """Which parts are live now (see the module docstring); with `count`, every file's
    rows too. Footers are read by a few threads: on an object store each is a request."""
    for _ in range(5):  # a compact file deleted between listing and reading: list again
        files = storage.list_files(results_dir, ".parquet")
        numbers = [part_number(name_of(f)) for f in files]
        high_water = max((n for n in numbers if n is not None), default=0)
        wanted = [f for f in files if count or name_of(f).startswith(COMPACT_PREFIX)]
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                footers = dict(zip(wanted, pool.map(_footer, wanted), strict=True))
        except FileNotFoundError:
            continue
        superseded: set[str] = set()
        for footer in footers.values():
            superseded.update(footer.supersedes)
            high_water = max(high_water, footer.high_water)
        live = [f for f in files if name_of(f) not in superseded]
        dead = [f for f in files if name_of(f) in superseded]
        rows = {f: footer.rows for f, footer in footers.items()}
        return Listing(live, dead, high_water, rows)
    raise SchemaError(f"{results_dir}: parts keep disappearing while read; is a compaction racing?")


def live_parts(results_dir: str) -> list[str]:
    return list_parts(results_dir).live


def dedupe(table: pa.Table) -> pa.Table:
    """`table` with only the first row of each (trial_id, step), in the original order."""
    if table.num_rows == 0:
        return table
    keys = table.select(["trial_id", "step"]).append_column(
        "_row", pa.array(range(table.num_rows), pa.int64())
    )
    first = keys.group_by(["trial_id", "step"], use_threads=False).aggregate([("_row", "min")])
    if first.num_rows == table.num_rows:
        return table
    rows = first["_row_min"]
    return table.take(pc.take(rows, pc.sort_indices(rows)))  # the kept rows, in file order


def read_live(
    results_dir: str, columns: list[str] | None = None, kind: str = "results"
) -> pa.Table | None:
    """The live parts' rows, every row once; None when there are no parts.

    A part deleted by a compaction between listing and reading means the compacted file
    is in place: read the directory again (the new listing holds every row once)."""
    for _ in range(5):
        parts = live_parts(results_dir)
        if not parts:
            return None
        try:
            tables = [storage.read_parquet(p, kind, columns=columns) for p in parts]
        except SchemaError as error:
            if any(not storage.exists(p) for p in parts):
                continue
            raise error
        return pa.concat_tables(tables)
    raise SchemaError(f"{results_dir}: parts keep disappearing while read; is a compaction racing?")


def count_rows(results_dir: str) -> int:
    """Rows in the live parts, from their footers (one read per file)."""
    listing = list_parts(results_dir, count=True)
    return sum(listing.rows[p] for p in listing.live)


# -- compacting -------------------------------------------------------------------------


@contextlib.contextmanager
def compaction_lock(results_dir: str) -> Iterator[None]:
    """One compaction at a time per local sweep (the driver's and `sweep compact`'s).

    An object store has no lock; there readers' dedupe covers two racing compactions."""
    if storage.is_remote(results_dir):
        yield
        return
    Path(results_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(results_dir, _LOCK), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def finish_pending(results_dir: str) -> int:
    """Delete the parts a present compact file supersedes (left by a killed compaction)."""
    listing = list_parts(results_dir)
    # Plain parts first: a superseded compact file goes only after its own sources.
    order = sorted(listing.superseded, key=lambda loc: name_of(loc).startswith(COMPACT_PREFIX))
    for location in order:
        storage.delete(location)
    return len(order)


def merge(results_dir: str, inputs: list[str], high_water: int) -> str | None:
    """Replace the live parts `inputs` by one compact file; its location (None: nothing to do).

    The caller holds compaction_lock and ran finish_pending, so no input has a source
    still on disk (a compact input's own sources are gone)."""
    if len(inputs) < 2:
        return None
    # In the order written (compact files, older, before parts; parts by number), so that
    # dedupe keeps the row written first, as the writer does.
    inputs = sorted(inputs, key=name_of)
    names = [name_of(p) for p in inputs]
    table = dedupe(pa.concat_tables(storage.read_parquet(p, "results") for p in inputs))
    table = table.sort_by([("trial_id", "ascending"), ("step", "ascending")])
    digest = hashlib.sha1("\n".join(names).encode()).hexdigest()[:16]
    target = storage.join(results_dir, f"{COMPACT_PREFIX}{digest}.parquet")
    metadata = dict(table.schema.metadata or {})
    metadata[SUPERSEDES_KEY] = json.dumps(names).encode()
    metadata[HIGH_WATER_KEY] = str(high_water).encode()
    storage.write_parquet(table.replace_schema_metadata(metadata), target)
    for location in inputs:  # only now: the compacted file holds every row
        storage.delete(location)
    return target


def trial_of(location: str) -> tuple[str | None, int]:
    """(the one trial a part holds or None for several, its size in bytes), from the footer."""
    fs, path = storage.filesystem(location)
    size = fs.get_file_info(path).size or 0
    with fs.open_input_file(path) as handle:
        metadata = pq.read_metadata(handle)
    column = metadata.schema.to_arrow_schema().get_field_index("trial_id")
    values = set()
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max:
            return None, size
        values.update((stats.min, stats.max))
    return (values.pop() if len(values) == 1 else None), size


def compact_trial(results_dir: str, parts: list[str]) -> str | None:
    """Merge the parts of one finished trial (the writer knows which they are)."""
    with compaction_lock(results_dir):
        finish_pending(results_dir)
        listing = list_parts(results_dir)
        live = set(listing.live)
        inputs = [p for p in parts if p in live]
        return merge(results_dir, inputs, listing.high_water)


@dataclass(frozen=True)
class CompactionReport:
    parts_before: int
    parts_after: int
    rows: int


def compact(results_dir: str, target_bytes: int = TARGET_BYTES) -> CompactionReport:
    """Sweep-wide: pack every live part, whole trials together, into files of about
    `target_bytes` (one file per trial at most, usually many trials per file)."""
    if not storage.exists(results_dir):
        return CompactionReport(0, 0, 0)
    with compaction_lock(results_dir):
        finish_pending(results_dir)
        listing = list_parts(results_dir)
        before = len(listing.live)
        sized = []
        for location in listing.live:
            trial, size = trial_of(location)
            sized.append((trial or "", size, location))
        sized.sort(key=lambda t: (t[0], name_of(t[2])))  # by trial: a trial in one file
        groups: list[list[str]] = [[]]
        group_bytes, group_trial = 0, None
        for trial, size, location in sized:
            new_trial = trial != group_trial or not trial
            if groups[-1] and new_trial and group_bytes + size > target_bytes:
                groups.append([])
                group_bytes = 0
            groups[-1].append(location)
            group_bytes += size
            group_trial = trial
        for group in groups:
            merge(results_dir, group, listing.high_water)
        after = list_parts(results_dir, count=True)
        rows = sum(after.rows[p] for p in after.live)  # compact files hold no repeats
    return CompactionReport(before, len(after.live), rows)
