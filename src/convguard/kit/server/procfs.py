"""What ``/proc`` says about a process (Linux), without psutil.

Example:
    >>> import os
    >>> process_alive(os.getpid())
    True
    >>> process_alive(0)
    False
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    if pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return _kill_zero(pid) if not Path("/proc/self").exists() else False
    except OSError:  # /proc mounted with hidepid, say
        return _kill_zero(pid)
    # The state letter follows the command name, which is in parentheses and may hold spaces.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def process_argv(pid: int) -> list[str]:
    """The command line of ``pid`` (empty when it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_postmaster_of(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a ``postgres`` started by convguard with ``-D data_dir``.

    The data dir names a random run id, so this cannot match a stranger's server.
    """
    argv = process_argv(pid)
    if not argv or Path(argv[0]).name not in ("postgres", "postmaster"):
        return False
    return any(argv[i] == "-D" and argv[i + 1] == str(data_dir) for i in range(len(argv) - 1))


def wait_gone(pid: int, timeout: float) -> bool:
    """Poll until ``pid`` is gone (for processes that are not our children); True if it went."""
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


def _kill_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
