"""Which schema a checked file's queries run against: configured, found, or none (never guessed).

In order:

1. ``schema = "..."`` in the configuration (a ``.prisma`` file or a folder of them), relative to
   the configuration's folder;
2. else the application's Prisma schema, found from the checked file's folder upwards (the nearest
   folder that has one wins; the search stops at the repository root, the folder holding ``.git``).
   In each folder, as the Prisma CLI looks: the ``schema`` named by ``prisma.config.ts`` (a string
   literal, or ``path.join`` of literals) or by ``"prisma": {"schema": ...}`` in ``package.json``;
   then the ``prisma/schema/`` folder (the ``prismaSchemaFolder`` layout); then
   ``prisma/schema.prisma`` (merged with the other ``.prisma`` files under ``prisma/`` when there
   are some, the multi-file layout of Prisma 6.7+); then ``schema.prisma``;
3. else None: nothing resolves columns, and the check turns CG003 off with a note. The booking
   data model is never a fallback for code that is not the booking query (the check gives it only
   to queries bound to that profile).

Example:
    >>> import pathlib, tempfile
    >>> from convguard._config import Config
    >>> app = pathlib.Path(tempfile.mkdtemp())
    >>> (app / "prisma").mkdir(); (app / "src" / "actions").mkdir(parents=True)
    >>> _ = (app / "prisma" / "schema.prisma").write_text("model Invoice {\\n  id Int @id\\n}\\n")
    >>> location = locate_schema(str(app / "src" / "actions" / "a.ts"), Config(root=str(app)))
    >>> location.origin, location.path == str(app / "prisma" / "schema.prisma")
    ('found', True)
    >>> find_schema(str(app / "src" / "actions" / "a.ts"), Config(root=str(app))).table("Invoice").name
    'Invoice'
    >>> locate_schema(tempfile.mkdtemp() + "/q.sql", Config(root="/")) is None
    True
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from convguard._errors import SchemaError

if TYPE_CHECKING:
    from convguard._config import Config
    from convguard._schema import Schema

__all__ = ["NO_SCHEMA_NOTE", "SchemaLocation", "clear_schema_cache", "find_schema",
           "load_schema", "locate_schema"]

NO_SCHEMA_NOTE = ("no schema found (no `schema = ...` in the configuration, no "
                  "prisma/schema.prisma from the checked files' folders upwards): CG003 "
                  "unresolved-column is off; set `schema = \"path/to/schema.prisma\"` to turn it on")

_CONFIG_FILES = ("prisma.config.ts", "prisma.config.mts", "prisma.config.js", "prisma.config.mjs",
                 "prisma.config.cjs", "prisma.config.cts")
# `schema: "prisma/schema.prisma"` or `schema: path.join("prisma", "schema")` in prisma.config.ts.
_CONFIG_SCHEMA = re.compile(
    r"""\bschema\s*:\s*(?:(["'`])([^"'`\n$]+)\1|path\.(?:join|resolve)\(\s*((?:["'][^"'\n]*["']"""
    r"""\s*,?\s*)+)\))""")
_STRING = re.compile(r"""["']([^"'\n]*)["']""")
_SKIPPED = {"migrations", "node_modules", ".git", "generated"}


@dataclass(frozen=True)
class SchemaLocation:
    """Where a schema is: ``path`` is a ``.prisma`` file or a folder of them.

    ``origin`` says how it was chosen: ``configured`` (``schema = ...``) or ``found`` (by the
    upward search); ``named_by`` is the file that named it (the configuration, ``package.json``,
    ``prisma.config.ts``), None for a default location.
    """

    path: str
    origin: Literal["configured", "found"]
    named_by: str | None = None
    line: int | None = None


def locate_schema(path: str, config: Config) -> SchemaLocation | None:
    """Where the schema of the checked file ``path`` is, or None when there is none."""
    if config.schema:
        return SchemaLocation(config.resolve(config.schema), "configured", config.source,
                              _key_line(config.source, "schema"))
    folder = os.path.abspath(path)
    if not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    visited = []
    found: SchemaLocation | None = None
    while True:
        if folder in _FOUND:
            found = _FOUND[folder]
            break
        visited.append(folder)
        found = _in_folder(folder)
        if found is not None or os.path.exists(os.path.join(folder, ".git")):
            break
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for seen in visited:
        _FOUND[seen] = found
    return found


def find_schema(path: str, config: Config) -> Schema | None:
    """The schema of the checked file ``path`` (see the module), or None; SchemaError if unusable."""
    location = locate_schema(path, config)
    return None if location is None else load_schema(location)


def load_schema(location: SchemaLocation) -> Schema:
    """The schema at ``location``, read once per content (a changed file is read again).

    Raises SchemaError with the file, the line and what to do when it is missing or invalid.
    """
    from convguard._prisma import schema_from_config

    try:
        stamp = _stamp(location.path)
    except FileNotFoundError:
        raise SchemaError("Prisma schema not found", path=location.path,
                          hint=_missing_hint(location)) from None
    key = (location.path, stamp)
    cached = _LOADED.get(location.path)
    if cached is not None and cached[0] == key:
        return cached[1]
    schema = schema_from_config(location.path)
    _LOADED[location.path] = (key, schema)
    return schema


def clear_schema_cache() -> None:
    """Forget every search result and loaded schema (tests, long-running processes)."""
    _FOUND.clear()
    _LOADED.clear()


_FOUND: dict[str, SchemaLocation | None] = {}
_LOADED: dict[str, tuple[tuple[str, tuple[tuple[str, int, int], ...]], Schema]] = {}


def _in_folder(folder: str) -> SchemaLocation | None:
    for name in _CONFIG_FILES:
        config_file = os.path.join(folder, name)
        if os.path.isfile(config_file):
            named = _named_by_prisma_config(config_file)
            if named is not None:
                return SchemaLocation(os.path.normpath(os.path.join(folder, named[0])), "found",
                                      config_file, named[1])
    package = os.path.join(folder, "package.json")
    if os.path.isfile(package):
        named_path = _named_by_package_json(package)
        if named_path is not None:
            return SchemaLocation(os.path.normpath(os.path.join(folder, named_path)), "found",
                                  package, _key_line(package, '"schema"'))
    prisma = os.path.join(folder, "prisma")
    if os.path.isdir(prisma):
        schema_folder = os.path.join(prisma, "schema")
        if os.path.isdir(schema_folder) and _prisma_files(schema_folder):
            return SchemaLocation(schema_folder, "found")
        main = os.path.join(prisma, "schema.prisma")
        if os.path.isfile(main):
            several = len(_prisma_files(prisma)) > 1
            return SchemaLocation(prisma if several else main, "found")
    single = os.path.join(folder, "schema.prisma")
    if os.path.isfile(single):
        return SchemaLocation(single, "found")
    return None


def _named_by_prisma_config(path: str) -> tuple[str, int] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return None
    match = _CONFIG_SCHEMA.search(text)
    if match is None:
        return None
    line = text.count("\n", 0, match.start()) + 1
    if match.group(2) is not None:
        return match.group(2), line
    return os.path.join(*_STRING.findall(match.group(3))), line


def _named_by_package_json(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    prisma = data.get("prisma") if isinstance(data, dict) else None
    schema = prisma.get("schema") if isinstance(prisma, dict) else None
    return schema if isinstance(schema, str) and schema.strip() else None


def _prisma_files(folder: str) -> list[str]:
    found = []
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders
                            if name not in _SKIPPED and not name.startswith("."))
        found.extend(os.path.join(root, name) for name in names if name.endswith(".prisma"))
    return found


def _stamp(path: str) -> tuple[tuple[str, int, int], ...]:
    """Size and modification time of the schema's files (a folder: of each ``.prisma`` file)."""
    files = sorted(_prisma_files(path)) if os.path.isdir(path) else [path]
    stamps = []
    for file in files:
        status = os.stat(file)
        stamps.append((file, status.st_size, status.st_mtime_ns))
    return tuple(stamps)


def _missing_hint(location: SchemaLocation) -> str:
    if location.named_by is not None:
        where = f"{location.named_by}:{location.line}" if location.line else location.named_by
        return f"fix the schema path named at {where} (relative to that file's folder)"
    return "check the path (usually prisma/schema.prisma)"


def _key_line(path: str | None, key: str) -> int | None:
    """The 1-based line where ``key`` is first set in a configuration file, for messages."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                stripped = line.strip()
                if stripped.startswith(key) and stripped[len(key):].lstrip()[:1] in ("=", ":"):
                    return number
    except (OSError, UnicodeDecodeError):
        return None
    return None
