"""A time window on a ``timestamp(3)`` column, bound as Prisma 7 and as plain node-postgres bind it.

The same TypeScript action, the same ``Date``s, on a real PostgreSQL: from a Node.js process in
Asia/Kolkata (+05:30) Prisma's adapter sends ``2026-01-01 00:00:00`` (UTC, no offset) and the
window is right, while plain node-postgres sends ``2026-01-01T05:30:00.000+05:30``, which a
``timestamp`` reads as 05:30 (the offset is dropped): the window moves 5.5 hours and the count
changes. Under Prisma the process's zone never matters, but the *session* ``TimeZone`` does when
the query casts to ``timestamptz`` and converts back with ``AT TIME ZONE 'UTC'`` (the pitfall
SEMANTICS.md documents).

Every expected row set below is derived by hand in the case's comment.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from convguard._schema import Column, Schema, Table
from convguard.kit import load_query, run_query, seed, throwaway_database

SCHEMA = Schema(tables=(Table("Event", (
    Column("id", "text", nullable=False, primary_key=True),
    Column("at", "timestamp(3)", nullable=False),   # Prisma's DateTime: UTC wall time
)),))
# Stored UTC wall times, around the edges of every window the cases below produce.
EVENTS = [
    {"id": "a", "at": "2025-12-31T20:00:00.000Z"},
    {"id": "b", "at": "2025-12-31T23:59:59.999Z"},
    {"id": "c", "at": "2026-01-01T00:00:00.000Z"},
    {"id": "d", "at": "2026-01-01T05:29:59.999Z"},
    {"id": "e", "at": "2026-01-01T05:30:00.000Z"},
    {"id": "f", "at": "2026-01-01T23:59:59.999Z"},
    {"id": "g", "at": "2026-01-02T00:00:00.000Z"},
    {"id": "h", "at": "2026-01-02T05:30:00.000Z"},
]
# The window the app asks for: [2026-01-01T00:00Z, 2026-01-02T00:00Z) -> c, d, e, f.
WINDOW = {"from": datetime(2026, 1, 1), "to": datetime(2026, 1, 2)}

# How the action writes the bounds: `bare` lets PostgreSQL type them from the column
# (timestamp); the others cast.
BOUNDS = {
    "bare": ("${from}", "${to}"),
    "timestamp": ("${from}::timestamp", "${to}::timestamp"),
    "timestamptz": ("${from}::timestamptz", "${to}::timestamptz"),
    "timestamptz-at-utc": ("(${from}::timestamptz AT TIME ZONE 'UTC')",
                           "(${to}::timestamptz AT TIME ZONE 'UTC')"),
}

CASES = [
    # (bounds, driver, Node.js process zone, session TimeZone, expected ids)
    # Prisma sends '2026-01-01 00:00:00' / '2026-01-02 00:00:00': typed timestamp from the
    # column, read exactly: [Jan 1 00:00, Jan 2 00:00) -> c, d, e, f (4).
    ("bare", "prisma", "Asia/Kolkata", "UTC", "c,d,e,f"),
    # The file imports @prisma/client, so auto binds it as prisma too.
    ("bare", "auto", "Asia/Kolkata", "UTC", "c,d,e,f"),
    # Plain pg sends '2026-01-01T05:30:00.000+05:30'; as timestamp the offset is dropped:
    # [Jan 1 05:30, Jan 2 05:30) -> e, f, g (3): d (05:29:59.999) leaves, g (Jan 2 00:00) joins.
    ("bare", "node-postgres", "Asia/Kolkata", "UTC", "e,f,g"),
    # A UTC process: pg sends '...T00:00:00.000+00:00', dropped offset changes nothing (4).
    ("bare", "node-postgres", "UTC", "UTC", "c,d,e,f"),
    # New York (-05:00): '2025-12-31T19:00:00.000-05:00' -> [Dec 31 19:00, Jan 1 19:00)
    # -> a, b, c, d, e (5).
    ("bare", "node-postgres", "America/New_York", "UTC", "a,b,c,d,e"),
    # Prisma from Chatham (+13:45): still '2026-01-01 00:00:00' (4).
    ("bare", "prisma", "Pacific/Chatham", "UTC", "c,d,e,f"),
    # An explicit ::timestamp under Prisma: exact whatever the session (4); under pg from
    # Kolkata the offset is dropped as for `bare` (3).
    ("timestamp", "prisma", "Asia/Kolkata", "Asia/Kolkata", "c,d,e,f"),
    ("timestamp", "node-postgres", "Asia/Kolkata", "UTC", "e,f,g"),
    # The pitfall: Prisma's offset-less '2026-01-01 00:00:00'::timestamptz is read in the
    # session's zone. Session Kolkata: Jan 1 00:00 +05:30 = Dec 31 18:30Z, AT TIME ZONE 'UTC'
    # gives Dec 31 18:30: [Dec 31 18:30, Jan 1 18:30) -> a, b, c, d, e (5).
    ("timestamptz-at-utc", "prisma", "UTC", "Asia/Kolkata", "a,b,c,d,e"),
    # Session New York: Jan 1 00:00 -05:00 = 05:00Z: [Jan 1 05:00, Jan 2 05:00) -> d, e, f, g.
    ("timestamptz-at-utc", "prisma", "UTC", "America/New_York", "d,e,f,g"),
    # A UTC session reads it right (4) ...
    ("timestamptz-at-utc", "prisma", "Asia/Kolkata", "UTC", "c,d,e,f"),
    # ... and plain pg's text carries its offset, so any session reads it right (4).
    ("timestamptz-at-utc", "node-postgres", "Asia/Kolkata", "Asia/Kolkata", "c,d,e,f"),
    # `at >= $1::timestamptz` alone converts the column in the same session zone as the
    # parameter, so the shift cancels (Kolkata has no DST): [Jan 1 00:00, Jan 2 00:00) (4).
    ("timestamptz", "prisma", "UTC", "Asia/Kolkata", "c,d,e,f"),
]


def action(bounds: str) -> str:
    low, high = BOUNDS[bounds]
    return (
        'import { Prisma } from "@prisma/client";\n'
        'import { prisma } from "@/lib/prisma";\n\n'
        "export async function countEvents(from: Date, to: Date) {\n"
        "  return prisma.$queryRaw`\n"
        "    SELECT count(*)::int, coalesce(string_agg(id, ',' ORDER BY id), '')\n"
        f'    FROM "Event" WHERE "at" >= {low} AND "at" < {high}`;\n'
        "}\n")


@pytest.fixture(scope="module")
def database():
    with throwaway_database(SCHEMA) as db:
        assert seed(db.connection, {"Event": EVENTS}, SCHEMA) == len(EVENTS)
        yield db


@pytest.fixture(scope="module")
def actions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("app")
    paths = {}
    for bounds in BOUNDS:
        paths[bounds] = folder / f"{bounds}.ts"
        paths[bounds].write_text(action(bounds))
    return paths


@pytest.mark.parametrize(("bounds", "driver", "client_zone", "session_zone", "ids"), CASES)
def test_window_on_a_timestamp3_column(database, actions: dict[str, Path], bounds: str,
                                       driver: str, client_zone: str, session_zone: str,
                                       ids: str) -> None:
    query = load_query(f"{actions[bounds]}::countEvents")
    database.connection.execute(f"SET TimeZone = '{session_zone}'")
    try:
        rows = run_query(database.connection, query, WINDOW, driver=driver,
                         client_time_zone=client_zone)
    finally:
        database.connection.execute("SET TimeZone = 'UTC'")
    assert rows == [(len(ids.split(",")), ids)]


def test_from_kolkata_prisma_and_node_postgres_count_differently(database, actions) -> None:
    query = load_query(f"{actions['bare']}::countEvents")
    counts = {driver: run_query(database.connection, query, WINDOW, driver=driver,
                                client_time_zone="Asia/Kolkata")[0][0]
              for driver in ("prisma", "node-postgres")}
    assert counts == {"prisma": 4, "node-postgres": 3}
