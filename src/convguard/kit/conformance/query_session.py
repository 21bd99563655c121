"""The query under test's own connection: least privilege, read only, a hard deadline.

One :class:`QuerySession` per work database, connected as the run's query role
(:meth:`Server.connect_as_query_role`, never ``SET ROLE``, which a query could reset). Each run of
a query is one transaction, ``BEGIN READ ONLY`` plus ``SET LOCAL statement_timeout``, ended by the
kit; the session itself defaults to read-only transactions, so a template that sends ``COMMIT``
(no parameters: the simple protocol, as node-postgres sends it) still cannot write in the next
one, and the role's privileges (``SELECT`` on the schema's tables, nothing else) are the barrier
when it turns that default off. A query sent without parameters may change the session (``SET``
after its ``COMMIT``, a cursor ``WITH HOLD``, a ``LISTEN``, an advisory lock): ``RESET ALL``,
``CLOSE ALL``, ``UNLISTEN *`` and ``pg_advisory_unlock_all()`` after it return the session to
its defaults for the next scenario. Every run is bounded by a :class:`~.deadline.Deadline`; a lost
connection (ended by the deadline, or by the query itself) is reported as the query's failure
and replaced for the next run.

Example:
    >>> session = QuerySession(server, "convguard_run_4242_9f86d081_tt6t04w_2")  # doctest: +SKIP
    >>> rows, failure = session.run(bound, "10s")                                 # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convguard._errors import QueryFailed
from convguard.kit.conformance.deadline import (
    DEFAULT_SECONDS,
    Deadline,
    TimeBound,
    deadline_seconds,
    timeout_seconds,
)
from convguard.kit.conformance.rows import Rows

if TYPE_CHECKING:
    import psycopg

    from convguard.kit.conformance.binding import BoundQuery
    from convguard.kit.server import Server

SESSION_OPTIONS = ("-c default_transaction_read_only=on -c TimeZone=UTC"
                   " -c statement_timeout=10s -c idle_in_transaction_session_timeout=60s")


class QuerySession:
    """The query role's connection to one database, opened on first use, reopened when lost."""

    def __init__(self, server: Server, dbname: str) -> None:
        self.server = server
        self.dbname = dbname
        self._conn: psycopg.Connection[Any] | None = None

    def connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self.close()
            self._conn = self.server.connect_as_query_role(self.dbname, options=SESSION_OPTIONS)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def run(self, bound: BoundQuery, statement_timeout: str, *,
            time_zone: str | None = None) -> tuple[Rows | None, QueryFailed | None]:
        """Run ``bound`` in one read-only transaction; ``(rows, None)`` or ``(None, failure)``."""
        import psycopg

        from convguard.kit.conformance.execute import execute_bound

        conn = self.connection()
        self._end(conn, simple=False)  # whatever state a previous run left
        begin = f"BEGIN READ ONLY; SET LOCAL statement_timeout = {_literal(statement_timeout)}"
        if time_zone is not None:
            begin += f"; SET LOCAL TimeZone = {_literal(time_zone)}"
        time_bound = TimeBound(self.server, statement_timeout)
        rows: Rows | None = None
        failure: QueryFailed | None = None
        deadline: Deadline | None = None
        try:
            conn.execute(begin, prepare=False)
            with time_bound.watch(conn) as deadline:
                try:
                    rows = execute_bound(conn, bound)
                except QueryFailed as error:
                    failure = error
            self._end(conn, simple=not bound.driver_values())
        except psycopg.Error as error:  # the connection itself failed around the query
            failure = failure or QueryFailed(f"the query's connection failed: {error}".strip(),
                                             sqlstate=getattr(error, "sqlstate", None))
        overrun = time_bound.overrun(deadline) if deadline is not None else None
        if overrun is not None:
            failure = overrun
        elif conn.closed or conn.broken:
            failure = QueryFailed(
                "the query's connection was closed by the server"
                + (f": {failure.message}" if failure else ""),
                sqlstate=failure.sqlstate if failure else None,
                hint="did the query end its own backend (pg_terminate_backend)?")
        if conn.closed or conn.broken:
            self.close()
        return (None, failure) if failure is not None else (rows, None)

    def _end(self, conn: psycopg.Connection[Any], *, simple: bool) -> None:
        if conn.closed or conn.broken:
            return
        from psycopg.pq import TransactionStatus

        # COMMIT of a read-only transaction writes nothing, and unlike ROLLBACK it keeps
        # psycopg's prepared statements; an aborted transaction rolls back either way. A query
        # that opened transactions of its own may need more than one.
        for _ in range(3):
            if conn.info.transaction_status == TransactionStatus.IDLE:
                break
            conn.execute("COMMIT" if conn.info.transaction_status == TransactionStatus.INTRANS
                          else "ROLLBACK", prepare=False)
        if simple:
            # What DISCARD ALL does, but for the prepared statements: psycopg's own would go
            # with them (a query's PREPARE is harmless: its name never collides with psycopg's).
            conn.execute("CLOSE ALL; RESET ALL; UNLISTEN *; SELECT pg_advisory_unlock_all()",
                         prepare=False)


__all__ = ["DEFAULT_SECONDS", "SESSION_OPTIONS", "QuerySession", "deadline_seconds",
           "timeout_seconds"]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
