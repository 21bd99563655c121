"""Configuration: ``convguard.toml`` or ``[tool.convguard]`` in ``pyproject.toml``.

Found from the checked file's folder upwards, as ruff does: the nearest folder holding either
file wins, and in one folder ``convguard.toml`` wins over ``pyproject.toml`` (a ``pyproject.toml``
without a ``[tool.convguard]`` table is passed over). Paths in a configuration are relative to
its folder.

Example:
    >>> config = parse_config({"query": [{"path": "q.sql", "profile": "booking-conversion"}]},
    ...                       source="convguard.toml", root=".")
    >>> config.queries[0].profile
    'booking-conversion'
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from convguard._errors import ConfigError
from convguard._files import not_regular, note_skipped

#: ``auto``: per host file, the stack its source uses (see :mod:`convguard._stack`).
DRIVERS = ("auto", "prisma", "node-postgres", "typed")
CONFIG_FILENAMES = ("convguard.toml", "pyproject.toml")


@dataclass(frozen=True)
class QueryConfig:
    """A ``[[query]]`` entry: which query, which profile, how its interpolations bind."""

    path: str
    function: str | None = None
    profile: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    scenarios: tuple[str, ...] = ()
    line: int | None = None
    #: ``[query.options]``, as written; the query's profile types and checks it
    #: (:meth:`convguard.profiles.Profile.parse_options`)
    options: Mapping[str, Any] = field(default_factory=dict)
    #: this query's driver, over the configuration's ``driver``
    driver: str | None = None
    #: key -> the line that sets it (for errors found later, e.g. a scenarios folder missing)
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str) -> int | None:
        """The line that sets ``key`` in this entry, else the entry's ``[[query]]`` line."""
        return self.key_lines.get(key) or self.line

    def selector(self) -> str:
        return f"{self.path}::{self.function}" if self.function else self.path


@dataclass(frozen=True)
class Config:
    """A whole configuration; ``source`` is the file it came from (None for defaults)."""

    root: str
    source: str | None = None
    driver: str = "auto"
    client_time_zone: str = "UTC"
    tags: tuple[str, ...] = ()
    timestamp_columns_forbidden: tuple[str, ...] = ("updatedAt",)
    schema: str | None = None
    provider: str = "embedded"
    scenarios: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    queries: tuple[QueryConfig, ...] = ()
    #: mutant id -> reason, for every query; or PATH[::FUNCTION] -> {mutant id -> reason}, for
    #: the query it names (a mutant's number depends on the query it was made from).
    equivalent_mutants: Mapping[str, str | Mapping[str, str]] = field(default_factory=dict)
    #: key -> the line that sets it in ``source`` (for errors found later than parsing)
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str) -> int | None:
        """The line of ``source`` that sets ``key`` (None when unknown)."""
        return self.key_lines.get(key)

    def resolve(self, relative: str) -> str:
        """A configuration path made absolute against the configuration's folder."""
        return os.path.normpath(os.path.join(self.root, relative))

    def queries_for(self, path: str) -> tuple[QueryConfig, ...]:
        """The ``[[query]]`` entries that name ``path``."""
        target = os.path.realpath(path)
        return tuple(q for q in self.queries if os.path.realpath(self.resolve(q.path)) == target)


_KNOWN_KEYS = {
    "driver", "client_time_zone", "tags", "forbidden_time_columns", "schema",
    "provider", "scenarios", "select", "ignore", "query", "equivalent_mutants",
}
_QUERY_KEYS = {"path", "function", "profile", "params", "scenarios", "driver", "options"}
#: Keys that moved into a profile's ``[query.options]``: key -> the profile that takes it.
_MOVED_TO_OPTIONS = {"anchor_cte": "booking-conversion"}
#: Where a conformance server comes from (== the kit's provider registry; a test keeps them equal).
PROVIDERS = ("embedded", "system", "url", "docker")


class _Checker:
    """Validates one configuration table; every error names the file and the line of the key."""

    def __init__(self, source: str, text: str, table: tuple[object, ...]) -> None:
        from convguard._toml_lines import TomlLines

        self.source = source
        self.root: str | None = None  # the configuration's folder (profile references)
        self.lines = TomlLines(text)
        self.table = table

    def line(self, key: str, *within: object) -> int | None:
        return self.lines.key((*self.table, *within), key)

    def error(self, message: str, key: str, *within: object, hint: str | None = None
              ) -> ConfigError:
        return ConfigError(message, path=self.source, line=self.line(key, *within), hint=hint)

    def string(self, data: Mapping[str, Any], key: str, default: str | None, *within: object,
               choices: tuple[str, ...] = ()) -> str | None:
        value = data.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{key} must be a non-empty string, not {value!r}", key, *within,
                             hint=f'write {key} = "..."')
        if choices and value not in choices:
            hint = ('"auto" picks prisma or node-postgres from each source file'
                    if key == "driver" else f"use one of: {', '.join(choices)}")
            raise self.error(f"{key} must be one of {', '.join(choices)}, not {value!r}", key,
                             *within, hint=hint)
        return value

    def strings(self, data: Mapping[str, Any], key: str, default: tuple[str, ...],
                *within: object) -> tuple[str, ...]:
        value = data.get(key, list(default))
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise self.error(f"{key} must be a string or a list of strings, not {value!r}", key,
                         *within, hint=f'write {key} = ["..."]')

    def codes(self, data: Mapping[str, Any], key: str) -> tuple[str, ...]:
        """``select``/``ignore``: rule codes or prefixes, refused when they name no rule (as
        ``--select``/``--ignore`` are); ``ALL`` in ``select`` means every rule."""
        codes = tuple(code.strip().upper() for code in self.strings(data, key, ()) if code.strip())
        unknown = unknown_codes(codes, allow_all=key == "select")
        if unknown:
            raise self.error(f"{key} names no rule: {', '.join(unknown)}", key,
                             hint="run `convguard rule` to list the rule codes")
        return () if key == "select" and "ALL" in codes else codes

    def time_zone(self, data: Mapping[str, Any]) -> str:
        name = self.string(data, "client_time_zone", "UTC") or "UTC"
        if name.upper() in ("UTC", "Z", "ETC/UTC"):
            return name
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise self.error(f"unknown client time zone {name!r}", "client_time_zone",
                             hint="use an IANA name such as UTC or America/New_York") from None
        return name

    def query(self, entry: Any, position: int) -> QueryConfig:
        where = ("query", position)
        line = self.lines.table((*self.table, *where))
        if not isinstance(entry, Mapping):
            raise ConfigError("every [[query]] is a table with a path = \"...\"",
                              path=self.source, line=line)
        extra = sorted(set(entry) - _QUERY_KEYS)
        if extra:
            raise self.error(f"unknown [[query]] key(s): {', '.join(extra)}", extra[0], *where,
                             hint=f"known keys: {', '.join(sorted(_QUERY_KEYS))}")
        if not isinstance(entry.get("path"), str) or not entry["path"].strip():
            raise self.error("every [[query]] needs a path = \"...\"", "path", *where)
        function = self.string(entry, "function", None, *where)
        profile = self.string(entry, "profile", None, *where)
        known = None
        if profile is not None:
            from convguard.profiles import get_profile

            try:
                known = get_profile(profile, base=self.root)
            except ConfigError as error:
                raise self.error(error.message, "profile", *where, hint=error.hint) from None
        params = entry.get("params", {})
        if not isinstance(params, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
            raise self.error("[query.params] maps interpolation text to a role name (strings)",
                             "params", *where)
        if known is not None:
            for expression, role in params.items():
                if not known.has_role(role):
                    roles = ", ".join(r.name for r in known.roles)
                    raise self.error(f"[query.params] maps {expression!r} to unknown role "
                                     f"{role!r} of profile {profile!r}", expression,
                                     *where, "params", hint=f"use one of: {roles}")
        options = entry.get("options", {})
        if not isinstance(options, Mapping):
            raise self.error("[query.options] must be a table of the profile's options",
                             "options", *where)
        if options and known is None:
            raise self.error("[query.options] needs a profile = \"...\" to type them",
                             "options", *where, hint="options belong to a profile")
        if known is not None:
            try:
                known.parse_options(options)
            except ConfigError as error:
                key = next((k for k in options if repr(k) in error.message), "options")
                raise self.error(error.message, key, *where,
                                 *(("options",) if key != "options" else ()),
                                 hint=error.hint) from None
        return QueryConfig(
            path=entry["path"], function=function, profile=profile, params=dict(params),
            options=dict(options),
            scenarios=self.strings(entry, "scenarios", (), *where), line=line,
            driver=self.string(entry, "driver", None, *where, choices=DRIVERS),
            key_lines=self.key_lines(entry, *where),
        )

    def key_lines(self, data: Mapping[str, Any], *within: object) -> dict[str, int]:
        found = {str(key): self.lines.key((*self.table, *within), str(key)) for key in data}
        return {key: line for key, line in found.items() if line is not None}


def unknown_codes(codes: tuple[str, ...] | list[str], *, allow_all: bool = True) -> list[str]:
    """The codes (or prefixes) that name no rule of convguard or of an installed profile.

    Example:
        >>> unknown_codes(["CG1", "CG104", "CG99", "ALL"])
        ['CG99']
    """
    if not codes:
        return []
    from convguard.rules import all_rules

    rules = all_rules()
    return [code for code in codes if not (allow_all and code == "ALL")
            and not any(known.startswith(code) for known in rules)]


def parse_config(data: Mapping[str, Any], *, source: str, root: str, text: str = "",
                 table: tuple[object, ...] = ()) -> Config:
    """Validate a configuration table (already read from TOML) into a :class:`Config`.

    ``text`` is the file's text and ``table`` the table's path in it (``("tool", "convguard")``
    in a ``pyproject.toml``): errors then name the line of the key at fault.
    """
    check = _Checker(source, text, table)
    check.root = root
    for key, profile in _MOVED_TO_OPTIONS.items():
        if key in data:
            raise check.error(
                f"{key!r} is no longer a top-level key: it is an option of the {profile} profile",
                key, hint=f"move it under each {profile} query: [query.options] {key} = "
                          f"{data[key]!r}")
    unknown = sorted(str(key) for key in set(data) - _KNOWN_KEYS)
    if unknown:
        raise check.error(
            f"unknown configuration key(s): {', '.join(unknown)}", unknown[0],
            hint=f"known keys: {', '.join(sorted(_KNOWN_KEYS))}",
        )
    driver = check.string(data, "driver", "auto", choices=DRIVERS) or "auto"
    entries = data.get("query", [])
    if not isinstance(entries, list):
        raise check.error("query must be an array of tables: write [[query]] sections", "query",
                          hint='write a [[query]] header for each query, then path = "..."')
    queries = tuple(check.query(entry, position) for position, entry in enumerate(entries))
    equivalents = data.get("equivalent_mutants", {})
    if not isinstance(equivalents, Mapping) or not all(
            isinstance(value, str) or (isinstance(value, Mapping) and all(
                isinstance(reason, str) for reason in value.values()))
            for value in equivalents.values()):
        raise check.error("equivalent_mutants maps a mutant id to the reason it is equivalent "
                          "(or, in a table named by a query's PATH[::FUNCTION], that query's "
                          "mutant ids to reasons)", "equivalent_mutants",
                          hint='e.g. "ROR-1:>=→>" = "why no result can change"')
    return Config(
        root=root, source=source, driver=driver,
        client_time_zone=check.time_zone(data),
        tags=check.strings(data, "tags", ()),
        timestamp_columns_forbidden=check.strings(data, "forbidden_time_columns", ("updatedAt",)),
        schema=check.string(data, "schema", None),
        provider=check.string(data, "provider", "embedded", choices=PROVIDERS) or "embedded",
        scenarios=check.strings(data, "scenarios", ()),
        select=check.codes(data, "select"),
        ignore=check.codes(data, "ignore"),
        queries=queries,
        equivalent_mutants=dict(equivalents),
        key_lines=check.key_lines(data),
    )


def _toml_error_line(error: tomllib.TOMLDecodeError) -> int | None:
    match = re.search(r"\(at line (\d+)", str(error))
    return int(match.group(1)) if match else None


def _first_huge_integer(value: Any) -> int | None:
    """The first integer beyond TOML's 64 bits in a parsed document (None if there is none)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and item.bit_length() > 64:
            return item
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _long_number_line(text: str, digits: int = 4000) -> int | None:
    """The line of the first run of ``digits`` or more digit characters."""
    match = re.search(rf"[0-9a-fA-F_]{{{digits},}}", text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def load_config_file(path: str) -> Config | None:
    """Read one configuration file; None for a ``pyproject.toml`` without ``[tool.convguard]``."""
    from convguard._files import CONFIG_MAX_BYTES, read_text

    text = read_text(path, limit=CONFIG_MAX_BYTES, error=ConfigError, what="configuration")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"invalid TOML: {error}", path=path, line=_toml_error_line(error),
                          hint="fix the TOML syntax") from None
    except ValueError:  # an integer of thousands of digits: Python refuses to convert it
        raise ConfigError("invalid TOML: an integer of thousands of digits", path=path,
                          line=_long_number_line(text), hint="TOML integers are 64-bit") \
            from None
    except RecursionError:  # tomllib recurses per nesting level of arrays and inline tables
        raise ConfigError("the configuration nests arrays or tables too deeply", path=path,
                          hint="a configuration is a few flat keys and [[query]] tables") \
            from None
    too_large = _first_huge_integer(data)
    if too_large is not None:  # hex, octal and binary literals escape Python's digit limit
        raise ConfigError(f"an integer of {too_large.bit_length()} bits; TOML integers are "
                          "64-bit", path=path, line=_long_number_line(text, 17))
    table: tuple[object, ...] = ()
    if os.path.basename(path) == "pyproject.toml":
        lines = None
        tool = data.get("tool")
        if tool is None:
            return None
        if not isinstance(tool, Mapping):
            from convguard._toml_lines import TomlLines

            lines = TomlLines(text)
            raise ConfigError("tool must be a table ([tool.convguard] holds the configuration)",
                              path=path, line=lines.key((), "tool"))
        if tool.get("convguard") is None:
            return None
        if not isinstance(tool["convguard"], Mapping):
            from convguard._toml_lines import TomlLines

            lines = TomlLines(text)
            raise ConfigError("tool.convguard must be a table, not "
                              f"{type(tool['convguard']).__name__} {tool['convguard']!r}",
                              path=path, line=lines.key(("tool",), "convguard"),
                              hint="write the settings under a [tool.convguard] header")
        data, table = tool["convguard"], ("tool", "convguard")
    return parse_config(data, source=path, root=os.path.dirname(os.path.abspath(path)), text=text,
                        table=table)


_CACHE: dict[str, Config | None] = {}


def find_config(start: str) -> Config:
    """The configuration governing ``start`` (a file or folder), or the defaults.

    Example:
        >>> find_config("/").source is None or True
        True
    """
    folder = os.path.abspath(start)
    if not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    visited = []
    config: Config | None = None
    while True:
        if folder in _CACHE:
            config = _CACHE[folder]
            break
        visited.append(folder)
        for name in CONFIG_FILENAMES:
            candidate = os.path.join(folder, name)
            kind = not_regular(candidate)
            if kind is not None:
                note_skipped(candidate, kind)  # a FIFO would block the read
            elif os.path.isfile(candidate):
                config = load_config_file(candidate)
                if config is not None:
                    break
        if config is not None:
            break
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for seen in visited:
        _CACHE[seen] = config
    return config if config is not None else Config(root=os.getcwd())


def clear_config_cache() -> None:
    _CACHE.clear()
