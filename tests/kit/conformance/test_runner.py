"""The runner on a real PostgreSQL: untyped binding, isolation, failures with SQLSTATE, verdicts."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

from convguard._errors import QueryFailed, ScenarioError
from convguard.extract import extract_source
from convguard.kit.conformance.binding import bind_query
from convguard.kit.conformance.profile_kit import profile_kit
from convguard.kit.conformance.runner import (
    QueryPlan,
    Workbench,
    execute_bound,
    is_setup_statement,
    statement_timeout_for,
)
from convguard.kit.scenario.files import load_scenarios, parse_scenario
from convguard.profiles.booking_conversion.schema import booking_schema

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "fixtures" / "scenarios"
SQL_QUERY = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
TS_QUERY = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
TS_FUNCTION = "getAiDraftBookingConversionStats"
TS_PARAMS = {"Prisma.join(scope.clientIds)": "client_ids", "maturityCutoff": "maturity_cutoff"}
KIT = profile_kit("booking-conversion")
SCHEMA = booking_schema()
ALL_SCENARIOS = load_scenarios([SCENARIOS], schema=SCHEMA, contract=KIT.contract)
BROKEN_CUTOFF = (
    "WHEN ad.\"sentAt\" > (${maturityCutoff}::timestamptz AT TIME ZONE 'UTC') THEN 3",
    "WHEN ad.\"sentAt\" > ${to} - (${maturityBufferDays} * interval '1 day') THEN 3",
)


def plans_of(path: Path, text: str | None = None, *, function: str | None = None,
             **options: object) -> list[QueryPlan]:
    text = path.read_text() if text is None else text
    extraction = extract_source(str(path), text)
    queries = [q for q in extraction.queries if not is_setup_statement(q)
               and (function is None or q.function == function)]
    return [QueryPlan(query=q, kit=KIT, schema=SCHEMA, params=TS_PARAMS,
                      statement_timeout=statement_timeout_for(q, extraction), **options)
            for q in queries]


def sql_plan(sql: str, tmp_path: Path, **options: object) -> QueryPlan:
    path = tmp_path / "q.sql"
    path.write_text(sql)
    return plans_of(path, **options)[-1]


def ts_plan(text: str | None = None, **options: object) -> QueryPlan:
    return plans_of(TS_QUERY, text, function=TS_FUNCTION, **options)[0]


SCENARIO = ALL_SCENARIOS[0]


# Untyped parameters ----------------------------------------------------------------------------

def _bound(sql: str, values: dict, driver: str):
    return bind_query(extract_source("q.sql", sql).queries[0], values, driver=driver)


def test_node_postgres_sends_untyped_text(conn) -> None:
    moment = {"$1": datetime(2026, 2, 1)}
    # With no type (OID 0) PostgreSQL cannot type a bare parameter at all ...
    with pytest.raises(QueryFailed) as error:
        execute_bound(conn, _bound("SELECT pg_typeof($1)", moment, "node-postgres"))
    assert error.value.sqlstate == "42P18"
    conn.execute("ROLLBACK; BEGIN")
    # ... and in a select list an unknown literal resolves to text; a typed driver sends a type.
    sql = "SELECT pg_typeof(x)::text FROM (SELECT $1 AS x) s"
    assert execute_bound(conn, _bound(sql, moment, "node-postgres")) == [("text",)]
    assert execute_bound(conn, _bound(sql, moment, "typed")) == [("timestamp with time zone",)]


def test_interval_arithmetic_on_an_untyped_timestamp_fails_like_production(conn) -> None:
    sql = "SELECT $1 - (5 * interval '1 day') < now()"
    with pytest.raises(QueryFailed) as error:
        execute_bound(conn, _bound(sql, {"$1": datetime(2026, 2, 1)}, "node-postgres"))
    assert error.value.sqlstate == "42883"
    assert "operator does not exist: interval < timestamp with time zone" in error.value.message
    conn.execute("ROLLBACK; BEGIN")
    assert execute_bound(conn, _bound(sql, {"$1": datetime(2026, 2, 1)}, "typed")) == [(True,)]


# The reference queries against every fixture scenario ------------------------------------------

@pytest.mark.parametrize("driver", ["node-postgres", "typed"])
def test_every_fixture_scenario_passes_for_both_reference_queries(bench, driver: str) -> None:
    plans = [*plans_of(SQL_QUERY, driver=driver), ts_plan(driver=driver)]
    assert len(plans) == 2 and plans[1].statement_timeout == "10000"
    results = bench.run_all(plans, ALL_SCENARIOS)
    failures = [f"{r.query} x {r.scenario}: {r.check} {r.diff or r.error}" for r in results
                if not r.passed]
    assert failures == []
    assert len(results) == 2 * len(ALL_SCENARIOS)
    assert {r.expected_source for r in results} == {"scenario", "oracle"}


def test_a_non_utc_client_keeps_the_reference_query_right(bench) -> None:
    results = [bench.run(ts_plan(client_time_zone="America/New_York"), s) for s in ALL_SCENARIOS]
    assert all(r.passed for r in results)


def test_casting_to_timestamp_shifts_windows_in_a_non_utc_client(bench) -> None:
    text = TS_QUERY.read_text().replace("::timestamptz AT TIME ZONE 'UTC'", "::timestamp")
    utc = [bench.run(ts_plan(text), s) for s in ALL_SCENARIOS]
    new_york = [bench.run(ts_plan(text, client_time_zone="America/New_York"), s)
                for s in ALL_SCENARIOS]
    assert all(r.passed for r in utc)
    assert any(r.check == "counts" for r in new_york)


def test_untyped_interval_arithmetic_fails_under_node_postgres_only(bench) -> None:
    text = TS_QUERY.read_text()
    assert BROKEN_CUTOFF[0] in text
    broken = text.replace(*BROKEN_CUTOFF)
    node = bench.run(ts_plan(broken), SCENARIO)
    assert (node.passed, node.check, node.sqlstate) == (False, "sqlstate", "42883")
    assert "operator does not exist" in node.error
    typed = [bench.run(ts_plan(broken, driver="typed"), s) for s in ALL_SCENARIOS]
    assert all(r.passed for r in typed)


# Failures ---------------------------------------------------------------------------------------

def test_a_write_fails_with_25006_and_leaves_nothing(bench, tmp_path: Path) -> None:
    plan = sql_plan("WITH x AS (INSERT INTO \"Client\" (id) VALUES ('zz') RETURNING id) "
                    "SELECT 'sms', 'EDITED', 'BOOKED', count(*)::int FROM x", tmp_path)
    result = bench.run(plan, SCENARIO)
    assert (result.check, result.sqlstate) == ("sqlstate", "25006")
    assert "read-only transaction" in result.error


def test_the_query_own_statement_timeout_applies(bench, tmp_path: Path) -> None:
    plan = sql_plan("SET LOCAL statement_timeout = 50;\nSELECT 'sms', 'EDITED', 'BOOKED', 1 "
                    "FROM pg_sleep(2)", tmp_path)
    assert plan.statement_timeout == "50"
    result = bench.run(plan, SCENARIO)
    assert (result.check, result.sqlstate) == ("sqlstate", "57014")
    assert result.elapsed_ms < 1500


def test_a_failing_query_does_not_spoil_the_next_on_the_same_rows(bench, tmp_path: Path) -> None:
    broken = sql_plan("SELECT 1/0", tmp_path)
    good = plans_of(SQL_QUERY)[0]
    first, second = bench.run_scenario([broken, good], SCENARIO)
    assert (first.check, first.sqlstate) == ("sqlstate", "22012")
    assert second.passed


def test_rows_do_not_survive_into_the_next_scenario(bench) -> None:
    other = next(s for s in ALL_SCENARIOS if s.name != SCENARIO.name
                 and len(s.dataset.tables.get("Lead", ())) != len(SCENARIO.dataset.tables["Lead"]))
    bench.run(plans_of(SQL_QUERY)[0], SCENARIO)
    bench.run(plans_of(SQL_QUERY)[0], other)
    conn = bench.connection(SCHEMA)
    assert conn.execute('SELECT count(*) FROM "Lead"').fetchone() \
        == (len(other.dataset.tables.get("Lead", ())),)
    with bench.scenario_connection(SCHEMA) as empty:
        assert empty.execute('SELECT count(*) FROM "Lead"').fetchone() == (0,)
        # Function defaults were the database's to fill in.
        from convguard.kit.conformance.seed import seed

        seed(empty, SCENARIO.dataset, SCHEMA)
        assert empty.execute('SELECT count(*) FROM "Lead" WHERE "createdAt" IS NULL').fetchone() \
            == (0,)


def test_wrong_counts_are_a_bucket_diff(bench) -> None:
    scenario = dataclasses.replace(SCENARIO, expected={"sms-EDITED": {"booked": 42}})
    result = bench.run(plans_of(SQL_QUERY)[0], scenario)
    assert result.check == "counts" and result.expected_source == "scenario"
    assert ("sms-EDITED", "booked", 42, result.actual.bucket("sms", "EDITED").booked) in result.diff


def test_oracle_decides_without_expected(bench) -> None:
    oracle_judged = next(s for s in ALL_SCENARIOS if s.expected is None)
    result = bench.run(plans_of(SQL_QUERY)[0], oracle_judged)
    assert result.passed and result.expected_source == "oracle"
    assert result.actual.differences(result.expected) == []


def test_unknown_channels_are_reported_not_dropped(bench, tmp_path: Path) -> None:
    plan = sql_plan("SELECT 'fax', 'EDITED', 'BOOKED', 1 UNION ALL "
                    "SELECT 'sms', 'EDITED', 'WON', 1", tmp_path)
    result = bench.run(plan, SCENARIO)
    assert result.check == "shape" and not result.passed
    assert len(result.problems) == 2 and "unknown bucket 'fax-EDITED'" in result.problems[0]


def test_clone_isolation_agrees() -> None:
    plan = plans_of(SQL_QUERY)[0]
    with Workbench.start("embedded", isolation="clone") as clone:
        results = [clone.run(plan, s) for s in ALL_SCENARIOS[:3]]
    assert all(r.passed for r in results)


def test_a_seed_rejected_by_the_database_is_a_scenario_error(bench) -> None:
    from convguard._errors import ScenarioError

    scenario = parse_scenario(
        "name: x\nparams: {to: 2026-02-01}\ntables:\n  Client: [{id: c1}]\n",
        path="x.yaml", schema=SCHEMA, contract=KIT.contract)
    rows = {"Client": ({"id": "c1", "nope": 1},)}
    bad = dataclasses.replace(scenario, dataset=dataclasses.replace(scenario.dataset, tables=rows))
    with pytest.raises(ScenarioError) as error:
        bench.run(plans_of(SQL_QUERY)[0], bad)
    assert error.value.path == "x.yaml" and "nope" in error.value.message


def test_prisma_sends_untyped_text_and_buffers_in_binary(conn) -> None:
    # A Buffer goes out untyped in binary format: PostgreSQL reads it as bytea from the context.
    sql = "SELECT $1 = '\\x00ff'::bytea, $2::float8 IS NULL, $3::timestamp, pg_typeof(x)::text " \
          "FROM (SELECT $4 AS x) s"
    values = {"$1": b"\x00\xff", "$2": float("nan"), "$3": datetime(2026, 2, 1, 0, 0, 0, 5000),
              "$4": datetime(2026, 2, 1)}
    bound = _bound(sql, values, "prisma")
    assert bound.driver_values()[1:] == [None, "2026-02-01 00:00:00.005", "2026-02-01 00:00:00"]
    # NaN reaches the adapter as null (JSON has no NaN); node-postgres would send 'NaN'.
    assert execute_bound(conn, bound) == [(True, True, datetime(2026, 2, 1, 0, 0, 0, 5000),
                                           "text")]
    assert execute_bound(conn, _bound(sql, values, "node-postgres"))[0][:2] == (True, False)


def test_a_query_that_ends_its_own_backend_fails_alone(bench, tmp_path: Path) -> None:
    """``pg_terminate_backend(pg_backend_pid())`` in the query: that query fails with SQLSTATE
    57P01 and a hint; the other queries on the same rows, and the next scenario, run on a fresh
    connection and pass."""
    from convguard.kit.conformance.report import format_result

    sql = SQL_QUERY.read_text()
    killer = sql_plan(sql.replace("WHERE ", "WHERE pg_terminate_backend(pg_backend_pid()) AND ",
                                  1), tmp_path)
    honest = plans_of(SQL_QUERY)[-1]
    for scenario in ALL_SCENARIOS[:2]:
        first, second = bench.run_scenario([killer, honest], scenario)
        assert (first.passed, first.sqlstate) == (False, "57P01")
        assert "pg_terminate_backend" in format_result(first)
        assert second.passed, format_result(second)


def test_a_profile_query_checks_a_scenario_s_combination_when_the_plan_is_resolved() -> None:
    """A profile's contract is shared by its queries, so it cannot check ``combination: N``
    while loading: the plan does, naming the scenario file and line (before any server)."""
    scenario = ALL_SCENARIOS[0]
    plan = plans_of(SQL_QUERY)[-1]
    assert plan.for_scenario(scenario) is plan  # combination 1, the default
    asking = dataclasses.replace(scenario, combination=2, lines={("combination",): 4})
    with pytest.raises(ScenarioError) as caught:
        plan.for_scenario(asking)
    assert str(caught.value).startswith(
        f"{scenario.path}:4: combination 2: {plan.label} has 1 combination of SQL fragments")
