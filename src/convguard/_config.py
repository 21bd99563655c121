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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convguard._errors import ConfigError

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
    #: this query's driver, over the configuration's ``driver``
    driver: str | None = None

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
    anchor_cte: str = "draft_send_time"
    schema: str | None = None
    provider: str = "embedded"
    scenarios: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    queries: tuple[QueryConfig, ...] = ()
    #: mutant id -> reason, for every query; or PATH[::FUNCTION] -> {mutant id -> reason}, for
    #: the query it names (a mutant's number depends on the query it was made from).
    equivalent_mutants: Mapping[str, str | Mapping[str, str]] = field(default_factory=dict)

    def resolve(self, relative: str) -> str:
        """A configuration path made absolute against the configuration's folder."""
        return os.path.normpath(os.path.join(self.root, relative))

    def queries_for(self, path: str) -> tuple[QueryConfig, ...]:
        """The ``[[query]]`` entries that name ``path``."""
        target = os.path.realpath(path)
        return tuple(q for q in self.queries if os.path.realpath(self.resolve(q.path)) == target)


_KNOWN_KEYS = {
    "driver", "client_time_zone", "tags", "forbidden_time_columns", "anchor_cte", "schema",
    "provider", "scenarios", "select", "ignore", "query", "equivalent_mutants",
}
_QUERY_KEYS = {"path", "function", "profile", "params", "scenarios", "driver"}


def _string_tuple(value: Any, key: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfigError(f"{key!r} must be a string or a list of strings", path=source)


def _driver(value: Any, source: str, line: int | None) -> str:
    if value not in DRIVERS:
        raise ConfigError(f"driver must be one of {', '.join(DRIVERS)}, not {value!r}",
                          path=source, line=line,
                          hint='"auto" picks prisma or node-postgres from each source file')
    return str(value)


def _query_lines(text: str) -> list[int]:
    """1-based lines of each ``[[query]]`` / ``[[tool.convguard.query]]`` header, in order."""
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip().replace(" ", "")
        if stripped in ("[[query]]", "[[tool.convguard.query]]"):
            lines.append(number)
    return lines


def parse_config(data: Mapping[str, Any], *, source: str, root: str, text: str = "") -> Config:
    """Validate a configuration table (already read from TOML) into a :class:`Config`."""
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown configuration key(s): {', '.join(unknown)}", path=source,
            hint=f"known keys: {', '.join(sorted(_KNOWN_KEYS))}",
        )
    driver = _driver(data.get("driver", "auto"), source, None)
    query_lines = _query_lines(text)
    queries = []
    for position, entry in enumerate(data.get("query", [])):
        line = query_lines[position] if position < len(query_lines) else None
        if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
            raise ConfigError("every [[query]] needs a path = \"...\"", path=source, line=line)
        extra = sorted(set(entry) - _QUERY_KEYS)
        if extra:
            raise ConfigError(f"unknown [[query]] key(s): {', '.join(extra)}", path=source, line=line,
                              hint=f"known keys: {', '.join(sorted(_QUERY_KEYS))}")
        params = entry.get("params", {})
        if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            raise ConfigError("[query.params] maps interpolation text to a role name (strings)",
                              path=source, line=line)
        queries.append(QueryConfig(
            path=entry["path"], function=entry.get("function"), profile=entry.get("profile"),
            params=dict(params),
            scenarios=_string_tuple(entry.get("scenarios", []), "scenarios", source), line=line,
            driver=_driver(entry["driver"], source, line) if "driver" in entry else None,
        ))
    equivalents = data.get("equivalent_mutants", {})
    if not isinstance(equivalents, Mapping) or not all(
            isinstance(value, str) or (isinstance(value, Mapping) and all(
                isinstance(reason, str) for reason in value.values()))
            for value in equivalents.values()):
        raise ConfigError("equivalent_mutants maps a mutant id to the reason it is equivalent "
                          "(or, in a table named by a query's PATH[::FUNCTION], that query's "
                          "mutant ids to reasons)", path=source,
                          hint='e.g. "ROR-1:>=→>" = "why no result can change"')
    return Config(
        root=root, source=source, driver=driver,
        client_time_zone=str(data.get("client_time_zone", "UTC")),
        tags=_string_tuple(data.get("tags", []), "tags", source),
        timestamp_columns_forbidden=_string_tuple(
            data.get("forbidden_time_columns", ["updatedAt"]), "forbidden_time_columns", source),
        anchor_cte=str(data.get("anchor_cte", "draft_send_time")),
        schema=data.get("schema"),
        provider=str(data.get("provider", "embedded")),
        scenarios=_string_tuple(data.get("scenarios", []), "scenarios", source),
        select=_string_tuple(data.get("select", []), "select", source),
        ignore=_string_tuple(data.get("ignore", []), "ignore", source),
        queries=tuple(queries),
        equivalent_mutants=dict(equivalents),
    )


def load_config_file(path: str) -> Config | None:
    """Read one configuration file; None for a ``pyproject.toml`` without ``[tool.convguard]``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as error:
        raise ConfigError(f"cannot read configuration: {error.strerror}", path=path) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"invalid TOML: {error}", path=path,
                          hint="fix the TOML syntax") from None
    if os.path.basename(path) == "pyproject.toml":
        table = data.get("tool", {}).get("convguard")
        if table is None:
            return None
        data = table
    return parse_config(data, source=path, root=os.path.dirname(os.path.abspath(path)), text=text)


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
            if os.path.isfile(candidate):
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
