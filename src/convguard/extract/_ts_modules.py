"""What a name imported from another module of the same tree is: SQL or a value.

``${dateFilter(from, to)}`` with ``import { dateFilter } from "./filters"`` splices SQL when
``dateFilter`` returns ``Prisma.sql`` and a value when it returns a ``Date``. The fragment resolver
asks :func:`imported_kind`, which finds the module's file (a relative specifier; ``tsconfig.json``
or ``jsconfig.json`` ``paths``, with the relative configs it ``extends``; else ``@/x`` and ``~/x``
as the nearest ancestor folder holding ``x`` or ``src/x``), reads it and follows the exported
function's every ``return`` (or the exported ``const``'s initialiser; a default export or an
exported object's or class's member, see ``_ts_exports``) with the same resolver:

- ``"sql"``: some return is a fragment (``Prisma.sql``, ``Prisma.empty``, a join, a ternary of
  them, a ``Prisma.Sql`` parameter...): the call is SQL convguard cannot see, never a ``$n``;
- ``"value"``: no return is a fragment: the call is a value (``$n``);
- None: the module or the name cannot be found or read (a package, a re-export, an unreadable
  file): the caller decides.

Each module's name is read once per process (keyed by path, size and modification time); a
name asked for while it is being read (a recursion through imports) answers None, and what was
found through such a cut is not cached. This module finds and caches; reading a module's text is the
``analyze`` function the TypeScript extractor passes in (``_typescript.module_kind``).

Example:
    >>> import pathlib, tempfile
    >>> from convguard.extract._typescript import module_kind
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "filters.ts").write_text(
    ...     "export const day = (d: Date) => d.toISOString().slice(0, 10);\\n"
    ...     "export function since(d: Date) { return Prisma.sql`m.at >= ${d}`; }\\n")
    >>> importer = str(folder / "actions.ts")
    >>> [imported_kind(importer, "./filters", name, module_kind) for name in ("since", "day")]
    ['sql', 'value']
    >>> imported_kind(importer, "./missing", "since", module_kind) is None
    True
"""

from __future__ import annotations

import json
import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from collections.abc import Callable
from typing import Literal

from convguard._errors import ExtractionError

Kind = Literal["sql", "value"]
#: ``(path, text, exported name, tags) -> kind``: what a module's text says a name is.
Analyze = Callable[[str, str, str, tuple[str, ...]], "Kind | None"]

_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_ALIAS_PREFIXES = ("@/", "~/", "#/")
_MAX_ANCESTORS = 12
_MAX_MODULE_BYTES = 2_000_000
_IN_PROGRESS: set[tuple[str, str]] = set()  # (module path, exported name) being read
_CYCLES_CUT = [0]  # how many times a name was asked for while it was being read
_MAX_CACHED = 1024
#: Modules read inside one another at most (each costs a few dozen Python frames).
_MAX_DEPTH = 24
#: Configs read through ``extends`` at most (a chain or a tree of them).
_MAX_EXTENDS = 16
_KINDS: dict[tuple[object, ...], Kind | None] = {}
_JSONC = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.DOTALL)


def imported_kind(importer: str, specifier: str, exported: str, analyze: Analyze,
                  tags: tuple[str, ...] = ()) -> Kind | None:
    """Is ``exported`` of the module ``specifier`` (imported by the file ``importer``) SQL or a
    value? None when convguard cannot tell (see the module docstring). ``analyze(path, text,
    exported, tags)`` reads the module's text (the TypeScript extractor's fragment resolver)."""
    path = resolve_module(importer, specifier)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if stat.st_size > _MAX_MODULE_BYTES:
        return None
    return _exported_kind(path, stat.st_mtime_ns, stat.st_size, exported, tags, analyze)


def resolve_module(importer: str, specifier: str) -> str | None:
    """The file a module specifier names, for the application's own modules only.

    Example:
        >>> resolve_module("/nowhere/a.ts", "date-fns") is None  # a package: not followed
        True
    """
    if not specifier:
        return None
    folder = Path(importer).parent
    if specifier.startswith(("./", "../")) or specifier in (".", ".."):
        return _file_for(folder / specifier)
    for base in _configured_targets(str(folder.resolve()), specifier):
        found = _file_for(Path(base))
        if found is not None:
            return found
    if specifier.startswith(_ALIAS_PREFIXES):
        rest = specifier[2:]
        ancestor = folder.resolve()
        for _ in range(_MAX_ANCESTORS):
            for candidate in (ancestor / rest, ancestor / "src" / rest):
                found = _file_for(candidate)
                if found is not None:
                    return found
            if ancestor.parent == ancestor:
                break
            ancestor = ancestor.parent
    return None


def _file_for(base: Path) -> str | None:
    """``base`` as TypeScript resolves a module: with a suffix, a ``.js`` written for a ``.ts``
    file, or a folder's ``index``."""
    candidates = [base] if base.suffix in _SUFFIXES else []
    if base.suffix in (".js", ".mjs", ".cjs", ".jsx"):
        stem = base.with_suffix("")
        candidates += [stem.with_name(stem.name + suffix) for suffix in (".ts", ".mts", ".tsx")]
    candidates += [base.with_name(base.name + suffix) for suffix in _SUFFIXES]
    candidates += [base / f"index{suffix}" for suffix in _SUFFIXES]
    for candidate in candidates:
        if candidate.is_file():
            return os.path.realpath(candidate)  # one cache entry per file, however imported
    return None


@lru_cache(maxsize=256)
def _configured_targets(folder: str, specifier: str) -> tuple[str, ...]:
    """Paths ``compilerOptions.paths`` of the nearest ``tsconfig.json``/``jsconfig.json`` maps
    ``specifier`` to (``"@/*": ["./src/*"]``), most specific pattern first."""
    config = _nearest_config(folder)
    if config is None:
        return ()
    root, base_url, paths = config
    matches: list[tuple[int, str]] = []
    for pattern, targets in paths.items():
        prefix, star, suffix = pattern.partition("*")
        if star:
            if not (specifier.startswith(prefix) and specifier.endswith(suffix)
                    and len(specifier) >= len(prefix) + len(suffix)):
                continue
            middle = specifier[len(prefix):len(specifier) - len(suffix)]
        elif specifier != pattern:
            continue
        else:
            middle = ""
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, str):
                matches.append((len(prefix), os.path.join(root, base_url,
                                                          target.replace("*", middle, 1))))
    matches.sort(key=lambda match: -match[0])
    return tuple(path for _, path in matches)


@lru_cache(maxsize=256)
def _nearest_config(folder: str) -> tuple[str, str, dict[str, object]] | None:
    """``(root, baseUrl, paths)`` of the nearest ``tsconfig.json``/``jsconfig.json``, with the
    configs it ``extends`` followed (see :func:`_merged_options`)."""
    current = Path(folder)
    for _ in range(_MAX_ANCESTORS * 2):
        for name in ("tsconfig.json", "jsconfig.json"):
            candidate = current / name
            if candidate.is_file():
                return _merged_options(candidate)
        if current.parent == current:
            return None
        current = current.parent
    return None


def _merged_options(config: Path) -> tuple[str, str, dict[str, object]]:
    """``(root, baseUrl, paths)`` of ``config`` and the configs it ``extends`` (relative paths
    only, a package's config is not read; at most :data:`_MAX_EXTENDS` deep, a cycle stops).

    As in TypeScript, the nearest config defining ``paths`` or ``baseUrl`` wins, and each is
    relative to the folder of the config that defines it.

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "tsconfig.base.json").write_text(
        ...     '{"compilerOptions": {"baseUrl": ".", "paths": {"@lib/*": ["lib/*"]}}}')
        >>> (folder / "app").mkdir()
        >>> _ = (folder / "app" / "tsconfig.json").write_text('{"extends": "../tsconfig.base"}')
        >>> root, base_url, paths = _merged_options(folder / "app" / "tsconfig.json")
        >>> (root == str(folder), base_url, paths)
        (True, '.', {'@lib/*': ['lib/*']})
    """
    paths: tuple[str, dict[str, object]] | None = None
    base_url: tuple[str, str] | None = None
    pending = [config]
    seen: set[str] = set()
    while pending and len(seen) < _MAX_EXTENDS:
        current = pending.pop()  # depth first: a parent's whole chain beats an earlier one
        key = os.path.realpath(current)
        if key in seen:
            continue
        seen.add(key)
        data = _config_data(current)
        options = data.get("compilerOptions")
        options = options if isinstance(options, dict) else {}
        folder = str(current.parent)
        if paths is None and isinstance(options.get("paths"), dict):
            paths = (folder, options["paths"])
        if base_url is None and isinstance(options.get("baseUrl"), str):
            base_url = (folder, options["baseUrl"])
        extends = data.get("extends")
        # a later entry of an `extends` array overrides an earlier one: popped first
        for parent in extends if isinstance(extends, list) else [extends]:
            if isinstance(parent, str) and parent.startswith(("./", "../")):
                target = current.parent / parent
                if not target.is_file() and target.suffix != ".json":
                    target = target.with_name(target.name + ".json")
                pending.append(target)
    if base_url is not None:
        root = os.path.normpath(os.path.join(*base_url))
        return root, ".", paths[1] if paths is not None else {}
    if paths is not None:
        return paths[0], ".", paths[1]
    return str(config.parent), ".", {}


def _config_data(path: Path) -> dict[str, object]:
    """A tsconfig's JSON (with comments and trailing commas); {} when it cannot be read:
    resolving a module is best effort, never an error."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(_JSONC.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else "", text))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _exported_kind(path: str, mtime_ns: int, size: int, exported: str, tags: tuple[str, ...],
                   analyze: Analyze) -> Kind | None:
    """``analyze`` of one module's name, cached by the file's path, time and size.

    The cycle guard is per name, not per module: ``b.f`` returning ``a.g()`` returning ``b.h()``
    reads ``b`` again for ``h``, which is no recursion. An answer reached through a cut cycle
    (a name asked for while it was being read) is not cached: it depends on where the reading
    started, and a later file asking for the name directly gets the full answer.
    """
    key = (path, mtime_ns, size, exported, tags, analyze)
    if key in _KINDS:
        return _KINDS[key]
    if (path, exported) in _IN_PROGRESS or len(_IN_PROGRESS) >= _MAX_DEPTH \
            or _stack_depth() > sys.getrecursionlimit() // 2:
        _CYCLES_CUT[0] += 1
        return None  # a recursion through imports, or a chain past the bound (Python's stack)
    cut_before = _CYCLES_CUT[0]
    _IN_PROGRESS.add((path, exported))
    try:
        text = Path(path).read_text(encoding="utf-8")
        kind = analyze(path, text, exported, tags)
    except (OSError, UnicodeDecodeError, ExtractionError):
        kind = None  # unreadable or unlexable: convguard cannot tell
    except RecursionError:  # helpers nested deep in each module of a chain
        _CYCLES_CUT[0] += 1
        kind = None
    finally:
        _IN_PROGRESS.discard((path, exported))
    if _CYCLES_CUT[0] == cut_before:
        if len(_KINDS) >= _MAX_CACHED:
            _KINDS.clear()
        _KINDS[key] = kind
    return kind


def _stack_depth() -> int:
    """Frames on the Python stack (a module read inside another costs a few dozen)."""
    frame = sys._getframe(1)
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return depth


__all__ = ["Analyze", "Kind", "imported_kind", "resolve_module"]
