"""One handler for SIGINT, SIGTERM and SIGHUP while a kit command runs.

The first signal raises :class:`Interrupted` (a ``KeyboardInterrupt``, so psycopg cancels a query
in flight before the exception leaves it, and the connection stays usable for the clean-up); the
``with`` blocks on the way out drop what the run created and stop its server. Signals during the
clean-up are noted, not raised, so they cannot cut it short; a third one exits at once (a later
run sweeps what is left). A library that catches the exception (a property-testing engine, say)
cannot swallow the interrupt: :func:`check` raises it again at the next scenario, and
:func:`handled` raises it on the way out of the block if it was swallowed until the end.

The exit code is ``128 + signal``: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.

Example:
    >>> import os, signal
    >>> try:
    ...     with handled():
    ...         os.kill(os.getpid(), signal.SIGTERM)
    ... except Interrupted as interrupt:
    ...     interrupt.exit_code, interrupt.name
    (143, 'SIGTERM')
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                if hasattr(signal, name))
HARD_EXIT_AFTER = 3


class Interrupted(KeyboardInterrupt):
    """The run was interrupted by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


_received: list[int] = []
_active: list[bool] = []


def received() -> int | None:
    """The first signal received inside :func:`handled`, else None."""
    return _received[0] if _received else None


def check() -> None:
    """Raise :class:`Interrupted` if a signal came inside :func:`handled` (call it where work
    may safely stop)."""
    if _active and _received:
        raise Interrupted(_received[0])


def _handler(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    if len(_received) == 1:
        raise Interrupted(signum)
    if len(_received) >= HARD_EXIT_AFTER:
        sys.stderr.write("convguard: interrupted again: exiting without cleaning up "
                         "(the next run sweeps what is left)\n")
        os._exit(128 + _received[0])


@contextmanager
def handled() -> Iterator[None]:
    """Install the handler for the block (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    _received.clear()
    _active.append(True)
    for signum in SIGNALS:
        signal.signal(signum, _handler)
    try:
        yield
        check()  # swallowed somewhere inside: it still ends the run
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _active.pop()
        if not _active:
            _received.clear()
