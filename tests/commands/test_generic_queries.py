"""``convguard test`` on an application that is not the booking one: a query with no profile.

A fresh repository is built in ``tmp_path`` from ``fixtures/revenue_app`` (its own
``prisma/schema.prisma`` with Customer/Order, a ``$queryRaw`` revenue query with
``${Prisma.join(tenantIds)}``, ``${from}``, ``${to}``, scenario files with expected rows). The
correct query conforms; an inclusive upper bound or a dropped filter fails with a row diff.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
from pathlib import Path

import pytest

from command_runs import edit, run

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "fixtures" / "revenue_app"
QUERY = "app/revenue.ts"
FUNCTION = "getRevenueByCustomer"
HALF_OPEN = 'AND o."paidAt" < ${to}'


@pytest.fixture()
def repo(fresh_repository) -> Path:
    """A fresh repository of the app, as the current folder."""
    return fresh_repository(APP, "shop")


def write(root: Path, name: str, text: str) -> Path:
    path = root / "scenarios" / name
    path.write_text(text)
    return path


def test_configured_query_conforms_with_no_path(capsys, repo: Path) -> None:
    """``convguard test`` alone: the configuration's query, the app's schema, its scenarios."""
    code, out, err = run(capsys, examples=40)
    assert (code, err) == (0, ""), out + err
    assert "3 passed, 0 failed (1 query x 3 scenarios, prisma" in out  # auto: the app uses Prisma
    assert "note: no generated datasets or metamorphic relations for the 1 query without a " \
        "profile" in out


def test_path_function_and_scenarios_dir_conform(capsys, repo: Path, dsn: str,
                                                 tmp_path: Path) -> None:
    elsewhere = tmp_path / "more-scenarios"
    shutil.copytree(repo / "scenarios", elsewhere)
    code, out, err = run(capsys, f"{QUERY}::{FUNCTION}", scenarios=[str(elsewhere)], dsn=dsn,
                         verbose=True)
    assert (code, err) == (0, "")
    assert out.count("PASS app/revenue.ts:7 with ") == 3


def test_inclusive_upper_bound_fails_with_a_row_diff(capsys, repo: Path, dsn: str) -> None:
    edit(repo / QUERY, HALF_OPEN, 'AND o."paidAt" <= ${to}')
    code, out, _ = run(capsys, dsn=dsn)
    assert code == 1
    assert "FAIL app/revenue.ts:7 with scenarios/paid-in-range.yaml (paid-in-range)" in out
    table = out[out.index("rows differ"):].splitlines()
    assert table[1].split() == ["customer", "revenue_cents", "orders"]
    assert table[2].split() == ["-", "Acme", "1000", "*", "1", "*", "(expected", "line", "18)"]
    assert table[3].split() == ["+", "Acme", "1500", "*", "2", "*"]
    assert "1 failed" in out and "does not conform" in out


def test_dropped_filter_fails_with_the_rows_in_json(capsys, repo: Path, dsn: str) -> None:
    edit(repo / QUERY, "AND o.status = 'PAID'\n", "")
    code, out, _ = run(capsys, dsn=dsn, format="json")
    assert code == 1
    document = json.loads(out)
    failures = {f["scenario"]: f for f in document["failures"]}
    assert set(failures) == {"paid-in-range", "nothing-paid"}  # the third has only PAID orders
    paid = failures["paid-in-range"]
    assert paid["check"] == "rows"
    assert paid["diff"] == [
        {"row": "row 1", "field": "revenue_cents", "expected": 1000, "actual": 1700},
        {"row": "row 1", "field": "orders", "expected": 1, "actual": 2}]
    entry = paid["rows"]["entries"][0]
    assert entry["status"] == "differ" and entry["differs"] == ["revenue_cents", "orders"]
    assert entry["expected"] == {"customer": "Acme", "revenue_cents": 1000, "orders": 1}
    assert entry["actual"] == {"customer": "Acme", "revenue_cents": 1700, "orders": 2}
    nothing = failures["nothing-paid"]["rows"]
    assert [e["status"] for e in nothing["entries"]] == ["unexpected"]
    assert nothing["entries"][0]["actual"]["customer"] == "Acme"


def test_dropped_tenant_filter_fails_with_an_unexpected_row(capsys, repo: Path, dsn: str) -> None:
    edit(repo / QUERY, 'WHERE c."tenantId" IN (${Prisma.join(tenantIds)})\n      AND ', "WHERE ")
    code, out, _ = run(capsys, f"{QUERY}::{FUNCTION}", dsn=dsn)
    assert code == 1
    unexpected = [line.split() for line in out.splitlines() if "(unexpected" in line]
    assert unexpected == [["+", "Globex", "900", "1", "(unexpected:", "not", "in", "expected)"]]
    # the scenarios' tenantIds, now bound to nothing, point at the dropped filter
    assert "note: params.tenantIds of 3 scenarios (scenarios/nothing-paid.yaml:2 and 2 more) " \
        f"is interpolated by no query that runs it ({QUERY}::{FUNCTION}): a filter dropped " \
        "from the query, or a stale parameter?" in out


def test_a_parameter_of_another_combination_is_not_unused(capsys, repo: Path, dsn: str) -> None:
    """The kit runs the first combination; a parameter of the other branch is still the query's,
    so no note calls it unused (and no parameter is unused in the sample app itself)."""
    code, out, _ = run(capsys, dsn=dsn)
    assert code == 0 and "interpolated by no query" not in out
    edit(repo / QUERY, "export async function getRevenueByCustomer(tenantIds: string[], from: Date, to: "
         "Date) {", "export async function getRevenueByCustomer(tenantIds: string[], from: Date, "
         "to: Date, minCents?: number) {\n  const floor = minCents === undefined ? Prisma.empty "
         ': Prisma.sql`AND o."amountCents" >= ${minCents}`;')
    edit(repo / QUERY, "AND o.status = 'PAID'", "AND o.status = 'PAID' ${floor}")
    for scenario in (repo / "scenarios").glob("*.yaml"):
        scenario.write_text(scenario.read_text().replace("params: {", "params: {minCents: 1, "))
    code, out, _ = run(capsys, dsn=dsn)
    assert code == 0 and "interpolated by no query" not in out, out
    (repo / "scenarios" / "two-customers-in-order.json").unlink()
    edit(repo / QUERY, "AND o.status = 'PAID' ${floor}", "AND o.status = 'PAID'")
    code, out, _ = run(capsys, dsn=dsn)
    assert code == 0 and "note: params.minCents of 2 scenarios" in out


def test_ordered_rows_must_come_in_order(capsys, repo: Path, dsn: str) -> None:
    edit(repo / QUERY, "ORDER BY c.name", "ORDER BY c.name DESC")
    code, out, _ = run(capsys, dsn=dsn)
    assert code == 1
    assert "two-customers-in-order" in out and "(in order; - expected" in out
    assert "paid-in-range" not in out  # a multiset scenario does not care


def test_a_parameter_left_out_is_an_error_naming_it(capsys, repo: Path, dsn: str) -> None:
    text = (repo / "scenarios" / "nothing-paid.yaml").read_text()
    write(repo, "nothing-paid.yaml", text.replace(", to: 2026-02-01T00:00:00Z", ""))
    code, out, err = run(capsys, dsn=dsn)
    assert code == 2 and out == ""
    assert err.startswith("convguard: error: scenarios/nothing-paid.yaml:2: parameter 'to' is "
                          "not given (the query app/revenue.ts::getRevenueByCustomer "
                          "interpolates ${to} at app/revenue.ts:14)"), err
    assert "hint: add to: <value> under params" in err


def test_params_may_be_renamed_in_the_configuration(capsys, repo: Path, dsn: str) -> None:
    config = repo / "convguard.toml"
    config.write_text(config.read_text() + '[query.params]\n"Prisma.join(tenantIds)" = "tenants"\n')
    for path in (repo / "scenarios").glob("*.yaml"):
        path.write_text(path.read_text().replace("tenantIds:", "tenants:"))
    path = repo / "scenarios" / "two-customers-in-order.json"
    path.write_text(path.read_text().replace('"tenantIds"', '"tenants"'))
    code, out, err = run(capsys, dsn=dsn)
    assert (code, err) == (0, ""), out + err


def test_a_misspelt_parameter_is_named_with_its_close_match(capsys, repo: Path,
                                                            dsn: str) -> None:
    text = (repo / "scenarios" / "nothing-paid.yaml").read_text()
    write(repo, "nothing-paid.yaml", text.replace("tenantIds:", "tenantId:"))
    code, _, err = run(capsys, dsn=dsn)
    assert code == 2
    assert "scenarios/nothing-paid.yaml:2: parameter 'tenantIds' is not given" in err
    assert "hint: params has 'tenantId': did you mean 'tenantIds'?" in err


def test_a_not_null_column_the_query_reads_must_be_given(capsys, repo: Path, dsn: str) -> None:
    text = (repo / "scenarios" / "nothing-paid.yaml").read_text()
    write(repo, "nothing-paid.yaml", text.replace("status: REFUNDED, amountCents: 1000, ",
                                                  "status: REFUNDED, "))
    code, _, err = run(capsys, dsn=dsn)
    assert code == 2
    assert ('scenarios/nothing-paid.yaml:6: table "Order": row 1 leaves out NOT NULL column '
            "amountCents, which has no default and which the query reads") in err


def test_expected_rows_must_list_every_result_column(capsys, repo: Path, dsn: str) -> None:
    text = (repo / "scenarios" / "paid-in-range.yaml").read_text()
    write(repo, "paid-in-range.yaml", text.replace(", orders: 1}", "}"))
    code, out, _ = run(capsys, dsn=dsn)
    assert code == 1
    assert "expected row 1 (line 18) leaves out orders: list every result column " \
        "(customer, revenue_cents, orders)" in out


def test_without_expected_rows_the_scenario_is_refused(capsys, repo: Path, dsn: str) -> None:
    text = (repo / "scenarios" / "nothing-paid.yaml").read_text()
    write(repo, "nothing-paid.yaml", text[:text.index("expected:")])
    code, _, err = run(capsys, dsn=dsn)
    assert code == 2 and "the scenario has no expected rows" in err


def test_a_misspelt_configured_function_names_the_configuration_line(capsys, repo: Path,
                                                                    dsn: str) -> None:
    """The line to fix is the configuration's, as ``convguard check`` reports it."""
    config = repo / "convguard.toml"
    config.write_text(config.read_text().replace(FUNCTION, "getRevenue"))
    code, _, err = run(capsys, dsn=dsn)
    assert code == 2
    assert f"convguard.toml:6: no query inside function 'getRevenue' of {QUERY}" in err
    assert "fix the [[query]] function name" in err and f"functions with queries: {FUNCTION}" in err


CUSTOMERS_SQL = 'SELECT c.name FROM "Customer" c WHERE c."tenantId" = :tenantId ORDER BY c.name\n'
CUSTOMERS_SCENARIO = """name: customers-of-t1
params: {tenantId: t1}
tables:
  Customer: [{id: c1, tenantId: t1, name: Acme}, {id: c2, tenantId: t2, name: Beta}]
expected: [{name: Acme}]
"""


def test_a_query_s_own_scenarios_folder_inside_the_top_level_one(capsys, repo: Path,
                                                                  dsn: str) -> None:
    """``scenarios/customers`` claimed by one query is not run against the others (it failed
    with 'parameter tenantIds is not given'), and the summary does not multiply the counts."""
    (repo / "queries").mkdir()
    (repo / "queries" / "customers.sql").write_text(CUSTOMERS_SQL)
    (repo / "scenarios" / "customers").mkdir()
    write(repo, "customers/one.yaml", CUSTOMERS_SCENARIO)
    config = repo / "convguard.toml"
    config.write_text(config.read_text() + '\n[[query]]\npath = "queries/customers.sql"\n'
                      'scenarios = ["scenarios/customers"]\n')
    code, out, err = run(capsys, dsn=dsn)
    assert (code, err) == (0, ""), out + err
    assert "4 passed, 0 failed (2 queries over 4 scenarios, " in out
    for scenario in (repo / "scenarios").glob("*.*"):
        scenario.unlink()  # the revenue query is left with no scenario of its own
    code, out, err = run(capsys, dsn=dsn)
    assert code == 2
    assert "convguard.toml:2: the scenarios folders hold no scenario of their own" in err


def test_no_schema_is_an_error_saying_how_to_give_one(capsys, repo: Path, dsn: str) -> None:
    shutil.rmtree(repo / "prisma")
    code, _, err = run(capsys, dsn=dsn)
    assert code == 2
    assert "no schema for app/revenue.ts" in err and 'set schema = "prisma/schema.prisma"' in err


def test_the_configured_schema_wins(capsys, repo: Path, dsn: str) -> None:
    (repo / "prisma").rename(repo / "db")
    config = repo / "convguard.toml"
    config.write_text('schema = "db/schema.prisma"\n' + config.read_text())
    code, out, err = run(capsys, dsn=dsn)
    assert (code, err) == (0, ""), out + err


def test_no_booking_scenarios_for_a_query_without_a_profile(capsys, repo: Path, dsn: str) -> None:
    config = repo / "convguard.toml"
    config.write_text(config.read_text().replace('scenarios = ["scenarios"]\n', ""))
    code, _, err = run(capsys, dsn=dsn)
    assert code == 2
    assert "no scenarios to run" in err and "Client" not in err


def test_timestamps_bind_as_dates_and_strings_as_strings(capsys, repo: Path, dsn: str) -> None:
    """Unquoted / !date / {"$date"}: a JS Date, serialised as the app's driver does (Prisma's
    adapter: UTC text without an offset; plain node-postgres: local time with an offset);
    quoted: the string itself."""
    (repo / "app" / "echo.ts").write_text(
        'import { prisma } from "./db";\n'
        "export const echo = (a: Date, b: Date, c: string) => prisma.$queryRaw`\n"
        "  SELECT ${a}::text AS a, ${b}::text AS b, ${c}::text AS c, ${a}::timestamp AS at`;\n")
    scenario = write(repo, "echo.yaml", """\
name: echo
params: {a: 2026-01-05T10:00:00.250Z, b: !date "2026-01-05", c: "2026-01-05T10:00:00Z"}
tables: {}
expected:
  - {a: "2026-01-05 10:00:00.250", b: "2026-01-05 00:00:00", c: "2026-01-05T10:00:00Z",
     at: 2026-01-05T12:00:00.250+02:00}
""")
    code, out, err = run(capsys, "app/echo.ts", scenarios=[str(scenario)], dsn=dsn)
    assert (code, err) == (0, ""), out + err
    scenario.write_text(scenario.read_text().replace(
        '"2026-01-05 10:00:00.250", b: "2026-01-05 00:00:00"',
        '"2026-01-05T10:00:00.250+00:00", b: "2026-01-05T00:00:00.000+00:00"'))
    code, out, err = run(capsys, "app/echo.ts", scenarios=[str(scenario)], dsn=dsn,
                         driver="node-postgres")
    assert (code, err) == (0, ""), out + err


def test_mutate_runs_the_scenarios_on_a_generic_query(capsys, repo: Path, dsn: str) -> None:
    from convguard.commands.mutate import run_mutate_command

    out = io.StringIO()
    code = run_mutate_command(argparse.Namespace(
        paths=[f"{QUERY}::{FUNCTION}"], format="json", dsn=dsn, examples=40,
        allow_superuser=True), out)
    document = json.loads(out.getvalue())
    assert code == 0, out.getvalue()  # the sample app's scenarios kill every mutant: score 1.0
    assert document["score"] == 1.0 and document["survived"] == 0
    assert document["equivalent"] == 1  # JNK-1, recorded with its reason in convguard.toml
    killers = {k for m in document["mutants"] for k in m["killed_by"]}
    assert any(k.startswith("scenario paid-in-range") for k in killers)
    assert any("no profile, so no generated datasets or metamorphic relations" in w
               for w in document["warnings"])
    upper = [m for m in document["mutants"] if "<→<=" in m["id"] and "paidAt" in m["diff"]]
    assert upper and all(m["status"] == "killed" for m in upper)


def test_bench_says_it_needs_a_profile(capsys, repo: Path, dsn: str) -> None:
    from convguard.commands.bench import run_bench_command

    out = io.StringIO()
    code = run_bench_command(argparse.Namespace(allow_superuser=True, paths=[f"{QUERY}::{FUNCTION}"], format="text",
                                                dsn=dsn, leads=10), out)
    err = capsys.readouterr().err
    assert code == 2
    assert "bench needs a data generator from the query's profile" in err
    assert "has no profile" in err


def test_bench_with_no_path_names_the_configured_query(capsys, repo: Path, dsn: str) -> None:
    """``convguard bench`` alone on an app whose queries have no profile: the error names the
    configured query and why (it used to suggest the booking profile and a PATH, which fails the
    same way)."""
    from convguard.commands.bench import run_bench_command

    out = io.StringIO()
    code = run_bench_command(argparse.Namespace(allow_superuser=True, paths=[], format="text",
                                                dsn=dsn, leads=10), out)
    err = capsys.readouterr().err
    assert code == 2
    assert f"{QUERY}:7: bench needs a data generator from the query's profile, and " \
        f"{QUERY}::{FUNCTION} has no profile" in err
    assert "booking-conversion\")" not in err and "give PATH" not in err
