"""Reports: the bucket table with marked cells, SQLSTATE failures, the JSON document."""

from __future__ import annotations

import json

from convguard.kit.conformance.profile_kit import profile_kit
from convguard.kit.conformance.report import format_json, format_result, format_text, summary
from convguard.kit.conformance.runner import ScenarioResult

KIT = profile_kit("booking-conversion")


def counts_failure() -> ScenarioResult:
    expected = KIT.expected({"sms-EDITED": {"booked": 1}, "linkedin-APPROVED": {"pending": 2}})
    actual = KIT.normalise([("sms", "EDITED", "NOT_BOOKED", 1), ("linkedin", "APPROVED", "PENDING", 2)])
    return ScenarioResult(
        query="q.sql:10", query_location="q.sql:10", scenario="pre-booked",
        scenario_path="fixtures/scenarios/pre-booked.yaml", passed=False, check="counts",
        expected=expected, actual=actual, diff=tuple(expected.differences(actual)),
        row_label="bucket", expected_cells=KIT.cells(expected), actual_cells=KIT.cells(actual))


def test_count_failure_is_a_table_with_marked_cells() -> None:
    text = format_result(counts_failure())
    lines = text.splitlines()
    assert lines[0] == ("FAIL q.sql:10 with fixtures/scenarios/pre-booked.yaml (pre-booked) "
                        "[node-postgres]")
    assert "bucket" in lines[2] and "booked" in lines[2] and "bookedNoTimestamp" in lines[2]
    sms = next(line for line in lines if line.strip().startswith("sms-EDITED"))
    assert sms.split() == ["sms-EDITED", "1", "0", "*", "0", "1", "*", "0", "0", "0", "0"]
    linkedin = next(line for line in lines if line.strip().startswith("linkedin-APPROVED"))
    assert "*" not in linkedin
    assert not any(line.strip().startswith("email-") for line in lines)  # all-zero rows hidden


def test_sqlstate_failure_prints_code_message_and_advice() -> None:
    result = ScenarioResult(
        query="a.ts::f", query_location="a.ts:98", scenario="s", scenario_path="s.yaml",
        passed=False, check="sqlstate", sqlstate="42883",
        error="operator does not exist: timestamp without time zone > interval")
    text = format_result(result)
    assert "SQLSTATE 42883: operator does not exist" in text
    assert "untyped text" in text and "a.ts:98" in text
    timeout = format_result(ScenarioResult(
        query="q", query_location="q.sql:2", scenario="s", scenario_path="s.yaml", passed=False,
        check="sqlstate", sqlstate="57014", error="canceling statement due to statement timeout",
        statement_timeout="50"))
    assert "statement timeout (50)" in timeout


def test_json_carries_query_scenario_check_sqlstate_and_diff() -> None:
    passing = ScenarioResult(query="q", query_location="q.sql:1", scenario="ok",
                             scenario_path="ok.yaml", passed=True, check="passed")
    document = json.loads(format_json([counts_failure(), passing], elapsed_s=1.0))
    assert document["conforms"] is False
    assert document["summary"] == {"passed": 1, "failed": 1, "total": 2, "elapsed_s": 1.0}
    failure = document["failures"][0]
    assert (failure["query"], failure["scenario"], failure["check"]) == ("q.sql:10", "pre-booked",
                                                                         "counts")
    assert failure["sqlstate"] is None
    assert {"bucket": "sms-EDITED", "field": "booked", "expected": 1, "actual": 0} \
        in failure["diff"]
    assert failure["expected"]["buckets"]["sms-EDITED"]["booked"] == 1


def test_summary_line() -> None:
    text = format_text([counts_failure()], elapsed_s=0.5)
    assert text.rstrip().endswith("0 passed, 1 failed (1 query x 1 scenario, node-postgres, "
                                  "0.5 s): does not conform")
    assert summary([]).startswith("convguard test: 0 passed, 0 failed")


def test_summary_line_says_x_only_for_every_query_on_every_scenario() -> None:
    """Queries with scenarios of their own: 3 runs are not "2 queries x 3 scenarios"."""
    from convguard.kit.conformance.runner import ScenarioResult

    def run(query: str, scenario: str) -> ScenarioResult:
        return ScenarioResult(query, f"{query}:1", scenario=scenario,
                              scenario_path=f"{scenario}.yaml", passed=True, check="passed",
                              driver="prisma")

    own = [run("a.ts::f", "s1"), run("a.ts::f", "s2"), run("a.ts::g", "s3")]
    assert "(2 queries over 3 scenarios, prisma)" in summary(own)
    every = [run(q, s) for q in ("a.ts::f", "a.ts::g") for s in ("s1", "s2")]
    assert "(2 queries x 2 scenarios, prisma)" in summary(every)
