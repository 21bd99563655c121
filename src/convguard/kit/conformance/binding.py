"""Bind an extracted query: placeholders -> roles -> values -> the parameters a driver sends.

Each placeholder resolves to a profile role (configuration first, then the interpolation's name,
see :func:`convguard.profiles.resolve_role`); a list placeholder (``Prisma.join(ids)``, or a named
``:ids`` in a ``.sql`` file) expands to ``$k, $k+1, ...`` exactly as ``Prisma.join`` does, and every
later placeholder is renumbered. The SQL is rewritten by the placeholders' offsets, never by a
regular expression over the text.

Drivers (:data:`DRIVERS`):

``prisma`` (Prisma 7 with ``@prisma/adapter-pg``; the default for TS/JS sources that use Prisma)
    every parameter untyped (OID 0), as Prisma Client, the adapter's ``mapArg`` and node-postgres
    make it (:mod:`convguard.kit.conformance.prisma_adapter`): a ``Date`` as *UTC* text without
    an offset, ``2026-02-01 00:00:00`` (``.mmm`` only when the milliseconds are not 0), so the
    Node.js process's time zone never matters; ``NaN`` as NULL; a ``Buffer`` in binary format.
``node-postgres`` (``pg`` used directly)
    every parameter is text with no type (OID 0), serialised as node-postgres'
    ``utils.prepareValue`` does: a ``Date`` as *local* time with its offset in the client's time
    zone (``2026-01-31T19:00:00.000-05:00``), numbers through ``String(n)``, booleans as
    ``true``/``false``, arrays as a PostgreSQL array literal, a ``Buffer`` in binary format.
``typed``
    psycopg's ordinary typed binding (a timestamp as ``timestamptz``, an int as an integer).

Under both untyped drivers PostgreSQL infers each type from context, so a query that only works
with typed parameters fails here as in production.

Example:
    >>> from datetime import datetime
    >>> js_date_string(datetime(2026, 2, 1), "America/New_York")
    '2026-01-31T19:00:00.000-05:00'
    >>> js_date_string(datetime(2026, 2, 1, 0, 0, 0, 123000), "UTC")
    '2026-02-01T00:00:00.123+00:00'
    >>> prepare_value([1, "a\\"b", None]), js_number(1e21), js_number(0.000001)
    ('{"1","a\\\\"b",NULL}', '1e+21', '0.000001')
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from convguard._errors import BindingError
from convguard._model import ExtractedQuery, Placeholder
from convguard.kit.conformance.javascript import client_zone as _zone
from convguard.kit.conformance.javascript import js_number
from convguard.kit.conformance.prisma_adapter import (
    JsBigInt,
    decimal_js_string,
    js_json,
    prisma_prepare_value,
)

DRIVERS = ("prisma", "node-postgres", "typed")
#: Drivers that send every parameter untyped (OID 0), as text or, for bytes, binary.
UNTYPED_DRIVERS = frozenset({"prisma", "node-postgres"})
#: Drivers whose parameters depend on the Node.js process's time zone (``client_time_zone``).
CLIENT_TIME_ZONE_DRIVERS = frozenset({"node-postgres"})


def sends_untyped(driver: str) -> bool:
    """True when ``driver`` sends parameters with no type, leaving PostgreSQL to infer them.

    Example:
        >>> sends_untyped("prisma"), sends_untyped("typed")
        (True, False)
    """
    return driver in UNTYPED_DRIVERS


def depends_on_client_time_zone(driver: str) -> bool:
    """True when the Node.js process's time zone changes what ``driver`` sends for a ``Date``.

    Example:
        >>> depends_on_client_time_zone("node-postgres"), depends_on_client_time_zone("prisma")
        (True, False)
    """
    return driver in CLIENT_TIME_ZONE_DRIVERS


# node-postgres serialisation ---------------------------------------------------------------------

def js_date_string(moment: datetime, client_time_zone: str = "UTC") -> str:
    """node-postgres' ``dateToString``: the local time of a JS ``Date`` in the client's zone.

    A naive ``moment`` holds UTC. The JS ``Date`` keeps milliseconds, so microseconds are cut.

    Example:
        >>> js_date_string(datetime(2026, 7, 1, 12), "Asia/Kolkata")
        '2026-07-01T17:30:00.000+05:30'
    """
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    local = aware.astimezone(_zone(client_time_zone))
    offset_delta = local.utcoffset()
    offset = int(offset_delta.total_seconds() // 60) if offset_delta is not None else 0
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    return (f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:"
            f"{local.minute:02d}:{local.second:02d}.{local.microsecond // 1000:03d}"
            f"{sign}{offset // 60:02d}:{offset % 60:02d}")


def _escape_element(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def prepare_value(value: Any, client_time_zone: str = "UTC") -> str | bytes | None:
    """node-postgres' ``utils.prepareValue``: the text it sends for a JS value (None = NULL;
    bytes, a ``Buffer``, go out as they are, in binary format).

    Python stands in for JS: ``datetime`` (naive = UTC) is a ``Date``, ``int``/``float`` a number,
    :class:`~convguard.kit.conformance.prisma_adapter.JsBigInt` a ``BigInt``, ``bytes`` a
    ``Buffer``, ``Decimal`` a ``Prisma.Decimal`` (an object: ``JSON.stringify`` quotes it),
    ``list`` an array, ``dict`` an object (``JSON.stringify``).

    Example:
        >>> prepare_value(True), prepare_value(30), prepare_value({"a": [1]}), prepare_value(None)
        ('true', '30', '{"a":[1]}', None)
        >>> prepare_value([b"\\x01"]), prepare_value(Decimal("1.50"))
        ('{\\\\\\\\x01}', '"1.5"')
    """

    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, JsBigInt):
        return str(int(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, Decimal):
        return json.dumps(decimal_js_string(value))
    if isinstance(value, datetime):
        return js_date_string(value, client_time_zone)
    if isinstance(value, date):
        return js_date_string(datetime(value.year, value.month, value.day), client_time_zone)
    if isinstance(value, (int, float)):
        return js_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        parts = []
        for item in value:
            if item is None:
                parts.append("NULL")
            elif isinstance(item, (list, tuple)):
                parts.append(str(prepare_value(item, client_time_zone)))
            elif isinstance(item, (bytes, bytearray, memoryview)):
                parts.append("\\\\x" + bytes(item).hex())
            else:
                parts.append(_escape_element(str(prepare_value(item, client_time_zone))))
        return "{" + ",".join(parts) + "}"
    if isinstance(value, Mapping):
        return js_json(value)
    raise BindingError(f"cannot send {type(value).__name__} value {value!r} as a parameter")


# Values of roles ---------------------------------------------------------------------------------

def _as_timestamp(value: Any, what: str) -> datetime:
    from convguard.kit.scenario.files import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError as error:
        raise BindingError(f"{what}: {error}", hint="give an ISO 8601 timestamp or a datetime") \
            from None


def js_value(kind: str | None, value: Any, what: str) -> Any:
    """A role's value as the JS type the app passes: timestamp -> Date (naive UTC datetime),
    integer -> number, text -> string, text_list -> list of strings; no kind: as given."""
    if value is None or kind is None:
        return value
    if kind == "timestamp":
        return _as_timestamp(value, what)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BindingError(f"{what}: expected a number, got {value!r}")
        return value
    if kind == "text":
        return str(value)
    if kind == "text_list":
        if isinstance(value, str):
            return [value]
        if not isinstance(value, (list, tuple)):
            raise BindingError(f"{what}: expected a list, got {value!r}")
        return [str(item) for item in value]
    return value


# Binding -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Parameter:
    """One driver parameter ``$number`` of the bound SQL.

    ``value`` is the JS-typed value (an element, for an expanded list); ``text`` is what an
    untyped driver sends (None for NULL, or in ``typed`` mode; bytes go out in binary format).
    """

    number: int
    expression: str
    role: str | None
    value: Any
    text: str | bytes | None


@dataclass(frozen=True)
class BoundQuery:
    """SQL with its final ``$n`` numbering and the parameters, ready for a driver."""

    sql: str
    parameters: tuple[Parameter, ...]
    driver: str
    client_time_zone: str = "UTC"

    def driver_values(self) -> list[Any]:
        """The values to hand psycopg: what an untyped driver sends, Python values else."""
        if sends_untyped(self.driver):
            return [parameter.text for parameter in self.parameters]
        values: list[Any] = []
        for parameter in self.parameters:
            value = parameter.value
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            values.append(value)
        return values


def unmapped_hint(expression: str, *, config_source: str | None, query_line: int | None,
                  query_selector: str | None, roles: Sequence[str]) -> str:
    """The configuration line that maps an interpolation to a role.

    Example:
        >>> unmapped_hint("cutoff", config_source="/r/convguard.toml", query_line=5,
        ...               query_selector="q.ts::f", roles=["from", "to"])
        'add "cutoff" = "<role>" under [query.params] in /r/convguard.toml (line 5); roles: from, to'
    """
    known = f"; roles: {', '.join(roles)}" if roles else ""
    entry = f'"{expression.strip()}" = "<role>"'
    if config_source and query_line:
        return f"add {entry} under [query.params] in {config_source} (line {query_line}){known}"
    where = config_source or "convguard.toml"
    selector = f'path = "{query_selector}" ' if query_selector else ""
    return f"add a [[query]] {selector}with [query.params] {entry} to {where}{known}"


_ROLES: dict[tuple[int, str, tuple[tuple[str, str], ...]], tuple[Any, Any]] = {}


def _resolve_role(profile: Any, expression: str, params: Mapping[str, str]) -> Any:
    """:func:`convguard.profiles.resolve_role`, memoised (a run binds the same query often)."""
    from convguard.profiles import resolve_role

    key = (id(profile), expression, tuple(sorted(params.items())))
    cached = _ROLES.get(key)
    if cached is None or cached[0] is not profile:
        cached = _ROLES[key] = (profile, resolve_role(profile, expression, params))
    return cached[1]


def _lookup(values: Mapping[Any, Any], placeholder: Placeholder) -> tuple[bool, Any]:
    from convguard.profiles import interpolation_name

    expression = placeholder.expression.strip()
    for key in (expression, expression.lstrip(":"), placeholder.index,
                interpolation_name(expression)):
        if key in values:
            return True, values[key]
    return False, None


def _prisma_text(value: Any, client_time_zone: str) -> str | bytes | None:
    return prisma_prepare_value(value, client_time_zone)


_DRIVER_TEXT = {"node-postgres": prepare_value, "prisma": _prisma_text}


def bind_query(
    query: ExtractedQuery,
    values: Mapping[Any, Any],
    *,
    profile: Any = None,
    params: Mapping[str, str] | None = None,
    driver: str = "node-postgres",
    client_time_zone: str = "UTC",
    config_source: str | None = None,
    query_line: int | None = None,
) -> BoundQuery:
    """Resolve every placeholder of ``query`` to a value and build the driver's parameters.

    ``values`` maps role names (with a ``profile``) or placeholder expressions / names / ``$n``
    numbers (without one) to values. ``params`` is the ``[query.params]`` table; ``config_source``
    and ``query_line`` locate it for the hint of an unmapped interpolation.

    Example:
        >>> from convguard.extract import extract_source
        >>> q = extract_source("q.sql", "SELECT * FROM t WHERE id IN (:ids) AND at < :to").queries[0]
        >>> bound = bind_query(q, {"ids": ["a", "b"], "to": datetime(2026, 2, 1)})
        >>> bound.sql
        'SELECT * FROM t WHERE id IN ($1, $2) AND at < $3'
        >>> bound.driver_values()
        ['a', 'b', '2026-02-01T00:00:00.000+00:00']
    """
    if driver not in DRIVERS:
        raise BindingError(f"unknown driver {driver!r}", hint=f"use one of: {', '.join(DRIVERS)}")
    _zone(client_time_zone)
    params = params or {}
    resolved: dict[int, tuple[Placeholder, str | None, Any]] = {}
    for placeholder in query.placeholders:
        if placeholder.index in resolved:
            continue
        role_name: str | None = None
        kind: str | None = None
        found, value = _lookup(values, placeholder)
        if profile is not None:
            role = _resolve_role(profile, placeholder.expression, params)
            if role is None and not found:
                raise BindingError(
                    f"interpolation {placeholder.expression.strip()!r} maps to no role of "
                    f"profile {profile.name!r}",
                    path=placeholder.host_span.path,
                    line=placeholder.host_span.start_position.line,
                    hint=unmapped_hint(placeholder.expression, config_source=config_source,
                                       query_line=query_line, query_selector=query.label,
                                       roles=[r.name for r in profile.roles]))
            if role is not None:
                role_name, kind = role.name, role.kind
                if role.name in values:
                    found, value = True, values[role.name]
                elif not found and role.default is not None:
                    found, value = True, role.default
        if not found:
            known = ", ".join(map(str, values)) or "none"
            raise BindingError(
                f"no value for {placeholder.expression.strip()!r}"
                + (f" (role {role_name})" if role_name else ""),
                path=placeholder.host_span.path, line=placeholder.host_span.start_position.line,
                hint=f"pass a value for {role_name or placeholder.expression.strip()!r} "
                     f"(values given: {known})")
        what = role_name or placeholder.expression.strip()
        resolved[placeholder.index] = (placeholder, role_name, js_value(kind, value, what))

    numbering: dict[int, list[int]] = {}
    parameters: list[Parameter] = []
    for index in sorted(resolved):
        placeholder, role_name, value = resolved[index]
        expand = placeholder.kind in ("list", "named") and isinstance(value, (list, tuple))
        elements = list(value) if expand else [value]
        if expand and not elements:
            raise BindingError(
                f"{placeholder.expression.strip()!r} is an empty list; Prisma.join needs at "
                "least one value", path=placeholder.host_span.path,
                line=placeholder.host_span.start_position.line,
                hint="give at least one value (the app never sends an empty scope)")
        numbers = []
        for element in elements:
            number = len(parameters) + 1
            numbers.append(number)
            text = _DRIVER_TEXT[driver](element, client_time_zone) if driver in _DRIVER_TEXT \
                else None
            parameters.append(Parameter(number, placeholder.expression.strip(), role_name,
                                        element, text))
        numbering[index] = numbers

    pieces: list[str] = []
    cursor = 0
    for placeholder in sorted(query.placeholders, key=lambda p: p.sql_start):
        pieces.append(query.sql[cursor:placeholder.sql_start])
        pieces.append(", ".join(f"${n}" for n in numbering[placeholder.index]))
        cursor = placeholder.sql_end
    pieces.append(query.sql[cursor:])
    return BoundQuery(sql="".join(pieces), parameters=tuple(parameters), driver=driver,
                      client_time_zone=client_time_zone)


__all__ = [
    "CLIENT_TIME_ZONE_DRIVERS", "DRIVERS", "UNTYPED_DRIVERS", "BoundQuery", "Parameter",
    "bind_query", "depends_on_client_time_zone", "js_date_string", "js_number", "js_value",
    "prepare_value", "sends_untyped", "unmapped_hint",
]
