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
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from convguard._errors import ConvguardError, InputError, SelectorError
from convguard._files import SOURCE_MAX_BYTES, not_regular, note_skipped, read_text
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
    #: one-line remarks about how the check ran (a rule turned off for want of a schema)
    notes: tuple[str, ...] = ()

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
            self.files + other.files, self.queries + other.queries, self.errors + other.errors,
            _unique_notes(self.notes + other.notes))


def _unique_notes(notes: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(notes))


class _State:
    """Diagnostics, errors and notes collected while checking (one per check call)."""

    __slots__ = ("diagnostics", "errors", "notes")

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.errors: list[ConvguardError] = []
        self.notes: list[str] = []


def check_source(path: str, text: str, *, config: Config | None = None,
                 schema: Schema | None = None) -> CheckResult:
    """Check the queries of one file given as text.

    ``config`` None finds the configuration from ``path`` upwards (``convguard.toml`` or
    ``[tool.convguard]``); ``schema`` None is the configured or found one
    (:mod:`convguard._schema_discovery`), else none: CG003 is then off, with a note.
    """
    state = _State()
    with collector_paused():
        try:
            if config is None:
                from convguard._config import find_config

                config = find_config(path)
            from convguard.extract import extract_source, may_hold_queries

            if may_hold_queries(path, text, tags=config.tags):
                extraction = extract_source(path, text, tags=config.tags)
            else:  # most files of an application: nothing to lex (a lexing problem is not ours)
                extraction = ExtractionResult(path, (), ())
        except ConvguardError as error:
            return CheckResult(files=(path,), errors=(error,))
        host = HostText(path, text)
        count = check_extraction(extraction, host, config, schema=schema, state=state)
    diagnostics = tuple(sorted(_selected(state.diagnostics, config), key=lambda d: d.sort_key))
    return CheckResult(diagnostics, (path,), count, tuple(state.errors),
                       _unique_notes(state.notes))


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
    notes: list[str] = []
    queries = 0
    for path in paths:
        kind = not_regular(path)
        if kind is not None and kind != "a folder":
            note_skipped(path, kind)
            continue
        if os.path.isdir(path):
            found = sorted(_walk(path, SUPPORTED_SUFFIXES))
        elif os.path.exists(path):
            found = [path]
        else:
            errors.append(InputError("no such file or folder", path=path))
            continue
        for file in found:
            try:
                text = read_text(file, limit=SOURCE_MAX_BYTES)
            except ConvguardError as error:
                files.append(file)
                errors.append(error)
                continue
            result = check_source(file, text, config=config, schema=schema)
            diagnostics.extend(result.diagnostics)
            files.extend(result.files)
            errors.extend(result.errors)
            notes.extend(result.notes)
            queries += result.queries
    return CheckResult(tuple(sorted(diagnostics, key=lambda d: d.sort_key)), tuple(files),
                       queries, tuple(errors), _unique_notes(notes))


def _walk(folder: str, suffixes: Iterable[str]) -> Iterator[str]:
    wanted = tuple(suffixes)
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS
                            and not name.startswith("."))
        for name in names:
            if name.lower().endswith(wanted):
                path = os.path.join(root, name)
                kind = not_regular(path)
                if kind is None:
                    yield path
                else:
                    note_skipped(path, kind)  # a FIFO would block the read


def _selected(diagnostics: Iterable[Diagnostic], config: Config) -> Iterator[Diagnostic]:
    for diagnostic in diagnostics:
        if config.select and not diagnostic.code.startswith(tuple(config.select)):
            continue
        if config.ignore and diagnostic.code.startswith(tuple(config.ignore)):
            continue
        yield diagnostic


def _known_rules(config: Config) -> dict[str, Rule]:
    """convguard's rules, every installed profile's, and those of profiles the configuration
    names by reference (``profile = "package.module:PROFILE"``)."""
    from convguard.profiles import get_profile
    from convguard.rules import all_rules

    rules = all_rules()
    for entry in config.queries:
        if entry.profile and ":" in entry.profile:
            try:
                profile = get_profile(entry.profile, base=config.root)
            except ConvguardError:
                continue  # reported where the query is bound
            rules.update({rule.code: rule for rule in profile.rules})
    return rules


def _enabled_codes(config: Config) -> set[str]:
    return {code for code in _known_rules(config) if not (config.select and not code.startswith(
        tuple(config.select))) and not (config.ignore and code.startswith(tuple(config.ignore)))}


# -- one file ----------------------------------------------------------------------------------

_EMPTY_SCHEMA: list[Schema] = []


def _schema_of_file(path: str, config: Config, state: _State) -> Schema | None:
    """The configured or found schema of ``path`` (None: none). An unusable configured schema is
    an error; an unusable *found* one (the user never named it) turns CG003 off with a note."""
    from convguard._schema_discovery import locate_schema, load_schema

    location = locate_schema(path, config)
    if location is None:
        return None
    try:
        return load_schema(location)
    except ConvguardError as error:
        if location.origin == "configured":
            state.errors.append(error)
        else:
            where = f"{error.path}:{error.line}" if error.line else str(error.path)
            state.notes.append(f"cannot use the Prisma schema found at {where}: {error.message}; "
                               "CG003 unresolved-column is off (set `schema = ...` in the "
                               "configuration to choose another)")
        return None


def _empty_schema() -> Schema:
    """No tables: every reference is outside the schema, so no rule claims anything about it."""
    if not _EMPTY_SCHEMA:
        from convguard._schema import Schema as SchemaType

        _EMPTY_SCHEMA.append(SchemaType(tables=()))
    return _EMPTY_SCHEMA[0]


def check_extraction(extraction: ExtractionResult, host: HostText, config: Config, *,
                     schema: Schema | None = None, state: _State | None = None) -> int:
    """Run every rule on one file's extraction; diagnostics and errors go to ``state``.

    ``schema`` None is the file's configured or found schema; with none, queries bound to a
    profile use the profile's data model and the others resolve no column (CG003 off, a note).
    Returns the number of queries checked. The cyclic garbage collector is paused while one file
    is checked: sqlglot trees are large and cyclic (parent links), and collections triggered by
    their allocations cost as much as parsing them; collection resumes after the file.
    """
    # try/finally, not the context manager: it allocates nothing between the caller's loop and
    # the pause, so a caller checking many extractions in a row triggers no collection of the
    # previous file's trees at every call (measured: 999 queries in 3.1 s instead of 4.3 s).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _check_extraction(extraction, host, config, schema, state)
    finally:
        if enabled:
            gc.enable()


BIG_STATEMENT_CHARACTERS = 1_000_000


def compiled_sqlglot() -> bool:
    """Whether sqlglot's parser is the compiled build (``convguard[fast]`` installs sqlglotc).

    Example:
        >>> isinstance(compiled_sqlglot(), bool)
        True
    """
    import sqlglot.parser

    return not sqlglot.parser.__file__.endswith(".py")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while one file is extracted and checked.

    Lexing and parsing a big statement allocate millions of objects that live until the file is
    done; every allocation-triggered collection walks all of them again (about a fifth of checking
    a 5 MB statement). Garbage of the file is collected after it, by the next collection.

    Example:
        >>> import gc
        >>> with collector_paused():
        ...     gc.isenabled()
        False
        >>> gc.isenabled()
        True
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_extraction(extraction: ExtractionResult, host: HostText, config: Config,
                      schema: Schema | None, state: _State | None) -> int:
    state = state if state is not None else _State()
    if not extraction.queries and not extraction.unsafe_calls:
        _entries(config, extraction, state)
        return 0  # no rule has anything to read: sqlglot and the rules need not even load
    from sqlglot import exp

    from convguard._lineage import lineage as build_lineage
    from convguard._parse import parse
    from convguard._suppress import (
        host_suppressions,
        sql_suppressions,
        suppress,
        unused_diagnostics,
    )
    from convguard.rules import RULES, RuleContext

    if schema is None and extraction.queries:
        schema = _schema_of_file(extraction.path, config, state)
    biggest = max((len(query.sql) for query in extraction.queries), default=0)
    if biggest > BIG_STATEMENT_CHARACTERS and not compiled_sqlglot():
        state.notes.append(
            f"{extraction.path}: a {biggest / 1e6:.1f} MB statement is read by the pure-Python "
            "sqlglot; `pip install 'convguard[fast]'` (compiled sqlglot) checks it about twice "
            "as fast")
    entries = _entries(config, extraction, state)
    script = not extraction.path.lower().endswith(".sql")
    recorded = [item for query in extraction.queries for item in query.host_suppressions]
    suppressions = host_suppressions(host, recorded) if script else []
    found: list[Diagnostic] = []
    enabled = _enabled_codes(config)
    query_rules = [rule for rule in RULES.values() if rule.kind == "query" and rule.code in enabled]
    unresolvable = False
    seen_at_site: set[tuple[object, ...]] = set()
    for query in extraction.queries:
        _assembly_notes(query, state)
        parsed = parse(query)
        binding = _binding(query, parsed, entries, config, state)
        query_schema = schema
        if query_schema is None and binding is not None:
            query_schema = binding.profile.builtin_schema()
        if query_schema is None:
            query_schema = _empty_schema()
            unresolvable = unresolvable or (parsed.tree is not None
                                            and parsed.tree.find(exp.Table) is not None)
        lineage = _lineage_for(parsed, query_schema, build_lineage)
        context = RuleContext(config, query_schema, extraction, host, binding, {})
        suppressions.extend(sql_suppressions(query, parsed, host))
        profile_rules = ([rule for rule in binding.profile.rules if rule.kind == "query"
                          and rule.code in enabled] if binding is not None else [])
        for rule in [*query_rules, *profile_rules]:
            if rule.profile is not None and (binding is None or rule.profile not in (
                    "*", binding.profile.name)):
                continue
            if rule.check is None or (rule.needs_tree and parsed.tree is None):
                continue
            if rule.code == "CG001" and query.unverified_syntax:
                continue  # a syntax error may be the stand-in's, not the statement's
            try:
                for finding in rule.check(query, parsed, lineage, context):
                    diagnostic = _diagnostic(rule, finding, query, host)
                    if query.variants > 1:  # one report per finding of a call site
                        key = (query.site, diagnostic.code, diagnostic.line, diagnostic.column)
                        if key in seen_at_site:
                            continue
                        seen_at_site.add(key)
                    found.append(diagnostic)
            except Exception as error:  # noqa: BLE001 - a rule's bug must not hide the others
                state.errors.append(_internal_error(rule, query, error))
    if unresolvable and "CG003" in enabled:
        from convguard._schema_discovery import NO_SCHEMA_NOTE

        if not any("CG003" in note for note in state.notes):
            state.notes.append(NO_SCHEMA_NOTE)
    file_context = RuleContext(config, schema or _empty_schema(), extraction, host, None, {})
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
    return len({query.site for query in extraction.queries})


def _assembly_notes(query: ExtractedQuery, state: _State) -> None:
    """Say once per call site what was not checked: combinations past the bound, and statements
    whose syntax depends on fragments convguard cannot see."""
    where = f"{query.path}:{query.span.start_position.line}"
    if query.variant == 1 and query.combinations > query.variants:
        state.notes.append(
            f"{where}: {query.combinations} combinations of SQL fragments reach this call; "
            f"convguard checked {query.variants} of them (every branch at least once)")
    if query.unverified_syntax and not any(
            note.startswith(f"{where}: syntax not checked") for note in state.notes):
        state.notes.append(f"{where}: syntax not checked: {query.unverified_syntax}")


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
    """The ``[[query]]`` entries with a profile that name this file; every entry naming it, with a
    profile or not, must select a query (a misspelled function is an error, never a pass)."""
    declared = config.queries_for(extraction.path)
    for entry in declared:
        if entry.function is None:
            if not extraction.queries:
                binds = (f"binds it to profile {entry.profile!r}" if entry.profile
                         else "declares it as a query")
                state.errors.append(SelectorError(
                    f"{entry.path} holds no query, but the configuration {binds}",
                    path=config.source, line=entry.line,
                    hint="fix the [[query]] path, or remove the entry"))
        elif not any(query.function == entry.function for query in extraction.queries):
            state.errors.append(SelectorError(
                f"no query inside function {entry.function!r} of {entry.path}",
                path=config.source, line=entry.line_of("function"),
                hint="fix the [[query]] function name (the nearest named function enclosing the "
                     "query)" + _functions_hint(extraction)))
    return tuple(entry for entry in declared if entry.profile)


def _functions_hint(extraction: ExtractionResult) -> str:
    names = sorted({query.function for query in extraction.queries if query.function})
    if names:
        return f"; functions with queries: {', '.join(names)}"
    return f"; {extraction.path} holds no query in a named function"


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
        profile = get_profile(entry.profile, base=config.root)
        options = profile.parse_options(entry.options, path=config.source, line=entry.line)
    except ConvguardError as error:
        error.path = error.path or config.source
        error.line = error.line or entry.line
        state.errors.append(error)
        return None
    roles, unmapped = bind_roles(profile, query, entry)
    return Binding(profile, entry, roles, config, tuple(unmapped), options)


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


__all__ = ["CheckResult", "check_extraction", "check_paths", "check_source"]
