"""Reports: turn diagnostics (and the errors that stopped part of a check) into text.

Every formatter is a pure function ``(diagnostics, errors, **options) -> str``. The registry maps a
format name to the module and function that implement it; a formatter's module is imported only
when that format is asked for, so the CLI never pays for the formats it does not print.

Example:
    >>> from convguard._model import Diagnostic
    >>> finding = Diagnostic("CG101", "updated-at-anchor", "uses updatedAt", "q.sql", 3, 5, 3, 16)
    >>> print(render("text", [finding]), end="")
    q.sql:3:5: CG101 [updated-at-anchor] uses updatedAt
    Found 1 problem.
    >>> sorted(FORMATTERS)
    ['github', 'json', 'sarif', 'text']
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Protocol

from convguard._errors import ConvguardError
from convguard._model import Diagnostic


class Formatter(Protocol):
    def __call__(self, diagnostics: Sequence[Diagnostic], errors: Sequence[ConvguardError] = (),
                 **options: Any) -> str: ...


# Format name -> (module, function). Explicit, so `convguard check --format` lists exactly these.
FORMATTERS: dict[str, tuple[str, str]] = {
    "text": ("convguard.report._text", "format_text"),
    "json": ("convguard.report._json", "format_json"),
    "sarif": ("convguard.report._sarif", "format_sarif"),
    "github": ("convguard.report._github", "format_github"),
}


def get_formatter(name: str) -> Formatter:
    """The formatter registered as ``name`` (KeyError for an unknown name)."""
    module_name, function_name = FORMATTERS[name]
    formatter: Formatter = getattr(importlib.import_module(module_name), function_name)
    return formatter


def render(name: str, diagnostics: Sequence[Diagnostic],
           errors: Sequence[ConvguardError] = (), **options: Any) -> str:
    """Format ``diagnostics`` with the formatter registered as ``name``."""
    return get_formatter(name)(diagnostics, errors, **options)


__all__ = ["FORMATTERS", "Formatter", "get_formatter", "render"]
