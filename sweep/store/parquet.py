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
from sweep.store.schema import SchemaError, check_schema


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
    """Read one of our files of `kind` ("results", "trials", "baselines"), schema checked."""
    path = Path(path)
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise SchemaError(f"{path}: not a readable Parquet file ({error})") from None
    check_schema(schema, kind, str(path))
    return pq.read_table(path)


def read_dataset(directory: str | Path, kind: str = "results") -> pa.Table:
    """Every row of a results dataset once, schema checked: the live parts only (hidden
    temporaries and parts a compact file supersedes are skipped; sweep.store.compaction)."""
    from sweep.store.compaction import read_live

    table = read_live(str(directory), kind=kind)
    if table is None:
        raise SchemaError(f"{directory}: no Parquet parts")
    return table
