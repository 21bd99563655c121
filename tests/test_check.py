"""The check API: results, errors instead of tracebacks, folder walks, suppressions."""

from __future__ import annotations

import dataclasses
import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from convguard._check import CheckResult, check_paths, check_source
from convguard._config import Config
from convguard._errors import ExtractionError, InputError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
REFERENCE = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
SAMPLE_SCHEMA = ROOT / "fixtures" / "prisma" / "schema.prisma"
PLAIN = Config(root="/virtual", schema=str(SAMPLE_SCHEMA))
WINDOW = 'SELECT d.id FROM "AIDraft" d\nWHERE d."updatedAt" > $1'


def test_result_of_a_clean_file() -> None:
    result = check_source(str(SAMPLE), SAMPLE.read_text())  # config found from the file
    assert result == CheckResult((), (str(SAMPLE),), 3, ())
    assert result.ok and result.exit_code == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.queries = 0  # type: ignore[misc]


def test_diagnostics_are_sorted_and_positioned() -> None:
    text = ('SELECT l.nope FROM "Lead" l WHERE l."updatedAt" > $1;\n'
            'SELECT d.x FROM "AIDraft" d;\n')
    result = check_source("/virtual/q.sql", text, config=PLAIN)
    assert [(d.line, d.column, d.code) for d in result.diagnostics] == \
        [(1, 8, "CG003"), (1, 35, "CG104"), (2, 8, "CG003")]
    assert result.exit_code == 1
    first = result.diagnostics[0]
    assert first.path == "/virtual/q.sql" and first.name == "unresolved-column"
    assert (first.end_line, first.end_column) == (1, 14)


def test_templates_splicing_values_with_no_blank_between_them_are_checked() -> None:
    # `${a},${b}` reads `$1,$2`: sqlglot failed on it and the statement was checked by no rule
    text = ('import { prisma } from "@/lib/prisma";\n'
            'export async function q(a: string, b: string) {\n'
            '  return prisma.$queryRaw`SELECT m.nope FROM "Message" m WHERE m.id IN (${a},${b})`;\n'
            '}\n')
    result = check_source("/virtual/q.ts", text, config=PLAIN)
    assert [(d.line, d.column, d.code) for d in result.diagnostics] == [(3, 34, "CG003")]


def test_invalid_sql_is_a_diagnostic_not_an_error() -> None:
    result = check_source("/virtual/q.sql", "SELECT , FROM t", config=PLAIN)
    assert result.errors == () and [d.code for d in result.diagnostics] == ["CG001"]


def test_unlexable_file_is_an_error_not_a_traceback() -> None:
    # (a file that names no SQL tag is not lexed at all: tests/extract/test_prefilter.py)
    result = check_source("/virtual/a.ts", "const q = prisma.$queryRaw`SELECT 1", config=PLAIN)
    assert result.diagnostics == ()
    assert [type(error) for error in result.errors] == [ExtractionError]
    assert isinstance(result.errors[0], InputError)
    assert result.exit_code == 2


def test_unsupported_file_type_is_an_error() -> None:
    result = check_source("/virtual/notes.txt", "SELECT 1", config=PLAIN)
    assert isinstance(result.errors[0], InputError)


def test_check_paths_walks_folders(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text(WINDOW)
    (tmp_path / "ok.ts").write_text("export const x = 1;\n")
    (tmp_path / "notes.md").write_text("SELECT , FROM t")
    for skipped in ("node_modules", ".git", "dist", "build"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "bad.sql").write_text("SELECT , FROM t")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "bad.sql").write_text("SELECT , FROM t")
    result = check_paths([str(tmp_path)], config=PLAIN)
    assert sorted(os.path.relpath(f, tmp_path) for f in result.files) == \
        ["nested/bad.sql", "ok.ts", "q.sql"]
    assert sorted(d.code for d in result.diagnostics) == ["CG001", "CG104"]
    assert result.queries == 2


def test_check_paths_reports_unusable_inputs(tmp_path: Path) -> None:
    binary = tmp_path / "latin1.sql"
    binary.write_bytes(b"SELECT '\xe9'")
    result = check_paths([str(tmp_path / "missing.sql"), str(binary)], config=PLAIN)
    assert [type(e) for e in result.errors] == [InputError, InputError]
    assert "no such file" in result.errors[0].message
    assert "not UTF-8" in result.errors[1].message


def test_config_errors_become_errors(tmp_path: Path) -> None:
    (tmp_path / "convguard.toml").write_text("driver = \"nope\"\n")
    (tmp_path / "q.sql").write_text("SELECT 1")
    from convguard._config import clear_config_cache

    clear_config_cache()
    result = check_paths([str(tmp_path / "q.sql")])
    assert result.errors and type(result.errors[0]).__name__ == "ConfigError"


def test_garbage_collection_is_resumed() -> None:
    assert gc.isenabled()
    check_source("/virtual/q.sql", WINDOW, config=PLAIN)
    assert gc.isenabled()


# -- suppressions --------------------------------------------------------------------------------

def test_sql_suppression_on_the_line() -> None:
    text = WINDOW + " -- convguard: ignore[CG104]"
    assert check_source("/virtual/q.sql", text, config=PLAIN).diagnostics == ()


def test_sql_suppression_comma_list_and_unused_codes() -> None:
    text = WINDOW + " -- convguard: ignore[CG104, CG101]"
    [unused] = check_source("/virtual/q.sql", text, config=PLAIN).diagnostics
    assert unused.code == "CG002" and "CG101" in unused.message
    assert (unused.line, unused.column) == (2, text.splitlines()[1].index("CG101") + 1)


def test_sql_suppression_only_covers_its_own_line() -> None:
    text = "-- convguard: ignore[CG104]\n" + WINDOW
    codes = sorted(d.code for d in check_source("/virtual/q.sql", text, config=PLAIN).diagnostics)
    assert codes == ["CG002", "CG104"]


def test_typescript_suppression_on_the_host_line() -> None:
    text = ("export async function f(id: string) {\n"
            "  return prisma.$queryRawUnsafe('SELECT 1 WHERE x = ' + id); "
            "// convguard-ignore CG103\n}\n")
    assert check_source("/virtual/a.ts", text, config=PLAIN).diagnostics == ()
    unused = text.replace("CG103", "CG103, CG104")
    [diagnostic] = check_source("/virtual/a.ts", unused, config=PLAIN).diagnostics
    assert diagnostic.code == "CG002" and "CG104" in diagnostic.message


def test_typescript_suppression_inside_a_query() -> None:
    text = ("export async function f(to: Date) {\n  return prisma.$queryRaw`\n"
            '    SELECT d.id FROM "AIDraft" d\n'
            '    WHERE d."updatedAt" > ${to}`; // convguard-ignore CG104\n}\n')
    assert check_source("/virtual/a.ts", text, config=PLAIN).diagnostics == ()


def test_suppressions_of_disabled_codes_are_not_reported_unused() -> None:
    text = 'SELECT 1 FROM "Lead" -- convguard: ignore[CG104]'
    config = dataclasses.replace(PLAIN, ignore=("CG104",))
    assert check_source("/virtual/q.sql", text, config=config).diagnostics == ()
    config = dataclasses.replace(PLAIN, ignore=("CG002",))
    assert check_source("/virtual/q.sql", text, config=config).diagnostics == ()


# -- weight --------------------------------------------------------------------------------------

def test_checking_imports_nothing_heavy() -> None:
    script = ("import sys\nfrom convguard._check import check_paths\n"
              f"result = check_paths([{str(SAMPLE)!r}, {str(REFERENCE)!r}])\n"
              "assert not result.diagnostics and not result.errors, result\n"
              "print('\\n'.join(sorted(sys.modules)))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    output = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, check=True, cwd=ROOT).stdout.split()
    heavy = [name for name in output if name.split(".")[0] in ("psycopg", "yaml", "pytest")
             or name.startswith(("convguard.kit", "convguard.cli", "convguard.report",
                                 "convguard.pytest_plugin"))]
    assert heavy == []
    assert "pglast.ast" not in output, "libpg_query is called without importing pglast"


def test_a_schema_can_be_given() -> None:
    from convguard._schema import Column, Schema, Table

    schema = Schema(tables=(Table("Thing", (Column("id", "text"),)),))
    sql = 'SELECT t.nope FROM "Thing" t'
    assert check_source("/virtual/q.sql", sql, config=PLAIN).diagnostics == ()
    [diagnostic] = check_source("/virtual/q.sql", sql, config=PLAIN, schema=schema).diagnostics
    assert diagnostic.code == "CG003"


def test_a_failing_rule_is_an_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from convguard import rules

    def broken(*args: object) -> list[object]:
        raise RuntimeError("boom")

    original = rules.RULES["CG104"]
    monkeypatch.setitem(rules.RULES, "CG104", dataclasses.replace(original, check=broken))
    result = check_source("/virtual/q.sql", 'SELECT l.nope FROM "Lead" l', config=PLAIN)
    assert [d.code for d in result.diagnostics] == ["CG003"]
    assert "internal error in rule CG104" in result.errors[0].message
    ignoring = dataclasses.replace(PLAIN, ignore=("CG104",))
    assert check_source("/virtual/q.sql", "SELECT 1", config=ignoring).errors == ()


def test_configured_prisma_schema_drives_lineage(tmp_path) -> None:
    """``schema = "..."`` replaces the built-in schema: a column only the Prisma file has resolves."""
    from pathlib import Path

    from convguard._check import check_source
    from convguard._config import parse_config

    prisma = Path(__file__).parent.parent / "fixtures" / "prisma" / "schema.prisma"
    sql = 'SELECT l.email FROM "Lead" l'
    with_schema = parse_config({"schema": str(prisma)}, source="convguard.toml", root=str(tmp_path))
    assert [d.code for d in check_source("q.sql", sql, config=with_schema).diagnostics] == []
    missing = 'SELECT l.nope FROM "Lead" l'
    assert [d.code for d in check_source("q.sql", missing, config=with_schema).diagnostics] == \
        ["CG003"]


def test_unreadable_configured_schema_is_an_error_not_a_traceback(tmp_path) -> None:
    from convguard._check import check_source
    from convguard._config import parse_config

    config = parse_config({"schema": "missing/schema.prisma"}, source="convguard.toml",
                          root=str(tmp_path))
    result = check_source("q.sql", 'SELECT l.id FROM "Lead" l', config=config)
    assert result.errors and "schema" in str(result.errors[0]).lower()


@pytest.mark.parametrize("compiled", [False, True])
def test_a_big_statement_under_pure_python_sqlglot_names_the_fast_install(
        monkeypatch: pytest.MonkeyPatch, compiled: bool) -> None:
    from convguard import _check
    from convguard._config import Config

    monkeypatch.setattr(_check, "BIG_STATEMENT_CHARACTERS", 20)
    monkeypatch.setattr(_check, "compiled_sqlglot", lambda: compiled)
    result = _check.check_source("big.sql", "SELECT 1, 2, 3, 4, 5, 6, 7, 8, 9;",
                                 config=Config(root="."))
    hinted = [note for note in result.notes if "convguard[fast]" in note]
    assert hinted == ([] if compiled else [
        "big.sql: a 0.0 MB statement is read by the pure-Python sqlglot; `pip install "
        "'convguard[fast]'` (compiled sqlglot) checks it about twice as fast"])
