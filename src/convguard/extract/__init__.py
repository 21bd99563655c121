"""Find the SQL in a host file: TypeScript/JavaScript tagged templates or ``.sql`` statements.

Example:
    >>> result = extract_source("q.sql", "SELECT 1 WHERE x = $1;")
    >>> result.queries[0].sql
    'SELECT 1 WHERE x = $1'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath

from convguard._errors import InputError
from convguard._model import ExtractionResult

SCRIPT_SUFFIXES = frozenset({".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts"})
SQL_SUFFIXES = frozenset({".sql"})
SUPPORTED_SUFFIXES = SCRIPT_SUFFIXES | SQL_SUFFIXES


# Every query or unsafe call the TypeScript extractor reports hangs on one of these identifiers:
# ``$queryRaw``/``$executeRaw`` (and their ``Unsafe`` forms), ``Prisma.sql``/``Prisma.raw``, or a
# configured tag. tests/extract/test_prefilter.py holds the extractor to it.
_RAW_MARKERS = ("$queryRaw", "$executeRaw")
_IDENTIFIER = re.compile(r"[^\W\d][\w$]*|\$[\w$]*")


def may_hold_queries(path: str, text: str, *, tags: Sequence[str] = ()) -> bool:
    """False only when :func:`extract_source` would surely find nothing in a file (no lexing).

    A TypeScript/JavaScript file can hold a query only if it names ``$queryRaw``, ``$executeRaw``,
    ``Prisma`` with ``sql`` or ``raw``, or the last identifier of a configured tag; most files of
    an application name none of them and are skipped by a substring search, which is a hundred
    times cheaper than lexing them. ``.sql`` files always hold SQL.

    Example:
        >>> may_hold_queries("Button.tsx", "export const Button = () => <button>ok</button>;")
        False
        >>> may_hold_queries("a.ts", "await prisma.$queryRawUnsafe(sql)")
        True
        >>> may_hold_queries("a.ts", "q = db.sql`SELECT 1`", tags=("db.sql",))
        True
        >>> may_hold_queries("q.sql", "")
        True
    """
    if PurePath(path).suffix.lower() not in SCRIPT_SUFFIXES:
        return True
    if any(marker in text for marker in _RAW_MARKERS):
        return True
    if "Prisma" in text and ("sql" in text or "raw" in text):
        return True
    for tag in tags:
        names = _IDENTIFIER.findall(tag)
        if not names or names[-1] in text:
            return True
    return False


def extract_source(path: str, text: str, *, tags: Sequence[str] = ()) -> ExtractionResult:
    """Extract every query of one host file.

    ``tags`` adds tagged-template names to the built-in ones (``Prisma.sql``, ``$queryRaw``,
    ``$executeRaw``), e.g. ``("sql",)``.
    """
    suffix = PurePath(path).suffix.lower()
    if suffix in SCRIPT_SUFFIXES:
        from convguard.extract._typescript import extract_typescript

        return extract_typescript(path, text, tags=tags)
    if suffix in SQL_SUFFIXES:
        from convguard.extract._sql_file import extract_sql_file

        return extract_sql_file(path, text)
    raise InputError(
        f"unsupported file type {suffix or '(none)'!r}",
        path=path,
        hint="convguard reads .ts .tsx .js .jsx .mjs .cjs .mts .cts and .sql files",
    )


__all__ = ["SCRIPT_SUFFIXES", "SQL_SUFFIXES", "SUPPORTED_SUFFIXES", "extract_source",
           "may_hold_queries"]
