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

from collections.abc import Mapping
from dataclasses import dataclass, field
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
