"""Suppression comments: ``-- convguard: ignore[CODE]`` in SQL, ``// convguard-ignore CODE`` in TS.

A suppression silences findings of its codes (a comma list) on its own line of the host file; a
suppression that silences nothing is itself reported (``CG002 unused-suppression``), so stale
ones do not hide the next real finding.

Example:
    >>> from convguard._model import HostText
    >>> host = HostText("a.ts", "run(); // convguard-ignore CG103, CG104\\n")
    >>> [(s.line, s.code) for s in host_suppressions(host)]
    [(1, 'CG103'), (1, 'CG104')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from convguard._model import Diagnostic, HostText

if TYPE_CHECKING:
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

_SQL_DIRECTIVE = re.compile(r"convguard:\s*ignore\[([^\]]*)\]", re.IGNORECASE)
_HOST_DIRECTIVE = re.compile(
    r"//\s*convguard-ignore\b:?[ \t]*((?:[A-Za-z]+\d+)(?:[ \t]*,?[ \t]*[A-Za-z]+\d+)*)")
_CODE = re.compile(r"[A-Za-z]+\d+")


class Suppression(NamedTuple):
    """One code silenced on one host line; ``column`` is where the code is written."""

    path: str
    line: int
    column: int
    code: str
    style: str  # "sql" or "host"


def sql_suppressions(query: ExtractedQuery, parsed: ParsedQuery, host: HostText
                     ) -> list[Suppression]:
    """The ``-- convguard: ignore[...]`` comments inside a query's SQL, on host lines."""
    found: list[Suppression] = []
    if "convguard" not in parsed.sql:
        return found
    for start, end in parsed.comments():
        text = parsed.sql[start:end]
        for match in _SQL_DIRECTIVE.finditer(text):
            for code in _CODE.finditer(match.group(1)):
                offset = query.host_offset(start + match.start(1) + code.start())
                position = host.position(offset)
                found.append(Suppression(host.path, position.line, position.column,
                                         code.group().upper(), "sql"))
    return found


def host_suppressions(host: HostText, recorded: Iterable[tuple[int, str]] = ()
                      ) -> list[Suppression]:
    """The ``// convguard-ignore CODE`` comments of a script file (plus ones the extractor saw)."""
    found: dict[tuple[int, str], Suppression] = {}
    if "convguard-ignore" in host.text:
        for match in _HOST_DIRECTIVE.finditer(host.text):
            for code in _CODE.finditer(match.group(1)):
                position = host.position(match.start(1) + code.start())
                key = (position.line, code.group().upper())
                found.setdefault(key, Suppression(host.path, position.line, position.column,
                                                  key[1], "host"))
    for line, written in recorded:
        key = (line, written.upper())
        if key not in found:
            text = host.line_text(line) if 0 < line <= len(host.line_starts) else ""
            column = text.find(written) + 1 if written in text else 1
            found[key] = Suppression(host.path, line, column, key[1], "host")
    return list(found.values())


def suppress(diagnostics: Sequence[Diagnostic], suppressions: Sequence[Suppression]
             ) -> tuple[list[Diagnostic], list[Suppression]]:
    """Drop suppressed diagnostics; return the kept ones and the suppressions that were unused.

    Example:
        >>> d = Diagnostic("CG104", "x", "m", "q.sql", 3, 1, 3, 2)
        >>> kept, unused = suppress([d], [Suppression("q.sql", 3, 20, "CG104", "sql"),
        ...                               Suppression("q.sql", 4, 20, "CG101", "sql")])
        >>> kept, [s.code for s in unused]
        ([], ['CG101'])
    """
    by_key: dict[tuple[str, int, str], list[Suppression]] = {}
    for suppression in suppressions:
        by_key.setdefault((suppression.path, suppression.line, suppression.code), []) \
            .append(suppression)
    used: set[int] = set()
    kept = []
    for diagnostic in diagnostics:
        matches = by_key.get((diagnostic.path, diagnostic.line, diagnostic.code))
        if matches:
            used.update(id(match) for match in matches)
        else:
            kept.append(diagnostic)
    unused = [s for s in suppressions if id(s) not in used]
    return kept, unused


def unused_diagnostics(unused: Iterable[Suppression], *, enabled: Iterable[str] | None = None,
                       name: str = "unused-suppression", code: str = "CG002") -> list[Diagnostic]:
    """``CG002`` for each unused suppression (only for codes that are enabled)."""
    allowed = set(enabled) if enabled is not None else None
    found = []
    seen: set[tuple[str, int, str]] = set()
    for suppression in unused:
        key = (suppression.path, suppression.line, suppression.code)
        if key in seen or (allowed is not None and suppression.code not in allowed):
            continue
        seen.add(key)
        comment = ("-- convguard: ignore[...]" if suppression.style == "sql"
                   else "// convguard-ignore")
        found.append(Diagnostic(
            code=code, name=name,
            message=f"unused suppression of {suppression.code} ({comment}): no "
                    f"{suppression.code} finding on this line",
            path=suppression.path, line=suppression.line, column=suppression.column,
            end_line=suppression.line, end_column=suppression.column + len(suppression.code),
            severity="warning", fix=f"remove {suppression.code} from the comment",
        ))
    return found


__all__ = ["Suppression", "host_suppressions", "sql_suppressions", "suppress",
           "unused_diagnostics"]
