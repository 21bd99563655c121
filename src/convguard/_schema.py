"""A small relational schema model shared by column lineage, DDL generation and Prisma import.

Identifiers are stored exactly as PostgreSQL stores them (``"AIDraft"``, ``"sentAt"``: case kept,
quotes dropped). A profile that has a data model of its own builds it from these types (the
core knows no application's tables).

Example:
    >>> schema = Schema((
    ...     Table("Customer", (Column("id", "text", nullable=False, primary_key=True),)),
    ...     Table("Order", (Column("id", "text", nullable=False, primary_key=True),
    ...                     Column("customerId", "text", nullable=False,
    ...                            references=("Customer", "id")),
    ...                     Column("paidAt", "timestamp(3)"))),
    ... ))
    >>> schema.table("Order").column("paidAt").type
    'timestamp(3)'
    >>> schema.table("Order").column("customerId").references
    ('Customer', 'id')
    >>> schema.find_table("order").name
    'Order'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from convguard._errors import SchemaError


@dataclass(frozen=True)
class Column:
    """One column; ``type`` is a PostgreSQL type name as written in DDL (an enum by its name).

    ``on_delete``/``on_update`` are the foreign key's referential actions (``"CASCADE"``, ...);
    None means Prisma's default: ``RESTRICT`` for a NOT NULL column, else ``SET NULL``, and
    ``CASCADE`` on update. ``client_default`` names a value Prisma Client generates in the
    application, not the database (``"uuid"``, ``"cuid"``, ``"nanoid"``, ``"ulid"``): the column
    has no database default, and the kit generates one for a row that leaves it out.
    """

    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    primary_key: bool = False
    unique: bool = False
    references: tuple[str, str] | None = None
    on_delete: str | None = None
    on_update: str | None = None
    client_default: str | None = None
    #: the Prisma field stored in this column when ``@map`` names the column otherwise (``dueAt``
    #: for ``dueAt DateTime @map("due_at")``); for hints only, never compared
    prisma_field: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Index:
    """A (non-unique unless stated) b-tree index; ``columns`` may carry ``DESC``."""

    table: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    #: the Prisma model stored in this table when ``@@map`` names it otherwise; hints only
    prisma_model: str | None = field(default=None, compare=False)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise SchemaError(f'table "{self.name}" has no column "{name}"')

    def has_column(self, name: str) -> bool:
        return any(column.name == name for column in self.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def mapped_field(self, name: str) -> Column | None:
        """The column a Prisma field named ``name`` is stored in, when ``@map`` renamed it (None
        otherwise): what a user who wrote the field's name meant.

        >>> table = Table("Invoice", (Column("due_at", "timestamp(3)", prisma_field="dueAt"),))
        >>> table.mapped_field("dueAt").name, table.mapped_field("due_at")
        ('due_at', None)
        """
        return next((column for column in self.columns if column.prisma_field == name), None)


@dataclass(frozen=True)
class EnumType:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Schema:
    """Tables, enums and indexes, in dependency order (a table after the tables it references)."""

    tables: tuple[Table, ...]
    enums: tuple[EnumType, ...] = ()
    indexes: tuple[Index, ...] = ()

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise SchemaError(f'the schema has no table "{name}"')

    def has_table(self, name: str) -> bool:
        return any(table.name == name for table in self.tables)

    def find_table(self, name: str) -> Table | None:
        """A table by exact name, else by case-insensitive name (unquoted SQL folds case)."""
        for table in self.tables:
            if table.name == name:
                return table
        lowered = name.lower()
        for table in self.tables:
            if table.name.lower() == lowered:
                return table
        return None

    def mapped_model(self, name: str) -> Table | None:
        """The table a Prisma model named ``name`` is stored in, when ``@@map`` renamed it.

        >>> Schema((Table("members", (), prisma_model="Member"),)).mapped_model("Member").name
        'members'
        """
        return next((table for table in self.tables if table.prisma_model == name), None)

    def enum(self, name: str) -> EnumType | None:
        for enum in self.enums:
            if enum.name == name:
                return enum
        return None
