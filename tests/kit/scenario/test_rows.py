"""Expected rows of a query without a profile: reading them and comparing them cell by cell."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from convguard._errors import ScenarioError
from convguard._schema import Column, Schema, Table
from convguard.kit.conformance.rows import Rows
from convguard.kit.scenario.files import ScenarioContract, parse_scenario
from convguard.kit.scenario.rows import DateText, ExpectedRows, values_equal

SCHEMA = Schema((Table("E", (Column("id", "text", nullable=False, primary_key=True),
                             Column("at", "timestamp(3)", nullable=False),
                             Column("note", "text", nullable=False))),))
ROWS = ScenarioContract(expected_as_rows=True, read_columns=frozenset({("E", "id"), ("E", "at")}))


@pytest.mark.parametrize(("expected", "actual", "equal"), [
    (1000, Decimal("1000.00"), True),
    (1000, 1000.0, True),
    (0.3, 0.1 + 0.2, True),
    (10.5, Decimal("10.50"), True),
    (1000, 1001, False),
    ("1000", 1000, False),              # strings exactly: a quoted number is text
    (True, 1, False),
    (None, None, True),
    (None, 0, False),
    (DateText("2026-01-05T00:00:00Z"), datetime(2026, 1, 5), True),
    ("2026-01-05T02:00:00+02:00", datetime(2026, 1, 5), True),           # instants
    ("2026-01-05T00:00:00Z", datetime(2026, 1, 5, tzinfo=UTC), True),
    ("2026-01-05T00:00:00Z", datetime(2026, 1, 5, 1, tzinfo=timezone(timedelta(hours=1))),
     True),
    ("2026-01-05T00:00:00.001Z", datetime(2026, 1, 5), False),
    ("2026-01-05", date(2026, 1, 5), True),
    ("Acme", "Acme", True),
    ("acme", "Acme", False),
    ([1, "a"], [Decimal(1), "a"], True),
    ({"a": [1]}, {"a": [1]}, True),
], ids=repr)
def test_values_compare_by_kind(expected: object, actual: object, equal: bool) -> None:
    assert values_equal(expected, actual) is equal


def rows(*values: tuple[object, ...], columns: tuple[str, ...] = ("name", "n")) -> Rows:
    return Rows.from_description(columns, values)


def test_a_multiset_ignores_order_and_counts_duplicates() -> None:
    expected = ExpectedRows(({"name": "a", "n": 1}, {"name": "a", "n": 1}, {"name": "b", "n": 2}))
    assert expected.compare(rows(("b", 2), ("a", 1), ("a", 1))).passed
    missing = expected.compare(rows(("b", 2), ("a", 1)))
    assert [e.status for e in missing.entries] == ["match", "missing", "match"]


def test_ordered_rows_compare_by_position() -> None:
    expected = ExpectedRows(({"name": "a", "n": 1}, {"name": "b", "n": 2}), ordered=True)
    assert expected.compare(rows(("a", 1), ("b", 2))).passed
    swapped = expected.compare(rows(("b", 2), ("a", 1)))
    assert [(e.status, e.differs) for e in swapped.entries] == [
        ("differ", ("name", "n")), ("differ", ("name", "n"))]
    assert swapped.order_only  # "0 of 2 matched" alone hid that only the order was wrong
    assert swapped.format_lines()[-1].startswith("the same rows in another order: check the "
                                                 "query's ORDER BY")
    other = expected.compare(rows(("b", 2), ("a", 3)))
    assert not other.order_only and "another order" not in "\n".join(other.format_lines())
    assert not ExpectedRows(expected.rows).compare(rows(("b", 2), ("a", 1))).order_only


def test_a_differing_row_is_paired_with_the_row_it_resembles() -> None:
    comparison = ExpectedRows(({"name": "a", "n": 1},)).compare(rows(("z", 9), ("a", 2)))
    assert [(e.status, e.differs) for e in comparison.entries] == [("differ", ("n",)),
                                                                  ("unexpected", ())]
    assert comparison.diff == (("row 1", "n", 1, 2), ("returned row 1", "*", None, {"name": "z", "n": 9}))


def test_every_result_column_must_be_listed() -> None:
    comparison = ExpectedRows(({"name": "a", "extra": 1},), lines=(7,)).compare(rows(("a", 1)))
    assert comparison.problems == ("expected row 1 (line 7) leaves out n and lists extra, which "
                                   "the query does not return: list every result column (name, "
                                   "n)",)
    assert not comparison.passed
    left_out = ExpectedRows(({"name": "a"},)).compare(rows(("a", 1)))
    # "1 of 1 expected rows matched" under a FAIL read as a contradiction
    assert left_out.format_lines()[-1] == "1 of 1 expected rows matched on the columns they list"


def test_an_empty_expectation_means_no_row() -> None:
    assert ExpectedRows(()).compare(rows()).passed
    assert not ExpectedRows(()).compare(rows(("a", 1))).passed


def test_dates_in_params_tables_and_expected() -> None:
    scenario = parse_scenario("""\
name: dates
params: {a: 2026-01-05T10:00:00Z, b: !date "2026-01-05", c: "2026-01-05T10:00:00Z"}
tables:
  E: [{id: e1, at: {"$date": "2026-01-05T10:00:00Z"}}]
expected:
  - {at: {"$date": "2026-01-05T10:00:00Z"}}
""", path="s.yaml", schema=SCHEMA, contract=ROWS)
    assert [type(scenario.params[k]) for k in "abc"] == [DateText, DateText, str]
    assert scenario.dataset.rows("E")[0]["at"] == datetime(2026, 1, 5, 10)
    assert scenario.expected.rows[0]["at"] == "2026-01-05T10:00:00Z"
    assert isinstance(scenario.expected.rows[0]["at"], DateText)


def test_an_unread_not_null_column_gets_a_placeholder_a_read_one_is_an_error() -> None:
    text = "name: p\ntables:\n  E: [{id: e1, at: 2026-01-05T10:00:00Z}]\nexpected: []\n"
    scenario = parse_scenario(text, path="s.yaml", schema=SCHEMA, contract=ROWS)
    assert scenario.dataset.rows("E")[0]["note"] == "E.note 1"
    read = ScenarioContract(expected_as_rows=True, read_columns=frozenset({("E", "note")}))
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(text, path="s.yaml", schema=SCHEMA, contract=read)
    assert str(raised.value).startswith('s.yaml:3: table "E": row 1 leaves out NOT NULL column '
                                        "note, which has no default and which the query reads")


MAPPED = Schema((Table("members", (Column("id", "text", nullable=False, primary_key=True),),
                       prisma_model="Member"),
                 Table("Invoice", (Column("id", "text", nullable=False, primary_key=True),
                                   Column("due_at", "timestamp(3)", nullable=False,
                                          prisma_field="dueAt")))))


@pytest.mark.parametrize(("tables", "line", "message", "hint"), [
    ('Invoice: [{id: i1, dueAt: "2026-01-01T00:00:00Z"}]', 4,
     "table \"Invoice\" has no column 'dueAt'",
     "the Prisma field dueAt is stored as column 'due_at' (@map); scenarios name the "
     "database's columns: write due_at"),
    ("Member: [{id: m1}]", 4, "unknown table 'Member'",
     "the Prisma model Member is stored as table 'members' (@@map); scenarios name the "
     "database's tables: write members"),
])
def test_a_prisma_name_in_a_scenario_says_the_mapped_one(tables: str, line: int, message: str,
                                                         hint: str) -> None:
    text = f"name: s\nparams: {{}}\ntables:\n  {tables}\nexpected: []\n"
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text, path="s.yaml", schema=MAPPED, contract=ROWS)
    assert (error.value.line, error.value.message, error.value.hint) == (line, message, hint)
