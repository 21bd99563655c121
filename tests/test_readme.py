"""The README's promises stay true: every rule is listed, the Quickstart matches .ci/run."""

from __future__ import annotations

import re
from pathlib import Path

from convguard.rules import all_rules

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_rule_is_in_the_readme_table() -> None:
    listed = set(re.findall(r"^\| (CG\d{3}) \| ([a-z-]+) \|", README, flags=re.MULTILINE))
    assert listed == {(code, rule.name) for code, rule in all_rules().items()}


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e '.[test]'" in README and 'pip install --quiet -e ".[test]"' in ci
    assert "\npython -m pytest -n 2\n" in README
    assert ci.rstrip().endswith("python -m pytest -n 2")
