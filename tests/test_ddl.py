"""DDL generation: Prisma's spelling, safe quoting, table selection, and a real PostgreSQL accepting it.

The PostgreSQL tests load each schema into its own namespace of a throwaway database, on the
embedded PostgreSQL 18 and on the system's server (a second major version), and read the
catalog back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from convguard._ddl import (
    constraint_name,
    index_name,
    primary_key_name,
    quote_ident,
    quote_literal,
    render_type,
    schema_ddl,
    schema_for_tables,
)
from convguard._errors import SchemaError
from convguard._prisma import schema_from_config
from convguard._schema import Column, EnumType, Index, Schema, Table
from convguard.profiles.booking_conversion.schema import booking_schema

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "prisma" / "schema.prisma"
BOOKING_TABLES = ["Client", "EmailCampaign", "Lead", "AIDraft", "Message"]


# --- DDL text -------------------------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    'CREATE TYPE "CampaignResponseMode" AS ENUM (\'SETTER_MANAGED\', \'AI_AUTO_SEND\');',
    'CREATE TYPE "AIDraftResponseDisposition" AS ENUM (\'AUTO_SENT\', \'APPROVED\', \'EDITED\');',
    '    "responseMode" "CampaignResponseMode" NOT NULL DEFAULT \'SETTER_MANAGED\',',
    '    "channel" TEXT NOT NULL DEFAULT \'sms\',',
    '    "sentAt" TIMESTAMP(3) NOT NULL,',
    '    "appointmentBookedAt" TIMESTAMP(3),',
    '    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,',
    '    CONSTRAINT "AIDraft_pkey" PRIMARY KEY ("id")',
    'CREATE UNIQUE INDEX "Lead_calendlyInviteeUri_key" ON "Lead"("calendlyInviteeUri");',
    'CREATE INDEX "Lead_clientId_idx" ON "Lead"("clientId");',
    'CREATE INDEX "Message_sentAt_idx" ON "Message"("sentAt" DESC);',
    'ALTER TABLE "AIDraft" ADD CONSTRAINT "AIDraft_leadId_fkey" FOREIGN KEY ("leadId") '
    'REFERENCES "Lead"("id") ON DELETE RESTRICT ON UPDATE CASCADE;',
    'ALTER TABLE "Message" ADD CONSTRAINT "Message_aiDraftId_fkey" FOREIGN KEY ("aiDraftId") '
    'REFERENCES "AIDraft"("id") ON DELETE SET NULL ON UPDATE CASCADE;',
])
def test_booking_ddl_is_spelled_like_prisma(statement: str) -> None:
    assert statement in schema_ddl(booking_schema())


def test_statements_come_in_prisma_order() -> None:
    headings = [line for line in schema_ddl(booking_schema()).splitlines() if line.startswith("--")]
    order = ["-- CreateEnum", "-- CreateTable", "-- CreateIndex", "-- AddForeignKey"]
    assert headings == sorted(headings, key=order.index)


def test_join_tables_and_composite_keys_use_prisma_names() -> None:
    join = Table("_PostToTag", (
        Column("A", "text", nullable=False, primary_key=True, references=("Post", "id")),
        Column("B", "integer", nullable=False, primary_key=True, references=("Tag", "id")),
    ))
    ddl = schema_ddl(Schema((join,), indexes=(Index("_PostToTag", ("B",)),)))
    assert '    CONSTRAINT "_PostToTag_AB_pkey" PRIMARY KEY ("A","B")' in ddl
    assert 'CREATE INDEX "_PostToTag_B_index" ON "_PostToTag"("B");' in ddl
    pair = Table("Pair", (Column("a", "text", nullable=False, primary_key=True),
                          Column("b", "text", nullable=False, primary_key=True)))
    ddl = schema_ddl(Schema((pair,), indexes=(Index("Pair", ("b", "a DESC"), unique=True),)))
    assert 'CONSTRAINT "Pair_pkey" PRIMARY KEY ("a","b")' in ddl
    assert 'CREATE UNIQUE INDEX "Pair_b_a_key" ON "Pair"("b", "a" DESC);' in ddl


def test_explicit_referential_actions() -> None:
    schema = Schema((
        Table("P", (Column("id", "text", nullable=False, primary_key=True),)),
        Table("C", (Column("p", "text", references=("P", "id"), on_delete="CASCADE",
                           on_update="NO ACTION"),)),
    ))
    assert schema_ddl(schema).endswith(
        'REFERENCES "P"("id") ON DELETE CASCADE ON UPDATE NO ACTION;')


@pytest.mark.parametrize(("function", "value", "expected"), [
    (quote_ident, "AIDraft", '"AIDraft"'),
    (quote_ident, 'a"b', '"a""b"'),
    (quote_literal, "it's", "'it''s'"),
    (quote_literal, "back\\slash", "'back\\slash'"),
])
def test_quoting(function, value: str, expected: str) -> None:
    assert function(value) == expected


@pytest.mark.parametrize("function", [quote_ident, quote_literal])
def test_quoting_refuses_nul(function) -> None:
    with pytest.raises(SchemaError):
        function("a\x00b")


@pytest.mark.parametrize("column", [
    Column("x", "text; DROP TABLE t"),
    Column("x", "text", default="'a'); DROP TABLE t; --"),
    Column("x", "text", default="'a' -- comment"),
    Column("x", "text", default="'unterminated"),
    Column("x", "text", default="f(1))"),
    Column("x", "text", default=""),
    Column("x", "text", references=("T", "x"), on_delete="DROP"),
])
def test_unsafe_types_defaults_and_actions_are_refused(column: Column) -> None:
    with pytest.raises(SchemaError):
        schema_ddl(Schema((Table("T", (column,)),)))


def test_safe_defaults_with_tricky_literals_pass() -> None:
    default = "'a;b--c/*d''e'"
    ddl = schema_ddl(Schema((Table("T", (Column("x", "text", default=default),)),)))
    assert f'"x" TEXT DEFAULT {default}' in ddl


def test_render_type() -> None:
    schema = Schema((), enums=(EnumType("Mode", ("A",)),))
    assert render_type(schema, "Mode[]") == '"Mode"[]'
    assert render_type(schema, "double precision") == "DOUBLE PRECISION"
    assert render_type(schema, "timestamp(3) without time zone") == "TIMESTAMP(3) WITHOUT TIME ZONE"
    assert render_type(schema, "geometry(Point, 4326)") == "geometry(Point, 4326)"


def test_constraint_names_are_cut_to_63_bytes_like_prisma() -> None:
    long_table = "T" * 70
    assert constraint_name(long_table, ["col"], "_idx") == "T" * 59 + "_idx"
    assert len(constraint_name("Lead", ["a" * 60], "_fkey")) == 63


def test_schema_for_tables_keeps_what_the_query_reaches() -> None:
    schema = booking_schema()
    part = schema_for_tables(schema, ["Message"])
    assert [t.name for t in part.tables] == BOOKING_TABLES
    assert part == schema
    client = schema_for_tables(schema, ["client"])
    assert [t.name for t in client.tables] == ["Client"]
    assert client.enums == () and client.indexes == ()
    with pytest.raises(SchemaError, match='no table "Nope"') as caught:
        schema_for_tables(schema, ["Nope"])
    assert "Lead" in (caught.value.hint or "")


# --- a real PostgreSQL --------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["embedded", "system"])
def database(request: pytest.FixtureRequest) -> Iterator[psycopg.Connection]:
    """A fresh database on PostgreSQL 18 (embedded wheel) and on the system's server (here 15)."""
    from convguard._errors import DatabaseError
    from convguard.kit.server import start_server
    from convguard.kit.server.databases import create_database

    try:
        server = start_server(request.param)
    except DatabaseError as error:
        pytest.skip(f"no {request.param} PostgreSQL here: {error}")
    with server, create_database(server, prefix="convguard_ddl") as created:
        with created.connect() as connection:
            yield connection


def _load(connection: psycopg.Connection, namespace: str, schema: Schema) -> None:
    connection.execute(f"CREATE SCHEMA {quote_ident(namespace)}")
    connection.execute(f"SET search_path TO {quote_ident(namespace)}")
    connection.execute(schema_ddl(schema))


SCHEMAS = {
    "booking": booking_schema,
    "prisma": lambda: schema_from_config(FIXTURE),
    "prisma_restricted": lambda: schema_for_tables(schema_from_config(FIXTURE), ["Message"]),
}


@pytest.fixture(scope="module")
def loaded(database: psycopg.Connection) -> dict[str, Schema]:
    schemas = {name: make() for name, make in SCHEMAS.items()}
    for name, schema in schemas.items():
        _load(database, name, schema)
    return schemas


COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
"""

# convguard's type spelling -> PostgreSQL's format_type()
PG_TYPES = {
    "text": "text", "timestamp(3)": "timestamp(3) without time zone", "text[]": "text[]",
    "varchar(191)": "character varying(191)", "varchar(64)": "character varying(64)",
    "jsonb": "jsonb", "decimal(10,2)": "numeric(10,2)", "bigserial": "bigint",
    "timestamptz(6)": "timestamp(6) with time zone",
}


def _catalog_columns(connection: psycopg.Connection, namespace: str) -> dict:
    connection.execute(f"SET search_path TO {quote_ident(namespace)}")
    rows = connection.execute(COLUMNS_SQL, (namespace,)).fetchall()
    return {(table, column): (type_, not_null, default) for table, column, type_, not_null, default in rows}


def _strip_cast(default: str | None) -> str | None:
    return None if default is None else re.sub(r'::[\w" ]+(\(\d+\))?(\[\])?$', "", default)


@pytest.mark.parametrize("namespace", list(SCHEMAS))
def test_postgres_creates_the_columns(database: psycopg.Connection, loaded: dict[str, Schema],
                                      namespace: str) -> None:
    schema = loaded[namespace]
    catalog = _catalog_columns(database, namespace)
    expected = {}
    for table in schema.tables:
        for column in table.columns:
            type_ = quote_ident(column.type) if schema.enum(column.type) else PG_TYPES[column.type]
            default = column.default
            if column.type == "bigserial":
                default = f"nextval('{table.name}_{column.name}_seq'::regclass)"
            expected[(table.name, column.name)] = (type_, not column.nullable, default)
    actual = {key: (type_, not_null, default if default and "nextval" in default
                    else _strip_cast(default))
              for key, (type_, not_null, default) in catalog.items()}
    assert actual == expected


def test_postgres_shows_prisma_types_and_defaults(database: psycopg.Connection,
                                                  loaded: dict[str, Schema]) -> None:
    catalog = _catalog_columns(database, "prisma")
    assert catalog[("Message", "sentAt")] == ("timestamp(3) without time zone", True, None)
    assert catalog[("Lead", "updatedAt")] == ("timestamp(3) without time zone", True, "CURRENT_TIMESTAMP")
    assert catalog[("EmailCampaign", "responseMode")] == (
        '"CampaignResponseMode"', True, "'SETTER_MANAGED'::\"CampaignResponseMode\"")
    assert catalog[("AIDraft", "channel")] == ("text", True, "'sms'::text")
    assert catalog[("Lead", "tags")] == ("text[]", False, None)
    assert catalog[("audit_logs", "id")] == (
        "bigint", True, "nextval('audit_logs_id_seq'::regclass)")
    assert catalog[("audit_logs", "created_at")][0] == "timestamp(6) with time zone"


@pytest.mark.parametrize("namespace", list(SCHEMAS))
def test_postgres_creates_the_indexes(database: psycopg.Connection, loaded: dict[str, Schema],
                                      namespace: str) -> None:
    rows = database.execute("SELECT tablename, indexname, indexdef FROM pg_indexes "
                            "WHERE schemaname = %s", (namespace,)).fetchall()
    names = {(table, name) for table, name, _ in rows}
    schema = loaded[namespace]
    expected = {(t.name, primary_key_name(t)) for t in schema.tables}
    expected |= {(t.name, f"{t.name}_{c.name}_key") for t in schema.tables for c in t.columns
                 if c.unique}
    expected |= {(i.table, index_name(schema, i)) for i in schema.indexes}
    assert names == expected
    definitions = {name: definition for _, name, definition in rows}
    assert definitions["Message_sentAt_idx"].endswith('USING btree ("sentAt" DESC)')
    assert definitions["Lead_calendlyInviteeUri_key"].startswith("CREATE UNIQUE INDEX")
    if namespace == "prisma":
        assert definitions["audit_logs_actor_id_created_at_idx"].endswith(
            "USING btree (actor_id, created_at DESC)")
        # Prisma's own names for an implicit many-to-many join table.
        assert {"_EmailCampaignToUser_AB_pkey", "_EmailCampaignToUser_B_index"} <= set(definitions)


@pytest.mark.parametrize("namespace", list(SCHEMAS))
def test_postgres_creates_enums_and_foreign_keys(database: psycopg.Connection,
                                                 loaded: dict[str, Schema], namespace: str) -> None:
    enums = database.execute(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e "
        "JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = %s GROUP BY t.typname", (namespace,)).fetchall()
    assert dict(enums) == {e.name: list(e.values) for e in loaded[namespace].enums}
    fks = dict(database.execute(
        "SELECT c.conname, c.confdeltype::text || c.confupdtype::text FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s AND c.contype = 'f'",
        (namespace,)).fetchall())
    # r = restrict, n = set null, c = cascade (delete action, then update action)
    assert fks["AIDraft_leadId_fkey"] == "rc"
    assert fks["Lead_emailCampaignId_fkey"] == "nc"
    assert fks["Message_aiDraftId_fkey"] == "nc"
    if namespace == "prisma":
        assert fks["User_clientId_fkey"] == "cc"
        assert fks["_EmailCampaignToUser_A_fkey"] == "cc"


def test_hostile_identifiers_and_literals_stay_data(database: psycopg.Connection) -> None:
    table = 'x"; DROP TABLE "Lead"; --'
    schema = Schema(
        (Table(table, (Column("id", "text", nullable=False, primary_key=True),
                       Column("v'", "text", default=quote_literal("'); DROP TABLE \"Lead\"; --")),)),),
        enums=(EnumType('e"', ("it's",)),),
        indexes=(Index(table, ("v'",)),),
    )
    _load(database, "hostile", schema)
    database.execute(f"INSERT INTO {quote_ident(table)} (id) VALUES ('1')")
    row = database.execute(f'SELECT "v\'" FROM {quote_ident(table)}').fetchone()
    assert row == ("'); DROP TABLE \"Lead\"; --",)
    assert database.execute("SELECT to_regclass('booking.\"Lead\"') IS NOT NULL").fetchone() == (True,)
