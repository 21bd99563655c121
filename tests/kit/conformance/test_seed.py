"""Seeding: parents first, one COPY per column set, database defaults, clear errors."""

from __future__ import annotations

from datetime import datetime

import pytest

from convguard._dataset import Dataset
from convguard._errors import ScenarioError, SchemaError
from convguard._schema import Column, Schema, Table
from convguard.kit.conformance.seed import insertion_order, seed
from convguard.profiles.booking_conversion.schema import booking_schema

SCHEMA = booking_schema()


def test_insertion_order_follows_references_not_the_given_order() -> None:
    reversed_schema = Schema(tables=tuple(reversed(SCHEMA.tables)), enums=SCHEMA.enums)
    names = [t.name for t in insertion_order(reversed_schema, [t.name for t in SCHEMA.tables])]
    assert names.index("Client") < names.index("Lead") < names.index("AIDraft") \
        < names.index("Message")
    assert names.index("EmailCampaign") < names.index("Lead")
    with pytest.raises(SchemaError):
        insertion_order(SCHEMA, ["Nope"])


def test_a_self_reference_does_not_block_ordering() -> None:
    schema = Schema(tables=(Table("Node", (Column("id", "text", primary_key=True),
                                           Column("parentId", "text", references=("Node", "id")))),))
    assert [t.name for t in insertion_order(schema, ["Node"])] == ["Node"]


def test_rows_with_and_without_a_function_default_column(conn) -> None:
    data = Dataset({
        "Client": ({"id": "c1"},),
        "Lead": ({"id": "l1", "clientId": "c1"},
                 {"id": "l2", "clientId": "c1", "createdAt": datetime(2020, 1, 1, 0, 0, 0, 5000)}),
    })
    assert seed(conn, data, SCHEMA) == 3
    rows = conn.execute('SELECT id, "createdAt" FROM "Lead" ORDER BY id').fetchall()
    assert rows[0][1] is not None and rows[0][1].year >= 2025  # CURRENT_TIMESTAMP
    assert rows[1][1] == datetime(2020, 1, 1, 0, 0, 0, 5000)


def test_text_with_copy_special_characters_round_trips(conn) -> None:
    body = 'tab\there, newline\nthere, backslash \\ and "quotes" and \\N'
    data = Dataset({
        "Client": ({"id": "c1"},),
        "Lead": ({"id": "l1", "clientId": "c1"},),
        "Message": ({"id": "m1", "leadId": "l1", "direction": "outbound", "body": body,
                     "sentAt": datetime(2026, 1, 1)},),
    })
    seed(conn, data, SCHEMA)
    assert conn.execute('SELECT body FROM "Message"').fetchone() == (body,)


def test_a_row_the_database_rejects_is_a_scenario_error(conn) -> None:
    data = Dataset({"Lead": ({"id": "l1", "clientId": "missing"},)})
    with pytest.raises(ScenarioError) as error:
        seed(conn, data, SCHEMA)
    assert 'cannot load the rows of "Lead"' in error.value.message
    assert "SQLSTATE 23503" in error.value.hint
