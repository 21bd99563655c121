"""The :class:`Server` every provider returns.

A server knows how to reach itself (:meth:`Server.conninfo`), keeps one autocommit admin
connection, remembers the databases this run created on it, and stops once: a local server takes
its whole cluster with it, any other drops the databases it created (this matters for ``url``).

Example:
    >>> with start_server("embedded") as server:                     # doctest: +SKIP
    ...     with server.connect() as conn:
    ...         conn.execute("select 1").fetchone()
    (1,)
"""

from __future__ import annotations

import atexit
import os
import secrets
from collections.abc import Callable
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

from ..._errors import DatabaseError
from .conninfo import format_conninfo

if TYPE_CHECKING:
    import psycopg

ADMIN_TIMEOUT_MS = 60_000


def import_psycopg() -> ModuleType:
    """psycopg, imported on first use (the static guard must never load it)."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - a dependency of convguard
        raise DatabaseError("psycopg is not installed",
                            hint="pip install 'psycopg[binary]'") from exc
    return psycopg


def new_run_id() -> str:
    return f"{os.getpid()}-{secrets.token_hex(4)}"


class Server:
    """A PostgreSQL server reachable with libpq parameters; a context manager that stops it.

    ``version`` is ``server_version`` without a distribution suffix (``"18.6"``), ``version_num``
    is ``server_version_num`` (``180006``). ``run_id`` marks the databases this run creates.
    """

    provider: str
    version: str
    version_num: int

    def __init__(self, provider: str, params: dict[str, Any], *, admin_dbname: str | None,
                 owns_cluster: bool, run_id: str | None = None) -> None:
        self.provider = provider
        self.version = ""
        self.version_num = 0
        self.run_id = run_id or new_run_id()
        self.owns_cluster = owns_cluster
        self.admin_dbname = admin_dbname
        self._params = {k: v for k, v in params.items() if k != "dbname"}
        self._created: dict[str, None] = {}  # an ordered set
        # Set by whoever creates databases here (convguard.kit.server.databases), so that this
        # module does not import that one back.
        self._drop_created: Callable[[Server], None] | None = None
        self._dropped: set[str] = set()
        self._admin: psycopg.Connection[Any] | None = None
        self._owner_pid = os.getpid()
        self._stopped = False

    # -- reaching it -------------------------------------------------------------------------
    def conninfo(self, dbname: str | None = None) -> str:
        """libpq conninfo for ``dbname`` (default: the admin database), for ``psycopg.connect``."""
        return format_conninfo({**self._params, "dbname": dbname or self.admin_dbname})

    def connect(self, dbname: str | None = None, **kwargs: Any) -> psycopg.Connection[Any]:
        """A new autocommit connection to ``dbname`` (default: the admin database)."""
        pg = import_psycopg()
        self._check_running()
        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("connect_timeout", 10)
        try:
            conn: psycopg.Connection[Any] = pg.connect(self.conninfo(dbname), **kwargs)
            return conn
        except pg.OperationalError as exc:
            raise DatabaseError(f"cannot connect to the {self.provider} server"
                                f" (database {dbname or self.admin_dbname}): {exc}".rstrip(),
                                hint=self._connect_hint()) from exc

    def admin(self) -> psycopg.Connection[Any]:
        """The shared autocommit connection to the admin database (opened on first use)."""
        if self._admin is None or self._admin.closed:
            # Bounded, so a lock held on a shared (url) server cannot hang a run.
            self._admin = self.connect(options=f"-c statement_timeout={ADMIN_TIMEOUT_MS}")
        return self._admin

    @property
    def created_databases(self) -> tuple[str, ...]:
        """The databases this run created on this server and has not dropped yet."""
        return tuple(self._created)

    # -- stopping ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Drop what this run created (unless the cluster goes too), then stop; idempotent."""
        if self._stopped or os.getpid() != self._owner_pid:
            return  # a forked child must not stop its parent's server
        try:
            if self._created and not self.owns_cluster and self._drop_created is not None:
                self._drop_created(self)
        finally:
            self._stopped = True
            atexit.unregister(self.stop)
            if self._admin is not None:
                self._admin.close()
                self._admin = None
            self._shutdown()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def __enter__(self) -> Server:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return (f"<{type(self).__name__} {self.provider} {self.version or '?'} {state}"
                f" run={self.run_id}>")

    # -- for providers and databases -----------------------------------------------------------
    def _started(self) -> None:
        """Read the version over the admin connection and arm the exit-time stop."""
        info = self.admin().info
        self.version = (info.parameter_status("server_version") or "").split(" ")[0]
        self.version_num = info.server_version
        atexit.register(self.stop)

    def _remember(self, dbname: str, drop_created: Callable[[Server], None]) -> None:
        """Note a database this run created, and how to drop every such database on stop."""
        self._created[dbname] = None
        self._drop_created = drop_created

    def _forget(self, dbname: str) -> None:
        if self._created.pop(dbname, 0) is None:
            self._dropped.add(dbname)

    def _was_dropped(self, dbname: str) -> bool:
        return dbname in self._dropped

    def _check_running(self) -> None:
        if self._stopped:
            raise DatabaseError(f"the {self.provider} server of run {self.run_id} is stopped",
                                hint="start a new server with start_server()")

    def _connect_hint(self) -> str:
        return "check that the server runs and accepts this role"

    def _shutdown(self) -> None:
        """Stop the server itself (providers that own one)."""
