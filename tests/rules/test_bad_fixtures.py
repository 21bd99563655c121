"""Data-driven: every bad variant yields exactly its annotated findings; the references none.

See ``fixtures/bad/README.md`` for the ``expect: CODE`` annotation convention.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convguard._check import check_paths, check_source

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "fixtures" / "bad"
REFERENCES = [ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts",
              ROOT / "fixtures" / "queries" / "booking_conversion.sql"]
ANNOTATION = re.compile(r"\bexpect:\s*(CG\d+(?:\s*,\s*CG\d+)*)")
FILES = sorted(path for path in BAD.iterdir() if path.suffix in (".ts", ".sql"))


def expected_findings(text: str) -> set[tuple[int, str]]:
    return {(number, code.strip())
            for number, line in enumerate(text.splitlines(), start=1)
            for match in ANNOTATION.finditer(line)
            for code in match.group(1).split(",")}


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_findings_equal_annotations(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    result = check_source(str(path), text)
    assert not result.errors, result.errors
    found = {(diagnostic.line, diagnostic.code) for diagnostic in result.diagnostics}
    details = "\n".join(f"{d.line}:{d.column} {d.code} {d.message}" for d in result.diagnostics)
    assert found == expected_findings(text), details


def test_every_rule_has_a_bad_variant() -> None:
    from convguard.rules import all_rules

    annotated = {code for path in FILES for _, code in expected_findings(path.read_text())}
    assert annotated == set(all_rules())


@pytest.mark.parametrize("path", REFERENCES, ids=[path.name for path in REFERENCES])
def test_reference_forms_are_clean(path: Path) -> None:
    result = check_source(str(path), path.read_text(encoding="utf-8"))
    assert result.errors == ()
    assert result.diagnostics == ()
    assert result.queries >= 1


def test_the_whole_folder_in_one_call() -> None:
    result = check_paths([str(BAD)])
    assert not result.errors
    assert len(result.files) == len(FILES)
    expected = sum(len(expected_findings(path.read_text())) for path in FILES)
    assert len({(d.path, d.line, d.code) for d in result.diagnostics}) == expected
