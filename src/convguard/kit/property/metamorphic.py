"""Metamorphic relations: transform a generated dataset (or how the query runs) in a way the
semantics says cannot matter - or can only move one way - and compare the query with itself.

No oracle is needed: a relation compares two runs of the same query. A profile defines its
relations (``Profile.relations``; the booking-conversion profile's are in
:mod:`convguard.profiles.booking_conversion.relations`) from the pieces here: a :class:`Relation`
names the :class:`Run` s it needs for a source document and judges their outcomes
(:func:`all_equal`, or its own judge built on :func:`compare`).

Sources are drawn from the profile's strategies (``Profile.strategies``). Runs that share a
dataset share one seeding (``BEGIN``, ``COPY``, the runs, ``ROLLBACK``) and every plan runs on
it, so a source costs one seeding per distinct dataset, not per run. A violated relation is
shrunk by Hypothesis like a differential failure; its minimal source is written as a scenario
file (the run whose counts differ from the oracle's, with the oracle's ``expected``).
:func:`default_sources` gives ``convguard test`` two sources for its 40 examples.

Example:
    >>> default_sources(50), default_sources(0), default_sources(3)
    (3, 0, 1)
    >>> failed(QueryFailed("canceling statement due to statement timeout", sqlstate="57014"))
    True
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convguard._errors import QueryFailed
from convguard._schema import Schema
from convguard.kit.conformance.binding import depends_on_client_time_zone
from convguard.kit.conformance.rows import Rows
from convguard.kit.conformance.runner import QueryPlan, ScenarioResult

if TYPE_CHECKING:
    from convguard.kit.conformance.runner import Workbench

Document = Mapping[str, Any]
Outcome = Any  # the profile's normalised result, or a QueryFailed


def default_sources(examples: int) -> int:
    """Relation sources for ``examples`` generated datasets: one per 15, at least one (a source
    costs about as much as eight examples)."""
    return 0 if examples <= 0 else max(1, examples // 15)


# Runs and relations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One execution of the query: a dataset (``tables``), params and how it is run.

    Runs whose ``tables`` is the same object share a seeding.
    """

    label: str
    params: Mapping[str, Any]
    tables: Mapping[str, Any]
    session_time_zone: str | None = None
    client_time_zone: str | None = None

    def key(self) -> tuple[Any, ...]:
        return (id(self.tables), json.dumps(self.params, sort_keys=True, default=str),
                self.session_time_zone, self.client_time_zone)

    @property
    def document(self) -> dict[str, Any]:
        return {"params": dict(self.params), "tables": self.tables}

    def condition(self) -> str:
        """How the run differs from an ordinary scenario run (empty: it does not)."""
        parts = []
        if self.session_time_zone:
            parts.append(f"SET TimeZone = '{self.session_time_zone}'")
        if self.client_time_zone:
            parts.append(f"client_time_zone = '{self.client_time_zone}'")
        return ", ".join(parts)


@dataclass(frozen=True)
class Violation:
    """A relation that did not hold: ``left`` and ``right`` name the compared runs."""

    relation: str
    message: str
    left: str
    right: str
    diff: tuple[tuple[str, str, Any, Any], ...] = ()
    left_outcome: Any = None
    right_outcome: Any = None


@dataclass(frozen=True)
class Relation:
    """A named relation: the runs it needs for a source, and its verdict on their outcomes."""

    name: str
    summary: str
    runs: Callable[[Document, QueryPlan, Schema], list[Run]]
    judge: Callable[[str, Mapping[str, Outcome]], Violation | None]
    applies: Callable[[QueryPlan], bool] = lambda plan: True


@dataclass(frozen=True)
class RelationResult:
    """The verdict of one relation on one plan over ``sources`` generated sources."""

    relation: str
    summary: str
    query: str
    query_location: str
    driver: str
    sources: int
    seed: int
    passed: bool
    message: str = ""
    diff: tuple[tuple[str, str, Any, Any], ...] = ()
    table: ScenarioResult | None = None
    scenario_path: str | None = None
    first_failure: int | None = None
    source_ms: float = 0.0
    left: str = ""
    right: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"relation": self.relation, "summary": self.summary, "query": self.query,
                "query_location": self.query_location, "driver": self.driver,
                "sources": self.sources, "seed": self.seed, "passed": self.passed,
                "message": self.message, "scenario_path": self.scenario_path,
                "first_failure": self.first_failure, "source_ms": round(self.source_ms, 3),
                "left": self.left, "right": self.right,
                "diff": [{"bucket": row, "field": name, "left": left, "right": right}
                         for row, name, left, right in self.diff]}


# Judging -----------------------------------------------------------------------------------------

def failed(outcome: Outcome) -> bool:
    """Whether a run's outcome is a failure (a :class:`QueryFailed`), not a result."""
    return isinstance(outcome, QueryFailed)


def _outcome_text(outcome: Outcome) -> str:
    return f"SQLSTATE {outcome.sqlstate}: {outcome.message}" if failed(outcome) else "counts"


def compare(relation: str, outcomes: Mapping[str, Outcome], left: str, right: str,
            what: str) -> Violation | None:
    """A violation when the runs ``left`` and ``right`` disagree (counts, or one failed)."""
    a, b = outcomes[left], outcomes[right]
    if failed(a) or failed(b):
        if failed(a) and failed(b) and a.sqlstate == b.sqlstate:
            return None
        return Violation(relation, f"{what}: {left} gave {_outcome_text(a)}, {right} gave "
                                   f"{_outcome_text(b)}", left, right)
    diff = tuple(a.differences(b))
    if not diff:
        return None
    changed = "; ".join(f"{row}.{name} {x} -> {y}" for row, name, x, y in diff[:6])
    more = f" (+{len(diff) - 6} more)" if len(diff) > 6 else ""
    return Violation(relation, f"{what} changed the counts: {changed}{more}", left, right,
                     diff, a, b)


def all_equal(what: Callable[[str], str]) -> Callable[[str, Mapping[str, Outcome]],
                                                       Violation | None]:
    """A judge for relations whose every run must give the source's result."""
    def judge(name: str, outcomes: Mapping[str, Outcome]) -> Violation | None:
        for label in outcomes:
            if label != "source":
                violation = compare(name, outcomes, "source", label, what(label))
                if violation is not None:
                    return violation
        return None
    return judge


# Executing ---------------------------------------------------------------------------------------

def execute_runs(workbench: Workbench, plans: Sequence[QueryPlan],
                 runs: Sequence[Run]) -> dict[tuple[int, tuple[Any, ...]], Outcome]:
    """Every applicable (plan, run): one seeding per distinct dataset, each run in its own
    read-only transaction on the query session; a run that fails is recorded as its
    :class:`QueryFailed`. Plans must share one schema."""
    from convguard.kit.property.documents import scenario_of

    schema = plans[0].schema
    kit = plans[0].kit
    by_tables: dict[int, dict[tuple[Any, ...], Run]] = {}
    for run in runs:
        by_tables.setdefault(id(run.tables), {})[run.key()] = run
    outcomes: dict[tuple[int, tuple[Any, ...]], Outcome] = {}
    for same_tables in by_tables.values():
        todo = [(index, run) for run in same_tables.values() for index, plan in enumerate(plans)
                if not (run.client_time_zone
                        and not depends_on_client_time_zone(plan.driver))]
        first = next(iter(same_tables.values()))
        scenario = scenario_of(first.document, schema, contract=kit.contract)
        with workbench.seeded(schema, scenario) as session:
            for index, run in todo:
                plan = plans[index]
                if run.client_time_zone:
                    plan = dataclasses.replace(plan, client_time_zone=run.client_time_zone)
                bound = plan.bind(dataclasses.replace(scenario, params=run.params))
                rows, failure = session.run(bound, plans[0].statement_timeout,
                                            time_zone=run.session_time_zone or "UTC")
                outcomes[(index, run.key())] = (failure if failure is not None
                                                else plan.kit.normalise(rows if rows is not None else Rows()))
    return outcomes


def relations_of(plan: QueryPlan) -> tuple[Relation, ...]:
    """The metamorphic relations of the plan's profile (none for a profile without them)."""
    profile = plan.kit.profile
    if profile is None or profile.relations is None:
        return ()
    return tuple(profile.relations())


def check_relations(workbench: Workbench, plans: Sequence[QueryPlan], document: Document,
                    relations: Sequence[Relation] | None = None
                    ) -> dict[tuple[int, str], Violation | None]:
    """Judge every applicable (plan, relation) on one source document (by default the
    relations of the first plan's profile)."""
    schema = plans[0].schema
    if relations is None:
        relations = relations_of(plans[0])
    wanted: dict[str, list[Run]] = {}
    for relation in relations:
        wanted[relation.name] = relation.runs(document, plans[0], schema)
    runs = [run for relation_runs in wanted.values() for run in relation_runs]
    outcomes = execute_runs(workbench, plans, runs)
    verdicts: dict[tuple[int, str], Violation | None] = {}
    for index, plan in enumerate(plans):
        for relation in relations:
            if not relation.applies(plan) or not wanted[relation.name]:
                continue
            by_label = {run.label: outcomes[(index, run.key())]
                        for run in wanted[relation.name]}
            verdicts[(index, relation.name)] = relation.judge(relation.name, by_label)
    return verdicts


def run_relations(plans: Sequence[QueryPlan], workbench: Workbench, *, examples: int,
                  seed: int = 0, relations: Sequence[Relation] | None = None,
                  failures_dir: str | None = None, shrink: bool = True) -> list[RelationResult]:
    """Every applicable relation for every plan on ``examples`` generated sources.

    A violated relation is shrunk to a minimal source (unless ``shrink`` is False); with
    ``failures_dir``, that source is written as a scenario file (see the module docs). By
    default each plan's profile gives the relations (:func:`relations_of`).
    """
    from convguard.kit.property.differential import documents_strategy, explore

    results: dict[tuple[int, str], RelationResult] = {}
    groups: dict[int, list[int]] = {}
    for index, plan in enumerate(plans):
        groups.setdefault(id(plan.schema), []).append(index)
    for group in groups.values():
        group_plans = [plans[i] for i in group]
        strategy = documents_strategy(group_plans[0].kit.profile)
        group_relations = (tuple(relations) if relations is not None
                           else relations_of(group_plans[0]))
        if strategy is None or not group_relations:
            continue
        first: dict[tuple[int, str], tuple[int, Document, Violation]] = {}
        timings: list[float] = []

        def visit(number: int, document: Document, group_plans: list[QueryPlan] = group_plans,
                  first: dict[tuple[int, str], tuple[int, Document, Violation]] = first,
                  timings: list[float] = timings,
                  group_relations: tuple[Relation, ...] = group_relations) -> None:
            start = time.perf_counter()
            verdicts = check_relations(workbench, group_plans, document, group_relations)
            timings.append((time.perf_counter() - start) * 1000 / len(group_plans))
            for key, violation in verdicts.items():
                if violation is not None and key not in first:
                    first[key] = (number, document, violation)

        explore(strategy, visit, examples=examples, seed=seed)
        source_ms = statistics.median(timings) if timings else 0.0
        for position, index in enumerate(group):
            plan = plans[index]
            for relation in group_relations:
                if not relation.applies(plan):
                    continue
                common: dict[str, Any] = {"relation": relation.name, "summary": relation.summary,
                          "query": plan.label, "query_location": plan.location,
                          "driver": plan.driver, "sources": examples, "seed": seed,
                          "source_ms": source_ms}
                found = first.get((position, relation.name))
                if found is None:
                    results[(index, relation.name)] = RelationResult(passed=True, **common)
                    continue
                results[(index, relation.name)] = _shrink_violation(
                    plan, relation, workbench, strategy, found, examples=examples, seed=seed,
                    failures_dir=failures_dir, common=common, shrink=shrink)
    rank = {name: number for number, name in enumerate(dict.fromkeys(
        relation.name for relation in (relations if relations is not None else
                                       [r for plan in plans for r in relations_of(plan)])))}
    return [results[key] for key in sorted(results, key=lambda k: (k[0], rank.get(k[1], 99)))]


def _shrink_violation(plan: QueryPlan, relation: Relation, workbench: Workbench, strategy: Any,
                      found: tuple[int, Document, Violation], *, examples: int, seed: int,
                      failures_dir: str | None, common: dict[str, Any],
                      shrink: bool = True) -> RelationResult:
    from convguard.kit.property.differential import shrink_from

    def violation_of(document: Document) -> Violation | None:
        return check_relations(workbench, [plan], document, [relation]).get((0, relation.name))

    shrunk = (shrink_from(strategy, violation_of, found[0], examples=examples, seed=seed)
              if shrink else None)
    if shrunk is None:
        index, document, violation = found
    else:
        document, violation, index = shrunk
    table = None
    if violation.left_outcome is not None and violation.right_outcome is not None:
        table = ScenarioResult(
            query=plan.label, query_location=plan.location, scenario=relation.name,
            scenario_path="", passed=False, check="counts", diff=violation.diff,
            row_label="bucket",
            expected_cells=plan.kit.cells(violation.left_outcome),
            actual_cells=plan.kit.cells(violation.right_outcome))
    path, unwritten = None, ""
    if failures_dir is not None:
        try:
            path = _write_violation(plan, relation, workbench, document, violation, index,
                                    examples=examples, seed=seed, failures_dir=failures_dir)
        except OSError as error:
            unwritten = f"; cannot write the scenario file into {failures_dir}: {error.strerror}"
    message = (f"{violation.message} (source {index + 1} of {examples}, seed {seed}, "
               f"{'shrunk' if shrunk is not None else 'not shrunk'}{unwritten})")
    return RelationResult(passed=False, message=message, diff=violation.diff, table=table,
                          scenario_path=path, first_failure=index, left=violation.left,
                          right=violation.right, **common)


def _write_violation(plan: QueryPlan, relation: Relation, workbench: Workbench,
                     document: Document, violation: Violation, index: int, *, examples: int,
                     seed: int, failures_dir: str) -> str:
    """The minimal source as a scenario file: the relation's first run (without a time-zone
    condition) whose counts differ from the oracle's, else the source itself."""
    from convguard.kit.property.differential import write_scenario_file
    from convguard.kit.property.documents import scenario_of

    runs = relation.runs(document, plan, plan.schema)
    outcomes = execute_runs(workbench, [plan], runs)
    chosen, note = None, ""
    for run in runs:
        if run.condition():
            continue
        scenario = scenario_of(run.document, plan.schema, contract=plan.kit.contract)
        oracle = plan.kit.oracle(scenario.dataset, scenario.params)
        outcome = outcomes[(0, run.key())]
        if failed(outcome) or oracle.differences(outcome):
            chosen = run
            break
    if chosen is None:
        chosen = runs[0]
        condition = next((run.condition() for run in runs if run.label == violation.right
                          and run.condition()), "") or violation.right
        note = (" On this dataset the query agrees with the oracle when run plainly; it differs "
                f"when run with {condition}: reproduce with that setting.")
    description = (f"Found by convguard's metamorphic relation {relation.name} ({relation.summary})"
                   f" on {plan.location} ({plan.driver}), source {index + 1} of {examples}, seed "
                   f"{seed}, shrunk by Hypothesis: {violation.message}. This file is the run "
                   f"'{chosen.label}'; `expected` is the profile oracle's.{note}")
    return write_scenario_file(chosen.document, plan, failures_dir,
                               prefix=f"relation-{relation.name}", description=description)


__all__ = [
    "Document", "Outcome", "Relation", "RelationResult", "Run", "Violation", "all_equal",
    "check_relations", "compare", "default_sources", "execute_runs", "failed", "relations_of",
    "run_relations",
]
