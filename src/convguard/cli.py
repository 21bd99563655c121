"""The ``convguard`` command line: ``check``, ``test``, ``extract`` and ``rule``.

Exit codes: 0 clean (or conforming), 1 findings (or not conforming), 2 unusable input, usage
error or an error convguard could not recover from, 130 interrupted. Errors print as
``convguard: error: path:line: message`` with a ``  hint:`` line on stderr, never a traceback
(``--debug`` or ``CONVGUARD_DEBUG=1`` adds one for unexpected errors).

Each command imports what it needs when it runs: this module loads only the standard library's
argparse and convguard's error and model types, so ``convguard check`` costs little more than
sqlglot itself and ``convguard rule`` never loads the conformance kit.

Example:
    >>> main(["rule", "NO-SUCH-CODE"])  # the error goes to stderr
    2
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from convguard._errors import ConvguardError, InputError, SelectorError
from convguard._paths import display_path, split_selector

if TYPE_CHECKING:
    from convguard._config import Config
    from convguard._model import Diagnostic, ExtractedQuery

PROG = "convguard"
CHECK_FORMATS = ("text", "json", "sarif", "github")  # == convguard.report.FORMATTERS (tested)
PLAIN_FORMATS = ("text", "json")
TEST_DRIVERS = ("auto", "prisma", "node-postgres", "typed")
DRIVER_HELP = ("how parameters are bound: auto (prisma for a source that uses Prisma, "
               "node-postgres for one that uses pg and for .sql files), prisma, node-postgres "
               "or typed (default: the configuration's driver, else auto)")
TEST_PROVIDERS = ("embedded", "system", "url", "docker")  # == the kit's providers (tested)
TEST_EXAMPLES = 40  # == convguard.kit.property.differential.DEFAULT_EXAMPLES (tested)
DEBUG_ENV = "CONVGUARD_DEBUG"
# Folders a directory walk never enters: dependencies, VCS data, caches.
SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", "dist", "build", "coverage"})


class UsageError(ConvguardError):
    """The command line itself is wrong (exit 2, like argparse's own usage errors)."""


# ---------------------------------------------------------------------------------------------
# The parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a :class:`UsageError` instead of ``sys.exit``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"run `{self.prog} --help` for usage")


def _code_list(text: str) -> list[str]:
    return [code.strip().upper() for code in text.split(",") if code.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The ``convguard`` argument parser (exposed for docs and tests)."""
    from convguard import __version__

    parser = _Parser(prog=PROG, description="Guards analytics SQL in TypeScript and .sql sources.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)

    check = commands.add_parser(
        "check", parents=[common], help="statically check queries (no database)",
        description="Statically check the queries of TS/JS and .sql files. With no PATH, check "
                    "the query files declared in the configuration. Exit 0 clean, 1 findings, "
                    "2 unusable input.")
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check")
    check.add_argument("--format", choices=CHECK_FORMATS, default="text")
    check.add_argument("--output", metavar="FILE", help="write the report to FILE")
    check.add_argument("--select", action="append", type=_code_list, metavar="CODES",
                       help="only these rule codes or prefixes (comma-separated, repeatable)")
    check.add_argument("--ignore", action="append", type=_code_list, metavar="CODES",
                       help="skip these rule codes or prefixes (comma-separated, repeatable)")
    check.add_argument("--config", metavar="FILE", help="use this configuration file")

    test = commands.add_parser(
        "test", parents=[common], help="run queries on a real PostgreSQL against scenarios",
        description="Conformance: run each query on a throwaway PostgreSQL seeded from scenario "
                    "files. With no PATH, test the queries declared in the configuration. "
                    "Exit 0 conforms, 1 does not, 2 could not run.")
    test.add_argument("paths", nargs="*", metavar="PATH[::FUNCTION]")
    test.add_argument("--scenarios", action="append", default=[], metavar="DIR",
                      help="a folder (or file) of scenarios; repeatable")
    test.add_argument("--driver", choices=TEST_DRIVERS,
                      help=DRIVER_HELP)
    test.add_argument("--dsn", metavar="URL",
                      help="an existing PostgreSQL server (default: $CONVGUARD_DATABASE_URL, "
                           "else an embedded one)")
    test.add_argument("--allow-superuser", action="store_true",
                      help="let --dsn name a superuser (queries still run as a least-privilege "
                           "role made for the run)")
    test.add_argument("--provider", choices=TEST_PROVIDERS,
                      help="where the throwaway server comes from (default: the configuration's "
                           "provider, else embedded)")
    test.add_argument("--format", choices=PLAIN_FORMATS, default="text")
    test.add_argument("--profile", metavar="NAME",
                      help="judge a PATH the configuration does not declare by this profile "
                           "(default: none: parameters by name, scenarios with expected rows)")
    test.add_argument("--config", metavar="FILE", help="use this configuration file")
    test.add_argument("-v", "--verbose", action="store_true", help="also show passing scenarios")
    test.add_argument("--examples", type=int, default=TEST_EXAMPLES, metavar="N",
                      help="generated datasets per query, checked against the profile oracle "
                           f"and metamorphic relations (default: {TEST_EXAMPLES}; 0 skips)")
    test.add_argument("--seed", type=int, default=0, metavar="N",
                      help="seed of the generated datasets (default: 0)")

    extract = commands.add_parser(
        "extract", parents=[common], help="print the SQL of a file's queries and its parameters",
        description="Print each query's SQL as the database sees it and its parameters.")
    extract.add_argument("paths", nargs="+", metavar="PATH[::FUNCTION]")
    extract.add_argument("--format", choices=PLAIN_FORMATS, default="text")
    extract.add_argument("--config", metavar="FILE", help="use this configuration file")

    rule = commands.add_parser(
        "rule", parents=[common], help="explain a rule (or list them all)",
        description="With no CODE, list every rule; with a CODE, print its documentation.")
    rule.add_argument("code", nargs="?", metavar="CODE")
    rule.add_argument("--format", choices=PLAIN_FORMATS, default="text")

    mutate = commands.add_parser(
        "mutate", parents=[common], help="mutation score: does the suite catch small defects?",
        description="Make mutants of each query (sqlglot tree transforms) and run the whole "
                    "suite on every one: static rules, scenarios, metamorphic relations, "
                    "generated datasets. With no PATH, mutate the queries declared in the "
                    "configuration. Exit 0 score >= --min-score, 1 below, 2 could not run.")
    mutate.add_argument("paths", nargs="*", metavar="PATH[::FUNCTION]")
    mutate.add_argument("--format", choices=PLAIN_FORMATS, default="text")
    mutate.add_argument("--profile", metavar="NAME",
                        help="judge a PATH the configuration does not declare by this profile "
                             "(default: none: parameters by name, scenarios with expected rows)")
    mutate.add_argument("--min-score", type=float, default=1.0, metavar="X",
                        help="lowest passing score, killed / (total - equivalent) (default: 1.0)")
    mutate.add_argument("--examples", type=int, metavar="N",
                        help="generated datasets per run (default: as convguard test; 0 skips)")
    mutate.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the generated datasets (default: 0)")
    mutate.add_argument("--operators", action="append", metavar="CODE[,CODE]",
                        help="only these mutation operators (ROR, LCR, CDR, ...)")
    mutate.add_argument("--scenarios", action="append", default=[], metavar="DIR",
                        help="a folder (or file) of scenarios; repeatable")
    mutate.add_argument("--driver", choices=TEST_DRIVERS,
                        help=DRIVER_HELP)
    mutate.add_argument("--dsn", metavar="URL", help="an existing PostgreSQL server")
    mutate.add_argument("--allow-superuser", action="store_true",
                      help="let --dsn name a superuser (queries still run as a least-privilege "
                           "role made for the run)")
    mutate.add_argument("--provider", choices=TEST_PROVIDERS,
                        help="where the throwaway server comes from (default: embedded)")
    mutate.add_argument("--config", metavar="FILE", help="use this configuration file")
    mutate.add_argument("-v", "--verbose", action="store_true",
                        help="also show killed and equivalent mutants")
    mutate.add_argument("--exhaustive", action="store_true",
                        help="run every scenario on every mutant (list all that kill it)")

    bench = commands.add_parser(
        "bench", parents=[common], help="scale: seed a production-size tenant and time the query",
        description="Seed synthetic data of --size units (the unit of the query's profile's data "
                    "generator: leads for booking-conversion) in a throwaway PostgreSQL, run "
                    "each query three times as the application binds it and report the median, "
                    "the plan's costliest nodes and measured index advice. With no PATH, bench "
                    "the queries declared in the configuration.",
    )
    bench.add_argument("paths", nargs="*", metavar="PATH[::FUNCTION]")
    bench.add_argument("--format", choices=PLAIN_FORMATS, default="text")
    bench.add_argument("--profile", metavar="NAME",
                       help="judge a PATH the configuration does not declare by this profile "
                            "(default: none: parameters by name, scenarios with expected rows)")
    bench.add_argument("--size", "--leads", dest="size", type=int, metavar="N",
                       help="the size to seed, in the unit of the profile's data generator "
                            "(default: the generator's; --leads is the same option)")
    bench.add_argument("--sizes", metavar="N,N,...",
                       help="several sizes, e.g. 10000,100000,1000000: how the time grows")
    bench.add_argument("--history-days", type=int, metavar="N", default=365,
                       help="days of data before `to` the data spans (default 365; 90 is a "
                            "stress case where the range holds a third of the data)")
    bench.add_argument("--window-days", type=int, metavar="N", default=30,
                       help="the query's range: the last N days before `to` (default 30, the "
                            "application's default)")
    bench.add_argument("--no-advise", dest="advise", action="store_false",
                       help="skip the index advice (each candidate is built and timed)")
    bench.add_argument("--timeout", metavar="DURATION", default="15min",
                       help="stop a query run that takes longer (as statement_timeout reads it: "
                            "2s, 500ms, 15min; default 15min); convguard cancels it one second "
                            "later even if the query lifts its statement timeout: exit 2")
    bench.add_argument("--driver", choices=TEST_DRIVERS,
                       help=DRIVER_HELP)
    bench.add_argument("--dsn", metavar="URL", help="an existing PostgreSQL server")
    bench.add_argument("--allow-superuser", action="store_true",
                      help="let --dsn name a superuser (queries still run as a least-privilege "
                           "role made for the run)")
    bench.add_argument("--provider", choices=TEST_PROVIDERS,
                       help="where the throwaway server comes from (default: embedded)")
    bench.add_argument("--config", metavar="FILE", help="use this configuration file")
    return parser


# ---------------------------------------------------------------------------------------------
# Inputs: selectors, files, configuration


def parse_selector(text: str) -> tuple[str, str | None]:
    """Split ``PATH::FUNCTION``; a malformed selector is a usage error.

    Example:
        >>> parse_selector("actions/a.ts::getStats")
        ('actions/a.ts', 'getStats')
        >>> parse_selector("q.sql")
        ('q.sql', None)
    """
    try:
        return split_selector(text)
    except SelectorError as error:
        raise UsageError(error.message, hint=error.hint) from None


def _supported_suffixes() -> frozenset[str]:
    from convguard.extract import SUPPORTED_SUFFIXES

    return SUPPORTED_SUFFIXES


def expand_paths(paths: Iterable[str], errors: list[ConvguardError]) -> list[str]:
    """Files to check: each file as given, each folder walked (sorted, hidden folders skipped).

    A missing path or a folder without a supported file becomes an error in ``errors``.
    """
    from convguard._files import not_regular, note_skipped

    suffixes = _supported_suffixes()
    files: list[str] = []
    for path in paths:
        kind = not_regular(path)
        if kind is not None and kind != "a folder":
            note_skipped(path, kind)  # a FIFO would block the read; a device never ends
        elif os.path.isdir(path):
            found = sorted(_walk(path, suffixes))
            if not found:
                errors.append(InputError(
                    "folder holds no supported file", path=path,
                    hint=f"convguard reads {' '.join(sorted(suffixes))} files"))
            files.extend(found)
        elif os.path.exists(path):
            files.append(path)
        elif "::" in path:
            errors.append(InputError(
                "no such file or folder", path=path,
                hint="check takes files and folders; PATH::FUNCTION selects a query for "
                     "`convguard extract` and `convguard test`"))
        else:
            errors.append(InputError("no such file or folder", path=path,
                                     hint="check the path (it is relative to the current folder)"))
    seen: set[str] = set()
    unique = []
    for file in files:
        key = os.path.realpath(file)
        if key not in seen:
            seen.add(key)
            unique.append(file)
    return unique


def _walk(folder: str, suffixes: frozenset[str]) -> Iterator[str]:
    from convguard._files import not_regular, note_skipped

    for root, folders, names in os.walk(folder):
        folders[:] = [name for name in folders
                      if not name.startswith(".") and name not in SKIPPED_FOLDERS]
        for name in names:
            if os.path.splitext(name)[1].lower() in suffixes:
                path = os.path.join(root, name)
                kind = not_regular(path)
                if kind is None:
                    yield path
                else:
                    note_skipped(path, kind)


def read_source(path: str) -> str:
    """A host file's text; a clear :class:`InputError` when it is unreadable or not UTF-8.

    Opened without blocking and checked to be a regular file first (a FIFO never hangs a run).
    """
    from convguard._files import SOURCE_MAX_BYTES, read_text

    return read_text(path, limit=SOURCE_MAX_BYTES, what="file")


def load_explicit_config(path: str | None) -> Config | None:
    """The configuration named by ``--config`` (None when the option was not given)."""
    if path is None:
        return None
    from convguard._config import load_config_file

    if not os.path.exists(path):
        raise InputError("configuration file not found", path=path,
                         hint="--config takes a convguard.toml or pyproject.toml")
    config = load_config_file(path)
    if config is None:
        from convguard._errors import ConfigError

        raise ConfigError("no [tool.convguard] table in this file", path=path,
                          hint="add [tool.convguard] or pass a convguard.toml")
    return config


def config_for(path: str, explicit: Config | None) -> Config:
    """The configuration governing ``path``: ``--config``, else the nearest one upwards."""
    if explicit is not None:
        return explicit
    from convguard._config import find_config

    return find_config(path)


def configured_query_files(config: Config) -> list[str]:
    """The files of the configuration's ``[[query]]`` entries, in order, without repeats."""
    files: list[str] = []
    for query in config.queries:
        path = display_path(config.resolve(query.path))
        if path not in files:
            files.append(path)
    return files


def missing_query_files(config: Config) -> list[ConvguardError]:
    """An error at the configuration's line for each ``[[query]]`` path that names no file."""
    from convguard._errors import ConfigError

    return [ConfigError(f"[[query]] path {query.path!r}: no such file", path=config.source,
                        line=query.line_of("path"),
                        hint="paths are relative to the configuration's folder")
            for query in config.queries if not os.path.exists(config.resolve(query.path))]


def select_function(queries: Sequence[ExtractedQuery], function: str, path: str
                    ) -> tuple[ExtractedQuery, ...]:
    """The queries inside ``function``; a :class:`SelectorError` listing the others if none."""
    chosen = tuple(query for query in queries if query.function == function)
    if chosen:
        return chosen
    available = sorted({query.function for query in queries if query.function})
    hint = (f"functions with queries: {', '.join(available)}" if available
            else "this file has no query inside a named function")
    raise SelectorError(f"no query inside a function named {function!r}", path=path, hint=hint)


# ---------------------------------------------------------------------------------------------
# check


def _flatten(values: list[list[str]] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(code for group in values for code in group)


def _validate_codes(codes: Iterable[str], option: str) -> None:
    from convguard._config import unknown_codes  # the check a configuration's select/ignore get

    unknown = unknown_codes(list(codes))
    if unknown:
        raise UsageError(f"{option} names no rule: {', '.join(unknown)}",
                         hint="run `convguard rule` to list the rule codes")


def _effective_config(base: Config, select: tuple[str, ...] | None,
                      ignore: tuple[str, ...] | None) -> Config:
    """``--select`` replaces the configured selection (``ALL``: every rule); ``--ignore`` adds."""
    import dataclasses

    changes: dict[str, Any] = {}
    if select is not None:
        changes["select"] = () if "ALL" in select else select
    if ignore:
        changes["ignore"] = tuple(base.ignore) + ignore
    return dataclasses.replace(base, **changes) if changes else base


def _unique_errors(errors: Iterable[ConvguardError]) -> list[ConvguardError]:
    """Errors without repeats (one broken configuration fails every file it governs)."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for error in errors:
        key = (type(error).__name__, str(error))
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique


_COLLECT_EVERY_CHARACTERS = 16_000_000


def command_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    select, ignore = _flatten(args.select), _flatten(args.ignore)
    explicit = load_explicit_config(args.config)
    paths = list(args.paths)
    if not paths:
        config = explicit or config_for(os.getcwd(), None)
        paths = configured_query_files(config)
        if not paths:
            where = config.source or "no convguard.toml or [tool.convguard] found from here"
            raise UsageError(
                f"no PATH given and the configuration declares no queries ({where})",
                hint="pass files or folders to check, or declare [[query]] path = \"...\" in "
                     "convguard.toml")
    from convguard._check import check_source, collector_paused

    _validate_codes((select or ()) + (ignore or ()), "--select/--ignore")
    errors: list[ConvguardError] = []
    if not args.paths:
        paths = [path for path in paths if os.path.exists(path)]
        errors.extend(missing_query_files(config))
    diagnostics: list[Diagnostic] = []
    notes: dict[str, None] = {}
    # The cyclic collector stays paused for the whole command, not only per file: re-enabled
    # after a big file, its first collection walks every node of the trees still cached (a tenth
    # of checking a 5 MB statement). Garbage is collected every few MB of source instead, so
    # memory stays bounded on large trees.
    unchecked_garbage = 0
    with collector_paused():
        for path in expand_paths(paths, errors):
            try:
                config = _effective_config(config_for(path, explicit), select, ignore)
                text = read_source(path)
                result = check_source(path, text, config=config)
            except ConvguardError as error:
                errors.append(error)
                continue
            diagnostics.extend(result.diagnostics)  # already narrowed by config.select/ignore
            errors.extend(result.errors)
            notes.update(dict.fromkeys(result.notes))
            unchecked_garbage += len(text)
            if unchecked_garbage > _COLLECT_EVERY_CHARACTERS:
                gc.collect()
                unchecked_garbage = 0
    errors = _unique_errors(errors)

    from convguard._ci_log import safe_text
    from convguard.report import render

    report = render(args.format, diagnostics, errors)
    for error in errors:
        print_error(error, err)
    for note in notes:  # on stderr, so that json, sarif and github reports stay parseable
        err.write(f"note: {safe_text(note)}\n")
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(report)
        except OSError as error:
            raise InputError(f"cannot write the report: {error.strerror or error}",
                             path=args.output) from None
    else:
        out.write(report)
    if errors:
        return 2
    return 1 if diagnostics else 0


# ---------------------------------------------------------------------------------------------
# extract


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _query_dict(query: ExtractedQuery) -> dict[str, Any]:
    return {
        "path": query.path,
        "function": query.function,
        "tag": query.tag,
        "transaction": query.transaction,
        "line": query.span.start_position.line,
        "column": query.span.start_position.column,
        "end_line": query.span.end_position.line,
        "end_column": query.span.end_position.column,
        "sql": query.sql,
        "variant": query.variant,
        "variants": query.variants,
        "combinations": query.combinations,
        "choices": list(query.choices),
        "opaque": [{
            "expression": o.expression,
            "stand_in": o.stand_in,
            "line": o.host_span.start_position.line,
            "column": o.host_span.start_position.column,
        } for o in query.opaque],
        "syntax_checked": query.unverified_syntax is None,
        "parameters": [{
            "placeholder": f"${p.index}",
            "index": p.index,
            "expression": p.expression,
            "kind": p.kind,
            "line": p.host_span.start_position.line,
            "column": p.host_span.start_position.column,
        } for p in query.placeholders],
    }


def _format_query_text(query: ExtractedQuery) -> str:
    from convguard._ci_log import safe_path

    where = query.span.start_position
    details = [query.tag, f"line {where.line}"]
    if query.transaction is not None:
        details.append(f"transaction {query.transaction}")
    if query.variants > 1:
        of = f"{query.variants}" + (f" checked of {query.combinations}"
                                    if query.combinations > query.variants else "")
        details.append(f"combination {query.variant} of {of}")
    lines = [f"-- {safe_path(query.label)} ({', '.join(details)})"]
    lines += [f"--   {choice}" for choice in query.choices]
    lines += [f"--   opaque: ${{{o.expression}}} at {o.host_span.start_position.line}:"
              f"{o.host_span.start_position.column} (convguard cannot see it; written "
              f"{o.stand_in or 'as nothing'!s} here)" for o in query.opaque]
    if query.unverified_syntax:
        lines.append(f"--   syntax not checked: {query.unverified_syntax}")
    lines += [query.sql.rstrip(), ""]
    if not query.placeholders:
        lines.append("no parameters")
        return "\n".join(lines)
    rows = [("param", "expression", "kind", "host")]
    rows += [(f"${p.index}", _one_line(p.expression), p.kind,
              f"{p.host_span.start_position.line}:{p.host_span.start_position.column}")
             for p in query.placeholders]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[3]]
        lines.append("  " + "  ".join(cells))
    return "\n".join(lines)


def command_extract(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from convguard._files import not_regular, note_skipped
    from convguard.extract import extract_source

    explicit = load_explicit_config(args.config)
    queries: list[ExtractedQuery] = []
    for selector in args.paths:
        path, function = parse_selector(selector)
        kind = not_regular(path)
        if kind is not None and kind != "a folder":
            note_skipped(path, kind)
            continue
        if os.path.isdir(path):
            raise InputError("extract takes a file, not a folder", path=path,
                             hint="name one file, e.g. actions/stats.ts::getStats")
        if not os.path.exists(path):
            raise InputError("no such file", path=path)
        config = config_for(path, explicit)
        found = extract_source(path, read_source(path), tags=config.tags).queries
        queries.extend(select_function(found, function, path) if function else found)
    if args.format == "json":
        import json

        data = [_query_dict(query) for query in queries]
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif queries:
        out.write("\n\n".join(_format_query_text(q) for q in queries) + "\n")
    else:
        out.write("No queries found.\n")
    return 0


# ---------------------------------------------------------------------------------------------
# rule


def command_rule(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from convguard.rules import all_rules

    RULES = all_rules()  # noqa: N806 - convguard's rules and every installed profile's
    if args.code is None:
        rules = [RULES[code] for code in sorted(RULES)]
        if args.format == "json":
            import json

            out.write(json.dumps([{"code": r.code, "name": r.name, "summary": r.summary}
                                  for r in rules], indent=2, ensure_ascii=False) + "\n")
            return 0
        code_width = max([len("code")] + [len(r.code) for r in rules])
        name_width = max([len("name")] + [len(r.name) for r in rules])
        out.write(f"{'code'.ljust(code_width)}  {'name'.ljust(name_width)}  summary\n")
        for r in rules:
            out.write(f"{r.code.ljust(code_width)}  {r.name.ljust(name_width)}  {r.summary}\n")
        return 0
    code = args.code.strip().upper()
    rule = RULES.get(code)
    if rule is None:
        raise UsageError(f"unknown rule code {args.code!r}",
                         hint="run `convguard rule` to list the rule codes")
    if args.format == "json":
        import json

        out.write(json.dumps({"code": rule.code, "name": rule.name, "summary": rule.summary,
                              "doc": rule.doc, **_profile_of_rule(rule)}, indent=2,
                             ensure_ascii=False) + "\n")
    else:
        out.write(f"# {rule.name} ({rule.code})\n\n{rule.summary}\n\n{rule.doc.strip()}\n")
        about = _profile_of_rule(rule)
        if about:
            line = f"\nProfile: {about['profile']}"
            if about.get("semantics"):
                line += f"; semantics: {about['semantics']}"
            out.write(line + "\n")
    return 0


def _profile_of_rule(rule: Any) -> dict[str, str]:
    """The profile a rule belongs to, and the semantics document it checks against."""
    if rule.profile in (None, "*"):
        return {}
    from convguard.profiles import get_profile

    semantics = get_profile(rule.profile).semantics
    return {"profile": rule.profile, **({"semantics": semantics} if semantics else {})}


# ---------------------------------------------------------------------------------------------
# test, mutate, bench: the conformance kit's commands


def _kit_command(name: str, module: str, function: str) -> Callable[..., int]:
    """A subcommand that runs ``module.function(args, out)`` of the kit, imported on first use.

    A malformed selector is a usage error before any database work; a kit that cannot be imported
    is a clear error, not a traceback.
    """

    def command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        for selector in args.paths:
            parse_selector(selector)
        import importlib

        try:
            runner = getattr(importlib.import_module(module), function)
        except ImportError as error:
            raise ConvguardError(
                f"the conformance kit cannot be loaded: {error}",
                hint="install convguard with its dependencies (pip install convguard)",
            ) from None
        from convguard.kit.interrupts import handled

        # SIGINT, SIGTERM and SIGHUP cancel the query, clean up and exit 128 + signal.
        with handled():
            return int(runner(args, out))

    command.__name__ = command.__qualname__ = f"command_{name}"
    return command


command_test = _kit_command("test", "convguard.commands.test", "run_test_command")
command_mutate = _kit_command("mutate", "convguard.commands.mutate", "run_mutate_command")
command_bench = _kit_command("bench", "convguard.commands.bench", "run_bench_command")


COMMANDS = {
    "check": command_check,
    "test": command_test,
    "mutate": command_mutate,
    "bench": command_bench,
    "extract": command_extract,
    "rule": command_rule,
}


# ---------------------------------------------------------------------------------------------
# main


def print_error(error: ConvguardError, err: TextIO) -> None:
    """``convguard: error: path:line: message`` and, when known, ``  hint: ...``."""
    from convguard._ci_log import format_error

    err.write(format_error(error, PROG))


def _debugging(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")


class _NoteHandler:
    """Prints the ``convguard`` logger's notes (a skipped FIFO, ...) as ``note: ...``
    on the command's stderr while :func:`main` runs."""

    def __init__(self, err: TextIO) -> None:
        import logging

        self.logger = logging.getLogger("convguard")
        self.handler = logging.StreamHandler(err)
        self.handler.setFormatter(logging.Formatter("note: %(message)s"))
        self.propagate = self.logger.propagate

    def __enter__(self) -> _NoteHandler:
        self.logger.addHandler(self.handler)
        self.logger.propagate = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.propagate = self.propagate


class _Output:
    """A standard stream as the commands write to it: once its reader is gone - stdout closed
    (``convguard check >&-``) or a pipe whose reader exited (``convguard check | head -0``) - the
    rest of the output is dropped, so the command still finishes and exits with its own verdict
    (0, 1 or 2), quietly, as a pipeline stage should.

    Example:
        >>> _Output(None).write("dropped")
        7
    """

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.gone = stream is None
        #: True only for a report that writes workflow commands on purpose (--format github)
        self.workflow_commands = False
        self._line = ""  # the current line, while it might still become a workflow command
        self._mid_line = False  # the last text sent ended inside a line

    def write(self, text: str) -> int:
        self._send(text if self.workflow_commands else self._inert(text))
        return len(text)

    def _inert(self, text: str) -> str:
        """The text with no line a workflow command (:mod:`convguard._ci_log`); a line that
        starts with blanks and ``:`` is held back until its end shows what it is."""
        from convguard._ci_log import neutralize_line

        text = self._line + text
        self._line = ""
        pieces = text.splitlines(keepends=True)
        if not pieces:
            return ""
        first = pieces[0] if not self._mid_line else ""
        last = pieces[-1]
        if not last.endswith(("\n", "\r")) and last.lstrip()[:1] in ("", ":") and (
                len(pieces) > 1 or not self._mid_line):
            self._line = pieces.pop()
        done = [neutralize_line(piece) if index or piece is first else
                piece.replace("##[", "##%5B") for index, piece in enumerate(pieces)]
        if pieces:
            self._mid_line = not pieces[-1].endswith(("\n", "\r"))
        return "".join(done)

    def _send(self, text: str) -> None:
        if not self.gone and text:
            try:
                self.stream.write(text)  # type: ignore[union-attr]
            except BrokenPipeError:
                self._drop()
            except ValueError:  # the stream was closed under us
                self.gone = True

    def flush(self) -> None:
        if self._line:
            from convguard._ci_log import neutralize_line

            line, self._line = self._line, ""
            self._send(neutralize_line(line))
            self._mid_line = True
        if not self.gone:
            try:
                self.stream.flush()  # type: ignore[union-attr]
            except BrokenPipeError:
                self._drop()
            except ValueError:
                self.gone = True

    def _drop(self) -> None:
        """Point the stream's descriptor at /dev/null, so what is still buffered (and the
        interpreter's flush at exit) goes nowhere instead of failing again."""
        self.gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())  # type: ignore[union-attr]
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _open_standard_streams() -> None:
    """A closed stdout or stderr (``>&-``) leaves ``sys.stdout``/``sys.stderr`` None: give them
    /dev/null, so no later write anywhere in convguard or its libraries meets a None."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``convguard`` with ``argv`` (default: the process arguments); return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    _open_standard_streams()
    with _NoteHandler(sys.stderr):
        return _main(arguments)


def _main(arguments: list[str]) -> int:
    out: Any = _Output(sys.stdout)
    err: Any = _Output(sys.stderr)
    try:
        args = build_parser().parse_args(arguments)
        out.workflow_commands = getattr(args, "format", None) == "github"
        try:
            return COMMANDS[args.command](args, out, err)
        finally:
            out.flush()
            err.flush()
    except SystemExit as exit_:  # --help, --version
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    except ConvguardError as error:
        print_error(error, err)
        return 2
    except KeyboardInterrupt as interrupt:
        name = getattr(interrupt, "name", "SIGINT")
        err.write(f"{PROG}: interrupted ({name}); cleaned up what this run created\n")
        return int(getattr(interrupt, "exit_code", 130))
    except BrokenPipeError:
        # The reader went away (`convguard rule | head`): stop quietly, as a pipeline expects,
        # and keep the interpreter from failing again when it flushes stdout at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except OSError as error:
        path = getattr(error, "filename", None)
        print_error(InputError(error.strerror or str(error), path=str(path) if path else None), err)
        return 2
    except Exception as error:  # noqa: BLE001 - the last line of defence: never a traceback
        err.write(f"{PROG}: internal error: {type(error).__name__}: {_one_line(str(error))[:200]} "
                  f"(this is a bug in convguard; please report it with the command line"
                  f"{'' if _debugging(arguments) else ', rerun with --debug for a traceback'})\n")
        if _debugging(arguments):
            import traceback

            traceback.print_exc(file=err)
        return 2


# Commands that start no server and hold no resource an exit handler must release.
_FAST_EXIT_COMMANDS = frozenset({"check", "extract", "rule"})


def entry() -> None:
    """The console script: :func:`main`, then a fast exit after the static commands.

    Tearing down the interpreter (sqlglot's large module graph and cyclic trees) costs 50-70 ms,
    a third of a pre-commit run, so ``check``/``extract``/``rule`` flush their output and leave
    with ``os._exit``, as mypy does. ``test`` exits normally: its exit handlers stop servers.
    For the same commands the cyclic garbage collector is off for the whole process: the trees
    of a big statement are alive until the end, and a collection would only walk them again
    (``check`` still collects every 16 MB of source it reads, so memory stays bounded).
    """
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    fast_exit = command in _FAST_EXIT_COMMANDS
    if fast_exit:
        gc.disable()
    code = main()
    if fast_exit:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            code = code or 1
        os._exit(code)
    raise SystemExit(code)


__all__ = ["build_parser", "entry", "main", "parse_selector"]
