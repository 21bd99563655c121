"""Which driver binds a source's queries: detection from the source, configuration over it."""

from __future__ import annotations

import pytest

from convguard._config import parse_config
from convguard._errors import ConfigError
from convguard._stack import detect_driver, driver_for_query, resolve_driver
from convguard.extract import extract_source

DETECTIONS = [
    # (file, source, detected driver)
    ("a.ts", 'import { PrismaClient } from "@prisma/client";', "prisma"),
    ("a.ts", "const rows = await prisma.$queryRaw`SELECT 1`;", "prisma"),
    ("a.ts", "await tx.$executeRawUnsafe(sql)", "prisma"),
    ("a.ts", "const where = Prisma.sql`x = ${x}`;", "prisma"),
    ("a.mjs", 'import { PrismaPg } from "@prisma/adapter-pg"; import { Pool } from "pg";',
     "prisma"),                                    # the pool only feeds Prisma's adapter
    ("a.js", "const { Pool } = require('pg'); pool.query(text, values)", "node-postgres"),
    ("a.ts", 'import pg from "pg"; const client = new pg.Client();', "node-postgres"),
    ("a.ts", "const pool = new Pool({ connectionString })", "node-postgres"),
    ("a.ts", "const q = sql`SELECT 1`", None),      # a tag of unknown origin
    ("q.sql", "SELECT $queryRaw FROM t", None),     # .sql files never detect
]


@pytest.mark.parametrize(("path", "text", "driver"), DETECTIONS)
def test_detect_driver(path: str, text: str, driver: str | None) -> None:
    assert detect_driver(path, text) == driver


@pytest.mark.parametrize(("configured", "path", "text", "driver"), [
    ("auto", "a.ts", "prisma.$queryRaw`SELECT 1`", "prisma"),
    ("auto", "a.ts", "require('pg')", "node-postgres"),
    ("auto", "a.ts", "sql`SELECT 1`", "node-postgres"),
    ("auto", "q.sql", "SELECT 1", "node-postgres"),
    ("node-postgres", "a.ts", "prisma.$queryRaw`SELECT 1`", "node-postgres"),
    ("typed", "a.ts", "prisma.$queryRaw`SELECT 1`", "typed"),
    ("prisma", "q.sql", "SELECT 1", "prisma"),
])
def test_a_configured_driver_wins_over_detection(configured: str, path: str, text: str,
                                                 driver: str) -> None:
    assert resolve_driver(configured, path, text) == driver


def test_driver_for_query_reads_the_host_file(tmp_path) -> None:
    path = tmp_path / "a.ts"
    path.write_text('import pg from "pg";\nconst q = sql`SELECT 1`;\n')
    query = extract_source(str(path), path.read_text(), tags=("sql",)).queries[0]
    assert driver_for_query("auto", query) == "node-postgres"
    path.write_text('import { Prisma } from "@prisma/client";\nconst q = sql`SELECT 1`;\n')
    assert driver_for_query("auto", query) == "prisma"


def test_configuration_driver_is_auto_by_default_and_per_query() -> None:
    config = parse_config({"query": [{"path": "q.sql", "driver": "prisma"}, {"path": "a.ts"}]},
                          source="convguard.toml", root=".")
    assert config.driver == "auto"
    assert [q.driver for q in config.queries] == ["prisma", None]
    with pytest.raises(ConfigError, match="driver must be one of auto, prisma, node-postgres"):
        parse_config({"query": [{"path": "q.sql", "driver": "pg"}]}, source="c.toml", root=".")
