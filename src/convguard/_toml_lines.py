"""Where a key is set in a TOML text: the line numbers tomllib does not give.

A configuration error names the line that sets the wrong value, as ``check`` and ``test`` both
print it. This is a line scanner, not a second TOML parser: it knows table headers, ``key =``
lines and multi-line strings and arrays well enough to find a key of a table; where it cannot
tell, it answers None and the error names the file alone.

Example:
    >>> text = 'driver = "typed"\\n\\n[[query]]\\npath = "q.sql"\\nprofile = "nope"\\n'
    >>> lines = TomlLines(text)
    >>> lines.key((), "driver"), lines.key(("query", 0), "profile"), lines.table(("query", 0))
    (1, 5, 3)
"""

from __future__ import annotations

import re

# Patterns as text: `re` compiles and caches them on first use, not at import (a check that
# finds no configuration never pays for them).
_HEADER = r"^\s*(\[\[?)\s*([^\]]+?)\s*(\]\]?)\s*(?:#.*)?$"
_KEY = r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.\-"' ]+?)\s*="""


def _key_parts(text: str) -> tuple[str, ...]:
    """``a."b.c".d`` -> ``("a", "b.c", "d")``."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_\-]+)', text)
    return tuple(next(piece for piece in part if piece) if any(part) else "" for part in parts)


class TomlLines:
    """Line numbers of table headers and keys, by table path (array items by index)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._tables: dict[tuple[object, ...], int] = {}
        self._keys: dict[tuple[object, ...], int] = {}
        current: tuple[object, ...] = ()
        counts: dict[tuple[str, ...], int] = {}
        open_brackets = 0
        in_string: str | None = None
        for number, line in enumerate(self.text.splitlines(), start=1):
            if in_string is not None:  # inside a multi-line string: only its end matters
                if line.count(in_string) % 2 == 1:
                    in_string = None
                continue
            if open_brackets > 0:  # inside a multi-line array or inline table
                open_brackets += _bracket_balance(line)
                continue
            header = re.match(_HEADER, line)
            if header and header.group(1) == header.group(3)[::-1].replace("]", "["):
                name = _key_parts(header.group(2))
                if header.group(1) == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    current = (*name, index)
                else:
                    current = self._with_indexes(name, counts)
                self._tables.setdefault(current, number)
                continue
            key = re.match(_KEY, line)
            if key is None:
                continue
            parts = _key_parts(key.group(1))
            self._keys.setdefault((*current, *parts), number)
            for depth in range(1, len(parts)):
                self._tables.setdefault((*current, *parts[:depth]), number)
            rest = line[key.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
            if in_string is None:
                open_brackets = max(0, _bracket_balance(rest))

    @staticmethod
    def _with_indexes(name: tuple[str, ...], counts: dict[tuple[str, ...], int]
                      ) -> tuple[object, ...]:
        """``[query.params]`` under the latest ``[[query]]`` is ``("query", n, "params")``."""
        path: list[object] = []
        for depth, part in enumerate(name):
            path.append(part)
            prefix = name[: depth + 1]
            if prefix in counts and depth + 1 < len(name):
                path.append(counts[prefix] - 1)
        return tuple(path)

    def table(self, path: tuple[object, ...]) -> int | None:
        """The line of a table's header (or of the first key that opens a dotted table)."""
        return self._tables.get(tuple(path))

    def key(self, table: tuple[object, ...], key: str) -> int | None:
        """The line that sets ``key`` in ``table``; else the table's line; else None."""
        return self._keys.get((*table, key)) or self.table(table)


def _bracket_balance(text: str) -> int:
    """Opening minus closing brackets and braces outside strings and comments."""
    balance = 0
    quote: str | None = None
    escaped = False
    for char in text:
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            balance += 1
        elif char in "]}":
            balance -= 1
    return balance


__all__ = ["TomlLines"]
