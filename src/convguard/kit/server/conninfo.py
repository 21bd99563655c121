"""libpq keyword/value connection strings, written without importing psycopg.

Example:
    >>> format_conninfo({"host": "/tmp/run dir", "port": 5432, "user": "postgres", "dbname": "x"})
    "host='/tmp/run dir' port=5432 user=postgres dbname=x"
    >>> format_conninfo({"password": "it's"})
    "password='it\\\\'s'"
"""

from __future__ import annotations

from collections.abc import Mapping


def format_conninfo(params: Mapping[str, object]) -> str:
    """``key=value`` pairs in the order given, quoted as libpq reads them; ``None`` skipped."""
    return " ".join(f"{key}={_quote(str(value))}" for key, value in params.items()
                    if value is not None)


def _quote(value: str) -> str:
    if value and not any(char in value for char in " \t\n\r\\'="):
        return value
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
