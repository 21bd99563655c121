"""The library API on a query and schema that have nothing to do with bookings.

An invoicing app: customers, invoices, payments; a TypeScript action sums what each customer was
invoiced and paid in a date range, for a list of customers (``Prisma.join``). This is the
example of the kit's documentation: ``load_query``, ``throwaway_database``, ``seed``,
``run_query``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from convguard._errors import BindingError, QueryFailed, ScenarioError
from convguard._schema import Column, Schema, Table
from convguard.kit import load_query, run_query, seed, throwaway_database

SCHEMA = Schema(tables=(
    Table("Customer", (Column("id", "text", nullable=False, primary_key=True),)),
    Table("Invoice", (
        Column("id", "text", nullable=False, primary_key=True),
        Column("customerId", "text", nullable=False, references=("Customer", "id")),
        Column("amount", "integer", nullable=False),
        Column("status", "text", nullable=False, default="'open'"),
        Column("issuedAt", "timestamp(3)", nullable=False),
        Column("createdAt", "timestamp(3)", nullable=False, default="CURRENT_TIMESTAMP"),
    )),
    Table("Payment", (
        Column("id", "text", nullable=False, primary_key=True),
        Column("invoiceId", "text", nullable=False, references=("Invoice", "id")),
        Column("amount", "integer", nullable=False),
        Column("paidAt", "timestamp(3)", nullable=False),
    )),
))

ACTION = """\
import { Prisma } from "@prisma/client";
import { prisma } from "@/lib/prisma";

export async function getInvoiceTotals(customerIds: string[], since: Date, until: Date) {
  return prisma.$queryRaw`
    SELECT i."customerId", COUNT(DISTINCT i.id)::int AS invoices,
           COALESCE(SUM(i.amount), 0)::int AS invoiced, COALESCE(SUM(p.amount), 0)::int AS paid
    FROM "Invoice" i
    LEFT JOIN "Payment" p ON p."invoiceId" = i.id
    WHERE i."customerId" IN (${Prisma.join(customerIds)})
      AND i."issuedAt" >= (${since}::timestamptz AT TIME ZONE 'UTC')
      AND i."issuedAt" < (${until}::timestamptz AT TIME ZONE 'UTC')
    GROUP BY i."customerId"
    ORDER BY 1`;
}
"""

ROWS = {
    "Customer": [{"id": "acme"}, {"id": "globex"}, {"id": "initech"}],
    "Invoice": [
        {"id": "i1", "customerId": "acme", "amount": 100, "issuedAt": "2026-01-05T10:00:00Z"},
        {"id": "i2", "customerId": "acme", "amount": 50, "issuedAt": "2026-01-31T23:30:00Z"},
        {"id": "i3", "customerId": "globex", "amount": 70, "issuedAt": "2026-01-01T00:00:00Z"},
        {"id": "i4", "customerId": "initech", "amount": 999, "issuedAt": "2026-01-10T00:00:00Z"},
        {"id": "i5", "customerId": "globex", "amount": 5, "issuedAt": "2025-12-31T23:59:59.999Z"},
    ],
    "Payment": [
        {"id": "p1", "invoiceId": "i1", "amount": 100, "paidAt": "2026-01-06T00:00:00Z"},
    ],
}
# A datetime stands for a JS Date (naive = UTC), a str for a JS string, a list for an array.
VALUES = {"customerIds": ["acme", "globex"], "since": datetime(2026, 1, 1),
          "until": datetime(2026, 2, 1)}


@pytest.fixture(scope="module")
def action(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("app") / "invoices.ts"
    path.write_text(ACTION)
    return path


@pytest.fixture(scope="module")
def database():
    with throwaway_database(SCHEMA) as db:
        assert seed(db.connection, ROWS, SCHEMA) == 9
        yield db


def test_the_library_example(action: Path, database) -> None:
    query = load_query(f"{action}::getInvoiceTotals")
    assert [p.expression for p in query.placeholders] == [
        "Prisma.join(customerIds)", "since", "until"]
    rows = run_query(database.connection, query, VALUES)
    assert rows == [("acme", 2, 150, 100), ("globex", 1, 70, 0)]
    # The same with typed parameters, and from a client in another time zone: the query casts
    # to timestamptz and converts to UTC, so neither changes a window.
    assert run_query(database.connection, query, VALUES, driver="typed") == rows
    assert run_query(database.connection, query, VALUES, client_time_zone="Asia/Tokyo") == rows
    # The defaults: a literal one filled in by the kit, a function one by the database.
    assert database.connection.execute(
        'SELECT count(*) FROM "Invoice" WHERE status = \'open\' AND "createdAt" IS NOT NULL'
    ).fetchone() == (5,)


def test_a_cast_to_timestamp_moves_the_window_only_under_plain_node_postgres(
        action: Path, database) -> None:
    shifted = ACTION.replace("::timestamptz AT TIME ZONE 'UTC'", "::timestamp")
    path = action.with_name("shifted.ts")
    path.write_text(shifted)
    query = load_query(str(path), function="getInvoiceTotals")
    utc = run_query(database.connection, query, VALUES)
    assert utc == [("acme", 2, 150, 100), ("globex", 1, 70, 0)]
    # The file uses Prisma, so the default binds as Prisma 7's adapter: '2026-01-01 00:00:00',
    # UTC without an offset, whatever the process's zone; ::timestamp reads it exactly.
    assert run_query(database.connection, query, VALUES, driver="prisma",
                     client_time_zone="America/New_York") == utc
    assert run_query(database.connection, query, VALUES,
                     client_time_zone="America/New_York") == utc
    # With pg used directly, 2026-01-01T00:00Z becomes '2025-12-31T19:00:00.000-05:00', cast to
    # 2025-12-31 19:00: i5 (Dec 31 23:59:59.999) joins the range and i2 (Jan 31 23:30) leaves it.
    new_york = run_query(database.connection, query, VALUES, driver="node-postgres",
                         client_time_zone="America/New_York")
    assert new_york == [("acme", 1, 100, 100), ("globex", 2, 75, 0)]


def test_errors_are_convguard_errors(action: Path, database) -> None:
    query = load_query(f"{action}::getInvoiceTotals")
    with pytest.raises(BindingError, match="no value for 'until'"):
        run_query(database.connection, query, {"customerIds": ["acme"], "since": "2026-01-01"})
    with pytest.raises(ScenarioError, match="no column 'total'"):
        seed(database.connection, {"Invoice": [{"id": "x", "total": 1}]}, SCHEMA)
    broken = load_query(str(_write(action.with_name("broken.ts"),
                                   ACTION.replace("i.amount", "i.amonut"))))
    with pytest.raises(QueryFailed) as error:
        run_query(database.connection, broken, VALUES)
    assert error.value.sqlstate == "42703"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_throwaway_database_takes_ddl_text() -> None:
    with throwaway_database("CREATE TABLE t (x int)") as db:
        db.connection.execute("INSERT INTO t VALUES (1)")
        assert db.connection.execute("SELECT x FROM t").fetchall() == [(1,)]
        name = db.name
        server = db.server
    assert server.stopped and name not in server.created_databases
