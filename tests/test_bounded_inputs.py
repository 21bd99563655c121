"""Hostile and careless inputs: each one a clear error with its file and line, or a note; never a
hang, a traceback or an "internal error" (issue 11, "Bounded inputs" and "Errors without a place").

One table of cases, run in-process through ``convguard.cli.main`` in a scratch project: the files
a case writes (text, bytes or a FIFO), the command, the exit code and the fragments stderr must
hold. ``test`` runs get an unreachable ``--dsn``: every case here is decided before a server is
needed, and a case whose inputs are valid stops at "cannot connect" instead of starting one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from convguard._config import clear_config_cache
from convguard.cli import main

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_SQL = (ROOT / "fixtures" / "queries" / "booking_conversion.sql").read_text("utf-8")
UNREACHABLE = "postgresql://convguard@127.0.0.1:1/convguard"
FIFO = object()  # a file content that asks for a FIFO at that path

CONFIG = ('scenarios = ["sc"]\n'
          "\n"
          "[[query]]\n"
          'path = "q.sql"\n'
          'profile = "booking-conversion"\n')
GOOD_SCENARIO = ('name: good\n'
                 'params: {to: "2026-02-01T00:00:00Z"}\n'
                 'tables:\n'
                 '  Client: [{id: c1}]\n')


def scenario(params: str, rows: str = "") -> str:
    return f"name: s\nparams: {params}\ntables:\n  Client: [{{id: c1}}]\n{rows}"


def alias_bomb() -> str:
    """About 400 bytes that expand to half a billion nodes."""
    lines = ["name: bomb", "l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    files: dict[str, object]
    argv: tuple[str, ...]
    code: int
    fragments: tuple[str, ...]
    config: str | None = CONFIG
    absent: tuple[str, ...] = field(default=())


def _test_argv(*extra: str) -> tuple[str, ...]:
    return ("test", "--examples", "0", "--dsn", UNREACHABLE, *extra)


CASES = {
    # Non-regular files: skipped with a note, never opened.
    "fifo-in-checked-folder": Case(
        {"src/p.ts": FIFO, "src/q.sql": REFERENCE_SQL}, ("check", "src"), 0,
        ("note: src/p.ts: skipped: not a regular file (a FIFO)",)),
    "fifo-given-to-check": Case(
        {"p.sql": FIFO}, ("check", "p.sql", "q.sql"), 0,
        ("note: p.sql: skipped: not a regular file (a FIFO)",)),
    "fifo-given-to-extract": Case(
        {"p.ts": FIFO}, ("extract", "p.ts"), 0, ("note: p.ts: skipped",)),
    "fifo-in-scenarios-folder": Case(
        {"sc/pipe.yaml": FIFO, "sc/good.yaml": GOOD_SCENARIO}, _test_argv(), 2,
        ("note: sc/pipe.yaml: skipped: not a regular file (a FIFO)", "cannot connect")),
    "fifo-as-configuration": Case(
        {"convguard.toml": FIFO}, ("check", "q.sql"), 0,
        ("convguard.toml: skipped: not a regular file (a FIFO)",), config=None),
    "fifo-as-test-selector": Case(
        {"p.sql": FIFO}, _test_argv("p.sql"), 2, ("p.sql: not a regular file (a FIFO)",)),
    # Scenario documents: size, depth, aliases.
    "yaml-alias-bomb": Case(
        {"sc/bomb.yaml": alias_bomb()}, _test_argv(), 2,
        ("sc/bomb.yaml:2: YAML aliases expand the document too far",)),
    "yaml-alias-cycle": Case(
        {"sc/cycle.yaml": "name: c\ntables: &t {Client: [*t]}\n"}, _test_argv(), 2,
        ("sc/cycle.yaml:2: the anchor on this line refers to itself",)),
    "json-nested-100k": Case(
        {"sc/deep.json": "[" * 100_000 + "]" * 100_000}, _test_argv(), 2,
        ("sc/deep.json:1: the document nests deeper than 64 levels",)),
    "yaml-nested-900": Case(
        {"sc/deep.yaml": "name: d\ntables: " + "[" * 900 + "]" * 900 + "\n"}, _test_argv(), 2,
        ("sc/deep.yaml:2: the document nests deeper than 64 levels",)),
    "scenario-too-large": Case(
        {"sc/big.yaml": GOOD_SCENARIO + "#" * (3 << 20)}, _test_argv(), 2,
        ("sc/big.yaml: scenario is larger than convguard reads (2 MiB)",)),
    "scenario-not-utf8": Case(
        {"sc/latin1.yaml": b"name: caf\xe9\ntables: {}\n"}, _test_argv(), 2,
        ("sc/latin1.yaml:1: scenario is not UTF-8 text (byte 0xe9",)),
    # Scenario values that used to be internal errors.
    "params-to-nan": Case(
        {"sc/nan.yaml": scenario("{to: .nan}")}, _test_argv(), 2,
        ("sc/nan.yaml:2: params.to: nan is not an ISO 8601 timestamp",)),
    "params-window-inf": Case(
        {"sc/inf.yaml": scenario('{to: "2026-02-01", attribution_window_days: .inf}')},
        _test_argv(), 2,
        ("sc/inf.yaml:2: attribution_window_days: expected a finite number of days, got inf",)),
    "params-buffer-nan": Case(
        {"sc/nan.yaml": scenario('{to: "2026-02-01", maturity_buffer_days: .nan}')},
        _test_argv(), 2, ("sc/nan.yaml:2: maturity_buffer_days: expected a finite number",)),
    "params-to-year-1": Case(
        {"sc/y1.yaml": scenario('{to: "0001-01-01T00:00:00Z"}')}, _test_argv(), 2,
        ("sc/y1.yaml:2: params.to: '0001-01-01T00:00:00Z' is outside the years 1000 to 8999",)),
    "params-to-overflows-with-offset": Case(
        {"sc/max.yaml": scenario('{to: "9999-12-31T23:00:00-05:00"}')}, _test_argv(), 2,
        ("sc/max.yaml:2: params.to:", "outside the years 1000 to 8999")),
    "row-timestamp-year-1-with-offset": Case(
        {"sc/row.yaml": scenario('{to: "2026-02-01"}', "  Lead: [{id: l1, clientId: c1, "
                                 'appointmentBookedAt: "0001-01-01T00:00:00+01:00"}]\n')},
        _test_argv(), 2, ("sc/row.yaml:5: table \"Lead\": appointmentBookedAt:", "outside")),
    "row-text-with-nul": Case(
        {"sc/nul.yaml": scenario('{to: "2026-02-01"}', '  Lead: [{id: "l\\0", clientId: c1}]\n')},
        _test_argv(), 2, ("sc/nul.yaml:5: table \"Lead\": id: 'l\\x00' holds a NUL character",)),
    "yaml-integer-of-5000-digits": Case(
        {"sc/int.yaml": scenario('{to: "2026-02-01", attribution_window_days: ' + "1" * 5000 + "}")},
        _test_argv(), 2, ("sc/int.yaml:2: an integer of 5000 characters",)),
    "yaml-binary-integer-of-20000-bits": Case(
        {"sc/int.yaml": scenario('{to: "2026-02-01"}', "  Lead: [{id: 0b" + "1" * 20000 + "}]\n")},
        _test_argv(), 2, ("sc/int.yaml:5: an integer of 20002 characters",)),
    "json-integer-of-5000-digits": Case(
        {"sc/int.json": '{"name": "n", "tables": {}, "x": ' + "1" * 5000 + "}"}, _test_argv(), 2,
        ("sc/int.json:1: an integer of 5000 characters",)),
    "yaml-tag-on-a-value-it-cannot-read": Case(
        {"sc/tag.yaml": scenario('{to: "2026-02-01"}', "  Lead: [{id: !!float l1}]\n")},
        _test_argv(), 2, ("sc/tag.yaml:5: cannot read a tagged value: could not convert",)),
    "scenario-without-params": Case(
        {"sc/noparams.yaml": "name: n\ntables: {Client: [{id: c1}]}\n"}, _test_argv(), 2,
        ("sc/noparams.yaml:1: params.to is required",)),
    # Configuration files.
    "config-schema-5-check": Case(
        {}, ("check", "q.sql"), 2, ("convguard.toml:1: schema must be a non-empty string, not 5",),
        config="schema = 5\n"),
    "config-schema-5-test": Case(
        {}, _test_argv(), 2, ("convguard.toml:1: schema must be a non-empty string, not 5",),
        config="schema = 5\n" + CONFIG),
    "config-invalid-utf8": Case(
        {"convguard.toml": b"# ok\ntags = [\"\xff\"]\n"}, ("check", "q.sql"), 2,
        ("convguard.toml:2: configuration is not UTF-8 text (byte 0xff",), config=None),
    "pyproject-tool-convguard-5": Case(
        {"pyproject.toml": "[project]\nname = \"app\"\n[tool]\nconvguard = 5\n"},
        ("check", "q.sql"), 2, ("pyproject.toml:4: tool.convguard must be a table",), config=None),
    "pyproject-tool-5": Case(
        {"pyproject.toml": "tool = 5\n"}, ("check", "q.sql"), 2,
        ("pyproject.toml:1: tool must be a table",), config=None),
    "config-select-misspelled": Case(
        {}, ("check", "q.sql"), 2, ("convguard.toml:1: select names no rule: CG99",),
        config='select = ["CG99"]\n'),
    "pyproject-ignore-misspelled": Case(
        {"pyproject.toml": '[tool.convguard]\nignore = ["CG1", "XX1"]\n'}, ("check", "q.sql"), 2,
        ("pyproject.toml:2: ignore names no rule: XX1",), config=None),
    "config-unknown-profile": Case(
        {}, _test_argv(), 2, ("convguard.toml:4: unknown profile 'booking-conversionx'",),
        config='[[query]]\npath = "q.sql"\nfunction = "f"\nprofile = "booking-conversionx"\n'),
    "config-params-unknown-role": Case(
        {}, _test_argv(), 2, ("convguard.toml:7: [query.params] maps 'cutoff' to unknown role",),
        config=CONFIG + '[query.params]\n"cutoff" = "maturity_cut"\n'),
    "config-unknown-time-zone": Case(
        {}, _test_argv(), 2, ("convguard.toml:1: unknown client time zone 'Mars/Base'",),
        config='client_time_zone = "Mars/Base"\n' + CONFIG),
    "config-unknown-provider": Case(
        {}, ("test", "--examples", "0"), 2, ("convguard.toml:1: provider must be one of",),
        config='provider = "nope"\n' + CONFIG),
    "config-integer-of-5000-digits": Case(
        {}, ("check", "q.sql"), 2, ("convguard.toml:2: invalid TOML: an integer of thousands",),
        config="# digits\ntags = [" + "1" * 5000 + "]\n"),
    "config-hex-integer-of-12000-bits": Case(
        {}, ("check", "q.sql"), 2, ("convguard.toml:1: an integer of 12000 bits",),
        config="schema = 0x" + "f" * 3000 + "\n"),
    "config-query-not-a-table": Case(
        {}, ("check", "q.sql"), 2, ("convguard.toml:1: query must be an array of tables",),
        config="query = 5\n"),
    "config-nested-deep": Case(
        {}, ("check", "q.sql"), 2, ("convguard.toml: the configuration nests arrays",),
        config="a = " + "[" * 5000 + "]" * 5000 + "\n"),
    "config-too-large": Case(
        {}, ("check", "q.sql"), 2, ("convguard.toml: configuration is larger than convguard reads",),
        config="#" * (2 << 20) + "\n"),
    "config-query-path-missing": Case(
        {}, _test_argv(), 2, ("convguard.toml:4: [[query]] path 'nope.sql': no such file",),
        config='scenarios = ["sc"]\n\n[[query]]\npath = "nope.sql"\nprofile = "booking-conversion"\n'),
    "config-scenarios-missing": Case(
        {}, _test_argv(), 2, ("convguard.toml:1: scenarios: no such file or folder 'nope'",),
        config='scenarios = ["nope"]\n[[query]]\npath = "q.sql"\nprofile = "booking-conversion"\n'),
}


def build(folder: Path, case: Case) -> None:
    (folder / "q.sql").write_text(REFERENCE_SQL, encoding="utf-8")
    (folder / "sc").mkdir()
    if case.config is not None:
        (folder / "convguard.toml").write_text(case.config, encoding="utf-8")
    for relative, content in case.files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is FIFO:
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(str(content), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONVGUARD_DATABASE_URL", raising=False)
    clear_config_cache()
    yield tmp_path
    clear_config_cache()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_a_clear_error_or_a_note(case: Case, project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    build(project, case)
    code = main(list(case.argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    for fragment in case.fragments:
        assert fragment in err, err
    assert code == case.code, err


@pytest.mark.parametrize("config", [
    pytest.param('select = ["CG99"]\n' + CONFIG, id="select"),
    pytest.param('driver = "jdbc"\n' + CONFIG, id="driver"),
    pytest.param(CONFIG.replace('"booking-conversion"', '"nope"'), id="profile"),
    pytest.param(CONFIG + '[query.params]\n"x" = "nope"\n', id="params-role"),
    pytest.param(CONFIG + 'function = 3\n', id="function-type"),
])
def test_test_names_the_configuration_line_check_names(config: str, project: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`test` and `check` print the same ``convguard.toml:LINE: message`` for one mistake."""
    build(project, Case({}, (), 2, (), config=config))
    assert main(["check", "q.sql"]) == 2
    check_error = capsys.readouterr().err.splitlines()[0]
    clear_config_cache()
    assert main(list(_test_argv())) == 2
    test_error = capsys.readouterr().err.splitlines()[0]
    assert test_error == check_error
    assert "convguard.toml:" in check_error and check_error.split("convguard.toml:")[1][0].isdigit()


def test_configuration_select_all_and_lower_case_codes(project: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """``select = ["ALL"]`` means every rule and codes are case-insensitive, as on the CLI."""
    (project / "bad.sql").write_text('SELECT d.id FROM "AIDraft" d WHERE d."updatedAt" > $1;\n')
    build(project, Case({}, (), 0, (), config='select = ["all"]\nignore = ["cg003"]\n'))
    assert main(["check", "bad.sql"]) == 1
    out = capsys.readouterr().out
    assert "CG104" in out and "CG003" not in out


def test_under_pytest_a_nan_scenario_fails_as_its_item(project: Path) -> None:
    """The plugin reports the bad scenario as the item's failure, with file and line, without a
    traceback (the item fails before any server is needed)."""
    build(project, Case({"sc/nan.yaml": scenario("{to: .nan}")}, (), 2, ()))
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "sc/nan.yaml",
         f"--convguard-dsn={UNREACHABLE}", "--rootdir", str(project), "-c", os.devnull],
        cwd=project, capture_output=True, text=True, timeout=120)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "sc/nan.yaml:2: params.to: nan is not an ISO 8601 timestamp" in output
    assert "Traceback" not in output and "raise " not in output, output


def test_configuration_providers_are_the_kits() -> None:
    from convguard._config import PROVIDERS
    from convguard.kit.server import provider_names

    assert PROVIDERS == provider_names()


def test_under_pytest_a_broken_configuration_is_a_warning_with_its_line(project: Path) -> None:
    """A configuration the plugin cannot read collects no scenario, and says why once."""
    build(project, Case({"sc/good.yaml": GOOD_SCENARIO, "sc/pipe.yaml": FIFO}, (), 2, (),
                        config="schema = 5\n" + CONFIG))
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "sc",
         f"--convguard-dsn={UNREACHABLE}", "--rootdir", str(project), "-c", os.devnull],
        cwd=project, capture_output=True, text=True, timeout=120)
    output = completed.stdout + completed.stderr
    assert "convguard.toml:1: schema must be a non-empty string, not 5" in output, output
    assert "no convguard scenario is collected" in output and "Traceback" not in output
