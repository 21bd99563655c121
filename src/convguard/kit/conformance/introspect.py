"""The schema a database holds, read from PostgreSQL's catalog.

``seed(connection, tables, ddl_text)`` needs a :class:`~convguard._schema.Schema` to order tables
(parents first), check rows and fill defaults; when the caller has only the DDL it ran, the
database it ran it in is the authority: tables and columns of the schemas on the ``search_path``,
their types (``format_type``), NOT NULL, defaults, single-column primary keys, unique constraints
and foreign keys, and the enum types.

Example:
    >>> from convguard.kit.conformance.introspect import schema_of_database
    >>> with throwaway_database("CREATE TABLE t (id int PRIMARY KEY)") as db:  # doctest: +SKIP
    ...     schema_of_database(db.connection).table("t").column("id").primary_key
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convguard._schema import Column, EnumType, Schema, Table

if TYPE_CHECKING:
    import psycopg

_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false))
ORDER BY c.relname, a.attnum
"""
_CONSTRAINTS = """
SELECT c.relname, k.contype, a.attname, t.relname, ta.attname, k.confdeltype, k.confupdtype
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
LEFT JOIN pg_class t ON t.oid = k.confrelid
LEFT JOIN pg_attribute ta ON ta.attrelid = k.confrelid AND ta.attnum = k.confkey[1]
WHERE k.contype IN ('p', 'u', 'f') AND cardinality(k.conkey) = 1
  AND n.nspname = ANY (current_schemas(false))
"""
_ENUMS = """
SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_enum e ON e.enumtypid = t.oid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = ANY (current_schemas(false))
GROUP BY t.typname
"""
_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def _unquote(type_name: str) -> str:
    """``"OrderStatus"[]`` -> ``OrderStatus[]``: the Schema keeps identifiers unquoted."""
    return type_name.replace('"', "")


def schema_of_database(conn: psycopg.Connection[Any]) -> Schema:
    """The tables, columns, keys and enums of the database ``conn`` is connected to."""
    constraints: dict[tuple[str, str], dict[str, Any]] = {}
    for table, kind, column, target, target_column, on_delete, on_update in \
            conn.execute(_CONSTRAINTS).fetchall():
        entry = constraints.setdefault((table, column), {})
        if kind == "p":
            entry["primary_key"] = True
        elif kind == "u":
            entry["unique"] = True
        else:
            entry["references"] = (target, target_column)
            entry["on_delete"] = _ACTIONS.get(on_delete)
            entry["on_update"] = _ACTIONS.get(on_update)
    tables: dict[str, list[Column]] = {}
    for table, column, type_name, not_null, default in conn.execute(_COLUMNS).fetchall():
        tables.setdefault(table, []).append(Column(
            column, _unquote(type_name), nullable=not not_null, default=default,
            **constraints.get((table, column), {})))
    enums = tuple(EnumType(name, tuple(values))
                  for name, values in conn.execute(_ENUMS).fetchall())
    return Schema(tables=tuple(Table(name, tuple(columns)) for name, columns in tables.items()),
                  enums=enums)


__all__ = ["schema_of_database"]
