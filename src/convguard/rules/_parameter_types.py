"""CG102: an untyped parameter as the timestamp operand of interval arithmetic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlglot import exp

from convguard._parse import parameter_index
from convguard.rules._base import Finding, RuleContext, rule, show, unparen

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

_INTERVAL_FUNCTIONS = frozenset({"make_interval", "justify_interval", "justify_days",
                                 "justify_hours", "age"})


@rule("CG102", "untyped-timestamp-parameter")
def untyped_timestamp_parameter(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                                context: RuleContext) -> Iterator[Finding]:
    """An untyped parameter is the timestamp side of `+`/`-` with an interval.

    ## What it does
    Under an untyped driver (`prisma`, the default for sources that use Prisma, or
    `node-postgres`), finds a bare parameter added to or subtracted from an interval:
    `${to} - (${n} * interval '1 day')`, `${from} + interval '1 day'`,
    `$1 - make_interval(days => $2)`. Silent under `driver = "typed"`.

    ## Why is this bad?
    Prisma's `@prisma/adapter-pg` and node-postgres send every parameter as text with no type,
    so PostgreSQL infers the type from the context: next to an interval it infers `interval`. `${to} - interval` becomes
    interval - interval, and comparing a timestamp with it fails in production with SQLSTATE 42883
    (operator does not exist) — while tests with a driver that sends typed timestamps pass.
    `${n} * interval '1 day'` is fine: a number times an interval.

    ## Example
    ```ts
    const rows = await prisma.$queryRaw`
      SELECT d.id FROM "AIDraft" d
      WHERE d."createdAt" > ${to} - (${days} * interval '1 day')`;
    ```

    ## Use instead
    Under Prisma (which sends a `Date` as UTC text without an offset) cast to `timestamp`;
    `::timestamptz` would read that text in the session's `TimeZone`:
    ```ts
    const rows = await prisma.$queryRaw`
      SELECT d.id FROM "AIDraft" d
      WHERE d."createdAt" > ${to}::timestamp - (${days} * interval '1 day')`;
    ```
    Under plain node-postgres (which sends local time with its offset) cast to `timestamptz`.
    """
    from convguard._stack import resolve_driver

    driver = resolve_driver(context.config.driver, context.host.path, context.host.text)
    if driver not in ("prisma", "node-postgres") or parsed.tree is None:
        return
    cast, sender = (("timestamp", "Prisma's adapter") if driver == "prisma"
                    else ("timestamptz", "node-postgres"))
    for node in parsed.find_all(exp.Add, exp.Sub):
        left, right = unparen(node.this), unparen(node.expression)
        candidates = []
        if is_interval(node.expression):
            candidates.append(left)
        if isinstance(node, exp.Add) and is_interval(node.this):
            candidates.append(right)
        for candidate in candidates:
            index = parameter_index(candidate) if candidate is not None else None
            if index is None:
                continue
            placeholder = query.placeholder(index)
            name = placeholder.expression if placeholder is not None else f"${index}"
            shown = name if name.startswith((":", "$")) else "${" + name + "}"
            operator = "+" if isinstance(node, exp.Add) else "-"
            assert candidate is not None
            finding = _at_parameter(query, candidate, index, parsed.sql)
            yield Finding(
                finding[0], finding[1],
                f"untyped parameter {shown} is the timestamp operand of "
                f"'{operator}' with an interval ({show(node, parsed.sql, query=query, host=context.host)}): {sender} sends "
                "it without a type, so PostgreSQL infers interval",
                f"cast it: {shown}::{cast} {operator} ..., or compute the value in "
                "JavaScript and pass it as one parameter",
            )


def _at_parameter(query: ExtractedQuery, node: exp.Expression, index: int, sql: str
                  ) -> tuple[int, int]:
    from convguard._parse import node_span

    span = node_span(node, sql)
    if span is not None:
        for placeholder in query.placeholders:
            if placeholder.index == index and placeholder.sql_start <= span[0] < placeholder.sql_end:
                return placeholder.sql_start, placeholder.sql_end
        return span
    return (0, 0)


def is_interval(node: exp.Expression | None) -> bool:
    """Whether an expression's type is ``interval`` (as far as its shape tells)."""
    node = unparen(node)
    if node is None:
        return False
    if isinstance(node, exp.Interval):
        return True
    if isinstance(node, (exp.Cast, exp.TryCast)):
        to = node.args.get("to")
        return isinstance(to, exp.DataType) and to.is_type(exp.DataType.Type.INTERVAL)
    if type(node).__name__ == "MakeInterval":
        return True
    if isinstance(node, exp.Anonymous):
        return node.name.lower() in _INTERVAL_FUNCTIONS
    if isinstance(node, (exp.Mul, exp.Div)):
        return is_interval(node.this) or is_interval(node.expression)
    if isinstance(node, (exp.Add, exp.Sub)):
        return is_interval(node.this) and is_interval(node.expression)
    if isinstance(node, exp.Neg):
        return is_interval(node.this)
    return False
