"""The ``docker`` provider: a throwaway PostgreSQL container via testcontainers (optional extra).

testcontainers is imported only here and only when this provider starts; the daemon is pinged
first over its socket with a short timeout, so a missing Docker is a clear error, not a hang.
testcontainers' reaper container removes the container if this process dies.

Example:
    >>> docker_unavailable_reason() is None or "no Docker"   # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any
from urllib.parse import urlsplit

from ..._errors import DatabaseError
from .base import Server

IMAGE_ENV = "CONVGUARD_DOCKER_IMAGE"
DEFAULT_IMAGE = "postgres:18-alpine"
PING_TIMEOUT = 0.5
THROWAWAY = ("postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
             " -c timezone=UTC")


def docker_unavailable_reason(timeout: float = PING_TIMEOUT) -> str | None:
    """Why no Docker daemon answers a ``/_ping`` (``None`` when one does)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    where = urlsplit(host)
    try:
        if where.scheme == "unix":
            if not os.path.exists(where.path):
                return f"no Docker socket at {where.path}"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(where.path)
        elif where.scheme == "tcp":
            sock = socket.create_connection((where.hostname, where.port or 2375), timeout=timeout)
        else:
            return f"unsupported DOCKER_HOST {host}"
        with sock:
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = sock.recv(256).decode(errors="replace")
    except OSError as exc:
        return f"no Docker daemon answers at {host}: {exc}"
    if " 200 " not in answer.split("\r\n", 1)[0]:
        first = answer.splitlines()[0] if answer else "nothing"
        return f"the Docker daemon at {host} answered {first}"
    return None


class DockerServer(Server):
    """A PostgreSQL container; stopping removes it and everything in it."""

    def __init__(self, params: dict[str, Any], container: Any) -> None:
        super().__init__("docker", params, admin_dbname=params["dbname"], owns_cluster=True)
        self.container = container

    @classmethod
    def start(cls) -> DockerServer:
        reason = docker_unavailable_reason()
        if reason is not None:
            raise DatabaseError(f"the docker provider cannot start: {reason}",
                                hint="start Docker, or use --provider embedded")
        container_class = _postgres_container_class()
        container = None
        try:
            # The constructor already talks to the daemon.
            container = container_class(os.environ.get(IMAGE_ENV, DEFAULT_IMAGE), driver=None)
            container.with_command(THROWAWAY)
            container.start()
            params = {"host": container.get_container_host_ip(),
                      "port": int(container.get_exposed_port(5432)),
                      "user": container.username, "password": container.password,
                      "dbname": container.dbname}
            server = cls(params, container)
            server._started()
        except Exception as exc:
            if container is not None:
                _stop_quietly(container)
            if isinstance(exc, DatabaseError):
                raise
            raise DatabaseError(f"the PostgreSQL container did not start: {exc}",
                                hint="check Docker and the image"
                                f" {os.environ.get(IMAGE_ENV, DEFAULT_IMAGE)}"
                                f" (set {IMAGE_ENV} to change it)") from exc
        return server

    def _shutdown(self) -> None:
        self.container.stop()


def _stop_quietly(container: Any) -> None:
    with contextlib.suppress(Exception):  # the start failure is the error worth reporting
        container.stop()


def _postgres_container_class() -> Any:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        try:
            from testcontainers.postgres import PostgresContainer  # testcontainers < 4.10
        except ImportError as exc:
            raise DatabaseError("the docker provider needs testcontainers",
                                hint="pip install 'convguard[docker]'") from exc
    return PostgresContainer
