"""The ``convguard`` command line: in-process ``main([...])`` runs and a few real processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from convguard import cli
from convguard._config import clear_config_cache
from convguard._schema_discovery import clear_schema_cache
from convguard.cli import main, parse_selector

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_SQL = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
ACTION_TS = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
ACTION_FUNCTION = "getAiDraftBookingConversionStats"
LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<column>\d+): (?P<code>\S+) \[(?P<name>[^\]]+)\] .+$")

CLEAN_SQL = 'SELECT l.id, l."appointmentBookedAt"\nFROM "Lead" l\nWHERE l."clientId" = $1;\n'
# updatedAt as a time anchor and an untyped parameter minus an interval: both forbidden.
BAD_SQL = (
    'SELECT d.id\nFROM "AIDraft" d\nWHERE d."updatedAt" >= $1::timestamp\n'
    "  AND d.\"updatedAt\" > ($2 - ($3 * interval '1 day'));\n"
)


SAMPLE_SCHEMA = ROOT / "fixtures" / "prisma" / "schema.prisma"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test runs in a folder with no configuration above it that it did not write, and the
    sample application's schema where an application keeps it (``prisma/schema.prisma``)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONVGUARD_DEBUG", raising=False)
    write(tmp_path / "prisma" / "schema.prisma", SAMPLE_SCHEMA.read_text(encoding="utf-8"))
    clear_config_cache()
    clear_schema_cache()
    yield
    clear_config_cache()
    clear_schema_cache()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def assert_error(err: str, *fragments: str) -> None:
    """An error on stderr: ``convguard: error: ...`` lines, never a traceback."""
    assert err.startswith("convguard: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


# --- the parser ---------------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from convguard import __version__

    assert run(capsys, "--version") == (0, f"convguard {__version__}\n", "")


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("check", "test", "extract", "rule"):
        assert command in out


@pytest.mark.parametrize("argv", [
    [], ["nope"], ["check", "--bogus"], ["check", "--format", "xml", "a.sql"],
    ["extract"], ["test", "--driver", "pg8000"], ["rule", "A", "B"],
])
def test_usage_errors_exit_2_with_a_hint(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert_error(err, "hint: run `convguard")


def test_check_formats_are_the_report_registry() -> None:
    from convguard.report import FORMATTERS

    assert set(cli.CHECK_FORMATS) == set(FORMATTERS)


@pytest.mark.parametrize(("text", "expected"), [
    ("a.ts", ("a.ts", None)),
    ("a.ts::f", ("a.ts", "f")),
    ("dir/a b.ts::getStats", ("dir/a b.ts", "getStats")),
    ("x::y::f", ("x::y", "f")),
])
def test_parse_selector(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize("text", ["::f", "a.ts::", "a.ts:: "])
def test_parse_selector_rejects_half_selectors(text: str) -> None:
    with pytest.raises(cli.UsageError):
        parse_selector(text)


# --- check --------------------------------------------------------------------------------------


def test_check_clean_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "clean.sql", CLEAN_SQL)
    assert run(capsys, "check", path) == (0, "All checks passed.\n", "")


def test_check_without_a_schema_turns_cg003_off_with_one_note(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / ".git").mkdir(parents=True)  # the repository root: the search stops here
    first = write(app / "a.sql", 'SELECT l.nope FROM "Lead" l;\n')
    second = write(app / "b.sql", 'SELECT d.id FROM "AIDraft" d WHERE d."updatedAt" > $1;\n')
    code, out, err = run(capsys, "check", "--format", "json", first, second)
    assert code == 1
    assert [finding["code"] for finding in json.loads(out)] == ["CG104"]
    assert err.count("\n") == 1 and err.startswith("note: no schema found"), err
    assert "CG003 unresolved-column is off" in err


def test_check_finds_a_multi_file_schema_folder(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / ".git").mkdir(parents=True)
    write(app / "prisma" / "schema" / "main.prisma",
          'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n')
    write(app / "prisma" / "schema" / "billing" / "invoice.prisma",
          "model Invoice {\n  id Int @id\n  issuedAt DateTime\n}\n")
    write(app / "prisma" / "schema" / "lead.prisma", "model Lead {\n  id String @id\n}\n")
    path = write(app / "src" / "q.sql",
                 'SELECT i."issuedAt", l.id FROM "Invoice" i, "Lead" l;\n'
                 'SELECT i."dueAt" FROM "Invoice" i;\n')
    code, out, err = run(capsys, "check", path)
    assert (code, err) == (1, "")
    assert [line.split(": ")[1].split()[0] for line in out.splitlines()[:-1]
            if not line.startswith("  ")] == ["CG003"]
    assert ":2:8: CG003" in out


def test_check_reference_query_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", str(REFERENCE_SQL))
    assert (code, err) == (0, ""), out
    assert out == "All checks passed.\n"


def test_check_bad_file_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "bad.sql", BAD_SQL)
    code, out, err = run(capsys, "check", path)
    assert code == 1 and err == ""
    lines = out.splitlines()
    findings = [LINE.match(line) for line in lines if not line.startswith("  ")][:-1]
    assert findings and all(findings), out
    assert all(match["path"] == path for match in findings)
    assert re.fullmatch(r"Found \d+ problems?\.", lines[-1])


def test_check_bad_file_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "bad.sql", BAD_SQL)
    code, out, _ = run(capsys, "check", "--format", "json", path)
    assert code == 1
    data = json.loads(out)
    assert data and list(data[0]) == ["code", "name", "message", "fix", "path", "line", "column",
                                      "end_line", "end_column", "severity", "function"]


def test_check_sarif_and_github(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path / "src" / "bad.sql", BAD_SQL)
    code, out, _ = run(capsys, "check", "--format", "sarif", "src/bad.sql")
    assert code == 1
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in log["runs"][0]["results"]}
    assert uris == {"src/bad.sql"}
    code, out, _ = run(capsys, "check", "--format", "github", "src/bad.sql")
    assert code == 1
    assert out and all(line.startswith("::error file=src/bad.sql,line=")
                       or line.startswith("::warning file=src/bad.sql,line=")
                       for line in out.splitlines())


def test_check_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "bad.sql", BAD_SQL)
    report = tmp_path / "report.json"
    code, out, _ = run(capsys, "check", "--format", "json", "--output", str(report), path)
    assert code == 1 and out == ""
    assert json.loads(report.read_text(encoding="utf-8"))


def test_check_walks_folders(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path / "app" / "q" / "bad.sql", BAD_SQL)
    write(tmp_path / "app" / "clean.sql", CLEAN_SQL)
    write(tmp_path / "app" / "node_modules" / "dep" / "bad.sql", BAD_SQL)
    write(tmp_path / "app" / ".hidden" / "bad.sql", BAD_SQL)
    write(tmp_path / "app" / "notes.txt", "not SQL")
    code, out, _ = run(capsys, "check", "--format", "json", "app")
    assert code == 1
    assert {item["path"] for item in json.loads(out)} == {os.path.join("app", "q", "bad.sql")}


def test_check_select_and_ignore(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "bad.sql", BAD_SQL)
    _, out, _ = run(capsys, "check", "--format", "json", path)
    codes = sorted({item["code"] for item in json.loads(out)})
    code, out, _ = run(capsys, "check", "--format", "json", "--select", codes[0], path)
    assert code == 1 and {item["code"] for item in json.loads(out)} == {codes[0]}
    code, out, _ = run(capsys, "check", "--ignore", ",".join(codes), path)
    assert (code, out) == (0, "All checks passed.\n")
    code, out, _ = run(capsys, "check", *[arg for c in codes for arg in ("--ignore", c.lower())],
                       path)
    assert code == 0


def test_check_unknown_code_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    path = write(tmp_path / "clean.sql", CLEAN_SQL)
    code, _, err = run(capsys, "check", "--select", "ZZ999", path)
    assert code == 2
    assert_error(err, "ZZ999", "convguard rule")


def test_check_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", "nowhere/q.sql")
    assert code == 2
    assert_error(err, "convguard: error: nowhere/q.sql: no such file or folder", "  hint: ")
    assert "No problems found, but 1 error" in out


def test_check_folder_without_sources(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a.md", "# nothing")
    code, _, err = run(capsys, "check", "docs")
    assert code == 2
    assert_error(err, "docs: folder holds no supported file", ".sql")


def test_check_unsupported_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "a.py", "print(1)")
    code, _, err = run(capsys, "check", path)
    assert code == 2
    assert_error(err, "a.py", "unsupported file type")


def test_check_non_utf8_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "latin1.sql"
    path.write_bytes("SELECT 1;\n-- caf\u00e9\n".encode("latin-1"))
    code, _, err = run(capsys, "check", str(path))
    assert code == 2
    assert_error(err, f"{path}:2: file is not UTF-8 text", "0xe9", "hint: ")


def test_check_keeps_going_after_an_error(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.sql", BAD_SQL)
    broken = write(tmp_path / "broken.sql", "SELECT 'unterminated;\n")
    code, out, err = run(capsys, "check", broken, bad)
    assert code == 2
    assert_error(err, "broken.sql:1: unterminated string")
    assert "bad.sql:" in out


def test_check_unreadable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = write(tmp_path / "secret.sql", CLEAN_SQL)
    os.chmod(path, 0)
    code, _, err = run(capsys, "check", path)
    assert code == 2
    assert_error(err, "secret.sql: cannot read file")


def test_check_without_paths_and_without_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check")
    assert (code, out) == (2, "")
    assert_error(err, "no PATH given", "hint: pass files or folders")


def test_check_without_paths_uses_configured_queries(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    write(tmp_path / "queries" / "clean.sql", CLEAN_SQL)
    write(tmp_path / "queries" / "bad.sql", BAD_SQL)
    write(tmp_path / "convguard.toml", '[[query]]\npath = "queries/bad.sql"\n')
    code, out, _ = run(capsys, "check", "--format", "json")
    assert code == 1
    assert {item["path"] for item in json.loads(out)} == {os.path.join("queries", "bad.sql")}


TS_TWO_FUNCTIONS = (
    'import { Prisma } from "@prisma/client";\n'
    "export async function getA(p) {\n"
    '  return p.$queryRaw`SELECT "id" FROM "Lead"`;\n'
    "}\n"
    "export async function getB(p) {\n"
    '  return p.$queryRaw`SELECT "id" FROM "Client"`;\n'
    "}\n"
)


@pytest.mark.parametrize(("entry", "message", "hint"), [
    # a generic query (no profile) whose function is misspelled used to pass as "All checks passed"
    ('path = "app/q.ts"\nfunction = "getC"\n',
     "convguard.toml:3: no query inside function 'getC' of app/q.ts",
     "functions with queries: getA, getB"),
    ('path = "app/q.ts"\nfunction = "getC"\nprofile = "booking-conversion"\n',
     "convguard.toml:3: no query inside function 'getC' of app/q.ts",
     "functions with queries: getA, getB"),
    # a missing path named the file alone, with "relative to the current folder"
    ('path = "app/qq.ts"\n', "convguard.toml:2: [[query]] path 'app/qq.ts': no such file",
     "relative to the configuration's folder"),
    ('path = "app/empty.ts"\n',
     "convguard.toml:1: app/empty.ts holds no query, but the configuration declares it",
     "fix the [[query]] path"),
    ('path = "app/empty.ts"\nfunction = "getA"\n',
     "convguard.toml:3: no query inside function 'getA' of app/empty.ts",
     "app/empty.ts holds no query in a named function"),
])
def test_check_without_paths_reports_a_broken_entry_at_its_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, entry: str, message: str,
        hint: str) -> None:
    """A ``[[query]]`` that selects nothing is an error at the configuration's line (exit 2), the
    same as ``convguard test`` says, never a pass; the other entries are still checked."""
    write(tmp_path / "app" / "q.ts", TS_TWO_FUNCTIONS)
    write(tmp_path / "app" / "empty.ts", "// Prisma.sql nowhere: $queryRaw(x)\nexport {};\n")
    write(tmp_path / "queries" / "bad.sql", BAD_SQL)
    write(tmp_path / "convguard.toml",
          f'[[query]]\n{entry}\n[[query]]\npath = "queries/bad.sql"\n')
    code, out, err = run(capsys, "check", "--format", "json")
    assert code == 2
    assert_error(err, message, hint)
    assert {item["path"] for item in json.loads(out)} == {os.path.join("queries", "bad.sql")}


def test_check_in_this_repository_without_paths(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, _out, err = run(capsys, "check")
    assert code in (0, 1) and err == "", err


def test_check_explicit_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / "q" / "bad.sql", BAD_SQL)
    config = write(tmp_path / "elsewhere" / "cg.toml", '[[query]]\npath = "q/bad.sql"\n')
    code, _, _ = run(capsys, "check", "--config", config)
    assert code == 1
    code, _, err = run(capsys, "check", "--config", "missing.toml")
    assert code == 2
    assert_error(err, "missing.toml: configuration file not found")
    pyproject = write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    code, _, err = run(capsys, "check", "--config", pyproject, "elsewhere")
    assert code == 2
    assert_error(err, "no [tool.convguard] table")


def test_check_invalid_config_is_reported_once(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    write(tmp_path / "convguard.toml", "driver = 'jdbc'\n")
    write(tmp_path / "a.sql", CLEAN_SQL)
    write(tmp_path / "b.sql", CLEAN_SQL)
    code, _, err = run(capsys, "check", "a.sql", "b.sql")
    assert code == 2
    assert_error(err, "convguard.toml:1: driver must be one of")
    assert err.count("convguard: error:") == 1


# --- extract ------------------------------------------------------------------------------------


def test_extract_sql_file_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "q.sql", "SELECT 1;\n\nSELECT *\nFROM t WHERE a = :from AND b < :to;\n")
    code, out, err = run(capsys, "extract", path)
    assert (code, err) == (0, "")
    assert f"-- {path}:1 (sql, line 1)\nSELECT 1\n\nno parameters" in out
    assert "SELECT *\nFROM t WHERE a = $1 AND b < $2\n" in out
    assert re.search(r"^  \$1\s+:from\s+named\s+4:18$", out, re.MULTILINE), out
    assert re.search(r"^  \$2\s+:to\s+named\s+4:32$", out, re.MULTILINE), out


def test_extract_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "extract", "--format", "json", str(REFERENCE_SQL))
    assert code == 0
    (query,) = json.loads(out)
    assert query["tag"] == "sql" and query["function"] is None
    assert query["parameters"][0] == {"placeholder": "$1", "index": 1, "expression": ":client_ids",
                                      "kind": "named", "line": 32, "column": 26}


def test_extract_function_selector(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "extract", "--format", "json", f"{ACTION_TS}::{ACTION_FUNCTION}")
    assert code == 0
    queries = json.loads(out)
    assert queries and {q["function"] for q in queries} == {ACTION_FUNCTION}
    expressions = [p["expression"] for q in queries for p in q["parameters"]]
    assert "Prisma.join(scope.clientIds)" in expressions
    code, out, _ = run(capsys, "extract", f"{ACTION_TS}::{ACTION_FUNCTION}")
    assert code == 0 and "Prisma.join(scope.clientIds)" in out and " list " in out


def test_extract_shows_every_combination_and_opaque_fragment(
        capsys: pytest.CaptureFixture[str]) -> None:
    assembly = Path(__file__).resolve().parents[1] / "fixtures" / "assembly"
    code, out, _ = run(capsys, "extract", f"{assembly / 'inline-ternary.ts'}::drafts")
    assert code == 0
    assert out.count("-- ") >= 4 and "combination 4 of 4" in out
    assert "--   `channel ?` (line 9): branch 2 of 2" in out
    code, out, _ = run(capsys, "extract", "--format", "json",
                       f"{assembly / 'opaque-fragments.ts'}::leads")
    (query,) = json.loads(out)
    assert (query["variant"], query["variants"], query["syntax_checked"]) == (1, 1, True)
    assert [o["expression"] for o in query["opaque"]] == [
        "leadJoins", "where", "activeLeads", "orderBy"]
    assert query["parameters"] == []
    code, out, _ = run(capsys, "extract", f"{assembly / 'opaque-unverifiable.ts'}")
    assert code == 0 and "syntax not checked: no stand-in for ${head}" in out


def test_extract_unknown_function_lists_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "extract", f"{ACTION_TS}::nope")
    assert (code, out) == (2, "")
    assert_error(err, "no query inside a function named 'nope'", ACTION_FUNCTION)


def test_extract_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "extract", str(tmp_path))
    assert code == 2
    assert_error(err, "extract takes a file")
    code, _, err = run(capsys, "extract", "missing.sql")
    assert code == 2
    assert_error(err, "missing.sql: no such file")
    path = write(tmp_path / "q.sql", "SELECT $$ never closed")
    code, _, err = run(capsys, "extract", path)
    assert code == 2
    assert_error(err, "q.sql:1: unterminated dollar-quoted string $$")


def test_extract_file_without_queries(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "q.sql", "-- nothing\n")
    assert run(capsys, "extract", path) == (0, "No queries found.\n", "")
    assert run(capsys, "extract", "--format", "json", path) == (0, "[]\n", "")


# --- rule ---------------------------------------------------------------------------------------


def test_rule_table(capsys: pytest.CaptureFixture[str]) -> None:
    from convguard.rules import all_rules

    code, out, _ = run(capsys, "rule")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["code", "name", "summary"]
    assert [line.split()[0] for line in lines[1:]] == sorted(all_rules())


def test_rule_doc(capsys: pytest.CaptureFixture[str]) -> None:
    from convguard.rules import all_rules

    code_name = sorted(all_rules())[0]
    rule = all_rules()[code_name]
    code, out, _ = run(capsys, "rule", code_name.lower())
    assert code == 0
    assert out.startswith(f"# {rule.name} ({rule.code})\n")
    assert rule.doc.strip() in out
    code, out, _ = run(capsys, "rule", "--format", "json", code_name)
    assert json.loads(out) == {"code": rule.code, "name": rule.name, "summary": rule.summary,
                               "doc": rule.doc}
    code, out, _ = run(capsys, "rule", "--format", "json")
    assert [item["code"] for item in json.loads(out)] == sorted(all_rules())


def test_rule_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "rule", "XX123")
    assert (code, out) == (2, "")
    assert_error(err, "unknown rule code 'XX123'", "hint: run `convguard rule`")


# --- test (delegated to the conformance kit) ----------------------------------------------------


def test_test_delegates_to_the_kit(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def run_test_command(args, out) -> int:
        seen["args"] = args
        out.write("ran\n")
        return 1

    fake = types.ModuleType("convguard.commands.test")
    fake.run_test_command = run_test_command
    monkeypatch.setitem(sys.modules, "convguard.commands.test", fake)
    code, out, _ = run(capsys, "test", "a.ts::f", "q.sql", "--scenarios", "s1", "--scenarios",
                       "s2", "--driver", "typed", "--dsn", "postgresql://x", "--format", "json")
    assert (code, out) == (1, "ran\n")
    args = seen["args"]
    assert (args.paths, args.scenarios, args.driver, args.dsn, args.format, args.config) == (
        ["a.ts::f", "q.sql"], ["s1", "s2"], "typed", "postgresql://x", "json", None)
    assert (args.provider, args.verbose) == (None, False)


def test_test_providers_are_the_kits() -> None:
    from convguard.kit.server import PROVIDERS

    assert set(cli.TEST_PROVIDERS) == set(PROVIDERS)


def test_test_real_kit_reports_usage_problems(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    """The real kit, with nothing to run: exit 2 and a message, before any server starts."""
    code, _, err = run(capsys, "test")
    assert code == 2
    assert_error(err, "no query to test")
    path = write(tmp_path / "q.sql", CLEAN_SQL)
    code, _, err = run(capsys, "test", f"{path}::nope")
    assert code == 2
    assert_error(err, "no query inside function 'nope'")


def test_test_without_the_kit(capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "convguard.commands.test", None)
    code, _, err = run(capsys, "test")
    assert code == 2
    assert_error(err, "the conformance kit cannot be loaded")


def test_test_bad_selector(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "test", "a.ts::")
    assert code == 2
    assert_error(err, "invalid selector")


# --- failures never print a traceback -----------------------------------------------------------


def _raise(error: BaseException):
    def command(args, out, err):
        raise error
    return command


def test_internal_error_is_one_line(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "rule", _raise(ValueError("boom\nsecond line")))
    code, out, err = run(capsys, "rule")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("convguard: internal error: ValueError: boom second line")
    assert "--debug" in err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_internal_error_traceback_with_debug(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.setitem(cli.COMMANDS, "rule", _raise(ValueError("boom")))
    argv = ["--debug", "rule"] if how == "flag" else ["rule"]
    if how == "env":
        monkeypatch.setenv("CONVGUARD_DEBUG", "1")
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "Traceback (most recent call last)" in err and "ValueError: boom" in err


def test_keyboard_interrupt_exits_130(capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "rule", _raise(KeyboardInterrupt()))
    code, _, err = run(capsys, "rule")
    assert code == 130 and err.startswith("convguard: interrupted (SIGINT)")


def test_os_error_is_an_error_line(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "rule", _raise(PermissionError(13, "Permission denied", "x.sql")))
    code, _, err = run(capsys, "rule")
    assert code == 2
    assert_error(err, "convguard: error: x.sql: Permission denied")


# --- real processes -----------------------------------------------------------------------------


def convguard(*argv: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "src"), **env)
    environment.pop("CONVGUARD_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "convguard", *argv], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_process_check_clean_reference() -> None:
    completed = convguard("check", "fixtures/queries/booking_conversion.sql")
    assert (completed.returncode, completed.stdout, completed.stderr) == (
        0, "All checks passed.\n", "")


def test_process_check_bad_and_broken(tmp_path: Path) -> None:
    write(tmp_path / "bad.sql", BAD_SQL)
    completed = convguard("check", "bad.sql", cwd=tmp_path)
    assert completed.returncode == 1 and completed.stdout.startswith("bad.sql:")
    (tmp_path / "latin1.ts").write_bytes(b"const a = '\xff';\n")
    completed = convguard("check", "latin1.ts", cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stderr.startswith("convguard: error: latin1.ts:1: file is not UTF-8 text")
    assert "Traceback" not in completed.stderr


def test_process_usage_and_rule() -> None:
    completed = convguard("check", "--format", "yaml", "x")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    completed = convguard("rule")
    assert completed.returncode == 0 and completed.stdout.startswith("code")


def test_bench_subcommand_reports_the_json_keys(capsys) -> None:
    """``convguard bench`` is wired to the kit: a tiny tenant, no advice, json out."""
    import json

    sql = str(Path(__file__).parent.parent / "fixtures" / "queries" / "booking_conversion.sql")
    code = main(["bench", "--leads", "500", "--no-advise", "--format", "json", sql])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    text = json.dumps(document)
    for key in ("leads", "drafts", "messages", "seed_rows_per_s", "query_ms"):
        assert f'"{key}"' in text
    assert (document["unit"], document["size"], document["leads"]) == ("leads", 500, 500)


def test_check_in_process_leaves_the_garbage_collector_as_it_found_it(tmp_path) -> None:
    """The command pauses the cyclic collector while it reads trees; a caller's process keeps it."""
    import gc

    query = tmp_path / "q.sql"
    query.write_text("SELECT 1;\n")
    assert gc.isenabled()
    main(["check", str(query)])
    assert gc.isenabled()
