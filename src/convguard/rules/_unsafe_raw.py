"""CG103: SQL built from strings and run through an unsafe raw call."""

from __future__ import annotations

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
        yield Finding(0, 0, f"{call.callee}({argument}) builds SQL from values: they are spliced "
                      "into the SQL text, not bound as parameters",
                      "use a tagged template ($queryRaw`...${value}...` or Prisma.sql) so values "
                      "are bound parameters", host_span=call.span)
