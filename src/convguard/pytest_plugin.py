"""pytest plugin: every scenario file becomes one test per configured query.

Scenario files are collected only inside the ``scenarios`` folders of the configuration
(``convguard.toml`` or ``[tool.convguard]`` found from the rootdir, or ``--convguard-config``):
``pytest fixtures/scenarios`` yields items such as
``fixtures/scenarios/pre-booked.yaml::booking_conversion.sql::pre-booked-same-millisecond``
(a scenario saying ``combination: 2`` is ``...::void-included[combination-2]``).
A failing item shows the expected and actual counts per bucket of a profile's query, or the
expected and actual rows of a query without a profile (``*`` marks a difference), or the SQLSTATE
and message PostgreSQL gave. A file that cannot be used (a bad scenario, a query that cannot be
planned, such as one without a schema) fails as its own item; the rest of the session runs.

Fixtures for a project's own database tests, as pytest-postgresql's factories:
``convguard_server`` (the session's server) and ``convguard_database`` (a factory:
``convguard_database(schema_or_ddl_or_prisma_path)`` -> a fresh database cloned from a template
per schema, with ``.connection``, dropped after the test).

One PostgreSQL server per session (per xdist worker, each with its own databases); the scenario
rows of an item live in a transaction that is rolled back. Options (command line, or the ini
keys in brackets): ``--convguard-dsn`` (``convguard_dsn``; default ``$CONVGUARD_DATABASE_URL``),
``--convguard-driver`` (``convguard_driver``), ``--convguard-provider`` (``convguard_provider``),
``--convguard-config`` (``convguard_config``).

pytest loads this module for every run, so it imports nothing heavy: the kit, psycopg and YAML
load only when a scenario file is collected.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from convguard._schema import Schema
    from convguard.kit import DatabaseHandle
    from convguard.kit.server import Server
    from convguard.commands.test import PlannedQuery
    from convguard.kit.conformance.runner import ScenarioResult, Workbench

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
_OPTIONS = {
    "dsn": "an existing PostgreSQL server URL (default: $CONVGUARD_DATABASE_URL, else embedded)",
    "driver": "parameter binding: auto, prisma, node-postgres or typed (default: configuration)",
    "provider": "database provider: embedded, system, url or docker (default: configuration)",
    "config": "the convguard.toml (or pyproject.toml) to use (default: found from the rootdir)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("convguard", "convguard conformance scenarios")
    for name, help_text in _OPTIONS.items():
        group.addoption(f"--convguard-{name}", dest=f"convguard_{name}", default=None,
                        help=help_text)
        parser.addini(f"convguard_{name}", help_text, default=None)
    help_text = ("let a url DSN name a superuser (queries still run as a least-privilege role "
                 "made for the run)")
    group.addoption("--convguard-allow-superuser", dest="convguard_allow_superuser",
                    action="store_true", default=False, help=help_text)
    parser.addini("convguard_allow_superuser", help_text, type="bool", default=False)


def _setting(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"convguard_{name}", default=None)
    if value:
        return str(value)
    ini = config.getini(f"convguard_{name}")
    return str(ini) if ini else None


class ScenarioFailed(Exception):
    """A (query, scenario) did not conform; carries the result for the report."""

    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.scenario)
        self.result = result


class _Session:
    """Per-process state: the configuration, the plans, the scenario cache and the server."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._dirs: tuple[str, ...] | None = None
        self._source: tuple[str] | None = None
        self._planned: list[PlannedQuery] | None = None
        self._failures: list[tuple[str, tuple[str, ...], Exception]] = []
        self._templates: dict[str, Any] = {}
        self._cache: Any = None
        self._bench: Workbench | None = None
        self._warned = False

    def _config_path(self) -> str | None:
        path = _setting(self.config, "config")
        if path and not os.path.isabs(path):
            path = str(self.config.rootpath / path)
        return path

    def _config_source(self) -> str | None:
        """The configuration file: the option, else the one found from the rootdir."""
        if self._source is None:
            from convguard.commands.test import load_config

            config = load_config(self._config_path(), str(self.config.rootpath))
            self._source = (config.source or "",)
            entries = list(config.scenarios)
            for query in config.queries:
                entries.extend(query.scenarios)
            self._dirs = tuple(os.path.realpath(config.resolve(e)) for e in entries) \
                if config.source else ()
        return self._source[0] or None

    def scenario_dirs(self) -> tuple[str, ...]:
        """Real paths of every configured scenarios folder or file."""
        self._config_source()
        return self._dirs or ()

    def wants(self, path: Path) -> bool:
        real = os.path.realpath(path)
        return any(real == d or real.startswith(d + os.sep) for d in self.scenario_dirs())

    def planned(self) -> list[PlannedQuery]:
        """Plans of the configured queries that could be planned (see :meth:`failures`)."""
        if self._planned is None:
            self._plan()
        return self._planned or []

    def failures(self) -> list[tuple[str, tuple[str, ...], Exception]]:
        """``(query, real scenario paths, error)`` per configured query that cannot be planned
        (no schema, a missing file...): its scenario files fail with the error as their items,
        and the other queries still run."""
        if self._planned is None:
            self._plan()
        return self._failures

    def _plan(self) -> None:
        from convguard._paths import display_path
        from convguard.commands.test import load_config, plan_queries

        config = load_config(self._config_source(), str(self.config.rootpath))
        planned: list[PlannedQuery] = []
        failures: list[tuple[str, tuple[str, ...], Exception]] = []
        for query in config.queries:
            selector = display_path(config.resolve(query.path)) + (
                f"::{query.function}" if query.function else "")
            try:
                planned += plan_queries([selector], config_path=config.source,
                                        driver=_setting(self.config, "driver"))
            except Exception as error:  # noqa: BLE001 - reported by the query's scenario items
                sources = query.scenarios or config.scenarios
                failures.append((query.selector(), tuple(
                    os.path.realpath(config.resolve(source)) for source in sources), error))
        self._planned, self._failures = planned, failures

    def failures_for(self, path: Path) -> list[tuple[str, Exception]]:
        real = os.path.realpath(path)
        return [(name, error) for name, sources, error in self.failures()
                if any(real == source or real.startswith(source + os.sep)
                       for source in sources)]

    def plans_for(self, path: Path) -> list[PlannedQuery]:
        real = os.path.realpath(path)
        chosen = []
        for item in self.planned():
            for source in item.scenario_sources:
                source = os.path.realpath(source)
                if real == source or real.startswith(source + os.sep):
                    chosen.append(item)
                    break
        return chosen

    def load(self, item: PlannedQuery, path: Path) -> Any:
        from convguard.commands.test import ScenarioCache

        if self._cache is None:
            self._cache = ScenarioCache()
        from convguard._paths import display_path

        # relative to the current folder, as `convguard test` names scenarios in its reports
        scenarios = self._cache.load((display_path(str(path)),), item.plan)
        return scenarios[0]

    def bench(self) -> Workbench:
        if self._bench is None:
            from convguard.commands.test import server_choice
            from convguard.kit.conformance.runner import Workbench

            from convguard.commands.test import load_config

            try:
                config = load_config(self._config_source(), str(self.config.rootpath))
            except Exception:  # noqa: BLE001 - a broken configuration: the default server
                config = None
            provider, dsn = server_choice(_setting(self.config, "dsn"),
                                          _setting(self.config, "provider"), config)
            allow = bool(self.config.getoption("convguard_allow_superuser", default=False)
                         or self.config.getini("convguard_allow_superuser"))
            self._bench = Workbench.start(provider, dsn=dsn, allow_superuser=allow)
        return self._bench

    def template(self, ddl: str) -> Any:
        """A template database holding ``ddl`` on the session's server (made once per DDL)."""
        if ddl not in self._templates:
            from convguard.kit.server.databases import create_template

            self._templates[ddl] = create_template(self.bench().server, ddl,
                                                   prefix="convguard_fixture_tpl")
        return self._templates[ddl]

    def warn_once(self, error: Exception) -> None:
        """Say, once per session, why no scenario is collected (a broken configuration)."""
        if self._warned:
            return
        self._warned = True
        from convguard._ci_log import format_error
        from convguard._errors import ConvguardError

        text = (format_error(error).strip() if isinstance(error, ConvguardError)
                else f"convguard: error: {type(error).__name__}: {error}")
        import warnings

        warnings.warn(pytest.PytestConfigWarning(
            f"{text}\n(no convguard scenario is collected until the configuration is fixed)"),
            stacklevel=1)

    def close(self) -> None:
        templates, self._templates = list(self._templates.values()), {}
        for template in templates:
            template.drop()
        if self._bench is not None:
            bench, self._bench = self._bench, None
            bench.close()


_SESSION = pytest.StashKey[_Session]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION] = _Session(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in SCENARIO_SUFFIXES:
        return None
    session = parent.config.stash[_SESSION]
    try:
        wanted = session.wants(file_path)
    except Exception as error:  # noqa: BLE001 - a broken configuration collects no scenario
        session.warn_once(error)
        wanted = False
    if not wanted or not file_path.is_file():  # a FIFO named like a scenario is never opened
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


def _query_names(planned: list[PlannedQuery]) -> dict[int, str]:
    """Readable, unique names: ``booking_conversion.sql``, ``actions.ts:getStats``."""
    names = {}
    for item in planned:
        query = item.plan.query
        name = os.path.basename(query.path)
        if query.function:
            name += f":{query.function}"
        names[id(item)] = name
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    for item in planned:
        if counts[names[id(item)]] > 1:
            query = item.plan.query
            names[id(item)] = f"{os.path.relpath(query.path)}:{query.span.start_position.line}"
    return names


class ScenarioFile(pytest.File):
    """A scenario file: one node per configured query whose scenarios include it."""

    def collect(self) -> Iterator[pytest.Collector]:
        session = self.config.stash[_SESSION]
        try:
            planned = session.plans_for(self.path)
            names = _query_names(session.planned())
            failures = session.failures_for(self.path)
        except Exception as error:  # noqa: BLE001 - this file's failure, not the session's
            planned, names, failures = [], {}, [("convguard", error)]
        for item in planned:
            yield QueryNode.from_parent(self, name=names[id(item)], planned=item)
        for name, error in failures:  # a query that cannot be planned fails its files' items
            yield QueryNode.from_parent(self, name=name, planned=None, error=error)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        return _error_text(excinfo) or super().repr_failure(excinfo)


class QueryNode(pytest.Collector):
    """A query (``booking_conversion.sql``) under a scenario file; holds the scenario's item, so
    ``file.yaml::booking_conversion.sql::scenario-name`` selects one item."""

    def __init__(self, *, planned: PlannedQuery | None, error: Exception | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.error = error

    def collect(self) -> Iterator[pytest.Item]:
        session = self.config.stash[_SESSION]
        if self.planned is None:
            scenario, name, error = None, self.path.stem, self.error
        else:
            try:
                scenario = session.load(self.planned, self.path)
                name, error = scenario.name, None
                if scenario.combination != 1:  # as pytest names a parametrised item
                    name += f"[combination-{scenario.combination}]"
            except Exception as exc:  # noqa: BLE001 - shown as the item's failure, not a crash
                scenario, name, error = None, self.path.stem, exc
        yield ScenarioItem.from_parent(self, name=name, planned=self.planned,
                                       scenario=scenario, load_error=error)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        return _error_text(excinfo) or super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    """One (query, scenario) pair, run on the session's server."""

    def __init__(self, *, planned: PlannedQuery | None, scenario: Any,
                 load_error: Exception | None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.scenario = scenario
        self.load_error = load_error

    def runtest(self) -> None:
        if self.load_error is not None:
            raise self.load_error
        assert self.planned is not None
        result = self.config.stash[_SESSION].bench().run(self.planned.plan, self.scenario)
        self.user_properties.append(("convguard_elapsed_ms", round(result.elapsed_ms, 3)))
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            from convguard.kit.conformance.report import format_result

            return format_result(excinfo.value.result)
        return _error_text(excinfo) or super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        label = self.planned.plan.label if self.planned is not None else self.parent.name
        return self.path, None, f"{label} with {self.name}"


def _error_text(excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    from convguard._errors import ConvguardError

    error = excinfo.value
    if isinstance(error, ConvguardError):
        from convguard._ci_log import format_error

        return format_error(error).rstrip("\n").replace("convguard: error: ", "convguard: ", 1)
    return None


# Fixtures: a session server and a database per test, as pytest-postgresql's factories ----------

@pytest.fixture(scope="session")
def convguard_server(request: pytest.FixtureRequest) -> Server:
    """The session's throwaway PostgreSQL server (one per xdist worker), chosen as the scenario
    items' is (``--convguard-dsn``, ``--convguard-provider``, the configuration); stopped, with
    every database convguard made on it, when the session ends."""
    return request.config.stash[_SESSION].bench().server


@pytest.fixture()
def convguard_database(request: pytest.FixtureRequest,
                       convguard_server: Server) -> Iterator[Callable[..., DatabaseHandle]]:
    """A factory of fresh databases for this test: ``convguard_database(schema)`` with a
    :class:`convguard.Schema`, DDL text, or the path of a ``schema.prisma`` (a ``pathlib.Path``),
    returns a :class:`convguard.kit.DatabaseHandle` (``.connection``: autocommit, UTC). Each
    schema is loaded once per session into a template; each call clones it (milliseconds), and
    the clones are dropped after the test.

    Example::

        def test_revenue(convguard_database):
            db = convguard_database(Path("prisma/schema.prisma"))
            seed(db.connection, {...}, schema)
    """
    from convguard._schema import Schema as SchemaType
    from convguard.kit import DatabaseHandle as Handle

    session = request.config.stash[_SESSION]
    made: list[tuple[Any, Any]] = []

    def make(schema_or_ddl: Schema | str | os.PathLike[str]) -> DatabaseHandle:
        if isinstance(schema_or_ddl, os.PathLike):
            from convguard.kit import schema_from_prisma

            schema_or_ddl = schema_from_prisma(schema_or_ddl)
        if isinstance(schema_or_ddl, SchemaType):
            from convguard._ddl import schema_ddl

            ddl = schema_ddl(schema_or_ddl)
        else:
            ddl = schema_or_ddl
        database = session.template(ddl).clone(prefix="convguard_test")
        conn = database.connect()
        made.append((database, conn))
        conn.execute("SET TimeZone = 'UTC'")
        return Handle(conn, database.conninfo, database.name, convguard_server)

    yield make
    for database, conn in made:
        conn.close()
        database.drop()
