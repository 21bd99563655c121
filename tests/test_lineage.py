"""Column lineage through aliases, subqueries and CTEs, down to the schema — or Unresolved."""

from __future__ import annotations

import pytest
from sqlglot import exp

from convguard._lineage import Lineage, QueryLineage, Unresolved, lineage, same_entity
from convguard._parse import parse_sql
from convguard._schema import Column, Schema, Table
from convguard.profiles.booking_conversion.schema import booking_schema

SCHEMA = booking_schema()


def resolve(sql: str) -> tuple[QueryLineage, exp.Expression]:
    parsed = parse_sql(sql)
    assert parsed.ok, parsed.error
    return lineage(parsed.tree, SCHEMA), parsed.tree


def outputs(sql: str) -> list[Lineage | Unresolved]:
    result, tree = resolve(sql)
    return [result.of(projection) for projection in tree.expressions]


def columns(result: Lineage | Unresolved) -> set[tuple[str, str]]:
    assert isinstance(result, Lineage), result
    return set(result.columns)


# (id, SQL whose first output is traced, expected columns)
TRACES = [
    ("alias", 'SELECT d."leadId" FROM "AIDraft" d', {("AIDraft", "leadId")}),
    ("table-name", 'SELECT "AIDraft".id FROM "AIDraft"', {("AIDraft", "id")}),
    ("unqualified", 'SELECT channel FROM "AIDraft"', {("AIDraft", "channel")}),
    ("public-schema", 'SELECT l.id FROM public."Lead" l', {("Lead", "id")}),
    ("subquery", 'SELECT s.x FROM (SELECT l.id AS x FROM "Lead" l) s', {("Lead", "id")}),
    ("subquery-column-list", 'SELECT s.y FROM (SELECT l.id FROM "Lead" l) AS s(y)',
     {("Lead", "id")}),
    ("cte", 'WITH c AS (SELECT m."sentAt" FROM "Message" m) SELECT c."sentAt" FROM c',
     {("Message", "sentAt")}),
    ("cte-column-list", ('WITH c(a, b) AS (SELECT m.id, m."sentAt" FROM "Message" m) '
     "SELECT c.b FROM c"), {("Message", "sentAt")}),
    ("nested-cte", ('WITH a AS (SELECT l.id AS k FROM "Lead" l), b AS (SELECT a.k AS j FROM a) '
     "SELECT x.j FROM b x"), {("Lead", "id")}),
    ("cte-inside-subquery", ('SELECT s.k FROM (WITH a AS (SELECT l.id AS k FROM "Lead" l) '
     "SELECT a.k FROM a) s"), {("Lead", "id")}),
    ("star", 'WITH c AS (SELECT * FROM "Lead") SELECT c."appointmentBookedAt" FROM c',
     {("Lead", "appointmentBookedAt")}),
    ("qualified-star", ('WITH c AS (SELECT d.*, l.id AS lid FROM "AIDraft" d JOIN "Lead" l '
     'ON l.id = d."leadId") SELECT c.channel FROM c'), {("AIDraft", "channel")}),
    ("union", ('SELECT u.i FROM (SELECT d.id AS i FROM "AIDraft" d UNION ALL '
     'SELECT m.id FROM "Message" m) u'), {("AIDraft", "id"), ("Message", "id")}),
    ("expression", 'SELECT d."createdAt" + interval \'1 day\' FROM "AIDraft" d',
     {("AIDraft", "createdAt")}),
    ("case-values-only", 'SELECT CASE WHEN d.channel = \'sms\' THEN d.id END FROM "AIDraft" d',
     {("AIDraft", "id")}),
    ("scalar-subquery", ('SELECT (SELECT MAX(m."sentAt") FROM "Message" m '
     'WHERE m."aiDraftId" = d.id) FROM "AIDraft" d'), {("Message", "sentAt")}),
    ("order-by-output", 'SELECT d.id AS k FROM "AIDraft" d ORDER BY k', {("AIDraft", "id")}),
]


@pytest.mark.parametrize(("sql", "expected"), [t[1:] for t in TRACES],
                         ids=[t[0] for t in TRACES])
def test_traces_to_schema_columns(sql: str, expected: set[tuple[str, str]]) -> None:
    result, _ = resolve(sql)
    assert not result.unresolved, result.unresolved
    assert columns(outputs(sql)[0]) == expected


def test_aggregates_are_recorded_and_not_direct() -> None:
    send = outputs('SELECT MIN(m."sentAt") FROM "Message" m GROUP BY m."aiDraftId"')[0]
    assert columns(send) == {("Message", "sentAt")}
    assert send.aggregates == {"min"} and not send.direct


def test_alias_is_traced_by_lineage_not_by_its_spelling() -> None:
    sql = ('WITH x AS (SELECT d.id AS "leadId" FROM "AIDraft" d) '
           'SELECT COUNT(DISTINCT x."leadId") FROM x')
    count = outputs(sql)[0]
    assert columns(count) == {("AIDraft", "id")}
    assert count.aggregates == {"count"}
    assert not same_entity(outputs('WITH x AS (SELECT d.id AS "leadId" FROM "AIDraft" d) '
                                   'SELECT x."leadId" FROM x')[0], ("Lead", "id"), SCHEMA)


def test_same_entity_accepts_a_foreign_key_to_the_key() -> None:
    lead, via_fk, draft = outputs('SELECT l.id, d."leadId", d.id FROM "AIDraft" d '
                                  'JOIN "Lead" l ON l.id = d."leadId"')
    assert same_entity(lead, ("Lead", "id"), SCHEMA)
    assert same_entity(via_fk, ("Lead", "id"), SCHEMA)
    assert not same_entity(draft, ("Lead", "id"), SCHEMA)
    message_draft = outputs('SELECT m."aiDraftId" FROM "Message" m')[0]
    assert same_entity(message_draft, ("AIDraft", "id"), SCHEMA)
    assert not same_entity(Unresolved("x", "y"), ("Lead", "id"), SCHEMA)


def test_origin_and_via_name_the_derived_column_that_computed_a_value() -> None:
    sql = ('WITH s AS (SELECT m."aiDraftId" AS d, MIN(m."sentAt") AS at FROM "Message" m '
           'GROUP BY 1), a AS (SELECT s.at, s.d FROM s) SELECT a.at, a.d FROM a')
    at, draft = outputs(sql)
    assert at.origin == ("s", "at") and ("s", "at") in at.via and ("a", "at") in at.via
    assert draft.origin == ("Message", "aiDraftId") and draft.direct


def test_correlated_subquery_sees_the_outer_scope() -> None:
    result, _ = resolve('SELECT d.id FROM "AIDraft" d WHERE EXISTS (SELECT 1 FROM "Message" r '
                        'WHERE r."leadId" = d."leadId" AND r."sentAt" > d."createdAt")')
    assert not result.unresolved


def test_recursive_cte_resolves_through_its_seed() -> None:
    result, tree = resolve('WITH RECURSIVE c AS (SELECT l.id AS n FROM "Lead" l UNION ALL '
                           "SELECT c.n FROM c) SELECT c.n FROM c")
    assert not result.unresolved
    assert columns(result.of(tree.expressions[0])) == {("Lead", "id")}


# (id, SQL, reason fragment)
UNRESOLVED = [
    ("unknown-column", 'SELECT l.nope FROM "Lead" l', 'column "nope" does not exist in "Lead"'),
    ("unquoted-camel-case", 'SELECT l.appointmentBookedAt FROM "Lead" l',
     'column "appointmentbookedat" does not exist'),
    ("missing-from-entry", 'SELECT x.id FROM "Lead" l', 'missing FROM-clause entry for table "x"'),
    ("ambiguous", 'SELECT id FROM "Lead" l JOIN "AIDraft" d ON d."leadId" = l.id',
     'column reference "id" is ambiguous'),
    ("cte-column", 'WITH c AS (SELECT l.id FROM "Lead" l) SELECT c.other FROM c',
     'column "other" does not exist in "c"'),
    ("cte-column-list-renames", 'WITH c(k) AS (SELECT l.id FROM "Lead" l) SELECT c.id FROM c',
     'column "id" does not exist in "c"'),
    ("unquoted-table", "SELECT 1 FROM AIDraft", 'relation "aidraft" does not exist'),
    ("no-such-column-anywhere", 'SELECT nothing FROM "Lead"', 'column "nothing" does not exist'),
]


@pytest.mark.parametrize(("sql", "reason"), [u[1:] for u in UNRESOLVED],
                         ids=[u[0] for u in UNRESOLVED])
def test_unresolved_references_are_explicit(sql: str, reason: str) -> None:
    result, _ = resolve(sql)
    assert result.unresolved, "expected an unresolved reference"
    assert reason in result.unresolved[0].reason


def test_unquoted_camel_case_gets_a_hint() -> None:
    result, _ = resolve('SELECT l.appointmentBookedAt FROM "Lead" l')
    assert result.unresolved[0].hint == \
        'unquoted identifiers fold to lower case: write "appointmentBookedAt"'


@pytest.mark.parametrize(("sql", "hint"), [
    ('SELECT l."clientID" FROM "Lead" l', 'quoted identifiers keep their case: write "clientId"'),
    ('SELECT 1 FROM "LEAD"', 'quoted identifiers keep their case: write "Lead"'),
    ("SELECT 1 FROM lead", 'unquoted identifiers fold to lower case: write "Lead"'),
    ('INSERT INTO "Message" (id, "aiDraftID") VALUES ($1, $2)',
     'quoted identifiers keep their case: write "aiDraftId"'),
])
def test_a_name_right_but_for_case_gets_the_hint_for_how_it_was_written(sql: str, hint: str
                                                                         ) -> None:
    result, _ = resolve(sql)
    assert result.unresolved[0].hint == hint


def test_unknown_tables_make_no_claims() -> None:
    result, tree = resolve('SELECT t.whatever, t."updatedAt" FROM "Elsewhere" t')
    assert not result.unresolved and not result.schema_tables
    first, second = (result.of(p) for p in tree.expressions)
    assert isinstance(first, Lineage) and not first.columns
    assert second.unknown == {("Elsewhere", "updatedAt")}


def test_a_custom_schema_is_used() -> None:
    schema = Schema(tables=(Table("Thing", (Column("id", "text"), Column("at", "timestamp(3)"))),))
    parsed = parse_sql('SELECT t.at FROM "Thing" t')
    result = lineage(parsed.tree, schema)
    assert columns(result.of(parsed.tree.expressions[0])) == {("Thing", "at")}


def test_join_side_is_known_for_a_reference() -> None:
    sql = ('SELECT ec."responseMode" FROM "AIDraft" d JOIN "Lead" l ON l.id = d."leadId" '
           'LEFT JOIN "EmailCampaign" ec ON ec.id = l."emailCampaignId"')
    result, tree = resolve(sql)
    column = tree.expressions[0]
    assert result.source_of(column) == ("table", "EmailCampaign", "LEFT")


def test_lineage_never_mutates_the_tree() -> None:
    sql = ('WITH c AS (SELECT l.id AS k FROM "Lead" l) SELECT c.k, COUNT(*) FROM c '
           "GROUP BY 1 ORDER BY 1")
    parsed = parse_sql(sql)
    before = parsed.tree.sql(dialect="postgres")
    metas = [dict(getattr(n, "_meta", None) or {}) for n in parsed.tree.walk()]
    lineage(parsed.tree, SCHEMA)
    assert parsed.tree.sql(dialect="postgres") == before
    assert [dict(getattr(n, "_meta", None) or {}) for n in parsed.tree.walk()] == metas


def test_reference_query_resolves_completely() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "fixtures" / "queries" /
            "booking_conversion.sql").read_text()
    from convguard._parse import parse
    from convguard.extract import extract_source

    parsed = parse(extract_source("q.sql", text).queries[0])
    result = lineage(parsed.tree, SCHEMA)
    assert not result.unresolved
    count = next(iter(parsed.find_all(exp.Count)))
    assert same_entity(result.of(count.this.expressions[0]), ("Lead", "id"), SCHEMA)


@pytest.mark.parametrize("sql", [
    'SELECT current_user, session_user, current_role, user, current_date FROM "Lead" l',
    'SELECT l FROM "Lead" l',
    'SELECT id FROM "Lead" JOIN "AIDraft" USING (id)',
    'SELECT id FROM "Lead" NATURAL JOIN "AIDraft"',
    # DEFAULT is a keyword where PostgreSQL accepts it (sqlglot reads it as a column in SET)
    'UPDATE "Message" SET channel = DEFAULT, (body, "aiDraftId") = (DEFAULT, $1) WHERE id = $2',
    'SELECT x FROM "Lead" l, unnest(ARRAY[1]) x',
    'SELECT t.a FROM "Lead" l CROSS JOIN LATERAL (SELECT l.id AS a) t',
    'SELECT g.n FROM generate_series(1, 3) g(n) JOIN "Lead" l ON true',
    ('SELECT date_trunc(\'day\', l."createdAt") AS day, count(*) FROM "Lead" l GROUP BY day '
    "ORDER BY day"),
])
def test_valid_postgres_is_not_unresolved(sql: str) -> None:
    result, _ = resolve(sql)
    assert result.unresolved == ()


def test_using_column_merges_both_sides() -> None:
    merged = outputs('SELECT id FROM "Lead" JOIN "AIDraft" USING (id)')[0]
    assert columns(merged) == {("Lead", "id"), ("AIDraft", "id")}


def test_a_data_modifying_cte_outputs_what_it_returns() -> None:
    result, tree = resolve('WITH moved AS (UPDATE "Message" SET body = $1 RETURNING id AS "movedId",'
                           ' "leadId") SELECT moved."movedId", moved."leadId", moved.body FROM moved')
    moved_id, lead_id, _ = (result.of(projection) for projection in tree.expressions)
    assert isinstance(moved_id, Lineage) and moved_id.columns == {("Message", "id")}
    assert isinstance(lead_id, Lineage) and lead_id.columns == {("Message", "leadId")}
    [missing] = result.unresolved
    assert missing.reason == 'column "body" does not exist in "moved"'


def test_set_targets_resolve_against_the_target_only() -> None:
    result, _ = resolve('UPDATE "Message" m SET id = l.id, "clientId" = l."clientId" '
                        'FROM "Lead" l WHERE l.id = m."leadId"')
    [missing] = result.unresolved
    assert missing.reason == 'column "clientId" does not exist in "Message"'
    assert missing.hint == 'use a column of "Message", the table written; quote camelCase names'
