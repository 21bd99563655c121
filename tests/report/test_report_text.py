"""The text report: ruff-like lines, fix hints, summary line."""

from __future__ import annotations

import pytest

from convguard._errors import InputError
from convguard._model import Diagnostic
from convguard.report import FORMATTERS, get_formatter, render
from convguard.report._text import format_text

A = Diagnostic("CG101", "updated-at-anchor", "anchors on updatedAt", "b.ts", 9, 3, 9, 14,
               fix="anchor on the first outbound message")
B = Diagnostic("CG102", "untyped-interval", "interval arithmetic on an untyped parameter", "a.sql",
               2, 1, 2, 9)


def test_lines_are_sorted_and_fix_is_indented() -> None:
    assert format_text([A, B]) == (
        "a.sql:2:1: CG102 [untyped-interval] interval arithmetic on an untyped parameter\n"
        "b.ts:9:3: CG101 [updated-at-anchor] anchors on updatedAt\n"
        "  fix: anchor on the first outbound message\n"
        "Found 2 problems.\n"
    )


@pytest.mark.parametrize(("diagnostics", "errors", "summary"), [
    ([], [], "All checks passed."),
    ([A], [], "Found 1 problem."),
    ([A, B], [], "Found 2 problems."),
    ([], [InputError("bad")], "No problems found, but 1 error stopped part of the check (see above)."),
    ([A], [InputError("x"), InputError("y")],
     "Found 1 problem; 2 errors stopped part of the check (see above)."),
])
def test_summary_line(diagnostics: list[Diagnostic], errors: list[InputError], summary: str) -> None:
    assert format_text(diagnostics, errors).splitlines()[-1] == summary


def test_registry_is_explicit_and_lazy() -> None:
    assert set(FORMATTERS) == {"text", "json", "sarif", "github"}
    for name in FORMATTERS:
        assert callable(get_formatter(name))
    assert render("text", []) == "All checks passed.\n"
    with pytest.raises(KeyError):
        get_formatter("xml")


@pytest.mark.parametrize("name", sorted(FORMATTERS))
def test_formatters_are_pure(name: str) -> None:
    diagnostics = (A, B)
    first = render(name, diagnostics, root="/nowhere")
    assert render(name, diagnostics, root="/nowhere") == first
    assert diagnostics == (A, B)
