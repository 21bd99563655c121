"""The static check's cost grows linearly with its input: counted operations, never timings.

A 5 MB statement once took 74 s because asking where each predicate of a long ``OR`` chain sits
walked the whole chain above it (O(n²)); position lookups scanned every placeholder per finding.
These tests count the steps such paths take, so a quadratic path fails here on any machine.
``benchmarks/bench_check_tree.py`` has the timings.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

import convguard
from convguard._check import check_source
from convguard._config import Config
from convguard._model import ExtractedQuery, HostText, Placeholder, Segment, Span
from convguard._parse import parse_sql
from convguard.rules import _base
from convguard.rules._base import clause_of, host_range

PACKAGE = os.path.dirname(convguard.__file__)


def test_clause_of_every_predicate_of_a_deep_or_chain_is_linear(monkeypatch: Any) -> None:
    n = 2000
    sql = "SELECT 1 FROM t WHERE " + " OR ".join(f"t.a > {i}" for i in range(n))
    comparisons = parse_sql(sql).find_all(_base.exp.GT)
    assert len(comparisons) == n
    steps = []
    real = _base._clause_at

    def counted(child: Any, parent: Any) -> Any:
        steps.append(1)
        return real(child, parent)

    monkeypatch.setattr(_base, "_clause_at", counted)
    assert {clause_of(node) for node in comparisons} == {"where"}
    assert len(steps) <= 3 * n  # the chain is n deep: O(n²) = 2,000,000 steps without the memo


class _CountedTuple(tuple):  # type: ignore[type-arg]
    """A tuple that counts how often it is walked."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        _CountedTuple.walks += 1
        return super().__iter__()


def test_position_lookups_never_walk_every_placeholder() -> None:
    n = 3000
    parts, placeholders, segments = [], [], []
    text = "".join(f"a = ${{v{i}}} AND " for i in range(n))
    host = HostText("q.ts", text)
    sql_length = 0
    host_offset = 0
    for i in range(n):
        verbatim = "a = "
        segments.append(Segment(sql_length, host_offset, len(verbatim)))
        parts.append(verbatim)
        sql_length += len(verbatim)
        host_offset += len(verbatim)
        marker = f"${i + 1}"
        interpolation = f"${{v{i}}}"
        placeholders.append(Placeholder(i + 1, f"v{i}", "value", sql_length,
                                        sql_length + len(marker),
                                        Span.of(host, host_offset, host_offset + len(interpolation))))
        parts.append(marker)
        sql_length += len(marker)
        host_offset += len(interpolation)
        segments.append(Segment(sql_length, host_offset, len(" AND ")))
        parts.append(" AND ")
        sql_length += len(" AND ")
        host_offset += len(" AND ")
    query = ExtractedQuery("q.ts", "".join(parts), _CountedTuple(placeholders), tuple(segments),
                           Span.of(host, 0, len(text)), "sql")
    _CountedTuple.walks = 0
    for placeholder in placeholders:
        assert query.host_offset(placeholder.sql_start) == placeholder.host_span.start
        assert query.placeholder(placeholder.index) is placeholder
        assert host_range(query, placeholder.sql_start, placeholder.sql_end) == (
            placeholder.host_span.start, placeholder.host_span.end)
        assert query.host_offset(placeholder.sql_start - 2) == placeholder.host_span.start - 2
    assert _CountedTuple.walks <= 2  # the index is built once; lookups bisect it


def _big_action(groups: int) -> str:
    """A TS action whose one statement has ``groups`` filter groups, each with a parameter, a
    CG104 finding (a window on updatedAt) and a suppression comment of another code (CG002)."""
    lines = [f"    (l.\"clientId\" = ${{ids[{i}]}} AND l.\"updatedAt\" >= '2026-01-01' "
             f"AND l.email LIKE '%@{i}.example') -- convguard: ignore[CG101]"
             for i in range(groups)]
    return ("export async function report(ids: string[]) {\n  return prisma.$queryRaw`\n"
            "    SELECT l.id FROM \"Lead\" l WHERE\n" + "\n    OR ".join(lines) + "\n  `;\n}\n")


def _convguard_lines(run: Callable[[], Any]) -> int:
    """Lines of convguard's own code executed by ``run`` (sqlglot's are not counted)."""
    count = 0

    def local(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return local

    def global_(frame: Any, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(PACKAGE) else None

    previous = sys.gettrace()
    sys.settrace(global_)
    try:
        run()
    finally:
        sys.settrace(previous)
    return count


def _check(groups: int) -> Any:
    result = check_source(f"report{groups}.ts", _big_action(groups), config=Config(root="."))
    codes = [d.code for d in result.diagnostics]
    assert codes.count("CG104") == groups and codes.count("CG002") == groups, codes[:5]
    return result


@pytest.mark.parametrize("small", [100])
def test_whole_check_cost_is_linear_in_the_statement(small: int) -> None:
    _check(7)  # imports and first-use caches are not part of the growth
    lines_small = _convguard_lines(lambda: _check(small))
    lines_large = _convguard_lines(lambda: _check(4 * small))
    # linear: 4x the groups, about 4x the lines (a quadratic path would make it 16x)
    assert lines_large <= 5 * lines_small, (lines_small, lines_large)


def test_a_union_of_thousands_of_branches_is_checked_without_recursion() -> None:
    # `a UNION ALL b UNION ALL ...` nests to the left as deep as it has branches
    branches = 3000
    sql = "\nUNION ALL\n".join(
        f"SELECT d.id FROM \"AIDraft\" d WHERE d.\"updatedAt\" > '2026-01-{i % 28 + 1:02d}'"
        for i in range(branches)) + ";\n"
    assert branches > sys.getrecursionlimit()
    result = check_source("union.sql", sql, config=Config(root="."))
    assert result.errors == ()
    assert [d.code for d in result.diagnostics].count("CG104") == branches
