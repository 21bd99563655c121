"""PostgreSQL DDL for a :class:`~convguard._schema.Schema`, spelled the way ``prisma migrate`` does.

The statements come in Prisma's order (enums, tables, indexes, foreign keys), with Prisma's
constraint names (``"Order_pkey"``, ``"Order_reference_key"``, ``"Order_customerId_idx"``,
``"Order_customerId_fkey"``) and Prisma's referential actions. Every identifier is quoted; a column
type or default that could smuggle a second statement in is refused with :class:`SchemaError`.

Example:
    >>> from convguard import Column, EnumType, Index, Schema, Table
    >>> shop = Schema(
    ...     tables=(Table("Customer", (Column("id", "text", nullable=False, primary_key=True),)),
    ...             Table("Order", (Column("id", "text", nullable=False, primary_key=True),
    ...                             Column("customerId", "text", nullable=False,
    ...                                    references=("Customer", "id")),
    ...                             Column("status", "OrderStatus", nullable=False),
    ...                             Column("paidAt", "timestamp(3)")))),
    ...     enums=(EnumType("OrderStatus", ("PAID", "REFUNDED")),),
    ...     indexes=(Index("Order", ("paidAt DESC",)),))
    >>> ddl = schema_ddl(shop)
    >>> print(ddl.split("\\n\\n")[0])
    -- CreateEnum
    CREATE TYPE "OrderStatus" AS ENUM ('PAID', 'REFUNDED');
    >>> 'CREATE INDEX "Order_paidAt_idx" ON "Order"("paidAt" DESC);' in ddl
    True
    >>> [table.name for table in schema_for_tables(shop, ["Order"]).tables]
    ['Customer', 'Order']
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from convguard._errors import SchemaError
from convguard._schema import Column, Index, Schema, Table

__all__ = ["constraint_name", "index_name", "primary_key_name", "quote_ident", "quote_literal",
           "render_type", "schema_ddl", "schema_for_tables"]

# PostgreSQL's NAMEDATALEN - 1; Prisma truncates generated names to it.
MAX_IDENTIFIER_BYTES = 63

REFERENTIAL_ACTIONS = frozenset({"CASCADE", "RESTRICT", "NO ACTION", "SET NULL", "SET DEFAULT"})

# Letters, digits, spaces, parentheses with arguments, array brackets: a type name, never SQL.
_TYPE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*(\([A-Za-z0-9_, ]*\))?( with(out)? time zone)?(\[\])*")
_SORT_SUFFIXES = (" DESC", " ASC")


def quote_ident(name: str) -> str:
    """A double-quoted PostgreSQL identifier.

    Example:
        >>> quote_ident('AIDraft'), quote_ident('we"ird')
        ('"AIDraft"', '"we""ird"')
    """
    if not name or "\x00" in name:
        raise SchemaError(f"invalid identifier {name!r}", hint="use a non-empty name without NUL")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A single-quoted PostgreSQL string literal (standard_conforming_strings, Prisma's way).

    Example:
        >>> quote_literal("it's")
        "'it''s'"
    """
    if "\x00" in value:
        raise SchemaError(f"invalid string literal {value!r}", hint="remove the NUL character")
    return "'" + value.replace("'", "''") + "'"


def render_type(schema: Schema, type_name: str) -> str:
    """A column type as Prisma writes it: an enum quoted, a built-in type in capitals.

    Example:
        >>> from convguard import EnumType, Schema
        >>> schema = Schema((), enums=(EnumType("OrderStatus", ("PAID", "REFUNDED")),))
        >>> render_type(schema, "OrderStatus[]")
        '"OrderStatus"[]'
        >>> render_type(schema, "timestamp(3)")
        'TIMESTAMP(3)'
    """
    base = type_name
    dimensions = ""
    while base.endswith("[]"):
        base, dimensions = base[:-2], dimensions + "[]"
    if schema.enum(base) is not None:
        return quote_ident(base) + dimensions
    if not _TYPE_RE.fullmatch(type_name):
        raise SchemaError(f"invalid column type {type_name!r}",
                          hint="use a PostgreSQL type name or an enum declared in the schema")
    # Lowercase is convguard's canonical spelling of built-in types; anything else is the
    # user's own (Unsupported("...")) and stays as written.
    return type_name.upper() if type_name == type_name.lower() else type_name


def schema_ddl(schema: Schema) -> str:
    """The DDL that creates ``schema`` on an empty PostgreSQL database (one string, ``;``-ended).

    Example:
        >>> from convguard._schema import Column, Schema, Table
        >>> print(schema_ddl(Schema((Table("T", (Column("id", "text", nullable=False,
        ...                                              primary_key=True),)),))))
        -- CreateTable
        CREATE TABLE "T" (
            "id" TEXT NOT NULL,
        <BLANKLINE>
            CONSTRAINT "T_pkey" PRIMARY KEY ("id")
        );
    """
    statements = [
        "-- CreateEnum\nCREATE TYPE {} AS ENUM ({});".format(
            quote_ident(enum.name), ", ".join(quote_literal(value) for value in enum.values))
        for enum in schema.enums
    ]
    statements += ["-- CreateTable\n" + _create_table(schema, table) for table in schema.tables]
    for table in schema.tables:
        statements += ["-- CreateIndex\n" + _create_index(schema, index)
                       for index in _table_indexes(schema, table)]
    for table in schema.tables:
        statements += ["-- AddForeignKey\n" + _add_foreign_key(table, column)
                       for column in table.columns if column.references is not None]
    return "\n\n".join(statements)


def schema_for_tables(schema: Schema, names: Iterable[str]) -> Schema:
    """The part of ``schema`` a query needs: the named tables, every table they reference
    (transitively, so each foreign key has its target), their enums and their indexes.

    Names match exactly, else case-insensitively (an unquoted name in SQL folds to lower case).

    Example:
        >>> from convguard import Column, EnumType, Schema, Table
        >>> key = Column("id", "text", nullable=False, primary_key=True)
        >>> schema = Schema(
        ...     tables=(Table("Customer", (key, Column("tier", "Tier"))),
        ...             Table("Order", (key, Column("customerId", "text",
        ...                                         references=("Customer", "id")))),
        ...             Table("Note", (key,))),
        ...     enums=(EnumType("Tier", ("GOLD", "BASIC")),))
        >>> part = schema_for_tables(schema, ["order"])
        >>> [table.name for table in part.tables], [enum.name for enum in part.enums]
        (['Customer', 'Order'], ['Tier'])
    """
    wanted: set[str] = set()
    pending = []
    for name in names:
        table = schema.find_table(name)
        if table is None:
            known = ", ".join(t.name for t in schema.tables)
            raise SchemaError(f'the schema has no table "{name}"',
                              hint=f"add the model to the Prisma schema or use one of: {known}")
        pending.append(table.name)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        for column in schema.table(name).columns:
            if column.references is not None:
                pending.append(column.references[0])
    tables = tuple(table for table in schema.tables if table.name in wanted)
    used_types = {_base_type(column.type) for table in tables for column in table.columns}
    return Schema(
        tables=tables,
        enums=tuple(enum for enum in schema.enums if enum.name in used_types),
        indexes=tuple(index for index in schema.indexes if index.table in wanted),
    )


def constraint_name(table: str, columns: Iterable[str], suffix: str) -> str:
    """Prisma's default name: ``{table}_{col}_{col}{suffix}``, cut to fit 63 bytes.

    Example:
        >>> constraint_name("Lead", ["clientId"], "_idx")
        'Lead_clientId_idx'
    """
    joined = "_".join([table, *columns])
    limit = MAX_IDENTIFIER_BYTES - len(suffix)
    encoded = joined.encode()
    if len(encoded) >= limit:
        joined = encoded[:limit].decode(errors="ignore")
    return joined + suffix


def primary_key_name(table: Table) -> str:
    """Prisma's primary key name (``_AB_pkey`` for an implicit many-to-many join table).

    Example:
        >>> from convguard import Column, Table
        >>> primary_key_name(Table("Order", (Column("id", "text", primary_key=True),)))
        'Order_pkey'
    """
    return constraint_name(table.name, [], "_AB_pkey" if _is_join_table(table) else "_pkey")


def index_name(schema: Schema, index: Index) -> str:
    """Prisma's name for ``index``: ``_key`` when unique, ``_idx`` otherwise, and ``_B_index`` for
    the index on an implicit many-to-many join table's ``B`` column.

    Example:
        >>> from convguard import Schema
        >>> index_name(Schema(()), Index("Order", ("paidAt DESC",)))
        'Order_paidAt_idx'
    """
    names = [_split_sort(entry)[0] for entry in index.columns]
    table = schema.find_table(index.table)
    if table is not None and _is_join_table(table) and names == ["B"] and not index.unique:
        return constraint_name(index.table, [], "_B_index")
    return constraint_name(index.table, names, "_key" if index.unique else "_idx")


def _is_join_table(table: Table) -> bool:
    # Prisma's implicit many-to-many tables are the only ones it names "_X" with columns A and B.
    return table.name.startswith("_") and table.column_names == ("A", "B")


def _split_sort(entry: str) -> tuple[str, str]:
    for suffix in _SORT_SUFFIXES:
        if entry.endswith(suffix):
            return entry[: -len(suffix)], suffix.strip()
    return entry, ""


def _create_table(schema: Schema, table: Table) -> str:
    lines = [f"    {_column_definition(schema, column)}," for column in table.columns]
    key = [column.name for column in table.columns if column.primary_key]
    if key:
        lines.append("")
        lines.append("    CONSTRAINT {} PRIMARY KEY ({})".format(
            quote_ident(primary_key_name(table)), ",".join(quote_ident(name) for name in key)))
    elif lines:
        lines[-1] = lines[-1].rstrip(",")
    return "CREATE TABLE {} (\n{}\n);".format(quote_ident(table.name), "\n".join(lines))


def _column_definition(schema: Schema, column: Column) -> str:
    text = f"{quote_ident(column.name)} {render_type(schema, column.type)}"
    if not column.nullable:
        text += " NOT NULL"
    if column.default is not None:
        text += " DEFAULT " + _checked_expression(column.default, column.name)
    return text


def _table_indexes(schema: Schema, table: Table) -> list[Index]:
    indexes = [Index(table.name, (column.name,), unique=True)
               for column in table.columns if column.unique]
    return indexes + [index for index in schema.indexes if index.table == table.name]


def _create_index(schema: Schema, index: Index) -> str:
    # Prisma writes only the non-default direction.
    parts = [quote_ident(name) + (" DESC" if order == "DESC" else "")
             for name, order in map(_split_sort, index.columns)]
    return "CREATE {}INDEX {} ON {}({});".format(
        "UNIQUE " if index.unique else "", quote_ident(index_name(schema, index)),
        quote_ident(index.table), ", ".join(parts))


def _add_foreign_key(table: Table, column: Column) -> str:
    assert column.references is not None
    target_table, target_column = column.references
    on_delete = column.on_delete or ("SET NULL" if column.nullable else "RESTRICT")
    on_update = column.on_update or "CASCADE"
    for action in (on_delete, on_update):
        if action not in REFERENTIAL_ACTIONS:
            raise SchemaError(f'invalid referential action "{action}" on '
                              f'"{table.name}"."{column.name}"',
                              hint="use one of " + ", ".join(sorted(REFERENTIAL_ACTIONS)))
    return ("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {}({}) "
            "ON DELETE {} ON UPDATE {};").format(
        quote_ident(table.name), quote_ident(constraint_name(table.name, [column.name], "_fkey")),
        quote_ident(column.name), quote_ident(target_table), quote_ident(target_column),
        on_delete, on_update)


def _checked_expression(expression: str, column: str) -> str:
    """``expression`` if it is one SQL expression: no statement break or comment outside quotes."""
    depth, quote, previous = 0, "", ""
    valid = bool(expression.strip()) and "\x00" not in expression
    for char in expression:
        if quote:
            quote = "" if char == quote else quote
            previous = ""
            continue
        if char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == ";" or previous + char in ("--", "/*"):
            valid = False
        if depth < 0:
            valid = False
        previous = char
    if valid and not quote and depth == 0:
        return expression
    raise SchemaError(f'the default of column "{column}" is not a single SQL expression: '
                      f"{expression!r}",
                      hint="quote string defaults; use one expression without ';' or comments")


def _base_type(type_name: str) -> str:
    while type_name.endswith("[]"):
        type_name = type_name[:-2]
    return type_name
