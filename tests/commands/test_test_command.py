"""``convguard test``: exit codes 0/1/2, text and JSON output, configuration and server choice."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from convguard.commands.test import run_test_command

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "fixtures" / "scenarios"
TS_QUERY = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
TS_FUNCTION = "getAiDraftBookingConversionStats"
ONE_SCENARIO = SCENARIOS / "worked-example-1-booked-and-same-millisecond.yaml"



def run(capsys, *paths: str, **options: object) -> tuple[int, str, str]:
    # The booking queries copied to tmp_path are not declared in a configuration: name their
    # profile, as a user would with --profile (an undeclared query is otherwise generic).
    options.setdefault("profile", "booking-conversion")
    options.setdefault("allow_superuser", True)  # the session server's superuser, as a url DSN
    args = argparse.Namespace(paths=list(paths), **options)
    out = io.StringIO()
    code = run_test_command(args, out)
    return code, out.getvalue(), capsys.readouterr().err


def test_configured_queries_conform(capsys, monkeypatch, dsn: str) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = run(capsys, dsn=dsn)
    assert (code, err) == (0, "")
    count = len(list(SCENARIOS.glob("*.yaml")))
    assert f"{2 * count} passed, 0 failed (2 queries x {count} scenarios, node-postgres" in out


def test_database_url_from_the_environment(capsys, monkeypatch, dsn: str) -> None:
    monkeypatch.setenv("CONVGUARD_DATABASE_URL", dsn)
    code, out, _ = run(capsys, str(ROOT / "fixtures" / "queries" / "booking_conversion.sql"),
                       scenarios=[str(ONE_SCENARIO)], format="json")
    document = json.loads(out)
    assert code == 0 and document["conforms"] is True and document["summary"]["total"] == 1


def test_a_wrong_expectation_exits_1_with_the_bucket_diff(capsys, tmp_path: Path, dsn: str) -> None:
    wrong = ONE_SCENARIO.read_text().replace("sms-EDITED: {booked: 1}", "sms-EDITED: {booked: 2}")
    (tmp_path / "wrong.yaml").write_text(wrong)
    code, out, _ = run(capsys, f"{TS_QUERY}::{TS_FUNCTION}", scenarios=[str(tmp_path)], dsn=dsn,
                       format="json")
    assert code == 1
    failure = json.loads(out)["failures"][0]
    assert failure["check"] == "counts" and failure["sqlstate"] is None
    assert failure["diff"] == [{"bucket": "sms-EDITED", "field": "booked", "expected": 2,
                                "actual": 1}]
    assert failure["query"].endswith(f"::{TS_FUNCTION}")
    code, out, _ = run(capsys, f"{TS_QUERY}::{TS_FUNCTION}", scenarios=[str(tmp_path)], dsn=dsn)
    assert code == 1 and "sms-EDITED" in out and "*" in out and "wrong.yaml" in out


def test_untyped_defect_fails_with_node_postgres_and_passes_typed(capsys, tmp_path: Path,
                                                                  dsn: str) -> None:
    broken = TS_QUERY.read_text().replace(
        "(${maturityCutoff}::timestamptz AT TIME ZONE 'UTC')",
        "${to} - (${maturityBufferDays} * interval '1 day')")
    path = tmp_path / "broken.ts"
    path.write_text(broken)
    code, out, _ = run(capsys, f"{path}::{TS_FUNCTION}", scenarios=[str(ONE_SCENARIO)], dsn=dsn)
    assert code == 1 and "SQLSTATE 42883" in out
    code, out, _ = run(capsys, f"{path}::{TS_FUNCTION}", scenarios=[str(ONE_SCENARIO)], dsn=dsn,
                       driver="typed")
    assert code == 0, out


def test_unmapped_interpolation_exits_2_naming_the_config_line(capsys, tmp_path: Path,
                                                               dsn: str) -> None:
    source = TS_QUERY.read_text().replace("${maturityCutoff}", "${cutoffAt}")
    (tmp_path / "a.ts").write_text(source)
    (tmp_path / "convguard.toml").write_text(
        'scenarios = ["s"]\n\n[[query]]\npath = "a.ts"\nfunction = "getAiDraftBookingConversionStats"\n'
        'profile = "booking-conversion"\n[query.params]\n"Prisma.join(scope.clientIds)" = "client_ids"\n')
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "one.yaml").write_text(ONE_SCENARIO.read_text())
    from convguard._config import clear_config_cache

    clear_config_cache()
    code, out, err = run(capsys, config=str(tmp_path / "convguard.toml"), dsn=dsn)
    assert code == 2 and out == ""
    assert "'cutoffAt' maps to no role" in err
    assert f'add "cutoffAt" = "<role>" under [query.params] in {tmp_path / "convguard.toml"} ' \
           "(line 3)" in err
    assert "Traceback" not in err


def test_bad_scenario_exits_2_with_file_and_line(capsys, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: bad\ntables:\n  Lead:\n    - {id: l1}\n")
    code, out, err = run(capsys, str(ROOT / "fixtures" / "queries" / "booking_conversion.sql"),
                         scenarios=[str(tmp_path)], format="json", provider="url")
    assert code == 2
    assert f"{tmp_path / 'bad.yaml'}:4: table \"Lead\"" in err and "hint:" in err
    assert json.loads(out)["error"]["line"] == 4


SQL_QUERY = ROOT / "fixtures" / "queries" / "booking_conversion.sql"

#: A scenarios folder where files are broken in different ways (each its own error), with a
#: usable file among them: (file, text, line of the error or None for a usable file, message).
BROKEN_FOLDER = [
    ("a-empty.yaml", "", 1, "the file is empty"),
    ("b-good.yaml", ONE_SCENARIO.read_text(), None, ""),
    ("c-not-null.yaml", "name: c\ntables:\n  Lead:\n    - {id: l1}\n", 4,
     'table "Lead": row 1 leaves out NOT NULL'),
    ("d-combination.yaml", ONE_SCENARIO.read_text().replace(
        "name: worked-example-1-booked-and-same-millisecond", "name: d\ncombination: 2"), 2,
     "combination 2: "),
    ("e-bad.json", '{"name": "e",\n "tables": {}', 2, "invalid JSON"),
    ("f-unknown-key.yaml", "name: f\ntables: {}\nexpect: {}\n", 3, "unknown key 'expect'"),
    ("g-same-name.yaml", ONE_SCENARIO.read_text(), 1, "is also used by"),
]


def broken_folder(folder: Path) -> list[tuple[str, int, str]]:
    """Writes BROKEN_FOLDER; returns (path, line, message) of each error it should report."""
    for name, text, _line, _message in BROKEN_FOLDER:
        (folder / name).write_text(text)
    return [(str(folder / name), line, message) for name, _text, line, message in BROKEN_FOLDER
            if line is not None]


@pytest.fixture()
def no_server(monkeypatch) -> None:
    """Starting a server fails the test: bad scenarios must be reported before one starts."""
    from convguard.kit.conformance.runner import Workbench

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a server was started although scenario files cannot be used")

    monkeypatch.setattr(Workbench, "start", refuse)


def test_every_bad_scenario_file_is_reported_in_file_order(capsys, tmp_path: Path,
                                                           no_server: None) -> None:
    expected = broken_folder(tmp_path)
    code, out, err = run(capsys, str(SQL_QUERY), scenarios=[str(tmp_path)])
    assert (code, out) == (2, "")
    errors = [line for line in err.splitlines() if line.startswith("convguard: error: ")]
    assert len(errors) == len(expected) == len(err.splitlines()) // 2  # each with its hint
    for line, (path, number, message) in zip(errors, expected):
        assert line.startswith(f"convguard: error: {path}:{number}: "), line
        assert message in line
    assert err.count("  hint: ") == len(expected)
    assert "Traceback" not in err and "internal error" not in err


def test_every_bad_scenario_file_is_in_the_json_errors(capsys, tmp_path: Path,
                                                       no_server: None) -> None:
    expected = broken_folder(tmp_path)
    code, out, err = run(capsys, str(SQL_QUERY), scenarios=[str(tmp_path)], format="json")
    assert code == 2
    document = json.loads(out)
    assert document["conforms"] is None and document["error"] == document["errors"][0]
    assert [(e["path"], e["line"]) for e in document["errors"]] == \
        [(path, line) for path, line, _message in expected]
    for error, (_path, _line, message) in zip(document["errors"], expected):
        assert set(error) == {"type", "message", "path", "line", "hint", "sqlstate"}
        assert message in error["message"] and error["hint"] and error["type"] == "ScenarioError"
    assert err.count("convguard: error: ") == len(expected)


def test_a_file_bad_for_two_queries_is_reported_once(capsys, tmp_path: Path,
                                                     no_server: None) -> None:
    (tmp_path / "bad.yaml").write_text("name: bad\ntables: {Shop: []}\n")
    (tmp_path / "two.yaml").write_text(ONE_SCENARIO.read_text().replace(
        "name: worked-example-1-booked-and-same-millisecond", "name: two\ncombination: 2"))
    code, out, _ = run(capsys, str(SQL_QUERY), f"{TS_QUERY}::{TS_FUNCTION}",
                       scenarios=[str(tmp_path)], format="json")
    errors = json.loads(out)["errors"]
    assert code == 2
    # the same unknown table for both queries is one error; each query's call site has its own
    # combinations, so the combination error is one per query
    assert [(Path(e["path"]).name, e["line"]) for e in errors] == \
        [("bad.yaml", 2), ("two.yaml", 2), ("two.yaml", 2)]
    assert {e["message"].split(":")[1].strip() for e in errors[1:]} == \
        {str(SQL_QUERY), str(TS_QUERY)}


def test_a_configuration_error_is_still_one_error(capsys, tmp_path: Path,
                                                  no_server: None) -> None:
    broken_folder(tmp_path)
    code, out, err = run(capsys, str(SQL_QUERY), scenarios=[str(tmp_path / "missing")],
                         format="json")
    assert code == 2 and len(json.loads(out)["errors"]) == 1
    assert err.count("convguard: error: ") == 1 and "no such scenario file or folder" in err


def test_no_server_exits_2(capsys, monkeypatch) -> None:
    monkeypatch.delenv("CONVGUARD_DATABASE_URL", raising=False)
    code, _, err = run(capsys, str(ROOT / "fixtures" / "queries" / "booking_conversion.sql"),
                       scenarios=[str(ONE_SCENARIO)], provider="url")
    assert code == 2 and "needs a connection string" in err


def test_unknown_function_exits_2(capsys) -> None:
    code, _, err = run(capsys, f"{TS_QUERY}::nope", scenarios=[str(ONE_SCENARIO)])
    assert code == 2 and "no query inside function 'nope'" in err


def test_through_the_cli(capsys, monkeypatch, dsn: str) -> None:
    from convguard.cli import main

    monkeypatch.chdir(ROOT)
    code = main(["test", "fixtures/queries/booking_conversion.sql", "--scenarios",
                 str(ONE_SCENARIO), "--dsn", dsn, "--allow-superuser"])
    assert code == 0
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_without_configured_scenarios_the_profile_runs_its_packaged_set(capsys, tmp_path: Path,
                                                                       monkeypatch,
                                                                       dsn: str) -> None:
    """An application repository gets the booking scenarios that ship inside the package."""
    (tmp_path / "q.sql").write_text((ROOT / "fixtures" / "queries" / "booking_conversion.sql")
                                    .read_text())
    (tmp_path / "convguard.toml").write_text(
        '[[query]]\npath = "q.sql"\nprofile = "booking-conversion"\n')
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, dsn=dsn)
    count = len(list(SCENARIOS.glob("*.yaml")))
    assert (code, err) == (0, "")
    assert f"{count} passed, 0 failed (1 query x {count} scenarios" in out
