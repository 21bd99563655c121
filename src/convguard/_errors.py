"""Exceptions convguard raises.

The tree::

    ConvguardError                 every error convguard raises on purpose (exit code 2 in the CLI)
    ├── InputError                 a file, path or selector a user gave cannot be used
    │   ├── ExtractionError        a host file cannot be lexed (unterminated template, ...)
    │   └── SelectorError          PATH::FUNCTION names no query
    ├── ConfigError                convguard.toml / [tool.convguard] is invalid
    │   └── BindingError           an interpolation maps to no profile role
    ├── ScenarioError              a scenario file is invalid
    │   └── ScenarioErrors         several scenario files are (each one a ScenarioError)
    ├── SchemaError                a Prisma schema cannot be turned into DDL
    └── DatabaseError              no PostgreSQL could be started or reached
        └── QueryFailed            PostgreSQL rejected a query (carries the SQLSTATE)

Each error carries where it happened (``path``, ``line``) and a hint of what to do, so the CLI can
print ``path:line: message`` and ``hint: ...`` instead of a traceback.

Example:
    >>> str(InputError("file not found", path="a.ts", hint="check the path"))
    'a.ts: file not found (hint: check the path)'
"""

from __future__ import annotations

from collections.abc import Sequence


class ConvguardError(Exception):
    """Base of every error convguard raises on purpose."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint

    def location(self) -> str:
        if self.path and self.line:
            return f"{self.path}:{self.line}"
        return self.path or ""

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} (hint: {self.hint})" if self.hint else text


class InputError(ConvguardError):
    """A file, path or selector given by the user cannot be used."""


class ExtractionError(InputError):
    """A host file cannot be lexed or holds no usable query."""


class SelectorError(InputError):
    """``PATH::FUNCTION`` selects no query (or more than one where one is needed)."""


class ConfigError(ConvguardError):
    """The configuration is invalid."""


class BindingError(ConfigError):
    """A query's interpolation maps to no profile role, or a role has no usable value."""


class ScenarioError(ConvguardError):
    """A scenario file is invalid."""


class ScenarioErrors(ScenarioError):
    """Every scenario file that cannot be used, in file order (``errors``, at least one).

    A subclass of :class:`ScenarioError` so a caller that catches that still works: ``message``,
    ``path``, ``line`` and ``hint`` are the first error's; ``str()`` lists them all, one a line.

    Example:
        >>> both = ScenarioErrors([ScenarioError("the file is empty", path="a.yaml", line=1),
        ...                        ScenarioError("unknown key 'x'", path="b.yaml", line=3)])
        >>> both.path, len(both.errors)
        ('a.yaml', 2)
        >>> print(both)
        a.yaml:1: the file is empty
        b.yaml:3: unknown key 'x'
    """

    def __init__(self, errors: Sequence[ScenarioError]) -> None:
        if not errors:
            raise ValueError("ScenarioErrors needs at least one error")
        flat = tuple(inner for error in errors
                     for inner in (error.errors if isinstance(error, ScenarioErrors) else (error,)))
        first = flat[0]
        super().__init__(first.message, path=first.path, line=first.line, hint=first.hint)
        self.errors: tuple[ScenarioError, ...] = flat

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)

    def __reduce__(self) -> tuple[type[ScenarioErrors], tuple[tuple[ScenarioError, ...]]]:
        # ``args`` holds only the first message: rebuilt from it, the list would be lost (pickle,
        # copy, a pytest-xdist worker)
        return type(self), (self.errors,)


class SchemaError(ConvguardError):
    """A schema (built-in or Prisma) cannot be used."""


class DatabaseError(ConvguardError):
    """No PostgreSQL server could be started or reached."""


class QueryFailed(DatabaseError):
    """PostgreSQL rejected a query; ``sqlstate`` is its five-character error code."""

    def __init__(self, message: str, *, sqlstate: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.sqlstate = sqlstate
