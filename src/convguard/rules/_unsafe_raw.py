"""CG103: SQL built from strings and run through an unsafe raw call."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from convguard.rules._base import Finding, RuleContext, rule

if TYPE_CHECKING:
    from convguard._model import ExtractionResult


@rule("CG103", "unsafe-raw-sql", kind="file")
def unsafe_raw_sql(extraction: ExtractionResult, context: RuleContext) -> Iterator[Finding]:
    """SQL built from values runs through `$queryRawUnsafe`, `$executeRawUnsafe` or `Prisma.raw`.

    ## What it does
    Finds calls of `$queryRawUnsafe`, `$executeRawUnsafe` and `Prisma.raw` whose SQL
    argument is built from values: a template with interpolations, `+` concatenation, or a
    variable. One plain string literal is fine.

    ## Why is this bad?
    These calls send their argument as SQL text: every value spliced into it is SQL injection
    waiting to happen, and convguard cannot see the query that will run. Tagged templates
    (`$queryRaw`...${value}...```, `Prisma.sql``) bind values as parameters instead.

    ## Example
    ```ts
    const rows = await prisma.$queryRawUnsafe(
      'SELECT id FROM "AIDraft" WHERE channel = ' + quote(channel));
    ```

    ## Use instead
    ```ts
    const rows = await prisma.$queryRaw`
      SELECT id FROM "AIDraft" WHERE channel = ${channel}`;
    ```
    """
    for call in extraction.unsafe_calls:
        if not call.dynamic:
            continue
        argument = " ".join(call.argument_text.split())
        if len(argument) > 50:
            argument = argument[:49] + "…"
        fix = _set_config_fix(call.callee, call.argument_text) or (
            "use a tagged template ($queryRaw`...${value}...` or Prisma.sql) so values are bound "
            "parameters")
        yield Finding(0, 0, f"{call.callee}({argument}) builds SQL from values: they are spliced "
                      "into the SQL text, not bound as parameters", fix, host_span=call.span)


_SET = re.compile(r"""^\s*[`'"]\s*SET\s+(?:(LOCAL|SESSION)\s+)?([A-Za-z_][\w.]*)\s*(?:=|\bTO\b)""",
                  re.IGNORECASE)
_INTERPOLATION = re.compile(r"\$\{(.+?)\}")
_CONCATENATED = re.compile(r"""[`'"]\s*\+\s*(.+?)\s*(?:\+\s*[`'"].*)?$""", re.DOTALL)


def _set_config_fix(callee: str, argument: str) -> str | None:
    """For a spliced ``SET [LOCAL] name = value``: the bound form that works, ``set_config``.

    A tagged-template ``SET ... = ${value}`` is no fix: PostgreSQL takes no parameter in ``SET``
    (42601, see CG105).

    Example:
        >>> _set_config_fix("tx.$executeRawUnsafe", '"SET LOCAL statement_timeout = " + ms')
        "tx.$executeRaw`SELECT set_config('statement_timeout', ${String(ms)}, true)` (the value is a bound parameter; a tagged-template SET fails: PostgreSQL takes no parameter in SET, 42601)"
    """
    match = _SET.match(argument)
    if match is None:
        return None
    local = "true" if (match.group(1) or "").upper() == "LOCAL" else "false"
    rest = argument[match.end():]
    value = _INTERPOLATION.search(rest) or _CONCATENATED.search(rest)
    expression = value.group(1).strip() if value else "value"
    if not expression.startswith("String("):
        expression = f"String({expression})"
    receiver = callee.rsplit(".", 1)[0] + "." if "." in callee else ""
    return (f"{receiver}$executeRaw`SELECT set_config('{match.group(2)}', "
            f"${{{expression}}}, {local})` (the value is a bound parameter; a "
            "tagged-template SET fails: PostgreSQL takes no parameter in SET, 42601)")
