"""The GitHub workflow-command report and its escaping rules."""

from __future__ import annotations

import pytest

from convguard._errors import ExtractionError
from convguard._model import Diagnostic
from convguard.report._github import escape_data, escape_property, format_github


@pytest.mark.parametrize(("raw", "data", "prop"), [
    ("plain", "plain", "plain"),
    ("100%", "100%25", "100%25"),
    ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
    ("x: y, z", "x: y, z", "x%3A y%2C z"),
    ("%0A", "%250A", "%250A"),
])
def test_escaping(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_one_command_per_finding(tmp_path) -> None:
    inside = str(tmp_path / "src" / "a,b.ts")
    findings = [
        Diagnostic("CG101", "updated-at-anchor", "uses updatedAt: bad", inside, 4, 2, 4, 9,
                   fix="use sentAt"),
        Diagnostic("CG900", "style", "minor", inside, 1, 1, 1, 2, severity="warning"),
    ]
    assert format_github(findings, root=str(tmp_path)).splitlines() == [
        "::warning file=src/a%2Cb.ts,line=1,col=1,endLine=1,endColumn=2,title=CG900 style::minor",
        "::error file=src/a%2Cb.ts,line=4,col=2,endLine=4,endColumn=9,"
        "title=CG101 updated-at-anchor::uses updatedAt: bad%0Afix: use sentAt",
    ]


def test_errors_become_error_annotations(tmp_path) -> None:
    error = ExtractionError("unterminated string", path=str(tmp_path / "q.sql"), line=3,
                            hint="close it")
    assert format_github([], [error], root=str(tmp_path)) == (
        "::error file=q.sql,line=3,title=convguard error::unterminated string%0Ahint: close it\n"
    )


def test_no_findings_prints_nothing() -> None:
    assert format_github([]) == ""
