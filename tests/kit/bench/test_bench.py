"""``convguard bench``: the synthetic data's shape, the bench's figures and its agreement with the
kit's ordinary run path, on a tiny size (2,000 leads: the whole module runs in about 2 s).

Longer runs (index advice at a size where it means something) are marked ``slow``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from convguard._dataset import Dataset
from convguard._errors import InputError
from convguard.kit.bench.benchmark import (
    bench_scenario,
    candidate_indexes,
    growth_slope,
    measure,
    plan_nodes,
    run_bench,
    timeout_ms,
)
from convguard.commands.bench import parse_sizes, run_bench_command
from convguard.kit.scenario.files import Scenario
from convguard.kit.bench.data import Progress
from convguard.profiles.booking_conversion.synthetic import (
    SYNTHETIC,
    SyntheticSpec,
    seed_synthetic,
    synthetic_ddl,
)

ROOT = Path(__file__).resolve().parents[3]
TS_QUERY = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
TS_FUNCTION = "getAiDraftBookingConversionStats"
LEADS = 2_000
SPEC = SyntheticSpec(leads=LEADS)
TABLES = ("Client", "EmailCampaign", "Lead", "AIDraft", "Message")


@pytest.fixture(scope="module")
def plan() -> Any:
    from convguard.commands.test import plan_queries

    planned = plan_queries([f"{TS_QUERY}::{TS_FUNCTION}"], scenarios=["(unused)"])
    assert len(planned) == 1
    return planned[0].plan


@pytest.fixture(scope="module")
def seeded(bench: Any) -> Iterator[tuple[Any, Any]]:
    """A throwaway database holding the synthetic data for SPEC, with its seed report."""
    from convguard.kit.server.databases import create_database

    with create_database(bench.server, prefix="test_bench") as database:
        report = seed_synthetic(database.connect, SPEC, progress=Progress.silent())
        with database.connect() as conn:
            conn.execute("SET TimeZone = 'UTC'")
            yield conn, report


def _one(conn: Any, sql: str) -> Any:
    return conn.execute(sql).fetchone()


# The data ----------------------------------------------------------------------------------------

def test_counts_match_the_report(seeded: tuple[Any, Any]) -> None:
    conn, report = seeded
    assert (report.clients, report.leads) == (5, LEADS)
    assert report.drafts == _one(conn, 'SELECT count(*) FROM "AIDraft"')[0]
    assert report.messages == _one(conn, 'SELECT count(*) FROM "Message"')[0]
    assert report.rows == report.clients + report.campaigns + report.leads + report.drafts \
        + report.messages
    assert report.load_rows_per_s > 0 and report.seconds >= report.load_seconds


def test_every_lead_is_in_the_callers_scope(seeded: tuple[Any, Any]) -> None:
    conn, _ = seeded
    outside = _one(conn, 'SELECT count(*) FROM "Lead" WHERE NOT ("clientId" = ANY(%s))'
                   .replace("%s", "ARRAY[" + ",".join(f"'{c}'" for c in SPEC.client_ids) + "]"))
    assert outside[0] == 0
    per_client = conn.execute('SELECT count(*) FROM "Lead" GROUP BY "clientId"').fetchall()
    assert len(per_client) == SPEC.clients


def test_one_to_four_drafts_per_lead_mean_two_and_a_half(seeded: tuple[Any, Any]) -> None:
    conn, _ = seeded
    low, high, mean = _one(conn, 'SELECT min(n), max(n), avg(n) FROM (SELECT count(d.id) AS n '
                                 'FROM "Lead" l LEFT JOIN "AIDraft" d ON d."leadId" = l.id '
                                 'GROUP BY l.id) x')
    assert (low, high) == (1, 4)
    assert abs(float(mean) - 2.5) < 0.1


def test_zero_to_two_outbound_parts_per_draft_and_inbound_replies(seeded: tuple[Any, Any]) -> None:
    conn, _ = seeded
    low, high, mean = _one(conn, '''
        SELECT min(n), max(n), avg(n) FROM (
          SELECT count(m.id) AS n FROM "AIDraft" d
          LEFT JOIN "Message" m ON m."aiDraftId" = d.id AND m.direction = 'outbound'
          GROUP BY d.id) x''')
    assert (low, high) == (0, 2)
    assert abs(float(mean) - 1.4) < 0.1
    inbound, orphan_outbound = _one(conn, '''
        SELECT count(*) FILTER (WHERE direction = 'inbound' AND "aiDraftId" IS NULL),
               count(*) FILTER (WHERE direction = 'outbound' AND "aiDraftId" IS NULL)
        FROM "Message"''')
    assert abs(inbound / LEADS - 1.5) < 0.15 and orphan_outbound == 0
    per_draft = _one(conn, 'SELECT count(*)::float / (SELECT count(*) FROM "AIDraft") '
                           'FROM "Message"')[0]
    assert 1.8 < per_draft < 2.2  # about 5 messages for 2.5 drafts


def test_channels_dispositions_and_campaign_modes_mix(seeded: tuple[Any, Any]) -> None:
    conn, _ = seeded
    channels = dict(conn.execute('SELECT channel, count(*) FROM "AIDraft" GROUP BY 1').fetchall())
    assert set(channels) == {"email", "sms", "linkedin"}
    dispositions = dict(conn.execute(
        'SELECT coalesce("responseDisposition"::text, \'NULL\'), count(*) FROM "AIDraft" '
        'GROUP BY 1').fetchall())
    assert set(dispositions) == {"AUTO_SENT", "APPROVED", "EDITED", "NULL"}
    assert 0.05 < dispositions["NULL"] / sum(dispositions.values()) < 0.15
    modes = {row[0] for row in conn.execute('SELECT "responseMode" FROM "EmailCampaign"')}
    assert modes == {"AI_AUTO_SEND", "SETTER_MANAGED"}
    without_campaign = _one(conn, 'SELECT count(*) FROM "Lead" WHERE "emailCampaignId" IS NULL')[0]
    assert 0.1 < without_campaign / LEADS < 0.2


def test_a_fifth_booked_around_the_sends_and_some_evidence_only(seeded: tuple[Any, Any]) -> None:
    conn, _ = seeded
    booked, evidence_only = _one(conn, '''
        SELECT count(*) FILTER (WHERE "appointmentBookedAt" IS NOT NULL),
               count(*) FILTER (WHERE "appointmentBookedAt" IS NULL AND ("ghlAppointmentId" IS NOT NULL
                 OR "calendlyInviteeUri" IS NOT NULL OR "calendlyScheduledEventUri" IS NOT NULL))
        FROM "Lead"''')
    assert abs(booked / LEADS - 0.2) < 0.03
    assert 0 < evidence_only < booked
    before, after = _one(conn, '''
        SELECT count(*) FILTER (WHERE l."appointmentBookedAt" <= s.first_send),
               count(*) FILTER (WHERE l."appointmentBookedAt" > s.first_send)
        FROM "Lead" l JOIN (SELECT "leadId", min("sentAt") AS first_send FROM "Message"
                            WHERE direction = 'outbound' GROUP BY 1) s ON s."leadId" = l.id''')
    assert before > 0 and after > before  # spread around the sends, mostly after


def test_first_sends_span_the_history_and_the_range_holds_its_share(
        seeded: tuple[Any, Any]) -> None:
    conn, _ = seeded
    to = SPEC.to
    earliest, in_range, drafts_sent = _one(conn, f'''
        SELECT min(send), count(*) FILTER (WHERE send >= TIMESTAMP '{to}' - interval '30 days'
                                             AND send < TIMESTAMP '{to}'), count(*)
        FROM (SELECT min("sentAt") AS send FROM "Message" WHERE direction = 'outbound'
              GROUP BY "aiDraftId") s''')
    assert (to - earliest).days in (SPEC.history_days, SPEC.history_days - 1)
    # The default year of history: the default 30-day range holds about a twelfth of the sends.
    assert SPEC.history_days == 365
    assert abs(in_range / drafts_sent - 30 / 365) < 0.03


def test_the_schema_is_the_applications(seeded: tuple[Any, Any]) -> None:
    conn, _ = seeded
    names = {row[0] for row in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
    assert {"Lead_pkey", "Lead_calendlyInviteeUri_key", "Message_aiDraftId_idx",
            "Message_sentAt_idx", "AIDraft_leadId_idx"} <= names
    constraints = conn.execute(
        "SELECT conname, contype, convalidated FROM pg_constraint "
        "WHERE connamespace = current_schema()::regnamespace AND contype IN ('p', 'f')").fetchall()
    assert len([c for c in constraints if c[1] == "f"]) == 6
    assert all(validated for _, _, validated in constraints)


def test_seeding_is_deterministic(bench: Any) -> None:
    from convguard.kit.server.databases import create_database

    digests = []
    for _ in range(2):
        with create_database(bench.server, prefix="test_bench") as database:
            seed_synthetic(database.connect, SyntheticSpec(leads=300), progress=Progress.silent())
            with database.connect() as conn:
                digests.append(_one(conn, '''
                    SELECT md5(string_agg(m.id || m."sentAt"::text || coalesce(m."aiDraftId", ''),
                                          ',' ORDER BY m.id)) FROM "Message" m''')[0])
    assert digests[0] == digests[1]


# The bench ---------------------------------------------------------------------------------------

def test_bench_result_equals_the_kits_run_path(bench: Any, seeded: tuple[Any, Any],
                                               plan: Any) -> None:
    """The bench's binding and run give the rows `convguard test` gets on the same data, and
    those rows agree with the profile's pure-Python oracle."""
    conn, _ = seeded
    scenario = bench_scenario(SPEC, SYNTHETIC)
    bench_rows = sorted(measure(conn, plan.bind(scenario), runs=1).rows)
    tables = {}
    for table in TABLES:
        cursor = conn.execute(f'SELECT * FROM "{table}"')
        columns = [column.name for column in cursor.description]
        tables[table] = tuple(dict(zip(columns, row)) for row in cursor.fetchall())
    same_data = Scenario(name="synthetic", description="", path="<synthetic>",
                         params=scenario.params, dataset=Dataset(tables), expected=None)
    result = bench.run(plan, same_data)
    assert sorted(result.rows) == bench_rows
    assert result.passed, result.diff


def test_run_bench_json_keys(bench: Any, plan: Any) -> None:
    from convguard.commands.bench import format_json

    results = run_bench([plan], bench.server, [LEADS], advise_indexes=False, progress=False)
    document = json.loads(format_json(results))
    for key in ("leads", "drafts", "messages", "seed_rows_per_s", "query_ms", "rows", "plan_top",
                "sizes", "advice", "budget_ms", "goal_ms", "growth_slope", "result"):
        assert key in document, key
    assert document["leads"] == LEADS and document["rows"] == len(document["result"]) > 0
    # the unit and the counts are the booking generator's; its keys stay as they were
    assert (document["unit"], document["size"]) == ("leads", LEADS)
    assert list(document)[2:7] == ["unit", "size", "leads", "drafts", "messages"]
    assert document["budget_ms"] == 10_000 and document["goal_ms"] == 2_500
    top = document["plan_top"][0]
    assert {"node", "exclusive_ms", "share", "rows", "loops"} <= set(top)
    assert document["sizes"][0]["leads"] == LEADS and document["advice"] == []
    assert (document["history_days"], document["window_days"]) == (365, 30)


def test_the_bench_never_prepares_so_every_run_gets_a_custom_plan(bench: Any, plan: Any,
                                                                  seeded: tuple[Any, Any]) -> None:
    """node-postgres sends unnamed statements; a prepared one turns generic after five runs."""
    from convguard.kit.bench.benchmark import bench_connection, open_to_query_role
    from convguard.kit.server.databases import ThrowawayDatabase

    seeded_conn, _ = seeded
    name = seeded_conn.execute("SELECT current_database()").fetchone()[0]
    database = ThrowawayDatabase(name, bench.server.conninfo(name), bench.server)
    open_to_query_role(database, bench.server)
    conn = bench_connection(database, bench.server)
    try:
        # The query's own connection, as the run's least-privilege role (never the admin's).
        role = bench.server.query_role()
        assert role.sandboxed and conn.execute("SELECT current_user").fetchone()[0] == role.name
        assert conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        bound = plan.bind(bench_scenario(SPEC, SYNTHETIC))
        measure(conn, bound, runs=8)
        assert conn.prepare_threshold is None
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 0
        assert conn.execute("SHOW TimeZone").fetchone()[0] == "UTC"
    finally:
        conn.close()


def test_command_exit_2_with_a_clear_message_on_bad_input() -> None:
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(paths=[str(ROOT / "no-such-file.ts")], sizes="10", format="text",
                              err=err)
    assert run_bench_command(args, out) == 2
    assert "no such file" in err.getvalue() and "Traceback" not in err.getvalue()
    args = argparse.Namespace(paths=[], sizes="ten", format="json", err=err)
    assert run_bench_command(args, out) == 2
    assert json.loads(out.getvalue())["error"].startswith("invalid size")


def test_size_zero_is_out_of_range_not_the_default() -> None:
    # `--size 0` (or `--leads 0`) was falsy and seeded the default 100,000 leads
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(paths=[], size=0, format="text", err=err)
    assert run_bench_command(args, out) == 2
    assert "size 0 is out of range" in err.getvalue()


@pytest.mark.parametrize(("history", "window", "message"), [
    (0, 30, "--history-days 0 is out of range"),
    (90, 120, "--window-days 120 is out of range"),
    (5000, 30, "--history-days 5000 is out of range"),
])
def test_command_checks_the_history_and_range(history: int, window: int, message: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(paths=[], sizes="10", format="text", history_days=history,
                              window_days=window, err=err)
    assert run_bench_command(args, out) == 2
    assert message in err.getvalue() and "hint:" in err.getvalue()


# Pure helpers ------------------------------------------------------------------------------------

def test_parse_sizes_and_timeouts() -> None:
    assert parse_sizes("1e6,10k,10000") == (10_000, 1_000_000)
    assert parse_sizes(None, SYNTHETIC.default_size) == (100_000,)
    with pytest.raises(InputError, match="no size given") as error:
        parse_sizes(None, unit="orders")
    assert error.value.hint == "give a size in orders, e.g. --size 10000"
    with pytest.raises(InputError, match="out of range") as error:
        parse_sizes("0", unit="orders")
    assert error.value.hint == "give 1 to 50,000,000 orders"
    assert timeout_ms("10000") == 10_000 and timeout_ms("1.5s") == 1_500
    assert growth_slope([(10_000, 10.0)]) is None
    assert round(growth_slope([(1_000, 1.0), (100_000, 10_000.0)]), 6) == 2.0


def test_load_plan_restores_every_key_index_and_foreign_key() -> None:
    plan = synthetic_ddl()
    assert "PRIMARY KEY" not in plan.create and "UNLOGGED" in plan.create
    assert len(plan.primary_keys) == 5 and len(plan.validations) == 6
    assert len(plan.indexes) == 5 + 2 + 8  # primary keys, unique columns, the app's indexes


SCAN_PLAN = {
    "Execution Time": 100.0,
    "Plan": {
        "Node Type": "Aggregate", "Strategy": "Sorted", "Actual Total Time": 90.0,
        "Actual Loops": 1, "Actual Rows": 10, "Plan Rows": 10,
        "Group Key": ['m."aiDraftId"'],
        "Output": ['m."aiDraftId"', 'min(m."sentAt")'],
        "Plans": [{
            "Node Type": "Index Scan", "Relation Name": "Message", "Alias": "m",
            "Index Name": "Message_aiDraftId_idx", "Actual Total Time": 60.0, "Actual Loops": 1,
            "Actual Rows": 100, "Plan Rows": 90, "Index Cond": '(m."aiDraftId" IS NOT NULL)',
            "Filter": "(m.direction = 'outbound'::text)",
            "Output": ["m.id", 'm."aiDraftId"', "m.direction", 'm."sentAt"'],
        }],
    },
}


def test_candidates_from_a_plan_are_partial_covering_indexes() -> None:
    nodes = plan_nodes(SCAN_PLAN)
    assert [(node.node, node.exclusive_ms) for node in nodes] == [("Index Scan", 60.0),
                                                                  ("GroupAggregate", 30.0)]
    sql = "SELECT ... WHERE m.direction = 'outbound' GROUP BY m.\"aiDraftId\""
    candidates = [c.sql for c in candidate_indexes(SCAN_PLAN, nodes, sql)]
    where = """ WHERE "aiDraftId" IS NOT NULL AND direction = 'outbound'::text"""
    assert candidates == [
        'CREATE INDEX ON "Message" ("aiDraftId", "sentAt")' + where,
        'CREATE INDEX ON "Message" ("aiDraftId") INCLUDE ("sentAt")' + where,
    ]
    # A literal the query does not contain came from a parameter: a key, never a predicate.
    assert all("outbound" not in c.split("WHERE")[0]
               for c in candidates)
    param_sql = "SELECT ... WHERE m.direction = $1"
    keyed = [c.sql for c in candidate_indexes(SCAN_PLAN, nodes, param_sql)]
    assert keyed[0] == ('CREATE INDEX ON "Message" ("aiDraftId", "direction", "sentAt") '
                        'WHERE "aiDraftId" IS NOT NULL')


@pytest.mark.slow
def test_index_advice_is_measured_and_dropped(bench: Any, plan: Any) -> None:
    results = run_bench([plan], bench.server, [50_000], progress=False)
    result = results[0]
    assert result.advice, "no candidate index was tried"
    for advice in result.advice:
        assert advice.before_ms > 0 and advice.after_ms > 0
    assert any("Message" in advice.index_sql for advice in result.advice)
    # Greedy rounds: once an index is kept, the next round's candidates are timed on top of it.
    kept = [advice for advice in result.advice if advice.given]
    if any(advice.helps for advice in result.advice[:len(result.advice) - len(kept)]):
        assert kept, "a helpful index was kept, but no candidate was tried on top of it"
    if result.combined is not None:
        assert result.combined.index_sql.count(";") >= 1


@pytest.mark.slow
def test_advice_leaves_no_index_behind(bench: Any, seeded: tuple[Any, Any], plan: Any) -> None:
    from convguard.kit.bench.benchmark import advise, explain

    from convguard.kit.bench.benchmark import bench_connection, open_to_query_role
    from convguard.kit.server.databases import ThrowawayDatabase

    admin, _ = seeded
    name = admin.execute("SELECT current_database()").fetchone()[0]
    database = ThrowawayDatabase(name, bench.server.conninfo(name), bench.server)
    open_to_query_role(database, bench.server)
    before = {row[0] for row in admin.execute("SELECT indexname FROM pg_indexes")}
    bound = plan.bind(bench_scenario(SPEC, SYNTHETIC))
    with bench_connection(database, bench.server) as conn:
        document = explain(conn, bound)
        results, _ = advise(conn, admin, bound, document, plan_nodes(document), rounds=2)
    assert results and all(advice.pairs >= 1 for advice in results)
    assert {row[0] for row in admin.execute("SELECT indexname FROM pg_indexes")} == before


def test_text_report_shows_the_range_the_rounds_and_the_kept_set() -> None:
    from convguard.kit.bench.benchmark import BenchResult, IndexAdvice, SizeResult, Timing
    from convguard.commands.bench import format_text
    from convguard.profiles.booking_conversion.synthetic import SeedReport

    seed = SeedReport(clients=5, campaigns=20, leads=1000, drafts=2500, messages=5000,
                      load_seconds=0.1, index_seconds=0.1, analyze_seconds=0.1,
                      client_ids=("a",))
    size = SizeResult(seed=seed, timing=Timing(runs_ms=(3000.0, 3100.0, 2900.0), rows=((1,),)),
                      plan_top=(), execution_ms=3000.0, planning_ms=1.0, size=1000,
                      unit=SYNTHETIC.unit)
    first = 'CREATE INDEX ON "Message" ("aiDraftId", "sentAt")'
    second = 'CREATE INDEX ON "AIDraft" ("id") INCLUDE ("leadId")'
    unused = 'CREATE INDEX ON "Lead" ("id", "clientId")'
    advice = (
        IndexAdvice(first, "scan", 3000.0, 2400.0, 50.0, pairs=3, wins=3),
        IndexAdvice(unused, "scan", 3000.0, 3000.0, 50.0, used=False, pairs=1),
        IndexAdvice(second, "scan", 2400.0, 2000.0, 50.0, pairs=3, wins=3, given=(first,)),
        IndexAdvice(unused, "scan", 2400.0, 2400.0, 50.0, used=False, pairs=1, given=(first,)),
    )
    combined = IndexAdvice(f"{first};\n{second}", "scan", 3000.0, 2000.0, 90.0, pairs=3, wins=3)
    result = BenchResult(query="q.sql:1", driver="node-postgres", sizes=(size,), advice=advice,
                         combined=combined, budget_ms=10_000.0, history_days=365, window_days=30,
                         timeline=SYNTHETIC.timeline, dated=SYNTHETIC.dated)
    text = format_text([result])
    assert "data: 1,000 leads, 2,500 drafts, 5,000 messages in 5 clients (all in scope)" in text
    assert "range: the last 30 of 365 days of sends (about 8% of the drafts)" in text
    assert "budget: statement timeout 10,000 ms; goal a quarter of it, 2,500 ms: OVER" in text
    assert "[with 1 kept index in place]: " + second in text
    assert "the 2 kept together: 3,000 ms -> 2,000 ms (33.3% faster, within the goal):" in text
    assert text.count("tried, not used by the plan: " + unused) == 1


@dataclass(frozen=True)
class ToySeed:
    """A third-party generator's report: its own counts, no booking field."""

    counts: dict[str, int]
    scope: str = ""
    load_seconds: float = 0.5
    index_seconds: float = 0.25
    analyze_seconds: float = 0.25

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def seconds(self) -> float:
        return self.load_seconds + self.index_seconds + self.analyze_seconds

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def load_rows_per_s(self) -> float:
        return self.rows / self.load_seconds


def _toy_result(*sizes: tuple[int, dict[str, int]]) -> Any:
    from convguard.kit.bench.benchmark import BenchResult, SizeResult, Timing

    return BenchResult(
        query="q.sql:1", driver="node-postgres", history_days=90, window_days=30,
        timeline="payments", dated="invoices",
        sizes=tuple(SizeResult(seed=ToySeed(counts), timing=Timing(runs_ms=(ms,), rows=()),
                               plan_top=(), execution_ms=ms, planning_ms=0.1, size=size,
                               unit="invoices")
                    for (size, counts), ms in zip(sizes, (10.0, 100.0))))


def test_the_report_speaks_in_the_generators_unit_and_counts() -> None:
    """A profile's generator names its unit and what it seeded: no lead, draft or message."""
    from convguard.commands.bench import format_json, format_text

    result = _toy_result((1_000, {"invoices": 1_000, "customers": 50}),
                         (10_000, {"invoices": 10_000, "customers": 500}))
    text = format_text([result])
    assert "data: 10,000 invoices, 500 customers\n" in text
    assert "range: the last 30 of 90 days of payments (about 33% of the invoices)" in text
    assert "costliest plan nodes at 10,000 invoices" in text
    assert text.split("\n")[6].split() == ["invoices", "customers", "seed", "rows/s", "query",
                                           "x", "prev"]
    assert text.split("\n")[8].split()[:2] == ["10,000", "500"]
    assert not {"lead", "leads", "drafts", "messages"} & set(text.replace(",", " ").split())
    document = json.loads(format_json([result]))
    assert (document["unit"], document["size"], document["invoices"], document["customers"]) \
        == ("invoices", 10_000, 10_000, 500)
    assert [size["size"] for size in document["sizes"]] == [1_000, 10_000]
    assert "leads" not in document and document["growth_slope"] == 1.0


@pytest.mark.parametrize(("counts", "message"), [
    ({"query_ms": 1}, "reports a count named 'query_ms', a key of the bench report itself"),
    ({"orders": 1.5}, "reports 'orders': 1.5, not a count"),
])
def test_a_generator_count_the_report_cannot_hold_is_a_clear_error(counts: dict[str, Any],
                                                                   message: str) -> None:
    from convguard._errors import ConvguardError
    from convguard.kit.bench.benchmark import checked_seed

    with pytest.raises(ConvguardError, match="the data generator ToySeed " + re.escape(message)):
        checked_seed(ToySeed(counts), ToySeed({}))


class OldGenerator:
    """A generator written before the unit/default_size/timeline/dated contract."""

    def spec(self, size: int, *, history_days: int = 365) -> Any:
        return size

    def seed(self, connect: Any, spec: Any, *, progress: Any = None) -> Any:
        return ToySeed({})

    def params(self, spec: Any, *, window_days: int) -> dict[str, Any]:
        return {}


def test_a_generator_missing_part_of_the_contract_is_a_clear_error() -> None:
    # it was an AttributeError (an internal error) the moment bench asked for its unit
    from types import SimpleNamespace

    from convguard._errors import ConvguardError
    from convguard.kit.bench.benchmark import synthetic_of

    profile = SimpleNamespace(name="orders", synthetic=OldGenerator)
    query = SimpleNamespace(path="app/q.ts", span=SimpleNamespace(
        start_position=SimpleNamespace(line=7)))
    plan = SimpleNamespace(kit=SimpleNamespace(profile=profile), label="app/q.ts:7", query=query)
    with pytest.raises(ConvguardError) as caught:
        synthetic_of(plan)  # type: ignore[arg-type]
    assert caught.value.message == (
        "the data generator OldGenerator of profile 'orders' lacks dated, default_size, "
        "timeline, unit")
    assert (caught.value.path, caught.value.line) == ("app/q.ts", 7)
    assert "SyntheticData" in caught.value.hint


@pytest.mark.parametrize(("condition", "message"), [
    pytest.param("1/0 = 1", "division by zero", id="query-error"),
    pytest.param("pg_terminate_backend(pg_backend_pid())", "terminating connection",
                 id="ends-its-own-backend"),
])
def test_a_failing_query_is_named_with_its_file_line_and_size(
        bench: Any, tmp_path: Path, condition: str, message: str) -> None:
    """A query PostgreSQL rejects (or that ends its own connection) is a clear error naming the
    query, not a bare "division by zero"."""
    from convguard._errors import ConvguardError
    from convguard.commands.test import plan_queries
    from convguard.kit.bench.benchmark import run_bench

    sql = (ROOT / "fixtures" / "queries" / "booking_conversion.sql").read_text()
    path = tmp_path / "broken.sql"
    path.write_text(sql.replace("WHERE ", f"WHERE {condition} AND ", 1))
    planned = plan_queries([str(path)], scenarios=["(unused)"], profile="booking-conversion")
    with pytest.raises(ConvguardError) as error:
        run_bench([planned[0].plan], bench.server, [5], advise_indexes=False)
    assert error.value.path == str(path) and error.value.line == planned[0].plan.query.span \
        .start_position.line
    assert message in error.value.message and "(on 5 leads)" in error.value.message


@pytest.mark.parametrize(("attack", "message"), [
    # After a first statement: EXPLAIN ANALYZE prefixes the text, the COPY still runs after it.
    pytest.param("SELECT 1; COPY (SELECT 1) TO PROGRAM 'touch {marker}'",
                 "permission denied to COPY to or from an external program", id="copy-to-program"),
    pytest.param("SELECT pg_read_file('/etc/passwd')", "permission denied for function pg_read_file",
                 id="pg-read-file"),
])
def test_a_hostile_query_under_bench_runs_as_the_least_privilege_role(
        tmp_path: Path, attack: str, message: str) -> None:
    """bench times (and EXPLAINs) the query as the run's query role, not the admin that seeds
    the data and builds the candidate indexes: a shell command or a server file read fails."""
    marker = tmp_path / "pwned"
    path = tmp_path / "attack.ts"
    path.write_text("export async function attack() {\n  return prisma.$queryRaw`"
                    + attack.format(marker=marker) + "`;\n}\n")
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(paths=[f"{path}::attack"], sizes="200", format="text", err=err,
                              profile="booking-conversion", advise=True)
    code = run_bench_command(args, out)
    assert code in (1, 2), (code, out.getvalue(), err.getvalue())
    assert message in err.getvalue() and str(path) in err.getvalue(), err.getvalue()
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()
    assert not marker.exists()


# The hard deadline -------------------------------------------------------------------------------

LIFTS_ITS_TIMEOUT = "SELECT 1; SET LOCAL statement_timeout = 0; SELECT pg_sleep(60)"


def _attack_file(tmp_path: Path, sql: str) -> Path:
    path = tmp_path / "attack.ts"
    path.write_text("export async function attack() {\n  return prisma.$queryRaw`" + sql
                    + "`;\n}\n")
    return path


def test_measure_stops_a_query_that_lifts_its_timeout(bench: Any, tmp_path: Path) -> None:
    """The timed runs go through the client-side deadline: the session's statement timeout,
    which the query resets, is not what stops it."""
    from convguard._errors import QueryFailed
    from convguard.commands.test import plan_queries
    from convguard.kit.bench.benchmark import bench_connection, open_to_query_role, time_bound_for
    from convguard.kit.server.databases import create_database

    path = _attack_file(tmp_path, "SET LOCAL statement_timeout = 0; SELECT pg_sleep(60)")
    plan = plan_queries([f"{path}::attack"], scenarios=["(unused)"],
                        profile="booking-conversion")[0].plan
    bound = plan.bind(bench_scenario(SPEC, SYNTHETIC))
    with create_database(bench.server, prefix="test_bench") as database:
        open_to_query_role(database, bench.server)
        with bench_connection(database, bench.server, timeout="1s") as conn:
            started = time.monotonic()
            with pytest.raises(QueryFailed) as failure:
                measure(conn, bound, runs=1, time_bound=time_bound_for(bench.server, "1s"))
            elapsed = time.monotonic() - started
            assert conn.execute("SELECT 1").fetchone() == (1,)  # cancelled, not cut off
    assert elapsed < 1 + 5
    assert failure.value.sqlstate == "57014"
    assert "ran past its deadline (1s statement timeout + 1 s) and convguard cancelled it" \
        in failure.value.message
    assert "--timeout" in (failure.value.hint or "")


def _cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "convguard", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _inventory(server: Any) -> tuple[set[str], set[str]]:
    admin = server.admin()
    return ({row[0] for row in admin.execute("SELECT datname FROM pg_database")},
            {row[0] for row in admin.execute("SELECT rolname FROM pg_roles")})


def _postgres_of(pid: int) -> list[str]:
    """Command lines of postgres processes whose data folder is the run folder of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "postgres" in cmdline and f"convguard-{pid}-" in cmdline:
            found.append(cmdline)
    return found


@pytest.mark.parametrize("provider", ["embedded", "url"])
def test_bench_stops_a_query_that_lifts_its_timeout_and_leaves_nothing(
        bench: Any, tmp_path: Path, provider: str) -> None:
    """``convguard bench --timeout 2s`` on ``SET LOCAL statement_timeout = 0; SELECT
    pg_sleep(60)`` (after a first statement, so EXPLAIN ANALYZE runs it too) ends within the
    timeout plus 5 s with exit 2 and a clear error naming the query; no database, role, backend,
    server process or run folder of that run is left."""
    path = _attack_file(tmp_path, LIFTS_ITS_TIMEOUT)
    args = ["bench", f"{path}::attack", "--profile", "booking-conversion", "--sizes", "1",
            "--no-advise", "--timeout", "2s"]
    if provider == "url":
        args += ["--dsn", bench.server.conninfo(), "--allow-superuser"]
    before = _inventory(bench.server)
    process = _cli(*args)
    started = time.monotonic()
    out, err = process.communicate(timeout=120)
    elapsed = time.monotonic() - started
    assert process.returncode == 2, (out, err)
    # The bound is the timeout plus 5 s for the query; the process adds its start and its seeding.
    assert elapsed < 2 + 5 + 10, elapsed
    first = err.splitlines()[0]
    assert f"{path}:2:" in first and "ran past its deadline (2s statement timeout + 1 s)" in first
    assert "(in attack, on 1 leads)" in first, err
    assert "--timeout" in err and "Traceback" not in err
    assert _postgres_of(process.pid) == []
    assert not list(Path("/dev/shm").glob(f"convguard-{process.pid}-*"))
    if provider == "url":
        assert _inventory(bench.server) == before
        left = bench.server.admin().execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%'"
            " AND pid <> pg_backend_pid()").fetchone()
        assert left == (0,)
