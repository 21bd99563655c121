"""The human report, as ruff prints it: one line per finding, its fix below, a summary last.

Example:
    >>> from convguard._model import Diagnostic
    >>> finding = Diagnostic("CG101", "updated-at-anchor", "anchors on updatedAt", "a.ts", 7, 3,
    ...                      7, 14, fix="anchor on the first outbound message")
    >>> print(format_text([finding]), end="")
    a.ts:7:3: CG101 [updated-at-anchor] anchors on updatedAt
      fix: anchor on the first outbound message
    Found 1 problem.
    >>> format_text([])
    'All checks passed.\\n'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convguard._ci_log import safe_path, safe_text
from convguard._errors import ConvguardError
from convguard._model import Diagnostic


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def summary_line(problems: int, errors: int) -> str:
    """``Found N problem(s).`` or ``All checks passed.``, plus the errors that cut a check short.

    Example:
        >>> summary_line(0, 1)
        'No problems found, but 1 error stopped part of the check (see above).'
    """
    if errors:
        stopped = f"{_plural(errors, 'error')} stopped part of the check (see above)"
        if problems:
            return f"Found {_plural(problems, 'problem')}; {stopped}."
        return f"No problems found, but {stopped}."
    return f"Found {_plural(problems, 'problem')}." if problems else "All checks passed."


def format_text(diagnostics: Sequence[Diagnostic], errors: Sequence[ConvguardError] = (),
                **_options: Any) -> str:
    """``path:line:col: CODE [name] message`` per finding, ``  fix: hint`` below, then a summary.

    Errors are not repeated here (the CLI prints them on stderr); the summary counts them.
    """
    lines = []
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        # The path and message come from the repository under check: escaped for a CI log.
        lines.append(f"{safe_path(diagnostic.path)}:{diagnostic.line}:{diagnostic.column}: "
                     f"{diagnostic.code} [{diagnostic.name}] {safe_text(diagnostic.message)}")
        if diagnostic.fix:
            lines.append(f"  fix: {safe_text(diagnostic.fix)}")
    lines.append(summary_line(len(diagnostics), len(errors)))
    return "\n".join(lines) + "\n"
