"""A dataset: rows per table, as plain Python values, shared by seeding and oracles.

Timestamps are naive ``datetime`` values holding UTC (as Prisma stores them in
``timestamp(3) without time zone``); text is ``str``; a missing column means "the schema default".

Example:
    >>> data = Dataset({"Lead": ({"id": "l1", "clientId": "c1"},)})
    >>> [row["id"] for row in data.rows("Lead")]
    ['l1']
    >>> data.rows("Message")
    ()
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Dataset:
    """Table name -> rows. Row order is the insertion order; it carries no meaning."""

    tables: Mapping[str, tuple[Row, ...]] = field(default_factory=dict)

    def rows(self, table: str) -> tuple[Row, ...]:
        return tuple(self.tables.get(table, ()))

    def row_count(self) -> int:
        return sum(len(rows) for rows in self.tables.values())


#: The timestamps a dataset may hold. Python's datetime ends at years 1 and 9999, and the kit
#: computes around every timestamp (windows of up to a year, ``to - 30 days``, shifts, the client
#: time zone): a margin of centuries keeps every such step inside the range.
EARLIEST = datetime(1000, 1, 1)
LATEST = datetime(8999, 12, 31, 23, 59, 59, 999999)


def parse_timestamp(value: Any) -> datetime:
    """ISO 8601 text (``Z`` or an offset converted to UTC; none means UTC) -> naive UTC datetime.

    Raises ValueError for anything else, and for a moment outside :data:`EARLIEST` ..
    :data:`LATEST` (the caller words the error with a line).

    Example:
        >>> parse_timestamp("2026-01-31T19:00:00.000-05:00")
        datetime.datetime(2026, 2, 1, 0, 0)
        >>> parse_timestamp("2026-01-10")
        datetime.datetime(2026, 1, 10, 0, 0)
        >>> parse_timestamp("0001-01-01T00:00:00Z")
        Traceback (most recent call last):
        ...
        ValueError: '0001-01-01T00:00:00Z' is outside the years 1000 to 8999 convguard computes with
    """
    moment = _parse_moment(value)
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(f"{value!r} is outside the years {EARLIEST.year} to {LATEST.year} "
                         "convguard computes with")
    return moment


def _parse_moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and re.match(r"^\s*\d{4}-\d{2}-\d{2}", value):
        text = value.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as error:
            raise ValueError(f"{value!r} is not an ISO 8601 timestamp ({error})") from None
    else:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp")
    if moment.tzinfo is not None:
        if not EARLIEST.year <= moment.year <= LATEST.year:  # astimezone could overflow
            raise ValueError(f"{value!r} is outside the years {EARLIEST.year} to {LATEST.year} "
                             "convguard computes with")
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
