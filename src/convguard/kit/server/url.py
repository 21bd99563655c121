"""The ``url`` provider: an existing server named by ``--dsn`` or ``$CONVGUARD_DATABASE_URL``.

The kit only creates its own databases (and its query role) there and drops them when the server
object stops; the database the DSN names serves as the admin database and is never written to.
At the start, what dead runs left is swept (:mod:`.janitor`). A superuser DSN is refused unless
``allow_superuser`` (``--allow-superuser``): the kit needs only ``CREATEDB`` and, for a
least-privilege query role, ``CREATEROLE``; with it, the queries still run as that role.

Example:
    >>> server = UrlServer.start("postgresql://ci@localhost/postgres")   # doctest: +SKIP
    >>> server.owns_cluster                                               # doctest: +SKIP
    False
"""

from __future__ import annotations

import os

from ..._errors import DatabaseError
from .base import Server, import_psycopg

DSN_ENV = "CONVGUARD_DATABASE_URL"
DSN_HINT = f"pass --dsn postgresql://USER:PASSWORD@HOST:PORT/DB or set {DSN_ENV}"


class UrlServer(Server):
    """A server someone else runs; we own only the databases we create on it."""

    @classmethod
    def start(cls, dsn: str | None, *, allow_superuser: bool = False) -> UrlServer:
        dsn = dsn or os.environ.get(DSN_ENV)
        if not dsn:
            raise DatabaseError("the url provider needs a connection string", hint=DSN_HINT)
        psycopg = import_psycopg()
        try:
            params = psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            raise DatabaseError(f"invalid connection string: {_parse_error(dsn)}",
                                hint=DSN_HINT) from None
        server = cls("url", params, admin_dbname=params.get("dbname"), owns_cluster=False)
        try:
            server._started()
            server._refuse_superuser(allow_superuser)
            from .janitor import sweep_dead_runs

            sweep_dead_runs(server)
        except BaseException:
            server.stop()
            raise
        return server

    def _refuse_superuser(self, allowed: bool) -> None:
        row = self.admin().execute("SELECT rolsuper, current_user FROM pg_roles"
                                   " WHERE rolname = current_user").fetchone()
        if row and row[0] and not allowed:
            raise DatabaseError(
                f"the DSN's role {row[1]} is a superuser; convguard refuses to hold superuser "
                f"rights on a server it shares",
                hint="connect as a role with CREATEDB and CREATEROLE (CREATE ROLE ci LOGIN "
                     "CREATEDB CREATEROLE PASSWORD '...'), or pass --allow-superuser (the "
                     "queries still run as a least-privilege role made for the run)")

    def _connect_hint(self) -> str:
        return f"check the server named by --dsn / {DSN_ENV} runs and accepts this role"


def _parse_error(dsn: str) -> str:
    """libpq's complaint about ``dsn``, told about the same string with its password masked
    (libpq quotes what it could not read, a password included)."""
    from .conninfo import redact_dsn

    psycopg = import_psycopg()
    try:
        psycopg.conninfo.conninfo_to_dict(redact_dsn(dsn))
    except psycopg.ProgrammingError as exc:
        return str(exc).strip()
    return "its password cannot be read (quote it, or percent-encode it in a URL)"
