"""The conformance kit: throwaway PostgreSQL, seeded scenarios, bound queries, checked numbers.

The library API, for any query and schema (the booking-conversion profile is one user of it)::

    from convguard.kit import load_query, throwaway_database, seed, run_query

    query = load_query("app/actions/invoices.ts::getOverdueTotals")
    with throwaway_database(schema) as db:            # a Schema, or DDL text
        seed(db.connection, {"Invoice": [...]}, schema)
        rows = run_query(db.connection, query, {"ids": ["c1"], "from": "2026-01-01T00:00:00Z"})

``run_query`` binds as the query's own source binds by default (``driver="auto"``): ``prisma`` for
a file that uses Prisma (Prisma 7 with ``@prisma/adapter-pg``: untyped text, a ``Date`` as UTC
text without an offset), ``node-postgres`` for one that uses ``pg`` and for ``.sql`` files (a
``Date`` as local time in ``client_time_zone``); ``driver="typed"`` binds as psycopg does. ``run_scenarios`` runs scenario
files against a query and judges them with the profile (``expected`` counts, or its oracle).

This module stays cheap to import: every name loads its module on first use.

Example:
    >>> import convguard.kit as kit
    >>> sorted(kit.__all__)[:3]
    ['BoundQuery', 'DatabaseHandle', 'JsBigInt']
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    from convguard._dataset import Dataset
    from convguard._model import ExtractedQuery
    from convguard._schema import Schema
    from convguard.kit.conformance.binding import BoundQuery, bind_query
    from convguard.kit.conformance.prisma_adapter import JsBigInt
    from convguard.kit.server import Server
    from convguard.kit.conformance.report import format_json, format_text
    from convguard.kit.conformance.runner import QueryPlan, ScenarioResult, Workbench
    from convguard.kit.scenario.files import Scenario, load_scenarios

_LAZY = {
    "JsBigInt": "convguard.kit.conformance.prisma_adapter",
    "BoundQuery": "convguard.kit.conformance.binding",
    "bind_query": "convguard.kit.conformance.binding",
    "QueryPlan": "convguard.kit.conformance.runner",
    "ScenarioResult": "convguard.kit.conformance.runner",
    "Workbench": "convguard.kit.conformance.runner",
    "Scenario": "convguard.kit.scenario.files",
    "load_scenarios": "convguard.kit.scenario.files",
    "format_text": "convguard.kit.conformance.report",
    "format_json": "convguard.kit.conformance.report",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'convguard.kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def load_query(path_or_selector: str, *, function: str | None = None) -> ExtractedQuery:
    """The query under test in a file: ``PATH``, ``PATH::FUNCTION`` or ``function=``.

    ``SET ...`` statements around it are skipped; more than one candidate is a SelectorError.

    Example:
        >>> load_query("fixtures/queries/booking_conversion.sql").placeholders[0].expression
        ':client_ids'
    """
    from convguard._config import find_config
    from convguard._errors import SelectorError
    from convguard._paths import split_selector
    from convguard.commands.test import Target, select_queries

    path, selected = split_selector(path_or_selector)
    queries, _ = select_queries(Target(path, function or selected, find_config(path)))
    if len(queries) > 1:
        where = ", ".join(f"line {q.span.start_position.line}" for q in queries)
        raise SelectorError(f"{len(queries)} queries in the file ({where})", path=path,
                            hint="select one with PATH::FUNCTION")
    return queries[0]


@dataclass(frozen=True)
class DatabaseHandle:
    """A throwaway database with an open autocommit connection."""

    connection: psycopg.Connection[Any]
    conninfo: str
    name: str
    server: Server


@contextmanager
def throwaway_database(schema: Schema | str, *, provider: str = "embedded",
                       dsn: str | None = None) -> Iterator[DatabaseHandle]:
    """A new database holding ``schema`` (a Schema, or DDL text) on a new (or ``dsn``) server;
    everything is dropped and stopped on exit."""
    from convguard._schema import Schema as SchemaType
    from convguard.kit.server.databases import create_database
    from convguard.kit.server import start_server
    from convguard.kit.conformance.runner import query_failed

    if isinstance(schema, SchemaType):
        from convguard._ddl import schema_ddl

        ddl = schema_ddl(schema)
    else:
        ddl = schema
    import psycopg

    with start_server("url" if dsn else provider, dsn=dsn) as server, \
            create_database(server, prefix="convguard_lib") as database:
        conn = database.connect()
        try:
            try:
                conn.execute(ddl)
            except psycopg.Error as error:
                raise query_failed(error, prefix="the schema's DDL failed: ") from None
            conn.execute("SET TimeZone = 'UTC'")
            yield DatabaseHandle(conn, database.conninfo, database.name, server)
        finally:
            conn.close()


def seed(conn: psycopg.Connection[Any],
         data: Dataset | Mapping[str, Sequence[Mapping[str, Any]]], schema: Schema) -> int:
    """Copy rows into ``conn``'s database (parents first); returns the row count.

    A plain ``{table: [row, ...]}`` is checked and converted as a scenario's ``tables`` are
    (ISO timestamps to UTC, literal defaults filled in, unknown columns refused).
    """
    from convguard._dataset import Dataset as DatasetType
    from convguard.kit.scenario.files import dataset_from_tables
    from convguard.kit.conformance.seed import seed as copy_rows

    dataset = data if isinstance(data, DatasetType) else dataset_from_tables(data, schema)
    return copy_rows(conn, dataset, schema)


def run_query(conn: psycopg.Connection[Any], query: ExtractedQuery | str,
              roles: Mapping[Any, Any], *, driver: str = "auto",
              client_time_zone: str = "UTC", profile: Any = None,
              params: Mapping[str, str] | None = None) -> list[tuple[Any, ...]]:
    """Bind ``query`` as the driver would and run it; PostgreSQL errors raise QueryFailed.

    ``roles`` maps role names (with a ``profile``, a name or a Profile) or, without one,
    placeholder expressions / interpolation names / ``$n`` numbers to values. ``driver`` is
    ``auto`` (from the query's source, see :mod:`convguard._stack`), ``prisma``,
    ``node-postgres`` or ``typed``; ``client_time_zone`` is the Node.js process's zone (it only
    changes what ``node-postgres`` sends).
    """
    from convguard._stack import driver_for_query
    from convguard.kit.conformance.binding import bind_query as bind
    from convguard.kit.conformance.runner import execute_bound

    if isinstance(query, str):
        query = load_query(query)
    if isinstance(profile, str):
        from convguard.profiles import get_profile

        profile = get_profile(profile)
    bound = bind(query, roles, profile=profile, params=params,
                 driver=driver_for_query(driver, query), client_time_zone=client_time_zone)
    return execute_bound(conn, bound)


def _extraction_of(query: ExtractedQuery) -> Any:
    """The host file's extraction (for the query's own statement timeout), if still readable."""
    import os

    from convguard.extract import extract_source

    if not os.path.isfile(query.path):
        return None
    with open(query.path, encoding="utf-8") as handle:
        return extract_source(query.path, handle.read())


def run_scenarios(query: ExtractedQuery | str, scenarios: Sequence[Any] | str, *,
                  profile: str = "booking-conversion", schema: Schema | None = None,
                  driver: str = "auto", client_time_zone: str = "UTC",
                  params: Mapping[str, str] | None = None, provider: str = "embedded",
                  dsn: str | None = None) -> list[ScenarioResult]:
    """Run ``query`` against scenarios (loaded ones, or files/folders) and judge each."""
    from convguard.kit.conformance.profile_kit import profile_kit
    from convguard.kit.conformance.runner import QueryPlan, Workbench, statement_timeout_for
    from convguard.kit.scenario.files import Scenario as ScenarioType
    from convguard.kit.scenario.files import load_scenarios as load

    if isinstance(query, str):
        query = load_query(query)
    kit = profile_kit(profile)
    schema = schema or kit.schema()
    loaded: Sequence[ScenarioType]
    if isinstance(scenarios, str) or not all(isinstance(s, ScenarioType) for s in scenarios):
        loaded = load([scenarios] if isinstance(scenarios, str) else scenarios,
                      schema=schema, contract=kit.contract)
    else:
        loaded = list(scenarios)  # type: ignore[arg-type]
    from convguard._stack import driver_for_query

    plan = QueryPlan(query=query, kit=kit, schema=schema, driver=driver_for_query(driver, query),
                     client_time_zone=client_time_zone, params=dict(params or {}),
                     statement_timeout=statement_timeout_for(query, _extraction_of(query)))
    with Workbench.start("url" if dsn else provider, dsn=dsn) as bench:
        return [bench.run(plan, scenario) for scenario in loaded]


__all__ = [
    "BoundQuery", "DatabaseHandle", "JsBigInt", "QueryPlan", "Scenario", "ScenarioResult",
    "Workbench",
    "bind_query", "format_json", "format_text", "load_query", "load_scenarios", "run_query",
    "run_scenarios", "seed", "throwaway_database",
]
