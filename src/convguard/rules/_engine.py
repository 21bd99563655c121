"""Rules about the query as a whole: invalid SQL, unresolved references, unused suppressions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from convguard.rules._base import Finding, Rule, RuleContext, at, rule, statement_start

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery


@rule("CG001", "invalid-sql", needs_tree=False)
def invalid_sql(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                context: RuleContext) -> Iterator[Finding]:
    """PostgreSQL cannot parse the query.

    ## What it does
    Parses every extracted query with PostgreSQL's own grammar (libpg_query) and reports a syntax
    error at the position PostgreSQL gives, mapped back to the source file.

    ## Why is this bad?
    The query fails every time it runs. Some parsers accept SQL that PostgreSQL rejects
    (`SELECT , FROM t`), so convguard takes PostgreSQL's verdict, never a lenient one. A raw
    query also runs as one prepared statement, which cannot hold several commands.

    ## Example
    ```sql
    SELECT , FROM "Lead"
    ```

    ## Use instead
    ```sql
    SELECT id FROM "Lead"
    ```
    """
    error = parsed.error
    if error is None:
        return
    from convguard.rules._nul_character import nul_positions

    nuls = nul_positions(query.sql, script=not query.path.lower().endswith(".sql"))
    if nuls and (error.offset is None or error.offset >= nuls[0][0]):
        return  # the NUL is the defect (CG005): what a parser makes of it after that is noise
    if error.offset is not None:
        start = error.offset
    elif "end of input" in error.message:
        start = max(len(parsed.sql.rstrip()) - 1, 0)
    else:
        start = statement_start(parsed.sql)
    message = f"invalid SQL: {error.message}"
    end_of_fragment = _fragment_end_before(query, parsed.sql, start)
    if end_of_fragment is not None:
        start, message = end_of_fragment, f"{message}, right after this spliced fragment"
    yield Finding(start, start + 1, message,
                  "fix the syntax; convguard checks nothing else in a query PostgreSQL rejects")


def _fragment_end_before(query: ExtractedQuery, sql: str, offset: int) -> int | None:
    """Where a syntax error found at the first token after a spliced fragment is reported: the
    fragment's last character (an unclosed parenthesis or a dangling ``AND`` in the fragment is
    what PostgreSQL noticed only at the next token). None when the error is not at such a seam.
    """
    if len(query.segments) < 2 or offset >= len(sql):
        return None
    previous = offset - 1
    while previous >= 0 and sql[previous].isspace():
        previous -= 1
    if previous < 0:
        return None
    before, at = query.host_offset(previous), query.host_offset(offset)
    if 0 <= at - before <= offset - previous:
        return None  # contiguous in the host: one template, not a seam between pieces
    return previous


@rule("CG003", "unresolved-column")
def unresolved_column(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                      context: RuleContext) -> Iterator[Finding]:
    """A column or table reference resolves to nothing in the schema.

    ## What it does
    Resolves every column reference through aliases, subqueries and CTEs to a column of the
    application's schema and reports references that resolve to nothing: an unknown column, a
    missing FROM entry, an ambiguous name, or an unquoted camelCase name that PostgreSQL folds to
    lower case. Writes too: the column list of an `INSERT`, the `SET` targets of an `UPDATE` and
    of `ON CONFLICT ... DO UPDATE` (columns of the target table, whatever `FROM` holds), the
    conflict columns, `EXCLUDED.col` (the target table's columns) and `RETURNING`, also inside a
    data-modifying CTE. A write into a table the schema does not describe, or into a CTE's name,
    is not judged; `INSERT ... SELECT` resolves its `SELECT` like any query. The schema is `schema = ...` of the configuration, else the Prisma schema found
    from the checked file's folder upwards (`prisma/schema.prisma`, a `prisma/schema/` folder, or
    the one `package.json` or `prisma.config.ts` names); with none the rule is off, with a note
    (a query bound to a profile uses the profile's data model). Queries that touch no table of
    the schema are not judged (convguard makes no claim about tables it does not know).

    ## Why is this bad?
    PostgreSQL rejects the query (42703, 42P01, 42702). And a rule that cannot trace a column to
    the schema cannot prove anything about it: convguard reports it instead of guessing.

    ## Example
    ```sql
    SELECT l.appointmentBookedAt FROM "Lead" l;
    INSERT INTO "Message" (id, "leadId", "receivedAtt") VALUES ($1, $2, $3)
    ON CONFLICT (id) DO UPDATE SET "receivedAtt" = EXCLUDED."receivedAtt"
    ```

    ## Use instead
    ```sql
    SELECT l."appointmentBookedAt" FROM "Lead" l;
    INSERT INTO "Message" (id, "leadId", "sentAt") VALUES ($1, $2, $3)
    ON CONFLICT (id) DO UPDATE SET "sentAt" = EXCLUDED."sentAt"
    ```
    """
    if not lineage.schema_tables:
        return
    seen: set[int] = set()
    for problem in lineage.unresolved:
        key = id(problem.node)
        if key in seen:
            continue
        if query.opaque and _maybe_from_opaque(problem.reason):
            continue
        seen.add(key)
        yield at(problem.node, parsed.sql, f"unresolved reference {problem.reference}: "
                 f"{problem.reason}", problem.hint or "use a column of the schema, qualified by a "
                 "FROM alias; quote camelCase names")


def _maybe_from_opaque(reason: str) -> bool:
    """Could a fragment convguard cannot see (a JOIN, a FROM item) make this reference resolve?
    Only a column missing from a known table cannot."""
    if reason.startswith("missing FROM-clause entry") or "is ambiguous" in reason:
        return True
    return reason.startswith('column "') and ' does not exist in "' not in reason


UNUSED_SUPPRESSION = Rule(
    "CG002", "unused-suppression", None, kind="engine",
    docstring='''A suppression comment suppresses nothing.

    ## What it does
    Reports a `-- convguard: ignore[CODE]` (SQL) or `// convguard-ignore CODE` (TypeScript)
    comment whose code has no finding on its line.

    ## Why is this bad?
    A stale suppression hides the next real finding on that line, and misleads readers into
    thinking a defect is known and accepted.

    ## Example
    ```sql
    SELECT id FROM "Lead" -- convguard: ignore[CG104]
    ```

    ## Use instead
    ```sql
    SELECT id FROM "Lead"
    ```
    ''',
)
