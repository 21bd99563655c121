"""A scenario's ``combination: N``: which combination of a call site's SQL fragments it runs.

A fresh repository is built in ``tmp_path`` from ``fixtures/billing_app``: ``getOverdueTotals``
splices ``!input.includeVoid ? Prisma.sql`AND i.status <> 'VOID'` : Prisma.empty``, so
``convguard extract`` prints two combinations; ``scenarios/overdue/void-excluded.yaml`` runs the
first (the default) and ``void-included.yaml`` says ``combination: 2``. ``getMemberCount`` has a
single combination.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from command_runs import edit, run

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "fixtures" / "billing_app"
QUERY = "app/billing.ts"
OVERDUE = f"{QUERY}::getOverdueTotals"
EXCLUDED = "scenarios/overdue/void-excluded.yaml"
INCLUDED = "scenarios/overdue/void-included.yaml"
#: the second branch of the ternary (includeVoid set): splices nothing
SECOND_BRANCH = ": Prisma.empty;"


@pytest.fixture()
def repo(fresh_repository) -> Path:
    """A fresh repository of the app, as the current folder."""
    return fresh_repository(APP, "billing")


def set_combination(root: Path, scenario: str, line: str) -> None:
    """Replace (or add, as the first line) the scenario's ``combination`` line."""
    path = root / scenario
    lines = [kept for kept in path.read_text().splitlines() if not kept.startswith("combination")]
    path.write_text("\n".join([line, *lines] if line else lines) + "\n")


def test_both_combinations_conform_and_the_second_is_named(capsys, repo: Path,
                                                           dsn: str) -> None:
    code, out, err = run(capsys, OVERDUE, dsn=dsn, verbose=True)
    assert (code, err) == (0, ""), out + err
    assert f"PASS app/billing.ts:15 with {EXCLUDED} (void-excluded)" in out
    assert f"PASS app/billing.ts:15 (combination 2 of 2) with {INCLUDED} (void-included)" in out
    assert "2 passed, 0 failed (1 query x 2 scenarios" in out


def test_a_defect_only_in_the_second_branch_is_caught_only_by_its_scenario(
        capsys, repo: Path, dsn: str) -> None:
    # includeVoid now also drops invoices of 10 euros or less: the OPEN 7-euro one goes missing
    edit(repo / QUERY, SECOND_BRANCH, ': Prisma.sql`AND i."amountCents" > 1000`;')
    code, out, err = run(capsys, OVERDUE, dsn=dsn, verbose=True)
    assert (code, err) == (1, ""), out + err
    assert f"PASS app/billing.ts:15 with {EXCLUDED}" in out
    assert f"FAIL app/billing.ts:15 (combination 2 of 2) with {INCLUDED}" in out
    assert "1 passed, 1 failed" in out

    code, out, _ = run(capsys, OVERDUE, dsn=dsn, format="json")
    document = json.loads(out)
    assert code == 1
    [failure] = document["failures"]
    assert (failure["scenario"], failure["combination"], failure["combinations"]) == \
        ("void-included", 2, 2)
    [passed] = [r for r in document["results"] if r["passed"]]
    assert "combination" not in passed  # the default combination is not repeated


def test_without_the_field_the_second_branch_is_never_run(capsys, repo: Path, dsn: str) -> None:
    """The scenario for includeVoid, without ``combination: 2``, runs combination 1 and fails:
    the default is the first combination (every ternary's first branch)."""
    set_combination(repo, INCLUDED, "")
    code, out, err = run(capsys, OVERDUE, dsn=dsn)
    assert (code, err) == (1, ""), out + err
    assert f"FAIL app/billing.ts:15 with {INCLUDED}" in out
    assert "(combination" not in out


@pytest.mark.parametrize(("scenario", "line", "message", "hint"), [
    (INCLUDED, "combination: 3",
     f"{INCLUDED}:1: combination 3: {OVERDUE} has 2 combinations of SQL fragments",
     f"write combination: 1 to 2 (the numbers `convguard extract {OVERDUE}` prints)"),
    ("scenarios/members/two-members.yaml", "combination: 2",
     "scenarios/members/two-members.yaml:1: combination 2: app/billing.ts::getMemberCount has "
     "1 combination of SQL fragments", "leave combination out: the query runs as written"),
    (INCLUDED, "combination: 0", f"{INCLUDED}:1: combination must be a whole number from 1, "
     "not 0", "(combination 2 of 3 -> combination: 2)"),
    (INCLUDED, "combination: two", f"{INCLUDED}:1: combination must be a whole number from 1, not 'two'",
     "the number `convguard extract` prints"),
    (INCLUDED, "combination: true", f"{INCLUDED}:1: combination must be a whole number from 1, not True",
     "the number `convguard extract` prints"),
    (INCLUDED, "combination: 1.5", f"{INCLUDED}:1: combination must be a whole number from 1, not 1.5",
     "the number `convguard extract` prints"),
])
def test_a_combination_the_call_site_lacks_is_an_error_before_any_server(
        capsys, repo: Path, scenario: str, line: str, message: str, hint: str) -> None:
    set_combination(repo, scenario, line)
    code, out, err = run(capsys, provider="no-such-provider")  # never reached: exit 2 first
    assert (code, out) == (2, "")
    assert f"convguard: error: {message}" in err
    assert hint in err
    assert "Traceback" not in err


def test_params_are_those_of_the_combination_the_scenario_runs(capsys, repo: Path,
                                                               dsn: str) -> None:
    """A parameter only the first branch interpolates is required by a scenario of combination
    1 and not by one of combination 2."""
    edit(repo / QUERY, "Prisma.sql`AND i.status <> 'VOID'`",
         "Prisma.sql`AND i.status::text <> ${input.excluded}`")
    code, out, err = run(capsys, OVERDUE, dsn=dsn)
    assert code == 2
    assert f"{EXCLUDED}:3: parameter 'input.excluded' is not given" in err
    path = repo / EXCLUDED
    path.write_text(path.read_text().replace("input.workspaceIds:",
                                             "input.excluded: VOID, input.workspaceIds:"))
    code, out, err = run(capsys, OVERDUE, dsn=dsn)
    assert (code, err) == (0, ""), out + err


def test_mutants_are_made_of_the_combination_each_scenario_runs(capsys, repo: Path,
                                                                dsn: str) -> None:
    from convguard.commands.mutate import run_mutate_command

    out = io.StringIO()
    code = run_mutate_command(argparse.Namespace(
        paths=[OVERDUE], format="json", dsn=dsn, examples=0, allow_superuser=True), out)
    document = json.loads(out.getvalue())
    assert code in (0, 1), out.getvalue()
    second = f"{OVERDUE} (combination 2 of 2)"
    assert document["queries"] == [OVERDUE, second]
    by_query: dict[str, list[dict]] = {}
    for mutant in document["mutants"]:
        by_query.setdefault(mutant["query"], []).append(mutant)
    # The VOID filter exists only in combination 1: only its mutants touch it, and only the
    # scenario that runs combination 1 judges them (and the other way round).
    assert any("VOID" in m["diff"] for m in by_query[OVERDUE])
    assert not any("VOID" in m["diff"] for m in by_query[second])
    for query, scenario in ((OVERDUE, "void-excluded"), (second, "void-included")):
        killers = {k for m in by_query[query] for k in m["killed_by"]
                   if k.startswith("scenario")}
        assert killers and all(k.startswith(f"scenario {scenario} ") for k in killers), killers
