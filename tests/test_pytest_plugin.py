"""The pytest plugin, run by pytester: collection, ids, failures, xdist (in a subprocess)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "fixtures" / "scenarios"
SQL_QUERY = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
ONE_SCENARIO = SCENARIOS / "worked-example-1-booked-and-same-millisecond.yaml"
SCENARIO_COUNT = len(list(SCENARIOS.glob("*.yaml")))


@pytest.fixture(autouse=True)
def _importable_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Subprocesses run in a temporary folder: make ``src`` importable by absolute path."""
    import os

    paths = [str(ROOT / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))


def _plugin_args() -> list[str]:
    """``-p convguard.pytest_plugin`` unless the installed entry point loads it already."""
    installed = any(entry.name == "convguard"
                    for entry in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "convguard.pytest_plugin"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner pytest run, in this process (an interpreter start per run would cost ~1 s)."""
    return pytester.runpytest_inprocess(*_plugin_args(), "-p", "no:cacheprovider", *args)


def run_subprocess(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """An inner pytest run in its own process: xdist workers must start their own servers."""
    return pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", *args,
                                         timeout=300)


def project(pytester: pytest.Pytester, scenarios: dict[str, str]) -> None:
    """A project whose convguard.toml tests the reference .sql query against ``scenarios/``."""
    pytester.makefile(".toml", convguard=(
        'scenarios = ["scenarios"]\n\n[[query]]\n'
        f'path = "{SQL_QUERY}"\nprofile = "booking-conversion"\n'))
    folder = pytester.mkdir("scenarios")
    for name, text in scenarios.items():
        (folder / name).write_text(text)


def test_repo_fixtures_pass_with_readable_ids(pytester: pytest.Pytester) -> None:
    result = run(pytester, str(SCENARIOS), "--rootdir", str(ROOT), "-v")
    result.assert_outcomes(passed=2 * SCENARIO_COUNT)
    # Verbose lines name files relative to the invocation folder; compare the tails.
    lines = [line.split(" PASSED")[0] for line in result.outlines if " PASSED" in line]
    lines = [line[line.index("fixtures/scenarios/"):] for line in lines]
    assert ("fixtures/scenarios/pre-booked-same-millisecond.yaml::booking_conversion.sql::"
            "pre-booked-same-millisecond") in lines
    assert ("fixtures/scenarios/pre-booked-same-millisecond.yaml::ai-draft-response-analytics-"
            "actions.ts:getAiDraftBookingConversionStats::pre-booked-same-millisecond") in lines


def test_one_item_is_selectable_by_node_id(pytester: pytest.Pytester) -> None:
    node = f"{ONE_SCENARIO}::booking_conversion.sql::worked-example-1-booked-and-same-millisecond"
    result = run(pytester, node, "--rootdir", str(ROOT), "-q")
    result.assert_outcomes(passed=1)


def test_a_failing_scenario_shows_the_bucket_table(pytester: pytest.Pytester) -> None:
    wrong = ONE_SCENARIO.read_text().replace("sms-EDITED: {booked: 1}",
                                             "sms-EDITED: {booked: 1, notBooked: 3}")
    project(pytester, {"wrong.yaml": wrong, "right.yaml": ONE_SCENARIO.read_text().replace(
        "name: worked-example-1", "name: right-1")})
    result = run(pytester, "scenarios", "--convguard-driver", "typed")
    result.assert_outcomes(passed=1, failed=1)
    text = result.stdout.str()
    assert f"FAIL {SQL_QUERY}:10 with " in text and "wrong.yaml" in text and "[typed]" in text
    assert "Traceback" not in text and "def runtest" not in text
    row = next(line for line in result.outlines if line.strip().startswith("sms-EDITED"))
    assert row.split() == ["sms-EDITED", "1", "1", "3", "0", "*", "0", "0", "0", "0"]


def test_a_bad_scenario_is_a_clear_item_failure(pytester: pytest.Pytester) -> None:
    project(pytester, {"bad.yaml": "name: bad\ntables:\n  Lead:\n    - {id: l1}\n"})
    result = run_subprocess(pytester, "scenarios")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*bad.yaml:4: table \"Lead\": row 1 leaves out NOT NULL*",
                                 "*hint: give clientId a value*"])
    assert "Traceback" not in result.stdout.str()


def test_only_files_inside_configured_scenario_folders(pytester: pytest.Pytester) -> None:
    project(pytester, {"one.yaml": ONE_SCENARIO.read_text()})
    pytester.makefile(".yaml", other="name: not-a-scenario\n")
    pytester.mkdir("data")
    (pytester.path / "data" / "x.json").write_text("{}")
    result = run(pytester, ".", "--collect-only", "-q")
    collected = [line for line in result.outlines if "::" in line]
    assert collected == [("scenarios/one.yaml::booking_conversion.sql::"
                          "worked-example-1-booked-and-same-millisecond")]


def test_xdist_workers_each_get_their_own_server(pytester: pytest.Pytester) -> None:
    result = run_subprocess(pytester, str(SCENARIOS), "--rootdir", str(ROOT), "-n", "2", "-q")
    result.assert_outcomes(passed=2 * SCENARIO_COUNT)


def test_importing_the_plugin_stays_cheap() -> None:
    code = ("import sys, convguard.pytest_plugin; "
            "print(sorted(m for m in ('psycopg', 'yaml', 'convguard.kit', 'sqlglot') "
            "if m in sys.modules))")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60).stdout
    assert output.strip() == "[]"


def test_ini_settings_choose_the_server_and_driver(pytester: pytest.Pytester, bench) -> None:
    """``convguard_dsn`` (an existing server, here this session's) and ``convguard_driver``."""
    project(pytester, {"one.yaml": ONE_SCENARIO.read_text()})
    pytester.makeini(f"[pytest]\nconvguard_dsn = {bench.server.conninfo('postgres')}\n"
                     "convguard_driver = typed\n")
    result = run(pytester, "scenarios", "-v")
    result.assert_outcomes(passed=1)
    names = {row[0] for row in bench.server.admin().execute(
        "SELECT datname FROM pg_database WHERE datname LIKE 'convguard%'").fetchall()}
    assert names <= set(bench.server.created_databases)  # the subprocess dropped its own
