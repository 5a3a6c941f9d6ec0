"""Writing and reading the Parquet trial reports against sweep.store.schema.

Every write goes to a temporary file that is renamed into place, so readers (pandas,
pyarrow.dataset, duckdb, `sweep report`) never see a partial file, even mid-sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from simulators.atomic import atomic_path
from sweep.store import storage
from sweep.store.schema import SchemaError


def rows_to_table(rows: Iterable[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """A table of `schema` from dict rows; missing columns are null, unknown keys an error."""
    rows = list(rows)
    names = set(schema.names)
    for row in rows:
        unknown = set(row) - names
        if unknown:
            raise ValueError(f"columns not in the schema: {', '.join(sorted(unknown))}")
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def write_table(table: pa.Table, path: str | Path) -> Path:
    """Write `table` (schema metadata included) to `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_table(path: str | Path, kind: str) -> pa.Table:
    """Read one of our files of `kind` ("results", "trials", "baselines"), schema checked.

    One open file serves the schema check and the read: the driver replaces trials.parquet
    by a rename while readers run, and a read that re-opened the path by name could mix
    the old file's size with the new file's bytes (a corrupt-page error)."""
    return storage.read_parquet(str(path), kind)


def read_dataset(directory: str | Path, kind: str = "results") -> pa.Table:
    """Every row of a results dataset once, schema checked: the live parts only (hidden
    temporaries and parts a compact file supersedes are skipped; sweep.store.compaction)."""
    from sweep.store.compaction import read_live

    table = read_live(str(directory), kind=kind)
    if table is None:
        raise SchemaError(f"{directory}: no Parquet parts")
    return table
