"""The README's promises stay true: every rule is listed, the Quickstart matches .ci/run."""

from __future__ import annotations

import ast
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


def readme_dotted_names() -> list[str]:
    """Every ``convguard.x.y`` the README's prose names in backticks (not ``convguard.toml``)."""
    names = re.findall(r"`(convguard(?:\.\w+)+)`", README)
    return sorted({name for name in names if not name.startswith("convguard.toml")})


def test_every_dotted_name_in_the_readme_imports() -> None:
    """A module or an attribute the prose names (``convguard.profiles.SyntheticData``) exists,
    and a name of a module's ``__all__`` where the module has one."""
    import importlib

    names = readme_dotted_names()
    assert {"convguard.profiles.Profile", "convguard.profiles.SyntheticData",
            "convguard.kit"} <= set(names)
    for name in names:
        try:
            importlib.import_module(name)
            continue
        except ModuleNotFoundError:
            pass
        module_name, _, attribute = name.rpartition(".")
        module = importlib.import_module(module_name)
        assert hasattr(module, attribute), name
        assert attribute in getattr(module, "__all__", [attribute]), name


def test_the_library_and_profile_sections_name_public_things_only() -> None:
    """What a user of the library or a profile author reads: no ``_private`` module or name in
    an example, an inline name or the table (the development section draws the private core)."""
    sections = [README[README.index(start):README.index(end)]
                for start, end in (("### Profiles are plugins", "## Rules"),
                                   ("### Library API", "## Benchmarks"))]
    for section in sections:
        for name in re.findall(r"`(convguard(?:\.\w+)+)`", section):
            assert not any(part.startswith("_") for part in name.split(".")), name
        for block in re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL):
            for node in ast.walk(ast.parse(block)):
                if isinstance(node, ast.ImportFrom):
                    assert not any(part.startswith("_") for part in (node.module or "").split("."))
                    assert not any(alias.name.startswith("_") for alias in node.names)
    assert "```python" in sections[0], "the profile section shows the generator contract"
