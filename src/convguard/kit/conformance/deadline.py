"""A hard time bound on the query under test, kept by the client whatever the query sets.

The statement timeout is the server's bound, and a query can lift it (``SET LOCAL
statement_timeout = 0`` in a template sent over the simple protocol). The deadline is the kit's:
a watcher thread waits the configured timeout plus :data:`GRACE_SECONDS`, then asks the server to
cancel the backend (``pg_cancel_backend``, from a connection of the kit's own, not the query's);
if the query still runs :data:`CANCEL_WAIT_SECONDS` later it terminates the backend
(``pg_terminate_backend``), and if the client still waits after that it shuts the socket down,
so the call returns in every case.

Example:
    >>> with Deadline(lambda function, pid: None, backend_pid=0, socket_fd=-1,
    ...               seconds=5.0) as deadline:
    ...     pass                                   # the query, finished in time
    >>> deadline.step is None
    True
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from types import TracebackType

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
