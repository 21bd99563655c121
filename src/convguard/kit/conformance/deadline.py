"""A hard time bound on the query under test, kept by the client whatever the query sets.

The statement timeout is the server's bound, and a query can lift it (``SET LOCAL
statement_timeout = 0`` in a template sent over the simple protocol). The deadline is the kit's:
a watcher thread waits the configured timeout plus :data:`GRACE_SECONDS`, then asks the server to
cancel the backend (``pg_cancel_backend``, from a connection of the kit's own, not the query's);
if the query still runs :data:`CANCEL_WAIT_SECONDS` later it terminates the backend
(``pg_terminate_backend``), and if the client still waits after that it shuts the socket down,
so the call returns in every case.

:class:`TimeBound` is how the kit applies it: ``convguard test``'s query session and
``convguard bench``'s timed runs and EXPLAIN ANALYZE both run the query under test through it, on
the query role's connection, with the signals sent from a connection of the server's admin role.

Example:
    >>> with Deadline(lambda function, pid: None, backend_pid=0, socket_fd=-1,
    ...               seconds=5.0) as deadline:
    ...     pass                                   # the query, finished in time
    >>> deadline.step is None
    True
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from convguard._errors import QueryFailed

if TYPE_CHECKING:
    import psycopg

    from convguard.kit.server import Server

T = TypeVar("T")
#: The statement timeout assumed when a query sets none.
DEFAULT_SECONDS = 10.0
GRACE_SECONDS = 1.0
CANCEL_WAIT_SECONDS = 2.0
TERMINATE_WAIT_SECONDS = 1.5
#: The steps, in order; :attr:`Deadline.step` names the last one taken.
STEPS = ("cancelled", "terminated", "disconnected")


class Deadline:
    """A context manager around one query; ``step`` says what it had to do (None: nothing).

    ``signal_backend(function, pid)`` runs ``SELECT <function>(pid)`` on a connection that is
    not the query's; errors there are swallowed (the next step follows anyway).
    """

    def __init__(self, signal_backend: Callable[[str, int], object], *, backend_pid: int,
                 socket_fd: int, seconds: float) -> None:
        self.signal_backend = signal_backend
        self.backend_pid = backend_pid
        self.socket_fd = socket_fd
        self.seconds = seconds
        self.step: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="convguard-deadline",
                                        daemon=True)

    def __enter__(self) -> Deadline:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        self.step = "cancelled"
        self._signal("pg_cancel_backend")
        if self._done.wait(CANCEL_WAIT_SECONDS):
            return
        self.step = "terminated"
        self._signal("pg_terminate_backend")
        if self._done.wait(TERMINATE_WAIT_SECONDS):
            return
        self.step = "disconnected"
        _shut_down(self.socket_fd)

    def _signal(self, function: str) -> None:
        try:
            self.signal_backend(function, self.backend_pid)
        except Exception:  # noqa: BLE001 - the next step is the remedy
            pass


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60_000.0, "h": 3_600_000.0,
             "d": 86_400_000.0}


def timeout_ms(setting: str | None) -> float | None:
    """A ``statement_timeout`` value in milliseconds, as PostgreSQL reads it (no unit: ms; None
    for none, 0 or unreadable). The one parser of the kit: :func:`timeout_seconds` and the
    benchmark's budget both read through it.

    Example:
        >>> timeout_ms("10000"), timeout_ms("10s"), timeout_ms("0"), timeout_ms("2 min")
        (10000.0, 10000.0, None, 120000.0)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", (setting or "").lower())
    if not match or match.group(2) not in ("", *_UNITS_MS):
        return None
    value = float(match.group(1)) * _UNITS_MS.get(match.group(2), 1.0)
    return value or None


def timeout_seconds(setting: str | None) -> float | None:
    """A ``statement_timeout`` value in seconds (None for none, 0 or unreadable).

    Example:
        >>> timeout_seconds("10000"), timeout_seconds("1s"), timeout_seconds("0")
        (10.0, 1.0, None)
    """
    milliseconds = timeout_ms(setting)
    return None if milliseconds is None else milliseconds / 1000


def deadline_seconds(statement_timeout: str) -> float:
    """The client-side bound of a query: its statement timeout (10 s when none) plus a grace.

    Example:
        >>> deadline_seconds("2s"), deadline_seconds("0")
        (3.0, 11.0)
    """
    return (timeout_seconds(statement_timeout) or DEFAULT_SECONDS) + GRACE_SECONDS


@dataclass(frozen=True)
class TimeBound:
    """The hard bound on one query run on the query role's connection to ``server``.

    :meth:`run` runs one query under a :class:`Deadline` of ``statement_timeout`` plus
    :data:`GRACE_SECONDS`; the cancel and the terminate come from a new connection of the
    server's admin role (the query's own session cannot be trusted to ask), and a query that
    ran past it fails with SQLSTATE 57014 and ``hint``, whatever the query answered meanwhile.

    Example:
        >>> bound = TimeBound(server, "2s", hint="raise --timeout")        # doctest: +SKIP
        >>> rows = bound.run(conn, lambda: execute_bound(conn, query))      # doctest: +SKIP
    """

    server: Server = field(repr=False, compare=False)
    statement_timeout: str
    hint: str = ("the query outlives or lifts its statement timeout (SET statement_timeout = 0?); "
                 "it must finish within the timeout its transaction sets")

    @property
    def seconds(self) -> float:
        return deadline_seconds(self.statement_timeout)

    def watch(self, conn: psycopg.Connection[Any]) -> Deadline:
        """A :class:`Deadline` (not started: use it as a context manager) on ``conn``'s backend."""
        return Deadline(self.signal_backend, backend_pid=conn.info.backend_pid,
                        socket_fd=conn.pgconn.socket, seconds=self.seconds)

    def signal_backend(self, function: str, pid: int) -> None:
        """``pg_cancel_backend``/``pg_terminate_backend`` from a connection of the kit's own."""
        if function not in ("pg_cancel_backend", "pg_terminate_backend"):
            raise ValueError(function)
        with self.server.connect(purpose="deadline",
                                 connect_timeout=max(2, int(CANCEL_WAIT_SECONDS))) as conn:
            conn.execute(f"SELECT {function}(%s)", [pid])

    def overrun(self, deadline: Deadline) -> QueryFailed | None:
        """The failure to report when ``deadline`` had to act, else None."""
        if deadline.step is None:
            return None
        return QueryFailed(
            f"the query ran past its deadline ({self.statement_timeout} statement timeout + "
            f"{GRACE_SECONDS:g} s) and convguard {deadline.step} it"
            f"{'' if deadline.step == 'cancelled' else ' after the cancel did not land'}",
            sqlstate="57014", hint=self.hint)

    def run(self, conn: psycopg.Connection[Any], query: Callable[[], T]) -> T:
        """``query()`` (one query on ``conn``) under the deadline; raises :class:`QueryFailed`
        for a run past it, else returns or raises what ``query`` did."""
        with self.watch(conn) as deadline:
            try:
                result = query()
            except QueryFailed:
                if deadline.step is None:
                    raise
                result = None
        failure = self.overrun(deadline)
        if failure is not None:
            raise failure
        return result  # type: ignore[return-value]


def _shut_down(fd: int) -> None:
    """Shut the socket down (not close it: the owner closes its own descriptor)."""
    if fd < 0:
        return
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()
