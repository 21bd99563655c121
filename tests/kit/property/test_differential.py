"""Differential testing: the reference queries against the oracle on generated datasets; a broken
variant caught, shrunk and written as a regression scenario; the ``convguard test`` wiring."""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")

from convguard.commands.test import run_test_command
from convguard.extract import extract_source
from convguard.kit.conformance.profile_kit import profile_kit
from convguard.kit.conformance.runner import QueryPlan, is_setup_statement, statement_timeout_for
from convguard.kit.property.differential import DEFAULT_EXAMPLES, run_generated
from convguard.kit.scenario.files import load_scenarios
from convguard.profiles.booking_conversion.schema import booking_schema

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "fixtures" / "scenarios"
SQL_QUERY = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
TS_QUERY = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
TS_FUNCTION = "getAiDraftBookingConversionStats"
TS_PARAMS = {"Prisma.join(scope.clientIds)": "client_ids", "maturityCutoff": "maturity_cutoff"}
ONE_SCENARIO = SCENARIOS / "worked-example-1-booked-and-same-millisecond.yaml"
KIT = profile_kit("booking-conversion")
SCHEMA = booking_schema()
#: The maturity cutoff made inclusive: a send exactly at the cutoff turns PENDING.
MATURITY_INCLUSIVE = ('WHEN ad."sentAt" > (:to::timestamptz', 'WHEN ad."sentAt" >= (:to::timestamptz')
#: ``from`` made exclusive: a send exactly at ``from`` is dropped.
FROM_EXCLUSIVE = ('dst."sentAt" >= (:from', 'dst."sentAt" > (:from')


def variant(tmp_path: Path, change: tuple[str, str], name: str = "variant.sql") -> Path:
    text = SQL_QUERY.read_text()
    assert text.count(change[0]) == 1
    path = tmp_path / name
    path.write_text(text.replace(*change))
    return path


def plan_of(path: Path, function: str | None = None) -> QueryPlan:
    extraction = extract_source(str(path), path.read_text())
    query = next(q for q in extraction.queries if not is_setup_statement(q)
                 and (function is None or q.function == function))
    return QueryPlan(query=query, kit=KIT, schema=SCHEMA, params=TS_PARAMS,
                     statement_timeout=statement_timeout_for(query, extraction))


REFERENCE = [plan_of(TS_QUERY, TS_FUNCTION), plan_of(SQL_QUERY)]


def test_the_reference_queries_agree_with_the_oracle_on_generated_datasets(bench,
                                                                          tmp_path: Path) -> None:
    results = run_generated(REFERENCE, bench, examples=10, seed=1, failures_dir=str(tmp_path))
    assert [r.passed for r in results] == [True, True], [r.message for r in results]
    assert all(r.examples == 10 and r.example_ms > 0 for r in results)
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_boundary_defect_is_caught_shrunk_and_written_as_a_regression_scenario(
        bench, tmp_path: Path) -> None:
    broken = plan_of(variant(tmp_path, MATURITY_INCLUSIVE, "maturity-inclusive.sql"))
    failures = tmp_path / "failures"
    # (10 examples, seed 1: found early and cheap to shrink; the default run finds it too.)
    [result] = run_generated([broken], bench, examples=10, seed=1, failures_dir=str(failures))
    assert not result.passed and result.first_failure is not None
    path = Path(result.scenario_path)
    assert path.parent == failures and path.name.startswith("generated-maturity-inclusive-")
    text = path.read_text()
    assert "Found by convguard's differential run" in text and "pending" in text
    assert re.search(r'sentAt: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"', text)
    assert "\nexpected:" in text
    # Shrunk: a handful of rows, one of them a send exactly at the cutoff.
    [scenario] = load_scenarios([failures], schema=SCHEMA, contract=KIT.contract)
    assert scenario.expected is not None and scenario.dataset.row_count() <= 10
    # Re-run from the file, as ``--scenarios`` would: the broken query fails with a bucket
    # diff, both reference queries pass.
    assert result.result is not None and result.result.check == "counts" and result.result.diff
    assert any(field == "pending" for _, field, _, _ in result.result.diff)
    assert not bench.run(broken, scenario).passed
    assert all(bench.run(plan, scenario).passed for plan in REFERENCE)


def run(capsys, *paths: str, **options: object) -> tuple[int, str]:
    options.setdefault("allow_superuser", True)  # the session server's superuser, as a url DSN
    out = io.StringIO()
    options.setdefault("profile", "booking-conversion")  # the variants in tmp_path are undeclared
    code = run_test_command(argparse.Namespace(paths=list(paths), **options), out)
    capsys.readouterr()
    return code, out.getvalue()



def test_convguard_test_runs_generated_examples_and_relations(capsys, tmp_path: Path,
                                                              monkeypatch, dsn: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run(capsys, str(SQL_QUERY), scenarios=[str(ONE_SCENARIO)], dsn=dsn, examples=3)
    assert code == 0, out
    assert "1 passed, 0 failed" in out
    assert "generated 3 datasets x 1 query: 1 query agrees with the oracle, 0 differ" in out
    assert "8 relations x 1 source: 8 hold, 0 violated (seed 0" in out
    code, out = run(capsys, str(SQL_QUERY), scenarios=[str(ONE_SCENARIO)], dsn=dsn, examples=2,
                    format="json")
    document = json.loads(out)
    assert code == 0 and document["conforms"] is True and document["summary"]["total"] == 1
    generated = document["generated"]
    assert generated["passed"] and generated["examples"] == 2
    assert {r["relation"] for r in generated["relations"]} >= {"time-translation",
                                                               "client-time-zone"}
    assert not (tmp_path / "convguard-failures").exists()


def test_convguard_test_exits_1_and_writes_the_minimal_dataset(capsys, tmp_path: Path,
                                                               monkeypatch, dsn: str) -> None:
    broken = variant(tmp_path, FROM_EXCLUSIVE, "from-exclusive.sql")
    monkeypatch.chdir(tmp_path)
    code, out = run(capsys, str(broken), scenarios=[str(ONE_SCENARIO)], dsn=dsn, examples=5,
                    seed=0)
    assert code == 1, out
    assert "1 passed, 0 failed" in out  # the hand-written scenario misses the defect
    assert f"FAIL generated {broken}:" in out and "does not conform" in out
    written = list((tmp_path / "convguard-failures").glob("generated-from-exclusive-*.yaml"))
    assert len(written) == 1 and f"written: convguard-failures/{written[0].name}" in out
    assert "*" in out  # the bucket diff of the re-run file


def test_without_hypothesis_generated_examples_are_skipped_with_a_message(
        capsys, monkeypatch, dsn: str) -> None:
    monkeypatch.setattr("convguard.kit.property.documents.hypothesis_available", lambda: False)
    code, out = run(capsys, str(SQL_QUERY), scenarios=[str(ONE_SCENARIO)], dsn=dsn, examples=10)
    assert code == 0
    assert "generated examples are skipped because hypothesis is not installed" in out


def test_scenarios_without_expected_are_judged_by_the_oracle(capsys, tmp_path: Path,
                                                             dsn: str) -> None:
    for name in ("oracle-judged-busy-month.yaml", "oracle-judged-defaults-mix.yaml"):
        shutil.copy(SCENARIOS / name, tmp_path / name)
    code, out = run(capsys, str(SQL_QUERY), scenarios=[str(tmp_path)], dsn=dsn, format="json")
    document = json.loads(out)
    assert code == 0 and document["summary"]["total"] == 2
    assert {r["expected_source"] for r in document["results"]} == {"oracle"}


def test_the_cli_takes_examples_and_seed_with_the_kits_default() -> None:
    from convguard.cli import TEST_EXAMPLES, build_parser

    assert TEST_EXAMPLES == DEFAULT_EXAMPLES
    args = build_parser().parse_args(["test"])
    assert (args.examples, args.seed) == (DEFAULT_EXAMPLES, 0)
    args = build_parser().parse_args(["test", "--examples", "0", "--seed", "7"])
    assert (args.examples, args.seed) == (0, 7)
