"""The machine report: a JSON list of findings with a stable key order.

Example:
    >>> from convguard._model import Diagnostic
    >>> finding = Diagnostic("CG101", "updated-at-anchor", "uses updatedAt", "a.ts", 7, 3, 7, 14)
    >>> " ".join(diagnostic_dict(finding))
    'code name message fix path line column end_line end_column severity function'
    >>> format_json([])
    '[]\\n'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from convguard._errors import ConvguardError
from convguard._model import Diagnostic


def diagnostic_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    """One finding as a JSON object (this key order is part of the interface)."""
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "message": diagnostic.message,
        "fix": diagnostic.fix,
        "path": diagnostic.path,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "end_line": diagnostic.end_line,
        "end_column": diagnostic.end_column,
        "severity": diagnostic.severity,
        "function": diagnostic.function,
    }


def format_json(diagnostics: Sequence[Diagnostic], errors: Sequence[ConvguardError] = (),
                **_options: Any) -> str:
    """A JSON list of findings, sorted by path, line, column and code.

    Errors are not part of the list (the CLI prints them on stderr and exits 2).
    """
    ordered = sorted(diagnostics, key=lambda d: d.sort_key)
    return json.dumps([diagnostic_dict(d) for d in ordered], indent=2, ensure_ascii=False) + "\n"
