"""Scenario documents: the mapping a scenario file holds, to and from a validated scenario.

Generated datasets (a profile's Hypothesis strategies), metamorphic relations and mutation runs
all handle *documents* (``name``, ``description``, ``params``, ``tables``; timestamps as ISO text
with ``Z``). :func:`scenario_of` turns one into a :class:`~convguard.kit.scenario.files.Scenario`
through the kit's own scenario path (the validation and conversion a file gets), and
:func:`document_of` goes back, as a scenario file would spell it.

Example:
    >>> from convguard._schema import Column, Schema, Table
    >>> schema = Schema(tables=(Table("Client", (Column("id", "text", nullable=False,
    ...                                                 primary_key=True),)),))
    >>> scenario = scenario_of({"params": {}, "tables": {"Client": [{"id": "c1"}]}}, schema)
    >>> scenario.expected is None, scenario.dataset.rows("Client")
    (True, ({'id': 'c1'},))
    >>> document_of(scenario, schema)["tables"]
    {'Client': [{'id': 'c1'}]}
    >>> iso_z(datetime(2026, 1, 25, 0, 0, 0, 1000))
    '2026-01-25T00:00:00.001Z'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from convguard._dataset import Dataset
from convguard._schema import Schema
from convguard.kit.scenario.files import (
    Scenario,
    ScenarioContract,
    column_family,
    dataset_from_tables,
    literal_default,
    parse_timestamp,
)


def hypothesis_available() -> bool:
    """True when the ``hypothesis`` package (the ``property`` or ``test`` extra) can be imported
    (called only when generated examples are about to run, which import it anyway)."""
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        return False
    return True


def iso_z(moment: datetime) -> str:
    """A naive UTC datetime as ISO 8601 text with milliseconds and ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# Documents <-> scenarios -------------------------------------------------------------------------

def scenario_of(document: Mapping[str, Any], schema: Schema, *,
                contract: ScenarioContract | None = None, path: str = "<generated>") -> Scenario:
    """A scenario document (as a file holds it) -> a validated :class:`Scenario`.

    The tables go through :func:`dataset_from_tables` and the params through the profile's
    check, exactly as :func:`~convguard.kit.scenario.files.parse_scenario` treats a file.
    """
    params = dict(document.get("params") or {})
    if contract is not None and contract.check_params is not None:
        contract.check_params(params)
    expected = document.get("expected")
    return Scenario(name=str(document.get("name") or "generated"),
                    description=str(document.get("description") or ""), path=path,
                    params=params,
                    dataset=dataset_from_tables(document.get("tables") or {}, schema, path=path),
                    expected=({k: dict(v) for k, v in expected.items()}
                              if expected is not None else None))


def _document_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = parse_timestamp(value)
        return iso_z(value)
    return value


def tables_of(dataset: Dataset, schema: Schema) -> dict[str, list[dict[str, Any]]]:
    """A dataset's rows as a scenario file writes them: timestamps as ISO text with ``Z``,
    columns holding their literal schema default (or NULL for a nullable column) left out."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, rows in dataset.tables.items():
        table = schema.table(name)
        written = []
        for row in rows:
            compact: dict[str, Any] = {}
            for column_name, value in row.items():
                column = table.column(column_name)
                is_literal, default = literal_default(column.default)
                if value is None and (column.nullable or is_literal):
                    continue
                if is_literal and value == default and column_name != "channel":
                    continue
                compact[column_name] = _document_value(value)
            written.append(compact)
        if written:
            tables[name] = written
    return tables


def document_of(scenario: Scenario, schema: Schema) -> dict[str, Any]:
    """A scenario as a document (``expected`` only when it has one)."""
    params = {key: _document_value(value) for key, value in scenario.params.items()}
    document: dict[str, Any] = {"name": scenario.name, "description": scenario.description,
                                "params": params, "tables": tables_of(scenario.dataset, schema)}
    if scenario.expected is not None:
        document["expected"] = {k: dict(v) for k, v in scenario.expected.items()}
    return document


def timestamp_columns(schema: Schema, table: str) -> tuple[str, ...]:
    """The timestamp (with or without time zone) columns of a table."""
    return tuple(c.name for c in schema.table(table).columns
                 if column_family(schema, c) in ("timestamp", "timestamptz"))


__all__ = ["document_of", "hypothesis_available", "iso_z", "scenario_of", "tables_of",
           "timestamp_columns"]
