"""Which driver binds a source file's queries: the application's stack, read from its source.

``driver = "auto"`` (the default) picks, per host file:

- ``prisma`` for a TypeScript/JavaScript file that uses Prisma: it imports ``@prisma/client`` (or
  ``@prisma/adapter-pg``), builds SQL with ``Prisma.sql``/``Prisma.join``/``Prisma.raw``, or calls
  ``$queryRaw``/``$executeRaw`` (and their ``Unsafe`` forms) on a client: Prisma 7 runs those
  through ``@prisma/adapter-pg``, which sends a ``Date`` as UTC text without an offset;
- ``node-postgres`` for one that uses ``pg`` directly (``require("pg")``, ``from "pg"``,
  ``new Pool(``/``new Client(``): a ``Date`` goes out as local time with its offset;
- otherwise, and for ``.sql`` files, :data:`AUTO_FALLBACK`.

A configured driver (``driver = ...`` at the top of the configuration or in a ``[[query]]``,
or ``--driver``) wins over the detection.

Example:
    >>> detect_driver("a.ts", 'import { Prisma } from "@prisma/client"')
    'prisma'
    >>> detect_driver("a.ts", "const { Pool } = require('pg'); const pool = new Pool()")
    'node-postgres'
    >>> detect_driver("q.sql", "SELECT 1") is None
    True
    >>> resolve_driver("auto", "q.sql", "SELECT 1"), resolve_driver("typed", "a.ts", "$queryRaw")
    ('node-postgres', 'typed')
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convguard._model import ExtractedQuery

AUTO = "auto"
#: What ``auto`` means where nothing in the source names the stack (and for ``.sql`` files).
AUTO_FALLBACK = "node-postgres"
SCRIPT_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")

_PRISMA = re.compile(
    r"""@prisma/(?:client|adapter-pg)\b|\bPrisma\s*\.\s*(?:sql|join|raw|empty)\b"""
    r"""|\$(?:queryRaw|executeRaw)(?:Unsafe)?\b|\bPrismaClient\b|\bPrismaPg\b""")
_NODE_POSTGRES = re.compile(
    r"""\brequire\s*\(\s*['"]pg['"]\s*\)|\bfrom\s+['"]pg['"]|\bimport\s*\(\s*['"]pg['"]\s*\)"""
    r"""|\bnew\s+(?:pg\s*\.\s*)?(?:Pool|Client)\s*\(""")


def detect_driver(path: str, text: str) -> str | None:
    """``prisma``, ``node-postgres`` or None (nothing in the source says) for a host file."""
    if not path.lower().endswith(SCRIPT_SUFFIXES):
        return None
    if _PRISMA.search(text):
        return "prisma"
    if _NODE_POSTGRES.search(text):
        return "node-postgres"
    return None


def resolve_driver(configured: str, path: str, text: str) -> str:
    """The driver that binds ``path``'s queries: the configured one, or for ``auto`` the
    detected one (:data:`AUTO_FALLBACK` when nothing is detected)."""
    if configured != AUTO:
        return configured
    return detect_driver(path, text) or AUTO_FALLBACK


_PRISMA_TAG = re.compile(r"\$(?:queryRaw|executeRaw)|^Prisma\.")


def driver_for_query(configured: str, query: ExtractedQuery) -> str:
    """:func:`resolve_driver` for an extracted query: its host file's text when it can be read,
    else its tag (``prisma.$queryRaw``, ``Prisma.sql`` mean Prisma).

    Example:
        >>> from convguard.extract import extract_source
        >>> q = extract_source("gone.ts", "const q = prisma.$queryRaw`SELECT 1`").queries[0]
        >>> driver_for_query("auto", q), driver_for_query("node-postgres", q)
        ('prisma', 'node-postgres')
    """
    if configured != AUTO:
        return configured
    try:
        with open(query.path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError, ValueError):
        text = None
    if text is not None:
        return resolve_driver(configured, query.path, text)
    if query.path.lower().endswith(SCRIPT_SUFFIXES) and _PRISMA_TAG.search(query.tag):
        return "prisma"
    return AUTO_FALLBACK


__all__ = ["AUTO", "AUTO_FALLBACK", "SCRIPT_SUFFIXES", "detect_driver", "driver_for_query",
           "resolve_driver"]
