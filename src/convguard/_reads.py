"""Which schema columns a query reads, by column lineage: the columns it must see real values in.

Every column reference of the statement (select list, joins, filters, grouping, ordering, CTEs,
subqueries) is resolved through aliases and derived tables down to schema columns
(:mod:`convguard._lineage`). A ``*`` reads every column of the tables it expands; a reference
lineage cannot resolve counts as a read of every column of that name, so the answer errs on the
side of "read".

Example:
    >>> from convguard._schema import Column, Schema, Table
    >>> schema = Schema((Table("Order", (Column("id", "text"), Column("note", "text"),
    ...                                  Column("paidAt", "timestamp(3)"))),))
    >>> sorted(columns_read('SELECT o.id FROM "Order" o WHERE o."paidAt" < $1', schema))
    [('Order', 'id'), ('Order', 'paidAt')]
    >>> sorted(columns_read('SELECT * FROM "Order"', schema))
    [('Order', 'id'), ('Order', 'note'), ('Order', 'paidAt')]
    >>> sorted(columns_read('SELECT COUNT(*) FROM "Order"', schema))
    []
    >>> columns_read("SELEC nothing", schema) is None
    True
"""

from __future__ import annotations

from sqlglot import exp

from convguard._schema import Schema

ColumnRef = tuple[str, str]


def columns_read(sql: str, schema: Schema) -> frozenset[ColumnRef] | None:
    """The ``(table, column)`` pairs of ``schema`` the statement reads; None if it cannot tell
    (the SQL does not parse)."""
    from convguard._lineage import Lineage, lineage
    from convguard._parse import parse_sql

    parsed = parse_sql(sql)
    if parsed.tree is None:
        return None
    result = lineage(parsed.tree, schema)
    read: set[ColumnRef] = set()
    for found in result.references.values():
        if isinstance(found, Lineage):
            read.update(found.columns)
            for _table, column in found.unknown:
                read.update((t.name, column) for t in schema.tables if t.has_column(column))
    for unresolved in result.unresolved:
        name = unresolved.reference.split(".")[-1].strip('"')
        read.update((t.name, c.name) for t in schema.tables for c in t.columns
                    if c.name == name or c.name.lower() == name.lower())
    if any(isinstance(star.parent, (exp.Select, exp.Column))
           for star in parsed.tree.find_all(exp.Star)):  # not COUNT(*), which reads no column
        for name in result.schema_tables:
            table = schema.find_table(name)
            if table is not None:
                read.update((table.name, column) for column in table.column_names)
    return frozenset(read)


__all__ = ["columns_read"]
