"""What convguard prints to a CI log must never start a GitHub Actions workflow command.

The runner reads every line a step prints; a line that starts (after blanks) with
``::name ...::`` is a workflow command (``::error``, ``::add-mask``, ``::stop-commands``), and one
that holds ``##[name]`` anywhere is an old-style one. File names, SQL text and scenario values
come from the repository under check, so a file called ``"a\\n::error::x.ts"`` or
``"::error::x.ts"`` would write annotations, or worse, in the log of whoever checks it.

Two layers keep them out of ``text`` reports, ``extract`` and every ``stderr`` line:

- :func:`safe_path` escapes a file name where it is printed: control characters (``\\n``,
  ``\\r``, ...) as backslash escapes, a leading blank or ``:`` behind ``./``, ``##[`` as ``##%5B``;
- :func:`neutralize_line` is the stream's last word on each line: a line that would parse as a
  workflow command has its first ``:`` written ``%3A`` (GitHub's own escape for ``:``).

The ``github`` format writes commands on purpose and escapes their properties and data by the
runner's rules (:mod:`convguard.report._github`).

Example:
    >>> safe_path("::error::x.ts"), safe_path("a\\n::warning::b.sql")
    ('./::error::x.ts', 'a\\\\n::warning::b.sql')
    >>> neutralize_line("  ::error file=a.ts::pwned\\n")
    '  %3A:error file=a.ts::pwned\\n'
    >>> neutralize_line("SELECT x::text\\n")
    'SELECT x::text\\n'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convguard._errors import ConvguardError

#: The runner's line breaks (.NET ReadLine) and the separators some log viewers also break on.
_CONTROL = r"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]"
#: The same, less the line feed and tab that free text keeps.
_CONTROL_IN_TEXT = r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u2028\u2029]"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_COMMAND = r"^(\s*):(:[A-Za-z0-9_-]+[^\n]*?::)"
_OLD_STYLE = "##["


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else
                                f"\\u{ord(char):04x}")


def safe_path(path: str) -> str:
    """A file name as a CI log may show it (see the module docstring).

    Example:
        >>> safe_path("fixtures/q.sql"), safe_path(" ::x"), safe_path("a##[error]b")
        ('fixtures/q.sql', './ ::x', 'a##%5Berror]b')
    """
    text = re.sub(_CONTROL, _escape_control, path).replace(_OLD_STYLE, "##%5B")
    if text[:1] == ":" or text[:1].isspace():
        text = "./" + text
    return text


def safe_text(text: str) -> str:
    """Free text (a message, a hint): its own line breaks kept, every other control character
    escaped, and no line of it a workflow command.

    Example:
        >>> print(safe_text('column "a\\n::error::b" not found\\r'))
        column "a
        %3A:error::b" not found\\r
    """
    escaped = re.sub(_CONTROL_IN_TEXT, _escape_control, text.replace("\r\n", "\n"))
    return "\n".join(neutralize_line(line) for line in escaped.split("\n"))


def format_error(error: ConvguardError, prog: str = "convguard") -> str:
    """``prog: error: path:line: message`` and ``  hint: ...``: the one way errors are printed
    (an error carrying ``errors``, such as ``ScenarioErrors``, prints each of them in turn).

    Example:
        >>> from convguard._errors import InputError
        >>> print(format_error(InputError("no query", path="a\\n::error::b.ts", line=3,
        ...                               hint="name one")), end="")
        convguard: error: a\\n::error::b.ts:3: no query
          hint: name one
    """
    text = ""
    # several errors at once (ScenarioErrors: every scenario file that cannot be used)
    for each in getattr(error, "errors", None) or (error,):
        where = safe_path(each.path) if each.path else ""
        if where and each.line:
            where += f":{each.line}"
        text += f"{prog}: error: {where + ': ' if where else ''}{safe_text(each.message)}\n"
        if each.hint:
            text += f"  hint: {safe_text(each.hint)}\n"
    return text


def neutralize_line(line: str) -> str:
    """One output line, with a workflow command in it made inert (anything else unchanged)."""
    line = line.replace(_OLD_STYLE, "##%5B")
    return re.sub(_COMMAND, r"\1%3A\2", line, count=1)


__all__ = ["format_error", "neutralize_line", "safe_path", "safe_text"]
