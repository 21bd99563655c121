"""pytest plugin: every scenario file becomes one test per configured query.

Scenario files are collected only inside the ``scenarios`` folders of the configuration
(``convguard.toml`` or ``[tool.convguard]`` found from the rootdir, or ``--convguard-config``):
``pytest fixtures/scenarios`` yields items such as
``fixtures/scenarios/pre-booked.yaml::booking_conversion.sql::pre-booked-same-millisecond``.
A failing item shows the expected and actual counts per bucket (``*`` marks a difference), or the
SQLSTATE and message PostgreSQL gave.

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
        if self._planned is None:
            from convguard.commands.test import plan_queries

            self._planned = plan_queries(config_path=self._config_source(),
                                         driver=_setting(self.config, "driver"))
        return self._planned

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
        scenarios = self._cache.load((str(path),), item.plan)
        return scenarios[0]

    def bench(self) -> Workbench:
        if self._bench is None:
            from convguard.commands.test import server_choice
            from convguard.kit.conformance.runner import Workbench

            planned = self.planned()
            provider, dsn = server_choice(_setting(self.config, "dsn"),
                                          _setting(self.config, "provider"),
                                          planned[0].config if planned else None)
            self._bench = Workbench.start(provider, dsn=dsn)
        return self._bench

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
        planned = session.plans_for(self.path)
        names = _query_names(session.planned())
        for item in planned:
            yield QueryNode.from_parent(self, name=names[id(item)], planned=item)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        return _error_text(excinfo) or super().repr_failure(excinfo)


class QueryNode(pytest.Collector):
    """A query (``booking_conversion.sql``) under a scenario file; holds the scenario's item, so
    ``file.yaml::booking_conversion.sql::scenario-name`` selects one item."""

    def __init__(self, *, planned: PlannedQuery, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned

    def collect(self) -> Iterator[pytest.Item]:
        session = self.config.stash[_SESSION]
        try:
            scenario = session.load(self.planned, self.path)
            name, error = scenario.name, None
        except Exception as exc:  # noqa: BLE001 - shown as the item's failure, not a crash
            scenario, name, error = None, self.path.stem, exc
        yield ScenarioItem.from_parent(self, name=name, planned=self.planned,
                                       scenario=scenario, load_error=error)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        return _error_text(excinfo) or super().repr_failure(excinfo)


class ScenarioItem(pytest.Item):
    """One (query, scenario) pair, run on the session's server."""

    def __init__(self, *, planned: PlannedQuery, scenario: Any, load_error: Exception | None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.scenario = scenario
        self.load_error = load_error

    def runtest(self) -> None:
        if self.load_error is not None:
            raise self.load_error
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
        return self.path, None, f"{self.planned.plan.label} with {self.name}"


def _error_text(excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    from convguard._errors import ConvguardError

    error = excinfo.value
    if isinstance(error, ConvguardError):
        from convguard._ci_log import format_error

        return format_error(error).rstrip("\n").replace("convguard: error: ", "convguard: ", 1)
    return None
