"""Reading the files a user names: regular files only, never a FIFO, and never without a bound.

A FIFO (or a device, or a socket) named like a source, a scenario or a configuration would block
``open()`` until a writer appears, or stream forever: convguard asks ``stat`` first and skips
such an entry with a note (logged on the ``convguard`` logger, which the CLI prints as
``convguard: note: ...``). Between that ``stat`` and the read a file can be replaced, so the read
itself opens with ``O_NONBLOCK`` (an ``open`` that never waits for a FIFO's writer) and checks the
opened file again with ``fstat`` before reading a byte. A size limit is checked on the open file
and enforced while reading (a file that grows past it is refused too).

Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "q.sql")
    >>> _ = open(path, "w").write("SELECT 1")
    >>> read_text(path, limit=100)
    'SELECT 1'
    >>> fifo = os.path.join(folder, "pipe.sql"); os.mkfifo(fifo)
    >>> not_regular(fifo)
    'a FIFO'
    >>> read_text(fifo, limit=100)
    Traceback (most recent call last):
    ...
    convguard._files.NotRegularFile: .../pipe.sql: not a regular file (a FIFO) (hint: convguard reads regular files only; name the file itself)
"""

from __future__ import annotations

import logging
import os
import stat

from convguard._errors import ConvguardError, InputError

LOGGER = logging.getLogger("convguard")

#: Largest convguard.toml / pyproject.toml read (a real one is a few kilobytes).
CONFIG_MAX_BYTES = 1 << 20
#: Largest scenario file read. The bundled ones are 1-6 KB; loading and validating costs about
#: 1.5 s of CPU and 80 MB per MiB of rows (measured on 8 MiB: 12.5 s, 630 MB), so 2 MiB (some
#: 35,000 rows) keeps a run within seconds. Production-size data is `convguard bench`'s job.
SCENARIO_MAX_BYTES = 2 << 20
#: Largest TS/JS/SQL source or Prisma schema read (minified bundles aside, sources are far smaller).
SOURCE_MAX_BYTES = 32 << 20

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


class NotRegularFile(InputError):
    """A path names a FIFO, socket, device or folder where convguard needs a regular file."""


def kind_of(mode: int) -> str | None:
    """What a ``st_mode`` is when it is not a regular file (None for a regular file).

    Example:
        >>> kind_of(stat.S_IFIFO | 0o644), kind_of(stat.S_IFREG | 0o644)
        ('a FIFO', None)
    """
    if stat.S_ISREG(mode):
        return None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "not a regular file"


def not_regular(path: str) -> str | None:
    """What ``path`` is when it exists and is not a regular file (symlinks followed), else None."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None  # missing or unreadable: the read reports it
    return kind_of(mode)


def note_skipped(path: str, kind: str) -> None:
    """Say once that ``path`` was skipped because it is ``kind``, not a regular file."""
    from convguard._ci_log import safe_path

    LOGGER.warning("%s: skipped: not a regular file (%s)", safe_path(path), kind)


def read_bytes(path: str, *, limit: int, error: type[ConvguardError] = InputError,
               what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    A FIFO, socket, device or folder raises :class:`NotRegularFile` (without blocking); a larger
    file, or one that cannot be read, raises ``error`` naming the file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except IsADirectoryError:
        raise NotRegularFile("not a regular file (a folder)", path=path,
                             hint=f"name a {what}, not a folder") from None
    except OSError as problem:
        raise error(f"cannot read {what}: {problem.strerror or problem}", path=path) from None
    except ValueError as problem:  # a NUL in the path
        raise error(f"cannot read {what}: {problem}", path=path) from None
    try:
        info = os.fstat(descriptor)
        kind = kind_of(info.st_mode)
        if kind is not None:
            raise NotRegularFile(f"not a regular file ({kind})", path=path,
                                 hint="convguard reads regular files only; name the file itself")
        if info.st_size > limit:
            raise _too_large(path, limit, error, what)
        chunks = []
        size = 0
        while True:
            try:
                chunk = os.read(descriptor, min(1 << 20, limit + 1 - size))
            except OSError as problem:
                raise error(f"cannot read {what}: {problem.strerror or problem}",
                            path=path) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise _too_large(path, limit, error, what)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def _too_large(path: str, limit: int, error: type[ConvguardError], what: str) -> ConvguardError:
    return error(f"{what} is larger than convguard reads ({_size(limit)})", path=path,
                 hint=f"a {what} this large is not one convguard expects; split it or check "
                      "that the path names the right file")


def _size(count: int) -> str:
    return f"{count >> 20} MiB" if count >= 1 << 20 else f"{count} bytes"


def decode_utf8(data: bytes, *, path: str, error: type[ConvguardError] = InputError,
                what: str = "file") -> str:
    """UTF-8 text (a byte-order mark dropped); a clear ``error`` with the line of a bad byte.

    Example:
        >>> decode_utf8(b"a\\n\\xff", path="x.toml")
        Traceback (most recent call last):
        ...
        convguard._errors.InputError: x.toml:2: file is not UTF-8 text (byte 0xff cannot be decoded) (hint: re-save the file as UTF-8)
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = data[: problem.start].count(b"\n") + 1
        raise error(f"{what} is not UTF-8 text (byte 0x{data[problem.start]:02x} cannot be "
                    "decoded)", path=path, line=line,
                    hint="re-save the file as UTF-8") from None


def read_text(path: str, *, limit: int, error: type[ConvguardError] = InputError,
              what: str = "file") -> str:
    """:func:`read_bytes` then :func:`decode_utf8`."""
    return decode_utf8(read_bytes(path, limit=limit, error=error, what=what), path=path,
                       error=error, what=what)


__all__ = [
    "CONFIG_MAX_BYTES", "LOGGER", "SCENARIO_MAX_BYTES", "SOURCE_MAX_BYTES", "NotRegularFile",
    "decode_utf8", "kind_of", "not_regular", "note_skipped", "read_bytes", "read_text",
]
