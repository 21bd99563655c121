"""Scenario files: one ``.yaml``/``.yml``/``.json`` file, one scenario, checked against a schema.

A scenario has a ``name``, a ``description``, ``params`` (profile roles), ``tables`` (table name
-> rows) and, optionally, ``expected`` (result row key -> counts) and ``combination`` (which
combination of a call site's SQL fragments it runs, numbered from 1 as ``convguard extract``
prints them; default 1). Loading validates everything a
database would otherwise reject later with a less helpful message - unknown keys, tables and
columns, NOT NULL columns left out, repeated ids, dangling references, bad timestamps, unknown
expected keys - and names the file, the line and what to do.

YAML is read with a safe loader that does NOT turn unquoted timestamps into ``datetime`` values
(PyYAML's implicit resolver would drop the ``Z`` and the milliseconds' meaning): they stay text,
marked as written unquoted (:class:`~convguard.kit.scenario.rows.DateText`, also ``!date "..."``), which
a query without a profile binds as a JavaScript ``Date``. Every timestamp of a row is parsed here,
as UTC, to a naive ``datetime`` (``timestamp without time zone`` holds UTC, as Prisma
stores it). Literal schema defaults (``'sms'``) are filled in so an oracle sees what the database
will hold; function defaults (``CURRENT_TIMESTAMP``) are left to the database.

Example:
    >>> from convguard import Column, Schema, Table
    >>> shop = Schema((
    ...     Table("Customer", (Column("id", "text", nullable=False, primary_key=True),)),
    ...     Table("Order", (Column("id", "text", nullable=False, primary_key=True),
    ...                     Column("customerId", "text", nullable=False,
    ...                            references=("Customer", "id")),
    ...                     Column("status", "text", nullable=False, default="'OPEN'")))))
    >>> text = '''
    ... name: one-order
    ... params: {to: 2026-02-01T00:00:00Z}
    ... tables:
    ...   Customer: [{id: c1}]
    ...   Order: [{id: o1, customerId: c1}]
    ... '''
    >>> scenario = parse_scenario(text, path="s.yaml", schema=shop)
    >>> scenario.params["to"], scenario.dataset.rows("Order")[0]["status"]
    ('2026-02-01T00:00:00Z', 'OPEN')
    >>> parse_scenario("name: x\\ntables: {Order: [{id: o1}]}", path="s.yaml", schema=shop)
    Traceback (most recent call last):
    ...
    convguard._errors.ScenarioError: s.yaml:2: table "Order": row 1 leaves out NOT NULL column(s) customerId (hint: give customerId a value)
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path
from typing import Any

from convguard._dataset import Dataset, parse_timestamp
from convguard._errors import ConvguardError, ScenarioError, ScenarioErrors
from convguard._schema import Column, Schema, Table
from convguard.kit.scenario.rows import DateText, ExpectedRows, date_object, read_expected_value

SCENARIO_SUFFIXES = (".yaml", ".yml", ".json")
TOP_LEVEL_KEYS = ("name", "description", "params", "tables", "ordered", "expected",
                  "combination")

#: A path inside the document: keys and list indexes, e.g. ``("tables", "Lead", 0, "id")``.
DocPath = tuple[Any, ...]


@dataclass(frozen=True)
class ScenarioContract:
    """What a profile adds to scenario validation (all optional, so the loader stays generic).

    ``check_params`` raises :class:`ScenarioError` for bad params; ``expected_rows`` and
    ``expected_fields`` list the keys ``expected`` may use (empty: anything goes).
    """

    role_names: tuple[str, ...] = ()
    check_params: Callable[[Mapping[str, Any]], object] | None = None
    expected_rows: tuple[str, ...] = ()
    expected_fields: tuple[str, ...] = ()
    #: ``expected`` lists result rows (column -> value) instead of counts per key, and
    #: ``ordered`` may say their order matters (a query without a profile).
    expected_as_rows: bool = False
    #: ``(table, column)`` the query reads: a NOT NULL column without a default that a row leaves
    #: out gets a placeholder value when the query never reads it (None: never).
    read_columns: frozenset[tuple[str, str]] | None = None
    #: A query without a profile: how many combinations of SQL fragments its call site has, and
    #: the contract of the ``N``-th (its parameters, the columns it reads), which validates a
    #: scenario saying ``combination: N``. 0: checked when the plan is resolved
    #: (:meth:`convguard.kit.conformance.runner.QueryPlan.for_scenario`).
    combinations: int = 0
    combination_contract: Callable[[int], ScenarioContract] | None = None
    call_site: str = ""


def combination_error(combination: int, count: int, call_site: str, *, path: str | None,
                      line: int | None) -> ScenarioError:
    """The error of a scenario whose ``combination`` the call site does not have.

    Example:
        >>> print(combination_error(3, 2, "a.ts::f", path="s.yaml", line=4))
        s.yaml:4: combination 3: a.ts::f has 2 combinations of SQL fragments (hint: write combination: 1 to 2 (the numbers `convguard extract a.ts::f` prints), or leave it out for combination 1)
        >>> print(combination_error(2, 1, "a.ts::f", path="s.yaml", line=4))
        s.yaml:4: combination 2: a.ts::f has 1 combination of SQL fragments (hint: leave combination out: the query runs as written)
    """
    if count <= 1:
        hint = "leave combination out: the query runs as written"
    else:
        hint = (f"write combination: 1 to {count} (the numbers `convguard extract {call_site}` "
                "prints), or leave it out for combination 1")
    return ScenarioError(f"combination {combination}: {call_site} has {count} combination"
                         f"{'' if count == 1 else 's'} of SQL fragments", path=path, line=line,
                         hint=hint)


@dataclass(frozen=True)
class Scenario:
    """One loaded, validated scenario.

    ``expected`` is None when the profile oracle decides, counts per key for a profile, or
    :class:`~convguard.kit.scenario.rows.ExpectedRows` for a query without one; ``lines`` maps
    document paths to their 1-based line in the file (for reports that point at a row or an
    expected count).
    """

    name: str
    description: str
    path: str
    params: Mapping[str, Any]
    dataset: Dataset
    expected: Any
    lines: Mapping[DocPath, int] = field(default_factory=dict, compare=False, repr=False)
    #: which combination of the call site's SQL fragments runs (1-based, ``convguard extract``'s)
    combination: int = 1

    def line_of(self, *doc_path: Any) -> int | None:
        """The line of a document path (the nearest enclosing one that has a line)."""
        path = tuple(doc_path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


# Reading ------------------------------------------------------------------------------------------

def _yaml_loader() -> type:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class ScenarioLoader(base):  # type: ignore[misc, valid-type]
        """SafeLoader whose timestamps stay text, marked as written unquoted (DateText)."""

    def date_text(loader: Any, node: Any) -> DateText:
        return DateText(loader.construct_scalar(node))

    ScenarioLoader.add_constructor("tag:yaml.org,2002:timestamp", date_text)
    ScenarioLoader.add_constructor("!date", date_text)
    return ScenarioLoader


_LOADER: type | None = None


def _loader() -> type:
    global _LOADER
    if _LOADER is None:
        _LOADER = _yaml_loader()
    return _LOADER


#: Deepest nesting of a scenario document (a row's value sits at depth 5; JSON columns add some).
MAX_DEPTH = 64
#: YAML aliases (``*name``) a scenario may use, and the nodes they may add by expansion. A
#: kilobyte of nested aliases otherwise expands to billions of nodes (an "alias bomb").
MAX_ALIAS_USES = 100
#: Longest integer literal read (a count or day number has a few digits; text is quoted).
MAX_INTEGER_CHARS = 100
_INT_TAG = "tag:yaml.org,2002:int"
MAX_ALIAS_NODES = 10_000


def _children(node: Any) -> list[Any]:
    # By node id, not class: see _walk_lines (PyYAML imported again has new node classes).
    if node.id == "mapping":
        return [child for pair in node.value for child in pair]
    if node.id == "sequence":
        return list(node.value)
    return []


def check_node_graph(root: Any, *, path: str) -> None:
    """Refuse a composed YAML document that nests deeper than :data:`MAX_DEPTH`, refers to
    itself through an alias, or uses aliases beyond :data:`MAX_ALIAS_USES` /
    :data:`MAX_ALIAS_NODES` - before anything walks it as a tree.

    Iterative and linear in the number of distinct nodes (aliases share nodes in the graph): one
    pass measures the depth and notices a shared node; only a document that uses aliases gets
    the second pass that expands them by count.

    Example:
        >>> import yaml
        >>> check_node_graph(yaml.compose("a: &x [1, 2]\\nb: *x\\n"), path="s.yaml")
        >>> check_node_graph(yaml.compose("a: &x [1, *x]\\n"), path="s.yaml")
        Traceback (most recent call last):
        ...
        convguard._errors.ScenarioError: s.yaml:1: the anchor on this line refers to itself through an alias (hint: write the value out; a scenario is a tree of values)
    """
    seen: set[int] = set()
    shared = False
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            shared = True  # an alias (or a cycle): the second pass decides
            continue
        seen.add(id(node))
        if depth > MAX_DEPTH:
            raise ScenarioError(f"the document nests deeper than {MAX_DEPTH} levels",
                                path=path, line=node.start_mark.line + 1,
                                hint="a scenario is name, params, tables of rows and "
                                     "expected counts: flatten the nesting")
        if node.id == "mapping":  # by id, not class: see _walk_lines
            for key_node, value_node in node.value:
                stack.append((key_node, depth + 1))
                stack.append((value_node, depth + 1))
        elif node.id == "sequence":
            stack.extend((child, depth + 1) for child in node.value)
        elif node.tag == _INT_TAG and len(node.value) > MAX_INTEGER_CHARS:
            # Python refuses to convert (or print) integers of thousands of digits.
            raise ScenarioError(f"an integer of {len(node.value)} characters", path=path,
                                line=node.start_mark.line + 1,
                                hint="no count, id or day number needs that many digits; quote "
                                     "it if it is text")
    if shared:
        _check_aliases(root, path=path)


def _check_aliases(root: Any, *, path: str) -> None:
    """Cycles, depth through shared nodes, and the alias budget of a document using aliases."""
    expanded: dict[int, int] = {}   # node id -> nodes in its subtree, aliases expanded
    height: dict[int, int] = {}
    on_path: set[int] = set()
    incoming: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            children = _children(node)
            expanded[key] = 1 + sum(expanded[id(child)] for child in children)
            height[key] = 1 + max((height[id(child)] for child in children), default=0)
            if height[key] > MAX_DEPTH:
                raise ScenarioError(f"the document nests deeper than {MAX_DEPTH} levels",
                                    path=path, line=node.start_mark.line + 1,
                                    hint="a scenario is name, params, tables of rows and "
                                         "expected counts: flatten the nesting")
            continue
        if key in expanded:
            continue
        if key in on_path:  # popped again while its own subtree is open: an alias cycle
            raise ScenarioError("the anchor on this line refers to itself through an alias",
                                path=path, line=node.start_mark.line + 1,
                                hint="write the value out; a scenario is a tree of values")
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            incoming[id(child)] = incoming.get(id(child), 0) + 1
            stack.append((child, False))
    # Every edge but the first into a node is an alias use.
    alias_uses = sum(count - 1 for count in incoming.values())
    extra = expanded[id(root)] - len(expanded)
    if alias_uses > MAX_ALIAS_USES or extra > MAX_ALIAS_NODES:
        shared = min((node for node in _shared_nodes(root, incoming)),
                     key=lambda node: node.start_mark.index, default=None)
        raise ScenarioError(
            f"YAML aliases expand the document too far ({alias_uses} alias uses adding "
            f"{extra} nodes; the limits are {MAX_ALIAS_USES} uses and {MAX_ALIAS_NODES} nodes)",
            path=path, line=shared.start_mark.line + 1 if shared is not None else None,
            hint="write the values out instead of repeating anchors (the first reused anchor "
                 "is on this line)")


def _shared_nodes(root: Any, incoming: Mapping[int, int]) -> list[Any]:
    """Nodes reached through more than one edge (the anchors aliases reuse)."""
    shared, seen, stack = [], {id(root)}, [root]
    while stack:
        node = stack.pop()
        if incoming.get(id(node), 0) > 1:
            shared.append(node)
        for child in _children(node):
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return shared


def _walk_lines(node: Any, path: DocPath, lines: dict[DocPath, int], source: str) -> None:
    """Record the line of every mapping key and sequence item; refuse repeated keys.

    Nodes are told apart by their ``id`` ("mapping", "sequence", "scalar"), not by class: a
    process that imports PyYAML again (pytest's in-process runs) has new node classes, and the
    loader made before would no longer match them.
    """
    if node.id == "mapping":
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if key_node.id == "scalar" else None
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ScenarioError(
                    f"key {key!r} appears twice in the same mapping (first on line {seen[key]})",
                    path=source, line=line, hint="remove or rename one of them")
            seen[key] = line
            lines[(*path, key)] = line
            _walk_lines(value_node, (*path, key), lines, source)
    elif node.id == "sequence":
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _walk_lines(item, (*path, index), lines, source)


def read_document(text: str, *, path: str) -> tuple[Any, dict[DocPath, int]]:
    """Parse one scenario document (YAML, or JSON, which YAML reads too) with its line map.

    Example:
        >>> data, lines = read_document("a: 1\\nb:\\n  - 2026-01-01T00:00:00Z\\n", path="x.yaml")
        >>> data, lines[("b", 0)]
        ({'a': 1, 'b': ['2026-01-01T00:00:00Z']}, 3)
    """
    import yaml

    if path.endswith(".json") and text.strip():
        # YAML reads JSON and gives the line map, but it also takes what JSON refuses
        # (`{"tables": }` is a null there, `{'a': 1,}` a mapping): JSON's own parser says first
        # whether the file is JSON at all.
        _check_json_syntax(text, path=path)
    lines: dict[DocPath, int] = {}
    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError("the file is empty", path=path, line=1,
                                hint="write name, params and tables (see DESIGN.md)")
        lines[()] = node.start_mark.line + 1
        check_node_graph(node, path=path)
        _walk_lines(node, (), lines, path)
        try:
            data = loader.construct_document(node)
        except (ValueError, TypeError, OverflowError) as error:
            # An explicit tag on a value it cannot read (`!!float PAID`, `!!int x`): PyYAML
            # raises the conversion's own error, without a place.
            line, problem = _unreadable_scalar(node) or (None, str(error))
            raise ScenarioError(f"cannot read a tagged value: {problem}", path=path, line=line,
                                hint="drop the !!tag, or give a value of that type") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if path.endswith(".json"):
            return _read_json(text, path=path), {}
        problem = error.problem or error.context or "invalid YAML"
        raise ScenarioError(f"cannot parse the file: {problem}", path=path,
                            line=mark.line + 1 if mark else None,
                            hint="one scenario per file, as a YAML mapping") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"cannot parse the file: {error}", path=path) from None
    finally:
        loader.dispose()
    return data, lines


def _unreadable_scalar(root: Any) -> tuple[int, str] | None:
    """The line of the first scalar PyYAML's safe constructors cannot build, and why."""
    import yaml

    probe = yaml.SafeLoader("")
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                probe.construct_object(node)
            except Exception as error:  # noqa: BLE001 - any failure is the one to point at
                return node.start_mark.line + 1, str(error)
        else:
            stack.extend(reversed(_children(node)))
    return None


def json_depth(text: str) -> tuple[int, int]:
    """The deepest ``[``/``{`` nesting of JSON text (strings skipped) and the line it reaches.

    Example:
        >>> json_depth('{"a": [1, {"b": "[[["}]}')
        (3, 1)
    """
    depth = deepest = 0
    line = deepest_line = 1
    in_string = escaped = False
    for char in text:
        if char == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, line
        elif char in "]}":
            depth -= 1
    return deepest, deepest_line


def _check_json_syntax(text: str, *, path: str) -> None:
    """Raise "invalid JSON" at its line; numbers, depth and the rest are the reader's to judge."""
    if json_depth(text)[0] > MAX_DEPTH:
        return  # the reader refuses it with its own message; json.loads would recurse too deep
    try:
        json.loads(text, parse_int=str, parse_float=str, parse_constant=str)
    except json.JSONDecodeError as error:
        raise ScenarioError(f"invalid JSON: {error.msg}", path=path, line=error.lineno,
                            hint="fix the JSON syntax") from None


def _read_json(text: str, *, path: str) -> Any:
    deepest, line = json_depth(text)
    if deepest > MAX_DEPTH:
        # json.loads recurses per level: 100k levels would exhaust the stack before any check.
        raise ScenarioError(f"the document nests deeper than {MAX_DEPTH} levels", path=path,
                            line=line, hint="a scenario is name, params, tables of rows and "
                                            "expected counts: flatten the nesting")
    def bounded_int(literal: str) -> int:
        if len(literal) > MAX_INTEGER_CHARS:
            raise ScenarioError(f"an integer of {len(literal)} digits", path=path,
                                hint="no count, id or day number needs that many digits")
        return int(literal)

    try:
        return json.loads(text, parse_int=bounded_int)
    except json.JSONDecodeError as error:
        raise ScenarioError(f"invalid JSON: {error.msg}", path=path, line=error.lineno,
                            hint="fix the JSON syntax") from None


# Values -------------------------------------------------------------------------------------------

_PRECISION = re.compile(r"\((\d+)(?:\s*,\s*\d+)?\)")


def column_family(schema: Schema, column: Column) -> str:
    """A coarse family of a column type: timestamp, timestamptz, date, text, integer, number,
    boolean, json, enum, array or other.

    Example:
        >>> from convguard import Column, EnumType, Schema
        >>> s = Schema((), enums=(EnumType("OrderStatus", ("PAID", "REFUNDED")),))
        >>> column_family(s, Column("paidAt", "timestamp(3)")), column_family(
        ...     s, Column("status", "OrderStatus"))
        ('timestamp', 'enum')
    """
    type_name = column.type.strip()
    if type_name.endswith("[]"):
        return "array"
    if schema.enum(type_name) is not None:
        return "enum"
    base = _PRECISION.sub("", type_name.lower()).strip()
    if base in ("timestamptz", "timestamp with time zone"):
        return "timestamptz"
    if base in ("timestamp", "timestamp without time zone"):
        return "timestamp"
    if base == "date":
        return "date"
    if base in ("text", "varchar", "character varying", "char", "character", "uuid", "citext",
                "bpchar", "name"):
        return "text"
    if base in ("integer", "int", "int2", "int4", "int8", "bigint", "smallint", "serial",
                "bigserial", "smallserial"):
        return "integer"
    if base in ("numeric", "decimal", "real", "double precision", "float4", "float8", "money"):
        return "number"
    if base in ("boolean", "bool"):
        return "boolean"
    if base in ("json", "jsonb"):
        return "json"
    return "other"


def literal_default(default: str | None) -> tuple[bool, Any]:
    """``(True, value)`` for a literal default (``'sms'``, ``0``, ``true``, ``'A'::"Enum"``);
    ``(False, None)`` for a function default the database computes (``CURRENT_TIMESTAMP``).

    Example:
        >>> literal_default("'it''s'"), literal_default("CURRENT_TIMESTAMP")
        ((True, "it's"), (False, None))
        >>> literal_default("'AI_AUTO_SEND'::\\"CampaignResponseMode\\""), literal_default("42")
        ((True, 'AI_AUTO_SEND'), (True, 42))
    """
    if default is None:
        return False, None
    text = default.strip()
    quoted = re.fullmatch(r"'((?:[^']|'')*)'(?:::[\w\" ]+(?:\(\d+\))?)?", text)
    if quoted:
        return True, quoted.group(1).replace("''", "'")
    if re.fullmatch(r"-?\d+", text):
        return True, int(text)
    if re.fullmatch(r"-?\d+\.\d*", text):
        return True, float(text)
    if text.lower() in ("true", "false"):
        return True, text.lower() == "true"
    if text.upper() == "NULL":
        return True, None
    return False, None


def _digest(*parts: object) -> bytes:
    import hashlib

    return hashlib.sha256("\0".join(map(str, parts)).encode("utf-8")).digest()


def _encode(digest: bytes, alphabet: str, length: int) -> str:
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, remainder = divmod(number, len(alphabet))
        chars.append(alphabet[remainder])
    return "".join(chars)


def client_generated(kind: str, table: str, column: str, index: int) -> str:
    """The value Prisma Client would generate for ``@default(kind())``, made deterministic (the
    same scenario seeds the same ids on every run, so a failure repeats).

    Example:
        >>> client_generated("uuid", "Order", "id", 0)
        'c7827ce1-dcfb-42cf-b281-c72bdea719b9'
        >>> len(client_generated("cuid", "Order", "id", 0)), client_generated("cuid", "T", "id", 1)[0]
        (25, 'c')
    """
    import uuid

    digest = _digest("convguard", table, column, index)
    if kind == "uuid":
        return str(uuid.UUID(bytes=digest[:16], version=4))
    if kind == "cuid":  # cuid v1: "c" and 24 lower-case base-36 characters
        return "c" + _encode(digest, "0123456789abcdefghijklmnopqrstuvwxyz", 24)
    if kind == "nanoid":
        return _encode(digest, "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                       21)
    if kind == "ulid":
        return _encode(digest, "0123456789ABCDEFGHJKMNPQRSTVWXYZ", 26)
    raise ValueError(f"unknown client-generated default {kind}()")


def placeholder_value(schema: Schema, column: Column, table: str, index: int) -> Any:
    """A deterministic value of ``column``'s type for a NOT NULL column the query never reads
    (distinct per row, so a unique column stays unique). Raises ``_Problem`` for a type it cannot
    invent.

    Example:
        >>> from convguard._schema import Column, Schema
        >>> [placeholder_value(Schema(()), Column("c", t, nullable=False), "T", 1)
        ...  for t in ("text", "integer", "boolean", "timestamp(3)", "jsonb")]
        ['T.c 2', 2, False, datetime.datetime(2000, 1, 1, 0, 0, 1), {}]
    """
    import uuid
    from datetime import datetime, timedelta

    family = column_family(schema, column)
    base = _PRECISION.sub("", column.type.lower()).strip()
    if base == "uuid":
        return str(uuid.UUID(bytes=_digest("placeholder", table, column.name, index)[:16],
                             version=4))
    if family == "text":
        return f"{table}.{column.name} {index + 1}"
    if family in ("integer", "number"):
        return index + 1
    if family == "boolean":
        return False
    if family == "timestamp":
        return datetime(2000, 1, 1) + timedelta(seconds=index)
    if family == "timestamptz":
        return datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=index)
    if family == "date":
        return date(2000, 1, 1) + timedelta(days=index)
    if family == "enum":
        return schema.enum(column.type).values[0]  # type: ignore[union-attr]
    if family == "json":
        return {}
    if family == "array":
        return []
    raise _Problem(f"convguard cannot invent a placeholder of type {column.type}",
                   f"give {column.name} a value")


def _precision_of(column: Column) -> int:
    match = _PRECISION.search(column.type)
    return int(match.group(1)) if match else 6


class _Problem(Exception):
    """A value problem; the caller adds the file, line and hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def convert_value(schema: Schema, column: Column, value: Any) -> Any:
    """A scenario value converted to the Python value the column holds (raises ``_Problem``)."""
    if value is None:
        if not column.nullable:
            raise _Problem(f"column {column.name} is NOT NULL", f"give {column.name} a value")
        return None
    family = column_family(schema, column)
    if family in ("timestamp", "timestamptz", "date"):
        value = date_object(value) or value  # {"$date": "..."}, as JSON scenarios write dates
    if family in ("timestamp", "timestamptz"):
        try:
            moment = parse_timestamp(value)
        except ValueError as error:
            raise _Problem(f"{column.name}: {error}",
                           "write e.g. \"2026-01-10T09:30:00.000Z\" (Z = UTC)") from None
        digits = _precision_of(column)
        if moment.microsecond % (10 ** (6 - digits)):
            raise _Problem(f"{column.name}: {value!r} is finer than {column.type} keeps "
                           f"({digits} fractional digits)",
                           "round the value; the database would round it, the oracle would not")
        return moment.replace(tzinfo=UTC) if family == "timestamptz" else moment
    if family == "date":
        try:
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            raise _Problem(f"{column.name}: {value!r} is not a date", "write e.g. 2026-01-10") \
                from None
    if family == "text":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _Problem(f"{column.name}: expected text, got {value!r}", "quote the value")
        if "\x00" in str(value):
            raise _Problem(f"{column.name}: {value!r} holds a NUL character, which PostgreSQL "
                           "text cannot store", "remove the \\0 from the value")
        return str(value)
    if family == "enum":
        allowed = schema.enum(column.type).values  # type: ignore[union-attr]
        if value not in allowed:
            raise _Problem(f"{column.name}: {value!r} is not a value of enum {column.type}",
                           f"use one of: {', '.join(allowed)}")
        return value
    if family == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Problem(f"{column.name}: expected an integer, got {value!r}")
        return value
    if family == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Problem(f"{column.name}: expected a number, got {value!r}")
        return value
    if family == "boolean":
        if not isinstance(value, bool):
            raise _Problem(f"{column.name}: expected true or false, got {value!r}")
        return value
    if family == "array" and not isinstance(value, list):
        raise _Problem(f"{column.name}: expected a list, got {value!r}")
    return value


# Validation ---------------------------------------------------------------------------------------

def _suggest(name: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]!r}? known: {', '.join(known)}"
    return f"known: {', '.join(known)}"


class _Validator:
    def __init__(self, path: str, lines: Mapping[DocPath, int], schema: Schema,
                 contract: ScenarioContract | None = None) -> None:
        self.path = path
        self.lines = lines
        self.schema = schema
        self.contract = contract or ScenarioContract()

    def line(self, *doc_path: Any) -> int | None:
        path = tuple(doc_path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def error(self, message: str, *doc_path: Any, hint: str | None = None) -> ScenarioError:
        return ScenarioError(message, path=self.path, line=self.line(*doc_path), hint=hint)

    def rows(self, tables: Any) -> dict[str, tuple[dict[str, Any], ...]]:
        if not isinstance(tables, Mapping):
            raise self.error("tables must map a table name to a list of rows", "tables",
                             hint="write tables:\\n  Lead:\\n    - {id: l1, ...}")
        converted: dict[str, tuple[dict[str, Any], ...]] = {}
        for table_name, rows in tables.items():
            table = self.schema.table(table_name) if self.schema.has_table(str(table_name)) \
                else None
            mapped = self.schema.mapped_model(str(table_name)) if table is None else None
            if mapped is not None:
                raise self.error(f"unknown table {table_name!r}", "tables", table_name,
                                 hint=f"the Prisma model {table_name} is stored as table "
                                      f"{mapped.name!r} (@@map); scenarios name the database's "
                                      f"tables: write {mapped.name}")
            if table is None:
                raise self.error(f"unknown table {table_name!r}", "tables", table_name,
                                 hint=_suggest(str(table_name), (t.name for t in
                                                                 self.schema.tables)))
            if rows is None:
                rows = []
            if not isinstance(rows, list):
                raise self.error(f"table {table_name!r} must hold a list of rows",
                                 "tables", table_name, hint="write each row as - {column: value}")
            converted[table.name] = tuple(self.row(table, row, index)
                                          for index, row in enumerate(rows))
        self.check_keys(converted)
        return converted

    def row(self, table: Table, row: Any, index: int) -> dict[str, Any]:
        where = ("tables", table.name, index)
        if not isinstance(row, Mapping):
            raise self.error(f"table \"{table.name}\": row {index + 1} is not a mapping", *where,
                             hint="write each row as - {column: value}")
        result: dict[str, Any] = {}
        for name, value in row.items():
            if not table.has_column(str(name)):
                column = table.mapped_field(str(name))
                hint = (f"the Prisma field {name} is stored as column {column.name!r} (@map); "
                        f"scenarios name the database's columns: write {column.name}"
                        if column is not None else _suggest(str(name), table.column_names))
                raise self.error(f"table \"{table.name}\" has no column {name!r}", *where, name,
                                 hint=hint)
            try:
                result[name] = convert_value(self.schema, table.column(name), value)
            except _Problem as problem:
                raise self.error(f"table \"{table.name}\": {problem.message}", *where, name,
                                 hint=problem.hint) from None
        missing = []
        for column in table.columns:
            if column.name in result:
                continue
            is_literal, default = literal_default(column.default)
            if column.client_default is not None:
                result[column.name] = client_generated(column.client_default, table.name,
                                                       column.name, index)
            elif is_literal:
                result[column.name] = default
            elif column.default is not None:
                continue  # a function default: the database fills it in
            elif column.nullable:
                result[column.name] = None
            else:
                missing.append(column.name)
        read = self.contract.read_columns
        if missing and read is not None:
            for name in missing:
                column = table.column(name)
                if column.references is not None:
                    target_table, target_column = column.references
                    raise self.error(
                        f"table \"{table.name}\": row {index + 1} leaves out NOT NULL column "
                        f"{name}, a reference to \"{target_table}\"", *where,
                        hint=f"give {name} the {target_column} of a {target_table} row")
                if (table.name, name) in read:
                    raise self.error(
                        f"table \"{table.name}\": row {index + 1} leaves out NOT NULL column "
                        f"{name}, which has no default and which the query reads", *where,
                        hint=f"give {name} a value (only columns the query never reads get a "
                             "placeholder)")
                try:
                    result[name] = placeholder_value(self.schema, column, table.name, index)
                except _Problem as problem:
                    raise self.error(f"table \"{table.name}\": row {index + 1} leaves out NOT "
                                     f"NULL column {name}: {problem.message}", *where,
                                     hint=problem.hint) from None
            missing = []
        if missing:
            names = ", ".join(missing)
            raise self.error(f"table \"{table.name}\": row {index + 1} leaves out NOT NULL "
                             f"column(s) {names}", *where, hint=f"give {names} a value")
        return result

    def check_keys(self, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """Primary keys and unique columns are unique; references point at a scenario row."""
        for table_name, rows in tables.items():
            table = self.schema.table(table_name)
            key_columns = [c.name for c in table.columns if c.primary_key]
            unique_sets = ([tuple(key_columns)] if key_columns else []) + [
                (c.name,) for c in table.columns if c.unique and not c.primary_key]
            for columns in unique_sets:
                seen: dict[tuple[Any, ...], int] = {}
                for index, row in enumerate(rows):
                    value = tuple(row.get(c) for c in columns)
                    if any(v is None for v in value):
                        continue
                    if value in seen:
                        shown = value[0] if len(value) == 1 else value
                        raise self.error(
                            f"table \"{table_name}\": {'/'.join(columns)} {shown!r} is used by "
                            f"rows {seen[value] + 1} and {index + 1}",
                            "tables", table_name, index, columns[0],
                            hint="give every row its own " + "/".join(columns))
                    seen[value] = index
        for table_name, rows in tables.items():
            table = self.schema.table(table_name)
            for column in table.columns:
                if column.references is None:
                    continue
                target_table, target_column = column.references
                targets = {row.get(target_column) for row in tables.get(target_table, ())}
                for index, row in enumerate(rows):
                    reference = row.get(column.name)
                    if reference is not None and reference not in targets:
                        raise self.error(
                            f"table \"{table_name}\": {column.name} {reference!r} refers to no "
                            f"\"{target_table}\" row of this scenario",
                            "tables", table_name, index, column.name,
                            hint=f"add a {target_table} row with {target_column}: {reference}")

    def expected_rows(self, expected: Any, ordered: Any) -> ExpectedRows:
        if not isinstance(expected, list):
            raise self.error("expected lists the rows the query returns (column -> value)",
                             "expected", hint="write expected:\\n  - {customer: Acme, total: 10}"
                             "\\n(or expected: [] for no row)")
        if not isinstance(ordered, bool):
            raise self.error(f"ordered must be true or false, not {ordered!r}", "ordered")
        rows = []
        for index, row in enumerate(expected):
            if not isinstance(row, Mapping) or not row:
                raise self.error(f"expected row {index + 1} is not a mapping of column -> value",
                                 "expected", index, hint="write - {column: value, ...}")
            rows.append({str(column): read_expected_value(value) for column, value in row.items()})
        return ExpectedRows(tuple(rows), ordered,
                            tuple(self.line("expected", index) for index in range(len(rows))))

    def expected(self, expected: Any, contract: ScenarioContract) -> dict[str, dict[str, int]]:
        if not isinstance(expected, Mapping):
            raise self.error("expected must map a result key to counts", "expected",
                             hint="write expected:\\n  sms-EDITED: {booked: 1}")
        result: dict[str, dict[str, int]] = {}
        for key, counts in expected.items():
            if contract.expected_rows and key not in contract.expected_rows:
                raise self.error(f"unknown expected key {key!r}", "expected", key,
                                 hint=_suggest(str(key), contract.expected_rows))
            if counts is None:
                counts = {}
            if not isinstance(counts, Mapping):
                raise self.error(f"expected {key!r} must map count names to numbers",
                                 "expected", key, hint="write e.g. {booked: 1, notBooked: 2}")
            for name, count in counts.items():
                if contract.expected_fields and name not in contract.expected_fields:
                    raise self.error(f"unknown count {name!r} in expected {key!r}",
                                     "expected", key, name,
                                     hint=_suggest(str(name), contract.expected_fields)
                                     + " (derived values such as eligible are computed)")
                if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    raise self.error(f"expected {key}.{name} must be a non-negative integer, "
                                     f"not {count!r}", "expected", key, name)
            result[str(key)] = dict(counts)
        return result

    def combination(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.error(f"combination must be a whole number from 1, not {value!r}",
                             "combination", hint="write the number `convguard extract` prints "
                             "(combination 2 of 3 -> combination: 2)")
        count = self.contract.combinations
        if count and value > count:
            raise combination_error(value, count, self.contract.call_site, path=self.path,
                                    line=self.line("combination"))
        return value

    def params(self, params: Any, contract: ScenarioContract) -> dict[str, Any]:
        if params is None:
            params = {}  # still checked: a profile may require a role (the error names the file)
        if not isinstance(params, Mapping):
            raise self.error("params must map role names to values", "params",
                             hint="write params:\\n  to: 2026-02-01T00:00:00Z")
        if contract.role_names:
            for name in params:
                if name not in contract.role_names:
                    raise self.error(f"unknown parameter {name!r}", "params", name,
                                     hint=_suggest(str(name), contract.role_names))
        if contract.check_params is not None:
            try:
                contract.check_params(params)
            except ConvguardError as error:
                named = [n for n in params if re.search(rf"\b{re.escape(str(n))}\b",
                                                        error.message)]
                raise self.error(error.message, "params", *(named[:1]),
                                 hint=error.hint) from None
        return dict(params)


def parse_scenario(text: str, *, path: str, schema: Schema,
                   contract: ScenarioContract | None = None) -> Scenario:
    """Validate one scenario document's text into a :class:`Scenario` (see the module example)."""
    contract = contract or ScenarioContract()
    data, lines = read_document(text, path=path)
    check = _Validator(path, lines, schema, contract)
    if not isinstance(data, Mapping):
        raise check.error("a scenario file holds one mapping (name, params, tables, expected)",
                          hint="see DESIGN.md, Scenario files")
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise check.error(f"unknown key {key!r}", key,
                              hint=_suggest(str(key), TOP_LEVEL_KEYS))
    combination = check.combination(data.get("combination", 1))
    if combination > 1 and contract.combination_contract is not None:
        contract = contract.combination_contract(combination)
        check = _Validator(path, lines, schema, contract)
    name = data.get("name", Path(path).stem)
    if not isinstance(name, str) or not name.strip():
        raise check.error("name must be a non-empty string", "name")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise check.error("description must be a string", "description")
    if "tables" not in data:
        raise check.error("the scenario has no tables", hint="add tables: with rows per table")
    tables = check.rows(data["tables"])
    expected: Any
    if contract.expected_as_rows:
        if data.get("expected") is None:
            raise check.error("the scenario has no expected rows; a query without a profile has "
                              "no oracle to decide", hint="add expected: with the rows the query "
                              "returns (expected: [] for no row)")
        expected = check.expected_rows(data["expected"], data.get("ordered", False))
    else:
        if "ordered" in data:
            raise check.error("ordered applies to expected rows of a query without a profile",
                              "ordered", hint="remove it: a profile compares its own result")
        expected = check.expected(data["expected"], contract) \
            if data.get("expected") is not None else None
    params = check.params(data.get("params"), contract)
    return Scenario(name=name.strip(), description=description.strip(), path=path,
                    params=params, dataset=Dataset(tables), expected=expected, lines=lines,
                    combination=combination)


def dataset_from_tables(tables: Mapping[str, Sequence[Mapping[str, Any]]], schema: Schema, *,
                        path: str = "<tables>") -> Dataset:
    """Rows as a scenario writes them (ISO timestamps, defaults left out), checked and converted.

    Example:
        >>> from convguard import Column, Schema, Table
        >>> shop = Schema((Table("Customer", (Column("id", "text", primary_key=True),)),))
        >>> data = dataset_from_tables({"Customer": [{"id": "c1"}]}, shop)
        >>> data.rows("Customer")
        ({'id': 'c1'},)
    """
    return Dataset(_Validator(path, {}, schema).rows(tables))


def load_scenario(path: str | os.PathLike[str], *, schema: Schema,
                  contract: ScenarioContract | None = None) -> Scenario:
    """Read and validate one scenario file."""
    from convguard._files import SCENARIO_MAX_BYTES, read_text

    name = os.fspath(path)
    text = read_text(name, limit=SCENARIO_MAX_BYTES, error=ScenarioError, what="scenario")
    return parse_scenario(text, path=name, schema=schema, contract=contract)


def scenario_files(dirs_or_files: Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    """Scenario files under the given folders (recursively) and the files given, sorted."""
    from convguard._files import not_regular, note_skipped

    found: set[str] = set()
    for entry in dirs_or_files:
        name = os.fspath(entry)
        kind = not_regular(name)
        if os.path.isdir(name):
            for folder, _dirs, files in os.walk(name):
                for file in files:
                    if not file.endswith(SCENARIO_SUFFIXES) or file.startswith("."):
                        continue
                    candidate = os.path.join(folder, file)
                    kind = not_regular(candidate)
                    if kind is None:
                        found.add(candidate)
                    else:
                        note_skipped(candidate, kind)  # a FIFO would block the read
        elif kind is not None:
            note_skipped(name, kind)
        elif os.path.isfile(name):
            found.add(name)
        else:
            raise ScenarioError("no such scenario file or folder", path=name,
                                hint="check the --scenarios path or the scenarios setting")
    return tuple(sorted(os.path.normpath(f) for f in found))


def read_scenarios(dirs_or_files: Iterable[str | os.PathLike[str]] | str, *,
                   schema: Schema, contract: ScenarioContract | None = None
                   ) -> tuple[tuple[Scenario, ...], tuple[ScenarioError, ...]]:
    """Every scenario file under the given folders/files, each read and checked even when an
    earlier one cannot be used: ``(scenarios, errors)``, both in file order (sorted by path).

    A file that cannot be used is one :class:`ScenarioError` (its first problem) and no scenario;
    a scenario whose name an earlier file already uses is an error at its ``name`` line. A path
    that does not exist is not a file's problem: it raises, as :func:`scenario_files` does.

    Example:
        >>> import tempfile
        >>> from convguard import Column, Schema, Table
        >>> shop = Schema((Table("Customer", (Column("id", "text", primary_key=True),)),))
        >>> folder = tempfile.mkdtemp()
        >>> for name, text in [("a.yaml", "name: a\\ntables: {Customer: [{id: c1}]}"),
        ...                    ("b.yaml", "name: b\\ntables: {Shop: []}"), ("c.yaml", "")]:
        ...     _ = Path(folder, name).write_text(text)
        >>> scenarios, errors = read_scenarios(folder, schema=shop)
        >>> [s.name for s in scenarios], [(Path(e.path).name, e.line) for e in errors]
        (['a'], [('b.yaml', 2), ('c.yaml', 1)])
    """
    if isinstance(dirs_or_files, (str, os.PathLike)):
        dirs_or_files = [dirs_or_files]
    scenarios: list[Scenario] = []
    errors: list[ScenarioError] = []
    names: dict[str, str] = {}
    for path in scenario_files(dirs_or_files):
        try:
            scenario = load_scenario(path, schema=schema, contract=contract)
        except ScenarioError as error:
            errors.append(error)
            continue
        if scenario.name in names:
            errors.append(ScenarioError(
                f"scenario name {scenario.name!r} is also used by {names[scenario.name]}",
                path=scenario.path, line=scenario.line_of("name"),
                hint="give each scenario its own name"))
            continue
        names[scenario.name] = scenario.path
        scenarios.append(scenario)
    return tuple(scenarios), tuple(errors)


def load_scenarios(dirs_or_files: Iterable[str | os.PathLike[str]] | str, *,
                   schema: Schema,
                   contract: ScenarioContract | None = None) -> tuple[Scenario, ...]:
    """Every scenario under the given folders/files, sorted by path, with unique names, checked
    against ``schema`` (the application's, or its profile's data model: never a default).

    Every file is read: when any cannot be used this raises :class:`ScenarioErrors` (a
    :class:`ScenarioError`) listing each of them in file order (see :func:`read_scenarios`)."""
    scenarios, errors = read_scenarios(dirs_or_files, schema=schema, contract=contract)
    if errors:
        raise ScenarioErrors(errors)
    return scenarios


__all__ = [
    "SCENARIO_SUFFIXES", "Scenario", "ScenarioContract", "column_family", "combination_error",
    "convert_value",
    "dataset_from_tables",
    "literal_default", "load_scenario", "load_scenarios", "parse_scenario", "parse_timestamp",
    "read_document", "read_scenarios", "scenario_files",
]
