"""Property-based differential testing: generated datasets, the query against the profile oracle.

For each plan, :func:`run_generated` draws ``examples`` datasets from the profile's strategies
(``Profile.strategies``), seeds each on the workbench's work database (``BEGIN``,
``COPY``, query, ``ROLLBACK``: the same path as a scenario file) and compares the query's counts
with the oracle's. The search is deterministic - runs of :data:`CHUNK` examples, each with
``@seed`` derived from ``seed``, no example database - and quiet.

Plans that share a schema share each dataset's seeding: one exploration judges all of them on
every example without stopping. Only a plan that fails gets its own run: the Hypothesis run of
its first failure again, with the same seed and size (so the same examples), which stops at the
failure and lets Hypothesis shrink the dataset. The minimal dataset is written as a scenario file - the format of
``fixtures/scenarios``, timestamps quoted with ``Z``, ``expected`` computed by the oracle, a
description of how it was found and what differed - into ``failures_dir``, ready to commit as a
regression fixture. The file is then loaded back and run again, so the reported bucket diff is
the one the committed file will show.

:class:`~convguard.kit.property.checks.GeneratedChecks` runs this and the metamorphic relations
for ``convguard test``.

Example:
    >>> print(scenario_yaml({"name": "x", "description": "", "params": {"to": "2026-02-01T00:00:00.000Z"},
    ...                      "tables": {"Client": [{"id": "c1"}]}, "expected": {"sms-EDITED": {"booked": 1}}}))
    name: x
    params:
      to: "2026-02-01T00:00:00.000Z"
    tables:
      Client:
        - {id: c1}
    expected:
      sms-EDITED: {booked: 1}
    <BLANKLINE>
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convguard._errors import ConvguardError
from convguard.kit.conformance.runner import QueryPlan, ScenarioResult
from convguard.kit.scenario.files import Scenario, load_scenario

if TYPE_CHECKING:
    from convguard.profiles import Profile
    from convguard.kit.conformance.runner import Workbench

#: Generated datasets per query in ``convguard test`` (``--examples``). Measured on the
#: development machine (2 shared cores, cached cluster): an example costs ~15 ms for the two
#: reference queries together (~8 ms drawing and validating the dataset, ~7 ms seeding it, both
#: queries, the oracle); with the relations' two sources and Hypothesis' import, 40 examples add
#: ~0.9 s to the scenarios' ~0.7 s. 40 is also where the search stopped missing: over ten seeds,
#: eleven oracle mutants were all caught at 40 and 50, two (mutant, seed) pairs missed at 30.
DEFAULT_EXAMPLES = 40
DEFAULT_FAILURES_DIR = "convguard-failures"


# Hypothesis, lazily ------------------------------------------------------------------------------

class _Found(Exception):
    """Raised inside a Hypothesis test to mark an example as failing (and to shrink it)."""


def hypothesis_settings(examples: int, *, shrink: bool) -> Any:
    """Deterministic, quiet settings: no example database, no deadline, no health checks."""
    from hypothesis import HealthCheck, Phase, Verbosity, settings

    return settings(max_examples=max(1, examples), database=None, deadline=None,
                    derandomize=False, report_multiple_bugs=False, print_blob=False,
                    verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck),
                    phases=(Phase.generate, Phase.shrink) if shrink else (Phase.generate,))


#: Examples per Hypothesis run. Several short runs with derived seeds find more than one long
#: run: Hypothesis spends much of a long run on variations of its early examples. Measured with
#: eleven oracle mutants (boundary swaps, no LEAST cap, drafts counted, max send time...) over ten
#: seeds: 50 examples as one run missed 11 of 110 (mutant, seed) pairs, as five runs of 10
#: missed none.
CHUNK = 10


def chunks(examples: int, seed: int) -> list[tuple[int, int, int]]:
    """``(first index, size, seed)`` of each Hypothesis run of an exploration.

    Example:
        >>> chunks(25, 3)
        [(0, 10, 3000), (10, 10, 3001), (20, 5, 3002)]
    """
    return [(start, min(CHUNK, examples - start), seed * 1000 + number)
            for number, start in enumerate(range(0, examples, CHUNK))]


def explore(strategy: Any, visit: Callable[[int, Any], None], *, examples: int,
            seed: int) -> None:
    """Call ``visit(index, value)`` on ``examples`` values drawn from ``seed`` (no stopping),
    in runs of :data:`CHUNK` (see :func:`chunks`)."""
    from hypothesis import given
    from hypothesis import seed as with_seed

    counter = [0]

    def test(value: Any) -> None:
        visit(counter[0], value)
        counter[0] += 1

    for start, size, run_seed in chunks(examples, seed):
        counter[0] = start
        with_seed(run_seed)(hypothesis_settings(size, shrink=False)(given(strategy)(test)))()


def shrink_from(strategy: Any, failure_of: Callable[[Any], Any], index: int, *, examples: int,
                seed: int) -> tuple[Any, Any, int] | None:
    """Shrink the failure an exploration met at ``index``: rerun that example's Hypothesis run
    (same seed, same size, so the same draws) until it fails, then let Hypothesis shrink it."""
    for start, size, run_seed in chunks(examples, seed):
        if start <= index < start + size:
            found = shrink(strategy, failure_of, examples=size, seed=run_seed)
            if found is None:
                return None
            value, failure, first = found
            return value, failure, start + first
    return None


def shrink(strategy: Any, failure_of: Callable[[Any], Any], *, examples: int,
           seed: int) -> tuple[Any, Any, int] | None:
    """The minimal value for which ``failure_of`` returns something (not None), Hypothesis'
    shrinking from the first failing draw with ``seed``: ``(value, failure, first index)``."""
    from hypothesis import given
    from hypothesis import seed as with_seed

    found: list[tuple[Any, Any]] = []
    first: list[int] = []
    counter = [0]

    def test(value: Any) -> None:
        failure = failure_of(value)
        counter[0] += 1
        if failure is not None:
            if not first:
                first.append(counter[0] - 1)
            found.append((value, failure))
            raise _Found

    try:
        with_seed(seed)(hypothesis_settings(examples, shrink=True)(given(strategy)(test)))()
    except _Found:
        pass
    except ConvguardError:
        raise
    except Exception:  # e.g. a flaky replay: the last failure found is still real
        if not found:
            raise
    if not found:
        return None
    value, failure = found[-1]  # Hypothesis replays the minimal example last
    return value, failure, first[0]


def documents_strategy(profile: Profile | None) -> Any:
    """The profile's strategy of scenario documents (None: the profile has none)."""
    if profile is None or profile.strategies is None:
        return None
    return profile.strategies()


# Scenario files ----------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf"}


def yaml_scalar(value: Any) -> str:
    """A value as a YAML flow scalar: identifiers bare, other text double-quoted (JSON style).

    Example:
        >>> [yaml_scalar(v) for v in ("c1", "2026-01-01T00:00:00.000Z", "no", None, 30, "a b")]
        ['c1', '"2026-01-01T00:00:00.000Z"', '"no"', 'null', '30', '"a b"']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{yaml_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return yaml_scalar(value)


def scenario_yaml(document: Mapping[str, Any]) -> str:
    """A scenario document as YAML in the style of ``fixtures/scenarios`` (one row per line)."""
    lines = [f"name: {yaml_scalar(document.get('name') or 'generated')}"]
    description = str(document.get("description") or "").strip()
    if description:
        lines.append("description: >")
        lines.extend(textwrap.wrap(description, width=96, initial_indent="  ",
                                   subsequent_indent="  ", break_on_hyphens=False))
    params = document.get("params") or {}
    if params:
        lines.append("params:")
        lines.extend(f"  {key}: {_flow(value)}" for key, value in params.items())
    lines.append("tables:")
    for table, rows in (document.get("tables") or {}).items():
        lines.append(f"  {table}:")
        lines.extend(f"    - {_flow(row)}" for row in rows)
    if "expected" in document:
        expected = document["expected"] or {}
        if expected:
            lines.append("expected:")
            lines.extend(f"  {key}: {_flow(counts)}" for key, counts in expected.items())
        else:
            lines.append("expected: {}          # every count is zero")
    return "\n".join(lines) + "\n"


def expected_of(plan: QueryPlan, stats: Any) -> dict[str, dict[str, int]]:
    """A result as a scenario's ``expected``: the non-zero counts of each non-zero row."""
    expected = {}
    for row, counts in plan.kit.cells(stats).items():
        nonzero = {name: value for name, value in counts.items() if value}
        if nonzero:
            expected[row] = nonzero
    return expected


def _slug(text: str) -> str:
    stem = os.path.splitext(os.path.basename(text.split("::")[0]))[0]
    function = text.split("::")[1] if "::" in text else ""
    return re.sub(r"[^A-Za-z0-9]+", "-", f"{stem}-{function}" if function else stem).strip("-")


def write_scenario_file(document: Mapping[str, Any], plan: QueryPlan, directory: str, *,
                        prefix: str, description: str) -> str:
    """Write a document with the oracle's ``expected`` as ``{prefix}-{query}-{hash}.yaml``.

    The name hashes the params and tables, so the same minimal dataset gives the same file.
    """
    from convguard.kit.property.documents import scenario_of

    body = {"params": document.get("params") or {}, "tables": document.get("tables") or {}}
    digest = hashlib.sha1(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:8]
    name = f"{prefix}-{_slug(plan.label)}-{digest}"
    scenario = scenario_of(body, plan.schema, contract=plan.kit.contract)
    oracle = plan.kit.oracle(scenario.dataset, scenario.params)
    written = {"name": name, "description": description, **body,
               "expected": expected_of(plan, oracle)}
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{name}.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(scenario_yaml(written))
    return path


def rerun_file(workbench: Workbench, plan: QueryPlan, path: str) -> ScenarioResult:
    """Load a written scenario file back (as ``--scenarios`` would) and run the plan on it."""
    scenario = load_scenario(path, schema=plan.schema, contract=plan.kit.contract)
    return workbench.run(plan, scenario)


def describe_result(result: ScenarioResult) -> str:
    """What differs, in one sentence: ``sms-EDITED.pending (oracle 1, query 0)``."""
    if result.check == "sqlstate":
        return f"the query failed with SQLSTATE {result.sqlstate}: {result.error}"
    parts = [f"{row}.{name} (oracle {expected}, query {actual})"
             for row, name, expected, actual in result.diff]
    parts += [f"unreadable row: {problem}" for problem in result.problems]
    return "the query's counts differ from the oracle's in " + "; ".join(parts)


# The differential run ----------------------------------------------------------------------------

@dataclass(frozen=True)
class GeneratedResult:
    """The verdict of one plan on ``examples`` generated datasets.

    On a failure, ``first_failure`` is the index of the first failing example, ``scenario_path``
    the written minimal scenario, ``result`` the plan's result on that file (its bucket diff).
    """

    query: str
    query_location: str
    driver: str
    examples: int
    seed: int
    passed: bool
    first_failure: int | None = None
    scenario_path: str | None = None
    result: ScenarioResult | None = None
    message: str = ""
    elapsed_ms: float = 0.0
    example_ms: float = 0.0
    skipped: str | None = None


def _plan_groups(plans: Sequence[QueryPlan]) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for index, plan in enumerate(plans):
        groups.setdefault(id(plan.schema), []).append(index)
    return list(groups.values())


def run_generated(plans: Sequence[QueryPlan], workbench: Workbench, *, examples: int,
                  seed: int = 0, failures_dir: str | None = DEFAULT_FAILURES_DIR,
                  shrink: bool = True) -> list[GeneratedResult]:
    """Each plan against the oracle on ``examples`` generated datasets (see the module docs).

    ``shrink=False`` reports the first failing example as found; ``failures_dir=None`` writes
    no file (both for callers that only need the verdict, such as a mutation run).
    """
    from convguard.kit.property.documents import scenario_of

    results: dict[int, GeneratedResult] = {}
    for group in _plan_groups(plans):
        first = plans[group[0]]
        strategy = documents_strategy(first.kit.profile)
        if strategy is None:
            name = first.kit.profile.name if first.kit.profile is not None else "(none)"
            for index in group:
                results[index] = _skipped(plans[index], examples, seed,
                                          f"profile {name!r} has no dataset strategies")
            continue
        scenarios = strategy.map(lambda document, plan=first: scenario_of(
            document, plan.schema, contract=plan.kit.contract))
        group_plans = [plans[i] for i in group]
        first_failure: dict[int, tuple[int, Scenario]] = {}
        timings: list[float] = []

        def visit(index: int, scenario: Scenario, group_plans: list[QueryPlan] = group_plans,
                  first_failure: dict[int, tuple[int, Scenario]] = first_failure,
                  timings: list[float] = timings) -> None:
            start = time.perf_counter()
            outcome = workbench.run_scenario(group_plans, scenario)
            timings.append((time.perf_counter() - start) * 1000)
            for position, result in enumerate(outcome):
                if not result.passed and position not in first_failure:
                    first_failure[position] = (index, scenario)

        started = time.perf_counter()
        explore(scenarios, visit, examples=examples, seed=seed)
        elapsed = (time.perf_counter() - started) * 1000
        example_ms = statistics.median(timings) if timings else 0.0
        for position, index in enumerate(group):
            plan = plans[index]
            common: dict[str, Any] = {
                "query": plan.label, "query_location": plan.location, "driver": plan.driver,
                "examples": examples, "seed": seed, "elapsed_ms": elapsed,
                "example_ms": example_ms}
            if position not in first_failure:
                results[index] = GeneratedResult(passed=True, **common)
                continue
            results[index] = _shrink_and_write(plan, workbench, scenarios, first_failure[position],
                                               examples=examples, seed=seed, shrink=shrink,
                                               failures_dir=failures_dir, common=common)
    return [results[index] for index in range(len(plans))]


def _skipped(plan: QueryPlan, examples: int, seed: int, reason: str) -> GeneratedResult:
    return GeneratedResult(query=plan.label, query_location=plan.location, driver=plan.driver,
                           examples=0, seed=seed, passed=True, skipped=reason)


def _shrink_and_write(plan: QueryPlan, workbench: Workbench, scenarios: Any,
                      first: tuple[int, Scenario], *, examples: int, seed: int, shrink: bool,
                      failures_dir: str | None, common: dict[str, Any]) -> GeneratedResult:
    from convguard.kit.property.documents import document_of

    def failure_of(scenario: Scenario) -> ScenarioResult | None:
        result = workbench.run(plan, scenario)
        return None if result.passed else result

    shrunk = (shrink_from(scenarios, failure_of, first[0], examples=examples, seed=seed)
              if shrink else None)
    if shrunk is None:  # not reproduced alone: report the exploration's example, unshrunk
        index, scenario = first
        failure, how = failure_of(scenario), "not shrunk"
    else:
        scenario, failure, index = shrunk
        how = "shrunk by Hypothesis"
    document = document_of(scenario, plan.schema)
    rows = scenario.dataset.row_count()
    found = (f"Found by convguard's differential run on {plan.location} ({plan.driver}): "
             f"generated example {index + 1} of {examples}, seed {seed}, {how} to {rows} rows. ")
    what = describe_result(failure) if failure is not None else "the query failed"
    what = what[:1].upper() + what[1:]
    description = (found + what + ". `expected` is the profile oracle's (SEMANTICS.md); commit "
                   "this file as a regression fixture.")
    message = found + what
    if failures_dir is None:
        return GeneratedResult(passed=False, first_failure=index, result=failure,
                               message=message, **common)
    try:
        path = write_scenario_file(document, plan, failures_dir, prefix="generated",
                                   description=description)
    except OSError as error:
        return GeneratedResult(passed=False, first_failure=index, result=failure,
                               message=f"{message} (cannot write the scenario file into "
                                       f"{failures_dir}: {error.strerror})", **common)
    result = rerun_file(workbench, plan, path)
    if result.passed:
        message += " (the written file does not reproduce it; the failure depends on the run)"
    return GeneratedResult(passed=False, first_failure=index, scenario_path=path, result=result,
                           message=message, **common)


__all__ = [
    "DEFAULT_EXAMPLES",
    "DEFAULT_FAILURES_DIR",
    "GeneratedResult",
    "chunks",
    "describe_result",
    "documents_strategy",
    "explore",
    "hypothesis_settings",
    "run_generated",
    "scenario_yaml",
    "shrink",
    "shrink_from",
    "write_scenario_file",
    "yaml_scalar",
]
