"""The pytest plugin, run by pytester: collection, ids, failures, xdist (in a subprocess)."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # noqa: F401 - imported here, outside the in-process runs, so that they share it

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


def test_a_query_s_own_scenarios_folder_runs_for_that_query_only(
        pytester: pytest.Pytester) -> None:
    """``scenarios/customers`` claimed by one ``[[query]]`` inside the top-level ``scenarios``:
    each scenario is one item, of its own query (not also an item failing on the other's
    parameters)."""
    import shutil

    shutil.copytree(ROOT / "fixtures" / "revenue_app", pytester.path, dirs_exist_ok=True)
    (pytester.path / ".git").mkdir()
    (pytester.path / "customers.sql").write_text(
        'SELECT c.name FROM "Customer" c WHERE c."tenantId" = :tenantId\n')
    (pytester.path / "scenarios" / "customers").mkdir()
    (pytester.path / "scenarios" / "customers" / "one.yaml").write_text(
        "name: one\nparams: {tenantId: t1}\ntables:\n  Customer: [{id: c1, tenantId: t1, "
        "name: Acme}]\nexpected: [{name: Acme}]\n")
    config = pytester.path / "convguard.toml"
    config.write_text(config.read_text() + '\n[[query]]\npath = "customers.sql"\n'
                      'scenarios = ["scenarios/customers"]\n')
    result = run(pytester, "scenarios", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*scenarios/customers/one.yaml::customers.sql::one PASSED*"])
    (pytester.path / "scenarios" / "customers" / "one.yaml").write_text(
        "name: one\nparams: {tenantId: t1}\ntables:\n  Customer: [{id: c1, tenantId: t1, "
        "name: Acme}]\nexpected: [{name: Beta}]\n")
    result = run(pytester, "scenarios")
    result.assert_outcomes(passed=3, failed=1)
    # the scenario named as `convguard test` names it (it was the absolute path)
    result.stdout.fnmatch_lines(["FAIL customers.sql:1 with scenarios/customers/one.yaml (one) *"])


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
                      "convguard_allow_superuser = true\n"
                     "convguard_driver = typed\n")
    result = run(pytester, "scenarios", "-v")
    result.assert_outcomes(passed=1)
    names = {row[0] for row in bench.server.admin().execute(
        "SELECT datname FROM pg_database WHERE datname LIKE 'convguard%'").fetchall()}
    assert names <= set(bench.server.created_databases)  # the subprocess dropped its own


# A repository that is not the booking one: a query with no profile ------------------------------

REVENUE_APP = ROOT / "fixtures" / "revenue_app"


def revenue_app(pytester: pytest.Pytester) -> Path:
    """``fixtures/revenue_app`` as a fresh repository in pytester's folder."""
    import shutil

    shutil.copytree(REVENUE_APP, pytester.path, dirs_exist_ok=True)
    (pytester.path / ".git").mkdir()
    return pytester.path


def test_generic_scenarios_are_items_and_conform(pytester: pytest.Pytester, bench) -> None:
    revenue_app(pytester)
    dsn = bench.server.conninfo("postgres")
    result = run(pytester, "scenarios", f"--convguard-dsn={dsn}",
                 "--convguard-allow-superuser", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*scenarios/paid-in-range.yaml::revenue.ts:getRevenueByCustomer"
                                 "::paid-in-range PASSED*"])


def test_a_generic_failure_shows_the_row_diff(pytester: pytest.Pytester, bench) -> None:
    root = revenue_app(pytester)
    query = root / "app" / "revenue.ts"
    query.write_text(query.read_text().replace('o."paidAt" < ${to}', 'o."paidAt" <= ${to}'))
    result = run(pytester, "scenarios", f"--convguard-dsn={bench.server.conninfo('postgres')}",
                 "--convguard-allow-superuser")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*rows differ from the scenario's expected rows (as a multiset*",
                                 "*-  Acme      1000 *         1 *  (expected line 18)",
                                 "*+  Acme      1500 *         2 *"])


def test_an_unusable_file_fails_as_its_item_not_the_session(pytester: pytest.Pytester,
                                                             bench) -> None:
    root = revenue_app(pytester)
    (root / "scenarios" / "broken.yaml").write_text("name: broken\ntables: {Nope: []}\n")
    result = run(pytester, "scenarios", f"--convguard-dsn={bench.server.conninfo('postgres')}",
                 "--convguard-allow-superuser")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*scenarios/broken.yaml:2: unknown table 'Nope'*"])
    assert "error" not in result.parseoutcomes()


def test_a_query_that_cannot_be_planned_fails_its_files_items(pytester: pytest.Pytester,
                                                              bench) -> None:
    """No schema for the generic query: its scenario files fail, a profile query still runs."""
    import shutil

    root = revenue_app(pytester)
    shutil.rmtree(root / "prisma")
    config = root / "convguard.toml"
    config.write_text(config.read_text() + '\n[[query]]\npath = "' + str(SQL_QUERY) + '"\n'
                      'profile = "booking-conversion"\nscenarios = ["' + str(ONE_SCENARIO) + '"]\n')
    result = run(pytester, "scenarios", str(ONE_SCENARIO), f"--rootdir={root}",
                 f"--convguard-dsn={bench.server.conninfo('postgres')}",
                 "--convguard-allow-superuser")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*no schema for app/revenue.ts*"])
    assert "error" not in result.parseoutcomes()


def test_database_fixtures_on_a_schema_that_is_not_bookings(pytester: pytest.Pytester,
                                                            bench) -> None:
    revenue_app(pytester)
    pytester.makepyfile(test_revenue='''
        from datetime import datetime
        from pathlib import Path

        from convguard.kit import load_query, run_query, schema_from_prisma, seed

        SCHEMA = schema_from_prisma("prisma/schema.prisma")

        def test_revenue(convguard_database):
            db = convguard_database(SCHEMA)
            seed(db.connection, {
                "Customer": [{"id": "c1", "tenantId": "t1", "name": "Acme"}],
                "Order": [{"customerId": "c1", "status": "PAID", "amountCents": 900,
                           "paidAt": "2026-01-05T00:00:00Z", "reference": "r1"}]}, SCHEMA)
            rows = run_query(db.connection, load_query("app/revenue.ts::getRevenueByCustomer"),
                             {"tenantIds": ["t1"], "from": datetime(2026, 1, 1),
                              "to": datetime(2026, 2, 1)})
            assert rows[0]["revenue_cents"] == 900

        def test_each_test_gets_a_fresh_database(convguard_database, convguard_server):
            db = convguard_database(Path("prisma/schema.prisma"))
            assert db.connection.execute('SELECT count(*) FROM "Order"').fetchone() == (0,)
            other = convguard_database('CREATE TABLE t (id int)')
            assert other.name != db.name and other.server is convguard_server
    ''')
    result = run(pytester, "test_revenue.py", f"--convguard-dsn={bench.server.conninfo('postgres')}",
                 "--convguard-allow-superuser")
    result.assert_outcomes(passed=2)


def test_a_scenario_of_another_combination_names_it_in_its_item(
        pytester: pytest.Pytester) -> None:
    """``combination: 2`` (fixtures/billing_app): the item says so as pytest names a
    parametrised one, is selectable by that id, and its failure names the combination."""
    shutil.copytree(ROOT / "fixtures" / "billing_app", pytester.path, dirs_exist_ok=True)
    (pytester.path / ".git").mkdir()
    result = run(pytester, "scenarios", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "*scenarios/overdue/void-excluded.yaml::billing.ts:getOverdueTotals::void-excluded PASSED*",
        "*scenarios/overdue/void-included.yaml::billing.ts:getOverdueTotals::"
        "void-included[[]combination-2[]] PASSED*"])
    node = ("scenarios/overdue/void-included.yaml::billing.ts:getOverdueTotals::"
            "void-included[combination-2]")
    run(pytester, node, "-q").assert_outcomes(passed=1)
    query = pytester.path / "app" / "billing.ts"
    query.write_text(query.read_text().replace(": Prisma.empty;",
                                               ': Prisma.sql`AND i."amountCents" > 1000`;'))
    result = run(pytester, "scenarios")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAIL app/billing.ts:15 (combination 2 of 2) with "
                                 "scenarios/overdue/void-included.yaml (void-included)*"])
