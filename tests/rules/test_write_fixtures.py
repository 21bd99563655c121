"""Data-driven: the columns a write names (``fixtures/writes/``, ``fixtures/bad/unresolved-write-column.*``).

Every file in ``fixtures/writes/`` is clean under convguard, and PostgreSQL agrees both ways: each
statement of ``writes.sql`` prepares on a database made from the schema, and each statement of the
bad variant fails there with 42703, the error CG003 predicts. ``PREPARE`` resolves every column
without running anything, so no rows are needed. See ``fixtures/writes/README.md``.
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any


import psycopg
import pytest

from convguard._check import check_source
from convguard._prisma import schema_from_config

ROOT = Path(__file__).resolve().parents[2]
WRITES = ROOT / "fixtures" / "writes"
CLEAN = sorted(path for path in WRITES.iterdir() if path.suffix in (".ts", ".sql"))
BAD_SQL = ROOT / "fixtures" / "bad" / "unresolved-write-column.sql"
SCHEMA = ROOT / "fixtures" / "prisma" / "schema.prisma"
END = re.compile(r";[ \t]*(?:--[^\n]*)?\n")
# The clean file writes a table the schema does not describe (convguard never judges it); the
# database needs it for PREPARE.
OUTSIDE_TABLE = 'CREATE TABLE outside_table (anything text PRIMARY KEY, "AnyCase" text, ' \
                'whatever text)'


def statements(path: Path) -> list[str]:
    """The statements of a fixture file (each ends with ``;`` at the end of a line, before an
    optional ``--`` comment)."""
    text = "\n".join(line for line in path.read_text("utf-8").splitlines()
                     if not line.lstrip().startswith("--"))
    return [part.strip() for part in END.split(text + "\n") if part.strip()]


@pytest.mark.parametrize("path", CLEAN, ids=[path.name for path in CLEAN])
def test_clean_writes_have_no_finding(path: Path) -> None:
    result = check_source(str(path), path.read_text(encoding="utf-8"))
    assert not result.errors, result.errors
    assert result.queries >= 1
    details = "\n".join(f"{d.line}:{d.column} {d.code} {d.message}" for d in result.diagnostics)
    assert result.diagnostics == (), details


def prepare(connection: psycopg.Connection[Any], sql: str) -> str | None:
    """The SQLSTATE PostgreSQL raises preparing ``sql``, or None when it prepares."""
    connection.execute("SAVEPOINT probe")
    try:
        connection.execute(f"PREPARE probe AS {sql.rstrip(';')}")
        connection.execute("DEALLOCATE probe")
        return None
    except psycopg.Error as error:
        return error.sqlstate
    finally:
        connection.execute("ROLLBACK TO SAVEPOINT probe")


def test_postgresql_agrees(bench: Any) -> None:
    clean, bad = statements(WRITES / "writes.sql"), statements(BAD_SQL)
    assert len(clean) >= 10 and len(bad) >= 10
    with bench.scenario_connection(schema_from_config(SCHEMA)) as connection:
        connection.execute(OUTSIDE_TABLE)
        assert {sql: prepare(connection, sql) for sql in clean} == dict.fromkeys(clean)
        assert {sql: prepare(connection, sql) for sql in bad} == dict.fromkeys(bad, "42703")
