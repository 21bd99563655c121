"""Tests of TypeScript/JavaScript query extraction (``convguard.extract._typescript``).

Most behaviour is data-driven from ``cases/typescript.yaml``; positions, offset maps, the
dispatcher, the docstring examples, the lead's fixture and pathological inputs are tested here.
"""

from __future__ import annotations

import doctest
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from convguard._errors import ExtractionError
from convguard._model import ExtractedQuery, ExtractionResult, HostText
from convguard.extract import _ts_lexer, _typescript, extract_source
from convguard.extract._typescript import extract_typescript

HERE = Path(__file__).parent
CASES = yaml.safe_load((HERE / "cases" / "typescript.yaml").read_text(encoding="utf-8"))
SAMPLE = (HERE / "cases" / "sample_actions.ts").read_text(encoding="utf-8")
LEAD_FIXTURE = (HERE.parents[1] / "fixtures" / "app" / "actions"
                / "ai-draft-response-analytics-actions.ts")


def assert_consistent(result: ExtractionResult, text: str) -> None:
    """Every SQL character is either copied from the host (a segment) or a ``$n`` placeholder."""
    for query in result.queries:
        assert_query_consistent(query, text)


def assert_query_consistent(query: ExtractedQuery, text: str) -> None:
    covered = [False] * len(query.sql)
    for fragment in query.opaque:  # a stand-in: text convguard writes, mapped to its `${...}`
        assert query.sql[fragment.sql_start:fragment.sql_end] == fragment.stand_in
        covered[fragment.sql_start:fragment.sql_end] = [True] * len(fragment.stand_in)
        host = text[fragment.host_span.start:fragment.host_span.end]
        assert host.startswith("${") and host.endswith("}")
        assert query.host_offset(fragment.sql_start) == fragment.host_span.start or \
            not fragment.stand_in
    previous_end = 0
    for segment in query.segments:
        assert segment.length > 0
        assert segment.sql_start >= previous_end
        previous_end = segment.sql_start + segment.length
        sql_part = query.sql[segment.sql_start:previous_end]
        assert sql_part == text[segment.host_start:segment.host_start + segment.length]
        covered[segment.sql_start:previous_end] = [True] * segment.length
    for number, placeholder in enumerate(query.placeholders, start=1):
        assert placeholder.index == number
        assert query.sql[placeholder.sql_start:placeholder.sql_end] == f"${number}"
        assert not any(covered[placeholder.sql_start:placeholder.sql_end])
        covered[placeholder.sql_start:placeholder.sql_end] = [True] * len(f"${number}")
        host = text[placeholder.host_span.start:placeholder.host_span.end]
        if host.startswith("${"):
            assert host.endswith("}")
        # a helper's parameter is named by the caller's argument; an array element is itself
    # text convguard inserts (Prisma.join's default separator) is the only uncovered text
    assert all(flag or char == "," for flag, char in zip(covered, query.sql))
    assert 0 <= query.span.start < query.span.end <= len(text)


def _case_source(case: dict[str, Any]) -> str:
    if "source" in case:
        return case["source"]
    repeat = case["source_repeat"]
    return (repeat["prefix"] + repeat["unit"] * repeat["count"] + repeat["middle"]
            + repeat["close"] * repeat["count"] + repeat["suffix"])


def _check_query(query: ExtractedQuery, expected: dict[str, Any]) -> None:
    if "sql" in expected:
        assert query.sql == expected["sql"]
    for key in ("tag", "function", "transaction"):
        if key in expected:
            assert getattr(query, key) == expected[key], key
    if "placeholders" in expected:
        actual = [[p.index, p.expression, p.kind] for p in query.placeholders]
        assert actual == expected["placeholders"]
    if "variant" in expected:
        assert [query.variant, query.variants] == expected["variant"]
    if "opaque" in expected:
        assert [[o.expression, o.stand_in] for o in query.opaque] == expected["opaque"]
    if "choices" in expected:
        assert list(query.choices) == expected["choices"]
    if "unverified" in expected:
        assert (query.unverified_syntax is not None) == expected["unverified"]
    if "suppressions" in expected:
        assert [list(pair) for pair in query.host_suppressions] == expected["suppressions"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: dict[str, Any]) -> None:
    path = case.get("path", "case.ts")
    source = _case_source(case)
    tags = tuple(case.get("tags", ()))
    if "error" in case:
        with pytest.raises(ExtractionError) as caught:
            extract_typescript(path, source, tags=tags)
        assert case["error"]["message"] in caught.value.message
        assert caught.value.line == case["error"]["line"]
        assert caught.value.path == path
        assert caught.value.hint
        return
    result = extract_typescript(path, source, tags=tags)
    assert result.path == path
    assert_consistent(result, source)
    if "queries" in case:
        assert len(result.queries) == len(case["queries"]), [q.sql for q in result.queries]
        for query, expected in zip(result.queries, case["queries"], strict=True):
            _check_query(query, expected)
    if "unsafe" in case:
        actual = [[u.callee, u.argument_text, u.dynamic, u.function] for u in result.unsafe_calls]
        assert actual == case["unsafe"]


# -- positions and offset maps -----------------------------------------------------------------


def _sample_result() -> ExtractionResult:
    return extract_typescript("actions.ts", SAMPLE)


def test_placeholder_host_positions() -> None:
    host = HostText("actions.ts", SAMPLE)
    first = _sample_result().queries[0]
    join = first.placeholder(1)
    assert join is not None and join.expression == "Prisma.join(scope.clientIds)"
    assert host.position(join.host_span.start) == join.host_span.start_position
    assert (join.host_span.start_position.line, join.host_span.start_position.column) == (13, 28)
    assert SAMPLE[join.host_span.start:join.host_span.end] == "${Prisma.join(scope.clientIds)}"
    # The spliced fragment's parameter points at the fragment's own `${...}` on line 9.
    spliced = first.placeholder(4)
    assert spliced is not None and spliced.expression == "opts.clientId"
    assert spliced.host_span.start_position.line == 9


def test_host_offset_maps_sql_back_to_the_host() -> None:
    query = _sample_result().queries[0]
    for word in ("SELECT", "GROUP BY", 'JOIN "Lead"'):
        offset = query.host_offset(query.sql.index(word))
        assert SAMPLE.startswith(word, offset)
    # Text that came from the spliced fragment maps into the fragment.
    offset = query.host_offset(query.sql.index('AND l."clientId"'))
    assert HostText("a.ts", SAMPLE).position(offset).line == 9
    assert SAMPLE.startswith('AND l."clientId"', offset)
    # Inside a placeholder: the start of its interpolation.
    placeholder = query.placeholders[1]
    assert query.host_offset(placeholder.sql_start + 1) == placeholder.host_span.start


def test_escapes_keep_the_offset_map_right() -> None:
    source = "const q = Prisma.sql`SELECT a \\` b \\${c} d ${e} f`;"
    query = extract_typescript("e.ts", source).queries[0]
    assert query.sql == "SELECT a ` b ${c} d $1 f"
    for word in ("b", "c}", "d", "f"):
        assert source.startswith(word, query.host_offset(query.sql.index(word)))
    assert source[query.host_offset(query.sql.index("`"))] == "`"


def test_span_and_tag_position() -> None:
    source = "const x = 1;\nconst rows = await tx.$queryRaw<Row[]>`\n  SELECT 1\n`;\n"
    query = extract_typescript("s.ts", source).queries[0]
    assert query.tag == "tx.$queryRaw"
    assert source[query.span.start:query.span.end] == "tx.$queryRaw<Row[]>`\n  SELECT 1\n`"
    assert (query.span.start_position.line, query.span.start_position.column) == (2, 20)
    assert query.span.end_position.line == 4


def test_unsafe_call_span_and_position() -> None:
    source = ("async function f() {\n  await tx.$executeRawUnsafe(\n    `SET LOCAL x = 1`,\n"
              "  );\n}\n")
    call = extract_typescript("u.ts", source).unsafe_calls[0]
    assert call.callee == "tx.$executeRawUnsafe"
    assert call.function == "f"
    assert source[call.span.start:call.span.end].startswith("tx.$executeRawUnsafe(")
    assert source[call.span.start:call.span.end].endswith(")")
    assert (call.span.start_position.line, call.span.start_position.column) == (2, 9)


def test_label_uses_the_function_name() -> None:
    query = _sample_result().queries[0]
    assert query.label == "actions.ts::getAiDraftResponseOutcomeStats"


# -- integration -------------------------------------------------------------------------------


def test_dispatcher_routes_script_suffixes() -> None:
    for suffix in (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts"):
        result = extract_source(f"a{suffix}", "prisma.$queryRaw`SELECT ${x}`;")
        assert [query.sql for query in result.queries] == ["SELECT $1"]


def test_configured_tags_pass_through_the_dispatcher() -> None:
    result = extract_source("a.ts", "db.sql`SELECT 1`;", tags=["db.sql"])
    assert [query.tag for query in result.queries] == ["db.sql"]


@pytest.mark.parametrize("module", [_ts_lexer, _typescript], ids=lambda m: m.__name__)
def test_docstring_examples(module: object) -> None:
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert tried > 0
    assert failures == 0


def test_sample_actions_file() -> None:
    result = _sample_result()
    assert [(q.tag, q.function, q.transaction, q.variant) for q in result.queries] == [
        ("prisma.$queryRaw", "getAiDraftResponseOutcomeStats", None, 1),
        ("prisma.$queryRaw", "getAiDraftResponseOutcomeStats", None, 2),
        ("tx.$executeRawUnsafe", "getAiDraftBookingConversionStats", 1, 1),
        ("tx.$queryRaw", "getAiDraftBookingConversionStats", 1, 1),
        ("tx.$queryRaw", "getAiDraftBookingConversionStats", 1, 2),
    ]
    assert [(u.callee, u.dynamic, u.function) for u in result.unsafe_calls] == [
        ("tx.$executeRawUnsafe", False, "getAiDraftBookingConversionStats"),
        ("this.db.$queryRawUnsafe", True, "byId"),
        ("Prisma.raw", True, "byId"),
    ]
    assert_consistent(result, SAMPLE)


@pytest.mark.skipif(not LEAD_FIXTURE.exists(), reason="the lead's fixture is not written yet")
def test_lead_fixture_functions() -> None:
    text = LEAD_FIXTURE.read_text(encoding="utf-8")
    result = extract_typescript(str(LEAD_FIXTURE), text)
    assert_consistent(result, text)
    functions = {query.function for query in result.queries}
    assert {"getAiDraftResponseOutcomeStats", "getAiDraftBookingConversionStats"} <= functions


# -- size and pathological input ---------------------------------------------------------------


def _big_file(functions: int) -> str:
    return "\n".join(
        SAMPLE.replace("getAiDraft", f"f{index}_getAiDraft")
        for index in range(functions)
    )


def _timed(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    """The value (or ExtractionError) and the CPU seconds it took: CPU time, not wall-clock, so
    that a machine busy with other work does not fail these bounds."""
    start = time.process_time()
    try:
        value = function(*args, **kwargs)
    except ExtractionError as error:
        value = error
    return value, time.process_time() - start


def test_two_thousand_lines_is_fast() -> None:
    text = _big_file(50)
    assert text.count("\n") > 1900
    result, elapsed = _timed(extract_typescript, "big.ts", text)
    assert isinstance(result, ExtractionResult)
    assert len({query.site for query in result.queries}) == 150
    assert max(query.transaction or 0 for query in result.queries) == 50
    assert elapsed < 0.5  # typically ~30 ms; this only catches quadratic regressions


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("100k-unclosed-interpolations", "q = sql`" + "${" * 100_000),
        # combinations: each is 2^n statements, of which a bounded subset is assembled
        ("300-accumulating-assignments", "function f(o) { let w = Prisma.sql`TRUE`;"
         + "".join(f"if (o.c{i}) w = Prisma.sql`${{w}} AND x{i} = ${{o.v{i}}}`;"
                   for i in range(300))
         + "return prisma.$queryRaw`SELECT 1 WHERE ${w}`; }"),
        ("3k-functions-one-let-name", "".join(
            f"function f{i}(c) {{ let w = Prisma.sql`a`; if (c) {{ w = Prisma.sql`b`; }} "
            f"else {{ w = Prisma.sql`c`; }} return prisma.$queryRaw`SELECT 1 WHERE ${{w}}`; }}"
            for i in range(3000))),
        ("3k-nested-if-assignments", "function f(o) { let w = Prisma.sql`TRUE`;"
         + "".join(f"if (o.c{i}) {{ w = Prisma.sql`x{i}`; " for i in range(3000))
         + "}" * 3000 + "return prisma.$queryRaw`SELECT 1 WHERE ${w}`; }"),
        ("5k-nested-single-statement-ifs", "function f(c) { let w = Prisma.sql`a`; "
         + "if (c) " * 5000 + "w = Prisma.sql`b`; return prisma.$queryRaw`SELECT 1 ${w}`; }"),
        ("2k-falling-through-cases", "function f(k) { let w = Prisma.sql`a`; switch (k) {"
         + "".join(f"case {i}: w = Prisma.sql`x{i}`; " for i in range(2000))
         + "} return prisma.$queryRaw`SELECT 1 WHERE ${w}`; }"),
        ("3k-nested-switches-and-tries", "function f(k) { let w = Prisma.sql`a`;"
         + "".join(f"switch (k) {{ case {i}: try {{ w = Prisma.sql`x{i}`; " for i in range(1500))
         + "} catch {}}" * 1500 + "return prisma.$queryRaw`SELECT 1 WHERE ${w}`; }"),
        ("500-optional-pushes", "function f(o) { const p = [Prisma.sql`TRUE`];"
         + "".join(f"if (o.c{i}) p.push(Prisma.sql`x{i} = ${{o.v{i}}}`);" for i in range(500))
         + 'return prisma.$queryRaw`SELECT 1 WHERE ${Prisma.join(p, " AND ")}`; }'),
        ("500-chained-ternaries", "function f(k) { const w = "
         + "".join(f"k === {i} ? Prisma.sql`x = {i}` : " for i in range(500)) + "Prisma.empty;"
         + "return prisma.$queryRaw`SELECT 1 WHERE TRUE ${w}`; }"),
        ("200-inline-ternaries", "prisma.$queryRaw`SELECT 1 WHERE TRUE "
         + "".join(f"${{c{i} ? Prisma.sql`AND a{i}` : Prisma.sql`AND b{i}`}} " for i in range(200))
         + "`"),
        ("60-helpers-calling-helpers", "".join(
            f"function h{i}(x) {{ return x ? Prisma.sql`a{i} ${{h{i + 1}(x)}}` : Prisma.empty; }}"
            for i in range(60)) + "function h60() { return Prisma.empty; }"
         + "prisma.$queryRaw`SELECT 1 ${h0(1)}`;"),
        ("20k-nested-templates-unclosed", "prisma.$queryRaw`" + "${`" * 20_000),
        ("20k-nested-templates", "`${" * 20_000 + "x" + "}`" * 20_000),
        ("5k-nested-fragments", "prisma.$queryRaw`" + "${Prisma.sql`" * 5_000 + "}`" * 5_000),
        ("5k-chained-arrows", "const f = " + "x => " * 5_000 + "prisma.$queryRaw`SELECT 1`;"),
        ("10k-const-aliases", "function f() { const a0 = Prisma.sql`x`;"
         + "".join(f"const a{i + 1} = a{i};" for i in range(10_000))
         + "return prisma.$queryRaw`SELECT ${a10000}`; }"),
        ("100k-open-parens", "prisma.$queryRaw`SELECT ${" + "(" * 100_000 + "}`"),
        ("30k-braces", "{" * 30_000 + "prisma.$queryRaw`SELECT 1`" + "}" * 30_000),
        ("30k-jsx", "<a>" * 30_000),
        ("100k-slashes", "/" * 100_000 + "\n" + "x /[" * 30_000),
        ("100k-less-than-generics", "prisma.$queryRaw" + "<" * 100_000 + "`x`"),
        ("5k-functions", "function f() {}" * 5_000 + "prisma.$queryRaw`SELECT 1`"),
    ],
)
def test_pathological_input_is_fast_and_clean(name: str, text: str) -> None:
    path = "p.tsx" if "jsx" in name else "p.ts"
    value, elapsed = _timed(extract_typescript, path, text)
    assert isinstance(value, (ExtractionResult, ExtractionError))
    assert elapsed < 2.0, f"{name} took {elapsed:.2f}s"  # each is linear; ~0.1 s here
