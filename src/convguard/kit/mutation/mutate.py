"""The mutation run: every mutant of a query against the whole suite, on one server.

For each planned query, :mod:`convguard.kit.mutation.mutants` makes the mutants; each is then judged by
the checks the query itself must pass, cheapest first. A mutant is *killed* by a check that
tells it from the original; later checks only run on the mutants still alive:

1. **static rules** - the mutant's host file is checked with the mutant in place of the query;
   a diagnostic code the baseline does not have (or has fewer times) kills it;
2. **scenarios** - every scenario file of the query, seeded once per scenario for the original,
   the baseline and all live mutants together (:meth:`Workbench.run_scenario`, each query in its
   own savepoint): different counts, unreadable rows or a PostgreSQL error kill it;
3. **metamorphic relations on the scenarios** - every relation of
   :mod:`convguard.kit.property.metamorphic` with each scenario file's dataset as its source
   (:func:`~convguard.kit.property.metamorphic.check_relations`): the scenarios hold the hand-picked
   edges, so a defect that only shows in another session or driver time zone is found
   deterministically there;
4. **generated datasets** - :func:`convguard.kit.property.differential.run_generated`, the query against
   the profile oracle (one exploration seeds each dataset once for every plan);
5. **metamorphic relations on generated sources** - :func:`~convguard.kit.property.metamorphic.
   run_relations` with as many sources as ``convguard test`` uses.

Steps 3-5 run when those modules (and Hypothesis, for 4-5) are installed; the result lists the
checks that ran. A kill by 4 or 5 writes the shrunk dataset as a scenario file into
``failures_dir``, ready to commit as the scenario that kills the mutant.

Before any mutant counts, the original query must pass every scenario, and its regeneration by
sqlglot (the *baseline*, which every mutant is made from) must give the same rows as the original
text on every scenario: otherwise a score would measure sqlglot, not the suite, and the run
stops with an error. A relation the baseline itself violates on a source kills nothing there.

A mutant recorded in the configuration (``[equivalent_mutants]``: id -> reason) is
*equivalent*: it cannot change any result, so it is left out of the score. It still runs through
the checks (all but step 3, the most expensive); one that a check kills is reported as killed,
with a warning that the record is stale. ``score = killed / (total - equivalent)`` (1.0 when
nothing is left to kill).

Example:
    >>> stats = OperatorStats("ROR", "relational-operator", total=4, killed=3, survived=0,
    ...                       equivalent=1)
    >>> stats.score
    1.0
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from convguard._errors import ConvguardError
from convguard._model import ExtractedQuery, ExtractionResult, HostText
from convguard._paths import split_selector
from convguard.kit.mutation.mutants import OPERATORS, Mutant, Mutation, mutate_query
from convguard.kit.conformance.runner import QueryPlan, ScenarioResult

if TYPE_CHECKING:
    from convguard._config import Config
    from convguard.commands.test import PlannedQuery
    from convguard.kit.conformance.runner import Workbench
    from convguard.kit.scenario.files import Scenario

Status = Literal["killed", "survived", "equivalent"]
DEFAULT_EXAMPLES = 50
DEFAULT_FAILURES_DIR = "convguard-failures"


@dataclass(frozen=True)
class MutantOutcome:
    """What the suite made of one mutant.

    ``killed_by`` names the checks that killed it (``static CG203``, ``scenario NAME (counts)``,
    ``generated ...``, ``relation NAME``); for a survivor, ``reason`` says which checks ran and
    passed; for an equivalent mutant, the configuration's reason.
    """

    mutant: Mutant
    query: str
    status: Status
    killed_by: tuple[str, ...] = ()
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.mutant.id, "query": self.query, "operator": self.mutant.operator,
                "description": self.mutant.description, "status": self.status,
                "killed_by": list(self.killed_by), "reason": self.reason,
                "diff": self.mutant.diff}


@dataclass(frozen=True)
class OperatorStats:
    """Killed, survived and equivalent mutants of one operator."""

    operator: str
    name: str
    total: int
    killed: int
    survived: int
    equivalent: int

    @property
    def score(self) -> float:
        judged = self.total - self.equivalent
        return self.killed / judged if judged else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "name": self.name, "total": self.total,
                "killed": self.killed, "survived": self.survived,
                "equivalent": self.equivalent, "score": round(self.score, 4)}


@dataclass(frozen=True)
class MutationResult:
    """The mutation score of the queries run, per operator and per mutant."""

    total: int
    killed: int
    survived: int
    equivalent: int
    score: float
    operators: tuple[OperatorStats, ...]
    mutants: tuple[MutantOutcome, ...]
    queries: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    elapsed_s: float = 0.0

    @property
    def survivors(self) -> tuple[MutantOutcome, ...]:
        return tuple(outcome for outcome in self.mutants if outcome.status == "survived")

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "killed": self.killed, "survived": self.survived,
                "equivalent": self.equivalent, "score": round(self.score, 4),
                "queries": list(self.queries), "checks": list(self.checks),
                "elapsed_s": round(self.elapsed_s, 3), "warnings": list(self.warnings),
                "operators": [stats.as_dict() for stats in self.operators],
                "mutants": [outcome.as_dict() for outcome in self.mutants]}


def summarise(outcomes: Sequence[MutantOutcome], **extra: Any) -> MutationResult:
    """Counts, the score and per-operator stats of a list of outcomes."""
    by_operator: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        by_operator.setdefault(outcome.mutant.operator, Counter())[outcome.status] += 1
    operators = tuple(
        OperatorStats(code, OPERATORS[code].name if code in OPERATORS else code,
                      total=sum(counts.values()), killed=counts["killed"],
                      survived=counts["survived"], equivalent=counts["equivalent"])
        for code in [*OPERATORS, *sorted(set(by_operator) - set(OPERATORS))]
        if (counts := by_operator.get(code)))
    total = len(outcomes)
    killed = sum(o.status == "killed" for o in outcomes)
    equivalent = sum(o.status == "equivalent" for o in outcomes)
    judged = total - equivalent
    return MutationResult(total=total, killed=killed, survived=total - killed - equivalent,
                          equivalent=equivalent, score=killed / judged if judged else 1.0,
                          operators=operators, mutants=tuple(outcomes), **extra)


# One query's mutants -----------------------------------------------------------------------------

@dataclass
class _Subject:
    """One planned query under mutation: its plans, scenarios and what killed each mutant."""

    planned: PlannedQuery
    scenarios: Sequence[Scenario]
    mutation: Mutation
    baseline_plan: QueryPlan
    mutant_plans: list[QueryPlan]
    killers: list[list[str]] = field(default_factory=list)
    #: the combination of the call site's SQL fragments mutated (its scenarios run it)
    plan: QueryPlan = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.plan is None:
            self.plan = self.planned.plan

    @property
    def label(self) -> str:
        """The query's label, with the combination when it is not the first."""
        plan = self.plan
        if plan.combination == 1:
            return plan.label
        return f"{plan.label} (combination {plan.combination} of {plan.combination_count})"

    @cached_property
    def equivalents(self) -> Mapping[str, str]:
        return equivalents_for(self.planned.config, self.plan.query)


def equivalents_for(config: Config, query: ExtractedQuery) -> dict[str, str]:
    """The ``[equivalent_mutants]`` records that apply to ``query``: the global ones, then those
    of a table named by the query's ``PATH[::FUNCTION]`` (relative to the configuration).

    Example:
        >>> from types import SimpleNamespace
        >>> from convguard._config import Config
        >>> config = Config(root="/app", equivalent_mutants={
        ...     "CDR-1:-x": "global", "q.sql": {"ROR-4:<→<=": "only in q.sql"}})
        >>> sorted(equivalents_for(config, SimpleNamespace(path="/app/q.sql", function=None)))
        ['CDR-1:-x', 'ROR-4:<→<=']
        >>> sorted(equivalents_for(config, SimpleNamespace(path="/app/r.sql", function=None)))
        ['CDR-1:-x']
    """
    found = {key: value for key, value in config.equivalent_mutants.items()
             if isinstance(value, str)}
    for key, table in config.equivalent_mutants.items():
        if isinstance(table, Mapping) and names_query(config, key, query):
            found.update({str(mutant): str(reason) for mutant, reason in table.items()})
    return found


def names_query(config: Config, selector: str, query: ExtractedQuery) -> bool:
    """Whether ``PATH[::FUNCTION]`` (relative to the configuration) names ``query``."""
    path, function = split_selector(selector)
    if os.path.realpath(config.resolve(path)) != os.path.realpath(query.path):
        return False
    return function is None or function == query.function


def parameter_families(plan: QueryPlan) -> dict[int, str]:
    """``$n`` -> the kind of the profile role it binds (``timestamp``, ``integer``...)."""
    from convguard.profiles import resolve_role

    families: dict[int, str] = {}
    if plan.kit.profile is None:
        return families  # a query without a profile: no roles, no kinds
    for placeholder in plan.query.placeholders:
        try:
            role = resolve_role(plan.kit.profile, placeholder.expression, plan.params)
        except ConvguardError:
            role = None
        if role is not None:
            families[placeholder.index] = role.kind
    return families


def _subjects(planned: PlannedQuery, scenarios: Sequence[Scenario],
              operators: Sequence[str] | None) -> list[_Subject]:
    """One subject per combination the scenarios run (``combination: N``; 1 by default): its
    mutants are made of that combination and judged by the scenarios that run it."""
    by_combination: dict[int, list[Scenario]] = {}
    for scenario in scenarios:
        by_combination.setdefault(scenario.combination, []).append(scenario)
    if not by_combination:
        by_combination[1] = []
    return [_subject(planned, planned.plan.for_scenario(chosen[0]), chosen, operators)
            if chosen else _subject(planned, planned.plan, chosen, operators)
            for _number, chosen in sorted(by_combination.items())]


def _subject(planned: PlannedQuery, plan: QueryPlan, scenarios: Sequence[Scenario],
             operators: Sequence[str] | None) -> _Subject:
    mutation = mutate_query(plan.query, schema=plan.schema,
                            parameter_families=parameter_families(plan), operators=operators)
    assert mutation.baseline is not None
    baseline_plan = dataclasses.replace(plan, query=mutation.baseline)
    mutant_plans = [dataclasses.replace(plan, query=mutant.query)  # type: ignore[arg-type]
                    for mutant in mutation.mutants]
    return _Subject(planned, scenarios, mutation, baseline_plan, mutant_plans,
                    [[] for _ in mutation.mutants], plan)


# 1. Static rules ---------------------------------------------------------------------------------

class _StaticCheck:
    """The query's host file checked with another SQL in place of the query."""

    def __init__(self, query: ExtractedQuery, config: Config) -> None:
        from convguard._schema_discovery import find_schema
        from convguard.extract import extract_source

        with open(query.path, encoding="utf-8") as handle:
            text = handle.read()
        self.host = HostText(query.path, text)
        self.extraction = extract_source(query.path, text, tags=config.tags)
        self.config = config
        self.schema = find_schema(query.path, config)  # None: the profile's own data model
        self.position = next((i for i, q in enumerate(self.extraction.queries)
                              if q.span.start == query.span.start
                              and q.variant == query.variant), None)

    def codes(self, query: ExtractedQuery) -> Counter[str]:
        from convguard._check import _State, check_extraction

        if self.position is None:
            return Counter()
        queries = list(self.extraction.queries)
        queries[self.position] = query
        extraction = ExtractionResult(self.extraction.path, tuple(queries),
                                      self.extraction.unsafe_calls)
        state = _State()
        check_extraction(extraction, self.host, self.config, schema=self.schema, state=state)
        return Counter(diagnostic.code for diagnostic in state.diagnostics)


def _new_codes(baseline: Counter[str], mutant: Counter[str]) -> list[str]:
    return sorted(code for code, count in mutant.items() if count > baseline.get(code, 0))


def _run_static(subject: _Subject) -> None:
    try:
        check = _StaticCheck(subject.plan.query, subject.planned.config)
    except (OSError, ConvguardError):
        return  # the host file is gone or unreadable: the dynamic checks still judge
    baseline = check.codes(subject.mutation.baseline)  # type: ignore[arg-type]
    for number, mutant in enumerate(subject.mutation.mutants):
        assert mutant.query is not None
        for code in _new_codes(baseline, check.codes(mutant.query)):
            subject.killers[number].append(f"static {code}")


# 2. Scenarios ------------------------------------------------------------------------------------

def _verdict(result: ScenarioResult) -> str:
    if result.check == "sqlstate":
        return f"SQLSTATE {result.sqlstate}"
    return result.check


def _rows_key(result: ScenarioResult) -> Any:
    return sorted(map(repr, result.rows)) if result.check != "sqlstate" else result.sqlstate


def _selector(query: ExtractedQuery) -> str:
    return f"{query.path}::{query.function}" if query.function else query.path


def _run_scenarios(subjects: Sequence[_Subject], workbench: Workbench, *,
                   exhaustive: bool) -> None:
    """Every scenario once, with the originals, baselines and live mutants of all subjects."""
    order: dict[str, tuple[Scenario, list[_Subject]]] = {}
    for subject in subjects:
        for scenario in subject.scenarios:
            key = f"{scenario.path}\0{id(subject.plan.schema)}"
            order.setdefault(key, (scenario, []))[1].append(subject)
    for scenario, members in order.values():
        plans: list[QueryPlan] = []
        slots: list[tuple[_Subject, int]] = []  # -2 original, -1 baseline, n mutant
        for subject in members:
            plans += [subject.plan, subject.baseline_plan]
            slots += [(subject, -2), (subject, -1)]
            for number, plan in enumerate(subject.mutant_plans):
                if exhaustive or not subject.killers[number]:
                    plans.append(plan)
                    slots.append((subject, number))
        results = workbench.run_scenario(plans, scenario)
        originals: dict[int, ScenarioResult] = {}
        for (subject, number), result in zip(slots, results):
            if number == -2:
                originals[id(subject)] = result
                if not result.passed:
                    raise ConvguardError(
                        f"the original query fails scenario {scenario.name} "
                        f"({_verdict(result)}): a mutation score needs a suite the query "
                        "passes", path=subject.plan.query.path,
                        line=subject.plan.query.span.start_position.line,
                        hint=f"run `convguard test {_selector(subject.plan.query)}` and "
                             "fix it first")
            elif number == -1:
                original = originals[id(subject)]
                if not result.passed or _rows_key(result) != _rows_key(original):
                    raise ConvguardError(
                        f"sqlglot's regeneration of the query does not behave like the "
                        f"original on scenario {scenario.name} ({_verdict(result)}); mutants "
                        "made from it would measure sqlglot, not the suite",
                        path=subject.plan.query.path,
                        line=subject.plan.query.span.start_position.line,
                        hint="compare the query with its regeneration "
                             "(convguard.kit.mutation.mutants.mutate_query(query).baseline_sql) and "
                             "report the difference as a convguard bug")
            elif not result.passed:
                subject.killers[number].append(f"scenario {scenario.name} ({_verdict(result)})")


# 3.-5. Metamorphic relations and generated datasets -----------------------------------------------

def _optional(module: str, name: str) -> Any:
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def hypothesis_ready() -> bool:
    """Whether the differential runner and Hypothesis are both available."""
    available = _optional("convguard.kit.property.documents", "hypothesis_available")
    return _optional("convguard.kit.property.differential", "run_generated") is not None \
        and available is not None and bool(available())


def _live(subjects: Sequence[_Subject]) -> list[tuple[_Subject, int]]:
    return [(subject, number) for subject in subjects
            for number in range(len(subject.mutant_plans)) if not subject.killers[number]]


def _run_generated(subjects: Sequence[_Subject], workbench: Workbench, *, examples: int,
                   seed: int, failures_dir: str, warnings: list[str]) -> bool:
    run_generated = _optional("convguard.kit.property.differential", "run_generated")
    if run_generated is None or examples <= 0 or not hypothesis_ready():
        return False
    live = _live(subjects)
    if not live:
        return True
    plans = [subject.baseline_plan for subject in subjects]
    plans += [subject.mutant_plans[number] for subject, number in live]
    results = run_generated(plans, workbench, examples=examples, seed=seed,
                            failures_dir=failures_dir)
    broken = {id(subject) for subject, result in zip(subjects, results) if not result.passed}
    for subject, result in zip(subjects, results):
        if not result.passed:
            warnings.append(f"{subject.label}: the original query disagrees with the "
                            f"oracle on generated data ({result.message}); generated datasets "
                            "kill none of its mutants")
    for (subject, number), result in zip(live, results[len(subjects):]):
        if result.passed or id(subject) in broken:
            continue
        where = f": {result.scenario_path}" if getattr(result, "scenario_path", None) else ""
        example = getattr(result, "first_failure", None)
        subject.killers[number].append(
            f"generated example {example + 1 if example is not None else '?'} of {examples} "
            f"(seed {seed}){where}")
    return True


def relation_sources(examples: int) -> int:
    """Generated relation sources for ``examples`` datasets (as ``convguard test`` runs them)."""
    default_sources = _optional("convguard.kit.property.metamorphic", "default_sources")
    if default_sources is None:
        return 0
    return int(default_sources(examples))


def _relations_module() -> Any:
    import importlib

    try:
        module = importlib.import_module("convguard.kit.property.metamorphic")
    except ImportError:
        return None
    needed = ("check_relations", "run_relations", "relations_of")
    return module if all(hasattr(module, name) for name in needed) else None


def _run_relations_on_scenarios(subjects: Sequence[_Subject], workbench: Workbench, *,
                                warnings: list[str]) -> bool:
    """The metamorphic relations with each scenario file's dataset as the source.

    Scenario files hold the hand-picked edges (a send 1 ms before ``from``, a booking exactly at
    the cap...), so a relation such as ``session-time-zone`` finds there, deterministically, the
    defects that only show when the session or the driver is not in UTC. A relation the baseline
    itself violates on a source kills no mutant on that source. Mutants recorded as equivalent
    are left out here (the most expensive check, 18 runs per source): the generated datasets and
    relations still run on them.
    """
    module = _relations_module()
    document_of = _optional("convguard.kit.property.documents", "document_of")
    if module is None or document_of is None:
        return False
    order: dict[str, tuple[Scenario, list[_Subject]]] = {}
    for subject in subjects:
        for scenario in subject.scenarios:
            key = f"{scenario.path}\0{id(subject.plan.schema)}"
            order.setdefault(key, (scenario, []))[1].append(subject)
    reported: set[tuple[int, str]] = set()
    for scenario, members in order.values():
        plans: list[QueryPlan] = []
        slots: list[tuple[_Subject, int]] = []
        for subject in members:
            plans.append(subject.baseline_plan)
            slots.append((subject, -1))
            for number, plan in enumerate(subject.mutant_plans):
                if not subject.killers[number] \
                        and subject.mutation.mutants[number].id not in subject.equivalents:
                    plans.append(plan)
                    slots.append((subject, number))
        if len(plans) == len(members):
            continue  # nothing alive here
        document = document_of(scenario, plans[0].schema)
        verdicts = module.check_relations(workbench, plans, document,
                                          module.relations_of(plans[0]))
        broken: set[tuple[int, str]] = set()
        for (index, relation), violation in verdicts.items():
            subject, number = slots[index]
            if number == -1 and violation is not None:
                broken.add((id(subject), relation))
                if (id(subject), relation) not in reported:
                    reported.add((id(subject), relation))
                    warnings.append(f"{subject.label}: the original query violates relation "
                                    f"{relation} on scenario {scenario.name}; it kills no "
                                    "mutant there")
        for (index, relation), violation in sorted(verdicts.items()):
            subject, number = slots[index]
            if number >= 0 and violation is not None and (id(subject), relation) not in broken:
                subject.killers[number].append(f"relation {relation} on scenario {scenario.name}")
    return True


def _run_relations(subjects: Sequence[_Subject], workbench: Workbench, *, sources: int,
                   seed: int, failures_dir: str, warnings: list[str]) -> bool:
    """The metamorphic relations on ``sources`` generated sources, for the mutants still alive
    (:func:`convguard.kit.property.metamorphic.run_relations`; a violation is shrunk and written)."""
    module = _relations_module()
    if module is None or sources <= 0 or not hypothesis_ready():
        return False
    live = _live(subjects)
    if not live:
        return True
    plans = [subject.baseline_plan for subject in subjects]
    plans += [subject.mutant_plans[number] for subject, number in live]
    results = module.run_relations(plans, workbench, examples=sources, seed=seed,
                                   failures_dir=failures_dir)
    # run_relations returns, plan by plan, one result per relation that applies to the plan
    keys = [(index, relation.name) for index, plan in enumerate(plans)
            for relation in module.relations_of(plan) if relation.applies(plan)]
    if len(keys) != len(results) or any(key[1] != result.relation
                                        for key, result in zip(keys, results)):
        warnings.append("the relations' results could not be matched to the mutants; "
                        "generated relation sources kill none")
        return False
    violated: dict[int, list[str]] = {}
    for (index, relation), result in zip(keys, results):
        if not result.passed:
            violated.setdefault(index, []).append(relation)
    for index, subject in enumerate(subjects):
        if index in violated:
            warnings.append(f"{subject.label}: the original query violates relation(s) "
                            f"{', '.join(violated[index])} on generated sources; they kill "
                            "none of its mutants")
    for offset, (subject, number) in enumerate(live):
        if subjects.index(subject) in violated:
            continue
        for relation in violated.get(len(subjects) + offset, ()):
            subject.killers[number].append(f"relation {relation} on generated sources "
                                           f"(seed {seed})")
    return True


# The run -----------------------------------------------------------------------------------------

def run_mutation(planned: Sequence[PlannedQuery], workbench: Workbench, *,
                 scenarios: Mapping[int, Sequence[Scenario]] | None = None,
                 examples: int = DEFAULT_EXAMPLES, seed: int = 0,
                 failures_dir: str = DEFAULT_FAILURES_DIR,
                 operators: Sequence[str] | None = None,
                 exhaustive: bool = False) -> MutationResult:
    """Mutate each planned query and run the suite on every mutant (see the module docs).

    ``scenarios`` maps a position in ``planned`` to its loaded scenarios (default: loaded from
    each plan's scenario sources). ``exhaustive`` runs every scenario on every mutant, so
    ``killed_by`` lists all the scenarios that kill it, not only the first one.
    """
    from convguard.commands.test import ScenarioCache

    started = time.perf_counter()
    cache = ScenarioCache()
    subjects = []
    for index, item in enumerate(planned):
        loaded = scenarios[index] if scenarios is not None and index in scenarios \
            else cache.load(item.scenario_sources, item.plan)
        subjects.extend(_subjects(item, loaded, operators))
    warnings: list[str] = []
    checks = ["static rules", "scenarios"]
    for subject in subjects:
        _run_static(subject)
    _run_scenarios(subjects, workbench, exhaustive=exhaustive)
    # Generated datasets and metamorphic relations come from a profile (its data generator and
    # its relations); a query without one is judged by its scenarios and the static rules.
    profiled = [subject for subject in subjects if subject.plan.kit.profile is not None]
    notes = [f"{subject.label}: no profile, so no generated datasets or metamorphic "
             "relations (they need a profile's data generator); its scenarios and the static "
             "rules judge its mutants" for subject in subjects if subject.plan.kit.profile is None]
    if profiled and _run_relations_on_scenarios(profiled, workbench, warnings=warnings):
        checks.append("metamorphic relations on the scenarios")
    if profiled and _run_generated(profiled, workbench, examples=examples, seed=seed,
                                   failures_dir=failures_dir, warnings=warnings):
        checks.append(f"generated datasets ({examples}, seed {seed})")
    sources = relation_sources(examples)
    if profiled and _run_relations(profiled, workbench, sources=sources, seed=seed,
                                   failures_dir=failures_dir, warnings=warnings):
        checks.append(f"metamorphic relations on {sources} generated sources")
    warnings.extend(notes)
    outcomes = []
    recorded: set[str] = set()
    for subject in subjects:
        passed = _passed_checks(subject, checks)
        for number, mutant in enumerate(subject.mutation.mutants):
            killers = tuple(subject.killers[number])
            reason = subject.equivalents.get(mutant.id)
            if reason is not None:
                recorded.add(mutant.id)
            if killers:
                if reason is not None:
                    warnings.append(f"{subject.label}: {mutant.id} is recorded as "
                                    f"equivalent but {killers[0]} kills it: remove the record")
                outcomes.append(MutantOutcome(mutant, subject.label, "killed", killers))
            elif reason is not None:
                outcomes.append(MutantOutcome(mutant, subject.label, "equivalent",
                                              reason=str(reason)))
            else:
                outcomes.append(MutantOutcome(mutant, subject.label, "survived",
                                              reason=passed))
    configured = {key for subject in subjects for key in subject.equivalents}
    for key in sorted(configured - recorded):
        warnings.append(f"[equivalent_mutants] {key!r} matches no mutant of the queries run")
    return summarise(outcomes, queries=tuple(s.label for s in subjects),
                     checks=tuple(checks), warnings=tuple(warnings),
                     elapsed_s=time.perf_counter() - started)


def _passed_checks(subject: _Subject, checks: Sequence[str]) -> str:
    parts = []
    for check in checks:
        if check == "scenarios":
            parts.append(f"{len(subject.scenarios)} scenarios")
        elif check == "static rules":
            parts.append("static rules (no new finding)")
        else:
            parts.append(check)
    return "survived " + ", ".join(parts) + ": no check tells it from the original"


# Reports -----------------------------------------------------------------------------------------

def format_text(result: MutationResult, *, verbose: bool = False) -> str:
    """Per-operator table, each survivor with its diff and reason, then the score."""
    lines = []
    width = max([len(stats.name) for stats in result.operators] + [8])
    lines.append(f"{'operator':<{width + 6}} {'total':>5} {'killed':>6} {'survived':>8} "
                 f"{'equiv':>5}")
    for stats in result.operators:
        lines.append(f"{stats.operator} {stats.name:<{width + 2}} {stats.total:>5} "
                     f"{stats.killed:>6} {stats.survived:>8} {stats.equivalent:>5}")
    for outcome in result.mutants:
        if outcome.status == "survived" or verbose:
            lines.append("")
            lines.append(f"{outcome.status.upper()} {outcome.mutant.id} in {outcome.query}: "
                         f"{outcome.mutant.description}")
            if outcome.status == "killed":
                lines.append(f"  killed by: {', '.join(outcome.killed_by)}")
            else:
                lines.append(f"  {outcome.reason}")
            if outcome.status == "survived":
                lines.extend("  " + line for line in outcome.mutant.diff.splitlines())
    for warning in result.warnings:
        lines.append(f"warning: {warning}")
    lines.append("")
    lines.append(f"convguard mutate: {result.total} mutants of {len(result.queries)} "
                 f"quer{'y' if len(result.queries) == 1 else 'ies'}: {result.killed} killed, "
                 f"{result.survived} survived, {result.equivalent} equivalent; score "
                 f"{result.score:.3f} ({'; '.join(result.checks)}; {result.elapsed_s:.1f} s)")
    return "\n".join(lines) + "\n"


def format_json(result: MutationResult) -> str:
    import json

    return json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n"


__all__ = ["DEFAULT_EXAMPLES", "DEFAULT_FAILURES_DIR", "MutantOutcome", "MutationResult",
           "OperatorStats", "format_json", "format_text", "hypothesis_ready",
           "parameter_families", "run_mutation", "summarise"]
