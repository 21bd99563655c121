"""The ``url`` provider: an existing server named by ``--dsn`` or ``$CONVGUARD_DATABASE_URL``.

The kit only creates its own databases there and drops them when the server object stops; the
database the DSN names serves as the admin database and is never written to.

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
    def start(cls, dsn: str | None) -> UrlServer:
        dsn = dsn or os.environ.get(DSN_ENV)
        if not dsn:
            raise DatabaseError("the url provider needs a connection string", hint=DSN_HINT)
        psycopg = import_psycopg()
        try:
            params = psycopg.conninfo.conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as exc:
            raise DatabaseError(f"invalid connection string: {exc}", hint=DSN_HINT) from exc
        server = cls("url", params, admin_dbname=params.get("dbname"), owns_cluster=False)
        server._started()
        return server

    def _connect_hint(self) -> str:
        return f"check the server named by --dsn / {DSN_ENV} runs and accepts this role"
