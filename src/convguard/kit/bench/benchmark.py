"""Benchmark a query on synthetic data at scale: median time, plan hot spots, index advice.

The query is bound exactly as ``convguard test`` binds it (:class:`~convguard.kit.conformance.runner.QueryPlan`,
node-postgres mode by default: every parameter untyped text, a ``Prisma.join`` list expanded to
one parameter per element) and run on a throwaway database seeded by
the profile's synthetic data (:mod:`convguard.kit.bench.data`), never prepared (node-postgres sends unnamed statements, so every
run is planned with its actual values).

Per size: three timed runs (their median is the figure), after one
``EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON)`` run that also warms the caches. A plan node's
*exclusive* time is its own total time (per-loop time x loops) minus its children's, so the hot
spots add up to the execution time instead of counting every node above a slow scan. EXPLAIN
prints per-loop times in microseconds, so a node run 750,000 times is only known to within
about 0.4 s.

Index advice: for the scans under the costliest nodes, candidate indexes are derived from the plan
(the scan's join/group/sort keys first, the columns the query needs from it next or as INCLUDE,
and the query's own constant filters as a partial-index predicate); each one is created in the
bench's throwaway database, the query re-measured, and the index dropped again.

The query under test (and its EXPLAIN ANALYZE) runs as ``convguard test`` runs it: as the run's
least-privilege role (:mod:`convguard.kit.server.sandbox`), on a connection of its own that
defaults to read-only transactions, never ``SET ROLE``; so a hostile query cannot
``COPY ... TO PROGRAM`` or read server files here either. Every run of it is bounded by the same
client-side deadline (:class:`~convguard.kit.conformance.deadline.TimeBound`): the bench's
timeout (``--timeout``, :data:`SAFETY_TIMEOUT` by default) is the session's statement timeout,
and a query that lifts it (``SET LOCAL statement_timeout = 0``) is cancelled from the admin's
side one second later, terminated if the cancel does not land. The admin connection seeds the data and
creates and drops the candidate indexes, committed, so the query's connection sees them. Only candidates
that cut the median by more than :data:`MIN_GAIN_RATIO` are advised. In greedy rounds (up to
:data:`ADVICE_ROUNDS`): the best helpful index is kept and the next round's candidates are timed
on top of it, so an index that only pays once another has changed the plan is found too.

Example:
    >>> node = {"Node Type": "Seq Scan", "Relation Name": "Message", "Alias": "m",
    ...         "Actual Total Time": 120.0, "Actual Loops": 1, "Actual Rows": 10, "Plan Rows": 5,
    ...         "Filter": "(m.direction = 'outbound'::text)"}
    >>> nodes = plan_nodes({"Plan": {"Node Type": "Aggregate", "Actual Total Time": 150.0,
    ...                              "Actual Loops": 1, "Actual Rows": 1, "Plan Rows": 1,
    ...                              "Plans": [node]}, "Execution Time": 151.0})
    >>> [(n.node, n.exclusive_ms) for n in nodes]
    [('Seq Scan', 120.0), ('Aggregate', 30.0)]
    >>> growth_slope([(10_000, 100.0), (100_000, 1000.0)])
    1.0
"""

from __future__ import annotations

import dataclasses
import math
import re
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convguard._dataset import Dataset
from convguard._errors import ConvguardError, DatabaseError, QueryFailed
from convguard.kit.conformance.binding import BoundQuery
from convguard.kit.conformance.deadline import TimeBound, timeout_ms, timeout_seconds
from convguard.kit.conformance.runner import QueryPlan, execute_bound
from convguard.kit.scenario.files import Scenario
from convguard.kit.bench.data import DEFAULT_HISTORY_DAYS, Progress, SeedReport, SyntheticData

if TYPE_CHECKING:
    import psycopg

    from convguard.kit.server import Server

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "MIN_GAIN_RATIO",
    "REPORT_KEYS",
    "SAFETY_TIMEOUT",
    "BenchResult",
    "IndexAdvice",
    "PlanNode",
    "SizeResult",
    "Timing",
    "advise",
    "bench_connection",
    "bench_scenario",
    "candidate_indexes",
    "check_timeout",
    "checked_seed",
    "explain",
    "growth_slope",
    "measure",
    "open_to_query_role",
    "plan_nodes",
    "run_bench",
    "synthetic_of",
    "time_bound_for",
    "timeout_ms",
]

RUNS = 3
#: The range the bench queries: the last 30 days before ``to``, the application's default.
DEFAULT_WINDOW_DAYS = 30
MAX_RUNS = 15
#: Index candidates are timed in this many (without, with) pairs at least, more for a fast query
#: until each side has sampled ADVICE_SAMPLE_MS.
PAIRS = 3
ADVICE_SAMPLE_MS = 1_000.0
MIN_GAIN_RATIO = 0.10
#: Greedy rounds of index advice: each keeps the best helpful index and tries the rest on top.
ADVICE_ROUNDS = 3
TOP_NODES = 5
MAX_CANDIDATES = 6
MAX_INDEX_COLUMNS = 8
#: No statement timeout of the app's own applies while measuring (a slow query is a figure to
#: report, not an error), but a runaway query is still stopped: at this statement timeout, and by
#: the client-side deadline one second later if the query lifts it (``--timeout`` changes it).
SAFETY_TIMEOUT = "15min"
#: What to do about a query stopped at the bench's deadline.
TIMEOUT_HINT = ("the query ran past the bench's timeout (or lifted its statement timeout: SET "
                "statement_timeout = 0?); give it more with --timeout, e.g. --timeout 1h, or "
                "bench a smaller size")

_SCAN_TYPES = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
_PASS_THROUGH = {"Hash", "Sort", "Materialize", "Memoize", "Aggregate", "Gather", "Gather Merge",
                 "Incremental Sort", "Unique", "Limit", "Bitmap Index Scan"}
_CONDITION_FIELDS = ("Index Cond", "Recheck Cond", "Hash Cond", "Merge Cond", "Join Filter",
                     "Filter")
_KEY_FIELDS = ("Group Key", "Sort Key", "Presorted Key")


@dataclass(frozen=True)
class Timing:
    """The timed runs of a query (milliseconds) and what it returned."""

    runs_ms: tuple[float, ...]
    rows: tuple[tuple[Any, ...], ...] = field(repr=False)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)


@dataclass(frozen=True)
class PlanNode:
    """One node of an executed plan, with its exclusive (own) time over all its loops.

    ``detail`` is the node's conditions and keys as EXPLAIN prints them (shortened);
    ``estimated_rows`` is the planner's estimate per loop, ``rows`` the actual rows per loop.
    """

    node: str
    relation: str | None
    alias: str | None
    index: str | None
    detail: str
    exclusive_ms: float
    total_ms: float
    rows: float
    estimated_rows: float
    loops: int
    share: float
    path: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def label(self) -> str:
        """``Index Scan using "Message_aiDraftId_idx" on "Message" m`` and the like."""
        text = self.node
        if self.index:
            text += f' using "{self.index}"'
        if self.relation:
            text += f' on "{self.relation}"'
            if self.alias and self.alias != self.relation:
                text += f" {self.alias}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.label(), "type": self.node, "relation": self.relation,
                "index": self.index, "detail": self.detail,
                "exclusive_ms": round(self.exclusive_ms, 1), "total_ms": round(self.total_ms, 1),
                "share": round(self.share, 3), "rows": self.rows,
                "estimated_rows": self.estimated_rows, "loops": self.loops}


@dataclass(frozen=True)
class IndexAdvice:
    """A candidate index and its measured effect (medians without and with it, milliseconds,
    over ``pairs`` alternating runs; ``wins`` counts the pairs where it was faster).

    ``target`` is the plan node it was derived from.
    """

    index_sql: str
    target: str
    before_ms: float
    after_ms: float
    build_ms: float
    size_bytes: int = 0
    used: bool = True
    pairs: int = 0
    wins: int = 0
    #: indexes already kept (built) while this one was timed: its gain is on top of them
    given: tuple[str, ...] = ()

    @property
    def gain_ms(self) -> float:
        return self.before_ms - self.after_ms

    @property
    def gain_ratio(self) -> float:
        return self.gain_ms / self.before_ms if self.before_ms > 0 else 0.0

    @property
    def helps(self) -> bool:
        """Used by the plan, the median cut by more than MIN_GAIN_RATIO, and faster in most pairs."""
        return (self.used and self.gain_ratio > MIN_GAIN_RATIO
                and self.wins * 3 >= self.pairs * 2)

    def as_dict(self) -> dict[str, Any]:
        return {"index_sql": self.index_sql, "target": self.target,
                "before_ms": round(self.before_ms, 1), "after_ms": round(self.after_ms, 1),
                "gain_ms": round(self.gain_ms, 1), "gain_ratio": round(self.gain_ratio, 3),
                "helps": self.helps, "used_by_plan": self.used,
                "pairs": self.pairs, "faster_in_pairs": self.wins,
                "build_ms": round(self.build_ms, 1), "size_bytes": self.size_bytes,
                "given": list(self.given)}


@dataclass(frozen=True)
class SizeResult:
    """The figures at one data size: ``size`` in the profile's data generator's ``unit``."""

    seed: SeedReport
    timing: Timing
    plan_top: tuple[PlanNode, ...]
    execution_ms: float
    planning_ms: float
    size: int
    unit: str

    @property
    def query_ms(self) -> float:
        return self.timing.median_ms

    def as_dict(self) -> dict[str, Any]:
        """The figures by json key: the generator's counts under their own labels (``leads``,
        ``drafts``, ... for the booking profile), next to ``unit`` and ``size``."""
        seed = self.seed
        return {
            "unit": self.unit, "size": self.size, **seed.counts,
            "rows_seeded": seed.rows,
            "seed_rows_per_s": round(seed.load_rows_per_s),
            "seed_total_rows_per_s": round(seed.rows_per_s),
            "seed_seconds": {"load": round(seed.load_seconds, 2),
                             "indexes": round(seed.index_seconds, 2),
                             "analyze": round(seed.analyze_seconds, 2),
                             "total": round(seed.seconds, 2)},
            "query_ms": round(self.query_ms, 1),
            "runs_ms": [round(run, 1) for run in self.timing.runs_ms],
            "explain_ms": round(self.execution_ms, 1), "planning_ms": round(self.planning_ms, 1),
            "rows": len(self.timing.rows),
            "plan_top": [node.as_dict() for node in self.plan_top],
        }


@dataclass(frozen=True)
class BenchResult:
    """Everything one bench run measured; ``sizes`` in increasing size, advice at the largest."""

    query: str
    driver: str
    sizes: tuple[SizeResult, ...]
    advice: tuple[IndexAdvice, ...] = ()
    combined: IndexAdvice | None = None
    budget_ms: float | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    history_days: int = DEFAULT_HISTORY_DAYS
    window_days: int = DEFAULT_WINDOW_DAYS
    #: what the history's days are days of, and the rows spread over them (the generator's
    #: ``timeline`` and ``dated``; the text report's range line)
    timeline: str = "data"
    dated: str = "data"

    @property
    def largest(self) -> SizeResult:
        return self.sizes[-1]

    @property
    def unit(self) -> str:
        """The unit of ``sizes``: the plural name the profile's data generator gives it."""
        return self.largest.unit

    @property
    def goal_ms(self) -> float | None:
        """A quarter of the app's statement timeout: the margin the query should keep."""
        return self.budget_ms / 4 if self.budget_ms else None

    @property
    def slope(self) -> float | None:
        return growth_slope([(size.size, size.query_ms) for size in self.sizes])

    @property
    def helpful_advice(self) -> tuple[IndexAdvice, ...]:
        return tuple(advice for advice in self.advice if advice.helps)

    def as_dict(self) -> dict[str, Any]:
        largest = self.largest.as_dict()
        result: dict[str, Any] = {"query": self.query, "driver": self.driver, **largest}
        result["result"] = [list(row) for row in self.largest.timing.rows]
        result["budget_ms"] = self.budget_ms
        result["goal_ms"] = self.goal_ms
        result["within_goal"] = (self.largest.query_ms <= self.goal_ms) if self.goal_ms else None
        result["sizes"] = [size.as_dict() for size in self.sizes]
        result["growth_slope"] = None if self.slope is None else round(self.slope, 2)
        result["advice"] = [advice.as_dict() for advice in self.helpful_advice]
        result["candidates"] = [advice.as_dict() for advice in self.advice]
        result["combined_advice"] = self.combined.as_dict() if self.combined else None
        result["settings"] = dict(self.settings)
        result["history_days"] = self.history_days
        result["window_days"] = self.window_days
        return result


# Measuring ---------------------------------------------------------------------------------------

def synthetic_of(plan: QueryPlan) -> SyntheticData:
    """The synthetic data generator of the plan's profile; a ConvguardError when it has none."""
    profile = plan.kit.profile
    if profile is None:
        raise ConvguardError(
            f"bench needs a data generator from the query's profile, and {plan.label} has "
            "no profile: it cannot invent a production-size dataset for an arbitrary schema",
            path=plan.query.path, line=plan.query.span.start_position.line,
            hint=f"bench queries of a profile with a data generator ({_generating()}): "
                 "declare [[query]] profile = \"...\"; for this query, time it on your own data "
                 "with convguard.kit.run_query")
    if profile.synthetic is None:
        raise ConvguardError(f"bench needs a data generator from the query's profile, and "
                             f"profile {profile.name!r} has none", path=plan.query.path,
                             line=plan.query.span.start_position.line,
                             hint=f"bench a query of a profile with a synthetic data generator "
                                  f"({_generating()}), or give profile {profile.name!r} one "
                                  "(Profile(synthetic=...), see the README's profile section)")
    generator = profile.synthetic()
    missing = sorted(name for name in _GENERATOR_MEMBERS if not hasattr(generator, name))
    if missing:
        raise ConvguardError(f"the data generator {type(generator).__name__} of profile "
                             f"{profile.name!r} lacks {', '.join(missing)}",
                             path=plan.query.path, line=plan.query.span.start_position.line,
                             hint="a generator implements convguard.profiles.SyntheticData: "
                                  "unit, default_size, timeline, dated, spec, seed and params "
                                  "(see the README's profile section)")
    return generator


#: What bench reads of a generator (:class:`~convguard.profiles.SyntheticData`).
_GENERATOR_MEMBERS = ("unit", "default_size", "timeline", "dated", "spec", "seed", "params")


def _generating() -> str:
    """The installed profiles that have a data generator, for a hint."""
    from convguard.profiles import available_profiles

    names = sorted(name for name, profile in available_profiles().items()
                   if profile.synthetic is not None)
    return "installed: " + ", ".join(names) if names else "none is installed"


#: The keys of a size's json figures: a generator's count labels must leave them to the bench.
REPORT_KEYS = frozenset({"unit", "size", "rows_seeded", "seed_rows_per_s",
                         "seed_total_rows_per_s", "seed_seconds", "query_ms", "runs_ms",
                         "explain_ms", "planning_ms", "rows", "plan_top", "query", "driver",
                         "result", "budget_ms", "goal_ms", "within_goal", "sizes",
                         "growth_slope", "advice", "candidates", "combined_advice", "settings",
                         "history_days", "window_days"})


def checked_seed(seed: SeedReport, synthetic: Any) -> SeedReport:
    """``seed`` once its counts can be reported: ints under a label that is none of the report's
    own json keys (a ConvguardError naming the generator otherwise).

    Example:
        >>> from types import SimpleNamespace
        >>> checked_seed(SimpleNamespace(counts={"orders": 3}), object()).counts
        {'orders': 3}
        >>> checked_seed(SimpleNamespace(counts={"rows": 3}), object())
        Traceback (most recent call last):
        ...
        convguard._errors.ConvguardError: the data generator object reports a count named 'rows', a key of the bench report itself (hint: label it by what was seeded, e.g. 'orders')
    """
    name = type(synthetic).__name__
    for label, count in seed.counts.items():
        if label in REPORT_KEYS:
            raise ConvguardError(f"the data generator {name} reports a count named {label!r}, a "
                                 "key of the bench report itself",
                                 hint="label it by what was seeded, e.g. 'orders'")
        if not isinstance(count, int) or isinstance(count, bool):
            raise ConvguardError(f"the data generator {name} reports {label!r}: {count!r}, not "
                                 "a count", hint="counts are ints, e.g. {\"orders\": 1000}")
    return seed


def bench_scenario(spec: Any, synthetic: SyntheticData, *,
                   window_days: int = DEFAULT_WINDOW_DAYS, size: int | None = None) -> Scenario:
    """The scenario the bench runs: ``synthetic``'s params for the last ``window_days`` of the
    data in ``spec`` (the rows are already in the database); ``size`` names it."""
    return Scenario(
        name=f"synthetic-{size}" if size is not None else "synthetic",
        description="synthetic data", path="<synthetic>",
        params=dict(synthetic.params(spec, window_days=window_days)),
        dataset=Dataset(), expected=None)


def _execute(conn: psycopg.Connection[Any], bound: BoundQuery,
             time_bound: TimeBound | None) -> tuple[list[tuple[Any, ...]], float]:
    """The rows of one run of ``bound`` and its time (ms), under ``time_bound`` when given (its
    watcher starts before the clock does, so it costs the figure nothing)."""

    def run() -> tuple[list[tuple[Any, ...]], float]:
        started = time.perf_counter()
        rows = execute_bound(conn, bound)
        return rows, (time.perf_counter() - started) * 1000

    return run() if time_bound is None else time_bound.run(conn, run)


def measure(conn: psycopg.Connection[Any], bound: BoundQuery, runs: int = RUNS, *,
            min_total_ms: float = 0.0, max_runs: int = MAX_RUNS,
            time_bound: TimeBound | None = None) -> Timing:
    """Run ``bound`` ``runs`` times (more, up to ``max_runs``, until the runs add up to
    ``min_total_ms``: a fast query's median needs more samples to be steady); raises
    :class:`QueryFailed` as ``convguard test`` would, and for a run past ``time_bound``."""
    times: list[float] = []
    rows: list[tuple[Any, ...]] = []
    while len(times) < runs or (sum(times) < min_total_ms and len(times) < max_runs):
        rows, elapsed_ms = _execute(conn, bound, time_bound)
        times.append(elapsed_ms)
    return Timing(runs_ms=tuple(times), rows=tuple(rows))


def explain(conn: psycopg.Connection[Any], bound: BoundQuery, *,
            time_bound: TimeBound | None = None) -> dict[str, Any]:
    """The query's ``EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON)`` document (it runs once,
    bounded by ``time_bound`` when given)."""
    explained = dataclasses.replace(
        bound, sql="EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) " + bound.sql)
    rows, _ = _execute(conn, explained, time_bound)
    document = rows[0][0]
    if isinstance(document, str):
        import json

        document = json.loads(document)
    return document[0]


def plan_nodes(document: Mapping[str, Any]) -> list[PlanNode]:
    """Every node of an executed plan, costliest (by exclusive time) first."""
    execution = float(document.get("Execution Time") or 0.0)
    nodes: list[PlanNode] = []

    def visit(node: Mapping[str, Any], path: tuple[int, ...]) -> float:
        loops = int(node.get("Actual Loops") or 0)
        total = float(node.get("Actual Total Time") or 0.0) * loops
        children = node.get("Plans") or ()
        # A parallel node's children report time summed over workers; clamp at zero.
        exclusive = max(0.0, total - sum(visit(child, (*path, n))
                                         for n, child in enumerate(children)))
        nodes.append(PlanNode(
            node=_node_type(node), relation=node.get("Relation Name"),
            alias=node.get("Alias"), index=node.get("Index Name"), detail=_detail(node),
            exclusive_ms=round(exclusive, 3), total_ms=round(total, 3),
            rows=float(node.get("Actual Rows") or 0), estimated_rows=float(node.get("Plan Rows") or 0),
            loops=loops, share=(exclusive / execution) if execution else 0.0, path=path))
        return total

    visit(document["Plan"], ())
    nodes.sort(key=lambda node: node.exclusive_ms, reverse=True)
    return nodes


_STRATEGIES = {"Sorted": "GroupAggregate", "Hashed": "HashAggregate", "Mixed": "MixedAggregate"}


def _node_type(node: Mapping[str, Any]) -> str:
    """The node's name as text EXPLAIN prints it.

    Example:
        >>> _node_type({"Node Type": "Nested Loop", "Join Type": "Left"})
        'Nested Loop Left Join'
        >>> _node_type({"Node Type": "Hash Join", "Join Type": "Anti"})
        'Hash Anti Join'
        >>> _node_type({"Node Type": "Aggregate", "Strategy": "Hashed", "Partial Mode": "Simple"})
        'HashAggregate'
    """
    name = str(node.get("Node Type"))
    join = node.get("Join Type")
    if join and join != "Inner":
        name = name.replace(" Join", "") + f" {join} Join"
    if name == "Aggregate":
        name = _STRATEGIES.get(str(node.get("Strategy")), name)
        if node.get("Partial Mode") in ("Partial", "Finalize"):
            name = f"{node['Partial Mode']} {name}"
    return name


def _detail(node: Mapping[str, Any], limit: int = 200) -> str:
    parts = []
    for name in (*_KEY_FIELDS, *_CONDITION_FIELDS):
        value = node.get(name)
        if value:
            text = ", ".join(value) if isinstance(value, list) else str(value)
            parts.append(f"{name}: {text}")
    if node.get("Sort Method"):
        parts.append(f"Sort Method: {node['Sort Method']} ({node.get('Sort Space Type', '')})")
    detail = "; ".join(parts)
    return detail if len(detail) <= limit else detail[: limit - 1] + "…"


def growth_slope(points: Sequence[tuple[int, float]]) -> float | None:
    """The log-log slope of time against size between the smallest and the largest size:
    1.0 is linear growth, 2.0 quadratic. None with fewer than two sizes.

    Example:
        >>> round(growth_slope([(10, 1.0), (100, 5.0), (1000, 100.0)]), 2)
        1.0
    """
    usable = [(size, ms) for size, ms in points if size > 0 and ms > 0]
    if len(usable) < 2 or usable[0][0] == usable[-1][0]:
        return None
    (n1, t1), (n2, t2) = usable[0], usable[-1]
    return math.log(t2 / t1) / math.log(n2 / n1)


# Index candidates --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    sql: str
    target: str
    table: str


def _find(document: Mapping[str, Any], path: tuple[int, ...]) -> list[Mapping[str, Any]]:
    """The nodes from the root to ``path`` (inclusive)."""
    chain = [document["Plan"]]
    for step in path:
        chain.append((chain[-1].get("Plans") or ())[step])
    return chain


def _column_refs(text: str, alias: str) -> list[str]:
    """Column names qualified by ``alias`` in an EXPLAIN expression, in order, without repeats.

    Example:
        >>> _column_refs('(m."aiDraftId" = d.id) AND (m.direction = \\'x\\'::text)', "m")
        ['aiDraftId', 'direction']
    """
    pattern = re.compile(r'(?<![\w"])' + re.escape(alias) + r'\.("(?:[^"]|"")+"|[A-Za-z_][\w$]*)')
    names: list[str] = []
    for match in pattern.finditer(text):
        token = match.group(1)
        name = token[1:-1].replace('""', '"') if token.startswith('"') else token
        if name not in names:
            names.append(name)
    return names


def _conjuncts(condition: str) -> list[str]:
    """Top-level ``AND`` parts of an EXPLAIN condition, outer parentheses removed.

    Example:
        >>> _conjuncts("((a IS NOT NULL) AND (b = 'x AND y'::text))")
        ['a IS NOT NULL', "b = 'x AND y'::text"]
    """
    text = _strip_parens(condition.strip())
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and text.startswith(" AND ", i):
            parts.append(text[start:i])
            start = i + 5
            i += 5
            continue
        i += 1
    parts.append(text[start:])
    return [_strip_parens(part.strip()) for part in parts if part.strip()]


def _strip_parens(text: str) -> str:
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def _is_written_constant(conjunct: str, alias: str, sql: str) -> bool:
    """True when a filter part involves only ``alias``'s columns and literals the query's own text
    contains (so not a parameter's value, which EXPLAIN also prints as a literal)."""
    if "$" in conjunct or "SubPlan" in conjunct or "InitPlan" in conjunct:
        return False
    others = re.findall(r'(?<![\w"])([A-Za-z_][\w$]*)\.(?:"|[A-Za-z_])', conjunct)
    if any(other != alias for other in others):
        return False
    return all(f"'{literal}'" in sql for literal in _LITERAL.findall(conjunct))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def candidate_indexes(document: Mapping[str, Any], nodes: Sequence[PlanNode], sql: str,
                      existing: Iterable[str] = (), limit: int = MAX_CANDIDATES) -> list[_Candidate]:
    """Indexes worth trying for the scans under the costliest nodes.

    For a scan of table T (alias a) the key columns are the columns of a that the scan's index
    condition, its consumer's group/sort/join keys and its parameter filters use; the other
    columns the query reads from it follow as a composite key or as ``INCLUDE``; filter parts
    written in the query (``direction = 'outbound'``) make it a partial index.
    """
    seen = {_normalise(sql_text) for sql_text in existing}
    candidates: list[_Candidate] = []
    for hot in nodes[:TOP_NODES]:
        chain = _find(document, hot.path)
        scan_path = _scan_below(chain[-1], hot.path)
        if scan_path is None:
            continue
        chain = _find(document, scan_path)
        for candidate in _scan_candidates(chain, sql):
            key = _normalise(candidate.sql)
            if key not in seen:
                seen.add(key)
                candidates.append(candidate)
            if len(candidates) >= limit:
                return candidates
    return candidates


def _scan_below(node: Mapping[str, Any], path: tuple[int, ...]) -> tuple[int, ...] | None:
    """The scan at or under ``node`` through single-child pass-through nodes (Hash, Sort, ...)."""
    while True:
        node_type = node.get("Node Type")
        if node_type in _SCAN_TYPES and node.get("Relation Name"):
            return path
        children: Sequence[Mapping[str, Any]] = node.get("Plans") or []
        if node_type not in _PASS_THROUGH or len(children) != 1:
            return None
        node, path = children[0], (*path, 0)


def _scan_candidates(chain: Sequence[Mapping[str, Any]], sql: str) -> list[_Candidate]:
    scan = chain[-1]
    table, alias = scan["Relation Name"], scan.get("Alias") or scan["Relation Name"]
    keys: list[str] = []
    predicate: list[str] = []
    needed: list[str] = []

    def add(target: list[str], names: Iterable[str]) -> None:
        target.extend(name for name in names if name not in target)

    for part in _conjuncts(scan.get("Index Cond") or scan.get("Recheck Cond") or ""):
        if _is_written_constant(part, alias, sql):
            predicate.append(part)
        else:
            add(keys, _column_refs(part, alias))
    # The nearest consumers above the scan: their keys and conditions name what it must provide.
    for consumer in reversed(chain[:-1]):
        for name in (*_KEY_FIELDS, "Hash Cond", "Merge Cond", "Index Cond"):
            value = consumer.get(name)
            if value:
                add(keys, _column_refs(", ".join(value) if isinstance(value, list) else value,
                                       alias))
        add(needed, _column_refs(" ".join(consumer.get("Output") or ()), alias))
        for name in ("Join Filter", "Filter"):
            add(needed, _column_refs(str(consumer.get(name) or ""), alias))
        if consumer.get("Node Type") not in _PASS_THROUGH:
            break
    for part in _conjuncts(scan.get("Filter") or ""):
        if _is_written_constant(part, alias, sql):
            predicate.append(part)
        else:
            add(keys, _column_refs(part, alias))
    if not keys:
        return []
    rest = [name for name in needed if name not in keys]
    where = ""
    if predicate:
        where = " WHERE " + " AND ".join(_unqualify(part, alias) for part in predicate)
    target = _describe(scan)
    quoted_keys = ", ".join(map(_quote, keys))
    candidates = []
    if rest and len(keys) + len(rest) <= MAX_INDEX_COLUMNS:
        candidates.append(_Candidate(
            f"CREATE INDEX ON {_quote(table)} ({quoted_keys}, {', '.join(map(_quote, rest))})"
            f"{where}", target, table))
        candidates.append(_Candidate(
            f"CREATE INDEX ON {_quote(table)} ({quoted_keys}) INCLUDE "
            f"({', '.join(map(_quote, rest))}){where}", target, table))
    elif where and len(keys) <= MAX_INDEX_COLUMNS:
        candidates.append(_Candidate(f"CREATE INDEX ON {_quote(table)} ({quoted_keys}){where}",
                                     target, table))
    return candidates


def _unqualify(condition: str, alias: str) -> str:
    return re.sub(r'(?<![\w"])' + re.escape(alias) + r'\.(?="|[A-Za-z_])', "", condition)


def _describe(scan: Mapping[str, Any]) -> str:
    text = str(scan.get("Node Type"))
    if scan.get("Index Name"):
        text += f' using "{scan["Index Name"]}"'
    return text + f' on "{scan.get("Relation Name")}"'


def _normalise(index_sql: str) -> str:
    """An index definition without its name, ``ONLY``, ``USING btree`` and spacing, to compare
    a candidate with ``pg_indexes.indexdef``."""
    text = re.sub(r"^CREATE (UNIQUE )?INDEX\s+(\S+\s+)?ON\s+(ONLY\s+)?", r"CREATE \1INDEX ON ",
                  index_sql.strip(), flags=re.IGNORECASE)
    text = re.sub(r"\s+USING btree\s*", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\bpublic\.", "", text)
    return re.sub(r"\s+", "", text).lower()


# Advising ----------------------------------------------------------------------------------------

def advise(conn: psycopg.Connection[Any], admin: psycopg.Connection[Any], bound: BoundQuery,
           document: Mapping[str, Any], nodes: Sequence[PlanNode], *, rounds: int = ADVICE_ROUNDS,
           status: Callable[[str], None] = lambda _: None,
           time_bound: TimeBound | None = None) -> tuple[list[IndexAdvice], IndexAdvice | None]:
    """Find the indexes that make the query faster, greedily, on this (throwaway) database.

    The query runs on ``conn`` (the query role's; each run bounded by ``time_bound`` when
    given); ``admin`` (an autocommit admin connection to the same database) builds and drops the
    indexes.

    Round 1 tries each candidate of the plan alone. The best helpful one is kept (built) and,
    in the next round, the candidates of the plan the query gets with it, and the others not
    kept, are each tried again on top of it: an index that only pays once another one has
    changed the plan (a window scan, then the probe it feeds) is found this way. Up to
    ``rounds`` rounds; kept indexes are dropped at the end. Returns every measured candidate
    (``given`` names the kept indexes present while it was timed) and, when more than one was
    kept, the kept set measured together against none of them.

    The "before" median is measured again for each candidate, in pairs with the "after" runs, so
    a drift of the machine's speed during a long bench is not taken for an index's effect.
    """
    existing = [row[0] for row in admin.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()").fetchall()]
    results: list[IndexAdvice] = []
    kept: list[_Candidate] = []
    tried: list[_Candidate] = []
    try:
        for round_number in range(1, rounds + 1):
            fresh = candidate_indexes(document, nodes, bound.sql,
                                      [*existing, *(c.sql for c in kept)])
            known = {_normalise(c.sql) for c in fresh}
            kept_keys = {_normalise(c.sql) for c in kept}
            covered = {_leading_key(c) for c in kept}
            pending = [c for c in fresh + [c for c in tried
                                           if _normalise(c.sql) not in known | kept_keys]
                       if _leading_key(c) not in covered]
            measured: list[tuple[IndexAdvice, _Candidate]] = []
            for number, candidate in enumerate(pending, start=1):
                status(f"index round {round_number}, {number}/{len(pending)}: {candidate.sql}")
                advice = _try_indexes(conn, admin, bound, [candidate], time_bound)
                advice = dataclasses.replace(advice, given=tuple(c.sql for c in kept))
                measured.append((advice, candidate))
            results.extend(advice for advice, _ in measured)
            tried = [candidate for _, candidate in measured]
            helpful = [(advice, candidate) for advice, candidate in measured if advice.helps]
            if not helpful:
                break
            _, best = max(helpful, key=lambda pair: pair[0].gain_ms)
            _build(admin, best, f"convguard_bench_kept_{len(kept)}")
            kept.append(best)
            if round_number < rounds:
                document = explain(conn, bound, time_bound=time_bound)
                nodes = plan_nodes(document)
    finally:
        for number in range(len(kept)):
            admin.execute(f'DROP INDEX IF EXISTS "convguard_bench_kept_{number}"')
    combined = None
    if len(kept) > 1:
        status("the kept indexes together")
        combined = _try_indexes(conn, admin, bound, kept, time_bound)
    return results, combined


def _leading_key(candidate: _Candidate) -> tuple[str, str]:
    """``(table, first key column)``: a kept index already serves every candidate sharing it.

    Example:
        >>> _leading_key(_Candidate('CREATE INDEX ON "Message" ("aiDraftId") INCLUDE ("sentAt")',
        ...                         "scan", "Message"))
        ('Message', '"aiDraftId"')
    """
    keys = candidate.sql.split("(", 1)[1] if "(" in candidate.sql else ""
    return candidate.table, keys.split(",", 1)[0].split(")", 1)[0].strip()


def _build(conn: psycopg.Connection[Any], candidate: _Candidate, name: str) -> None:
    try:
        conn.execute(candidate.sql.replace("CREATE INDEX ON", f'CREATE INDEX "{name}" ON', 1))
    except Exception as error:  # psycopg.Error: an index PostgreSQL cannot build
        raise DatabaseError(f"cannot build index {candidate.sql}: {error}") from error


def _try_indexes(conn: psycopg.Connection[Any], admin: psycopg.Connection[Any],
                 bound: BoundQuery, candidates: Sequence[_Candidate],
                 time_bound: TimeBound | None = None) -> IndexAdvice:
    """Build the candidates (on ``admin``), then time the query (on ``conn``) without and with
    them in alternating pairs, so that a drift of the machine's speed hits both sides alike."""
    names: list[str] = []
    started = time.perf_counter()
    try:
        for number, candidate in enumerate(candidates):
            name = f"convguard_bench_candidate_{number}"
            _build(admin, candidate, name)
            names.append(name)
        build_ms = (time.perf_counter() - started) * 1000
        size = sum(_scalar(admin, "SELECT pg_relation_size(%s::regclass)", name) for name in names)
        used = any(name in str(explain_plain(conn, bound, time_bound=time_bound))
                   for name in names)
        without, with_ = (_paired_runs(conn, admin, bound, candidates, names, time_bound)
                          if used else ([], []))
    except (QueryFailed, DatabaseError):
        raise
    except Exception as error:  # psycopg.Error while sizing or timing the built indexes
        raise DatabaseError(f"cannot try index {candidates[-1].sql}: {error}") from error
    finally:
        for name in names:
            admin.execute(f'DROP INDEX IF EXISTS "{name}"')
    if not used:  # the plan ignores it: nothing to time, no gain
        without = with_ = list(measure(conn, bound, runs=1, time_bound=time_bound).runs_ms)
    wins = sum(after < before for before, after in zip(without, with_))
    return IndexAdvice(
        index_sql=";\n".join(candidate.sql for candidate in candidates),
        target=", ".join(dict.fromkeys(candidate.target for candidate in candidates)),
        before_ms=statistics.median(without), after_ms=statistics.median(with_),
        build_ms=build_ms, size_bytes=int(size), used=used, pairs=len(without), wins=wins)


def _scalar(conn: psycopg.Connection[Any], sql: str, *params: Any) -> Any:
    row = conn.execute(sql, list(params)).fetchone()
    return row[0] if row else None


def _paired_runs(conn: psycopg.Connection[Any], admin: psycopg.Connection[Any],
                 bound: BoundQuery, candidates: Sequence[_Candidate],
                 names: Sequence[str],
                 time_bound: TimeBound | None = None) -> tuple[list[float], list[float]]:
    """The query's runs without and with the (built) indexes ``names``, in ABBA pairs.

    The query runs on the query role's connection, which cannot see an uncommitted ``DROP
    INDEX`` of the admin's (and would wait on its lock), so ``admin`` drops the indexes for a
    "without" run and builds them again for a "with" run, committed; the ABBA order needs one
    such change per pair, not two.
    """
    without: list[float] = []
    with_: list[float] = []
    built = True
    while len(without) < PAIRS or (sum(without) + sum(with_) < 2 * ADVICE_SAMPLE_MS
                                   and len(without) < MAX_RUNS):
        # ABBA order: a steady drift adds the same to both sides over two pairs.
        for with_index in ((False, True) if len(without) % 2 == 0 else (True, False)):
            if with_index and not built:
                for candidate, name in zip(candidates, names):
                    _build(admin, candidate, name)
            elif built and not with_index:
                for name in names:
                    admin.execute(f'DROP INDEX "{name}"')
            built = with_index
            (with_ if with_index else without).append(
                measure(conn, bound, runs=1, time_bound=time_bound).runs_ms[0])
    return without, with_


def explain_plain(conn: psycopg.Connection[Any], bound: BoundQuery, *,
                  time_bound: TimeBound | None = None) -> list[tuple[Any, ...]]:
    """``EXPLAIN`` (no ANALYZE) of the bound query: the plan the planner would pick."""
    rows, _ = _execute(conn, dataclasses.replace(bound, sql="EXPLAIN " + bound.sql), time_bound)
    return rows


# The bench ---------------------------------------------------------------------------------------

#: Session settings the bench pins: UTC as the runner does, and no app timeout (a safety one).
SESSION_SETTINGS = {"TimeZone": "UTC", "statement_timeout": SAFETY_TIMEOUT}
#: On a server the kit runs itself, PostgreSQL's defaults where its throwaway configuration departs
#: from them for the speed of small tests; an existing server (``url``) keeps its own settings.
LOCAL_SESSION_SETTINGS = {"max_parallel_workers_per_gather": "2"}
LOCAL_PROVIDERS = ("embedded", "system")
#: The query role's session: read-only transactions by default (the role's privileges are the
#: barrier when a query turns that off), as ``convguard test``'s query session.
QUERY_SESSION_OPTIONS = "-c default_transaction_read_only=on"
REPORTED_SETTINGS = ("server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather",
                     "effective_cache_size", "random_page_cost", "jit")


def open_to_query_role(database: Any, server: Server) -> None:
    """Let the run's query role connect to the (seeded) ``database`` and read its tables, as
    ``convguard test`` opens its work databases; ``PUBLIC`` loses ``CONNECT``, ``TEMP`` and
    ``CREATE`` there."""
    from convguard.kit.server.sandbox import database_grants, grant_schema

    role = server.query_role()
    if role.sandboxed:
        server.admin().execute(database_grants(role, database.name))
    with database.connect() as conn:
        grant_schema(conn, role)


def bench_connection(database: Any, server: Server, *,
                     timeout: str = SAFETY_TIMEOUT) -> psycopg.Connection[Any]:
    """The connection the bench measures on: the run's query role's own, read-only by default
    (call :func:`open_to_query_role` first), with :data:`SESSION_SETTINGS` applied and
    ``timeout`` as its statement timeout (runs on it are bounded by :func:`time_bound_for`).

    Never prepared: node-postgres sends each query as an unnamed statement, so the server plans
    every run for its parameters; psycopg would prepare after five runs, the server would then
    switch to a generic plan, and the advice's paired runs would time that plan instead.
    """
    conn: psycopg.Connection[Any] = server.connect_as_query_role(
        database.name, options=QUERY_SESSION_OPTIONS, prepare_threshold=None)
    settings = {**SESSION_SETTINGS, "statement_timeout": timeout}
    if getattr(server, "provider", None) in LOCAL_PROVIDERS:
        settings.update(LOCAL_SESSION_SETTINGS)
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, false)", [name, value])
    return conn


def check_timeout(timeout: str) -> str:
    """``timeout`` if it is a positive ``statement_timeout`` value (``2s``, ``15min``, ``500``
    milliseconds), else a :class:`ConvguardError`.

    Example:
        >>> check_timeout("2s")
        '2s'
    """
    if timeout_seconds(timeout) is None:
        raise ConvguardError(f"invalid timeout {timeout!r}",
                             hint="give a positive duration as PostgreSQL reads it: 2s, 500ms, "
                                  "15min, 1h (a bare number is milliseconds)")
    return timeout.strip()


def time_bound_for(server: Server, timeout: str = SAFETY_TIMEOUT) -> TimeBound:
    """The client-side deadline of the bench's query runs: ``timeout`` plus the grace."""
    return TimeBound(server, check_timeout(timeout), hint=TIMEOUT_HINT)


def run_bench(plans: Sequence[QueryPlan], server: Server, sizes: Sequence[int], *,
              advise_indexes: bool = True, progress: bool = True,
              history_days: int = DEFAULT_HISTORY_DAYS, window_days: int = DEFAULT_WINDOW_DAYS,
              spec_for: Callable[[int], Any] | None = None,
              status: Callable[[str], None] = lambda _: None,
              timeout: str = SAFETY_TIMEOUT) -> list[BenchResult]:
    """Seed each size once in its own throwaway database and measure every plan on it; advise
    indexes at the largest size. One :class:`BenchResult` per plan, in order.

    Every run of a query (timed, EXPLAIN ANALYZE, index advice) is bounded by ``timeout`` (a
    ``statement_timeout`` value) plus a second, kept by the client (:func:`time_bound_for`);
    a run past it raises :class:`QueryFailed` naming the query.

    The data's sends span ``history_days`` before ``to`` and the query's range is the last
    ``window_days`` of them (``spec_for``, when given, builds the spec of a size instead).
    """
    time_bound = time_bound_for(server, timeout)
    synthetics = [synthetic_of(plan) for plan in plans]
    synthetic = synthetics[0] if synthetics else None
    if any(type(other) is not type(synthetic) for other in synthetics):
        raise ConvguardError("bench seeds one dataset per size for every query: the queries' "
                             "profiles generate different data", hint="bench one profile's "
                             "queries at a time")
    unit = synthetic.unit if synthetic is not None else "rows"
    if spec_for is None:
        def spec_for(size: int) -> Any:
            assert synthetic is not None
            return synthetic.spec(size, history_days=history_days)
    history = spec_for(1).history_days
    if not 1 <= window_days <= history:
        raise ConvguardError(f"the range ({window_days} days) must be 1 day up to the history "
                             f"({history} days)", hint="e.g. --history-days 365 --window-days 30")
    from convguard.kit.server.databases import create_database

    ordered = sorted(set(sizes))
    if not ordered or ordered[0] < 1:
        raise ConvguardError(f"bench needs at least one size of 1 or more {unit}",
                             hint="e.g. --sizes 10000,100000")
    per_plan: list[dict[str, Any]] = [{"sizes": [], "advice": (), "combined": None}
                                      for _ in plans]
    settings: dict[str, str] = {}
    for position, size in enumerate(ordered):
        spec = spec_for(size)
        bounds = []
        for plan, generator in zip(plans, synthetics):
            with _about(plan):
                bounds.append(plan.bind(bench_scenario(spec, generator, window_days=window_days,
                                                       size=size)))
        with create_database(server, prefix="convguard_bench") as database:
            bar = (Progress.to_stderr(f"seeding {size:,} {unit}") if progress
                   else Progress.silent())
            seed = checked_seed(synthetics[0].seed(database.connect, spec, progress=bar),
                                synthetics[0])
            open_to_query_role(database, server)
            conn = bench_connection(database, server, timeout=time_bound.statement_timeout)
            admin = database.connect(purpose="bench-admin")
            try:
                settings = _settings(conn)
                for plan, bound, collected in zip(plans, bounds, per_plan):
                    status(f"measuring {plan.label} on {size:,} {unit}")
                    with _about(plan, f"on {size:,} {unit}"):
                        document = explain(conn, bound, time_bound=time_bound)
                        nodes = plan_nodes(document)
                        timing = measure(conn, bound, time_bound=time_bound)
                        collected["sizes"].append(SizeResult(
                            seed=seed, timing=timing, plan_top=tuple(nodes[:TOP_NODES]),
                            execution_ms=float(document.get("Execution Time") or 0.0),
                            planning_ms=float(document.get("Planning Time") or 0.0),
                            size=size, unit=unit))
                        if advise_indexes and position == len(ordered) - 1:
                            collected["advice"], collected["combined"] = advise(
                                conn, admin, bound, document, nodes, status=status,
                                time_bound=time_bound)
            finally:
                admin.close()
                conn.close()
    return [BenchResult(query=plan.label, driver=plan.driver, sizes=tuple(collected["sizes"]),
                        advice=tuple(collected["advice"]), combined=collected["combined"],
                        budget_ms=timeout_ms(plan.statement_timeout), settings=settings,
                        history_days=history, window_days=window_days,
                        timeline=synthetic.timeline if synthetic is not None else "data",
                        dated=synthetic.dated if synthetic is not None else "data")
            for plan, collected in zip(plans, per_plan)]


@contextmanager
def _about(plan: Any, where: str = "") -> Iterator[None]:
    """An error while benching ``plan`` names the query: its file and line (and function), and
    the size it was measured on (``where``, e.g. ``"on 10,000 leads"``, in the data generator's
    unit)."""
    query = plan.query
    detail = ", ".join(part for part in (f"in {query.function}" if query.function else "",
                                         where) if part)
    try:
        yield
    except ConvguardError as error:
        if not error.path:
            error.path, error.line = query.path, query.span.start_position.line
            if detail:
                error.message = f"{error.message} ({detail})"
        elif query.path not in error.message:
            error.message = f"{plan.label}: {error.message}"
        error.args = (error.message,)
        raise
    except Exception as error:
        if not type(error).__module__.startswith("psycopg"):
            raise
        # The connection itself failed (the query ended its own backend, the server went away).
        raise DatabaseError(f"{str(error).strip()}" + (f" ({detail})" if detail else ""),
                            path=query.path, line=query.span.start_position.line,
                            hint="a benched query must only read; rerun with a server that "
                                 "stays up") from None


def _settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    rows = conn.execute("SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name",
                        [list(REPORTED_SETTINGS)]).fetchall()
    return {name: value for name, value in rows}
