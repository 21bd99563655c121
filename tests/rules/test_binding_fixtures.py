"""``fixtures/binding/``: CG105/CG106 claim exactly what a real PostgreSQL does.

Static: every annotated finding and no other, each message naming the annotated SQLSTATE. On the
server: every annotated statement fails with that SQLSTATE when its parameters are sent untyped
(OID 0, as node-postgres and Prisma send them), and every other statement runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from convguard._check import check_source
from convguard._model import ExtractedQuery
from convguard._parse import parse
from convguard.extract import extract_source
from convguard.rules._untyped_parameters import parameter_refs

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "fixtures" / "binding"
FILES = sorted(path for path in FOLDER.iterdir() if path.suffix in (".sql", ".ts"))
EXPECT = re.compile(r"\bexpect:\s*(CG\d+)\s+([0-9A-Z]{5})")
PARAMS = re.compile(r"\bparams:\s*(.+?)\s*$", re.MULTILINE)


def annotations(text: str) -> set[tuple[int, str, str]]:
    return {(number, match.group(1), match.group(2))
            for number, line in enumerate(text.splitlines(), start=1)
            for match in EXPECT.finditer(line)}


def statements() -> Iterator[tuple[Path, ExtractedQuery, str | None]]:
    """Every statement of the folder, with the SQLSTATE it is annotated to fail with."""
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for query in extract_source(str(path), text).queries:
            first, last = query.span.start_position.line, query.span.end_position.line
            # a .sql statement's annotation may follow its ';' on the same line
            states = {match.group(2) for line in lines[first - 1:last]
                      for match in EXPECT.finditer(line)}
            assert len(states) <= 1, f"{path.name}:{first}: one SQLSTATE per statement"
            yield path, query, next(iter(states), None)


CASES = list(statements())


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_findings_equal_annotations(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    result = check_source(str(path), text)
    assert not result.errors, result.errors
    expected = annotations(text)
    found = {(d.line, d.code) for d in result.diagnostics}
    details = "\n".join(f"{d.line}:{d.column} {d.code} {d.message}" for d in result.diagnostics)
    assert found == {(line, code) for line, code, _ in expected}, details
    for line, code, sqlstate in expected:
        [diagnostic] = [d for d in result.diagnostics if (d.line, d.code) == (line, code)]
        assert sqlstate in diagnostic.message, diagnostic.message
        assert diagnostic.fix


def test_every_binding_rule_is_covered() -> None:
    covered = {code for path in FILES for _, code, _ in annotations(path.read_text())}
    assert covered == {"CG105", "CG106"}
    assert any(state is None for _, _, state in CASES)  # and working forms too


def _values(query: ExtractedQuery) -> list[Any]:
    count = max((number for number, _ in parameter_refs(parse(query).pg_tree)), default=0)
    given = PARAMS.search(query.sql)
    values = [v.strip() for v in given.group(1).split("|")] if given else []
    values += ["1"] * (count - len(values))
    return [None if value == "NULL" else value for value in values[:count]]


@pytest.fixture(scope="module")
def connection() -> Iterator[Any]:
    """The sample application's schema on an embedded PostgreSQL, in a rolled-back transaction."""
    from convguard._prisma import schema_from_config
    from convguard.kit.conformance.runner import Workbench

    schema = schema_from_config(ROOT / "fixtures" / "prisma" / "schema.prisma")
    with Workbench.start("embedded") as bench, bench.scenario_connection(schema) as conn:
        yield conn


@pytest.mark.parametrize(("path", "query", "sqlstate"), CASES,
                         ids=[f"{p.name}:{q.span.start_position.line}" for p, q, _ in CASES])
def test_statement_on_the_server(connection: Any, path: Path, query: ExtractedQuery,
                                 sqlstate: str | None) -> None:
    import psycopg

    from convguard.kit.conformance.runner import _untyped_types

    untyped, dumper, _, _ = _untyped_types()
    values = [None if value is None else untyped(value) for value in _values(query)]
    cursor = psycopg.RawCursor(connection)
    cursor.adapters.register_dumper(untyped, dumper)
    connection.execute("SAVEPOINT binding_case")
    try:
        cursor.execute(parse(query).sql, values)
        outcome = None
    except psycopg.Error as error:
        outcome = f"{error.sqlstate} {error.diag.message_primary}"
    finally:
        connection.execute("ROLLBACK TO SAVEPOINT binding_case")
        cursor.close()
    if sqlstate is None:
        assert outcome is None, f"{query.sql!r} must run: {outcome}"
    else:
        assert outcome is not None and outcome.startswith(sqlstate), \
            f"{query.sql!r}: PostgreSQL said {outcome}, the annotation {sqlstate}"
