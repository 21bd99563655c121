"""Run a query against scenarios on a throwaway database and judge the numbers.

The query under test never runs on the kit's own connection: it runs on a
:class:`~convguard.kit.conformance.query_session.QuerySession`, connected as the run's least-privilege role
(``SELECT`` on the schema's tables and nothing else), each run in a ``READ ONLY`` transaction
bounded by its statement timeout and by a client-side deadline. Since that connection must see
the scenario's rows, they are committed (see :data:`ISOLATIONS`): per schema, ONE work database
is cloned from a template that holds the schema; per scenario the kit's connection does, in one
transaction, ``DELETE`` of the previous scenario's rows (children first; measured 2.4 ms per
(query, scenario) over the fixtures against 6.8 ms with ``TRUNCATE``, which makes new files for
every table and index) and ``COPY`` of this one's rows, then ``COMMIT``; the query session runs every query judged on that scenario, each in its own
transaction. Nothing the query could do outlives its transaction, and nothing a scenario seeds
outlives the next seeding.

The result is normalised by the profile (unknown channels or outcomes are reported, not dropped)
and compared with the scenario's ``expected`` or, without one, with the profile's oracle.

Example:
    >>> statement_timeout_of("SET LOCAL statement_timeout = 10000")
    '10000'
    >>> statement_timeout_of("SET statement_timeout TO '5s'"), statement_timeout_of("SELECT 1")
    ('5s', None)
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from convguard._errors import QueryFailed, ScenarioError
from convguard._sql_text import without_comments
from convguard._model import ExtractedQuery, ExtractionResult
from convguard._schema import Schema
from convguard.kit.conformance.binding import BoundQuery, bind_query
from convguard.kit.conformance.profile_kit import ProfileKit
from convguard.kit.conformance.execute import _untyped_types, execute_bound, query_failed  # noqa: F401
from convguard.kit.conformance.query_session import QuerySession
from convguard.kit.scenario.files import Scenario, combination_error
from convguard.kit.conformance.rows import Rows

if TYPE_CHECKING:
    import psycopg

    from convguard.kit.server.databases import ThrowawayDatabase
    from convguard.kit.server import Server

DEFAULT_STATEMENT_TIMEOUT = "10s"
#: ``transaction``: one work database per schema; each scenario's rows are committed in one
#: transaction that first deletes the previous scenario's rows (the default; 2.4 ms per
#: (query, scenario) over the fixtures, in-process wall time, machine idle); ``clone``: a template clone per scenario, with a query
#: session of its own (~30 ms more each; kept for comparison).
ISOLATIONS = ("transaction", "clone")
Check = Literal["passed", "counts", "rows", "shape", "sqlstate"]

_SETUP_KEYWORDS = {"SET", "RESET", "SHOW", "BEGIN", "START", "COMMIT", "ROLLBACK", "END",
                   "SAVEPOINT", "RELEASE", "DISCARD"}
_TIMEOUT = re.compile(
    r"^\s*SET\s+(?:LOCAL\s+|SESSION\s+)?statement_timeout\s*(?:=|\s+TO\s+)\s*"
    r"(?:'([^']*)'|\"([^\"]*)\"|([\w.]+))\s*;?\s*$", re.IGNORECASE)


def first_keyword(sql: str) -> str:
    """The statement's first keyword, upper-cased (comments skipped).

    Example:
        >>> first_keyword("-- note\\n  with x as (select 1) select * from x")
        'WITH'
    """
    match = re.search(r"[A-Za-z]+", without_comments(sql))
    return match.group(0).upper() if match else ""


def is_setup_statement(query: ExtractedQuery) -> bool:
    """True for ``SET``/``BEGIN``/... statements around the query under test; a template that
    holds several statements is set-up only when all of them are.

    Example:
        >>> from convguard.extract import extract_source
        >>> sql = extract_source("q.sql", "SET LOCAL statement_timeout = 0; SELECT 1").queries
        >>> [is_setup_statement(q) for q in sql]
        [True, False]
    """
    text = re.sub(r"'(?:[^']|'')*'", "''", without_comments(query.sql))
    statements = [part for part in text.split(";") if part.strip()]
    return bool(statements) and all(first_keyword(part) in _SETUP_KEYWORDS
                                    for part in statements)


def statement_timeout_of(sql: str) -> str | None:
    """The value a ``SET [LOCAL] statement_timeout`` statement sets, else None."""
    match = _TIMEOUT.match(without_comments(sql))
    if not match:
        return None
    return next(group for group in match.groups() if group is not None)


def statement_timeout_for(query: ExtractedQuery, extraction: ExtractionResult | None) -> str:
    """The query's own statement timeout: a ``SET LOCAL statement_timeout`` in the same
    ``$transaction`` (same file, same transaction id) or, in a ``.sql`` file, an earlier
    statement of the file; else :data:`DEFAULT_STATEMENT_TIMEOUT`."""
    if extraction is None:
        return DEFAULT_STATEMENT_TIMEOUT
    found = None
    for other in extraction.queries:
        if other is query or other.span.start > query.span.start:
            continue
        same_transaction = query.transaction is not None and other.transaction == query.transaction
        same_sql_file = query.transaction is None and query.tag == "sql" and other.tag == "sql"
        if same_transaction or same_sql_file:
            value = statement_timeout_of(other.sql)
            if value is not None:
                found = value
    return found or DEFAULT_STATEMENT_TIMEOUT


@dataclass(frozen=True)
class QueryPlan:
    """A query ready to run against scenarios: how it binds, on which schema, how it's judged."""

    query: ExtractedQuery
    kit: ProfileKit
    schema: Schema
    driver: str = "node-postgres"
    client_time_zone: str = "UTC"
    params: Mapping[str, str] = field(default_factory=dict)
    statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT
    config_source: str | None = None
    query_line: int | None = None
    #: every combination of the call site's SQL fragments, numbered from 1 as ``convguard
    #: extract`` prints them (empty: ``query`` is the only one); ``query`` is the
    #: ``combination``-th
    combinations: tuple[ExtractedQuery, ...] = field(default=(), compare=False, repr=False)
    combination: int = 1
    #: the kit of another combination (a query without a profile names its parameters by the
    #: combination's interpolations); None: the same kit for every combination
    kit_of: Callable[[ExtractedQuery], ProfileKit] | None = field(default=None, compare=False,
                                                                   repr=False)
    _resolved: dict[int, QueryPlan] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        return self.query.label

    @property
    def combination_count(self) -> int:
        return len(self.combinations) or 1

    def for_combination(self, number: int) -> QueryPlan:
        """This plan running combination ``number`` (1-based) of its call site.

        A plan whose ``query`` was replaced (a mutant) keeps its combination: asking for that
        one returns the plan itself.

        Example:
            >>> from convguard.extract import extract_source
            >>> from convguard.kit.conformance.profile_kit import ProfileKit
            >>> variants = extract_source("q.ts", "const a = (x) => prisma.$queryRaw`SELECT 1 "
            ...     "${x ? Prisma.sql`WHERE true` : Prisma.empty}`").queries
            >>> plan = QueryPlan(variants[0], kit=None, schema=None, combinations=tuple(variants))
            >>> plan.for_combination(2).query.sql.strip(), plan.for_combination(2).combination
            ('SELECT 1', 2)
        """
        if number == self.combination:
            return self
        if number not in self._resolved:
            if not 1 <= number <= self.combination_count:
                raise combination_error(number, self.combination_count, self.label, path=None,
                                        line=None)
            query = self.combinations[number - 1]
            if query.opaque:
                fragment = query.opaque[0]
                where = fragment.host_span.start_position
                raise ScenarioError(
                    f"combination {number} of {self.label} splices ${{{fragment.expression}}} "
                    f"(line {where.line}), SQL convguard cannot see, so it cannot be run",
                    path=query.path, line=where.line,
                    hint="test the function that assembles the whole statement in one file, or "
                         "build the fragment in this file")
            kit = self.kit_of(query) if self.kit_of is not None else self.kit
            self._resolved[number] = dataclasses.replace(
                self, query=query, kit=kit, combination=number, _resolved={})
        return self._resolved[number]

    def for_scenario(self, scenario: Scenario) -> QueryPlan:
        """The plan of the combination ``scenario`` runs; one the call site does not have is a
        :class:`ScenarioError` naming the scenario file and its ``combination`` line."""
        try:
            return self.for_combination(scenario.combination)
        except ScenarioError as error:
            if error.path is None:
                error.path = scenario.path
                error.line = scenario.line_of("combination")
            raise

    @property
    def location(self) -> str:
        """``path:line`` of the query in its host file."""
        return f"{self.query.path}:{self.query.span.start_position.line}"

    def bind(self, scenario: Scenario) -> BoundQuery:
        values = self.kit.role_values(scenario.params, scenario.dataset)
        return bind_query(self.query, values, profile=self.kit.profile, params=self.params,
                          driver=self.driver, client_time_zone=self.client_time_zone,
                          config_source=self.config_source, query_line=self.query_line)


@dataclass(frozen=True)
class ScenarioResult:
    """The verdict on one (query, scenario).

    ``diff`` holds ``(row, field, expected, actual)`` per differing count or cell; ``check`` says
    what failed: ``counts`` (a profile's numbers differ), ``rows`` (the rows differ from a
    scenario's expected rows: ``comparison`` holds them, row by row), ``shape`` (rows the profile
    cannot read, or expected rows that do not list the result's columns), ``sqlstate``
    (PostgreSQL rejected the query: ``sqlstate`` and ``error`` carry its code and message).
    """

    query: str
    query_location: str
    scenario: str
    scenario_path: str
    passed: bool
    check: Check
    actual: Any = None
    expected: Any = None
    expected_source: Literal["scenario", "oracle"] = "scenario"
    diff: tuple[tuple[str, str, Any, Any], ...] = ()
    problems: tuple[str, ...] = ()
    sqlstate: str | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    driver: str = "node-postgres"
    statement_timeout: str = DEFAULT_STATEMENT_TIMEOUT
    row_label: str = "row"
    expected_cells: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    actual_cells: Mapping[str, Mapping[str, Any]] | None = field(default=None, repr=False)
    rows: tuple[tuple[Any, ...], ...] = field(default=(), repr=False, compare=False)
    comparison: Any = field(default=None, repr=False, compare=False)
    #: which combination of the call site's SQL fragments ran, of how many
    combination: int = 1
    combinations: int = 1


# Judging -----------------------------------------------------------------------------------------

def judge(plan: QueryPlan, scenario: Scenario, rows: Rows | Sequence[tuple[Any, ...]] | None, *,
          failure: QueryFailed | None = None, elapsed_ms: float = 0.0) -> ScenarioResult:
    """Compare a query's rows (or its failure) with what the scenario expects."""
    source: Literal["scenario", "oracle"] = "scenario" if scenario.expected is not None \
        else "oracle"
    expected = (plan.kit.expected(scenario.expected) if scenario.expected is not None
                else plan.kit.oracle(scenario.dataset, scenario.params))
    common: dict[str, Any] = {
        "query": plan.label, "query_location": plan.location, "scenario": scenario.name,
        "scenario_path": scenario.path, "expected": expected, "expected_source": source,
        "elapsed_ms": elapsed_ms, "driver": plan.driver,
        "statement_timeout": plan.statement_timeout, "row_label": plan.kit.row_label,
        "expected_cells": plan.kit.cells(expected), "combination": plan.combination,
        "combinations": plan.combination_count}
    if failure is not None:
        return ScenarioResult(passed=False, check="sqlstate", sqlstate=failure.sqlstate,
                              error=failure.message, **common)  # type: ignore[arg-type]
    actual = plan.kit.normalise(rows if rows is not None else Rows())
    compare = getattr(expected, "compare", None)
    if compare is not None:  # expected rows (a query without a profile)
        comparison = compare(actual)
        diff, problems = comparison.diff, comparison.problems
        check: Check = "shape" if problems else ("rows" if diff else "passed")
        return ScenarioResult(passed=check == "passed", check=check, actual=actual, diff=diff,
                              problems=problems, rows=tuple(actual), comparison=comparison,
                              actual_cells={}, **common)  # type: ignore[arg-type]
    diff = tuple(expected.differences(actual))
    problems = tuple(getattr(actual, "problems", ()))
    check = "shape" if problems else ("counts" if diff else "passed")
    return ScenarioResult(passed=check == "passed", check=check, actual=actual, diff=diff,
                          problems=problems, rows=tuple(rows or ()),
                          actual_cells=plan.kit.cells(actual),
                          **common)  # type: ignore[arg-type]


# The bench: server, templates, work databases ----------------------------------------------------

class Workbench:
    """Runs plans against scenarios on one server; one template and work database per schema.

    Use as a context manager; it drops what it created (and stops the server if it started it).

    Example:
        >>> with Workbench.start("embedded") as bench:                     # doctest: +SKIP
        ...     result = bench.run(plan, scenario)
    """

    def __init__(self, server: Server, *, owns_server: bool = False,
                 isolation: str = "transaction") -> None:
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {ISOLATIONS}")
        self.server = server
        self.owns_server = owns_server
        self.isolation = isolation
        self._templates: dict[str, ThrowawayDatabase] = {}
        self._work: dict[str, tuple[ThrowawayDatabase, psycopg.Connection[Any]]] = {}
        self._sessions: dict[str, QuerySession] = {}
        self._dirty: set[str] = set()
        self._ddl: dict[int, tuple[Schema, str]] = {}

    @classmethod
    def start(cls, provider: str = "embedded", *, dsn: str | None = None,
              isolation: str = "transaction", allow_superuser: bool = False) -> Workbench:
        from convguard.kit.server import start_server

        return cls(start_server(provider, dsn=dsn, allow_superuser=allow_superuser),
                   owns_server=True, isolation=isolation)

    def __enter__(self) -> Workbench:  # noqa: PYI034 - no subclasses
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close connections, drop the databases, stop the server if this bench started it."""
        try:
            for session in self._sessions.values():
                session.close()
            for database, conn in self._work.values():
                conn.close()
                database.drop()
            for template in self._templates.values():
                template.drop()
        finally:
            self._sessions.clear()
            self._work.clear()
            self._templates.clear()
            if self.owns_server:
                self.server.stop()

    def _key(self, schema: Schema) -> str:
        from convguard._ddl import schema_ddl

        cached = self._ddl.get(id(schema))
        if cached is None or cached[0] is not schema:
            cached = self._ddl[id(schema)] = (schema, schema_ddl(schema))
        return cached[1]

    def template(self, schema: Schema) -> ThrowawayDatabase:
        """The template database holding ``schema`` (created on first use), open to the run's
        query role for reading."""
        from convguard.kit.server.databases import create_template

        ddl = self._key(schema)
        if ddl not in self._templates:
            self._templates[ddl] = create_template(self.server, ddl, prefix="convguard_tpl",
                                                   grant_to=self.server.query_role())
        return self._templates[ddl]

    def _clone(self, schema: Schema, prefix: str) -> ThrowawayDatabase:
        from convguard.kit.server.sandbox import database_grants

        database = self.template(schema).clone(prefix=prefix)
        role = self.server.query_role()
        if role.sandboxed:
            self.server.admin().execute(database_grants(role, database.name))
        return database

    def connection(self, schema: Schema) -> psycopg.Connection[Any]:
        """The kit's connection to the work database for ``schema`` (seeding, not queries)."""
        key = self._key(schema)
        if key not in self._work:
            database = self._clone(schema, "convguard_run")
            conn = database.connect(purpose="seed")
            _session_settings(conn)
            self._work[key] = (database, conn)
        return self._work[key][1]

    def session(self, schema: Schema) -> QuerySession:
        """The query role's session on the work database for ``schema``."""
        key = self._key(schema)
        if key not in self._sessions:
            self.connection(schema)
            self._sessions[key] = QuerySession(self.server, self._work[key][0].name)
        return self._sessions[key]

    @contextmanager
    def scenario_connection(self, schema: Schema) -> Iterator[psycopg.Connection[Any]]:
        """The kit's connection inside an open, rolled-back transaction on a database holding
        ``schema`` and no rows (for seeding tests; queries under test run on :meth:`seeded`)."""
        conn = self.connection(schema)
        conn.execute("BEGIN")
        try:
            self._truncate(conn, schema)
            yield conn
        finally:
            conn.execute("ROLLBACK")

    @contextmanager
    def seeded(self, schema: Schema, scenario: Scenario) -> Iterator[QuerySession]:
        """Commit ``scenario``'s rows (replacing the previous ones) and yield the query session
        that sees them. A bad scenario raises ScenarioError and commits nothing."""
        if self.isolation == "clone":
            database = self._clone(schema, "convguard_scn")
            session = QuerySession(self.server, database.name)
            try:
                with database.connect(purpose="seed") as conn:
                    _session_settings(conn)
                    with conn.transaction():
                        _seed_scenario(conn, scenario, schema)
                yield session
            finally:
                session.close()
                database.drop()
            return
        key = self._key(schema)
        conn = self.connection(schema)
        conn.execute("BEGIN")
        try:
            if key in self._dirty:
                self._truncate(conn, schema)
            _seed_scenario(conn, scenario, schema)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._dirty.add(key)
        yield self.session(schema)

    def _truncate(self, conn: psycopg.Connection[Any], schema: Schema) -> None:
        from convguard.kit.conformance.seed import insertion_order

        tables = insertion_order(schema, [table.name for table in schema.tables])
        statements = "; ".join('DELETE FROM "' + table.name.replace('"', '""') + '"'
                               for table in reversed(tables))
        if statements:
            conn.execute(statements)

    def run(self, plan: QueryPlan, scenario: Scenario) -> ScenarioResult:
        """Seed, run and judge one (query, scenario). A bad scenario raises ScenarioError."""
        return self.run_scenario([plan], scenario)[0]

    def run_scenario(self, plans: Sequence[QueryPlan],
                     scenario: Scenario) -> list[ScenarioResult]:
        """Seed ``scenario`` once per schema and run every plan on it, each query in its own
        transaction on the query session. Results follow ``plans``' order."""
        from convguard.kit.interrupts import check

        check()  # an interrupt a library swallowed still stops the run here
        plans = [plan.for_scenario(scenario) for plan in plans]
        groups: dict[str, list[int]] = {}
        for position, plan in enumerate(plans):
            groups.setdefault(self._key(plan.schema), []).append(position)
        results: dict[int, ScenarioResult] = {}
        for positions in groups.values():
            schema = plans[positions[0]].schema
            bound = {p: plans[p].bind(scenario) for p in positions}
            start = time.perf_counter()
            with self.seeded(schema, scenario) as session:
                seed_ms = (time.perf_counter() - start) * 1000
                for position in positions:
                    plan = plans[position]
                    start = time.perf_counter()
                    rows, failure = session.run(bound[position], plan.statement_timeout)
                    elapsed = seed_ms + (time.perf_counter() - start) * 1000
                    results[position] = judge(plan, scenario, rows, failure=failure,
                                              elapsed_ms=elapsed)
        return [results[position] for position in range(len(plans))]

    def run_all(self, plans: Sequence[QueryPlan],
                scenarios: Sequence[Scenario]) -> list[ScenarioResult]:
        """Every (plan, scenario), grouped by plan in ``plans``' order."""
        by_scenario = [self.run_scenario(plans, scenario) for scenario in scenarios]
        return [row[index] for index in range(len(plans)) for row in by_scenario]


def _seed_scenario(conn: psycopg.Connection[Any], scenario: Scenario, schema: Schema) -> None:
    from convguard.kit.conformance.seed import seed

    try:
        seed(conn, scenario.dataset, schema)
    except ScenarioError as error:
        error.path = error.path or scenario.path
        raise


def _session_settings(conn: psycopg.Connection[Any]) -> None:
    # The app's sessions run with the server's TimeZone, in production UTC; pin it so a url
    # server configured otherwise cannot change what a timestamptz cast means.
    conn.execute("SET TimeZone = 'UTC'")


__all__ = [
    "DEFAULT_STATEMENT_TIMEOUT", "ISOLATIONS", "QueryPlan", "ScenarioResult", "Workbench",
    "execute_bound", "first_keyword", "is_setup_statement", "judge", "query_failed",
    "statement_timeout_for", "statement_timeout_of",
]
