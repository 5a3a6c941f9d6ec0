"""Where sweeps live: a local directory or an object-store URI (s3://, gs://).

Every sweep file goes through here, so the sweep writer, `sweep status` and `sweep ls`
work the same on a laptop and on a cluster with S3 storage. Local files are written
atomically by a rename (simulators.atomic); object stores publish an object only when
its upload completes, which gives readers the same all-or-nothing view.

Layout under <storage>/<name>/:
    sweep.json               the SweepSpec (written when the sweep starts)
    results/part-*.parquet   one row per reported result (sweep.store.schema.RESULTS_SCHEMA),
                             one trial per part, while trials run
    results/compact-*.parquet  the parts compacted (sweep.store.compaction)
    trials.parquet           one row per trial (sweep.store.schema.TRIALS_SCHEMA)
    tune/                    Ray Tune's experiment state and trial checkpoints
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from simulators.atomic import atomic_path
from sweep.errors import fail
from sweep.store.schema import SchemaError, check_schema

# Where `sweep run` puts sweeps and every other command looks for them by default.
DEFAULT_STORAGE = "./sweeps"
REMOTE_SCHEMES = ("s3://", "gs://")
SPEC_FILE = "sweep.json"
RESULTS_DIR = "results"
TRIALS_FILE = "trials.parquet"
TUNE_DIR = "tune"


def is_remote(location: str) -> bool:
    return location.startswith(REMOTE_SCHEMES)


def normalize(storage: str) -> str:
    """An absolute local path (Tune chdirs its workers) or the URI as given."""
    if "://" in storage and not is_remote(storage):
        scheme = storage.split("://", 1)[0]
        if scheme != "file":
            fail(f"--storage {storage}: expected a local path, s3://… or gs://…")
        storage = storage[len("file://") :]
    if is_remote(storage):
        return storage.rstrip("/")
    return str(Path(storage).expanduser().resolve())


def join(location: str, *parts: str) -> str:
    return (
        "/".join([location.rstrip("/"), *parts])
        if is_remote(location)
        else str(Path(location, *parts))
    )


def _fs(location: str) -> tuple[pafs.FileSystem, str]:
    if is_remote(location):
        try:
            return pafs.FileSystem.from_uri(location)
        except (pa.ArrowInvalid, OSError) as error:
            fail(f"{location}: cannot open the storage ({error})")
    return pafs.LocalFileSystem(), location


def exists(location: str) -> bool:
    fs, path = _fs(location)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def is_file(location: str) -> bool:
    fs, path = _fs(location)
    return fs.get_file_info(path).type == pafs.FileType.File


def list_dirs(location: str) -> list[str]:
    """Names of the directories directly under `location` (none if it does not exist)."""
    fs, path = _fs(location)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return []
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
    return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)


def list_files(location: str, suffix: str) -> list[str]:
    """Full locations of the visible files ending in `suffix` directly under `location`."""
    fs, path = _fs(location)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return []
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
    names = sorted(
        i.base_name
        for i in infos
        if i.type == pafs.FileType.File
        and i.base_name.endswith(suffix)
        and not i.base_name.startswith((".", "_"))
    )
    return [join(location, name) for name in names]


def check_writable(storage: str) -> None:
    """Fail early, with the clearest message, where a local `storage` is plainly no
    directory. Whether it can really be written is found out by creating the sweep
    directory and its lock file (sweep.store.claim), still before Ray starts."""
    if is_remote(storage):
        return
    path = Path(storage)
    if path.exists() and not path.is_dir():
        fail(f"--storage {storage} is a file, not a directory")
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        fail(f"--storage {storage}: no existing parent directory")
    if not existing.is_dir():
        fail(f"--storage {storage}: {existing} is a file, not a directory")


def write_bytes(location: str, data: bytes) -> None:
    if is_remote(location):
        fs, path = _fs(location)
        with fs.open_output_stream(path) as stream:
            stream.write(data)
        return
    target = Path(location)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def read_bytes(location: str) -> bytes:
    fs, path = _fs(location)
    with fs.open_input_stream(path) as stream:
        return stream.read()


def write_json(location: str, values: dict[str, Any]) -> None:
    write_bytes(location, (json.dumps(values, indent=2, sort_keys=True) + "\n").encode())


def read_json(location: str) -> dict[str, Any]:
    return json.loads(read_bytes(location))


def write_parquet(table: pa.Table, location: str) -> None:
    """Write `table` (schema metadata included) so readers never see a partial file."""
    if is_remote(location):
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        write_bytes(location, buffer.getvalue())
        return
    from sweep.store.parquet import write_table

    write_table(table, location)


def read_parquet(location: str, kind: str, columns: list[str] | None = None) -> pa.Table:
    """One of our Parquet files of `kind`, schema checked (SchemaError otherwise)."""
    fs, path = _fs(location)
    try:
        with fs.open_input_file(path) as handle:
            parquet = pq.ParquetFile(handle)
            check_schema(parquet.schema_arrow, kind, location)
            return parquet.read(columns=columns)
    except (OSError, pa.ArrowInvalid) as error:
        raise SchemaError(f"{location}: not a readable Parquet file ({error})") from None


# A temporary older than this is a killed writer's: writing one Parquet part or trials.parquet
# takes well under a second, so a younger one may be a live writer's file in progress.
STALE_TEMPORARY_S = 600.0


def remove_stale_temporaries(directory: str, older_than_s: float = STALE_TEMPORARY_S) -> int:
    """Delete hidden *.tmp files a killed writer left in a local `directory`; recent ones
    stay (another process, a `sweep report` say, may be writing them)."""
    if is_remote(directory) or not Path(directory).is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for path in Path(directory).glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem of `location` and the path on it."""
    return _fs(location)


def delete(location: str) -> None:
    """Delete one file; already gone is fine (a killed compaction is finished twice)."""
    fs, path = _fs(location)
    with contextlib.suppress(FileNotFoundError):
        fs.delete_file(path)
