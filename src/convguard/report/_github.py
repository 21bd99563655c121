"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

Escaping follows the runner's rules: in the message ``%``, ``\\r`` and ``\\n``; in a property
value also ``:`` and ``,``.

Example:
    >>> from convguard._model import Diagnostic
    >>> finding = Diagnostic("CG1", "anchor", "50% off\\nnext", "a b.ts", 7, 3, 7, 14)
    >>> print(format_github([finding], root="."), end="")
    ::error file=a b.ts,line=7,col=3,endLine=7,endColumn=14,title=CG1 anchor::50%25 off%0Anext
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convguard._errors import ConvguardError
from convguard._model import Diagnostic
from convguard.report._paths import relative_path


def escape_data(text: str) -> str:
    """Escape a workflow command's message.

    Example:
        >>> escape_data("a%b\\r\\nc")
        'a%25b%0D%0Ac'
    """
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value.

    Example:
        >>> escape_property("C:\\\\a,b")
        'C%3A\\\\a%2Cb'
    """
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, properties: dict[str, object], message: str) -> str:
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    return f"::{level} {rendered}::{escape_data(message)}"


def format_github(diagnostics: Sequence[Diagnostic], errors: Sequence[ConvguardError] = (),
                  *, root: str | None = None, **_options: Any) -> str:
    """One ``::error``/``::warning`` command per finding, and one ``::error`` per error."""
    lines = []
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key):
        message = diagnostic.message + (f"\nfix: {diagnostic.fix}" if diagnostic.fix else "")
        lines.append(_command(diagnostic.severity, {
            "file": relative_path(diagnostic.path, root),
            "line": diagnostic.line,
            "col": diagnostic.column,
            "endLine": diagnostic.end_line,
            "endColumn": diagnostic.end_column,
            "title": f"{diagnostic.code} {diagnostic.name}",
        }, message))
    for error in errors:
        properties: dict[str, object] = {}
        if error.path:
            properties["file"] = relative_path(error.path, root)
        if error.line:
            properties["line"] = error.line
        properties["title"] = "convguard error"
        message = error.message + (f"\nhint: {error.hint}" if error.hint else "")
        lines.append(_command("error", properties, message))
    return "".join(line + "\n" for line in lines)
