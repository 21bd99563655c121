"""Paths as reports show them: relative to a root, with forward slashes.

Example:
    >>> relative_path("/repo/src/q.sql", "/repo")
    'src/q.sql'
    >>> relative_path("/elsewhere/q.sql", "/repo")
    '/elsewhere/q.sql'
"""

from __future__ import annotations

import os
import posixpath


def relative_path(path: str, root: str | None = None) -> str:
    """``path`` relative to ``root`` (default: the current folder) when it lies inside it."""
    base = os.path.abspath(root if root is not None else os.getcwd())
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:  # another drive on Windows
        relative = absolute
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        relative = absolute
    return posixpath.join(*relative.split(os.sep)) if os.sep != "/" else relative
