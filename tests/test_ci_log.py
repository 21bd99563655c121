"""Output bound for a CI log: no file name can start a GitHub workflow command, and a closed or
vanished stdout ends the run quietly with its verdict.

The runner's rules (actions/runner ``ActionCommand``): a line that starts, after blanks, with
``::name ...::`` is a command; ``##[name]`` anywhere in a line is an old-style one. Property values
unescape ``%25 %0D %0A %3A %2C``, data ``%25 %0D %0A``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from convguard._ci_log import format_error, neutralize_line, safe_path, safe_text
from convguard._config import clear_config_cache
from convguard._errors import InputError, ScenarioError, ScenarioErrors
from convguard.cli import _Output, main

FINDING_SQL = 'SELECT d.id FROM "AIDraft" d WHERE d."updatedAt" > $1;\n'
HOSTILE_NAMES = [
    "::error::x.sql",
    "a\n::error::y.sql",
    "b\r::warning file=z::w.sql",
    "  ::add-mask::secret.sql",
    "c##[error]d.sql",
    "::stop-commands::token.sql",
]


def runner_commands(text: str) -> list[tuple[str, dict[str, str], str]]:
    """The workflow commands a GitHub runner would read in ``text`` (v2 and v1 syntax)."""
    commands = []
    for line in re.split(r"\r\n|\r|\n", text):
        stripped = line.lstrip()
        end = stripped.find("::", 2) if stripped.startswith("::") else -1
        if end > 2:  # v2; the runner tries v1 only on a line that is not v2
            info = stripped[2:end]
            name, _, props = info.partition(" ")
            properties = {}
            for pair in filter(None, props.split(",")):
                key, _, value = pair.partition("=")
                for token, code in ((":", "%3A"), (",", "%2C"), ("\r", "%0D"),
                                    ("\n", "%0A"), ("%", "%25")):
                    value = value.replace(code, token)
                properties[key] = value
            commands.append((name, properties, stripped[end + 2:]))
            continue
        start = line.find("##[")
        if start >= 0 and line.find("]", start) > start:
            commands.append((line[start + 3:line.find("]", start)], {}, "v1"))
    return commands


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    clear_config_cache()
    yield tmp_path
    clear_config_cache()


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
@pytest.mark.parametrize("output_format", ["text", "github", "json", "sarif"])
def test_a_file_name_never_starts_a_workflow_command(
        name: str, output_format: str, folder: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "src").mkdir()
    (folder / "src" / name).write_text(FINDING_SQL, encoding="utf-8")
    (folder / "src" / (name + "-latin1.sql")).write_bytes(b"SELECT '\xe9';\n")  # an error too
    code = main(["check", "src", "--format", output_format])
    captured = capsys.readouterr()
    assert code == 2, captured  # the finding (1) and the unreadable file (2)
    assert runner_commands(captured.err) == [], captured.err
    commands = runner_commands(captured.out)
    if output_format == "github":
        # Exactly the two annotations convguard meant, each on the real file name.
        assert [command[0] for command in commands] == ["error", "error"], captured.out
        assert {command[1]["file"] for command in commands} == {
            f"src/{name}", f"src/{name}-latin1.sql"}
    else:
        assert commands == [], captured.out


def test_notes_and_extract_escape_file_names(folder: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(folder / "a\n::error::pipe.sql")
    (folder / "::error::q.sql").write_text(FINDING_SQL, encoding="utf-8")
    assert main(["check", "."]) == 1
    assert main(["extract", "::error::q.sql"]) == 0
    captured = capsys.readouterr()
    assert "skipped: not a regular file (a FIFO)" in captured.err
    assert runner_commands(captured.err) == [] and runner_commands(captured.out) == []
    assert "-- ./::error::q.sql:1 (sql, line 1)" in captured.out


@pytest.mark.parametrize(("text", "expected"), [
    ("::error::x", "%3A:error::x"),
    ("  ::warning file=a::b", "  %3A:warning file=a::b"),
    ("SELECT x::text::int", "SELECT x::text::int"),
    ("  ::text AS y", "  ::text AS y"),          # one `::` only: not a command
    ("x ##[error]y", "x ##%5Berror]y"),
])
def test_neutralize_line(text: str, expected: str) -> None:
    assert neutralize_line(text) == expected
    assert runner_commands(neutralize_line(text)) == []


def test_error_lines_keep_their_own_breaks_but_no_command() -> None:
    error = InputError("connection failed\n\tIs the server running?\n::error::x",
                       path="::a.sql", line=2, hint="h\r::warning::y")
    text = format_error(error)
    assert text.startswith("convguard: error: ./::a.sql:2: connection failed\n\tIs the server")
    assert runner_commands(text) == []
    assert safe_path("a\tb") == "a\\tb" and safe_text("a\tb") == "a\tb"


@pytest.mark.parametrize("chunks", [
    ["a\n  ", ":", ":error::x", "\nok\n"],
    ["x\n", "::warning::y\n", "z"],
    ["::error::tail"],
])
def test_output_stream_holds_a_suspect_line_until_it_ends(chunks: list[str]) -> None:
    import io

    buffer = io.StringIO()
    stream = _Output(buffer)
    for chunk in chunks:
        stream.write(chunk)
    stream.flush()
    assert runner_commands(buffer.getvalue()) == []
    assert buffer.getvalue().replace("%3A", ":") == "".join(chunks)


# A vanished reader -------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "fixtures" / "bad"
CLEAN = ROOT / "fixtures" / "queries" / "booking_conversion.sql"


@pytest.mark.parametrize(("shell", "code"), [
    pytest.param('check "{bad}" >&-', 1, id="check-findings-stdout-closed"),
    pytest.param('check "{clean}" >&-', 0, id="check-clean-stdout-closed"),
    pytest.param('check "{bad}" | head -0', 1, id="check-findings-reader-gone"),
    pytest.param('check "{clean}" | head -0', 0, id="check-clean-reader-gone"),
    pytest.param("rule >&-", 0, id="rule-stdout-closed"),
    pytest.param('extract "{clean}" >&- 2>&-', 0, id="extract-both-closed"),
    pytest.param('check /no/such/file.sql 2>&-', 2, id="error-stderr-closed"),
])
def test_a_closed_stdout_exits_quietly_with_the_verdict(shell: str, code: int) -> None:
    command = f'"{sys.executable}" -m convguard ' + shell.format(bad=BAD, clean=CLEAN)
    completed = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                               text=True, timeout=120, cwd=ROOT)
    assert completed.returncode == code, completed.stderr
    assert "Traceback" not in completed.stderr and "internal error" not in completed.stderr
    assert "Exception ignored" not in completed.stderr, completed.stderr


def test_several_errors_print_each_one_escaped() -> None:
    errors = ScenarioErrors([ScenarioError("empty", path="::error::a.yaml", line=1, hint="fill"),
                             ScenarioError("bad\n::warning::x", path="b.yaml", line=2)])
    assert format_error(errors) == ("convguard: error: ./::error::a.yaml:1: empty\n"
                                    "  hint: fill\n"
                                    "convguard: error: b.yaml:2: bad\n%3A:warning::x\n")
