"""`sweep compact NAME`: merge a sweep's result parts into a few large files.

The driver already compacts each trial when it ends and the whole sweep when it ends;
this command does the sweep-wide step for a sweep whose driver was killed (it also
finishes a compaction the kill interrupted) or to re-pack at another --target-mb.
Safe while the sweep runs on local storage (one compaction at a time, see
sweep.store.compaction); on an object store run it only when no driver runs.
"""

from __future__ import annotations

import typer

from sweep.errors import fail
from sweep.store import compaction, storage
from sweep.store.schema import SchemaError


def compact_command(
    name: str = typer.Argument(..., help="The sweep whose result parts to compact."),
    storage_root: str = typer.Option(
        storage.DEFAULT_STORAGE,
        "--storage",
        help="Local directory or s3://bucket/prefix, gs://… holding the sweeps.",
    ),
    target_mb: float = typer.Option(
        compaction.TARGET_BYTES / 2**20,
        "--target-mb",
        help="Size of the compacted files; whole trials are never split across files.",
    ),
) -> None:
    """Compact a sweep's result parts (atomic: no row lost or seen twice, even if killed)."""
    if not target_mb > 0:
        fail(f"--target-mb {target_mb:g}: expected a positive size")
    root = storage.normalize(storage_root)
    sweep_dir = storage.join(root, name)
    if not storage.is_file(storage.join(sweep_dir, storage.SPEC_FILE)):
        fail(f"no sweep named {name!r} under {root} (`sweep ls --storage {root}` lists them)")
    results = storage.join(sweep_dir, storage.RESULTS_DIR)
    try:
        report = compaction.compact(results, target_bytes=int(target_mb * 2**20))
    except SchemaError as error:
        fail(str(error))
    typer.echo(
        f"sweep {name}: {report.rows} result rows in {report.parts_after} file"
        f"{'' if report.parts_after == 1 else 's'} (were {report.parts_before})"
    )
