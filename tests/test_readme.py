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


def readme_imports() -> list[tuple[str, str]]:
    """``(module, name)`` of every ``from convguard... import ...`` in the README's Python
    examples."""
    import ast

    names = []
    for block in re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("convguard"):
                names += [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                names += [(alias.name, "") for alias in node.names
                          if alias.name.startswith("convguard")]
    return names


def test_the_readme_examples_import_public_names_only() -> None:
    import importlib

    imported = readme_imports()
    assert ("convguard.kit", "run_query") in imported and ("convguard", "Schema") in imported
    for module_name, name in imported:
        assert not any(part.startswith("_") for part in module_name.split(".")), module_name
        module = importlib.import_module(module_name)
        if name:
            assert not name.startswith("_") and name in module.__all__, (module_name, name)
            assert getattr(module, name) is not None


def test_the_library_api_table_lists_public_names() -> None:
    import convguard.kit

    section = README[README.index("### Library API"):README.index("## Benchmarks")]
    listed = set(re.findall(r"^\| `(\w+)", section, flags=re.MULTILINE))
    listed |= {name for row in re.findall(r"^\| (`\w+`(?:, `\w+`)+) \|", section,
                                          flags=re.MULTILINE)
               for name in re.findall(r"`(\w+)`", row)}
    assert {"load_query", "throwaway_database", "seed", "run_query", "schema_from_prisma",
            "load_scenarios", "Scenario", "Rows"} <= listed
    assert listed <= set(convguard.kit.__all__)
