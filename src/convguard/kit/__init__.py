"""The conformance kit: throwaway PostgreSQL, seeded scenarios, bound queries, checked results.

The library API, for any query and schema (the booking-conversion profile is one user of it)::

    from convguard.kit import load_query, run_query, schema_from_prisma, seed, throwaway_database

    schema = schema_from_prisma("prisma/schema.prisma")
    query = load_query("app/revenue.ts::getRevenueByCustomer")
    with throwaway_database(schema) as db:            # a Schema, or DDL text
        seed(db.connection, {"Customer": [...], "Order": [...]}, schema)
        rows = run_query(db.connection, query, {"tenantIds": ["t1"], "from": datetime(2026, 1, 1),
                                                "to": datetime(2026, 2, 1)})
        rows[0]["revenue_cents"]                      # rows by column name, or by index

``run_query`` binds as the query's own source binds by default (``driver="auto"``): ``prisma`` for
a file that uses Prisma (Prisma 7 with ``@prisma/adapter-pg``: untyped text, a ``Date`` as UTC
text without an offset), ``node-postgres`` for one that uses ``pg`` and for ``.sql`` files (a
``Date`` as local time in ``client_time_zone``); ``driver="typed"`` binds as psycopg does.
Parameters are named by their interpolation (``${from}`` -> ``from``, ``${input.from}`` ->
``input.from``, ``${Prisma.join(tenantIds)}`` -> ``tenantIds``). ``load_scenarios`` and
``run_scenarios`` run scenario files against a query: with no ``profile`` their ``expected`` rows
judge it; with one, the profile's counts or oracle.

This module stays cheap to import: every name loads its module on first use.

Example:
    >>> import convguard.kit as kit
    >>> sorted(kit.__all__)[:3]
    ['BoundQuery', 'DatabaseHandle', 'ExpectedRows']
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    from convguard.kit.conformance.rows import Row, Rows
    from convguard.kit.scenario.files import Scenario
    from convguard.kit.scenario.rows import ExpectedRows, RowComparison, RowEntry

_LAZY = {
    "JsBigInt": "convguard.kit.conformance.prisma_adapter",
    "BoundQuery": "convguard.kit.conformance.binding",
    "bind_query": "convguard.kit.conformance.binding",
    "QueryPlan": "convguard.kit.conformance.runner",
    "ScenarioResult": "convguard.kit.conformance.runner",
    "Workbench": "convguard.kit.conformance.runner",
    "Row": "convguard.kit.conformance.rows",
    "Rows": "convguard.kit.conformance.rows",
    "Scenario": "convguard.kit.scenario.files",
    "ExpectedRows": "convguard.kit.scenario.rows",
    "RowComparison": "convguard.kit.scenario.rows",
    "RowEntry": "convguard.kit.scenario.rows",
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
    conninfo: str = field(repr=False)  # holds the server's password
    name: str
    server: Server


@contextmanager
def throwaway_database(schema_or_ddl: Schema | str, *, provider: str = "embedded",
                       dsn: str | None = None,
                       allow_superuser: bool = False) -> Iterator[DatabaseHandle]:
    """A new database holding ``schema_or_ddl`` (a Schema, or DDL text) on a new (or ``dsn``)
    server, with an open autocommit ``.connection`` in UTC; everything is dropped and stopped on
    exit."""
    schema = schema_or_ddl
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

    with start_server("url" if dsn else provider, dsn=dsn,
                      allow_superuser=allow_superuser) as server, \
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


def schema_from_prisma(path: str | os.PathLike[str]) -> Schema:
    """The tables ``prisma migrate`` creates for a ``schema.prisma`` file (or a folder of
    ``.prisma`` files, Prisma's multi-file schema).

    Example:
        >>> schema = schema_from_prisma("fixtures/revenue_app/prisma/schema.prisma")
        >>> [table.name for table in schema.tables]
        ['Customer', 'Order']
        >>> schema.table("Order").column("id").client_default    # @default(uuid()): Prisma Client's
        'uuid'
    """
    from convguard._prisma import schema_from_config

    return schema_from_config(os.fspath(path))


def seed(connection: psycopg.Connection[Any],
         tables: Dataset | Mapping[str, Sequence[Mapping[str, Any]]],
         schema_or_ddl: Schema | str) -> int:
    """Copy rows into ``connection``'s database (parents first); returns the row count.

    ``tables`` is ``{table: [row, ...]}``, checked and converted as a scenario's ``tables`` are
    (ISO timestamps to UTC, unknown columns refused, literal and database defaults and Prisma
    Client's ``uuid()``/``cuid()`` ids filled in for columns left out). ``schema_or_ddl`` is the
    :class:`~convguard.Schema`, or the DDL text the database was made from (then the database's
    catalog describes the tables).
    """
    from convguard._dataset import Dataset as DatasetType
    from convguard.kit.conformance.seed import seed as copy_rows
    from convguard.kit.scenario.files import dataset_from_tables

    if isinstance(schema_or_ddl, str):
        from convguard.kit.conformance.introspect import schema_of_database

        schema = schema_of_database(connection)
    else:
        schema = schema_or_ddl
    dataset = tables if isinstance(tables, DatasetType) else dataset_from_tables(tables, schema)
    return copy_rows(connection, dataset, schema)


def run_query(connection: psycopg.Connection[Any], query: ExtractedQuery | str,
              params: Mapping[Any, Any], *, driver: str = "auto",
              client_time_zone: str = "UTC", profile: Any = None,
              names: Mapping[str, str] | None = None) -> Rows:
    """Bind ``query`` as the driver would and run it; PostgreSQL errors raise QueryFailed.

    ``params`` maps each parameter's name (``from``, ``input.from``, ``tenantIds`` for
    ``${Prisma.join(tenantIds)}``; also the interpolation text, its last member or ``$n``) to a
    Python value standing in for the JavaScript one: ``datetime`` is a ``Date``, ``str`` a string,
    ``list`` an array. With a ``profile`` (a name or a Profile) the keys are its role names and
    ``names`` maps interpolation text to a role, as ``[query.params]`` does. ``driver`` is ``auto``
    (from the query's source, see :mod:`convguard._stack`), ``prisma``, ``node-postgres`` or
    ``typed``; ``client_time_zone`` is the Node.js process's zone (it only changes what
    ``node-postgres`` sends).

    The rows are tuples addressable by column name too: ``rows[0]["revenue_cents"]``,
    ``rows[0][1]``; ``rows.columns`` names them even when there is no row.
    """
    from convguard._stack import driver_for_query
    from convguard.kit.conformance.binding import bind_query as bind
    from convguard.kit.conformance.generic import configured_name
    from convguard.kit.conformance.runner import execute_bound

    if isinstance(query, str):
        query = load_query(query)
    if isinstance(profile, str):
        from convguard.profiles import get_profile

        profile = get_profile(profile)
    values: dict[Any, Any] = dict(params)
    if profile is None:  # by name, as a scenario names them: the interpolation's text wins
        for placeholder in query.placeholders:
            name = configured_name(placeholder.expression, names or {})
            if name in params:
                values[placeholder.expression.strip()] = params[name]
    bound = bind(query, values, profile=profile, params=names,
                 driver=driver_for_query(driver, query), client_time_zone=client_time_zone)
    return execute_bound(connection, bound)


def _extraction_of(query: ExtractedQuery) -> Any:
    """The host file's extraction (for the query's own statement timeout), if still readable."""
    import os

    from convguard.extract import extract_source

    if not os.path.isfile(query.path):
        return None
    with open(query.path, encoding="utf-8") as handle:
        return extract_source(query.path, handle.read())


def _contract(query: ExtractedQuery, schema: Schema, profile: str | None,
              names: Mapping[str, str] | None) -> Any:
    """The kit that judges ``query``: its profile's, else the generic one (expected rows)."""
    from convguard.kit.conformance.generic import generic_kit
    from convguard.kit.conformance.profile_kit import profile_kit

    if profile is not None:
        return profile_kit(profile)
    from convguard._reads import columns_read

    return generic_kit(query, schema, dict(names or {}),
                       read_columns=columns_read(query.sql, schema))


def _schema_of(query: ExtractedQuery, schema: Schema | None, profile: str | None) -> Schema:
    """The given schema; else the application's (configured or found, as ``convguard test``);
    else, for a profile's query, the profile's data model."""
    if schema is not None:
        return schema
    from convguard._config import find_config
    from convguard._errors import ConfigError
    from convguard._schema_discovery import load_schema, locate_schema

    config = find_config(query.path)
    location = locate_schema(query.path, config)
    if location is not None and (profile is None or config.schema):
        return load_schema(location)
    if profile is not None:
        from convguard.kit.conformance.profile_kit import profile_kit

        return profile_kit(profile).schema()
    raise ConfigError(f"no schema for {query.path}: pass schema=..., configure schema = \"...\" "
                      "or keep the Prisma schema at prisma/schema.prisma", path=query.path,
                      hint="schema_from_prisma(path) reads a schema.prisma")


def load_scenarios(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                   query: ExtractedQuery | str, *, schema: Schema | None = None,
                   profile: str | None = None,
                   names: Mapping[str, str] | None = None) -> tuple[Scenario, ...]:
    """The scenario files under ``paths`` (files or folders), validated for ``query``: its
    parameters all given, its schema's tables and columns, expected rows (no ``profile``) or the
    profile's expected counts. ``names`` renames parameters as ``[query.params]`` does. Every
    file is read: unusable ones raise one :class:`~convguard.ScenarioErrors` (a
    ``ScenarioError``) whose ``errors`` lists each in file order.

    Example:
        >>> app = "fixtures/revenue_app/"
        >>> scenarios = load_scenarios(app + "scenarios", app + "app/revenue.ts")
        >>> [s.name for s in scenarios][:2], scenarios[0].expected.rows
        (['nothing-paid', 'paid-in-range'], ())
    """
    from convguard.kit.scenario.files import load_scenarios as load

    if isinstance(query, str):
        query = load_query(query)
    schema = _schema_of(query, schema, profile)
    kit = _contract(query, schema, profile, names)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return load(paths, schema=schema, contract=kit.contract)


def run_scenarios(query: ExtractedQuery | str, scenarios: Sequence[Any] | str, *,
                  profile: str | None = None, schema: Schema | None = None,
                  driver: str = "auto", client_time_zone: str = "UTC",
                  names: Mapping[str, str] | None = None, provider: str = "embedded",
                  dsn: str | None = None,
                  allow_superuser: bool = False) -> list[ScenarioResult]:
    """Run ``query`` against scenarios (loaded ones, or files/folders) and judge each: by the
    scenario's expected rows, or with a ``profile`` by its counts or oracle. Each result has
    ``passed``; :func:`format_text` prints the failures with their row or bucket diff."""
    from convguard._stack import driver_for_query
    from convguard.kit.conformance.runner import QueryPlan, Workbench, statement_timeout_for
    from convguard.kit.scenario.files import Scenario as ScenarioType
    from convguard.kit.scenario.files import load_scenarios as load

    if isinstance(query, str):
        query = load_query(query)
    schema = _schema_of(query, schema, profile)
    kit = _contract(query, schema, profile, names)
    loaded: Sequence[ScenarioType]
    if isinstance(scenarios, str) or not all(isinstance(s, ScenarioType) for s in scenarios):
        loaded = load([scenarios] if isinstance(scenarios, str) else scenarios,
                      schema=schema, contract=kit.contract)
    else:
        loaded = list(scenarios)  # type: ignore[arg-type]
    plan = QueryPlan(query=query, kit=kit, schema=schema, driver=driver_for_query(driver, query),
                     client_time_zone=client_time_zone, params=dict(names or {}),
                     statement_timeout=statement_timeout_for(query, _extraction_of(query)))
    with Workbench.start("url" if dsn else provider, dsn=dsn,
                         allow_superuser=allow_superuser) as bench:
        return [bench.run(plan, scenario) for scenario in loaded]


__all__ = [
    "BoundQuery", "DatabaseHandle", "ExpectedRows", "JsBigInt", "QueryPlan", "Row",
    "RowComparison", "RowEntry", "Rows", "Scenario", "ScenarioResult", "Workbench", "bind_query",
    "format_json", "format_text", "load_query", "load_scenarios", "run_query", "run_scenarios",
    "schema_from_prisma", "seed", "throwaway_database",
]
