"""The kit on statements assembled from fragments: the first combination runs, opaque SQL cannot.

A call site whose fragments are chosen at run time is several statements; ``load_query`` (and
``convguard test``) take the first combination, where every conditional takes its first branch,
and say so through ``variant``/``variants``; a statement holding a fragment convguard cannot see
is refused with an error naming the fragment and its line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from convguard._errors import SelectorError
from convguard._schema import Column, Schema, Table
from convguard.kit import load_query, run_query, seed, throwaway_database

SCHEMA = Schema(tables=(
    Table("Ticket", (
        Column("id", "text", nullable=False, primary_key=True),
        Column("team", "text", nullable=False),
        Column("priority", "integer", nullable=False),
        Column("closedAt", "timestamp(3)", nullable=True),
    )),
))

ACTION = """\
import { Prisma } from "@prisma/client";
import { prisma } from "@/lib/prisma";
import { slaFilter } from "@/lib/sql";

function openOnly(includeClosed: boolean) {
  if (includeClosed) return Prisma.empty;
  return Prisma.sql`AND t."closedAt" IS NULL`;
}

export async function countTickets(team: string | null, urgent: boolean, includeClosed: boolean) {
  const teamFilter = team ? Prisma.sql`AND t.team = ${team}` : Prisma.empty;
  const parts = [Prisma.sql`t.priority >= 0`];
  if (urgent) parts.push(Prisma.sql`t.priority >= ${3}`);
  return prisma.$queryRaw`
    SELECT count(*)::int AS n FROM "Ticket" t
    WHERE ${Prisma.join(parts, " AND ")} ${teamFilter} ${openOnly(includeClosed)}
  `;
}

export async function withSla(team: string) {
  return prisma.$queryRaw`SELECT count(*) FROM "Ticket" t WHERE t.team = ${team} AND ${slaFilter}`;
}
"""

ROWS = {"Ticket": [
    {"id": "a", "team": "core", "priority": 4, "closedAt": None},
    {"id": "b", "team": "core", "priority": 1, "closedAt": None},
    {"id": "c", "team": "core", "priority": 5, "closedAt": "2026-01-02T00:00:00Z"},
    {"id": "d", "team": "web", "priority": 5, "closedAt": None},
]}


@pytest.fixture()
def action(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.ts"
    path.write_text(ACTION)
    return path


def test_the_first_combination_is_the_one_under_test(action: Path) -> None:
    query = load_query(f"{action}::countTickets")
    assert (query.variant, query.variants) == (1, 8)
    assert " ".join(query.sql.split()) == (
        'SELECT count(*)::int AS n FROM "Ticket" t WHERE t.priority >= 0 AND t.priority >= $1 '
        'AND t.team = $2')  # the helper's first return is Prisma.empty
    assert [p.expression for p in query.placeholders] == ["3", "team"]


def test_the_first_combination_runs_on_a_real_database(action: Path) -> None:
    query = load_query(f"{action}::countTickets")
    with throwaway_database(SCHEMA) as db:
        seed(db.connection, ROWS, SCHEMA)
        # core tickets of priority >= 3, closed or not: a and c
        assert run_query(db.connection, query, {"3": 3, "team": "core"}) == [(2,)]


def test_opaque_sql_cannot_be_run(action: Path) -> None:
    with pytest.raises(SelectorError) as caught:
        load_query(f"{action}::withSla")
    assert "${slaFilter} (line 21)" in caught.value.message
    assert caught.value.line == 21 and caught.value.hint
