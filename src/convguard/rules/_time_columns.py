"""CG104: a time window on a column that is never a time anchor (``updatedAt`` by default)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlglot import exp

from convguard._lineage import Lineage
from convguard.rules._base import Finding, RuleContext, at, clause_of, rule, show

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

_WINDOW_OPERATORS = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)


@rule("CG104", "forbidden-time-column-filter")
def forbidden_time_column_filter(query: ExtractedQuery, parsed: ParsedQuery,
                                 lineage: QueryLineage, context: RuleContext) -> Iterator[Finding]:
    """A time window filters a column that is never a time anchor, such as `updatedAt`.

    ## What it does
    Finds `<`, `<=`, `>`, `>=` and `BETWEEN` comparisons in `WHERE`, `ON`,
    `HAVING` and `FILTER` clauses whose operand is traced (through aliases, subqueries and
    CTEs) to a column named in `forbidden_time_columns` (default `updatedAt`) of any table.

    ## Why is this bad?
    `updatedAt` moves on every edit of a row (a status change, a re-send, a backfill): a window
    on it counts rows by when they were last touched, not by when the event happened, so the same
    range reports different numbers tomorrow.

    ## Example
    ```sql
    SELECT d.id FROM "AIDraft" d
    WHERE d."updatedAt" >= $1 AND d."updatedAt" < $2
    ```

    ## Use instead
    ```sql
    SELECT d.id FROM "AIDraft" d
    WHERE d."createdAt" >= $1 AND d."createdAt" < $2
    ```
    """
    forbidden = set(context.config.timestamp_columns_forbidden)
    if parsed.tree is None or not forbidden:
        return
    for node in parsed.find_all(*_WINDOW_OPERATORS):
        if clause_of(node) not in ("where", "on", "having", "filter"):
            continue
        operands = [node.this, node.args.get("low"), node.args.get("high")] \
            if isinstance(node, exp.Between) else [node.this, node.expression]
        for operand in operands:
            if operand is None:
                continue
            result = lineage.of(operand)
            if not isinstance(result, Lineage):
                continue
            hits = sorted({f"{table}.{column}" for table, column in result.columns
                           if column in forbidden}
                          | {f"{table or '?'}.{column}" for table, column in result.unknown
                             if column in forbidden})
            if hits:
                yield at(operand, parsed.sql,
                         f"time window on {', '.join(hits)} ({show(operand, parsed.sql, query=query, host=context.host)}): "
                         "this column changes on every edit, it is not when the event happened",
                         "filter on the event's own timestamp (a send time, createdAt, sentAt)")
                break
