"""What a scenario expects of a query without a profile: result rows, compared cell by cell.

A scenario lists the rows the query must return (``expected``, column -> value), compared as a
multiset unless ``ordered: true``:

- numbers numerically (``1000`` equals ``Decimal('1000')`` and ``1000.0``; floats within 1e-9),
- timestamps as instants (an expected ``2026-01-05T00:00:00Z`` equals a ``timestamp`` column
  holding that UTC time and a ``timestamptz`` at any offset), dates as dates,
- strings exactly, booleans and nulls as themselves, lists and JSON element by element,
- and every result column must be listed (no more, no fewer).

A timestamp the scenario writes unquoted (or as ``!date "..."``, or ``{"$date": "..."}`` in JSON)
is :class:`DateText`: text that remembers it was written as a date, so that a parameter bound
from it is a JavaScript ``Date``.

Example:
    >>> from decimal import Decimal
    >>> from convguard.kit.conformance.rows import Rows
    >>> expected = ExpectedRows(({"customer": "Acme", "revenue_cents": 1000},))
    >>> expected.compare(Rows.from_description(("customer", "revenue_cents"),
    ...                                        [("Acme", Decimal("1000"))])).passed
    True
    >>> comparison = expected.compare(Rows.from_description(("customer", "revenue_cents"),
    ...                                                     [("Acme", 1500)]))
    >>> print("\\n".join(comparison.format_lines()))
    rows differ from the scenario's expected rows (as a multiset; - expected, + actual, * differs):
         customer  revenue_cents
      -  Acme      1000 *
      +  Acme      1500 *
    0 of 1 expected rows matched
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convguard.kit.conformance.rows import Rows


class DateText(str):
    """Timestamp text the scenario wrote as a date (unquoted YAML, ``!date``, ``{"$date"}``).

    It compares and prints as its text (a profile reads it as before); bound as a parameter it is
    a JavaScript ``Date``.
    """

    __slots__ = ()


def date_object(value: Any) -> str | None:
    """The text of a JSON ``{"$date": "..."}`` object, else None.

    Example:
        >>> date_object({"$date": "2026-01-01"}), date_object({"a": 1})
        ('2026-01-01', None)
    """
    if isinstance(value, Mapping) and len(value) == 1 and "$date" in value \
            and isinstance(value["$date"], str):
        return value["$date"]
    return None


def read_expected_value(value: Any) -> Any:
    """An expected cell as written: ``{"$date": ...}`` becomes :class:`DateText`."""
    text = date_object(value)
    if text is not None:
        return DateText(text)
    if isinstance(value, list):
        return [read_expected_value(item) for item in value]
    return value


# Comparing values -------------------------------------------------------------------------------

def _instant(value: Any) -> datetime | None:
    """A timestamp as a naive UTC datetime (``timestamp`` columns hold UTC, as Prisma stores)."""
    from convguard._dataset import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _number(value: Any) -> Decimal | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    return None


def values_equal(expected: Any, actual: Any) -> bool:
    """Whether an expected cell matches a result value (see the module doc).

    Example:
        >>> from decimal import Decimal
        >>> values_equal(1000, Decimal("1000.00")), values_equal(0.3, 0.1 + 0.2)
        (True, True)
        >>> values_equal("2026-01-05T00:00:00Z", datetime(2026, 1, 5)), values_equal("1", 1)
        (True, False)
        >>> values_equal(True, 1), values_equal(None, None), values_equal([1, 2], [1, 2])
        (False, True, True)
    """
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    actual_number, expected_number = _number(actual), _number(expected)
    if actual_number is not None:
        if expected_number is None:
            return False
        if isinstance(actual_number, float) or isinstance(expected_number, float):
            left, right = float(expected_number), float(actual_number)
            return left == right or math.isclose(left, right, rel_tol=1e-9)
        try:
            return actual_number == expected_number
        except InvalidOperation:
            return False
    if isinstance(actual, datetime):
        if isinstance(expected, (int, float, Decimal)):
            return False
        moment = _instant(expected)
        if moment is None:
            return False
        if actual.tzinfo is not None:
            actual = actual.astimezone(UTC).replace(tzinfo=None)
        return moment == actual
    if isinstance(actual, date):
        if isinstance(expected, date) and not isinstance(expected, datetime):
            return expected == actual
        try:
            return isinstance(expected, str) and date.fromisoformat(expected) == actual
        except ValueError:
            return False
    if isinstance(actual, str):
        return isinstance(expected, str) and str(expected) == actual
    if isinstance(actual, (list, tuple)):
        return isinstance(expected, (list, tuple)) and len(expected) == len(actual) and all(
            values_equal(e, a) for e, a in zip(expected, actual))
    if isinstance(actual, Mapping):
        return isinstance(expected, Mapping) and set(expected) == set(actual) and all(
            values_equal(expected[key], actual[key]) for key in actual)
    if isinstance(expected, str) and not isinstance(actual, (bytes, memoryview)):
        return str(actual) == expected  # uuid, inet, interval...: their text
    return bool(expected == actual)


def show_value(value: Any) -> str:
    """A cell as the report prints it: NULL, ISO timestamps with Z, text as is.

    Example:
        >>> show_value(None), show_value(datetime(2026, 1, 5)), show_value(Decimal("10.50"))
        ('NULL', '2026-01-05T00:00:00Z', '10.50')
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds") \
                + "Z"
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(item) for item in value) + "]"
    return str(value)


def plain_value(value: Any) -> Any:
    """A cell as JSON carries it: timestamps as ISO text, exact decimals as text."""
    if isinstance(value, datetime) or isinstance(value, date):
        return show_value(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, (list, tuple)):
        return [plain_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): plain_value(item) for key, item in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return str(value) if isinstance(value, DateText) else value
    return str(value)


def _type_name(value: Any) -> str:
    if isinstance(value, DateText):
        return "timestamp"
    return {str: "text", int: "integer", float: "float", Decimal: "numeric", bool: "boolean",
            datetime: "timestamp", date: "date"}.get(type(value), type(value).__name__)


# Comparing rows ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowEntry:
    """A row of the comparison: ``match``, ``differ`` (cells ``differs``), ``missing`` (expected,
    not returned) or ``unexpected`` (returned, not expected)."""

    status: str
    expected: Mapping[str, Any] | None
    actual: Mapping[str, Any] | None
    differs: tuple[str, ...] = ()
    line: int | None = None
    position: int | None = None


@dataclass(frozen=True)
class RowComparison:
    """Expected rows against the query's rows."""

    columns: tuple[str, ...]
    ordered: bool
    entries: tuple[RowEntry, ...]
    problems: tuple[str, ...] = ()
    expected_count: int = 0
    actual_count: int = 0
    #: ordered, and the rows are the expected ones in another order
    order_only: bool = False

    @property
    def passed(self) -> bool:
        return not self.problems and all(entry.status == "match" for entry in self.entries)

    @property
    def matched(self) -> int:
        return sum(entry.status == "match" for entry in self.entries)

    @property
    def diff(self) -> tuple[tuple[str, str, Any, Any], ...]:
        """``(row, column, expected, actual)`` per differing cell, missing or unexpected row
        (``row N`` counts expected rows; ``returned row N`` the query's, for an unexpected one)."""
        cells: list[tuple[str, str, Any, Any]] = []
        for number, entry in enumerate(self.entries, start=1):
            label = f"row {entry.position + 1 if entry.position is not None else number}"
            if entry.status == "differ":
                assert entry.expected is not None and entry.actual is not None
                cells.extend((label, column, entry.expected.get(column), entry.actual.get(column))
                             for column in entry.differs)
            elif entry.status == "missing":
                cells.append((label, "*", dict(entry.expected or {}), None))
            elif entry.status == "unexpected":  # numbered in the query's result, not expected
                cells.append((f"returned {label}", "*", None, dict(entry.actual or {})))
        return tuple(cells)

    def format_lines(self) -> list[str]:
        """The report: differing, missing and unexpected rows, ``*`` after a differing cell."""
        order = "in order" if self.ordered else "as a multiset"
        lines = []
        for problem in self.problems:
            lines.append(problem)
        shown = [entry for entry in self.entries if entry.status != "match"]
        if not shown and not self.problems:
            return [f"rows match the scenario's expected rows ({order})"]
        if shown:
            lines.append(f"rows differ from the scenario's expected rows ({order}; - expected, "
                         "+ actual, * differs):")
            columns = list(self.columns)
            for entry in shown:
                for row in (entry.expected, entry.actual):
                    for column in row or {}:
                        if column not in columns:
                            columns.append(column)
            table: list[tuple[str, list[str], str]] = []
            for entry in shown:
                note = {"missing": "  (missing: no such row returned)",
                        "unexpected": "  (unexpected: not in expected)"}.get(entry.status, "")
                if entry.line is not None and entry.status in ("missing", "differ"):
                    note += f"  (expected line {entry.line})"
                for sign, row in (("-", entry.expected), ("+", entry.actual)):
                    if row is None:
                        continue
                    other = entry.actual if sign == "-" else entry.expected
                    cells = []
                    for column in columns:
                        if column not in row:
                            cells.append("")
                            continue
                        text = show_value(row[column])
                        if column in entry.differs and other is not None and column in other \
                                and show_value(other[column]) == text:
                            text += f" ({_type_name(row[column])})"
                        if column in entry.differs:
                            text += " *"
                        cells.append(text)
                    table.append((sign, cells, note if sign == "-" or entry.expected is None
                                  else ""))
            widths = [max([len(column)] + [len(cells[index]) for _, cells, _ in table])
                      for index, column in enumerate(columns)]
            lines.append("     " + "  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
            for sign, cells, note in table:
                lines.append(f"  {sign}  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths))
                             .rstrip() + note)
        lines.append(f"{self.matched} of {self.expected_count} expected rows matched"
                     + (" on the columns they list" if self.problems else "")
                     + (f"; the query returned {self.actual_count}"
                        if self.actual_count != self.expected_count else ""))
        if self.order_only:
            lines.append("the same rows in another order: check the query's ORDER BY (or "
                         "drop ordered: true if the order does not matter)")
        return lines

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the columns, the order, every entry with its expected and actual cells."""
        def plain(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
            return None if row is None else {key: plain_value(v) for key, v in row.items()}

        return {
            "ordered": self.ordered, "columns": list(self.columns), "problems": list(self.problems),
            "matched": self.matched, "expected_rows": self.expected_count,
            "actual_rows": self.actual_count,
            "entries": [{"status": entry.status, "expected": plain(entry.expected),
                         "actual": plain(entry.actual), "differs": list(entry.differs),
                         "line": entry.line} for entry in self.entries],
        }


@dataclass(frozen=True)
class ExpectedRows:
    """A scenario's ``expected`` rows (column -> value) and whether their order matters."""

    rows: tuple[Mapping[str, Any], ...]
    ordered: bool = False
    lines: tuple[int | None, ...] = field(default=(), compare=False)

    def line(self, index: int) -> int | None:
        return self.lines[index] if index < len(self.lines) else None

    def as_dict(self) -> dict[str, Any]:
        return {"ordered": self.ordered,
                "rows": [{key: plain_value(v) for key, v in row.items()} for row in self.rows]}

    def differences(self, actual: Any) -> list[tuple[str, str, Any, Any]]:
        return list(self.compare(actual).diff)

    def compare(self, actual: Rows) -> RowComparison:
        """Compare with the query's rows (see the module doc)."""
        columns = tuple(getattr(actual, "columns", ()))
        actual_rows = [dict(zip(columns, row)) for row in actual]
        problems = self._column_problems(columns)
        if self.ordered:
            entries = self._ordered(actual_rows)
        else:
            entries = self._multiset(actual_rows)
        order_only = self.ordered and not problems \
            and any(entry.status != "match" for entry in entries) \
            and all(entry.status == "match" for entry in self._multiset(actual_rows))
        return RowComparison(columns, self.ordered, tuple(entries), tuple(problems),
                             len(self.rows), len(actual_rows), order_only)

    def _column_problems(self, columns: tuple[str, ...]) -> list[str]:
        problems = []
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            problems.append(f"the query returns column(s) {', '.join(repeated)} more than once: "
                            "alias them apart so that a row names each value once")
        for index, row in enumerate(self.rows):
            missing = [c for c in columns if c not in row]
            unknown = [c for c in row if c not in columns]
            if missing or unknown:
                where = f" (line {self.line(index)})" if self.line(index) else ""
                parts = []
                if missing:
                    parts.append(f"leaves out {', '.join(missing)}")
                if unknown:
                    parts.append(f"lists {', '.join(unknown)}, which the query does not return")
                problems.append(f"expected row {index + 1}{where} {' and '.join(parts)}: list "
                                f"every result column ({', '.join(columns) or 'none'})")
        return problems

    def _differing(self, expected: Mapping[str, Any], actual: Mapping[str, Any]) -> tuple[str,
                                                                                            ...]:
        columns = list(actual) + [c for c in expected if c not in actual]
        return tuple(c for c in columns
                     if c in expected and (c not in actual or not values_equal(expected[c],
                                                                               actual[c])))

    def _ordered(self, actual: list[dict[str, Any]]) -> list[RowEntry]:
        entries = []
        for index in range(max(len(self.rows), len(actual))):
            expected = self.rows[index] if index < len(self.rows) else None
            row = actual[index] if index < len(actual) else None
            if expected is None:
                entries.append(RowEntry("unexpected", None, row, position=index))
            elif row is None:
                entries.append(RowEntry("missing", expected, None, line=self.line(index),
                                        position=index))
            else:
                differs = self._differing(expected, row)
                entries.append(RowEntry("differ" if differs else "match", expected, row,
                                        differs, self.line(index), index))
        return entries

    def _multiset(self, actual: list[dict[str, Any]]) -> list[RowEntry]:
        unmatched_actual = list(range(len(actual)))
        matched: dict[int, int] = {}
        for index, expected in enumerate(self.rows):
            for candidate in unmatched_actual:
                if not self._differing(expected, actual[candidate]):
                    matched[index] = candidate
                    unmatched_actual.remove(candidate)
                    break
        entries: list[RowEntry] = []
        for index, expected in enumerate(self.rows):
            if index in matched:
                entries.append(RowEntry("match", expected, actual[matched[index]],
                                        line=self.line(index), position=index))
                continue
            # Pair a missing row with the unmatched actual row it resembles most, so the report
            # marks the cells that differ instead of listing two unrelated rows.
            best, best_score = None, 0
            for candidate in unmatched_actual:
                score = sum(1 for c, v in expected.items() if c in actual[candidate]
                            and values_equal(v, actual[candidate][c]))
                if score > best_score:
                    best, best_score = candidate, score
            if best is None:
                entries.append(RowEntry("missing", expected, None, line=self.line(index),
                                        position=index))
            else:
                unmatched_actual.remove(best)
                entries.append(RowEntry("differ", expected, actual[best],
                                        self._differing(expected, actual[best]),
                                        self.line(index), index))
        entries.extend(RowEntry("unexpected", None, actual[candidate], position=candidate)
                       for candidate in unmatched_actual)
        return entries


__all__ = [
    "DateText", "ExpectedRows", "RowComparison", "RowEntry", "date_object", "plain_value",
    "read_expected_value", "show_value", "values_equal",
]
