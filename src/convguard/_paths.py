"""How users name things on the command line: ``PATH::FUNCTION`` selectors and display paths.

Example:
    >>> split_selector("actions/a.ts::getStats"), split_selector("q.sql")
    (('actions/a.ts', 'getStats'), ('q.sql', None))
"""

from __future__ import annotations

import os

from convguard._errors import SelectorError


def split_selector(text: str) -> tuple[str, str | None]:
    """Split ``PATH::FUNCTION`` into the path and the function (None without ``::``)."""
    if "::" not in text or os.path.lexists(text):  # a file named "a::b.ts" is a file
        return text, None
    path, _, function = text.rpartition("::")
    if not path or not function.strip():
        raise SelectorError(f"invalid selector {text!r}", hint="write PATH or PATH::FUNCTION")
    return path, function.strip()


def display_path(path: str) -> str:
    """A path as the user should read it: relative to the current folder when inside it."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith(os.pardir) else relative
