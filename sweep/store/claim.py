"""One driver per sweep: the claim `sweep run` and `sweep resume` take before Ray starts.

Two drivers writing one sweep overwrite each other's Parquet parts and trials.parquet and
lose rows, so a driver claims the sweep directory first and holds the claim until it ends:

- A new sweep's directory is built under a hidden name with the lock file already inside
  and renamed into place. The rename is atomic and fails when the name is taken, so of two
  drivers starting one name exactly one gets it. Creating the directory and the lock file
  is also the storage check: what cannot be written fails here, before Ray, not later.
- An existing sweep (resume) is claimed by creating its lock file exclusively (O_EXCL),
  under a short flock of the directory so that two drivers breaking one stale lock at
  once cannot both win.
- The lock file names the driver: host, pid, the process's start time (a recycled pid
  is not the driver) and the command. A lock whose process is gone on this host is stale
  and is replaced. A lock from another host cannot be checked from here: it is taken as
  live, and the error says which file to delete if that driver is gone.
- The claim is released when the driver ends (the lock file removed; a new sweep that
  never got further than its claim is removed with any parent directory it created).

Object stores (s3://, gs://) cannot create exclusively through pyarrow's filesystems
(no conditional write; apache/arrow#44281), so there the lock object is checked, written
and read back: this refuses a second driver started while the first runs, but two
drivers started within the same second may both pass (README, "Storage").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shlex
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sweep.errors import fail
from sweep.store import storage

LOCK_FILE = ".driver.lock"
REMOTE_SETTLE_S = 1.0  # between writing a remote lock and reading it back


class SweepExists(Exception):
    """A new sweep's name is taken."""


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name may hold spaces


def _me() -> dict[str, Any]:
    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "pid_started": _start_time(pid),
        "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["sweep", *sys.argv[1:]]),
        "token": uuid.uuid4().hex,
    }


def _is_alive(holder: dict[str, Any]) -> bool | None:
    """Whether the lock's driver still runs: None when it ran on another host."""
    if holder.get("host") != socket.gethostname():
        return None
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    recorded = holder.get("pid_started")
    return recorded is None or recorded == _start_time(pid)


def _refuse(name: str, lock: str, holder: dict[str, Any], alive: bool | None) -> None:
    who = f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}"
    if alive is None:
        fail(
            f"sweep {name!r} is claimed by a driver on another host ({who}; "
            f"`{holder.get('command')}`); if it no longer runs, delete {lock} and try again"
        )
    fail(
        f"sweep {name!r} is being run by another driver ({who}; `{holder.get('command')}`); "
        "wait for it to end, or stop it first"
    )


def _read_holder(lock: str) -> dict[str, Any] | None:
    """The lock's content; None if it vanished. An unreadable lock counts as stale: a
    driver writes it whole before anything else, so a partial one means it died there."""
    try:
        values = json.loads(storage.read_bytes(lock))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


class SweepClaim:
    """The running driver's hold on `<root>/<name>`; release() gives it up."""

    def __init__(self, root: str, name: str):
        self.root, self.name = root, name
        self.sweep_dir = storage.join(root, name)
        self.lock = storage.join(self.sweep_dir, LOCK_FILE)
        self.holder = _me()
        self._new = False
        self._created: list[Path] = []  # directories a new sweep created, deepest last

    # -- a new sweep --------------------------------------------------------------------

    def create(self) -> None:
        """Claim a new sweep: its directory appears with our lock inside, or SweepExists."""
        self._new = True
        if storage.is_remote(self.root):
            if storage.exists(self.sweep_dir):
                raise SweepExists(self.sweep_dir)
            self._claim_remote()
            return
        root = Path(self.root)
        try:
            self._make_parents(root)
            staging = root / f".{self.name}.claim-{self.holder['token'][:8]}"
            staging.mkdir()
            try:
                self._write_local_lock(staging / LOCK_FILE)
                os.rename(staging, self.sweep_dir)
            except OSError as error:
                (staging / LOCK_FILE).unlink(missing_ok=True)
                staging.rmdir()
                if error.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                    raise SweepExists(self.sweep_dir) from None
                raise
        except SweepExists:
            self._remove_created_parents()
            raise
        except OSError as error:
            self._remove_created_parents()
            fail(f"--storage {self.root}: cannot create the sweep there ({_reason(error)})")

    def _make_parents(self, root: Path) -> None:
        missing = [p for p in (root, *root.parents) if not p.exists()]
        for directory in reversed(missing):
            try:
                directory.mkdir()
            except FileExistsError:  # another driver made it first: it is not ours to remove
                continue
            self._created.append(directory)

    # -- an existing sweep --------------------------------------------------------------

    def acquire(self) -> None:
        """Claim an existing sweep; a live driver's claim ends the command (exit code 2)."""
        if storage.is_remote(self.root):
            self._claim_remote()
            return
        try:
            with _directory_flock(self.sweep_dir):
                for _ in range(3):
                    try:
                        self._write_local_lock(Path(self.lock))
                        return
                    except FileExistsError:
                        holder = _read_holder(self.lock)
                        if holder is None:
                            continue  # released meanwhile
                        alive = _is_alive(holder) if holder else False
                        if alive is not False:
                            _refuse(self.name, self.lock, holder, alive)
                        _warn_stale(self.name, holder)
                        Path(self.lock).unlink(missing_ok=True)
        except OSError as error:
            fail(f"sweep {self.name!r}: cannot claim {self.sweep_dir} ({_reason(error)})")
        fail(f"sweep {self.name!r}: cannot claim {self.lock}: it keeps changing")

    def _write_local_lock(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.holder, handle)
            handle.flush()
            os.fsync(handle.fileno())

    def _claim_remote(self) -> None:
        holder = _read_holder(self.lock) if storage.exists(self.lock) else None
        if holder:
            alive = _is_alive(holder)
            if alive is not False:
                _refuse(self.name, self.lock, holder, alive)
            _warn_stale(self.name, holder)
        storage.write_bytes(self.lock, json.dumps(self.holder).encode())
        time.sleep(REMOTE_SETTLE_S)  # a driver writing at the same moment overwrites ours
        winner = _read_holder(self.lock) or {}
        if winner.get("token") != self.holder["token"]:
            _refuse(self.name, self.lock, winner, True)

    # -- the end ------------------------------------------------------------------------

    def release(self) -> None:
        """Give the sweep up; a new sweep that holds nothing but the lock disappears."""
        if storage.is_remote(self.root):
            with contextlib.suppress(OSError):
                holder = _read_holder(self.lock) or {}
                if holder.get("token") == self.holder["token"]:
                    storage.delete(self.lock)
            return
        lock = Path(self.lock)
        with contextlib.suppress(OSError):
            holder = _read_holder(self.lock) or {}
            if holder.get("token") == self.holder["token"]:
                lock.unlink()
        if self._new:
            with contextlib.suppress(OSError):
                Path(self.sweep_dir).rmdir()  # only if empty: the sweep never started
            self._remove_created_parents()

    def _remove_created_parents(self) -> None:
        for directory in reversed(self._created):
            with contextlib.suppress(OSError):
                directory.rmdir()


@contextlib.contextmanager
def _directory_flock(directory: str) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _warn_stale(name: str, holder: dict[str, Any]) -> None:
    print(
        f"sweep {name}: replacing the stale claim of a driver that is gone "
        f"(pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')})",
        file=sys.stderr,
    )


def _reason(error: OSError) -> str:
    where = f": {error.filename}" if error.filename else ""
    return f"{error.strerror or error}{where}"


@contextlib.contextmanager
def claimed(root: str, name: str, *, new: bool) -> Iterator[SweepClaim]:
    """Hold the sweep for the block: `new` creates it (SweepExists if taken), else claims
    the existing one. Released however the block ends."""
    claim = SweepClaim(root, name)
    claim.create() if new else claim.acquire()
    try:
        yield claim
    finally:
        claim.release()
