"""The janitor of a shared server: what dead runs left there is swept by the next run.

A run killed with ``kill -9`` (or a CI job cancelled) cannot drop its databases and roles, and a
query it left running keeps its backend busy. At its start, every run on a ``url`` server looks
for objects with a convguard marking (:mod:`.marks`) whose run has no live ``admin`` backend and
that are older than :data:`GRACE_SECONDS` by the server's clock; it ends the dead runs' backends,
then drops their databases (templates unmarked first) and roles. It only touches what carries a
marking *and*, when a comment is set, that run's comment; what the current role may not drop is
left alone, silently (another CI user's leftovers are that user's to sweep).

Example:
    >>> swept = sweep_dead_runs(server)                        # doctest: +SKIP
    >>> swept.databases, swept.roles                           # doctest: +SKIP
    (('convguard_run_4242_9f86d081_tt6t04w_2',), ('convguard_q_4242_9f86d081_tt6t04w_1',))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .marks import parse_object_name, run_of_application_name

if TYPE_CHECKING:
    from .base import Server

GRACE_SECONDS = 1.0
MARK = "created by convguard run "


@dataclass(frozen=True)
class Swept:
    """What a sweep ended and dropped."""

    backends: int = 0
    databases: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


def sweep_dead_runs(server: Server) -> Swept:
    """End, drop and remove what dead runs left on ``server`` (see the module docstring)."""
    import psycopg

    admin = server.admin()
    now = float(admin.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()[0])
    databases = admin.execute(
        "SELECT datname, datistemplate, shobj_description(oid, 'pg_database')"
        " FROM pg_database WHERE datname LIKE 'convguard%'").fetchall()
    roles = admin.execute("SELECT rolname, shobj_description(oid, 'pg_authid') FROM pg_roles"
                          " WHERE rolname LIKE 'convguard%'").fetchall()
    # Read after the objects: a run that created one of them had its admin backend before.
    backends = admin.execute("SELECT pid, application_name FROM pg_stat_activity"
                             " WHERE application_name LIKE 'convguard %'").fetchall()
    live: set[str] = set()
    by_run: dict[str, list[int]] = {}
    for pid, name in backends:
        run = run_of_application_name(name)
        if run is not None:
            by_run.setdefault(run[0], []).append(pid)
            if run[1] == "admin":
                live.add(run[0])
    dead_runs = {run for run in by_run if run not in live and run != server.run_id}

    def dead(name: str, comment: str | None) -> bool:
        mark = parse_object_name(name)
        return (mark is not None and mark.run_id not in live and mark.run_id != server.run_id
                and now - mark.created >= GRACE_SECONDS
                and (comment is None or comment.startswith(MARK + mark.run_id)))

    ended = 0
    for run in sorted(dead_runs):
        for pid in by_run[run]:
            ended += _try(admin, "SELECT pg_terminate_backend(%s)", [pid], psycopg)
    dropped = []
    for name, is_template, comment in databases:
        if dead(name, comment) and _drop_database(admin, name, bool(is_template), psycopg):
            dropped.append(name)
    removed = []
    for name, comment in roles:
        if dead(name, comment) and _try(
                admin, psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(
                    psycopg.sql.Identifier(name)), None, psycopg):
            removed.append(name)
    return Swept(backends=ended, databases=tuple(dropped), roles=tuple(removed))


def _drop_database(admin: Any, name: str, is_template: bool, psycopg: Any) -> bool:
    ident = psycopg.sql.Identifier(name)
    if is_template and not _try(admin, psycopg.sql.SQL(
            "ALTER DATABASE {} WITH IS_TEMPLATE false").format(ident), None, psycopg):
        return False
    return _try(admin, psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident),
                None, psycopg)


def _try(admin: Any, statement: Any, params: Any, psycopg: Any) -> bool:
    """Run one statement; False when the server refuses it (privileges, a race with its owner)."""
    try:
        admin.execute(statement, params)
    except psycopg.Error:
        return False
    return True
