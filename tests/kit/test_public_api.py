"""The public library API, used as another repository uses it: only ``convguard.kit`` names.

A script builds the schema from the app's ``schema.prisma``, seeds rows that leave out the
``@updatedAt`` columns (and the ``uuid()`` ids Prisma Client would generate), runs the app's query
bound as Prisma binds it and reads a value by column name. It is run as a script (``runpy``, in
this process) from a copy of ``fixtures/revenue_app``, so nothing but the public API can help it.
"""

from __future__ import annotations

import ast
import runpy
from datetime import datetime
from pathlib import Path

import pytest

import convguard
import convguard.kit as kit

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "fixtures" / "revenue_app"

SCRIPT = '''\
from datetime import datetime

from convguard.kit import load_query, run_query, schema_from_prisma, seed, throwaway_database

schema = schema_from_prisma("prisma/schema.prisma")
query = load_query("app/revenue.ts::getRevenueByCustomer")
with throwaway_database(schema, dsn=DSN, allow_superuser=True) as db:
    seed(db.connection, {
        "Customer": [{"id": "c1", "tenantId": "t1", "name": "Acme"}],
        "Order": [  # no id (uuid()), no updatedAt (@updatedAt), no reference (has no default)
            {"customerId": "c1", "status": "PAID", "amountCents": 1250,
             "paidAt": "2026-01-05T10:00:00Z", "reference": "INV-1"},
            {"customerId": "c1", "status": "PAID", "amountCents": 750,
             "paidAt": "2026-02-01T00:00:00Z", "reference": "INV-2"},
        ],
    }, schema)
    rows = run_query(db.connection, query, {"tenantIds": ["t1"], "from": datetime(2026, 1, 1),
                                            "to": datetime(2026, 2, 1)}, driver="prisma")
    REVENUE = rows[0]["revenue_cents"]
    FIRST = rows[0]
    COLUMNS = rows.columns
    STAMPED = db.connection.execute(
        'SELECT count(*) FROM "Order" WHERE "updatedAt" IS NOT NULL AND id IS NOT NULL').fetchone()
'''


@pytest.fixture()
def app(fresh_repository) -> Path:
    """A fresh repository of the app, as the current folder."""
    return fresh_repository(APP, "shop")



def test_the_script_imports_public_names_only() -> None:
    for node in ast.walk(ast.parse(SCRIPT)):
        if isinstance(node, ast.ImportFrom) and node.module.startswith("convguard"):
            assert not any(part.startswith("_") for part in node.module.split("."))
            assert all(alias.name in kit.__all__ for alias in node.names)


def test_a_script_with_public_names_runs_the_apps_query(app: Path, dsn: str) -> None:
    result = runpy.run_path(str(_write(app, SCRIPT)), init_globals={"DSN": dsn})
    assert result["REVENUE"] == 1250  # the order paid at `to` is out of [from, to)
    assert result["COLUMNS"] == ("customer", "revenue_cents", "orders")
    assert result["FIRST"] == ("Acme", 1250, 1) and result["FIRST"][0] == "Acme"
    assert result["FIRST"].as_dict() == {"customer": "Acme", "revenue_cents": 1250, "orders": 1}
    assert result["STAMPED"] == (2,)


def test_seed_takes_the_ddl_text_the_database_was_made_from(dsn: str) -> None:
    ddl = ('CREATE TYPE "Status" AS ENUM (\'OPEN\', \'PAID\');\n'
           'CREATE TABLE "Customer" (id text PRIMARY KEY, name text NOT NULL);\n'
           'CREATE TABLE "Invoice" (id serial PRIMARY KEY, "customerId" text NOT NULL '
           'REFERENCES "Customer"(id), status "Status" NOT NULL DEFAULT \'OPEN\', '
           'amount numeric(12,2) NOT NULL, "issuedAt" timestamp(3) NOT NULL, '
           '"createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP);\n')
    with kit.throwaway_database(ddl, dsn=dsn, allow_superuser=True) as db:
        count = kit.seed(db.connection, {  # children before parents: seed orders them
            "Invoice": [{"customerId": "acme", "amount": 10.5, "issuedAt": "2026-01-05T10:00:00Z"}],
            "Customer": [{"id": "acme", "name": "Acme"}]}, ddl)
        assert count == 2
        row = db.connection.execute('SELECT status::text, amount, "issuedAt" FROM "Invoice"'
                                    ).fetchone()
        assert row[0] == "OPEN" and float(row[1]) == 10.5 and row[2] == datetime(2026, 1, 5, 10)
        with pytest.raises(convguard.ScenarioError, match="has no column 'nope'"):
            kit.seed(db.connection, {"Customer": [{"id": "x", "nope": 1}]}, ddl)


def test_load_and_run_scenarios_judge_by_expected_rows(app: Path, dsn: str) -> None:
    scenarios = kit.load_scenarios("scenarios", "app/revenue.ts::getRevenueByCustomer")
    assert isinstance(scenarios[0], kit.Scenario)
    assert isinstance(scenarios[1].expected, kit.ExpectedRows)
    results = kit.run_scenarios("app/revenue.ts::getRevenueByCustomer", scenarios, dsn=dsn,
                                allow_superuser=True)
    assert [r.passed for r in results] == [True, True, True]
    assert isinstance(results[0], kit.ScenarioResult)
    query = app / "app" / "revenue.ts"
    query.write_text(query.read_text().replace('o."paidAt" < ${to}', 'o."paidAt" <= ${to}'))
    failed = [r for r in kit.run_scenarios("app/revenue.ts", "scenarios", dsn=dsn,
                                                 allow_superuser=True) if not r.passed]
    assert [r.scenario for r in failed] == ["paid-in-range"]
    assert isinstance(failed[0].comparison, kit.RowComparison)
    assert "-  Acme      1000 *" in kit.format_text(failed)


def test_the_top_level_package_exports_the_schema_types() -> None:
    from convguard import Column, Schema, Table

    schema = Schema((Table("t", (Column("id", "text", nullable=False, primary_key=True),)),))
    assert schema.table("t").column("id").primary_key
    assert {"Schema", "Table", "Column"} <= set(convguard.__all__)


def _write(folder: Path, text: str) -> Path:
    path = folder / "use_convguard.py"
    path.write_text(text)
    return path
