"""The one SQL text scanner (``convguard._sql_text``): cases, a generated round trip, its users."""

from __future__ import annotations

import pytest

from convguard._sql_text import comments, first_word, regions, without_comments

CASES = [
    # (sql, [(kind, text, closed)])
    ("SELECT 1", []),
    ("SELECT 'a''b'", [("string", "'a''b'", True)]),
    ("SELECT '--not a comment' -- but this is", [("string", "'--not a comment'", True),
                                                 ("line_comment", "-- but this is", True)]),
    ("SELECT '/*' , 1 /* c */", [("string", "'/*'", True), ("block_comment", "/* c */", True)]),
    ("SELECT E'it\\'s' , 'x\\'", [("string", "E'it\\'s'"[1:], True), ("string", "'x\\'", True)]),
    ("SELECT \"a\"\"b\" FROM t", [("identifier", '"a""b"', True)]),
    ("SELECT $$a'b$$, $tag$ $$ $tag$", [("dollar", "$$a'b$$", True),
                                        ("dollar", "$tag$ $$ $tag$", True)]),
    ("SELECT $1, $2::int, a$b$ FROM t", []),
    ("/* outer /* inner */ still */ SELECT 1", [("block_comment",
                                                 "/* outer /* inner */ still */", True)]),
    ("SELECT 'open", [("string", "'open", False)]),
    ("SELECT 1 /* open", [("block_comment", "/* open", False)]),
    ("SELECT $q$ open", [("dollar", "$q$ open", False)]),
    ("SELECT xe'a\\' , 1", [("string", "'a\\'", True)]),  # xe is a name: no E-string escapes
    ("SELECT 1 -- last line", [("line_comment", "-- last line", True)]),
]


@pytest.mark.parametrize(("sql", "expected"), CASES, ids=[case[0][:30] for case in CASES])
def test_regions(sql: str, expected: list[tuple[str, str, bool]]) -> None:
    assert [(r.kind, sql[r.start:r.end], r.closed) for r in regions(sql)] == expected


def test_without_comments_keeps_strings_and_offsets_of_words() -> None:
    sql = "SET statement_timeout = '5s' -- why\n/* more */ ;"
    assert without_comments(sql) == "SET statement_timeout = '5s'  \n  ;"
    assert comments("SELECT '--'") == ()
    assert first_word("-- c\n/* d */ WITH x AS (SELECT 1) SELECT 1") == "WITH"
    assert first_word("-- only a comment") == ""


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

_PIECES = {
    "code": st.sampled_from(["SELECT ", "a", " = ", "$1", "x::int", ",", "\n", "t.b", "1"]),
    "string": st.text(alphabet="ab'-/*$\" \n", max_size=8).map(
        lambda s: "'" + s.replace("'", "''") + "'"),
    "identifier": st.text(alphabet="ab'-/*$\" ", max_size=8).map(
        lambda s: '"' + s.replace('"', '""') + '"'),
    "dollar": st.text(alphabet="ab'-/*\" \n", max_size=8).map(lambda s: "$q$" + s + "$q$"),
    "line_comment": st.text(alphabet="ab'-/*$\" ", max_size=8).map(lambda s: "--" + s),
    "block_comment": st.text(alphabet="ab'-$\" \n", max_size=8).map(lambda s: "/*" + s + "*/"),
}


@st.composite
def pieces(draw: st.DrawFn) -> list[tuple[str, str]]:
    out = []
    for kind in draw(st.lists(st.sampled_from(sorted(_PIECES)), max_size=8)):
        text = draw(_PIECES[kind])
        if out and out[-1][0] == "line_comment":
            out.append(("code", "\n"))  # a line comment ends its line
        if kind != "code":
            out.append(("code", " "))  # keep tokens apart (a$q$ would be a name)
        out.append((kind, text))
    return out


@hypothesis.given(pieces())
def test_regions_recover_what_was_composed(parts: list[tuple[str, str]]) -> None:
    sql = "".join(text for _, text in parts)
    expected, offset = [], 0
    for kind, text in parts:
        if kind != "code":
            expected.append((kind, offset, offset + len(text)))
        offset += len(text)
    assert [(r.kind, r.start, r.end) for r in regions(sql)] == expected
    assert all(r.closed for r in regions(sql))


def test_its_users_read_sql_through_it() -> None:
    """The runner's keyword reading, the parser's comment fallback and the .sql splitter."""
    from convguard._parse import _comments
    from convguard.extract import extract_source
    from convguard.kit.conformance.runner import first_keyword, statement_timeout_of

    assert first_keyword("/* /* nested */ */ select 1") == "SELECT"
    assert statement_timeout_of("SET LOCAL statement_timeout = '5s' /* a '--' */") == "5s"
    assert _comments("SELECT '--x' /* y */") == ((13, 20),)
    queries = extract_source("q.sql", "SELECT ';' /* ; */ ; SELECT $$;$$;").queries
    assert [query.sql for query in queries] == ["SELECT ';' /* ; */", "SELECT $$;$$"]


# The per-character reading the scanner used before it jumped with str.find and regexes: kept
# here as the oracle the faster scan must agree with, on text built from the characters that
# decide (quotes, backslashes, comment marks, dollars) mixed with plain ones.
def _reference_quote_end(sql: str, start: int, quote: str, backslash: bool) -> tuple[int, bool]:
    index = start + 1
    while index < len(sql):
        char = sql[index]
        if backslash and char == "\\":
            index += 2
            continue
        if char == quote:
            if sql.startswith(quote, index + 1):
                index += 2
                continue
            return index + 1, True
        index += 1
    return len(sql), False


def _reference_block_comment_end(sql: str, start: int) -> tuple[int, bool]:
    depth, index = 0, start
    while index < len(sql):
        if sql.startswith("/*", index):
            depth, index = depth + 1, index + 2
        elif sql.startswith("*/", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index, True
        else:
            index += 1
    return len(sql), False


_DECIDING = st.lists(st.sampled_from(["'", "''", '"', "\\", "\\'", "/*", "*/", "/", "*", "-",
                                      "--", "\n", "$", "$$", "$a$", "E", "e", " ", "x", "1"]),
                     max_size=40).map("".join)


@hypothesis.given(_DECIDING)
@hypothesis.settings(max_examples=300, deadline=None)
def test_the_fast_scan_agrees_with_the_per_character_reading(text: str) -> None:
    from convguard import _sql_text

    for start, char in enumerate(text):
        if char in "'\"":
            for backslash in (False, True) if char == "'" else (False,):
                assert (_sql_text._quote_end(text, start, char, backslash=backslash)
                        == _reference_quote_end(text, start, char, backslash))
        if text.startswith("/*", start):
            assert (_sql_text._block_comment_end(text, start)
                    == _reference_block_comment_end(text, start))
