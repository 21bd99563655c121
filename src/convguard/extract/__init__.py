"""Find the SQL in a host file: TypeScript/JavaScript tagged templates or ``.sql`` statements.

Example:
    >>> result = extract_source("q.sql", "SELECT 1 WHERE x = $1;")
    >>> result.queries[0].sql
    'SELECT 1 WHERE x = $1'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

from convguard._errors import InputError
from convguard._model import ExtractionResult

SCRIPT_SUFFIXES = frozenset({".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts"})
SQL_SUFFIXES = frozenset({".sql"})
SUPPORTED_SUFFIXES = SCRIPT_SUFFIXES | SQL_SUFFIXES


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


__all__ = ["SCRIPT_SUFFIXES", "SQL_SUFFIXES", "SUPPORTED_SUFFIXES", "extract_source"]
