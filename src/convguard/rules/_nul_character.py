"""CG005: a NUL character in SQL text, which PostgreSQL's wire protocol cannot carry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from convguard.rules._base import Finding, RuleContext, rule

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

# In a JavaScript template the text is cooked: these escapes become U+0000 in the string Prisma
# sends (a backslash escaped by another one is a literal backslash, hence the look-behind).
_JS_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*(\\0(?![0-9])|\\x00|\\u0000|\\u\{0+\})")


def nul_positions(sql: str, *, script: bool) -> list[tuple[int, int, str]]:
    """``(start, end, as written)`` of every NUL in the SQL text as the driver will send it.

    Example:
        >>> nul_positions("SELECT 1 \\x00", script=False)
        [(9, 10, 'U+0000')]
        >>> nul_positions(r"SELECT '\\0', '\\\\0', '\\x00'", script=True)
        [(8, 10, '\\\\0'), (21, 25, '\\\\x00')]
    """
    found = []
    index = sql.find("\x00")
    while index >= 0:
        found.append((index, index + 1, "U+0000"))
        index = sql.find("\x00", index + 1)
    if script and "\\" in sql:
        found += [(match.start(1), match.end(1), match.group(1))
                  for match in _JS_NUL_ESCAPE.finditer(sql)]
    return sorted(found)


@rule("CG005", "nul-character-in-sql", needs_tree=False)
def nul_character_in_sql(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                         context: RuleContext) -> Iterator[Finding]:
    """The SQL text holds a NUL character (U+0000).

    ## What it does
    Reports a NUL character in a query's text: a literal one, or in a JavaScript template an
    escape that becomes one (`\\0`, `\\x00`, `\\u0000`, `\\u{0}`).

    ## Why is this bad?
    PostgreSQL's protocol ends a statement's text at the first NUL, so the statement can never
    run: node-postgres sends the whole string and the server rejects the message (08P01,
    "insufficient data left in message"); libpq-based clients silently cut the statement short.
    Parsers stop there too, so nothing after the NUL would be checked. PostgreSQL `text` cannot
    hold a NUL either.

    ## Example
    ```ts
    const leads = await prisma.$queryRaw`
      SELECT id FROM "Lead" WHERE "ghlAppointmentId" <> '\\0'`;
    ```

    ## Use instead
    ```ts
    const leads = await prisma.$queryRaw`
      SELECT id FROM "Lead" WHERE "ghlAppointmentId" <> ''`;
    ```
    """
    script = not query.path.lower().endswith(".sql")
    for start, end, written in nul_positions(query.sql, script=script):
        yield Finding(start, end,
                      f"NUL character ({written}) in the SQL text: PostgreSQL rejects the "
                      "statement (08P01: its protocol ends the text at a NUL) and nothing after "
                      "it was checked",
                      "remove it; text cannot hold a NUL (for a zero byte use bytea, "
                      "e.g. '\\x00'::bytea)")
        return
