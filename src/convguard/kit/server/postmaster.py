"""Running ``postgres`` directly (no ``pg_ctl``): throwaway settings, readiness, stop by pid.

Example:
    >>> pm = Postmaster.spawn(bins, data, sock, log, user, major=18)   # doctest: +SKIP
    >>> pm.wait_ready(timeout=30)                                      # doctest: +SKIP
    >>> pm.stop()                                                      # doctest: +SKIP
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from ..._errors import DatabaseError
from .binaries import PgBinaries
from .privileges import ChildSetup, ServerUser

PORT = 5432  # only names the socket file: each run has its own socket folder
POLL_SECONDS = 0.002
STOP_STEPS = ((signal.SIGINT, 10.0), (signal.SIGQUIT, 3.0), (signal.SIGKILL, 5.0))


def server_settings(major: int, socket_dir: Path) -> dict[str, str]:
    """Settings for a server whose data is thrown away: durability off, no TCP, few processes."""
    settings = {
        "listen_addresses": "",
        "unix_socket_directories": str(socket_dir),
        "unix_socket_permissions": "0700",
        "port": str(PORT),
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "shared_buffers": "16MB",
        # Each pytest-xdist worker owns a server; 50 leaves room for pools in the code under test.
        "max_connections": "50",
        "autovacuum": "off",
        "max_logical_replication_workers": "0",
        "max_parallel_workers_per_gather": "0",
        "jit": "off",
        "huge_pages": "off",
        # Segments as files in the data folder, so even a killed server leaves none in /dev/shm.
        "dynamic_shared_memory_type": "mmap",
        "timezone": "UTC",
        "log_timezone": "UTC",
        "logging_collector": "off",
    }
    if major >= 18:
        settings["io_method"] = "sync"  # no io worker processes to start
    return settings


class Postmaster:
    """A ``postgres`` process we started, and its data folder."""

    def __init__(self, process: subprocess.Popen[bytes], data_dir: Path, log_file: Path) -> None:
        self.process = process
        self.data_dir = data_dir
        self.log_file = log_file

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def spawn(cls, bins: PgBinaries, data_dir: Path, socket_dir: Path, log_file: Path,
              user: ServerUser | None, *, major: int) -> Postmaster:
        argv = [str(bins.postgres), "-D", str(data_dir)]
        for key, value in server_settings(major, socket_dir).items():
            argv += ["-c", f"{key}={value}"]
        with open(log_file, "ab") as log:
            try:
                process = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    cwd=str(socket_dir), preexec_fn=ChildSetup(user),
                    # Its own session: a Ctrl-C in the terminal reaches us, and we stop it in order.
                    start_new_session=True)
            except (OSError, subprocess.SubprocessError) as exc:
                hint = f"check the PostgreSQL binaries in {bins.bin_dir}"
                raise DatabaseError(f"cannot start {bins.postgres}: {exc}", hint=hint) from exc
        return cls(process, data_dir, log_file)

    def wait_ready(self, timeout: float) -> None:
        """Poll ``postmaster.pid`` until its status line says ``ready``; raise with the log tail."""
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + timeout
        while True:
            try:
                lines = pid_file.read_text().splitlines()
            except (FileNotFoundError, UnicodeDecodeError):
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
            code = self.process.poll()
            if code is not None:
                raise DatabaseError(f"PostgreSQL exited with code {code} while starting:\n"
                                    f"{log_tail(self.log_file)}",
                                    hint="see the server log above")
            if time.monotonic() >= deadline:
                self.stop()
                raise DatabaseError(f"PostgreSQL was not ready within {timeout:.0f} s:\n"
                                    f"{log_tail(self.log_file)}",
                                    hint="see the server log above; a slow disk or a full tmpfs?")
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then immediate (SIGQUIT), then SIGKILL; idempotent."""
        for sig, grace in STOP_STEPS:
            if self.process.poll() is not None:
                return
            try:
                self.process.send_signal(sig)
                self.process.wait(grace)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


def log_tail(log_file: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of the server log, indented (or a note that there is none)."""
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return "    (no server log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in tail) or "    (empty server log)"
