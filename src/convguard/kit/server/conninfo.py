"""libpq keyword/value connection strings, written without importing psycopg, and their
passwords kept out of messages (:func:`redact_dsn`, :func:`redact`).

Example:
    >>> format_conninfo({"host": "/tmp/run dir", "port": 5432, "user": "postgres", "dbname": "x"})
    "host='/tmp/run dir' port=5432 user=postgres dbname=x"
    >>> format_conninfo({"password": "it's"})
    "password='it\\\\'s'"
    >>> redact_dsn("postgresql://ci:hunter2@db:5432/app")
    'postgresql://ci:***@db:5432/app'
    >>> redact("FATAL: no hunter2 here", "hunter2")
    'FATAL: no *** here'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MASK = "***"
#: ``scheme://user:PASSWORD@``: the password runs to the last ``@`` before the host part.
_URI_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:)(?P<secret>.*)@",
                           re.DOTALL)
#: ``password=...`` in a keyword/value string or a URI's query (quoted, or up to a separator).
_KEYWORD_PASSWORD = re.compile(
    r"(?P<head>(?:^|[\s?&])password\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|[^\s&#]*)",
    re.IGNORECASE)


def format_conninfo(params: Mapping[str, object]) -> str:
    """``key=value`` pairs in the order given, quoted as libpq reads them; ``None`` skipped."""
    return " ".join(f"{key}={_quote(str(value))}" for key, value in params.items()
                    if value is not None)


def _quote(value: str) -> str:
    if value and not any(char in value for char in " \t\n\r\\'="):
        return value
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def redact_dsn(dsn: str) -> str:
    """``dsn`` with every password in it (URI user info, ``password=`` keywords or query
    parameters) replaced by ``***``.

    Example:
        >>> redact_dsn("host=db user=ci password='a b\\\\'c' dbname=app")
        'host=db user=ci password=*** dbname=app'
        >>> redact_dsn("postgres://ci:p@ss@db/app?sslmode=require&password=x")
        'postgres://ci:***@db/app?sslmode=require&password=***'
    """
    text = _URI_PASSWORD.sub(lambda m: m.group("head") + MASK + "@", dsn, count=1)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + MASK, text)


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with each non-empty secret replaced by ``***`` (for messages that quote a
    library's error, which may echo what it was given)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
