"""CG101: an interpolation inside a quoted literal, identifier or comment is not a parameter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from convguard.rules._base import Finding, RuleContext, rule

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery, Placeholder
    from convguard._parse import ParsedQuery


@rule("CG101", "interpolation-in-quotes")
def interpolation_in_quotes(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                            context: RuleContext) -> Iterator[Finding]:
    """An interpolation sits inside a quoted literal, a quoted identifier or a comment.

    ## What it does
    Finds placeholders whose text falls inside a string literal (`'...'`, `E'...'`,
    `$$...$$`), a quoted identifier (`"..."`) or a comment of the SQL.

    ## Why is this bad?
    Prisma's `${...}` interpolations are bound parameters, not text: inside quotes the
    interpolation becomes the literal characters `$1`. `interval '${days} days'` is the
    string `'$1 days'` (PostgreSQL rejects it, or the statement expects fewer parameters than
    it is given), and `LIKE '%${q}%'` searches for the text `$1`.

    ## Example
    ```ts
    const rows = await prisma.$queryRaw`
      SELECT d.id FROM "AIDraft" d
      WHERE d."createdAt" > now() - interval '${days} days'`;
    ```

    ## Use instead
    ```ts
    const rows = await prisma.$queryRaw`
      SELECT d.id FROM "AIDraft" d
      WHERE d."createdAt" > now() - (${days} * interval '1 day')`;
    ```
    """
    if parsed.error is not None or parsed.tree is None:
        return
    proven = parsed.parameter_starts()
    for placeholder in query.placeholders:
        if placeholder.sql_start in proven:
            continue
        quoted = parsed.quoted_at(placeholder.sql_start)
        if quoted is not None:
            text = parsed.sql[quoted.start:quoted.end]
            yield Finding(placeholder.sql_start, placeholder.sql_end,
                          f"{_shown(placeholder)} is inside the {quoted.kind} {_trim(text)}: "
                          f"it is sent as the text \"${placeholder.index}\", not as a parameter",
                          _fix(quoted.kind, text))
        elif parsed.comment_at(placeholder.sql_start) is not None:
            yield Finding(placeholder.sql_start, placeholder.sql_end,
                          f"{_shown(placeholder)} is inside a SQL comment: the statement has one "
                          "parameter fewer than the driver sends",
                          "move the interpolation out of the comment, or delete it")


def _shown(placeholder: Placeholder) -> str:
    expression = placeholder.expression
    return expression if expression.startswith(":") else "${" + expression + "}"


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:39] + "…"


def _fix(kind: str, text: str) -> str:
    lowered = text.lower()
    if kind == "quoted identifier":
        return "identifiers cannot be parameters: choose the identifier from a fixed list in code " \
               "and splice it with Prisma.raw only after validating it"
    if any(unit in lowered for unit in ("day", "hour", "minute", "month", "week", "second", "year")):
        return "multiply a parameter by a unit interval: (${n} * interval '1 day')"
    if "%" in text:
        return "concatenate outside the quotes: '%' || ${q} || '%'"
    return "pass the whole value as one parameter, outside the quotes"
