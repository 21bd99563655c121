"""Prisma 7's raw-query binding: what ``$queryRaw`` hands ``@prisma/adapter-pg`` and what goes out.

A ``Prisma.sql`` / ``$queryRaw`` value takes three steps before PostgreSQL sees it:

1. **Prisma Client** encodes each value as JSON with a *scalar type* (``prisma_client_arg``): a
   ``Date`` becomes its ISO string (``toJSON``) typed ``datetime``, a ``BigInt`` its digits typed
   ``bigint``, a ``Prisma.Decimal`` its ``toJSON`` text typed ``decimal``, a ``Buffer`` /
   ``Uint8Array`` base64 typed ``bytes``, a number stays a number (``NaN``/``Infinity`` become
   ``null``, ``-0`` becomes ``0``: JSON has neither), an object becomes its ``JSON.stringify`` text.
   An array is a *list* whose scalar type is its **first** element's (a ``null`` first element
   gives ``unknown``), and each element is encoded the same way.
2. **@prisma/adapter-pg**'s ``mapArg`` (``map_arg``): a ``datetime`` string becomes
   ``new Date(string)`` formatted in **UTC without an offset**, ``YYYY-MM-DD HH:MM:SS`` plus
   ``.mmm`` only when the milliseconds are not 0; a ``bytes`` string becomes a ``Buffer``; a list is
   mapped element by element with the list's scalar type (so ``[date, "x"]`` sends
   ``0NaN-NaN-NaN NaN:NaN:NaN`` for ``"x"``, and ``["x", date]`` sends the date's ISO text).
3. **node-postgres**' ``prepareValue`` turns what is left into text (numbers through
   ``String(n)``, arrays into a PostgreSQL array literal); a ``Buffer`` is sent as it is, in
   binary format. Every parameter goes out untyped (OID 0).

So the Node.js process time zone never changes a ``Date`` (unlike plain node-postgres), except
for an offset-less ISO date-time *string* in a list typed ``datetime``, which ``new Date`` reads
as local time. Python stands in for JavaScript: ``datetime`` (naive = UTC) and ``date`` are a
``Date``, ``int``/``float`` a number, :class:`JsBigInt` a ``BigInt``, ``Decimal`` a
``Prisma.Decimal``, ``bytes`` a ``Buffer``, ``list``/``tuple`` an array, a mapping an object.

Checked against the real packages by ``tests/kit/conformance/test_prisma_adapter.py``
(``@prisma/adapter-pg`` 7 with node-postgres 8, in five process time zones; and the whole Prisma
Client 7 when one is installed).

Example:
    >>> from datetime import datetime
    >>> prisma_prepare_value(datetime(2026, 2, 1))
    '2026-02-01 00:00:00'
    >>> prisma_prepare_value(datetime(2026, 2, 1, 10, 11, 12, 345000))
    '2026-02-01 10:11:12.345'
    >>> prisma_prepare_value([datetime(2026, 2, 1), None]), prisma_prepare_value(float("nan"))
    ('{"2026-02-01 00:00:00",NULL}', None)
    >>> prisma_prepare_value(JsBigInt(12345678901234567890)), prisma_prepare_value(b"\\x01\\xff")
    ('12345678901234567890', b'\\x01\\xff')
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from convguard._errors import BindingError
from convguard.kit.conformance.javascript import client_zone as _zone
from convguard.kit.conformance.javascript import js_number

ScalarType = Literal["datetime", "bigint", "decimal", "bytes", "string", "unknown"]
Arity = Literal["scalar", "list"]

#: What ``new Date(...)`` makes of a string it cannot parse, formatted by the adapter.
INVALID_DATE_TEXT = "0NaN-NaN-NaN NaN:NaN:NaN"


class JsBigInt(int):
    """An ``int`` that the application passes as a JavaScript ``BigInt`` (``123n``).

    A plain ``int`` is a JavaScript number (and loses digits past 2**53, as in the app).

    Example:
        >>> JsBigInt(2**64) + 1, isinstance(JsBigInt(5), int)
        (18446744073709551617, True)
    """


@dataclass(frozen=True)
class ArgType:
    """The ``argTypes`` entry Prisma Client hands the adapter with each argument."""

    scalar_type: ScalarType
    arity: Arity = "scalar"

    def as_json(self) -> dict[str, str]:
        return {"scalarType": self.scalar_type, "arity": self.arity}


# JavaScript conversions --------------------------------------------------------------------------

def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _as_moment(value: date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


def iso_json(moment: datetime) -> str:
    """``Date.prototype.toJSON``: UTC, milliseconds, ``Z`` (microseconds cut, as a Date has none).

    Example:
        >>> iso_json(datetime(2026, 2, 1, 10, 0, 0, 999999))
        '2026-02-01T10:00:00.999Z'
    """
    utc = _as_utc(moment)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
            f"{utc.second:02d}.{utc.microsecond // 1000:03d}Z")


def format_date_time(moment: datetime) -> str:
    """The adapter's ``formatDateTime``: UTC, no offset, ``.mmm`` only when not zero.

    Example:
        >>> format_date_time(datetime(2026, 1, 31, 19, tzinfo=_zone("America/New_York")))
        '2026-02-01 00:00:00'
        >>> format_date_time(datetime(2026, 2, 1, 0, 0, 0, 5000))
        '2026-02-01 00:00:00.005'
    """
    utc = _as_utc(moment)
    millis = utc.microsecond // 1000
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} {utc.hour:02d}:{utc.minute:02d}:"
            f"{utc.second:02d}" + (f".{millis:03d}" if millis else ""))


def decimal_js_string(value: Decimal) -> str:
    """``Prisma.Decimal#toJSON`` (decimal.js): trailing zeros dropped, exponent notation when the
    exponent is below -6 or above 20, ``-0`` kept.

    Example:
        >>> [decimal_js_string(Decimal(t)) for t in ("1.50", "1e-7", "0.000001", "1e21", "-0")]
        ['1.5', '1e-7', '0.000001', '1e+21', '-0']
    """
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("Infinity" if value > 0 else "-Infinity")
    sign, digit_tuple, exponent = value.as_tuple()
    prefix = "-" if sign else ""
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return prefix + "0"
    trailing = len(digits) - len(digits.rstrip("0"))
    digits = digits.rstrip("0")
    assert isinstance(exponent, int)
    # e: the power of ten of the first digit, as decimal.js keeps it.
    e = exponent + trailing + len(digits) - 1
    if e <= -7 or e >= 21:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    if e < 0:
        return prefix + "0." + "0" * (-e - 1) + digits
    if len(digits) <= e + 1:
        return prefix + digits + "0" * (e + 1 - len(digits))
    return prefix + digits[:e + 1] + "." + digits[e + 1:]


def js_json(value: Any, *, bigint_as_string: bool = False) -> str:
    """``JSON.stringify`` of a JavaScript value (Python standing in, as in this module).

    ``Date`` -> ISO string, ``Prisma.Decimal`` -> its text, ``Buffer`` -> ``{"type":"Buffer",
    "data":[...]}``, ``NaN``/``Infinity`` -> ``null``; a ``BigInt`` inside an object is written
    as a string, as Prisma Client does (``JSON.stringify`` alone would throw).

    Example:
        >>> js_json({"n": float("nan"), "f": 1.0, "when": datetime(2026, 2, 1), "ids": [1, None]})
        '{"n":null,"f":1,"when":"2026-02-01T00:00:00.000Z","ids":[1,null]}'
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, JsBigInt):
        if not bigint_as_string:
            raise BindingError("JSON.stringify cannot write a BigInt")
        return json.dumps(str(int(value)))
    if isinstance(value, (int, float)):
        number = float(value)
        return "null" if math.isnan(number) or math.isinf(number) else js_number(number)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date):
        return json.dumps(iso_json(_as_moment(value)))
    if isinstance(value, Decimal):
        return json.dumps(decimal_js_string(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return '{"type":"Buffer","data":[' + ",".join(map(str, bytes(value))) + "]}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(js_json(item, bigint_as_string=bigint_as_string)
                              for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(
            f"{json.dumps(str(key), ensure_ascii=False)}:"
            f"{js_json(item, bigint_as_string=bigint_as_string)}"
            for key, item in value.items()) + "}"
    raise BindingError(f"cannot send {type(value).__name__} value {value!r} as a parameter")


# Step 1: Prisma Client ---------------------------------------------------------------------------

def _scalar_type(value: Any) -> ScalarType:
    if isinstance(value, (datetime, date)):
        return "datetime"
    if isinstance(value, JsBigInt):
        return "bigint"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes"
    if isinstance(value, bool):
        return "unknown"
    if isinstance(value, (int, float)):
        # JSON has no NaN or Infinity: they arrive as null, typed like one.
        return "decimal" if math.isfinite(value) else "unknown"
    if isinstance(value, str):
        return "string"
    return "unknown"


def _client_value(value: Any) -> Any:
    """One value as JSON gives it back to the client engine (no types left, only JSON)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, JsBigInt):
        return str(int(value))
    if isinstance(value, (int, float)):
        number = float(value) if isinstance(value, float) or abs(value) > 2**53 else value
        if isinstance(number, float):
            if math.isnan(number) or math.isinf(number):
                return None
            if number == 0:
                return 0
        return number
    if isinstance(value, date):
        return iso_json(_as_moment(value))
    if isinstance(value, Decimal):
        return decimal_js_string(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [_client_value(item) for item in value]
    if isinstance(value, Mapping):
        return js_json(value, bigint_as_string=True)
    raise BindingError(f"cannot send {type(value).__name__} value {value!r} as a parameter",
                       hint="give a datetime, date, number, JsBigInt, Decimal, bytes, str, bool, "
                            "None, a list or a mapping")


def prisma_client_arg(value: Any) -> tuple[Any, ArgType]:
    """What Prisma Client 7 hands the adapter for one ``$queryRaw`` value: ``(arg, argType)``.

    Example:
        >>> prisma_client_arg(datetime(2026, 2, 1))
        ('2026-02-01T00:00:00.000Z', ArgType(scalar_type='datetime', arity='scalar'))
        >>> prisma_client_arg([None, datetime(2026, 2, 1)])[1]
        ArgType(scalar_type='unknown', arity='list')
    """
    if isinstance(value, (list, tuple)):
        first = _scalar_type(value[0]) if value else "unknown"
        return _client_value(value), ArgType(first, "list")
    return _client_value(value), ArgType(_scalar_type(value))


# Step 2: @prisma/adapter-pg's mapArg -------------------------------------------------------------

_ISO_DATE = re.compile(r"^([+-]\d{6}|\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_ISO_DATE_TIME = re.compile(
    r"^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:\d{2})?$")


def js_date_parse(text: str, client_time_zone: str) -> datetime | None:
    """``new Date(text)`` for ECMAScript's date-time string format (None: an Invalid Date).

    A date alone is UTC; a date-time without an offset is *local* time in the process's zone; a
    string without a digit is an Invalid Date. Other strings are implementation-defined (V8
    guesses) and refused here with a BindingError.

    Example:
        >>> js_date_parse("2026-03-01T10:00:00", "Asia/Kolkata")
        datetime.datetime(2026, 3, 1, 4, 30, tzinfo=datetime.timezone.utc)
        >>> js_date_parse("2026-03-01", "Asia/Kolkata"), js_date_parse("x", "UTC")
        (datetime.datetime(2026, 3, 1, 0, 0, tzinfo=datetime.timezone.utc), None)
    """
    match = _ISO_DATE.match(text)
    try:
        if match:
            year, month, day = match.groups()
            return datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC)
        match = _ISO_DATE_TIME.match(text)
        if match:
            year, month, day, hour, minute, second, fraction, offset = match.groups()
            millis = int((fraction or "0")[:3].ljust(3, "0"))
            hour_number = int(hour)
            extra = timedelta(0)
            if hour_number == 24 and minute == "00" and not int(second or 0) and not millis:
                hour_number, extra = 0, timedelta(days=1)
            naive = datetime(int(year), int(month), int(day), hour_number, int(minute),
                             int(second or 0), millis * 1000) + extra
            if offset is None:
                return naive.replace(tzinfo=_zone(client_time_zone)).astimezone(UTC)
            if offset == "Z":
                return naive.replace(tzinfo=UTC)
            sign = 1 if offset[0] == "+" else -1
            delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
            return (naive - sign * delta).replace(tzinfo=UTC)
    except ValueError:
        pass  # ISO-shaped but out of range: V8 falls back to its own parser
    if not re.search(r"\d", text):
        return None
    raise BindingError(
        f"cannot tell what JavaScript's Date makes of {text!r} (outside ECMAScript's date-time "
        "format, V8 guesses)",
        hint="in a list whose first element is a date, give dates or ISO 8601 strings")


def node_base64_decode(text: str) -> bytes:
    """``Buffer.from(text, "base64")``: lenient, as Node.js is (URL-safe letters accepted, other
    characters and a dangling last character ignored).

    Example:
        >>> node_base64_decode("AQL/"), node_base64_decode("AQ"), node_base64_decode("x")
        (b'\\x01\\x02\\xff', b'\\x01', b'')
    """
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text.replace("-", "+").replace("_", "/"))
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))


def map_arg(arg: Any, arg_type: ArgType, client_time_zone: str = "UTC") -> Any:
    """``mapArg`` of ``@prisma/adapter-pg``: a formatted date, bytes, or the argument as it is.

    Example:
        >>> map_arg(["2026-02-01T00:00:00.000Z", "x"], ArgType("datetime", "list"))
        ['2026-02-01 00:00:00', '0NaN-NaN-NaN NaN:NaN:NaN']
    """
    if arg is None:
        return None
    if isinstance(arg, list) and arg_type.arity == "list":
        return [map_arg(item, arg_type, client_time_zone) for item in arg]
    if isinstance(arg, str) and arg_type.scalar_type == "datetime":
        moment = js_date_parse(arg, client_time_zone)
        return INVALID_DATE_TEXT if moment is None else format_date_time(moment)
    if isinstance(arg, str) and arg_type.scalar_type == "bytes":
        return node_base64_decode(arg)
    return arg


# Step 3: node-postgres' prepareValue -------------------------------------------------------------

def _escape_element(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pg_prepare_mapped(value: Any) -> str | bytes | None:
    """node-postgres' ``prepareValue`` of what ``mapArg`` returned (JSON values and bytes only).

    Example:
        >>> pg_prepare_mapped([b"\\x01", "a", None, 1.5, True])
        '{\\\\\\\\x01,"a",NULL,"1.5","true"}'
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return js_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for item in value:
            if item is None:
                parts.append("NULL")
            elif isinstance(item, list):
                parts.append(str(pg_prepare_mapped(item)))
            elif isinstance(item, bytes):
                parts.append("\\\\x" + item.hex())
            else:
                parts.append(_escape_element(str(pg_prepare_mapped(item))))
        return "{" + ",".join(parts) + "}"
    raise BindingError(f"cannot send {type(value).__name__} value {value!r} as a parameter")


def prisma_prepare_value(value: Any, client_time_zone: str = "UTC") -> str | bytes | None:
    """What Prisma 7 with ``@prisma/adapter-pg`` sends for a JS value: text, bytes (a ``Buffer``,
    sent in binary format) or None (NULL). All three steps of the module docstring.

    Example:
        >>> prisma_prepare_value(Decimal("123.4500")), prisma_prepare_value(-0.0)
        ('123.45', '0')
        >>> prisma_prepare_value({"a": 1, "big": JsBigInt(5)})
        '{"a":1,"big":"5"}'
    """
    arg, arg_type = prisma_client_arg(value)
    return pg_prepare_mapped(map_arg(arg, arg_type, client_time_zone))


__all__ = [
    "INVALID_DATE_TEXT", "ArgType", "JsBigInt", "decimal_js_string", "format_date_time",
    "iso_json", "js_date_parse", "js_json", "map_arg", "pg_prepare_mapped",
    "prisma_client_arg", "prisma_prepare_value",
]
