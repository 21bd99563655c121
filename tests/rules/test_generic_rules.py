"""The generic rules (CG0xx, CG1xx) on small queries, positive and negative cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from convguard._check import check_source
from convguard._config import Config
from convguard._model import Diagnostic

ROOT = "/virtual"
# The sample application's own schema: CG003 needs a schema, and none is found above /virtual.
SCHEMA = str(Path(__file__).resolve().parents[2] / "fixtures" / "prisma" / "schema.prisma")


def check(text: str, suffix: str = "sql", **settings: object) -> list[Diagnostic]:
    settings.setdefault("schema", SCHEMA)
    config = Config(root=ROOT, **settings)  # type: ignore[arg-type]
    result = check_source(f"{ROOT}/q.{suffix}", text, config=config)
    assert not result.errors, result.errors
    return list(result.diagnostics)


def codes(text: str, suffix: str = "sql", **settings: object) -> list[str]:
    return [d.code for d in check(text, suffix, **settings)]


def ts(sql: str) -> str:
    return f"export async function f(to: Date, from: Date, n: number, q: string) {{\n" \
           f"  return prisma.$queryRaw`{sql}`;\n}}\n"


# -- CG001 ---------------------------------------------------------------------------------------

def test_invalid_sql_is_positioned_in_the_host_file() -> None:
    text = ts('SELECT ${n},\n    FROM "Lead" l')
    [diagnostic] = check(text, "ts")
    assert diagnostic.code == "CG001"
    assert (diagnostic.line, diagnostic.column) == (3, 5)
    assert 'syntax error at or near "FROM"' in diagnostic.message


def test_invalid_sql_at_end_of_input() -> None:
    [diagnostic] = check("SELECT * FROM t WHERE")
    assert diagnostic.code == "CG001" and diagnostic.line == 1


def test_invalid_sql_stops_other_rules() -> None:
    assert codes('SELECT , d."updatedAt" FROM "AIDraft" d WHERE d."updatedAt" > $1') == ["CG001"]


# -- CG003 ---------------------------------------------------------------------------------------

def test_unresolved_column_only_for_queries_touching_the_schema() -> None:
    assert codes('SELECT x.foo FROM "Elsewhere" x') == []
    assert codes('SELECT l.nope FROM "Lead" l') == ["CG003"]
    [diagnostic] = check('SELECT l.appointmentBookedAt FROM "Lead" l')
    assert diagnostic.column == 8
    assert diagnostic.fix == 'unquoted identifiers fold to lower case: write "appointmentBookedAt"'


MAPPED_SCHEMA = ('datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'
                 'model Member {\n  id String @id\n  @@map("members")\n}\n'
                 'model Invoice {\n  id String @id\n  dueAt DateTime @map("due_at")\n}\n')


@pytest.mark.parametrize(("sql", "reason", "fix"), [
    ('SELECT i."dueAt" FROM "Invoice" i', 'column "dueAt" does not exist in "Invoice"',
     'the Prisma field dueAt is stored as "due_at" (@map); SQL names the database\'s: '
     'write "due_at"'),
    ('SELECT m.id FROM "Member" m', 'relation "Member" does not exist',
     'the Prisma model Member is stored as "members" (@@map); SQL names the database\'s: '
     'write "members"'),
])
def test_unresolved_prisma_name_says_what_it_is_mapped_to(tmp_path: Path, sql: str, reason: str,
                                                          fix: str) -> None:
    """A Prisma name where PostgreSQL has the mapped one (42703 / 42P01 there) says the mapping;
    "quote camelCase names" misled: the name was quoted."""
    schema = tmp_path / "schema.prisma"
    schema.write_text(MAPPED_SCHEMA)
    [diagnostic] = check(sql, schema=str(schema))
    assert diagnostic.code == "CG003" and reason in diagnostic.message
    assert diagnostic.fix == fix
    assert codes('SELECT i.due_at FROM "Invoice" i JOIN members m ON m.id = i.id',
                 schema=str(schema)) == []


# -- CG101 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "fix"), [
    ("SELECT d.id FROM \"AIDraft\" d WHERE d.\"createdAt\" > now() - interval '${n} days'",
     "interval '1 day'"),
    ("SELECT m.id FROM \"Message\" m WHERE m.body LIKE '%${q}%'", "'%' || ${q} || '%'"),
    ('SELECT "${q}" FROM "Lead"', "identifiers cannot be parameters"),
])
def test_interpolation_inside_quotes(sql: str, fix: str) -> None:
    text = ts(sql)
    diagnostics = [d for d in check(text, "ts") if d.code == "CG101"]
    assert len(diagnostics) == 1
    diagnostic = diagnostics[0]
    assert fix in (diagnostic.fix or "")
    line = text.splitlines()[diagnostic.line - 1]
    assert line[diagnostic.column - 1:].startswith("${")


def test_interpolation_inside_a_comment() -> None:
    assert "CG101" in codes(ts('SELECT 1 FROM "Lead" -- ${q}\n'), "ts")


def test_real_parameters_are_not_flagged() -> None:
    assert codes(ts("SELECT d.id FROM \"AIDraft\" d WHERE d.channel = ${q} "
                    "AND d.\"createdAt\" > now() - (${n} * interval '1 day')"), "ts") == []


# -- CG102 ---------------------------------------------------------------------------------------

FLAGGED = [
    "${to} - (${n} * interval '1 day')",
    "${from} + interval '1 day'",
    "interval '1 day' + ${from}",
    "(${to}) - interval '7 days'",
    "${to} - make_interval(days => ${n})",
    "${to} - ${n} * interval '1 day'",
    "${to} - '1 day'::interval",
]
FINE = [
    "now() - (${n} * interval '1 day')",
    "${to}::timestamp - (${n} * interval '1 day')",
    "CAST(${to} AS timestamptz) - interval '1 day'",
    "(${to}::timestamptz AT TIME ZONE 'UTC') - interval '1 day'",
    "d.\"createdAt\" + (${n} * interval '1 day')",
    "${n} + 1",
]


@pytest.mark.parametrize("expression", FLAGGED)
@pytest.mark.parametrize(("driver", "sender", "cast"), [
    ("auto", "Prisma's adapter", "::timestamp "),  # the source uses $queryRaw: Prisma binds it
    ("prisma", "Prisma's adapter", "::timestamp "),
    ("node-postgres", "node-postgres", "::timestamptz ")])
def test_untyped_timestamp_operand_is_flagged(expression: str, driver: str, sender: str,
                                              cast: str) -> None:
    text = ts(f'SELECT d.id FROM "AIDraft" d WHERE d."createdAt" > {expression}')
    found = [d for d in check(text, "ts", driver=driver) if d.code == "CG102"]
    assert len(found) == 1, found
    assert sender in found[0].message and cast in (found[0].fix or "")
    assert not [d for d in check(text, "ts", driver="typed") if d.code == "CG102"]


@pytest.mark.parametrize("expression", FINE)
def test_typed_or_numeric_operands_are_fine(expression: str) -> None:
    text = ts(f'SELECT d.id FROM "AIDraft" d WHERE d."createdAt" > {expression}')
    assert "CG102" not in codes(text, "ts")


@pytest.mark.parametrize("expression", FLAGGED[:3])
def test_typed_driver_is_silent(expression: str) -> None:
    text = ts(f'SELECT d.id FROM "AIDraft" d WHERE d."createdAt" > {expression}')
    assert "CG102" not in codes(text, "ts", driver="typed")


def test_positional_parameters_of_a_sql_file() -> None:
    sql = 'SELECT d.id FROM "AIDraft" d WHERE d."createdAt" > $1 - make_interval(days => $2)'
    assert codes(sql) == ["CG102"]


# -- CG103 ---------------------------------------------------------------------------------------

def test_unsafe_raw_sql_only_when_built_from_values() -> None:
    text = ("export async function f(id: string) {\n"
            "  await prisma.$queryRawUnsafe('SELECT 1 FROM \"Lead\" WHERE id = ' + id);\n"
            "  await prisma.$queryRawUnsafe('SELECT 1');\n}\n")
    [diagnostic] = check(text, "ts")
    assert diagnostic.code == "CG103" and diagnostic.line == 2
    assert diagnostic.column == text.splitlines()[1].index("prisma") + 1


# -- CG104 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    'SELECT d.id FROM "AIDraft" d WHERE d."updatedAt" >= $1',
    'SELECT d.id FROM "AIDraft" d WHERE $1 < d."updatedAt"',
    'SELECT d.id FROM "AIDraft" d WHERE d."updatedAt" BETWEEN $1 AND $2',
    'SELECT l.id FROM "Lead" l JOIN "AIDraft" d ON d."leadId" = l.id AND d."updatedAt" > $1',
    'SELECT d.channel FROM "AIDraft" d GROUP BY 1 HAVING MAX(d."updatedAt") > $1',
    'SELECT COUNT(*) FILTER (WHERE d."updatedAt" > $1) FROM "AIDraft" d',
    'WITH x AS (SELECT d."updatedAt" AS at FROM "AIDraft" d) SELECT 1 FROM x WHERE x.at > $1',
    'SELECT t.id FROM "Elsewhere" t WHERE t."updatedAt" > $1',
])
def test_window_on_updated_at_is_flagged(sql: str) -> None:
    assert codes(sql) == ["CG104"]


@pytest.mark.parametrize("sql", [
    'SELECT d."updatedAt" FROM "AIDraft" d WHERE d."createdAt" > $1',
    'SELECT CASE WHEN d."updatedAt" > $1 THEN 1 END FROM "AIDraft" d',
    'SELECT d.id FROM "AIDraft" d WHERE d."updatedAt" IS NOT NULL',
])
def test_other_uses_of_updated_at_are_fine(sql: str) -> None:
    assert codes(sql) == []


def test_forbidden_columns_are_configurable() -> None:
    sql = 'SELECT d.id FROM "AIDraft" d WHERE d."createdAt" > $1 AND d."updatedAt" > $1'
    assert codes(sql, timestamp_columns_forbidden=("createdAt",)) == ["CG104"]
    assert codes(sql, timestamp_columns_forbidden=()) == []


# -- select / ignore -----------------------------------------------------------------------------

def test_select_and_ignore_from_config() -> None:
    sql = 'SELECT l.nope FROM "Lead" l WHERE l."updatedAt" > $1'
    assert codes(sql) == ["CG003", "CG104"]
    assert codes(sql, select=("CG1",)) == ["CG104"]
    assert codes(sql, ignore=("CG104",)) == ["CG003"]


# -- CG103 on a spliced SET ------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    'tx.$executeRawUnsafe("SET LOCAL statement_timeout = " + ms)',
    "tx.$executeRawUnsafe(`SET LOCAL statement_timeout = ${ms}`)",
    "tx.$executeRawUnsafe('SET LOCAL statement_timeout TO ' + String(ms))",
])
def test_unsafe_set_names_set_config_never_a_tagged_set(call: str) -> None:
    """The app's own fix for a 42601 (a SET with a bound parameter) must not be undone."""
    text = f"export async function f(tx: any, ms: number) {{\n  await {call};\n}}\n"
    [diagnostic] = check(text, "ts")
    assert diagnostic.code == "CG103"
    assert diagnostic.fix == ("tx.$executeRaw`SELECT set_config('statement_timeout', "
                              "${String(ms)}, true)` (the value is a bound parameter; a "
                              "tagged-template SET fails: PostgreSQL takes no parameter in SET, "
                              "42601)")
    tagged = diagnostic.fix.split("`")[1]
    assert not tagged.upper().startswith("SET")
    # the fix is clean under convguard itself
    fixed = f"export async function f(tx: any, ms: number) {{\n  await {diagnostic.fix.split(' (')[0]};\n}}\n"
    assert check(fixed, "ts") == []


def test_unsafe_session_set_is_not_local() -> None:
    text = ("export async function f(prisma: any, zone: string) {\n"
            "  await prisma.$executeRawUnsafe(`SET TIME ZONE '${zone}'`);\n}\n")
    [diagnostic] = check(text, "ts")
    assert diagnostic.code == "CG103" and "set_config" not in (diagnostic.fix or "")
    text = ("export async function f(prisma: any, path: string) {\n"
            "  await prisma.$executeRawUnsafe('SET search_path = ' + path);\n}\n")
    [diagnostic] = check(text, "ts")
    assert "set_config('search_path', ${String(path)}, false)" in (diagnostic.fix or "")
