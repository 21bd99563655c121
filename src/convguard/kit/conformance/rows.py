"""Result rows: tuples that are also addressable by column name.

``run_query`` returns :class:`Rows`, a list of :class:`Row`; the column names come from the
statement's result description, so they are known even when no row comes back. A ``Row`` is a
real tuple (``row[0]``, unpacking and ``==`` with a plain tuple all work) that also answers
``row["revenue_cents"]``.

Example:
    >>> rows = Rows.from_description(("customer", "revenue_cents"), [("Acme", 1000)])
    >>> row = rows[0]
    >>> row["revenue_cents"], row[0], row == ("Acme", 1000)
    (1000, 'Acme', True)
    >>> row.as_dict(), rows.columns
    ({'customer': 'Acme', 'revenue_cents': 1000}, ('customer', 'revenue_cents'))
    >>> row["nope"]
    Traceback (most recent call last):
    ...
    KeyError: "no column 'nope' in the result (columns: customer, revenue_cents)"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, SupportsIndex, overload


class Row(tuple[Any, ...]):
    """One result row: a tuple whose values are also reachable by column name."""

    __slots__ = ()
    columns: tuple[str, ...] = ()

    @overload
    def __getitem__(self, key: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, key: slice) -> tuple[Any, ...]: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            columns = self.columns
            if columns.count(key) > 1:
                raise KeyError(f"column {key!r} appears {columns.count(key)} times in the "
                               "result; alias the columns apart or read them by index")
            try:
                return tuple.__getitem__(self, columns.index(key))
            except ValueError:
                raise KeyError(f"no column {key!r} in the result (columns: "
                               f"{', '.join(columns)})") from None
        return tuple.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of column ``key``, or ``default`` when the result has no such column."""
        return self[key] if key in self.columns else default

    def keys(self) -> tuple[str, ...]:
        return self.columns

    def as_dict(self) -> dict[str, Any]:
        """Column name -> value (a repeated name keeps its last value)."""
        return dict(zip(self.columns, self))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in zip(self.columns, self))
        return f"Row({inner})"


def _row_class(columns: tuple[str, ...]) -> type[Row]:
    """A Row subclass bound to one result's column names (one class per result, not per row)."""
    return type("Row", (Row,), {"__slots__": (), "columns": columns})


class Rows(list[Row]):
    """The rows of one result, with its column names (``columns``) even when empty."""

    columns: tuple[str, ...]

    def __init__(self, rows: Iterable[Row] = (), columns: Sequence[str] = ()) -> None:
        super().__init__(rows)
        self.columns = tuple(columns)

    @classmethod
    def from_description(cls, columns: Sequence[str], values: Iterable[Sequence[Any]]) -> Rows:
        names = tuple(columns)
        row_type = _row_class(names)
        return cls((row_type(value) for value in values), names)

    def dicts(self) -> list[dict[str, Any]]:
        """Every row as ``{column: value}``."""
        return [row.as_dict() for row in self]



__all__ = ["Row", "Rows"]
