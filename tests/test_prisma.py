"""The Prisma schema parser: one case per construct, one per error, and the sample app's schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from convguard._ddl import schema_for_tables
from convguard._errors import SchemaError
from convguard._prisma import parse_prisma_schema, schema_from_config
from convguard._schema import Column, EnumType, Index
from convguard.profiles.booking_conversion.schema import booking_schema

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "prisma" / "schema.prisma"
BOOKING_TABLES = ("Client", "EmailCampaign", "Lead", "AIDraft", "Message")
HEADER = 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'
ENUMS = "enum Mode {\n  A\n  B @map(\"b\")\n}\n"


def parse(body: str):
    return parse_prisma_schema(HEADER + ENUMS + body, path="schema.prisma")


def table_with(declaration: str, *, extra: str = "") -> str:
    return f"model T {{\n  id String @id\n  {declaration}\n{extra}}}\n"


# (field declaration inside model T, the column it must become)
COLUMN_CASES = [
    ("x String", Column("x", "text", nullable=False)),
    ("x String?", Column("x", "text")),
    ("x Int", Column("x", "integer", nullable=False)),
    ("x BigInt?", Column("x", "bigint")),
    ("x Float?", Column("x", "double precision")),
    ("x Decimal?", Column("x", "decimal(65,30)")),
    ("x Boolean?", Column("x", "boolean")),
    ("x DateTime?", Column("x", "timestamp(3)")),
    ("x Json?", Column("x", "jsonb")),
    ("x Bytes?", Column("x", "bytea")),
    ("x String[]", Column("x", "text[]")),
    ("x Int[]", Column("x", "integer[]")),
    ("x Mode?", Column("x", "Mode")),
    ("x Mode[]", Column("x", "Mode[]")),
    ('x Unsupported("tsvector")?', Column("x", "tsvector")),
    ('x String @default("sms")', Column("x", "text", nullable=False, default="'sms'")),
    ('x String @default("it\'s \\"q\\"")',
     Column("x", "text", nullable=False, default="'it''s \"q\"'")),
    ("x Int @default(5)", Column("x", "integer", nullable=False, default="5")),
    ("x Int @default(-3)", Column("x", "integer", nullable=False, default="-3")),
    ("x Float @default(1.5)", Column("x", "double precision", nullable=False, default="1.5")),
    ("x Decimal @default(0.10)", Column("x", "decimal(65,30)", nullable=False, default="0.10")),
    ("x Boolean @default(false)", Column("x", "boolean", nullable=False, default="false")),
    ("x Boolean @default(true)", Column("x", "boolean", nullable=False, default="true")),
    ('x Json @default("{}")', Column("x", "jsonb", nullable=False, default="'{}'")),
    ("x DateTime @default(now())",
     Column("x", "timestamp(3)", nullable=False, default="CURRENT_TIMESTAMP")),
    ("x DateTime @updatedAt",
     Column("x", "timestamp(3)", nullable=False, default="CURRENT_TIMESTAMP")),
    ("x Mode @default(B)", Column("x", "Mode", nullable=False, default="'b'")),
    # Prisma Client generates these in the app: no database default, a client default to apply.
    ("x String @default(cuid())", Column("x", "text", nullable=False, client_default="cuid")),
    ("x String @default(uuid())", Column("x", "text", nullable=False, client_default="uuid")),
    ("x String @default(cuid(2))", Column("x", "text", nullable=False, client_default="cuid")),
    ('x String @db.Uuid @default(dbgenerated("gen_random_uuid()"))',
     Column("x", "uuid", nullable=False, default="gen_random_uuid()")),
    ("x String[] @default([])", Column("x", "text[]", default="ARRAY[]::TEXT[]")),
    ("x String[] @default(dbgenerated(\"'{}'\"))", Column("x", "text[]", default="'{}'")),
    ('x String[] @default(["a", "b"])', Column("x", "text[]", default="ARRAY['a', 'b']::TEXT[]")),
    ("x Mode[] @default([A])", Column("x", "Mode[]", default="ARRAY['A']::\"Mode\"[]")),
    ("x String @unique", Column("x", "text", nullable=False, unique=True)),
    ('x String? @unique(map: "custom_name")', Column("x", "text", unique=True)),
    ('x String @map("col_x")', Column("col_x", "text", nullable=False)),
    ("x String @ignore", Column("x", "text", nullable=False)),
    ("x String @db.Text", Column("x", "text", nullable=False)),
    ("x String @db.VarChar(191)", Column("x", "varchar(191)", nullable=False)),
    ("x String @db.VarChar", Column("x", "varchar", nullable=False)),
    ("x String @db.Char(2)", Column("x", "char(2)", nullable=False)),
    ("x DateTime @db.Timestamptz(6)", Column("x", "timestamptz(6)", nullable=False)),
    ("x DateTime @db.Timestamp(3)", Column("x", "timestamp(3)", nullable=False)),
    ("x DateTime @db.Date", Column("x", "date", nullable=False)),
    ("x Decimal @db.Decimal(10, 2)", Column("x", "decimal(10,2)", nullable=False)),
    ("x Int @db.SmallInt", Column("x", "smallint", nullable=False)),
    ("x Float @db.Real", Column("x", "real", nullable=False)),
    ("x Json @db.Json", Column("x", "json", nullable=False)),
    ("x String @db.VarChar(40) @default(\"a\") @map(\"x_col\") // trailing comment",
     Column("x_col", "varchar(40)", nullable=False, default="'a'")),
]


@pytest.mark.parametrize(("declaration", "expected"), COLUMN_CASES, ids=[c[0] for c in COLUMN_CASES])
def test_field_becomes_column(declaration: str, expected: Column) -> None:
    table = parse(table_with(declaration)).table("T")
    assert table.columns[1] == expected


@pytest.mark.parametrize(("declaration", "expected_type"), [
    ("id Int @id @default(autoincrement())", "serial"),
    ("id BigInt @id @default(autoincrement())", "bigserial"),
    ("id Int @id @default(autoincrement()) @db.SmallInt", "smallserial"),
])
def test_autoincrement_becomes_serial(declaration: str, expected_type: str) -> None:
    column = parse(f"model T {{\n  {declaration}\n}}\n").table("T").column("id")
    assert column == Column("id", expected_type, nullable=False, primary_key=True)


# (model T body after "id String @id", Schema.indexes, columns that must be unique / primary keys)
BLOCK_CASES = [
    ("a String\n  b String\n  @@index([a, b(sort: Desc)])",
     (Index("T", ("a", "b DESC")),), set()),
    ("a String\n  @@index([a], map: \"my_idx\", type: BTree)", (Index("T", ("a",)),), set()),
    ("a String\n  @@index([a], type: Hash)", (), set()),
    ("a Json\n  @@index([a(ops: JsonbPathOps)], type: Gin)", (), set()),
    ("a String\n  b String\n  @@unique([a, b])", (Index("T", ("a", "b"), unique=True),), set()),
    ("a String\n  @@unique([a])", (), {"a"}),
    ('a String @map("a_col")\n  @@index([a])', (Index("T", ("a_col",)),), set()),
    ("a String\n  @@index(\n    fields: [a],\n    name: \"byA\"\n  )", (Index("T", ("a",)),), set()),
]


@pytest.mark.parametrize(("body", "indexes", "unique"), BLOCK_CASES, ids=[c[0] for c in BLOCK_CASES])
def test_block_attributes(body: str, indexes: tuple[Index, ...], unique: set[str]) -> None:
    schema = parse(table_with(body))
    assert schema.indexes == indexes
    assert {c.name for c in schema.table("T").columns if c.unique} == unique


def test_composite_id_and_table_map() -> None:
    schema = parse('model T {\n  a String\n  b Int\n  c String?\n  @@id([a, b])\n'
                   '  @@map("things")\n}\n')
    table = schema.table("things")
    assert [(c.name, c.primary_key, c.nullable) for c in table.columns] == [
        ("a", True, False), ("b", True, False), ("c", False, True)]


def test_mapped_names_remember_the_prisma_names() -> None:
    """``@map``/``@@map``: the schema keeps the Prisma names for hints (a user writes ``dueAt``
    where the database has ``due_at``), never for equality."""
    schema = parse('model Invoice {\n  id String @id\n  dueAt DateTime @map("due_at")\n'
                   '  paidAt DateTime?\n  @@map("invoices")\n}\n')
    table = schema.table("invoices")
    assert table.prisma_model == "Invoice" and schema.mapped_model("Invoice") is table
    assert [(c.name, c.prisma_field) for c in table.columns] == [
        ("id", None), ("due_at", "dueAt"), ("paidAt", None)]
    assert table.mapped_field("dueAt") is table.columns[1]
    assert table.mapped_field("paidAt") is None and schema.mapped_model("invoices") is None
    assert table.columns[1] == Column("due_at", "timestamp(3)", nullable=False)


def test_enum_maps_and_comments() -> None:
    schema = parse_prisma_schema(
        "/// doc comment\nenum Role { // trailing\n  ADMIN @map(\"admin\")\n  // a comment\n"
        "  USER\n  @@map(\"role\")\n}\nmodel U {\n  id String @id\n  r Role @default(ADMIN)\n}\n",
        path="schema.prisma")
    assert schema.enums == (EnumType("role", ("admin", "USER")),)
    assert schema.table("U").column("r") == Column("r", "role", nullable=False, default="'admin'")


def test_generator_and_datasource_blocks_are_skipped() -> None:
    schema = parse_prisma_schema(
        'generator client {\n  provider = "prisma-client-js"\n  binaryTargets = ["native", '
        '"debian-openssl-3.0.x"]\n}\ndatasource db {\n  provider   = "postgres"\n'
        '  url        = env("DATABASE_URL")\n  extensions = [pgcrypto, postgis(version: "3")]\n}\n',
        path="schema.prisma")
    assert schema.tables == ()


RELATIONS = """
model Parent {
  id       String  @id
  children Child[]
  others   Child[] @relation("other")
}
model Child {
  id        String  @id
  parentId  String  @map("parent_id")
  optId     String?
  otherId   String?
  cascadeId String
  parent    Parent  @relation(fields: [parentId], references: [id])
  opt       Parent2? @relation(fields: [optId], references: [key])
  other     Parent? @relation("other", fields: [otherId], references: [id])
  cascade   Parent2 @relation("c", fields: [cascadeId], references: [key], onDelete: Cascade, onUpdate: NoAction)
  @@map("children")
}
model Parent2 {
  key      String  @id @map("the_key")
  opts     Child[]
  cascades Child[] @relation("c")
  @@map("parents2")
}
"""


def test_relations_become_foreign_keys_in_dependency_order() -> None:
    schema = parse(RELATIONS)
    assert [t.name for t in schema.tables] == ["Parent", "parents2", "children"]
    children = schema.table("children")
    assert children.column_names == ("id", "parent_id", "optId", "otherId", "cascadeId")
    fks = {c.name: (c.references, c.on_delete, c.on_update) for c in children.columns if c.references}
    assert fks == {
        "parent_id": (("Parent", "id"), None, None),
        "optId": (("parents2", "the_key"), None, None),
        "otherId": (("Parent", "id"), None, None),
        "cascadeId": (("parents2", "the_key"), "CASCADE", "NO ACTION"),
    }


def test_required_relation_over_optional_field_restricts() -> None:
    schema = parse("model P {\n  id String @id\n  cs C[]\n}\nmodel C {\n  id String @id\n"
                   "  pId String?\n  p P @relation(fields: [pId], references: [id])\n}\n")
    assert schema.table("C").column("pId").on_delete == "RESTRICT"


def test_implicit_many_to_many_creates_join_table() -> None:
    schema = parse("model Tag {\n  id Int @id @default(autoincrement())\n  posts Post[]\n}\n"
                   "model Post {\n  id String @id\n  tags Tag[]\n}\n"
                   "model User {\n  id String @id\n  follows User[] @relation(\"f\")\n"
                   "  followers User[] @relation(\"f\")\n}\n")
    join = schema.table("_PostToTag")
    assert join.columns == (
        Column("A", "text", nullable=False, primary_key=True, references=("Post", "id"),
               on_delete="CASCADE"),
        Column("B", "integer", nullable=False, primary_key=True, references=("Tag", "id"),
               on_delete="CASCADE"),
    )
    assert schema.table("_f").column("A").references == ("User", "id")
    assert Index("_PostToTag", ("B",)) in schema.indexes


# (schema text after the header, line of the error, fragment of the message)
ERROR_CASES = [
    ('datasource db {\n  provider = "mysql"\n}\n', 2, 'provider "mysql" is not supported'),
    ("model T {\n  id String @id\n  x Strin\n}\n", 3, 'unknown type "Strin"'),
    ("model T {\n  id String @id\n", 1, 'model "T" is never closed'),
    ("model T {\n  id String @id @foo\n}\n", 2, 'unknown attribute "@foo"'),
    ("model T {\n  id String @id\n  @@foo([id])\n}\n", 3, 'unknown attribute "@@foo"'),
    ("model T {\n  id String @id\n  @@fulltext([id])\n}\n", 3, "@@fulltext"),
    ('model T {\n  id String @id @default("abc)\n}\n', 2, "unterminated string"),
    ("model T {\n  id String @id @default(now(\n}\n", 2, "'(' is never closed"),
    ("model T {\n  id String @id @db.Foo\n}\n", 2, 'unknown native type "@db.Foo"'),
    ("model T {\n  id Int @id @db.VarChar(10)\n}\n", 2, "does not fit a Int field"),
    ("model T {\n  id String @id @db.VarChar(a)\n}\n", 2, "takes whole numbers"),
    ("model T {\n  id String @id\n  d Decimal @db.Decimal(1, 2, 3)\n}\n", 3, "at most 2"),
    ("model T {\n  id String @id\n  x String[]?\n}\n", 3, "a list cannot be optional"),
    ("model T {\n  id String @id @default(autoincrement())\n}\n", 2, "autoincrement() on String"),
    ("model T {\n  id String @id @default(now())\n}\n", 2, "now() on String"),
    ('model T {\n  id Int @id @default("x")\n}\n', 2, "wrong type"),
    ("enum Mode {\n  A\n}\nmodel T {\n  id String @id\n  m Mode @default(C)\n}\n", 6,
     "not a value of enum Mode"),
    ("model T {\n  id String @id @default(sequence())\n}\n", 2, "unsupported default function"),
    ("model T {\n  id String? @id\n}\n", 2, "must be required"),
    ("model T {\n  id String @id\n}\nmodel T {\n  id String @id\n}\n", 4, "declared twice"),
    ("model T {\n  id String @id\n  id Int\n}\n", 3, 'field "id" is declared twice'),
    ("view V {\n  id String\n}\n", 1, '"view" blocks are not supported'),
    ("type Address {\n  street String\n}\n", 1, '"type" blocks are not supported'),
    ("table T {\n}\n", 1, 'unknown block "table"'),
    ("model T {\n  id String @id $\n}\n", 2, "unexpected character '$'"),
    ("model T {\n  id String @id  x String\n}\n", 2, "unexpected 'x'"),
    ('model T {\n  id String @id\n  @@schema("auth")\n}\n', 3, "multi-schema"),
    ("model T {\n  id String @id\n  x String\n  @@index([y])\n}\n", 4, 'names "y"'),
    ("model T {\n  id String @id\n  x String\n  @@index([x(length: 10)])\n}\n", 4,
     "unsupported index option"),
    ("model T {\n  id String @id\n  @@index([id], clustered: true)\n}\n", 3, 'no argument "clustered"'),
    ("model P {\n  id String @id\n  a String\n  cs C[]\n  @@unique([id, a])\n}\n"
     "model C {\n  id String @id\n  pId String\n  pA String\n"
     "  p P @relation(fields: [pId, pA], references: [id, a])\n}\n", 11, "composite foreign key"),
    ("model P {\n  id String @id\n  cs C[]\n}\nmodel C {\n  id String @id\n  pId String\n"
     "  p P @relation(fields: [pId])\n}\n", 8, "needs both fields and references"),
    ("model P {\n  id String @id\n  cs C[]\n}\nmodel C {\n  id String @id\n  pId String\n"
     "  p P @relation(fields: [pId], references: [id], onDelete: Explode)\n}\n", 8,
     "invalid referential action"),
    ("model P {\n  id String @id\n  cs C[]\n}\nmodel C {\n  id String @id\n  pId String\n"
     "  p P @relation(fields: [pId], references: [id]) @map(\"x\")\n}\n", 8,
     'unknown attribute "@map"'),
    ("model T {\n  id String @id @relation(fields: [id], references: [id])\n}\n", 2,
     "not a relation field"),
    ("enum E {\n  A @foo\n}\n", 2, 'unknown attribute "@foo"'),
    ("model A {\n  id String @id\n}\nmodel B {\n  id String @id\n  @@map(\"A\")\n}\n", 4,
     'two models map to table "A"'),
    ("model T {\n  id String @id @default(]\n}\n", 2, "unexpected ']'"),
    ("model T {\n  id String @id\n  x String @updatedAt\n}\n", 3, "@updatedAt needs a DateTime"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), ERROR_CASES, ids=[c[2] for c in ERROR_CASES])
def test_errors_name_the_line_and_what_to_do(text: str, line: int, fragment: str) -> None:
    with pytest.raises(SchemaError) as caught:
        parse_prisma_schema(text, path="schema.prisma")
    error = caught.value
    assert fragment in error.message
    assert (error.path, error.line) == ("schema.prisma", line)
    assert error.hint


def test_fixture_restricted_to_the_query_tables_is_the_booking_schema() -> None:
    parsed = schema_from_config(FIXTURE)
    assert {"User", "audit_logs", "_EmailCampaignToUser"} <= {t.name for t in parsed.tables}
    restricted = schema_for_tables(parsed, ["Message", "AIDraft"])
    booking = booking_schema()
    assert [t.name for t in restricted.tables] == list(BOOKING_TABLES)
    for table in booking.tables:
        parsed_table = restricted.table(table.name)
        for column in table.columns:
            # Every attribute: name, type, nullability, default, key, unique, FK and its actions.
            assert parsed_table.column(column.name) == column, (table.name, column.name)
    assert restricted.enums == booking.enums
    assert restricted.indexes == booking.indexes
    # The app's extra columns exist, and nothing the query does not reach survives.
    assert restricted.table("Lead").has_column("email")
    assert restricted.table("Lead").column("tags").type == "text[]"
    assert restricted.table("AIDraft").column("content") == Column("content", "text", nullable=False)


def test_schema_from_config_reads_a_folder_of_files(tmp_path: Path) -> None:
    (tmp_path / "schema.prisma").write_text(HEADER + ENUMS, encoding="utf-8")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "t.prisma").write_text(table_with("m Mode @default(A)"), encoding="utf-8")
    schema = schema_from_config(tmp_path)
    assert schema.table("T").column("m").default == "'A'"


def test_schema_from_config_errors(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="not found"):
        schema_from_config(tmp_path / "missing.prisma")
    with pytest.raises(SchemaError, match=r"no \.prisma file"):
        schema_from_config(tmp_path)
    bad = tmp_path / "bad.prisma"
    bad.write_text("model T {\n  id Nope @id\n}\n", encoding="utf-8")
    with pytest.raises(SchemaError) as caught:
        schema_from_config(bad)
    assert str(caught.value).startswith(f"{bad}:2: ")
