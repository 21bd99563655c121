"""Run folders, the registry of live runs, and the sweep of runs whose owner died.

Each local server runs in a run folder of its own (``data/``, the unix socket, ``server.log``).
Before the folder exists, the owner writes a record ``<cache>/runs/<run_id>.json`` and holds an
exclusive ``flock`` on it for its whole life: the kernel drops the lock when the owner dies,
however it dies, so a later run that can take the lock knows the owner is gone (no pid reuse
question) and owns the clean-up, which no other sweeper can then start.

The record lives in the owner's cache, so only a run with the same cache finds it. The run folder
itself carries the same proof for everyone else: :data:`OWNER_FILE` inside it, written by the
owner (staged, locked, then renamed into place, so it is never seen unlocked while its owner
lives) and ``flock``-ed for the run's whole life. :func:`sweep_dead_run_folders` removes, whatever
its cache, a ``convguard-<pid>-<hex>`` folder only when that file is there, is a regular file
owned by the sweeping user, names the folder's run, and its lock is free: a folder of a live run
(locked), one still being made (no file yet), one made by an older convguard (no file: left to
its own cache's sweep), or anything convguard did not create (no such file of ours) is left alone.

Example:
    >>> run = RunFolder.create(cache_dir(), user=None)     # doctest: +SKIP
    >>> run.data_dir.name                                   # doctest: +SKIP
    'data'
    >>> run.remove()                                        # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .privileges import ServerUser, chown_to
from .procfs import is_postmaster_of, wait_gone

SHM = Path("/dev/shm")
SHM_MIN_FREE = 256 * 1024 * 1024
SOCKET_PATH_ROOM = 60  # the unix socket path limit is 107 bytes; leave room for our suffixes
STALE_TMP_SECONDS = 60.0
#: Inside every run folder: who owns it, locked by the owner while it lives.
OWNER_FILE = "convguard-run.lock"
RUN_FOLDER = re.compile(r"convguard-(?P<run_id>\d+-[0-9a-f]{8})")


def cache_dir() -> Path:
    """``$CONVGUARD_CACHE_DIR``, else ``$XDG_CACHE_HOME/convguard``, else ``~/.cache/convguard``."""
    explicit = os.environ.get("CONVGUARD_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser().absolute() / "convguard"


def run_root() -> Path:
    """Where run folders go: tmpfs ``/dev/shm`` when it has room, else the temp folder.

    Copying the cluster to tmpfs takes ~30 ms; to this machine's disk 150-500 ms (writeback).
    """
    try:
        free = os.statvfs(SHM)
        if free.f_bavail * free.f_frsize >= SHM_MIN_FREE and os.access(SHM, os.W_OK | os.X_OK):
            return SHM
    except OSError:
        pass
    temp = Path(tempfile.gettempdir())
    return temp if len(str(temp)) <= SOCKET_PATH_ROOM else Path("/tmp")


@dataclass
class RunFolder:
    """A registered run folder; :meth:`remove` deletes it and its record."""

    run_id: str
    path: Path
    record: Path
    _lock_fd: int | None = field(default=None, repr=False)
    _owner_fd: int | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.path / "data"

    @property
    def log_file(self) -> Path:
        return self.path / "server.log"

    @classmethod
    def create(cls, cache: Path, user: ServerUser | None) -> RunFolder:
        run_id = f"{os.getpid()}-{secrets.token_hex(4)}"
        registry = cache / "runs"
        registry.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = run_root() / f"convguard-{run_id}"
        record = registry / f"{run_id}.json"
        # The record comes first, so a kill at any later point leaves something to sweep.
        staging = registry / f"{run_id}.tmp"
        fd = os.open(staging, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps({"run_id": run_id, "owner_pid": os.getpid(), "run_dir": str(path),
                                 "data_dir": str(path / "data"), "created": time.time()}).encode())
        os.rename(staging, record)
        run = cls(run_id=run_id, path=path, record=record, _lock_fd=fd)
        try:
            path.mkdir(mode=0o700)
            run._owner_fd = _claim(path, run_id)
            chown_to(path, user)
        except BaseException:
            run.remove()
            raise
        return run

    def remove(self) -> None:
        """Delete the folder and the record, then let the lock go (idempotent)."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.record.unlink(missing_ok=True)
        for name in ("_owner_fd", "_lock_fd"):
            fd = getattr(self, name)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)


def _claim(path: Path, run_id: str) -> int:
    """Write ``path``/:data:`OWNER_FILE` and hold its lock; returns the descriptor to keep open.

    Staged under another name and renamed once locked: a sweeper that finds the file finds it
    locked for as long as this process lives.
    """
    staging = path / f".{OWNER_FILE}.tmp"
    fd = os.open(staging, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps({"run_id": run_id, "owner_pid": os.getpid(),
                                 "created": time.time()}).encode())
        os.rename(staging, path / OWNER_FILE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def sweep_dead_run_folders(roots: Iterable[Path] | None = None) -> list[str]:
    """Stop the servers and delete the run folders under ``roots`` (default: ``/dev/shm`` and
    the temp folder) whose owner died, whatever cache it used; returns their run ids.

    Only folders that prove they are a dead convguard run's are touched (see the module
    docstring); anything else is left as it is.
    """
    if roots is None:
        roots = (SHM, Path(tempfile.gettempdir()), Path("/tmp"))
    swept: list[str] = []
    for root in dict.fromkeys(roots):
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            match = RUN_FOLDER.fullmatch(entry.name)
            try:
                if not match or not entry.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                continue
            if _sweep_folder(Path(entry.path), match.group("run_id")):
                swept.append(match.group("run_id"))
    return swept


def _sweep_folder(path: Path, run_id: str) -> bool:
    marker = path / OWNER_FILE
    try:
        fd = os.open(marker, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False  # no proof that convguard made it: not ours to remove
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid():
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its owner is alive
        if not marker.exists():
            return False  # another sweeper finished it while we opened it
        try:
            info = json.loads(os.read(fd, 4096) or b"{}")
        except ValueError:
            return False
        if not isinstance(info, dict) or info.get("run_id") != run_id:
            return False
        stop_orphan_server(path / "data")
        shutil.rmtree(path, ignore_errors=True)
        return True
    finally:
        os.close(fd)


def sweep_orphans(cache: Path) -> list[str]:
    """Stop the servers and delete the folders of runs whose owner died; returns their run ids."""
    registry = cache / "runs"
    if not registry.is_dir():
        return []
    swept = []
    now = time.time()
    for record in sorted(registry.iterdir()):
        if record.suffix == ".tmp" and _age(record, now) < STALE_TMP_SECONDS:
            continue  # an owner between creating and locking its record
        if record.suffix in (".json", ".tmp") and _sweep_one(record):
            swept.append(record.stem)
    return swept


def _sweep_one(record: Path) -> bool:
    try:
        fd = os.open(record, os.O_RDONLY)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its owner is alive
        if not record.exists():
            return False  # another sweeper finished it while we opened it
        try:
            info = json.loads(record.read_text() or "{}")
        except ValueError:
            info = {}
        if info.get("data_dir"):
            stop_orphan_server(Path(info["data_dir"]))
        if info.get("run_dir") and Path(info["run_dir"]).name.startswith("convguard-"):
            shutil.rmtree(info["run_dir"], ignore_errors=True)
        record.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def stop_orphan_server(data_dir: Path) -> None:
    """Stop the postmaster of ``data_dir`` if one still runs (SIGQUIT, then SIGKILL)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    for sig, grace in ((signal.SIGQUIT, 2.0), (signal.SIGKILL, 2.0)):
        if not is_postmaster_of(pid, data_dir):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_gone(pid, grace):
            return


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0
