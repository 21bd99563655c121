"""A small relational schema model shared by column lineage, DDL generation and Prisma import.

Identifiers are stored exactly as PostgreSQL stores them (``"AIDraft"``, ``"sentAt"``: case kept,
quotes dropped). The built-in schema is the data model of the booking-conversion semantics.

Example:
    >>> schema = booking_schema()
    >>> schema.table("Message").column("sentAt").type
    'timestamp(3)'
    >>> schema.table("AIDraft").column("leadId").references
    ('Lead', 'id')
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def enum(self, name: str) -> EnumType | None:
        for enum in self.enums:
            if enum.name == name:
                return enum
        return None


def _timestamp(name: str, *, nullable: bool = False, default: str | None = None) -> Column:
    return Column(name, "timestamp(3)", nullable=nullable, default=default)


def _cuid_id() -> Column:
    # String @id @default(cuid()): Prisma Client generates the id, the column has no default.
    return Column("id", "text", nullable=False, primary_key=True, client_default="cuid")


def booking_schema() -> Schema:
    """The data model of SEMANTICS.md, as Prisma creates it on PostgreSQL."""
    now = "CURRENT_TIMESTAMP"
    return Schema(
        enums=(
            EnumType("CampaignResponseMode", ("SETTER_MANAGED", "AI_AUTO_SEND")),
            EnumType("AIDraftResponseDisposition", ("AUTO_SENT", "APPROVED", "EDITED")),
        ),
        tables=(
            Table("Client", (_cuid_id(),)),
            Table(
                "EmailCampaign",
                (
                    _cuid_id(),
                    Column("clientId", "text", nullable=False, references=("Client", "id")),
                    Column("responseMode", "CampaignResponseMode", nullable=False,
                           default="'SETTER_MANAGED'"),
                ),
            ),
            Table(
                "Lead",
                (
                    _cuid_id(),
                    Column("clientId", "text", nullable=False, references=("Client", "id")),
                    Column("emailCampaignId", "text", references=("EmailCampaign", "id")),
                    _timestamp("appointmentBookedAt", nullable=True),
                    Column("ghlAppointmentId", "text"),
                    Column("calendlyInviteeUri", "text", unique=True),
                    Column("calendlyScheduledEventUri", "text", unique=True),
                    Column("appointmentStatus", "text"),
                    _timestamp("appointmentCanceledAt", nullable=True),
                    _timestamp("createdAt", default=now),
                    _timestamp("updatedAt", default=now),
                ),
            ),
            Table(
                "AIDraft",
                (
                    _cuid_id(),
                    Column("leadId", "text", nullable=False, references=("Lead", "id")),
                    Column("channel", "text", nullable=False, default="'sms'"),
                    Column("status", "text", nullable=False, default="'pending'"),
                    Column("responseDisposition", "AIDraftResponseDisposition"),
                    _timestamp("createdAt", default=now),
                    _timestamp("updatedAt", default=now),
                ),
            ),
            Table(
                "Message",
                (
                    _cuid_id(),
                    Column("leadId", "text", nullable=False, references=("Lead", "id")),
                    Column("aiDraftId", "text", references=("AIDraft", "id")),
                    Column("direction", "text", nullable=False),
                    Column("channel", "text", nullable=False, default="'sms'"),
                    Column("body", "text", nullable=False),
                    _timestamp("sentAt"),
                    _timestamp("createdAt", default=now),
                ),
            ),
        ),
        indexes=(
            Index("Lead", ("clientId",)),
            Index("Lead", ("emailCampaignId",)),
            Index("AIDraft", ("leadId",)),
            Index("AIDraft", ("channel",)),
            Index("AIDraft", ("responseDisposition",)),
            Index("Message", ("aiDraftId",)),
            Index("Message", ("leadId",)),
            Index("Message", ("sentAt DESC",)),
        ),
    )
