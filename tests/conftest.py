"""Shared fixtures of the tests that run queries: one embedded server and one workbench per session.

Used by the conformance, property, mutation, bench, command and plugin tests. The server tests
(``tests/kit/server``) start their servers themselves.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg  # noqa: F401 - see below
import pytest

# pytester's in-process runs (the plugin tests) restore sys.modules afterwards, dropping modules
# first imported inside them. psycopg's compiled core stays loaded and keeps raising the
# OperationalError class of that first import, which a later `import psycopg` no longer matches:
# a refused connection then escaped `except psycopg.OperationalError` as an internal error in
# the next in-process CLI test. Imported here, psycopg is in every snapshot and never dropped.

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "fixtures" / "scenarios"
SQL_QUERY = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
TS_QUERY = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
TS_FUNCTION = "getAiDraftBookingConversionStats"
TS_PARAMS = {"Prisma.join(scope.clientIds)": "client_ids", "maturityCutoff": "maturity_cutoff"}


@pytest.fixture(scope="session")
def bench() -> Iterator[object]:
    """A workbench on one embedded server for the whole test session (per xdist worker)."""
    from convguard.kit.conformance.runner import Workbench

    with Workbench.start("embedded") as started:
        yield started


@pytest.fixture()
def conn(bench: object) -> Iterator[object]:
    """A connection to a database holding the booking schema, inside a rolled-back transaction."""
    from convguard.profiles.booking_conversion.schema import booking_schema

    with bench.scenario_connection(booking_schema()) as connection:  # type: ignore[attr-defined]
        yield connection


@pytest.fixture()
def dsn(bench: object) -> str:
    """The session server, reached as a url DSN (no server start per test)."""
    return bench.server.conninfo("postgres")  # type: ignore[attr-defined]


@pytest.fixture()
def fresh_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, str], Path]:
    """Copies an application fixture into ``tmp_path/name`` as a fresh repository (its own .git:
    the schema search stops there) and makes it the current folder; returns its root."""
    def copy(source: Path, name: str) -> Path:
        root = tmp_path / name
        shutil.copytree(source, root)
        (root / ".git").mkdir()
        monkeypatch.chdir(root)
        return root

    return copy
