"""Every rule documents itself, and its documentation's examples prove it (as SQLFluff does).

A rule's docstring has the headings ``What it does``, ``Why is this bad?``, ``Example`` and
``Use instead``; the ``Example`` code block must trigger the rule and the ``Use instead`` block
must not. Profile rules are checked with their example bound to their profile.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convguard._check import check_source
from convguard._config import Config, QueryConfig
from convguard.rules import Rule, all_rules

RULES = all_rules()  # convguard's rules and every installed profile's

HEADINGS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")
FENCE = re.compile(r"```(sql|ts)\n(.*?)```", re.DOTALL)
CODE = re.compile(r"^CG\d{3}$")
NAME = re.compile(r"^[a-z]+(-[a-z]+)*$")


def section(doc: str, heading: str) -> str:
    start = doc.index(heading) + len(heading)
    following = [doc.index(h, start) for h in HEADINGS if h in doc[start:]]
    return doc[start:min(following)] if following else doc[start:]


def example(doc: str, heading: str) -> tuple[str, str]:
    blocks = FENCE.findall(section(doc, heading))
    assert len(blocks) == 1, f"{heading}: expected exactly one ```sql or ```ts block"
    language, code = blocks[0]
    return language, code


SAMPLE_SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "prisma" / "schema.prisma"


def codes_found(rule: Rule, language: str, code: str, folder: Path) -> set[str]:
    # The examples are written against the sample application, whose schema sits where the
    # check finds it (prisma/schema.prisma above the checked file).
    (folder / "prisma").mkdir(exist_ok=True)
    (folder / "prisma" / "schema.prisma").write_text(SAMPLE_SCHEMA.read_text(encoding="utf-8"),
                                                     encoding="utf-8")
    path = folder / f"example.{language}"
    path.write_text(code, encoding="utf-8")
    queries = ()
    if rule.profile is not None:
        queries = (QueryConfig(path=path.name, profile="booking-conversion"),)
    config = Config(root=str(folder), driver="node-postgres", queries=queries)
    result = check_source(str(path), code, config=config)
    assert not result.errors, result.errors
    return {diagnostic.code for diagnostic in result.diagnostics}


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_is_documented(code: str) -> None:
    rule = RULES[code]
    assert CODE.match(rule.code) and rule.code == code
    assert NAME.match(rule.name), rule.name
    assert rule.summary and rule.summary.endswith("."), rule.summary
    positions = [rule.doc.find(heading) for heading in HEADINGS]
    assert all(position >= 0 for position in positions), f"{code} lacks a heading"
    assert positions == sorted(positions), f"{code}: headings out of order"


@pytest.mark.parametrize("code", sorted(RULES))
def test_example_fails_and_use_instead_passes(code: str, tmp_path: Path) -> None:
    rule = RULES[code]
    bad_language, bad = example(rule.doc, "## Example")
    good_language, good = example(rule.doc, "## Use instead")
    assert code in codes_found(rule, bad_language, bad, tmp_path), "the Example must fail"
    assert code not in codes_found(rule, good_language, good, tmp_path), \
        "the Use instead must pass"


def test_names_and_codes_are_unique() -> None:
    names = [rule.name for rule in RULES.values()]
    assert len(names) == len(set(names))
    assert all(key == rule.code for key, rule in RULES.items())
