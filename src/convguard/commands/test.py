"""``convguard test``: plan the queries, load the scenarios, run them, report, exit 0/1/2.

``convguard test [PATH[::FUNCTION]]... [--scenarios DIR]...
[--driver auto|prisma|node-postgres|typed] [--dsn URL] [--provider embedded|system|url|docker] [--format text|json] [--config FILE]``

- No PATH: every ``[[query]]`` of the configuration.
- A query declared with a ``profile`` is judged by it (its roles, result, oracle and, with no
  scenarios configured, its packaged scenario set); any other query is *generic*: its parameters
  are named by their interpolations, its scenarios list the rows it must return
  (:mod:`convguard.kit.conformance.generic`), and its schema is the application's
  (:func:`convguard._schema_discovery.locate_schema`), never a profile's.
- Scenarios: ``--scenarios``, else the query's ``scenarios``, else the configuration's.
- Driver: ``--driver``, else the query's ``driver``, else the configuration's; ``auto`` (the
  default) binds a source that uses Prisma as ``prisma``, one that uses ``pg`` directly and every
  ``.sql`` file as ``node-postgres`` (:mod:`convguard._stack`). The report names each query's.
- Server: ``--dsn`` or ``$CONVGUARD_DATABASE_URL`` (the ``url`` provider), else ``--provider``,
  else the configuration's ``provider`` (default ``embedded``).
- Exit 0: every (query, scenario) conforms; 1: one does not; 2: the run could not happen (no
  server, a bad scenario, an unmapped interpolation): a message and a hint, never a traceback.
  Every scenario file is read before a server starts, and each one that cannot be used is
  reported (``path:line: message`` and its hint, in file order; JSON ``errors``), not only the
  first.

The planning half (:func:`plan_queries`) needs no database and is shared with the pytest plugin.

Example:
    >>> split_selector("actions/a.ts::getStats"), split_selector("q.sql")
    (('actions/a.ts', 'getStats'), ('q.sql', None))
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from convguard._config import Config, QueryConfig, find_config, load_config_file
from convguard._errors import (
    ConfigError,
    ConvguardError,
    InputError,
    ScenarioError,
    ScenarioErrors,
    SelectorError,
)
from convguard._files import not_regular
from convguard._model import ExtractedQuery
from convguard._paths import display_path, split_selector
from convguard._schema import Schema
from convguard._stack import driver_for_query
from convguard.kit.conformance.profile_kit import ProfileKit, profile_kit
from convguard.kit.conformance.runner import (
    QueryPlan,
    ScenarioResult,
    is_setup_statement,
    statement_timeout_for,
)
from convguard.kit.scenario.files import Scenario, read_scenarios

DATABASE_URL_ENV = "CONVGUARD_DATABASE_URL"


@dataclass(frozen=True)
class Target:
    """A query file (and function) to test, with the configuration that governs it."""

    path: str
    function: str | None
    config: Config
    query_config: QueryConfig | None = None
    profile: str | None = None  # --profile, for a query the configuration does not declare


@dataclass(frozen=True)
class PlannedQuery:
    """A plan and the scenario sources it runs against."""

    plan: QueryPlan
    scenario_sources: tuple[str, ...]
    config: Config
    #: a query without a profile: the parameter names every combination of its call site
    #: interpolates (None for a profile's query, whose params are roles with defaults)
    parameter_names: frozenset[str] | None = None


def load_config(config_path: str | None, start: str) -> Config:
    """``--config FILE``, else the configuration found from ``start`` upwards."""
    if config_path:
        if not os.path.exists(config_path):
            raise ConfigError("configuration file not found", path=config_path)
        config = load_config_file(config_path)
        if config is None:
            raise ConfigError("the file has no [tool.convguard] table", path=config_path)
        return config
    return find_config(start)


def targets_from(selectors: Sequence[str], config_path: str | None,
                 profile: str | None = None) -> list[Target]:
    """The queries to test: the selectors given, else those the configuration declares.

    ``profile`` (``--profile``) judges a selected query the configuration does not declare by a
    profile; without it such a query is generic.
    """
    if selectors:
        targets = []
        for selector in selectors:
            path, function = split_selector(selector)
            kind = not_regular(path)
            if kind is not None:
                raise InputError(f"not a regular file ({kind})", path=path,
                                 hint="name a TS/JS or .sql file, e.g. actions/stats.ts::getStats")
            if not os.path.isfile(path):
                raise InputError("no such file", path=path, hint="check the path")
            config = load_config(config_path, path)
            matches = [q for q in config.queries_for(path)
                       if function is None or q.function == function]
            targets.append(Target(path, function, config, matches[0] if matches else None,
                                  profile))
        return targets
    config = load_config(config_path, os.getcwd())
    declared = list(config.queries)
    if not declared:
        where = config.source or "no convguard.toml or [tool.convguard] found"
        raise ConfigError("no query to test: give PATH[::FUNCTION] or declare [[query]] entries",
                          path=config.source,
                          hint=f'add [[query]] path = "..." to the configuration ({where})')
    for query in declared:
        if not os.path.exists(config.resolve(query.path)):
            raise ConfigError(f"[[query]] path {query.path!r}: no such file", path=config.source,
                              line=query.line_of("path"),
                              hint="paths are relative to the configuration's folder")
    return [Target(display_path(config.resolve(q.path)), q.function, config, q)
            for q in declared]


def select_queries(target: Target) -> tuple[list[ExtractedQuery], Any]:
    """The queries of a target file under test (``SET ...`` statements excluded).

    A call site whose fragments are chosen at run time yields several combinations; this returns
    the first, where every ternary and helper takes its first branch, a ``let`` its first
    conditional assignment, and every conditional ``push`` happens (``convguard extract`` lists
    them all; :func:`call_site_combinations` finds the others, which a scenario's
    ``combination: N`` runs). A statement holding SQL convguard cannot see (an opaque fragment)
    cannot be run: a SelectorError names the fragment.
    """
    from convguard.extract import extract_source

    from convguard._files import SOURCE_MAX_BYTES, read_text

    text = read_text(target.path, limit=SOURCE_MAX_BYTES)
    extraction = extract_source(target.path, text, tags=target.config.tags)
    queries = [q for q in extraction.queries if not is_setup_statement(q)]
    if target.function is not None:
        queries = [q for q in queries if q.function == target.function]
        if not queries:
            functions = sorted({q.function for q in extraction.queries if q.function})
            hint = f"functions with queries: {', '.join(functions) or 'none'}"
            entry = target.query_config
            if entry is not None and target.config.source is not None:
                # declared in the configuration: the line to fix is there, as `check` says
                raise SelectorError(
                    f"no query inside function {target.function!r} of {entry.path}",
                    path=target.config.source, line=entry.line_of("function"),
                    hint="fix the [[query]] function name (the nearest named function "
                         f"enclosing the query); {hint}")
            raise SelectorError(f"no query inside function {target.function!r}",
                                path=target.path, hint=hint)
    if not queries:
        raise SelectorError("the file holds no query to test", path=target.path,
                            hint="convguard test needs a SELECT/WITH query")
    queries = [q for q in queries if q.variant == 1]
    for query in queries:
        if query.opaque:
            fragment = query.opaque[0]
            where = fragment.host_span.start_position
            raise SelectorError(
                f"the query at line {query.span.start_position.line} splices "
                f"${{{fragment.expression}}} (line {where.line}), SQL convguard cannot see "
                "(a fragment parameter or an import), so it cannot be run",
                path=target.path, line=where.line,
                hint="test the function that assembles the whole statement in one file, or "
                     "build the fragment in this file")
    return queries, extraction


def call_site_combinations(query: ExtractedQuery, extraction: Any) -> tuple[ExtractedQuery, ...]:
    """Every combination of ``query``'s call site, in ``convguard extract``'s numbering.

    Example:
        >>> from convguard.extract import extract_source
        >>> extraction = extract_source("q.ts", "const f = (x) => prisma.$queryRaw`SELECT 1 "
        ...     "${x ? Prisma.sql`WHERE true` : Prisma.empty}`")
        >>> [q.variant for q in call_site_combinations(extraction.queries[0], extraction)]
        [1, 2]
    """
    found = [other for other in extraction.queries if other.site == query.site]
    return tuple(sorted(found, key=lambda other: other.variant))


SCHEMA_HINT = ('set schema = "prisma/schema.prisma" (a file, or a folder of .prisma files) in '
               "the configuration, or keep the Prisma schema at prisma/schema.prisma")


def _schema_location(target: Target, kit: ProfileKit | None) -> Any:
    """Where the target's schema is (:func:`convguard._schema_discovery.locate_schema`), or None
    for a profile's own data model; a query without a profile and without a schema is an error
    (never the booking data model)."""
    from convguard._schema_discovery import locate_schema

    if kit is not None and not target.config.schema:
        return None  # a profile query keeps its profile's data model unless one is configured
    location = locate_schema(target.path, target.config)
    if location is None:
        raise ConfigError(f"no schema for {target.path}: the configuration sets no schema and "
                          "no Prisma schema was found from the query's folder upwards",
                          path=target.config.source, hint=SCHEMA_HINT)
    return location


def _schema_for(location: Any, kit: ProfileKit | None) -> Schema:
    from convguard._schema_discovery import load_schema

    if location is None:
        assert kit is not None
        return kit.schema()
    return load_schema(location)


def _profile_of(target: Target) -> ProfileKit | None:
    """The profile kit of a declared ``profile``; None for a query without one (generic)."""
    name = target.query_config.profile if target.query_config else None
    name = name or target.profile
    return profile_kit(name, base=target.config.root) if name else None


def generic_plan_kit(query: ExtractedQuery, schema: Schema, renames: dict[str, str],
                     combinations: Sequence[ExtractedQuery] = ()) -> ProfileKit:
    """The kit of a query without a profile, knowing which columns it reads (placeholders);
    ``combinations`` (its call site's, ``query`` among them) validate a scenario's
    ``combination: N`` by the ``N``-th's own kit, made when a scenario asks for it."""
    from convguard._reads import columns_read
    from convguard.kit.conformance.generic import generic_kit

    def combination_kit(number: int) -> ProfileKit:
        return generic_plan_kit(combinations[number - 1], schema, renames)

    return generic_kit(query, schema, renames, read_columns=columns_read(query.sql, schema),
                       combinations=len(combinations) or 1,
                       combination_kit=combination_kit if len(combinations) > 1 else None)


def _scenario_sources(target: Target, override: Sequence[str]) -> tuple[str, ...]:
    if override:
        return tuple(override)
    config = target.config
    query = target.query_config
    if query is not None and query.scenarios:
        return _configured_sources(config, query.scenarios, query.line_of("scenarios"))
    if config.scenarios:
        return _unclaimed(config, _configured_sources(config, config.scenarios,
                                                      config.line_of("scenarios")))
    kit = _profile_of(target)
    builtin = kit.builtin_scenarios if kit is not None else None
    if builtin is not None:
        # The profile's own scenario set ships with convguard: an application repository can
        # test its query against the semantics without copying fixtures.
        return (builtin,)
    raise ConfigError("no scenarios to run", path=config.source,
                      hint='pass --scenarios DIR or set scenarios = ["..."] in convguard.toml')


def _unclaimed(config: Config, sources: tuple[str, ...]) -> tuple[str, ...]:
    """The top-level scenario sources without the folders and files that a ``[[query]]`` claims
    with its own ``scenarios`` inside them: ``scenarios/`` may hold one folder per query, and a
    query's own scenarios (its parameters) are not run against the others."""
    top = {os.path.realpath(source) for source in sources}
    claimed = [os.path.realpath(config.resolve(entry))
               for query in config.queries for entry in query.scenarios]
    inside = [path for path in claimed if path not in top
              and any(path.startswith(folder + os.sep) for folder in top)]
    if not inside:
        return sources
    from convguard.kit.scenario.files import scenario_files

    def owned(file: str) -> bool:
        real = os.path.realpath(file)
        return any(real == path or real.startswith(path + os.sep) for path in inside)

    kept = tuple(file for file in scenario_files(sources) if not owned(file))
    if not kept:
        raise ConfigError("the scenarios folders hold no scenario of their own: a [[query]]'s "
                          "scenarios setting claims every file in them", path=config.source,
                          line=config.line_of("scenarios"),
                          hint="give the queries without scenarios of their own a folder, or "
                               "remove the top-level scenarios setting")
    return kept


def _configured_sources(config: Config, entries: Sequence[str], line: int | None
                        ) -> tuple[str, ...]:
    """The configuration's scenario folders; a missing one names the line that sets it."""
    for entry in entries:
        if not os.path.exists(config.resolve(entry)):
            raise ConfigError(f"scenarios: no such file or folder {entry!r}", path=config.source,
                              line=line, hint="paths are relative to the configuration's folder")
    return tuple(display_path(config.resolve(entry)) for entry in entries)


def plan_queries(selectors: Sequence[str] = (), *, config_path: str | None = None,
                 driver: str | None = None,
                 scenarios: Sequence[str] = (),
                 profile: str | None = None) -> list[PlannedQuery]:
    """Plans for the selected (or configured) queries; no database needed."""
    planned = []
    # One Schema object per (schema file, profile): plans that share it share their scenarios'
    # parsing and seeding (run_plans seeds each scenario once for all of them).
    schemas: dict[tuple[str | None, str | None], Schema] = {}
    for target in targets_from(selectors, config_path, profile):
        kit = _profile_of(target)
        queries, extraction = select_queries(target)
        location = _schema_location(target, kit)
        schema_key = (location.path if location is not None else None,
                      kit.profile.name if location is None and kit and kit.profile else None)
        if schema_key not in schemas:
            schemas[schema_key] = _schema_for(location, kit)
        schema = schemas[schema_key]
        sources = _scenario_sources(target, scenarios)
        qc = target.query_config
        renames = dict(qc.params) if qc else {}
        for query in queries:
            combinations = call_site_combinations(query, extraction)
            plan = QueryPlan(
                query=query, schema=schema,
                kit=kit if kit is not None else generic_plan_kit(
                    query, schema, renames, combinations),
                combinations=combinations,
                kit_of=None if kit is not None else _kit_maker(schema, renames, combinations),
                driver=driver_for_query(
                    driver or (qc.driver if qc and qc.driver else None) or target.config.driver,
                    query),
                client_time_zone=target.config.client_time_zone,
                params=dict(qc.params) if qc else {},
                statement_timeout=statement_timeout_for(query, extraction),
                config_source=target.config.source, query_line=qc.line if qc else None,
            )
            names = None
            if kit is None:
                from convguard.kit.conformance.generic import query_parameters

                names = frozenset(parameter.name for variant in combinations
                                  for parameter in query_parameters(variant, renames))
            planned.append(PlannedQuery(plan, sources, target.config, names))
    return planned


def _kit_maker(schema: Schema, renames: dict[str, str],
               combinations: Sequence[ExtractedQuery]) -> Any:
    """The kit of another combination of a query without a profile (see ``QueryPlan.kit_of``)."""
    def kit_of(query: ExtractedQuery) -> ProfileKit:
        return generic_plan_kit(query, schema, renames, combinations)

    return kit_of


class ScenarioCache:
    """Scenario files loaded once per (sources, schema, profile)."""

    def __init__(self) -> None:
        self._read: dict[tuple[Any, ...],
                         tuple[tuple[Scenario, ...], tuple[ScenarioError, ...]]] = {}

    def read(self, sources: Sequence[str], plan: QueryPlan
             ) -> tuple[tuple[Scenario, ...], tuple[ScenarioError, ...]]:
        """The usable scenarios and the error of each file that is not, every file read
        (:func:`~convguard.kit.scenario.files.read_scenarios`); sources holding no scenario file
        at all raise."""
        key = (tuple(sources), id(plan.schema),
               plan.kit.profile.name if plan.kit.profile is not None else id(plan.kit))
        if key not in self._read:
            scenarios, errors = read_scenarios(sources, schema=plan.schema,
                                               contract=plan.kit.contract)
            if not scenarios and not errors:
                raise ScenarioError("no scenario files found", path=", ".join(sources),
                                    hint="scenario files end in .yaml, .yml or .json")
            self._read[key] = scenarios, errors
        return self._read[key]

    def load(self, sources: Sequence[str], plan: QueryPlan) -> tuple[Scenario, ...]:
        """The scenarios of ``sources``; :class:`ScenarioErrors` lists every file that cannot be
        used."""
        scenarios, errors = self.read(sources, plan)
        if errors:
            raise ScenarioErrors(errors)
        return scenarios


def load_planned(planned: Sequence[PlannedQuery], cache: ScenarioCache
                 ) -> dict[int, tuple[Scenario, ...]]:
    """Each planned query's scenarios (by its position in ``planned``), read and checked before
    any server starts: every file of every query is read, and a scenario's ``combination: N``
    checked against the call site of each query that runs it, so one run reports every scenario
    file that cannot be used (:class:`ScenarioErrors`, in file order, each error once) instead
    of the first one."""
    loaded: dict[int, tuple[Scenario, ...]] = {}
    found: list[tuple[str, ScenarioError]] = []  # (the scenario file it is about, the error)
    for index, item in enumerate(planned):
        scenarios, errors = cache.read(item.scenario_sources, item.plan)
        found.extend((error.path or "", error) for error in errors)
        for scenario in scenarios:
            try:
                item.plan.for_scenario(scenario)  # a combination the call site lacks
            except ScenarioError as error:
                found.append((scenario.path, error))
        loaded[index] = scenarios
    if found:
        # file order across queries too; a file wrong the same way for two queries is one error
        unique: dict[tuple[Any, ...], ScenarioError] = {}
        for _file, error in sorted(found, key=lambda pair: pair[0]):
            unique.setdefault((error.path, error.line, error.message, error.hint), error)
        raise ScenarioErrors(list(unique.values()))
    return loaded


def server_choice(dsn: str | None, provider: str | None, config: Config | None) -> tuple[str,
                                                                                         str | None]:
    """(provider, dsn): a DSN (given or from the environment) means the ``url`` provider."""
    dsn = dsn or os.environ.get(DATABASE_URL_ENV) or None
    if dsn:
        return "url", dsn
    return provider or (config.provider if config else None) or "embedded", None


def unused_params(planned: Sequence[PlannedQuery], cache: ScenarioCache) -> list[str]:
    """Notes on scenario params that no query running the scenario interpolates, when every such
    query has no profile: a filter dropped from the query leaves its parameter unused (a
    tenant filter's ids), or the scenario keeps a stale one.

    The names of every combination of a call site count, so a parameter of a branch the kit
    does not run is not reported.
    """
    users: dict[str, tuple[Scenario, list[PlannedQuery]]] = {}
    for item in planned:
        for scenario in cache.load(item.scenario_sources, item.plan):
            users.setdefault(scenario.path, (scenario, []))[1].append(item)
    grouped: dict[tuple[str, str], list[str]] = {}
    for scenario, items in users.values():
        if any(item.parameter_names is None for item in items):
            continue
        used = frozenset().union(*(item.parameter_names or () for item in items))
        queries = ", ".join(sorted({item.plan.label for item in items}))
        for name in (str(name) for name in scenario.params if str(name) not in used):
            line = scenario.line_of("params", name)
            grouped.setdefault((name, queries), []).append(
                f"{scenario.path}:{line}" if line else scenario.path)
    notes = []
    for (name, queries), places in grouped.items():
        where = places[0] if len(places) == 1 else \
            f"{len(places)} scenarios ({places[0]}{f' and {len(places) - 1} more'})"
        notes.append(f"params.{name} of {where} is interpolated by no query that runs it "
                     f"({queries}): a filter dropped from the query, or a stale parameter?")
    return notes


def run_plans(planned: Sequence[PlannedQuery], *, provider: str = "embedded",
              dsn: str | None = None, after: Any = None,
              allow_superuser: bool = False,
              cache: ScenarioCache | None = None) -> list[ScenarioResult]:
    """Run every planned query against its scenarios on one server (started and stopped here).

    Scenarios are loaded (and validated) before the server starts, so a bad file costs nothing;
    every bad file is reported at once (:func:`load_planned`).
    ``after(bench, results)``, if given, runs on the same server before it stops.
    """
    from convguard.kit.conformance.runner import Workbench

    cache = cache or ScenarioCache()
    work: dict[str, tuple[Scenario, list[int]]] = {}
    for index, scenarios in load_planned(planned, cache).items():
        for scenario in scenarios:
            key = f"{scenario.path}\0{id(planned[index].plan.schema)}"
            work.setdefault(key, (scenario, []))[1].append(index)
    results: dict[tuple[int, str], ScenarioResult] = {}
    with Workbench.start(provider, dsn=dsn, allow_superuser=allow_superuser) as bench:
        for scenario, indexes in work.values():
            outcome = bench.run_scenario([planned[i].plan for i in indexes], scenario)
            for index, result in zip(indexes, outcome):
                results[(index, scenario.path)] = result
        if after is not None:
            after(bench, [results[key] for key in sorted(results)])
    return [results[key] for key in sorted(results)]


def run_test_command(args: Any, out: TextIO) -> int:
    """The ``convguard test`` command; returns the exit code (errors print, never raise)."""
    output_format = getattr(args, "format", None) or "text"
    started = time.perf_counter()
    try:
        config_path = getattr(args, "config", None)
        planned = plan_queries(
            list(getattr(args, "paths", None) or ()), config_path=config_path,
            driver=getattr(args, "driver", None),
            scenarios=list(getattr(args, "scenarios", None) or ()),
            profile=getattr(args, "profile", None))
        provider, dsn = server_choice(getattr(args, "dsn", None), getattr(args, "provider", None),
                                      planned[0].config if planned else None)
        generated = None
        examples = getattr(args, "examples", 0) or 0
        # Generated datasets and relations come from a profile's data generator and oracle.
        profiled = [item.plan for item in planned if item.plan.kit.profile is not None]
        generic = len(planned) - len(profiled)
        if examples > 0 and profiled:
            from convguard.kit.property.checks import GeneratedChecks

            generated = GeneratedChecks(profiled, examples=examples,
                                        seed=getattr(args, "seed", 0) or 0)
        cache = ScenarioCache()
        results = run_plans(planned, provider=provider, dsn=dsn, after=generated,
                            allow_superuser=bool(getattr(args, "allow_superuser", False)),
                            cache=cache)
        notes = unused_params(planned, cache)
    except ConvguardError as error:
        _print_error(error, sys.stderr)
        if output_format == "json":
            from convguard.kit.conformance.report import error_json

            out.write(error_json(error))
        return 2
    from convguard.kit.conformance.report import format_json, format_text

    elapsed = time.perf_counter() - started
    if output_format == "json":
        text = format_json(results, elapsed_s=elapsed)
        out.write(generated.merge_json(text) if generated else text)
    else:
        out.write(format_text(results, elapsed_s=elapsed,
                              verbose=bool(getattr(args, "verbose", False))))
        if generated:
            out.write(generated.format_text())
        for note in notes:
            out.write(f"note: {note}\n")
        if examples > 0 and generic:
            out.write(f"note: no generated datasets or metamorphic relations for the {generic} "
                      f"quer{'y' if generic == 1 else 'ies'} without a profile (they need a "
                      "profile's data generator and oracle)\n")
    passed = all(result.passed for result in results) and (not generated or generated.passed)
    return 0 if passed else 1


def _print_error(error: ConvguardError, err: TextIO) -> None:
    from convguard._ci_log import format_error

    err.write(format_error(error))


__all__ = ["DATABASE_URL_ENV", "PlannedQuery", "ScenarioCache", "Target", "load_planned",
           "plan_queries", "run_plans", "run_test_command", "server_choice",
           "targets_from"]
