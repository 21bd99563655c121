"""Data-driven tests of ``.sql`` extraction: splitting, placeholders and the offset map."""

from __future__ import annotations

from pathlib import Path

import pytest

from convguard._errors import ExtractionError
from convguard._model import ExtractedQuery
from convguard.extract._sql_file import extract_sql_file

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "queries" / "booking_conversion.sql"

# (id, file text, expected SQL of each statement)
SPLITS = [
    ("one", "SELECT 1;", ["SELECT 1"]),
    ("no-terminator", "SELECT 1", ["SELECT 1"]),
    ("two", "SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
    ("blank-and-empty", " ;;\n\n ; SELECT 1 ;\n;", ["SELECT 1"]),
    ("comment-only", "-- nothing here;\n/* nor; here */;\n", []),
    ("string", "SELECT 'a;b';SELECT 2", ["SELECT 'a;b'", "SELECT 2"]),
    ("string-escape", "SELECT 'it''s; fine'; SELECT 2", ["SELECT 'it''s; fine'", "SELECT 2"]),
    ("e-string", r"SELECT E'a\';b'; SELECT 2", [r"SELECT E'a\';b'", "SELECT 2"]),
    ("e-string-lower", r"SELECT e'\\'; SELECT 2", [r"SELECT e'\\'", "SELECT 2"]),
    ("std-string-backslash", r"SELECT 'a\'; SELECT 2", [r"SELECT 'a\'", "SELECT 2"]),
    ("quoted-identifier", 'SELECT "a;""b" FROM t; SELECT 2', ['SELECT "a;""b" FROM t', "SELECT 2"]),
    ("dollar-quote", "SELECT $$a;b$$; SELECT 2", ["SELECT $$a;b$$", "SELECT 2"]),
    ("dollar-tag", "SELECT $fn$ $$; $fn$; SELECT 2", ["SELECT $fn$ $$; $fn$", "SELECT 2"]),
    ("dollar-in-identifier", "SELECT a$b$; SELECT 2", ["SELECT a$b$", "SELECT 2"]),
    ("line-comment", "SELECT 1 -- a;b\n; SELECT 2", ["SELECT 1 -- a;b", "SELECT 2"]),
    ("block-comment", "SELECT /* ; */ 1; SELECT 2", ["SELECT /* ; */ 1", "SELECT 2"]),
    ("nested-comment", "SELECT /* a /* ; */ ; */ 1; SELECT 2", ["SELECT /* a /* ; */ ; */ 1", "SELECT 2"]),
    ("leading-comment-kept", "-- header\nSELECT 1;", ["-- header\nSELECT 1"]),
    ("trailing-comment-same-line", "SELECT 1; -- convguard: ignore[CG101]\nSELECT 2;",
     ["SELECT 1 -- convguard: ignore[CG101]", "SELECT 2"]),
    ("trailing-comment-next-line", "SELECT 1;\n-- about two\nSELECT 2;",
     ["SELECT 1", "-- about two\nSELECT 2"]),
    ("space-before-terminator", "SELECT 1  \n ;", ["SELECT 1"]),
]

# (id, statement text, expected SQL, expected (index, expression, kind) per placeholder)
PLACEHOLDERS = [
    ("positional", "SELECT $1, $2, $1", "SELECT $1, $2, $1",
     [(1, "$1", "value"), (2, "$2", "value"), (1, "$1", "value")]),
    ("named", "SELECT :a, :b", "SELECT $1, $2", [(1, ":a", "named"), (2, ":b", "named")]),
    ("named-reused", "SELECT :b, :a, :b", "SELECT $1, $2, $1",
     [(1, ":b", "named"), (2, ":a", "named"), (1, ":b", "named")]),
    ("named-then-cast", "SELECT :from::timestamptz", "SELECT $1::timestamptz",
     [(1, ":from", "named")]),
    ("cast-only", "SELECT x::int, y::text", "SELECT x::int, y::text", []),
    ("cast-after-paren", "SELECT (x)::int", "SELECT (x)::int", []),
    ("assignment", "SELECT f(a := 1)", "SELECT f(a := 1)", []),
    ("slice", "SELECT arr[lo:hi], arr[1:n]", "SELECT arr[lo:hi], arr[1:n]", []),
    ("in-string", "SELECT ':a', '$1'", "SELECT ':a', '$1'", []),
    ("in-e-string", r"SELECT E'\' :a', :b", r"SELECT E'\' :a', $1", [(1, ":b", "named")]),
    ("in-identifier", 'SELECT ":a", "$1"', 'SELECT ":a", "$1"', []),
    ("in-dollar-quote", "SELECT $$ :a $1 $$, $t$ :b $t$", "SELECT $$ :a $1 $$, $t$ :b $t$", []),
    ("in-comments", "SELECT 1 -- :a $1\n/* :b /* :c */ $2 */", "SELECT 1 -- :a $1\n/* :b /* :c */ $2 */", []),
    ("dollar-identifier", "SELECT a$1", "SELECT a$1", []),
    ("mixed", "SELECT $2, :x, $1, :x", "SELECT $2, $3, $1, $3",
     [(2, "$2", "value"), (3, ":x", "named"), (1, "$1", "value"), (3, ":x", "named")]),
    ("in-list", "WHERE id IN (:ids)", "WHERE id IN ($1)", [(1, ":ids", "named")]),
    ("long-names-shift", "SELECT :client_ids, :attribution_window_days, x",
     "SELECT $1, $2, x", [(1, ":client_ids", "named"), (2, ":attribution_window_days", "named")]),
]

UNTERMINATED = [
    ("string", "SELECT 'abc;\nSELECT 2", "string", 1),
    ("e-string", "SELECT 1;\nSELECT E'abc\\';", "E'' string", 2),
    ("identifier", 'SELECT "abc', "quoted identifier", 1),
    ("dollar", "SELECT 1;\n\nSELECT $x$ abc $y$", "dollar-quoted string $x$", 3),
    ("comment", "SELECT /* /* */ 1", "/* comment", 1),
]


def assert_offsets_consistent(query: ExtractedQuery, text: str) -> None:
    """Every segment copies host text verbatim; every placeholder maps to its source text."""
    covered = 0
    for segment in query.segments:
        sql_part = query.sql[segment.sql_start : segment.sql_start + segment.length]
        assert sql_part == text[segment.host_start : segment.host_start + segment.length]
        covered += segment.length
    named = [p for p in query.placeholders if p.kind == "named"]
    assert covered + sum(p.sql_end - p.sql_start for p in named) == len(query.sql)
    for placeholder in query.placeholders:
        assert query.sql[placeholder.sql_start : placeholder.sql_end] == f"${placeholder.index}"
        span = placeholder.host_span
        assert text[span.start : span.end] == placeholder.expression
        assert query.host_offset(placeholder.sql_start) == span.start
    for offset, char in enumerate(query.sql):
        if not any(p.sql_start <= offset < p.sql_end for p in query.placeholders):
            assert text[query.host_offset(offset)] == char


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in SPLITS],
                         ids=[case[0] for case in SPLITS])
def test_splits_statements(text: str, expected: list[str]) -> None:
    result = extract_sql_file("q.sql", text)
    assert [query.sql for query in result.queries] == expected
    for query in result.queries:
        assert query.tag == "sql"
        assert query.function is None and query.transaction is None
        assert query.path == "q.sql"
        assert_offsets_consistent(query, text)


@pytest.mark.parametrize(("text", "sql", "expected"), [case[1:] for case in PLACEHOLDERS],
                         ids=[case[0] for case in PLACEHOLDERS])
def test_placeholders(text: str, sql: str, expected: list[tuple[int, str, str]]) -> None:
    (query,) = extract_sql_file("q.sql", text).queries
    assert query.sql == sql
    assert [(p.index, p.expression, p.kind) for p in query.placeholders] == expected
    assert_offsets_consistent(query, text)


@pytest.mark.parametrize(("text", "what", "line"), [case[1:] for case in UNTERMINATED],
                         ids=[case[0] for case in UNTERMINATED])
def test_unterminated_constructs_are_extraction_errors(text: str, what: str, line: int) -> None:
    with pytest.raises(ExtractionError) as raised:
        extract_sql_file("bad.sql", text)
    assert raised.value.path == "bad.sql"
    assert raised.value.line == line
    assert raised.value.message == f"unterminated {what} starting at line {line}"
    assert raised.value.hint


def test_span_covers_code_not_leading_comments() -> None:
    text = "SELECT 1;\n\n-- header\n  SELECT :a\n  FROM t ; -- tail\n"
    first, second = extract_sql_file("q.sql", text).queries
    assert (first.span.start, first.span.end) == (0, 8)
    assert second.span.start_position.line == 4 and second.span.start_position.column == 3
    assert text[second.span.start : second.span.end] == "SELECT :a\n  FROM t"
    assert second.label == "q.sql:4"
    placeholder = second.placeholders[0]
    assert (placeholder.host_span.start_position.line, placeholder.host_span.start_position.column) == (4, 10)


def test_segments_shift_after_short_placeholders() -> None:
    text = "SELECT :attribution_window_days AS w, x FROM t"
    (query,) = extract_sql_file("q.sql", text).queries
    assert query.sql == "SELECT $1 AS w, x FROM t"
    assert query.host_offset(query.sql.index("x FROM")) == text.index("x FROM")
    assert len(query.segments) == 2


def test_reference_query_is_valid_postgresql() -> None:
    pglast = pytest.importorskip("pglast")
    text = FIXTURE.read_text(encoding="utf-8")
    (query,) = extract_sql_file(str(FIXTURE), text).queries
    pglast.parse_sql(query.sql)
    assert query.sql.startswith("-- Booking conversions")
    assert not query.sql.rstrip().endswith(";")
    assert query.span.start_position.line == text[: text.index("WITH")].count("\n") + 1
    names = {p.expression: p.index for p in query.placeholders}
    assert names == {":client_ids": 1, ":from": 2, ":to": 3, ":maturity_buffer_days": 4,
                     ":attribution_window_days": 5}
    assert all(p.kind == "named" for p in query.placeholders)
    assert ":to" not in query.sql.split("*/")[-1].split("WITH", 1)[1]
    assert_offsets_consistent(query, text)


def test_empty_file_has_no_queries() -> None:
    assert extract_sql_file("q.sql", "").queries == ()
    assert extract_sql_file("q.sql", "\n  \n").queries == ()


def test_dispatch_through_extract_source() -> None:
    from convguard.extract import extract_source

    result = extract_source("a/b.SQL", "SELECT :x;")
    assert result.queries[0].sql == "SELECT $1"


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.given(st.lists(st.sampled_from(
    ["SELECT", " ", "\n", "a", "x1", "a$b", "$1", "$2$3", ":from", "::date", ":=", "x:y", ";",
     "'s;'", "E'\\';'", '"q;"', "$t$;$t$", "-- c;\n", "/* ; */", "-", "/", "(", ")", ",", "*",
     "é", "\t", "::", ":", "$", "1"]), max_size=30).map("".join))
@hypothesis.settings(max_examples=300, deadline=None)
def test_the_plain_run_shortcut_changes_nothing(text: str) -> None:
    """The lexer steps over runs of plain tokens in one match; token by token it reads the same."""
    import re

    from convguard.extract import _sql_file

    def extract(source: str) -> object:
        try:
            result = _sql_file.extract_sql_file("q.sql", source)
        except _sql_file.ExtractionError as error:
            return str(error)
        return [(q.sql, q.placeholders, q.segments, q.span) for q in result.queries]

    fast = extract(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_sql_file, "_PLAIN_RUN", re.compile(r"(?!)"))
        token_by_token = extract(text)
    assert fast == token_by_token
