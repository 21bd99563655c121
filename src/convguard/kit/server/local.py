"""The ``embedded`` and ``system`` providers: a private ``postgres`` per run, from a cached cluster.

A start: sweep orphans of killed runs, register a run folder (tmpfs when possible), get the cached
cluster (``initdb`` on the first run only), copy it into the run folder (``cp -a`` in the
background while psycopg is imported), start ``postgres`` directly with throwaway settings, poll
``postmaster.pid`` until ``ready``, connect once with the cluster's bootstrap password and replace
it with a password of the run's own. The server runs as an unprivileged user when we are root,
dies with us (parent-death signal) and takes its run folder along when stopped. It listens on a
unix socket only (mode 0700, in the run's 0700 folder) and asks every role for a SCRAM password:
a query of another run, which knows none of this run's passwords, cannot get in.

Example:
    >>> server = LocalServer.start("embedded")      # doctest: +SKIP
    >>> server.version_num >= 130000                 # doctest: +SKIP
    True
    >>> server.stop()                                # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from ..._errors import DatabaseError
from .base import Server, import_psycopg
from .binaries import PgBinaries, ensure_usable_by_others, locate_binaries
from .cluster_cache import cached_cluster, read_secret, sweep_staging
from .credentials import new_password, scram_verifier
from .postmaster import PORT, Postmaster, log_tail
from .privileges import server_user
from .runs import RunFolder, cache_dir, sweep_dead_run_folders, sweep_orphans
from .treecopy import TreeCopy

START_TIMEOUT = 30.0
COPY_TIMEOUT = 60.0


class LocalServer(Server):
    """A ``postgres`` this process started in a run folder of its own."""

    def __init__(self, provider: str, bins: PgBinaries, run: RunFolder,
                 postmaster: Postmaster, password: str) -> None:
        super().__init__(provider, {"host": str(run.path), "port": PORT, "user": "postgres",
                                    "password": password},
                         admin_dbname="postgres", owns_cluster=True, run_id=run.run_id)
        self.bins = bins
        self.run = run
        self.postmaster = postmaster

    @property
    def pid(self) -> int:
        """The postmaster's process id."""
        return self.postmaster.pid

    @property
    def run_dir(self) -> Path:
        return self.run.path

    @classmethod
    def start(cls, provider: str, *, bin_dir: str | None = None) -> LocalServer:
        bins = locate_binaries(provider, bin_dir)
        user = server_user()
        if user is not None:
            ensure_usable_by_others(bins)
        cache = cache_dir()
        try:
            sweep_orphans(cache)
            sweep_dead_run_folders()  # a dead run's of any cache, when it proves it is one
            sweep_staging(cache)
            run = RunFolder.create(cache, user)
        except OSError as exc:
            raise DatabaseError(f"cannot register a run in {cache}: {exc}",
                                hint="set CONVGUARD_CACHE_DIR to a writable folder") from exc
        copy: TreeCopy | None = None
        postmaster: Postmaster | None = None
        try:
            cluster = cached_cluster(bins, user, cache, scratch=run.path)
            copy = TreeCopy.start(cluster, run.data_dir)
            import_psycopg()  # ~125 ms on a cold interpreter, overlapping the copy
            copy.wait(COPY_TIMEOUT)
            major = int((run.data_dir / "PG_VERSION").read_text().strip())
            postmaster = Postmaster.spawn(bins, run.data_dir, run.path, run.log_file, user,
                                          major=major)
            postmaster.wait_ready(START_TIMEOUT)
            server = cls(provider, bins, run, postmaster, read_secret(cluster))
            server._started()
            server._own_password()
        except BaseException as exc:
            if copy is not None:
                copy.cancel()
            if postmaster is not None:
                postmaster.stop()
            run.remove()
            if isinstance(exc, OSError):
                hint = f"check the free space and permissions of {run.path.parent} and {cache}"
                raise DatabaseError(f"cannot start the {provider} server: {exc}",
                                    hint=hint) from exc
            raise
        return server

    def _own_password(self) -> None:
        """Replace the cluster's bootstrap password with one only this run knows."""
        from psycopg import sql

        password = new_password()
        self.admin().execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(
            sql.Literal(scram_verifier(password))))
        self._params["password"] = password

    def _connect_hint(self) -> str:
        return f"the server log ends with:\n{log_tail(self.run.log_file, 10)}"

    def _shutdown(self) -> None:
        try:
            self.postmaster.stop()
        finally:
            self.run.remove()
