"""Parsing: PostgreSQL's verdict, sqlglot's tree, offsets and the lexical regions."""

from __future__ import annotations

import pytest
from sqlglot import exp

from convguard._parse import (
    SqlSyntaxError,
    _libpg_query_parser,
    _pglast_parser,
    node_span,
    parameter_index,
    parse,
    parse_sql,
    postgres_parser,
)
from convguard.extract import extract_source

# (SQL, message, offset) of invalid SQL, as PostgreSQL reports it
INVALID = [
    ("SELECT , FROM t", 'syntax error at or near ","', 7),
    ("SELECT a, FROM t", 'syntax error at or near "FROM"', 10),
    ("SELECT 'é€' , , FROM t", 'syntax error at or near ","', 14),
    ("SELECT * FROM t WHERE", "syntax error at end of input", None),
    ("SELECT 'open", 'unterminated quoted string at or near "\'open"', 7),
    ("SELEC 1", 'syntax error at or near "SELEC"', 0),
    ("SELECT :from", 'syntax error at or near ":"', 7),
]


@pytest.mark.parametrize(("sql", "message", "offset"), INVALID)
def test_invalid_sql_is_reported_with_postgres_position(sql: str, message: str,
                                                        offset: int | None) -> None:
    parsed = parse_sql(sql)
    assert not parsed.ok
    assert parsed.tree is None
    assert parsed.error == SqlSyntaxError(message, offset)


def test_sqlglot_alone_would_accept_invalid_sql() -> None:
    import sqlglot

    assert sqlglot.parse_one("SELECT , FROM t", dialect="postgres") is not None
    assert not parse_sql("SELECT , FROM t").ok


@pytest.mark.parametrize("sql", [s for s, _, _ in INVALID] + [
    "SELECT 1", "SELECT 1; SELECT 2", "", "-- only a comment", "SELECT $1::int",
    "SET LOCAL statement_timeout = 10000", "SELECT 'é' || $1",
])
def test_direct_libpg_query_agrees_with_pglast(sql: str) -> None:
    direct = _libpg_query_parser()
    assert direct is not None, "pglast 7/8 exposes pg_query_parse"
    assert direct(sql) == _pglast_parser(sql)


def test_parser_can_be_forced_to_pglast(monkeypatch: pytest.MonkeyPatch) -> None:
    import convguard._parse as module

    monkeypatch.setattr(module, "_POSTGRES_PARSER", [])
    monkeypatch.setenv("CONVGUARD_PG_PARSER", "pglast")
    assert postgres_parser() is _pglast_parser


def test_several_statements_are_invalid_for_a_prepared_statement() -> None:
    parsed = parse_sql("SELECT 1;\n  SELECT 2")
    assert not parsed.ok
    assert parsed.error is not None and parsed.error.offset == parsed.sql.index("SELECT 2")


def test_valid_sql_keeps_both_verdicts() -> None:
    parsed = parse_sql('SELECT m."sentAt" FROM "Message" m WHERE m.id = $1')
    assert parsed.ok and isinstance(parsed.tree, exp.Select)
    assert parsed.pg_tree is not None and '"SelectStmt"' in parsed.pg_tree


def test_parse_is_cached_per_sql_text() -> None:
    assert parse_sql("SELECT 42") is parse_sql("SELECT 42")


def test_parameters_are_sqlglot_parameters_with_offsets() -> None:
    sql = "SELECT a FROM t WHERE x = $12 AND y = ($3::timestamptz AT TIME ZONE 'UTC')"
    parsed = parse_sql(sql)
    indexes = sorted(parameter_index(node) for node in parsed.find_all(exp.Parameter))
    assert indexes == [3, 12]
    assert parsed.parameter_starts() == {sql.index("$12"), sql.index("$3")}
    twelve = next(n for n in parsed.find_all(exp.Parameter) if parameter_index(n) == 12)
    assert node_span(twelve, sql) == (sql.index("$12"), sql.index("$12") + 3)


# Parameters written with no blank after them: sqlglot's tokenizer reads `$1,$` as the opening
# tag of a dollar quote and fails, which left the statement with no tree (no rule checked it)
TIGHT_PARAMETERS = [  # (tight, the same with blanks: the tree both give)
    ("SELECT a FROM t WHERE x IN ($1,$2)", "SELECT a FROM t WHERE x IN ($1, $2)"),
    ("INSERT INTO t (a, b) VALUES ($1,$2) ON CONFLICT (a) DO NOTHING",
     "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO NOTHING"),
    ("SELECT ($1)||$2, $3::int+$4 -- $5,$6\nFROM t WHERE y = '$7,$8' AND z = $9",
     "SELECT ($1) || $2, $3::int + $4 -- $5,$6\nFROM t WHERE y = '$7,$8' AND z = $9"),
    ("SELECT $$ $1,$2 $$, $1,$2\nFROM t", "SELECT $$ $1,$2 $$, $1, $2\nFROM t"),
]


@pytest.mark.parametrize(("sql", "spaced"), TIGHT_PARAMETERS)
def test_parameters_without_blanks_between_them_are_parameters(sql: str, spaced: str) -> None:
    parsed = parse_sql(sql)
    assert parsed.tree is not None, parsed.unsupported
    assert parsed.tree.sql("postgres") == parse_sql(spaced).tree.sql("postgres")
    assert parsed.parameter_starts() == {
        index for index in range(len(sql)) if sql.startswith("$", index)
        and sql[index + 1:index + 2].isdigit() and parsed.quoted_at(index) is None
        and parsed.comment_at(index) is None}
    for node in parsed.find_all(exp.Parameter):
        start, end = node_span(node, sql)
        assert sql[start:end] == f"${parameter_index(node)}"
    if "--" in sql:
        assert [sql[s:e] for s, e in parsed.comments()] == ["-- $5,$6"]
        assert [sql[q.start:q.end] for q in parsed.quoted()] == ["'$7,$8'"]


def test_node_span_uses_character_offsets_after_placeholders() -> None:
    sql = 'SELECT $1, $2, $3,\n  d."createdAt" FROM "AIDraft" d WHERE d.channel = \'é\''
    parsed = parse_sql(sql)
    column = next(c for c in parsed.find_all(exp.Column) if c.name == "createdAt")
    start, end = node_span(column, sql)
    assert sql[start:end] == 'd."createdAt"'
    literal = next(n for n in parsed.find_all(exp.Literal) if n.this == "é")
    start, end = node_span(literal, sql)
    assert sql[start:end] == "'é'"


def test_node_span_widens_calls_and_borrows_from_parents() -> None:
    sql = 'SELECT COUNT(*), MIN(m."sentAt") FROM "Message" m'
    parsed = parse_sql(sql)
    minimum = parsed.find_all(exp.Min)[0]
    start, end = node_span(minimum, sql)
    assert sql[start:end] == 'MIN(m."sentAt")'
    count = parsed.find_all(exp.Count)[0]  # COUNT(*) holds no positioned token itself
    start, end = node_span(count, sql)
    assert sql[start:end] == "COUNT(*)"
    paren = parse_sql("SELECT (a + 1) FROM t").tree.expressions[0]
    start, end = node_span(paren, "SELECT (a + 1) FROM t")
    assert (start, end) == (7, 14)


def test_find_all_is_in_source_order_and_includes_subclasses() -> None:
    parsed = parse_sql("SELECT MIN(a), MAX(b), COUNT(c) FROM t WHERE a > 1 AND b < 2")
    assert [type(n).__name__ for n in parsed.find_all(exp.AggFunc)] == ["Min", "Max", "Count"]
    assert [type(n).__name__ for n in parsed.find_all(exp.GT, exp.LT)] == ["GT", "LT"]


def test_quoted_regions_and_comments() -> None:
    sql = ("SELECT interval '$1 days', \"a$2\", $3 -- c $4\n"
           "FROM t /* x $5 */ WHERE $$q$6$$ = 'it''s'")
    parsed = parse_sql(sql)
    kinds = {sql[q.start:q.end]: q.kind for q in parsed.quoted()}
    assert kinds["'$1 days'"] == "string literal"
    assert kinds['"a$2"'] == "quoted identifier"
    assert kinds["$$q$6$$"] == "dollar-quoted string"
    assert [sql[s:e] for s, e in parsed.comments()] == ["-- c $4", "/* x $5 */"]
    assert parsed.quoted_at(sql.index("$1")) is not None
    assert parsed.comment_at(sql.index("$4")) is not None
    assert parsed.quoted_at(sql.index("$3")) is None
    assert parsed.parameter_starts() == {sql.index("$3")}


def test_named_placeholders_of_a_sql_file_parse_as_positional() -> None:
    text = "SELECT d.id FROM \"AIDraft\" d\nWHERE d.\"createdAt\" >= :from::timestamptz\n" \
           "  AND d.\"createdAt\" < :to AND d.\"leadId\" IN (:client_ids);"
    query = extract_source("q.sql", text).queries[0]
    parsed = parse(query)
    assert parsed.ok
    assert sorted(parameter_index(p) for p in parsed.find_all(exp.Parameter)) == [1, 2, 3]


def test_the_tree_is_never_mutated_by_span_lookups() -> None:
    sql = "SELECT COUNT(*) FROM t WHERE a = 1"
    parsed = parse_sql(sql)
    before = [getattr(node, "_meta", None) for node in parsed.tree.walk()]
    for node in parsed.tree.walk():
        node_span(node, sql)
    after = [getattr(node, "_meta", None) for node in parsed.tree.walk()]
    assert before == after
