"""``convguard mutate``: the operators (data-driven, no database), the score, and the gate.

The operator cases are SQL in -> every mutant out (id -> SQL, whitespace folded), one operator
at a time. The gate runs the whole suite on every mutant of both reference queries and requires
a score of 1.0: every mutant killed, or recorded in ``convguard.toml`` as equivalent.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import time
from pathlib import Path

import pytest
import sqlglot

from convguard.kit.mutation.mutants import OPERATORS, mutate_query, mutate_sql
from convguard.kit.mutation.mutate import MutantOutcome, OperatorStats, summarise
from convguard.profiles.booking_conversion.schema import booking_schema

ROOT = Path(__file__).resolve().parents[3]
SQL_QUERY = "fixtures/queries/booking_conversion.sql"


def flat(sql: str) -> str:
    return " ".join(sql.split())


CASES = [
    ("ROR", 'SELECT m.id FROM "Message" m WHERE m."sentAt" >= $1 AND m.direction = \'outbound\'', {
        "ROR-1:>=→>": 'SELECT m.id FROM "Message" AS m WHERE m."sentAt" > $1 AND m.direction = '
                      "'outbound'",
        "ROR-1:>=→<=": 'SELECT m.id FROM "Message" AS m WHERE m."sentAt" <= $1 AND m.direction = '
                       "'outbound'",
        "ROR-2:=→<>": 'SELECT m.id FROM "Message" AS m WHERE m."sentAt" >= $1 AND m.direction <> '
                      "'outbound'",
    }),
    ("LCR", "SELECT 1 FROM t x WHERE x.a = 1 AND x.b = 2 AND (x.c = 3 OR x.d = 4)", {
        "LCR-1:AND→OR": "SELECT 1 FROM t AS x WHERE x.a = 1 AND x.b = 2 OR ( x.c = 3 OR x.d = 4 )",
        # an OR put under an AND is parenthesised, or it would bind differently
        "LCR-2:AND→OR": "SELECT 1 FROM t AS x WHERE ( x.a = 1 OR x.b = 2 ) AND ( x.c = 3 OR x.d = 4 )",
        "LCR-3:OR→AND": "SELECT 1 FROM t AS x WHERE x.a = 1 AND x.b = 2 AND ( x.c = 3 AND x.d = 4 )",
    }),
    ("CDR", "SELECT 1 FROM t x JOIN u y ON y.id = x.id WHERE x.a = 1 AND x.b = 2", {
        "CDR-1:-a = 1": "SELECT 1 FROM t AS x JOIN u AS y ON y.id = x.id WHERE x.b = 2",
        "CDR-2:-b = 2": "SELECT 1 FROM t AS x JOIN u AS y ON y.id = x.id WHERE x.a = 1",
        "CDR-3:-id = id": "SELECT 1 FROM t AS x JOIN u AS y ON TRUE WHERE x.a = 1 AND x.b = 2",
    }),
    ("CDR", "SELECT 1 FROM t x WHERE x.a IS NOT NULL", {
        "CDR-1:-a IS NOT NULL": "SELECT 1 FROM t AS x",
    }),
    ("DDR", "SELECT 1 FROM t x WHERE x.a = 1 AND (x.c = 3 OR x.d = 4)", {
        "DDR-1:-c = 3": "SELECT 1 FROM t AS x WHERE x.a = 1 AND ( x.d = 4 )",
        "DDR-2:-d = 4": "SELECT 1 FROM t AS x WHERE x.a = 1 AND ( x.c = 3 )",
    }),
    ("CBR", "SELECT CASE WHEN x.a > 1 THEN 'big' WHEN x.a > 0 THEN 'small' ELSE 'none' END FROM t x", {
        "CBR-1:drop WHEN 1": "SELECT CASE WHEN x.a > 0 THEN 'small' ELSE 'none' END FROM t AS x",
        "CBR-1:drop WHEN 2": "SELECT CASE WHEN x.a > 1 THEN 'big' ELSE 'none' END FROM t AS x",
        "CBR-1:drop ELSE": "SELECT CASE WHEN x.a > 1 THEN 'big' WHEN x.a > 0 THEN 'small' END FROM t AS x",
        "CBR-1:swap WHEN 1/2": "SELECT CASE WHEN x.a > 0 THEN 'small' WHEN x.a > 1 THEN 'big' "
                               "ELSE 'none' END FROM t AS x",
    }),
    # a simple CASE over distinct literals: reordering its WHENs is equivalent, so not made
    ("CBR", "SELECT CASE x.r WHEN 1 THEN 'one' WHEN 2 THEN 'two' END FROM t x", {
        "CBR-1:drop WHEN 1": "SELECT CASE x.r WHEN 2 THEN 'two' END FROM t AS x",
        "CBR-1:drop WHEN 2": "SELECT CASE x.r WHEN 1 THEN 'one' END FROM t AS x",
    }),
    ("CNT", 'SELECT COUNT(DISTINCT l.id) FROM "Lead" l', {
        "CNT-1:COUNT(id)": 'SELECT COUNT(l.id) FROM "Lead" AS l',
        "CNT-1:COUNT(*)": 'SELECT COUNT(*) FROM "Lead" AS l',
        "CNT-1:COUNT(DISTINCT l.clientId)": 'SELECT COUNT(DISTINCT l."clientId") FROM "Lead" AS l',
        "CNT-1:COUNT(DISTINCT l.emailCampaignId)":
            'SELECT COUNT(DISTINCT l."emailCampaignId") FROM "Lead" AS l',
    }),
    ("MMX", 'SELECT MIN(m."sentAt") FROM "Message" m', {
        "MMX-1:MIN→MAX": 'SELECT MAX(m."sentAt") FROM "Message" AS m',
    }),
    # a projection keeps its output name, so later references still resolve
    ("COL", 'SELECT m."sentAt" FROM "Message" m WHERE m."sentAt" > $1', {
        "COL-1:sentAt→createdAt":
            'SELECT m."createdAt" AS "sentAt" FROM "Message" AS m WHERE m."sentAt" > $1',
        "COL-2:sentAt→createdAt": 'SELECT m."sentAt" FROM "Message" AS m WHERE m."createdAt" > $1',
    }),
    ("JNK", ('SELECT 1 FROM "AIDraft" d JOIN "Lead" l ON l.id = d."leadId" '
             'LEFT JOIN "EmailCampaign" ec ON ec.id = l."emailCampaignId"'), {
        "JNK-1:Lead INNER→LEFT": 'SELECT 1 FROM "AIDraft" AS d LEFT JOIN "Lead" AS l ON l.id = '
                                 'd."leadId" LEFT JOIN "EmailCampaign" AS ec ON ec.id = '
                                 'l."emailCampaignId"',
        "JNK-2:EmailCampaign LEFT→INNER": 'SELECT 1 FROM "AIDraft" AS d JOIN "Lead" AS l ON l.id '
                                          '= d."leadId" JOIN "EmailCampaign" AS ec ON ec.id = '
                                          'l."emailCampaignId"',
    }),
    ("NUL", "SELECT 1 FROM t x WHERE x.a IS NULL AND NOT x.b IS NULL", {
        "NUL-1:IS NULL→IS NOT NULL": "SELECT 1 FROM t AS x WHERE x.a IS NOT NULL AND NOT x.b IS NULL",
        "NUL-2:IS NOT NULL→IS NULL": "SELECT 1 FROM t AS x WHERE x.a IS NULL AND x.b IS NULL",
    }),
    ("LST", "SELECT LEAST(x.a, x.b + 1) FROM t x", {
        "LST-1:LEAST→arg1": "SELECT x.a FROM t AS x",
        "LST-1:LEAST→arg2": "SELECT x.b + 1 FROM t AS x",
        "LST-1:LEAST→GREATEST": "SELECT GREATEST(x.a, x.b + 1) FROM t AS x",
    }),
    ("IVL", "SELECT x.a + ($1 * INTERVAL '1 day'), x.b - INTERVAL '2 hours' FROM t x", {
        "IVL-1:+→-": "SELECT x.a - ( $1 * INTERVAL '1 DAY' ), x.b - INTERVAL '2 HOURS' FROM t AS x",
        "IVL-2:drop multiplier": "SELECT x.a + ( INTERVAL '1 DAY' ), x.b - INTERVAL '2 HOURS' "
                                 "FROM t AS x",
        "IVL-3:-→+": "SELECT x.a + ( $1 * INTERVAL '1 DAY' ), x.b + INTERVAL '2 HOURS' FROM t AS x",
    }),
    ("GBD", "SELECT x.a, x.b, COUNT(*) FROM t x GROUP BY x.a, x.b", {
        "GBD-1:-a": "SELECT x.a, x.b, COUNT(*) FROM t AS x GROUP BY x.b",
        "GBD-2:-b": "SELECT x.a, x.b, COUNT(*) FROM t AS x GROUP BY x.a",
    }),
    # same family only: the two timestamps swap, the integer stays
    ("PSW", ("SELECT 1 FROM t x WHERE x.a >= $1::timestamptz AND x.a < $2::timestamptz "
             "AND x.n = $3::int"), {
        "PSW-1:$1↔$2": "SELECT 1 FROM t AS x WHERE x.a >= CAST($2 AS TIMESTAMPTZ) AND x.a < "
                       "CAST($1 AS TIMESTAMPTZ) AND x.n = CAST($3 AS INT)",
    }),
    ("RNK", ("SELECT CASE CASE WHEN x.a THEN 1 WHEN x.b THEN 2 ELSE 3 END "
             "WHEN 1 THEN 'A' WHEN 2 THEN 'B' ELSE 'C' END FROM t x"), {
        "RNK-1:1↔2": "SELECT CASE CASE WHEN x.a THEN 2 WHEN x.b THEN 1 ELSE 3 END WHEN 2 THEN 'A' "
                     "WHEN 1 THEN 'B' ELSE 'C' END FROM t AS x",
        "RNK-2:1↔3": "SELECT CASE CASE WHEN x.a THEN 3 WHEN x.b THEN 2 ELSE 1 END WHEN 3 THEN 'A' "
                     "WHEN 2 THEN 'B' ELSE 'C' END FROM t AS x",
        "RNK-3:2↔3": "SELECT CASE CASE WHEN x.a THEN 1 WHEN x.b THEN 3 ELSE 2 END WHEN 1 THEN 'A' "
                     "WHEN 3 THEN 'B' ELSE 'C' END FROM t AS x",
    }),
    ("TZN", "SELECT 1 FROM t x WHERE x.at < ($1::timestamptz AT TIME ZONE 'UTC')", {
        "TZN-1:-AT TIME ZONE UTC": "SELECT 1 FROM t AS x WHERE x.at < ( CAST($1 AS TIMESTAMPTZ) )",
        "TZN-2:timestamptz→timestamp": "SELECT 1 FROM t AS x WHERE x.at < ( CAST($1 AS TIMESTAMP) "
                                       "AT TIME ZONE 'UTC' )",
    }),
    ("ENM", 'SELECT 1 FROM "EmailCampaign" ec WHERE ec."responseMode" = \'AI_AUTO_SEND\'', {
        "ENM-1:AI_AUTO_SEND→SETTER_MANAGED":
            'SELECT 1 FROM "EmailCampaign" AS ec WHERE ec."responseMode" = \'SETTER_MANAGED\'',
    }),
]


@pytest.mark.parametrize(("operator", "sql", "expected"), CASES,
                         ids=[f"{case[0]}-{n}" for n, case in enumerate(CASES)])
def test_operator(operator: str, sql: str, expected: dict[str, str]) -> None:
    mutation = mutate_sql(sql, schema=booking_schema(), operators=[operator])
    assert {m.id: flat(m.sql) for m in mutation.mutants} == expected
    assert {m.operator for m in mutation.mutants} == {operator}


def test_every_operator_has_a_case() -> None:
    assert {case[0] for case in CASES} == set(OPERATORS)


#: One query with a site for every operator (named parameters, as in a ``.sql`` file).
KITCHEN_SINK = """
WITH firsts AS (
  SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
  FROM "Message" m
  WHERE m."aiDraftId" IS NOT NULL AND m.direction = 'outbound'
  GROUP BY m."aiDraftId"
)
SELECT d.channel,
  CASE WHEN l."appointmentBookedAt" IS NULL OR l."appointmentBookedAt" <= f."sentAt" THEN 2
       WHEN l."appointmentBookedAt" <= LEAST(:to::timestamptz AT TIME ZONE 'UTC',
                                             f."sentAt" + (:days * interval '1 day')) THEN 1
       ELSE 3 END AS rank,
  COUNT(DISTINCT l.id)
FROM "AIDraft" d
JOIN firsts f ON f."draftId" = d.id
JOIN "Lead" l ON l.id = d."leadId"
LEFT JOIN "EmailCampaign" ec ON ec.id = l."emailCampaignId"
WHERE f."sentAt" >= (:from::timestamptz AT TIME ZONE 'UTC') AND ec."responseMode" = 'AI_AUTO_SEND'
GROUP BY d.channel, 2
"""


def _kitchen_sink():
    from convguard.extract import extract_source

    query = extract_source("q.sql", KITCHEN_SINK).queries[0]
    families = {p.index: "timestamp" if p.expression in (":to", ":from") else "integer"
                for p in query.placeholders}
    return query, mutate_query(query, schema=booking_schema(), parameter_families=families)


def test_mutants_are_well_formed() -> None:
    from convguard._parse import parse
    from convguard.kit.mutation.mutants import regenerate

    query, mutation = _kitchen_sink()
    check_mutants(query, mutation.mutants)
    assert {m.operator for m in mutation.mutants} == set(OPERATORS)
    tree = parse(query).tree
    assert regenerate(tree) == mutation.baseline_sql  # the original tree was never changed
    for node in tree.dfs():
        assert all(child.parent is node for child in node.iter_expressions())
    again = _kitchen_sink()[1]
    assert [(m.id, m.sql) for m in again.mutants] == [(m.id, m.sql) for m in mutation.mutants]


def check_mutants(query, mutants) -> None:
    """Unique ids; sqlglot reads each mutant back to the same SQL (no precedence lost); each
    ``$n`` of the mutated text is a placeholder carrying the original's interpolation."""
    from convguard.kit.conformance.binding import bind_query

    ids = [mutant.id for mutant in mutants]
    assert len(ids) == len(set(ids))
    expressions = {p.index: p.expression for p in query.placeholders}
    values = {p.expression.strip().lstrip(":"): ["c1"] if p.kind == "list" else "x"
              for p in query.placeholders}
    for mutant in mutants:
        again = sqlglot.parse_one(mutant.sql, read="postgres")
        assert again.sql(dialect="postgres", pretty=True, comments=False) == mutant.sql, mutant.id
        assert mutant.query is not None and mutant.query.sql == mutant.sql
        for placeholder in mutant.query.placeholders:
            assert mutant.sql[placeholder.sql_start:placeholder.sql_end] == \
                f"${placeholder.index}"
            assert placeholder.expression == expressions[placeholder.index]
        bind_query(mutant.query, values)
        assert mutant.diff.startswith(f"--- original\n+++ {mutant.id}\n@@")


def test_score_counts_equivalent_mutants_out() -> None:
    mutant = mutate_sql("SELECT MIN(x.a), MAX(x.b) FROM t x").mutants
    outcomes = [MutantOutcome(mutant[0], "q", "killed", ("scenario s (counts)",)),
                MutantOutcome(mutant[1], "q", "equivalent", reason="why")]
    result = summarise(outcomes)
    assert (result.total, result.killed, result.survived, result.equivalent, result.score) == \
        (2, 1, 0, 1, 1.0)
    assert result.operators == (OperatorStats("MMX", "min-max", 2, 1, 0, 1),)
    assert summarise([dataclasses.replace(outcomes[1], status="survived")]).score == 0.0
    assert summarise([]).score == 1.0


def test_cli_parses_mutate() -> None:
    from convguard.cli import COMMANDS, build_parser

    args = build_parser().parse_args(["mutate", "q.sql", "--min-score", "0.9", "--operators",
                                      "ROR,MMX", "--examples", "0", "--format", "json"])
    assert (args.paths, args.min_score, args.operators, args.examples, args.format) == \
        (["q.sql"], 0.9, ["ROR,MMX"], 0, "json")
    assert COMMANDS[args.command].__name__ == "command_mutate"


# With a database ---------------------------------------------------------------------------------

def test_a_recorded_equivalent_that_is_killed_is_reported(bench, monkeypatch) -> None:
    from convguard.commands.test import plan_queries
    from convguard.kit.mutation.mutate import run_mutation

    monkeypatch.chdir(ROOT)
    planned = plan_queries([SQL_QUERY])
    config = dataclasses.replace(planned[0].config, equivalent_mutants={
        "MMX-2:MIN→MAX": "claimed, wrongly", "NO-SUCH-1:x": "stale"})
    planned = [dataclasses.replace(planned[0], config=config)]
    result = run_mutation(planned, bench, operators=["MMX"], examples=0)
    assert (result.total, result.killed, result.equivalent, result.score) == (2, 2, 0, 1.0)
    assert any("MMX-2:MIN→MAX is recorded as equivalent but scenario" in w
               for w in result.warnings)
    assert any("'NO-SUCH-1:x' matches no mutant" in w for w in result.warnings)


def test_command_json_and_min_score(bench, monkeypatch) -> None:
    from convguard.commands.mutate import run_mutate_command

    monkeypatch.chdir(ROOT)
    dsn = bench.server.conninfo("postgres")
    out = io.StringIO()
    args = argparse.Namespace(paths=[SQL_QUERY], format="json", dsn=dsn, allow_superuser=True, examples=0,
                              operators=["JNK"], min_score=1.0)
    assert run_mutate_command(args, out) == 0
    document = json.loads(out.getvalue())
    assert {key: document[key] for key in ("total", "killed", "survived", "equivalent")} == \
        {"total": 3, "killed": 1, "survived": 0, "equivalent": 2}
    mutant = document["mutants"][0]
    assert set(mutant) >= {"id", "operator", "description", "status", "killed_by", "diff"}
    # without the configuration's equivalents the two JOIN mutants survive: score 1/3
    empty = ROOT / "fixtures" / "bad" / "convguard.toml"
    args = argparse.Namespace(paths=[SQL_QUERY], format="text", dsn=dsn, allow_superuser=True, examples=0,
                              operators=["JNK"], min_score=0.3, config=str(empty),
                              profile="booking-conversion",
                              scenarios=[str(ROOT / "fixtures" / "scenarios" /
                                             "date-range-edges.yaml")])
    out = io.StringIO()
    code = run_mutate_command(args, out)
    assert "SURVIVED JNK-1:draft_send_time INNER→LEFT" in out.getvalue()
    assert "score 0.333" in out.getvalue()
    assert code == 0
    args.min_score = 0.5
    assert run_mutate_command(args, io.StringIO()) == 1


def test_reference_query_mutation_score_is_one(bench, monkeypatch, tmp_path) -> None:
    """The gate: every mutant of both reference queries is killed or recorded as equivalent.

    The run also proves the baseline: it stops with an error if sqlglot's regeneration of a query
    does not give the original's rows on every scenario.
    """
    from convguard.commands.test import plan_queries
    from convguard.kit.mutation.mutate import format_text, run_mutation

    monkeypatch.chdir(ROOT)
    started = time.perf_counter()
    planned = plan_queries([])
    result = run_mutation(planned, bench, failures_dir=str(tmp_path))
    elapsed = time.perf_counter() - started
    assert result.survived == 0, format_text(result)
    assert result.score == 1.0
    assert not result.warnings, result.warnings  # also: every recorded equivalent id still exists
    assert len(result.queries) == 2 and result.total > 250
    assert {stats.operator for stats in result.operators} == set(OPERATORS)
    assert elapsed < 90
    for item in planned:
        check_mutants(item.plan.query, [o.mutant for o in result.mutants
                                        if o.query == item.plan.label])


def test_a_query_that_fails_its_scenarios_cannot_be_scored(bench, monkeypatch, capsys) -> None:
    from convguard.commands.mutate import run_mutate_command

    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    args = argparse.Namespace(
        paths=["fixtures/bad/to-inclusive.ts::getAiDraftBookingConversionStats"], format="json",
        dsn=bench.server.conninfo("postgres"), allow_superuser=True, examples=0,
        operators=["MMX"],
        scenarios=[str(ROOT / "fixtures" / "scenarios" / "date-range-edges.yaml")])
    assert run_mutate_command(args, out) == 2
    assert "the original query fails scenario date-range-edges" in capsys.readouterr().err
    assert json.loads(out.getvalue())["error"]["hint"].startswith("run `convguard test ")


def test_equivalents_may_be_recorded_per_query(bench, monkeypatch) -> None:
    """Mutant numbers depend on the query, so a table named by PATH[::FUNCTION] holds the ids of
    that query only; other queries do not see them."""
    from convguard.commands.test import plan_queries
    from convguard.kit.mutation.mutate import equivalents_for, run_mutation

    monkeypatch.chdir(ROOT)
    planned = plan_queries([SQL_QUERY])
    config = dataclasses.replace(planned[0].config, equivalent_mutants={
        "fixtures/queries/booking_conversion.sql": {"MMX-2:MIN→MAX": "claimed, wrongly"},
        "fixtures/app/actions/ai-draft-response-analytics-actions.ts::other": {"MMX-1:x": "y"}})
    assert equivalents_for(config, planned[0].plan.query) == {"MMX-2:MIN→MAX": "claimed, wrongly"}
    planned = [dataclasses.replace(planned[0], config=config)]
    result = run_mutation(planned, bench, operators=["MMX"], examples=0)
    assert any("MMX-2:MIN→MAX is recorded as equivalent but scenario" in w
               for w in result.warnings)


@pytest.mark.parametrize("value", [3, {"ROR-1:x": 3}, ["a"]])
def test_an_equivalent_record_must_be_a_reason_or_a_table_of_reasons(value: object) -> None:
    from convguard._config import parse_config
    from convguard._errors import ConfigError

    with pytest.raises(ConfigError, match="equivalent_mutants maps a mutant id"):
        parse_config({"equivalent_mutants": {"q.sql": value}}, source="convguard.toml", root=".")


def test_every_bad_scenario_file_is_reported_before_a_server_starts(monkeypatch, capsys,
                                                                     tmp_path) -> None:
    """mutate loads the scenarios convguard test does, so it reports every unusable file too."""
    from convguard.commands.mutate import run_mutate_command
    from convguard.kit.conformance.runner import Workbench

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a server was started although scenario files cannot be used")

    monkeypatch.setattr(Workbench, "start", refuse)
    good = (ROOT / "fixtures" / "scenarios" / "date-range-edges.yaml").read_text()
    files = {"a.yaml": ("name: a\ntables: {Shop: []}\n", 2),
             "b.yaml": (good, None),
             "c.yaml": (good.replace("name: date-range-edges", "name: c\ncombination: 3"), 2),
             "d.json": ("[1, 2]", 1)}
    for name, (text, _line) in files.items():
        (tmp_path / name).write_text(text)
    out = io.StringIO()
    args = argparse.Namespace(paths=[str(ROOT / SQL_QUERY)], profile="booking-conversion",
                              format="json", provider="url", scenarios=[str(tmp_path)])
    assert run_mutate_command(args, out) == 2
    errors = json.loads(out.getvalue())["errors"]
    assert [(Path(e["path"]).name, e["line"]) for e in errors] == \
        [(name, line) for name, (_text, line) in files.items() if line is not None]
    assert capsys.readouterr().err.count("convguard: error: ") == 3
