"""Schema discovery: configured, else found from the checked file upwards, else none (no guess)."""

from __future__ import annotations

import doctest
from collections.abc import Iterator
from pathlib import Path

import pytest

from convguard import _schema_discovery
from convguard._check import check_source
from convguard._config import Config, QueryConfig, parse_config
from convguard._errors import SchemaError
from convguard._schema_discovery import (
    NO_SCHEMA_NOTE,
    clear_schema_cache,
    find_schema,
    locate_schema,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SCHEMA = ROOT / "fixtures" / "prisma" / "schema.prisma"
DATASOURCE = 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_schema_cache()
    yield
    clear_schema_cache()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An application repository (its root holds ``.git``: the search never leaves it)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "src" / "actions").mkdir(parents=True)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def model(name: str, *fields: str) -> str:
    return f"model {name} {{\n  id Int @id\n" + "".join(f"  {f}\n" for f in fields) + "}\n"


def tables(path: Path, config: Config | None = None) -> list[str]:
    schema = find_schema(str(path), config or Config(root=str(path.parent)))
    assert schema is not None
    return sorted(table.name for table in schema.tables)


def test_doctests() -> None:
    failures, tried = doctest.testmod(_schema_discovery)
    assert tried and not failures


def test_prisma_schema_found_from_the_checked_file_upwards(repo: Path) -> None:
    write(repo / "prisma" / "schema.prisma", DATASOURCE + model("Invoice"))
    checked = repo / "src" / "actions" / "a.ts"
    location = locate_schema(str(checked), Config(root=str(repo)))
    assert location is not None and location.origin == "found"
    assert location.path == str(repo / "prisma" / "schema.prisma")
    assert tables(checked) == ["Invoice"]


def test_the_nearest_schema_wins(repo: Path) -> None:
    """A monorepo: each package's own schema governs its files."""
    write(repo / "prisma" / "schema.prisma", model("Root"))
    write(repo / "packages" / "web" / "prisma" / "schema.prisma", model("Web"))
    assert tables(repo / "packages" / "web" / "src" / "q.ts") == ["Web"]
    assert tables(repo / "src" / "q.ts") == ["Root"]


def test_the_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    write(tmp_path / "prisma" / "schema.prisma", model("Outside"))
    inner = tmp_path / "checkout"
    (inner / ".git").mkdir(parents=True)
    assert locate_schema(str(inner / "q.sql"), Config(root=str(inner))) is None


def test_configured_schema_wins_over_a_found_one(repo: Path) -> None:
    write(repo / "prisma" / "schema.prisma", model("Found"))
    write(repo / "db" / "main.prisma", model("Configured"))
    config = parse_config({"schema": "db/main.prisma"}, source=str(repo / "convguard.toml"),
                          root=str(repo))
    location = locate_schema(str(repo / "src" / "q.ts"), config)
    assert location is not None and location.origin == "configured"
    assert tables(repo / "src" / "q.ts", config) == ["Configured"]


def test_configured_folder_merges_its_files(repo: Path) -> None:
    write(repo / "db" / "schema.prisma", DATASOURCE)
    write(repo / "db" / "models" / "a.prisma", model("A", "bId Int", "b B @relation(fields: [bId], references: [id])"))
    write(repo / "db" / "models" / "b.prisma", model("B", "as A[]"))
    write(repo / "db" / "migrations" / "0001" / "ignored.prisma", "not a schema at all")
    config = Config(root=str(repo), schema="db")
    schema = find_schema(str(repo / "src" / "q.ts"), config)
    assert schema is not None
    assert [t.name for t in schema.tables] == ["B", "A"]  # B first: A references it
    assert schema.table("A").column("bId").references == ("B", "id")


def test_schema_folder_layout(repo: Path) -> None:
    """``prisma/schema/*.prisma`` (prismaSchemaFolder): every file, sub-folders too."""
    write(repo / "prisma" / "schema" / "schema.prisma", DATASOURCE)
    write(repo / "prisma" / "schema" / "lead.prisma", model("Lead"))
    write(repo / "prisma" / "schema" / "billing" / "invoice.prisma", model("Invoice"))
    location = locate_schema(str(repo / "src" / "q.ts"), Config(root=str(repo)))
    assert location is not None and location.path == str(repo / "prisma" / "schema")
    assert tables(repo / "src" / "q.ts") == ["Invoice", "Lead"]


def test_main_schema_with_model_files_beside_it(repo: Path) -> None:
    """Prisma 6.7+: ``prisma/schema.prisma`` plus ``prisma/models/*.prisma``, read as one."""
    write(repo / "prisma" / "schema.prisma", DATASOURCE + model("Lead"))
    write(repo / "prisma" / "models" / "message.prisma", model("Message"))
    assert tables(repo / "src" / "q.ts") == ["Lead", "Message"]


def test_package_json_names_the_schema(repo: Path) -> None:
    write(repo / "package.json", '{"name": "app", "prisma": {"schema": "db/app.prisma"}}')
    write(repo / "db" / "app.prisma", model("Named"))
    write(repo / "prisma" / "schema.prisma", model("Default"))
    assert tables(repo / "src" / "q.ts") == ["Named"]


@pytest.mark.parametrize("setting", [
    'schema: "db/schema"',
    "schema: path.join('db', 'schema')",
])
def test_prisma_config_names_the_schema(repo: Path, setting: str) -> None:
    write(repo / "prisma.config.ts", 'import path from "node:path";\n'
          'import { defineConfig } from "prisma/config";\n'
          f"export default defineConfig({{\n  {setting},\n}});\n")
    write(repo / "db" / "schema" / "main.prisma", model("Configured"))
    assert tables(repo / "src" / "q.ts") == ["Configured"]


def test_package_json_without_prisma_key_falls_through(repo: Path) -> None:
    write(repo / "package.json", '{"name": "app"}')
    write(repo / "schema.prisma", model("Single"))
    assert tables(repo / "src" / "q.ts") == ["Single"]


def test_no_schema_is_none(repo: Path) -> None:
    assert locate_schema(str(repo / "src" / "q.ts"), Config(root=str(repo))) is None


def test_a_changed_schema_is_read_again(repo: Path) -> None:
    schema_file = write(repo / "prisma" / "schema.prisma", model("Before"))
    assert tables(repo / "q.sql") == ["Before"]
    write(schema_file, model("After", "note String"))
    assert tables(repo / "q.sql") == ["After"]


def test_missing_configured_schema_names_the_setting(repo: Path) -> None:
    config_file = write(repo / "convguard.toml", 'driver = "node-postgres"\nschema = "nope.prisma"\n')
    config = parse_config({"schema": "nope.prisma"}, source=str(config_file), root=str(repo))
    with pytest.raises(SchemaError) as caught:
        find_schema(str(repo / "q.sql"), config)
    assert caught.value.path == str(repo / "nope.prisma")
    assert f"{config_file}:2" in (caught.value.hint or "")


# -- what check makes of it ----------------------------------------------------------------------

UNKNOWN_COLUMN = 'SELECT l.nope FROM "Lead" l WHERE l."clientId" = $1'


def test_check_without_schema_reports_no_cg003_and_says_so(repo: Path) -> None:
    result = check_source(str(repo / "q.sql"), UNKNOWN_COLUMN, config=Config(root=str(repo)))
    assert result.diagnostics == () and result.errors == ()
    assert result.notes == (NO_SCHEMA_NOTE,)


def test_check_without_schema_and_cg003_ignored_says_nothing(repo: Path) -> None:
    config = Config(root=str(repo), ignore=("CG003",))
    assert check_source(str(repo / "q.sql"), UNKNOWN_COLUMN, config=config).notes == ()


def test_check_uses_the_found_schema_not_the_booking_model(repo: Path) -> None:
    """The app's own Lead has an ``email`` and no ``appointmentBookedAt``."""
    write(repo / "prisma" / "schema.prisma", DATASOURCE + model("Lead", "email String"))
    checked = str(repo / "src" / "q.sql")
    config = Config(root=str(repo))
    assert check_source(checked, 'SELECT l.email FROM "Lead" l', config=config).diagnostics == ()
    result = check_source(checked, 'SELECT l."appointmentBookedAt" FROM "Lead" l', config=config)
    assert [d.code for d in result.diagnostics] == ["CG003"]
    assert result.notes == ()


def test_booking_profile_query_falls_back_to_the_profile_model(repo: Path) -> None:
    """Only a query bound to the booking profile gets the booking data model when none is found."""
    sql = 'SELECT l."appointmentBookedAt", l.nope FROM "Lead" l WHERE l."clientId" = $1'
    bound = Config(root=str(repo), queries=(QueryConfig("q.sql", profile="booking-conversion"),))
    result = check_source(str(repo / "q.sql"), sql, config=bound)
    assert ("CG003", "unresolved reference nope") in {
        (d.code, d.message.split(":")[0]) for d in result.diagnostics}
    assert result.notes == ()
    unbound = check_source(str(repo / "q.sql"), sql, config=Config(root=str(repo)))
    assert "CG003" not in {d.code for d in unbound.diagnostics}


def test_unusable_found_schema_is_a_note_not_an_error(repo: Path) -> None:
    write(repo / "prisma" / "schema.prisma", "model Lead {\n  id Int @id\n  x Strng\n}\n")
    result = check_source(str(repo / "q.sql"), UNKNOWN_COLUMN, config=Config(root=str(repo)))
    assert result.errors == () and result.diagnostics == ()
    [note] = result.notes
    assert f"{repo / 'prisma' / 'schema.prisma'}:3" in note and "CG003" in note


def test_unusable_configured_schema_is_an_error(repo: Path) -> None:
    write(repo / "bad.prisma", "model Lead {\n  id Int @id\n  x Strng\n}\n")
    config = Config(root=str(repo), schema="bad.prisma")
    result = check_source(str(repo / "q.sql"), UNKNOWN_COLUMN, config=config)
    [error] = result.errors
    assert error.line == 3 and result.exit_code == 2


def test_the_sample_application_finds_its_schema() -> None:
    """fixtures/prisma/schema.prisma governs fixtures/app and fixtures/bad, as in a real app."""
    sample = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
    location = locate_schema(str(sample), Config(root=str(ROOT)))
    assert location is not None and location.path == str(SAMPLE_SCHEMA)
