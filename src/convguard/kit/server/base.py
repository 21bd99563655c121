"""The :class:`Server` every provider returns.

A server knows how to reach itself (:meth:`Server.conninfo`), keeps one autocommit admin
connection, remembers the databases and roles this run created on it, and stops once: a local
server takes its whole cluster with it, any other drops what it created (this matters for
``url``). Every connection carries the application name ``convguard <run id> <purpose>`` and
every object the run creates a marked name (:mod:`.marks`), so a later run can tell what a dead
one left. The query under test runs as :meth:`Server.query_role`, a least-privilege role.

Example:
    >>> with start_server("embedded") as server:                     # doctest: +SKIP
    ...     with server.connect() as conn:
    ...         conn.execute("select 1").fetchone()
    (1,)
"""

from __future__ import annotations

import atexit
import itertools
import os
import secrets
import time
from collections.abc import Callable
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

from ..._errors import DatabaseError
from .conninfo import format_conninfo, redact
from .marks import application_name, object_name

if TYPE_CHECKING:
    import psycopg

    from .sandbox import QueryRole

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
        self._roles: dict[str, None] = {}
        self._query_role: QueryRole | None = None
        self._admin: psycopg.Connection[Any] | None = None
        self._owner_pid = os.getpid()
        self._stopped = False
        self._clock_offset = 0.0
        self._numbers = itertools.count(1)

    # -- reaching it -------------------------------------------------------------------------
    def conninfo(self, dbname: str | None = None) -> str:
        """libpq conninfo for ``dbname`` (default: the admin database), for ``psycopg.connect``."""
        return format_conninfo({**self._params, "dbname": dbname or self.admin_dbname})

    def connect(self, dbname: str | None = None, *, purpose: str = "client",
                **kwargs: Any) -> psycopg.Connection[Any]:
        """A new autocommit connection to ``dbname`` (default: the admin database).

        ``purpose`` goes into the application name; ``kwargs`` go to ``psycopg.connect`` and
        override the server's parameters (``user=``, ``password=``, ``options=``).
        """
        pg = import_psycopg()
        self._check_running()
        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("connect_timeout", 10)
        kwargs.setdefault("application_name", application_name(self.run_id, purpose))
        try:
            conn: psycopg.Connection[Any] = pg.connect(self.conninfo(dbname), **kwargs)
            return conn
        except pg.OperationalError as exc:
            detail = redact(str(exc), kwargs.get("password"), self._params.get("password"))
            name = dbname or self.admin_dbname  # None: libpq's default, the user's name
            raise DatabaseError(f"cannot connect to the {self.provider} server"
                                f"{f' (database {name})' if name else ''}: {detail}".rstrip(),
                                hint=self._connect_hint()) from None

    def admin(self) -> psycopg.Connection[Any]:
        """The shared autocommit connection to the admin database (opened on first use)."""
        if self._admin is not None and not self._admin.closed and _busy(self._admin):
            # Interrupted between sending a statement and reading its result: unusable.
            self._admin.close()
        if self._admin is None or self._admin.closed:
            # Bounded, so a lock held on a shared (url) server cannot hang a run.
            self._admin = self.connect(options=f"-c statement_timeout={ADMIN_TIMEOUT_MS}",
                                       purpose="admin")
        return self._admin

    def query_role(self) -> QueryRole:
        """The role the query under test connects as (created on first use, see
        :mod:`.sandbox`)."""
        if self._query_role is None:
            from .sandbox import create_query_role

            self._check_running()
            self._query_role = create_query_role(self)
        return self._query_role

    def connect_as_query_role(self, dbname: str, *, options: str = "",
                              **kwargs: Any) -> psycopg.Connection[Any]:
        """A new connection to ``dbname`` as :meth:`query_role`, on its own session (``kwargs``
        go to ``psycopg.connect``, e.g. ``prepare_threshold``)."""
        role = self.query_role()
        credentials: dict[str, Any] = {}
        if role.sandboxed:
            credentials = {"user": role.name, "password": role.password}
        return self.connect(dbname, purpose="query", options=options, **credentials, **kwargs)

    def new_object_name(self, prefix: str) -> str:
        """A fresh marked name for a database or role this run creates (:mod:`.marks`)."""
        created = int(time.time() + self._clock_offset)
        return object_name(prefix, self.run_id, created=created, number=next(self._numbers))

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
            if self._roles and not self.owns_cluster:
                from .sandbox import drop_query_role

                for name in reversed(tuple(self._roles)):
                    drop_query_role(self, name)
                    self._roles.pop(name, None)
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
        """Read the version and the server's clock over the admin connection and arm the
        exit-time stop."""
        admin = self.admin()
        info = admin.info
        self.version = (info.parameter_status("server_version") or "").split(" ")[0]
        self.version_num = info.server_version
        row = admin.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
        # Marked names carry the *server's* time, so runs on hosts with skewed clocks agree.
        self._clock_offset = float(row[0]) - time.time() if row else 0.0
        atexit.register(self.stop)

    def _remember_role(self, name: str) -> None:
        self._roles[name] = None

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


def _busy(conn: psycopg.Connection[Any]) -> bool:
    from psycopg.pq import TransactionStatus

    return conn.info.transaction_status == TransactionStatus.ACTIVE
