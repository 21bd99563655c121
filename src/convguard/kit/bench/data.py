"""What ``convguard bench`` needs from a profile: a generator of synthetic data at scale.

A profile's ``synthetic()`` returns a :class:`~convguard.profiles.SyntheticData` (the contract
lives with the profiles API, :mod:`convguard.profiles`): it names its unit of size (``"leads"``,
``"orders"``, ...), builds a spec of a size spread over ``history_days``, seeds an empty
database with it (in the server, at hundreds of thousands of rows a second), reports the counts it
seeded and gives the query's parameters for the last ``window_days`` of it. :class:`Progress`
draws the seeding's progress bar.

Example:
    >>> import io
    >>> bar = Progress("seeding", io.StringIO())
    >>> bar.start(2); bar.advance(); bar.advance(); bar.finish()
    >>> DEFAULT_HISTORY_DAYS <= MAX_HISTORY_DAYS
    True
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from convguard.profiles import SeedProgress, SeedReport, SyntheticData

MAX_HISTORY_DAYS = 3650
DEFAULT_HISTORY_DAYS = 365


class Progress:
    """A one-line progress bar on a terminal; silent when the stream is not a TTY (CI logs).

    """

    WIDTH = 30

    def __init__(self, label: str, stream: TextIO | None, *, force: bool = False) -> None:
        self.label = label
        self.stream = stream
        self.enabled = stream is not None and (force or _isatty(stream))
        self.total = 0
        self.done = 0
        self.started = time.perf_counter()

    @classmethod
    def to_stderr(cls, label: str) -> Progress:
        return cls(label, sys.stderr)

    @classmethod
    def silent(cls) -> Progress:
        return cls("", None)

    def start(self, total: int) -> None:
        self.total, self.done, self.started = max(total, 1), 0, time.perf_counter()
        self._draw()

    def advance(self) -> None:
        self.done = min(self.done + 1, self.total)
        self._draw()

    def finish(self) -> None:
        if self.enabled and self.stream is not None:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _draw(self) -> None:
        if not self.enabled or self.stream is None:
            return
        filled = self.WIDTH * self.done // self.total
        elapsed = time.perf_counter() - self.started
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                          f"{100 * self.done // self.total:3d}% {elapsed:5.1f} s")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["DEFAULT_HISTORY_DAYS", "MAX_HISTORY_DAYS", "Progress", "SeedProgress", "SeedReport",
           "SyntheticData"]
