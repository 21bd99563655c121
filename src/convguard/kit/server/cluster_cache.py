"""The cached cluster: ``initdb --no-sync`` once per binaries, reused by every later run.

Runs never start a server in the cached cluster itself (a running postmaster owns its data
folder); they copy it. The cluster is built lean because every run copies it: no data checksums,
1 MB WAL segments, ``template0`` dropped (nothing here needs a pristine template), and only the
WAL segment holding the last checkpoint kept: ~16 MB instead of ~39 MB.

Building is safe against racing processes: one takes a file lock, builds in a scratch folder,
copies into a hidden staging folder beside the cache entry and renames it into place; the others
wait on the lock and then find the entry. The entry is keyed by the binaries (path, size, mtime),
the owning uid and :data:`CLUSTER_FORMAT`. A staging folder left by a build that was killed is
removed by the next run that takes its lock (:func:`sweep_staging`).

The cluster trusts nobody: ``initdb --auth=scram-sha-256`` with a generated bootstrap password
for ``postgres``, kept beside the entry (``<key>.secret``, mode 0600); each run replaces it with
a password of its own as soon as its server is up, so a run accepts only its own roles.

Example:
    >>> cluster = cached_cluster(bins, user, cache_dir(), scratch=run.path)   # doctest: +SKIP
    >>> (cluster / "PG_VERSION").read_text().strip()                          # doctest: +SKIP
    '18'
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..._errors import DatabaseError
from .binaries import PgBinaries
from .privileges import ChildSetup, ServerUser, chown_to
from .treecopy import copy_tree

CLUSTER_FORMAT = 2  # bump when the initdb options or the preparation change
BUILD_TIMEOUT = 120.0
LOCK_TIMEOUT = 180.0
MIN_MAJOR = 12


def cluster_key(bins: PgBinaries, user: ServerUser | None) -> str:
    uid = user.uid if user is not None else os.getuid()
    return f"{bins.source}-{bins.fingerprint()}-u{uid}-f{CLUSTER_FORMAT}"


def cached_cluster(bins: PgBinaries, user: ServerUser | None, cache: Path, *,
                   scratch: Path) -> Path:
    """The cached cluster's folder, built first if missing (in ``scratch``, a run folder).

    Its bootstrap password is in :func:`secret_file` of the entry.
    """
    key = cluster_key(bins, user)
    clusters = cache / "clusters"
    entry = clusters / key
    if (entry / "PG_VERSION").is_file() and secret_file(entry).is_file():
        return entry
    clusters.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _file_lock(clusters / f"{key}.lock"):
        _remove_staging(clusters, key)  # we hold the lock: no build of this key is running
        if (entry / "PG_VERSION").is_file() and secret_file(entry).is_file():
            return entry  # a concurrent run built it while we waited
        build = scratch / "build"
        password = secrets.token_hex(16)
        _initdb(bins, user, build, password, scratch)
        _prepare(bins, user, build)
        staging = clusters / f".{key}.{secrets.token_hex(4)}"
        try:
            copy_tree(build, staging)
            if entry.exists():  # a broken entry (no PG_VERSION): we hold the lock, replace it
                shutil.rmtree(entry)
            _write_secret(secret_file(entry), password)
            os.rename(staging, entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(build, ignore_errors=True)
    return entry


def secret_file(entry: Path) -> Path:
    """Where the bootstrap password of the cached cluster ``entry`` is kept."""
    return entry.with_name(entry.name + ".secret")


def sweep_staging(cache: Path) -> list[str]:
    """Remove hidden staging folders ``clusters/.<key>.<hex>`` of builds killed mid-way (only
    those whose key's lock is free: a build in progress holds it); returns their names."""
    clusters = cache / "clusters"
    try:
        names = [p.name for p in clusters.iterdir() if p.name.startswith(".")]
    except OSError:
        return []
    removed = []
    for key in sorted({name[1:].rsplit(".", 1)[0] for name in names}):
        fd = os.open(clusters / f"{key}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            removed += _remove_staging(clusters, key)
        finally:
            os.close(fd)
    return removed


def _remove_staging(clusters: Path, key: str) -> list[str]:
    removed = []
    for path in clusters.glob(f".{key}.*"):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def _write_secret(path: Path, password: str) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.write(fd, password.encode())
    finally:
        os.close(fd)


def read_secret(entry: Path) -> str:
    """The bootstrap password of the cached cluster ``entry``."""
    return secret_file(entry).read_text().strip()


def _initdb(bins: PgBinaries, user: ServerUser | None, build: Path, password: str,
            scratch: Path) -> None:
    build.mkdir(mode=0o700)
    chown_to(build, user)
    major = bins.major_version()
    if major < MIN_MAJOR:
        raise DatabaseError(f"PostgreSQL {major} in {bins.bin_dir} is too old for convguard",
                            hint=f"use PostgreSQL {MIN_MAJOR} or later, e.g. --provider embedded")
    pwfile = scratch / "initdb.pw"
    _write_secret(pwfile, password)
    chown_to(pwfile, user)
    argv = [str(bins.initdb), "-D", str(build), "--no-sync", "-U", "postgres",
            "--auth=scram-sha-256", f"--pwfile={pwfile}",
            "-E", "UTF8", "--no-locale", "--wal-segsize=1"]
    if major >= 14:
        argv.append("--no-instructions")
    if major >= 18:
        argv.append("--no-data-checksums")  # on by default since 18
    try:
        _run(argv, user, cwd=build.parent, what="initdb")
    finally:
        pwfile.unlink(missing_ok=True)


def _prepare(bins: PgBinaries, user: ServerUser | None, build: Path) -> None:
    # Single-user mode: no socket, no client library, and a clean shutdown checkpoint at EOF.
    sql = "ALTER DATABASE template0 IS_TEMPLATE false\nDROP DATABASE template0\n"
    _run([str(bins.postgres), "--single", "-D", str(build), "-c", "fsync=off", "postgres"],
         user, cwd=build.parent, what="postgres --single", stdin=sql)
    _prune_wal(bins, user, build)


def _prune_wal(bins: PgBinaries, user: ServerUser | None, build: Path) -> None:
    """Keep only the WAL segment of the last checkpoint; the server makes later ones as needed."""
    controldata = bins.bin_dir / "pg_controldata"
    if not controldata.is_file():
        return
    out = _run([str(controldata), str(build)], user, cwd=build.parent, what="pg_controldata")
    match = re.search(r"REDO WAL file:\s*([0-9A-F]{24})", out)
    if not match:
        return
    for segment in (build / "pg_wal").iterdir():
        if re.fullmatch(r"[0-9A-F]{24}", segment.name) and segment.name != match.group(1):
            segment.unlink()


def _run(argv: list[str], user: ServerUser | None, *, cwd: Path, what: str,
         stdin: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"  # parse pg_controldata's English labels
    try:
        done = subprocess.run(argv, input=stdin or "", capture_output=True, text=True, cwd=str(cwd),
                              env=env, timeout=BUILD_TIMEOUT,
                              preexec_fn=ChildSetup(user, signal.SIGKILL))
    except subprocess.TimeoutExpired:
        raise DatabaseError(f"{what} took over {BUILD_TIMEOUT:.0f} s",
                            hint="check the speed and free space of the run folder") from None
    except OSError as exc:
        raise DatabaseError(f"cannot run {what}: {exc}", hint=f"check {argv[0]}") from exc
    if done.returncode != 0:
        tail = "\n".join(f"    {line}" for line in (done.stderr or done.stdout).splitlines()[-20:])
        raise DatabaseError(f"{what} failed with code {done.returncode}:\n{tail}",
                            hint="see the output above")
    return done.stdout


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DatabaseError(
                        f"waited {LOCK_TIMEOUT:.0f} s for another run building the cached"
                        f" cluster ({path})",
                        hint=f"stop the other run, or delete {path.parent}") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)
