"""The static check: extract -> parse -> lineage -> rules -> suppressions -> diagnostics.

No database, no CLI, no report: this module returns values (and never raises for a bad input
file — unreadable or unlexable files become ``CheckResult.errors``, which make the CLI exit 2).
Invalid SQL is a diagnostic (``CG001``), not an error.

Example:
    >>> from convguard._config import Config
    >>> result = check_source("q.sql", 'SELECT d.id FROM "AIDraft" d WHERE d."updatedAt" > $1;',
    ...                       config=Config(root="."))
    >>> [(d.code, d.line, d.column) for d in result.diagnostics]
    [('CG104', 1, 36)]
    >>> check_source("q.sql", "SELECT , FROM t", config=Config(root=".")).diagnostics[0].code
    'CG001'
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convguard._errors import ConvguardError, InputError, SelectorError
from convguard._model import Diagnostic, ExtractedQuery, ExtractionResult, HostText

if TYPE_CHECKING:
    from convguard._config import Config, QueryConfig
    from convguard._lineage import QueryLineage
    from convguard._parse import ParsedQuery
    from convguard._schema import Schema
    from convguard.rules import Binding, Finding, Rule

SKIPPED_FOLDERS = frozenset({"node_modules", ".git", "dist", "build", "__pycache__", ".venv"})


@dataclass(frozen=True)
class CheckResult:
    """What a check found: diagnostics (sorted), files and queries checked, unusable inputs."""

    diagnostics: tuple[Diagnostic, ...] = ()
    files: tuple[str, ...] = ()
    queries: int = 0
    errors: tuple[ConvguardError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.diagnostics and not self.errors

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 2 unusable input, 1 findings, 0 clean."""
        return 2 if self.errors else 1 if self.diagnostics else 0

    def merge(self, other: CheckResult) -> CheckResult:
        return CheckResult(
            tuple(sorted(self.diagnostics + other.diagnostics, key=lambda d: d.sort_key)),
            self.files + other.files, self.queries + other.queries, self.errors + other.errors)


class _State:
    """Diagnostics and errors collected while checking (one per check call)."""

    __slots__ = ("diagnostics", "errors")

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.errors: list[ConvguardError] = []


def check_source(path: str, text: str, *, config: Config | None = None,
                 schema: Schema | None = None) -> CheckResult:
    """Check the queries of one file given as text.

    ``config`` None finds the configuration from ``path`` upwards (``convguard.toml`` or
    ``[tool.convguard]``); ``schema`` None is the configured one, else the built-in booking schema.
    """
    state = _State()
    try:
        if config is None:
            from convguard._config import find_config

            config = find_config(path)
        from convguard.extract import extract_source

        extraction = extract_source(path, text, tags=config.tags)
    except ConvguardError as error:
        return CheckResult(files=(path,), errors=(error,))
    host = HostText(path, text)
    try:
        schema = schema or default_schema(config)
    except ConvguardError as error:
        return CheckResult(files=(path,), errors=(error,))
    count = check_extraction(extraction, host, config, schema=schema, state=state)
    diagnostics = tuple(sorted(_selected(state.diagnostics, config), key=lambda d: d.sort_key))
    return CheckResult(diagnostics, (path,), count, tuple(state.errors))


def check_paths(paths: Sequence[str], *, config: Config | None = None,
                schema: Schema | None = None) -> CheckResult:
    """Check files and folders (walked for supported suffixes, skipping dependency folders).

    Example:
        >>> check_paths(["/no/such/file.ts"]).errors[0].message
        'no such file or folder'
    """
    from convguard.extract import SUPPORTED_SUFFIXES

    diagnostics: list[Diagnostic] = []
    files: list[str] = []
    errors: list[ConvguardError] = []
    queries = 0
    for path in paths:
        if os.path.isdir(path):
            found = sorted(_walk(path, SUPPORTED_SUFFIXES))
        elif os.path.exists(path):
            found = [path]
        else:
            errors.append(InputError("no such file or folder", path=path))
            continue
        for file in found:
            try:
                with open(file, encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError) as error:
                reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
                files.append(file)
                errors.append(InputError(f"cannot read the file: {reason}", path=file))
                continue
            result = check_source(file, text, config=config, schema=schema)
            diagnostics.extend(result.diagnostics)
            files.extend(result.files)
            errors.extend(result.errors)
            queries += result.queries
    return CheckResult(tuple(sorted(diagnostics, key=lambda d: d.sort_key)), tuple(files),
                       queries, tuple(errors))


def _walk(folder: str, suffixes: Iterable[str]) -> Iterator[str]:
    wanted = tuple(suffixes)
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS
                            and not name.startswith("."))
        for name in names:
            if name.lower().endswith(wanted):
                yield os.path.join(root, name)


def _selected(diagnostics: Iterable[Diagnostic], config: Config) -> Iterator[Diagnostic]:
    for diagnostic in diagnostics:
        if config.select and not diagnostic.code.startswith(tuple(config.select)):
            continue
        if config.ignore and diagnostic.code.startswith(tuple(config.ignore)):
            continue
        yield diagnostic


def _enabled_codes(config: Config) -> set[str]:
    from convguard.rules import RULES

    return {code for code in RULES if not (config.select and not code.startswith(
        tuple(config.select))) and not (config.ignore and code.startswith(tuple(config.ignore)))}


# -- one file ----------------------------------------------------------------------------------

_DEFAULT_SCHEMA: list[Schema] = []


def default_schema(config: Config | None = None) -> Schema:
    """The schema lineage resolves against: the configured one if it can be loaded, else built-in."""
    if config is not None and config.schema:
        loaded = _configured_schema(config)
        if loaded is not None:
            return loaded
    if not _DEFAULT_SCHEMA:
        from convguard._schema import booking_schema

        _DEFAULT_SCHEMA.append(booking_schema())
    return _DEFAULT_SCHEMA[0]


_CONFIGURED: dict[str, Schema | None] = {}


def _configured_schema(config: Config) -> Schema | None:
    """The schema of the configuration's ``schema = "prisma/schema.prisma"`` (read once).

    A configured file that cannot be read or parsed raises SchemaError, so the file's check reports
    it with the path and line.
    """
    path = config.resolve(config.schema or "")
    if path not in _CONFIGURED:
        from convguard._prisma import schema_from_config

        _CONFIGURED[path] = schema_from_config(path)
    return _CONFIGURED[path]


def check_extraction(extraction: ExtractionResult, host: HostText, config: Config, *,
                     schema: Schema | None = None, state: _State | None = None) -> int:
    """Run every rule on one file's extraction; diagnostics and errors go to ``state``.

    Returns the number of queries checked. The cyclic garbage collector is paused while one file
    is checked: sqlglot trees are large and cyclic (parent links), and collections triggered by
    their allocations cost as much as parsing them; collection resumes after the file.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _check_extraction(extraction, host, config, schema, state)
    finally:
        if enabled:
            gc.enable()


def _check_extraction(extraction: ExtractionResult, host: HostText, config: Config,
                      schema: Schema | None, state: _State | None) -> int:
    from convguard._lineage import lineage as build_lineage
    from convguard._parse import parse
    from convguard._suppress import (
        host_suppressions,
        sql_suppressions,
        suppress,
        unused_diagnostics,
    )
    from convguard.rules import RULES, RuleContext

    state = state if state is not None else _State()
    schema = schema or default_schema(config)
    entries = _entries(config, extraction, state)
    script = not extraction.path.lower().endswith(".sql")
    recorded = [item for query in extraction.queries for item in query.host_suppressions]
    suppressions = host_suppressions(host, recorded) if script else []
    found: list[Diagnostic] = []
    enabled = _enabled_codes(config)
    query_rules = [rule for rule in RULES.values() if rule.kind == "query" and rule.code in enabled]
    for query in extraction.queries:
        parsed = parse(query)
        lineage = _lineage_for(parsed, schema, build_lineage)
        binding = _binding(query, parsed, entries, config, state)
        context = RuleContext(config, schema, extraction, host, binding, {})
        suppressions.extend(sql_suppressions(query, parsed, host))
        for rule in query_rules:
            if rule.profile is not None and (binding is None or rule.profile not in (
                    "*", binding.profile.name)):
                continue
            if rule.check is None or (rule.needs_tree and parsed.tree is None):
                continue
            try:
                for finding in rule.check(query, parsed, lineage, context):
                    found.append(_diagnostic(rule, finding, query, host))
            except Exception as error:  # noqa: BLE001 - a rule's bug must not hide the others
                state.errors.append(_internal_error(rule, query, error))
    file_context = RuleContext(config, schema, extraction, host, None, {})
    for rule in RULES.values():
        if rule.kind == "file" and rule.check is not None and rule.code in enabled:
            try:
                for finding in rule.check(extraction, file_context):
                    found.append(_diagnostic(rule, finding, None, host))
            except Exception as error:  # noqa: BLE001
                state.errors.append(_internal_error(rule, None, error))
    found = _unique(found)
    kept, unused = suppress([d for d in found if d.code in enabled], suppressions)
    if "CG002" in enabled:
        kept.extend(unused_diagnostics(unused, enabled=enabled))
    state.diagnostics.extend(kept)
    return len(extraction.queries)


def _internal_error(rule: Rule, query: ExtractedQuery | None, error: Exception
                    ) -> ConvguardError:
    where = query.span.start_position.line if query is not None else None
    return ConvguardError(
        f"internal error in rule {rule.code} ({rule.name}): {type(error).__name__}: {error}",
        path=query.path if query is not None else None, line=where,
        hint="this is a convguard bug: please report it with the query; "
             f"--ignore {rule.code} skips the rule meanwhile")


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[object, ...]] = set()
    unique = []
    for diagnostic in diagnostics:
        key = (diagnostic.code, diagnostic.line, diagnostic.column, diagnostic.message)
        if key not in seen:
            seen.add(key)
            unique.append(diagnostic)
    return unique


_LINEAGES: dict[tuple[int, int], tuple[object, object, QueryLineage]] = {}


def _lineage_for(parsed: ParsedQuery, schema: Schema, build: object) -> QueryLineage:
    key = (id(parsed), id(schema))
    cached = _LINEAGES.get(key)
    if cached is not None and cached[0] is parsed and cached[1] is schema:
        return cached[2]
    result = build(parsed.tree, schema)  # type: ignore[operator]
    if len(_LINEAGES) > 256:
        _LINEAGES.clear()
    _LINEAGES[key] = (parsed, schema, result)
    return result


# -- profile binding ---------------------------------------------------------------------------

def _entries(config: Config, extraction: ExtractionResult, state: _State
             ) -> tuple[QueryConfig, ...]:
    """The ``[[query]]`` entries with a profile that name this file (each must select a query)."""
    entries = tuple(entry for entry in config.queries_for(extraction.path) if entry.profile)
    for entry in entries:
        if entry.function is None:
            if not extraction.queries:
                state.errors.append(SelectorError(
                    f"{entry.path} holds no query, but the configuration binds it to profile "
                    f"{entry.profile!r}", path=config.source, line=entry.line,
                    hint="fix the [[query]] path, or remove the entry"))
        elif not any(query.function == entry.function for query in extraction.queries):
            state.errors.append(SelectorError(
                f"no query inside function {entry.function!r} of {entry.path}",
                path=config.source, line=entry.line,
                hint="fix the [[query]] function name (the nearest named function enclosing the "
                     "query)"))
    return entries


def _binding(query: ExtractedQuery, parsed: ParsedQuery, entries: Sequence[QueryConfig],
             config: Config, state: _State) -> Binding | None:
    from sqlglot import exp

    from convguard.profiles import get_profile
    from convguard.rules import Binding
    from convguard.rules._binding import bind_roles

    entry = next((e for e in entries if e.function is None or e.function == query.function), None)
    if entry is None or entry.profile is None:
        return None
    if parsed.tree is not None and (
            not isinstance(parsed.tree, (exp.Select, exp.SetOperation, exp.Subquery))
            or not parsed.find_all(exp.Table)):
        # SET LOCAL ..., SELECT set_config(...): statements around the query, not the query
        return None
    try:
        profile = get_profile(entry.profile)
    except ConvguardError as error:
        error.path = error.path or config.source
        error.line = error.line or entry.line
        state.errors.append(error)
        return None
    roles, unmapped = bind_roles(profile, query, entry)
    return Binding(profile, entry, roles, config, tuple(unmapped))


# -- positions ---------------------------------------------------------------------------------

def _diagnostic(rule: Rule, finding: Finding, query: ExtractedQuery | None, host: HostText
                ) -> Diagnostic:
    if finding.host_span is not None:
        span = finding.host_span
        start, end = span.start_position, span.end_position
    else:
        assert query is not None
        from convguard.rules._base import host_range

        first, last = host_range(query, finding.start, finding.end)
        start, end = host.position(first), host.position(last)
    return Diagnostic(
        code=rule.code, name=rule.name, message=finding.message, path=host.path,
        line=start.line, column=start.column, end_line=end.line, end_column=end.column,
        severity=rule.severity, fix=finding.fix, function=query.function if query else None,
    )


__all__ = ["CheckResult", "check_extraction", "check_paths", "check_source", "default_schema"]
