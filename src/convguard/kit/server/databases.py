"""Throwaway databases: created by this run, marked as such, dropped when done.

Every database the kit creates gets a marked name (prefix, run id, the server's time, a counter:
see :mod:`.marks`), so it is marked from the moment it exists, then the comment
``created by convguard run <run id>``; the server remembers it. Dropping checks all of it (the
run remembers it, the name is this run's, and the comment, once set, is this run's) and refuses
anything else, so the kit can never drop a database it did not create, even on a shared ``url``
server. What a killed run left is dropped by the next run's janitor (:mod:`.janitor`).

Schemas load once into a template database (the pytest-postgresql way: ``IS_TEMPLATE true``,
``ALLOW_CONNECTIONS false``), and each use clones it.

Example:
    >>> with start_server() as server:                                  # doctest: +SKIP
    ...     with create_template(server, "create table t (x int)") as template:
    ...         with template.clone() as db, db.connect() as conn:
    ...             conn.execute("insert into t values (1)")
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..._errors import DatabaseError, QueryFailed
from .base import Server, import_psycopg

if TYPE_CHECKING:
    import psycopg

    from .sandbox import QueryRole

MARK = "created by convguard run "
PREFIX_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,29}")
SESSION_WAIT_SECONDS = 5.0
DROP_WAIT_SECONDS = 0.2
HINTS = {
    "42501": "the role needs CREATEDB (ALTER ROLE ... CREATEDB), or use --provider embedded",
    "55006": "another session is connected to the template database; close it first",
    "53300": "the server has no free connection slot; close connections or raise max_connections",
}


@dataclass(frozen=True)
class ThrowawayDatabase:
    """A database this run created; a context manager that drops it.

    ``conninfo`` is ready for ``psycopg.connect``; ``is_template`` marks a template made by
    :func:`create_template`, to :meth:`clone` per use.
    """

    name: str
    conninfo: str = field(repr=False)  # holds the run's password
    server: Server = field(repr=False, compare=False)
    is_template: bool = False

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A new connection to this database (autocommit unless ``autocommit=False``)."""
        return self.server.connect(self.name, **kwargs)

    def clone(self, *, prefix: str = "convguard") -> ThrowawayDatabase:
        """A new throwaway database copied from this one (which must have no open sessions)."""
        return create_database(self.server, prefix=prefix, template=self.name)

    def drop(self) -> None:
        """Drop it (idempotent; a no-op once its server stopped, which dropped it already)."""
        drop_database(self.server, self.name)

    def __enter__(self) -> ThrowawayDatabase:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.drop()


def create_database(server: Server, *, prefix: str = "convguard",
                    template: str | None = None) -> ThrowawayDatabase:
    """Create an empty database (or a copy of ``template``) marked as this run's.

    Example:
        >>> db = create_database(server, prefix="scenario")     # doctest: +SKIP
        >>> db.name                                              # doctest: +SKIP
        'scenario_4242_9f86d081_tt6t04w_2'
    """
    sql = import_psycopg().sql
    _check_prefix(prefix)
    name = server.new_object_name(prefix)
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    if server.owns_cluster and server.version_num >= 150000:
        # Measured 8 ms against 16 ms for the default WAL_LOG; its checkpoints cost little with
        # fsync off, but on a shared (url) server they would, so there the default stays.
        statement += sql.SQL(" STRATEGY FILE_COPY")
    _execute(server, statement, f"cannot create database {name}")
    server._remember(name, drop_created_databases)
    mark = sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name),
                                                          sql.Literal(MARK + server.run_id))
    try:
        _execute(server, mark, f"cannot mark database {name}")
    except BaseException:
        _drop(server, name)  # created just above by this very session, so it is ours
        raise
    return ThrowawayDatabase(name=name, conninfo=server.conninfo(name), server=server)


def create_template(server: Server, setup_sql: str, *, prefix: str = "convguard_tpl",
                    grant_to: QueryRole | None = None) -> ThrowawayDatabase:
    """A database loaded with ``setup_sql`` (in one transaction), then frozen as a template.

    With ``grant_to``, ``PUBLIC`` loses ``CREATE`` on its schemas and the role gets ``USAGE``
    and ``SELECT`` on every table (:func:`.sandbox.grant_schema`); clones keep it.

    Example:
        >>> template = create_template(server, "create table t (id text)")  # doctest: +SKIP
        >>> template.is_template                                            # doctest: +SKIP
        True
    """
    psycopg = import_psycopg()
    database = create_database(server, prefix=prefix)
    try:
        with database.connect(autocommit=False) as conn:
            conn.execute(setup_sql)
        if grant_to is not None:
            from .sandbox import grant_schema

            with database.connect() as conn:
                grant_schema(conn, grant_to)
        freeze = psycopg.sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
        _execute(server, freeze.format(psycopg.sql.Identifier(database.name)),
                 f"cannot freeze {database.name}")
        _wait_no_sessions(server, database.name)
    except psycopg.Error as exc:
        database.drop()
        raise _query_failed(exc, "the template's setup SQL failed") from exc
    except BaseException:
        database.drop()
        raise
    return replace(database, is_template=True)


def drop_database(server: Server, name: str) -> None:
    """Drop ``name`` if this run created it; refuse (DatabaseError) any other database.

    Example:
        >>> drop_database(server, "postgres")                    # doctest: +SKIP
        Traceback (most recent call last):
        convguard._errors.DatabaseError: refusing to drop database 'postgres': ...
    """
    if server.stopped and server.owns_cluster:
        return  # the whole cluster is gone
    if name not in server.created_databases:
        if server.stopped or server._was_dropped(name):
            return  # dropped already (maybe by stopping the server)
        raise DatabaseError(f"refusing to drop database {name!r}: convguard run {server.run_id} "
                            f"did not create it", hint="convguard only drops databases it created")
    row = _fetch_one(server, "SELECT datistemplate, shobj_description(oid, 'pg_database')"
                     " FROM pg_database WHERE datname = %s", name, f"cannot look up {name}")
    if row is None:
        server._forget(name)
        return
    if row[1] is not None and row[1] != MARK + server.run_id:
        raise DatabaseError(f"refusing to drop database {name!r}: it is not marked "
                            f"'{MARK}{server.run_id}' (found {row[1]!r})",
                            hint="convguard only drops databases it created")
    _drop(server, name, is_template=bool(row[0]))


def drop_created_databases(server: Server) -> None:
    """Drop every database this run created on ``server``, newest first; report what failed."""
    failures = []
    for name in reversed(server.created_databases):
        try:
            drop_database(server, name)
        except DatabaseError as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        raise DatabaseError("could not drop: " + "; ".join(failures),
                            hint="drop them by hand; their comment names this convguard run")


def new_database_name(prefix: str) -> str:
    """``<prefix>_<pid>_<8 hex>``: unique across runs and processes, at most 63 bytes.

    (Databases a server creates take :meth:`Server.new_object_name` instead, which also marks
    them with the run and the time.)
    """
    _check_prefix(prefix)
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


def _check_prefix(prefix: str) -> None:
    if not PREFIX_PATTERN.fullmatch(prefix):
        raise DatabaseError(f"invalid database prefix {prefix!r}",
                            hint="use 1-30 lowercase letters, digits or _, not a digit first")


def _drop(server: Server, name: str, *, is_template: bool = False) -> None:
    sql = import_psycopg().sql
    ident = sql.Identifier(name)
    if is_template:
        _execute(server, sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(ident),
                 f"cannot unmark template {name}")
    # Sessions still open after this are ended by FORCE.
    _wait_no_sessions(server, name, timeout=DROP_WAIT_SECONDS)
    if server.version_num >= 130000:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident)
    else:
        _fetch_one(server, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                   " WHERE datname = %s", name, f"cannot end the sessions of {name}")
        statement = sql.SQL("DROP DATABASE IF EXISTS {}").format(ident)
    _execute(server, statement, f"cannot drop database {name}")
    server._forget(name)


def _wait_no_sessions(server: Server, name: str, timeout: float = SESSION_WAIT_SECONDS) -> None:
    # A closed client's backend exits asynchronously, and CREATE DATABASE ... TEMPLATE and DROP
    # DATABASE wait for it in 100 ms steps (measured: 4 drops in 30 stalled ~100 ms right after a
    # close); polling here in 1 ms steps first removes those stalls.
    deadline = time.monotonic() + timeout
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
    while time.monotonic() < deadline:
        row = _fetch_one(server, query, name, f"cannot list the sessions of {name}")
        if not row or not row[0]:
            return
        time.sleep(0.001)


def _execute(server: Server, statement: Any, what: str) -> None:
    psycopg = import_psycopg()
    try:
        server.admin().execute(statement)
    except psycopg.Error as exc:
        raise _query_failed(exc, what) from exc


def _fetch_one(server: Server, query: str, name: str, what: str) -> tuple[Any, ...] | None:
    psycopg = import_psycopg()
    try:
        row: tuple[Any, ...] | None = server.admin().execute(query, [name]).fetchone()
    except psycopg.Error as exc:
        raise _query_failed(exc, what) from exc
    return row


def _query_failed(exc: Any, what: str) -> QueryFailed:
    sqlstate = getattr(exc, "sqlstate", None)
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return QueryFailed(f"{what}: {message}", sqlstate=sqlstate, hint=HINTS.get(sqlstate or ""))
