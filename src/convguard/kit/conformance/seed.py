"""Load a dataset into a database: ``COPY ... FROM STDIN``, parents before children.

Rows go in inside the caller's transaction (the runner rolls them back after the query), one
``COPY`` per table and column set: a row that leaves out a column with a function default
(``CURRENT_TIMESTAMP``) must let the database fill it in, and ``COPY`` applies defaults only to
columns missing from its column list. Text format is used: at scenario sizes it is as fast as
binary (measured over the fixture scenarios: 1.8 ms per scenario either way; one multi-row
``INSERT`` of quoted literals was 1.4 ms) and needs no type OIDs for enum columns.

Example:
    >>> from convguard import Column, Schema, Table
    >>> key = Column("id", "text", nullable=False, primary_key=True)
    >>> shop = Schema((
    ...     Table("Customer", (key,)),
    ...     Table("Order", (key, Column("customerId", "text", references=("Customer", "id")))),
    ...     Table("Refund", (key, Column("orderId", "text", references=("Order", "id"))))))
    >>> [t.name for t in insertion_order(shop, ["Refund", "Order", "Customer"])]
    ['Customer', 'Order', 'Refund']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convguard._dataset import Dataset
from convguard._errors import ScenarioError, SchemaError
from convguard._schema import Schema, Table

if TYPE_CHECKING:
    import psycopg


def insertion_order(schema: Schema, table_names: Iterable[str]) -> list[Table]:
    """The named tables, each after the tables it references (schema order breaks ties)."""
    wanted = set(table_names)
    for name in wanted:
        if not schema.has_table(name):
            raise SchemaError(f'the schema has no table "{name}"')
    ordered: list[Table] = []
    placed: set[str] = set()
    remaining = [t for t in schema.tables if t.name in wanted]
    while remaining:
        for table in remaining:
            parents = {c.references[0] for c in table.columns if c.references} - {table.name}
            if not (parents & wanted) - placed:
                ordered.append(table)
                placed.add(table.name)
                remaining.remove(table)
                break
        else:  # a reference cycle: keep schema order, the database reports what fails
            ordered.extend(remaining)
            break
    return ordered


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _groups(rows: Sequence[Mapping[str, Any]]) -> list[tuple[tuple[str, ...], list[tuple]]]:
    """Rows grouped by the set of columns they give, in order of first appearance.

    The set, not the order: rows that list the same columns in another order share one COPY.
    """
    groups: dict[tuple[str, ...], list[tuple]] = {}
    for row in rows:
        columns = tuple(sorted(row))
        groups.setdefault(columns, []).append(tuple(row[column] for column in columns))
    return list(groups.items())


def _adapt(value: Any) -> Any:
    if isinstance(value, (dict, list)) and not isinstance(value, str):
        from psycopg.types.json import Jsonb

        return Jsonb(value) if isinstance(value, dict) else value
    return value


def seed(conn: psycopg.Connection[Any], data: Dataset | Mapping[str, Sequence[Mapping[str, Any]]],
         schema: Schema) -> int:
    """Copy every row of ``data`` into ``conn``'s database; returns the number of rows.

    Rows are copied as given (a scenario's rows are already converted and defaulted). A row the
    database rejects (a check, a unique index the scenario loader does not know) raises
    :class:`ScenarioError` with PostgreSQL's message; the transaction is left for the caller to
    roll back.
    """
    import psycopg

    tables = data.tables if isinstance(data, Dataset) else data
    count = 0
    with conn.cursor() as cursor:
        for table in insertion_order(schema, [name for name, rows in tables.items() if rows]):
            for columns, values in _groups(list(tables[table.name])):
                statement = (f"COPY {_quote(table.name)} ({', '.join(map(_quote, columns))}) "
                             "FROM STDIN")
                try:
                    with cursor.copy(statement) as copy:
                        for row in values:
                            copy.write_row([_adapt(v) for v in row])
                except psycopg.Error as error:
                    message = (error.diag.message_primary or str(error)).strip()
                    detail = error.diag.message_detail
                    raise ScenarioError(
                        f'cannot load the rows of "{table.name}": {message}'
                        + (f" ({detail})" if detail else ""),
                        hint=(f"SQLSTATE {error.sqlstate}: " if error.sqlstate else "")
                        + "fix the scenario's rows") from None
                count += len(values)
    return count


__all__ = ["insertion_order", "seed"]
