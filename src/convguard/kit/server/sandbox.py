"""The least-privilege role the query under test runs as, one per run.

The query connects on a connection of its own (never ``SET ROLE``, which the query could reset)
as a role created for the run: ``LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
NOBYPASSRLS NOINHERIT``, member of no role (so not of ``pg_read_server_files``,
``pg_write_server_files`` or ``pg_execute_server_program``), a generated password, ``CONNECT``
on the run's work databases only (``PUBLIC`` loses ``CONNECT`` and ``TEMP`` there) and ``USAGE``
plus ``SELECT`` on the schema's tables (``PUBLIC`` loses ``CREATE`` on the schemas). Seeding and
the janitor keep the admin connection.

On a ``url`` server the role is made when the DSN's role may create roles (superuser or
``CREATEROLE``); otherwise the query runs as the DSN's role itself, and the run says so once.

Example:
    >>> role = query_role(server)                       # doctest: +SKIP
    >>> role.sandboxed, role.name.startswith("convguard_q_")   # doctest: +SKIP
    (True, True)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..._errors import DatabaseError
from .credentials import new_password, scram_verifier

if TYPE_CHECKING:
    from .base import Server

ROLE_PREFIX = "convguard_q"
#: Roles whose membership would let a query read or write server files or run programs.
DANGEROUS_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
CONNECTION_LIMIT = 8


@dataclass(frozen=True)
class QueryRole:
    """Who the query under test connects as.

    ``sandboxed`` is False when the query runs as the DSN's own role (``password`` None: the
    DSN's credentials apply).
    """

    name: str
    password: str | None = field(repr=False)
    sandboxed: bool


def create_query_role(server: Server) -> QueryRole:
    """Create the run's query role, or fall back to the DSN's role on a url server that may not."""
    import psycopg
    from psycopg import sql

    admin = server.admin()
    superuser, createrole, current = admin.execute(
        "SELECT rolsuper, rolcreaterole, current_user FROM pg_roles"
        " WHERE rolname = current_user").fetchone()
    if not (superuser or createrole):
        _say_once(f"convguard: note: the role {current} may not create roles, so the queries "
                  f"under test run as {current} itself, on their own read-only connection; "
                  f"grant it CREATEROLE to run them as a least-privilege role made per run\n")
        return QueryRole(name=current, password=None, sandboxed=False)
    name = server.new_object_name(ROLE_PREFIX)
    password = new_password()
    ident = sql.Identifier(name)
    create = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                     " NOBYPASSRLS NOINHERIT CONNECTION LIMIT {} PASSWORD {}").format(
        ident, sql.Literal(CONNECTION_LIMIT), sql.Literal(scram_verifier(password)))
    try:
        admin.execute(create)
        server._remember_role(name)
        admin.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(
            ident, sql.Literal(f"created by convguard run {server.run_id}")))
        if not superuser:
            # A CREATEROLE role needs the role's privileges to end its sessions (deadline,
            # DROP DATABASE ... FORCE); membership in a role that holds only SELECT is harmless.
            admin.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(ident))
    except psycopg.Error as error:
        raise DatabaseError(f"cannot create the role the queries run as: {error}".strip(),
                            hint="the DSN's role needs CREATEROLE (or drop it to run the "
                                 "queries as that role)") from None
    check_least_privilege(admin, name)
    return QueryRole(name=name, password=password, sandboxed=True)


def check_least_privilege(admin: Any, name: str) -> None:
    """Refuse to go on unless ``name`` has no attribute or membership beyond LOGIN."""
    row = admin.execute(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,"
        " (SELECT array_agg(g.rolname::text) FROM pg_auth_members m"
        "  JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid)"
        " FROM pg_roles r WHERE rolname = %s", [name]).fetchone()
    if row is None or any(row[:5]) or row[5]:
        raise DatabaseError(f"the query role {name} is not least-privilege: {row}",
                            hint="something on the server grants new roles privileges "
                                 "(an event trigger or default membership); report it")


def database_grants(role: QueryRole, database: str) -> Any:
    """The statements that open ``database`` to the role and close it to everyone else."""
    from psycopg import sql

    db = sql.Identifier(database)
    return sql.SQL("REVOKE ALL ON DATABASE {db} FROM PUBLIC;"
                   " GRANT CONNECT ON DATABASE {db} TO {role}").format(
        db=db, role=sql.Identifier(role.name))


def grant_schema(conn: Any, role: QueryRole) -> None:
    """In the schema's database: no ``CREATE`` for ``PUBLIC``; ``USAGE`` and ``SELECT`` on
    every table and view for the role. A refused ``REVOKE`` (a schema the DSN's role does not
    own, as ``public`` before PostgreSQL 15) is skipped: the read-only session still holds."""
    import psycopg
    from psycopg import sql

    schemas = [row[0] for row in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'"
        " AND nspname <> 'information_schema'").fetchall()]
    who = sql.Identifier(role.name)
    for schema in schemas:
        ident = sql.Identifier(schema)
        try:
            conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(ident))
        except psycopg.errors.InsufficientPrivilege:
            pass
        if role.sandboxed:
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r};"
                                 " GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}").format(
                s=ident, r=who))


def drop_query_role(server: Server, name: str) -> None:
    """Drop the run's role (after its databases: nothing of it is left elsewhere)."""
    from psycopg import sql

    server.admin().execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


_said: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        sys.stderr.write(message)
