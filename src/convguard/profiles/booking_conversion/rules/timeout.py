"""CG212: ``SET LOCAL statement_timeout`` (at most 10 s) runs in the query's transaction."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlglot import exp

from convguard._model import Span
from convguard.rules._base import Finding, RuleContext, rule, statement_start

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

PROFILE = "booking-conversion"
LIMIT_MS = 10_000
_UNITS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_VALUE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def timeout_ms(value: str | float) -> float | None:
    """PostgreSQL's reading of a ``statement_timeout`` value, in milliseconds (no unit: ms).

    Example:
        >>> timeout_ms("10s"), timeout_ms(5000), timeout_ms("1min"), timeout_ms("soon")
        (10000.0, 5000.0, 60000.0, None)
    """
    if isinstance(value, (int, float)):
        return float(value)
    match = _VALUE.match(value)
    if not match:
        return None
    unit = match.group(2).lower() or "ms"
    factor = _UNITS.get(unit)
    return None if factor is None else float(match.group(1)) * factor


def _setting(parsed: ParsedQuery, query: ExtractedQuery | None = None
             ) -> tuple[bool, float | None] | None:
    """`(is_local, ms)` if a statement sets `statement_timeout`, else None (a bound value is
    read from its interpolation when that is a literal: ``${String(10000)}``, ``${"10s"}``)."""
    tree = parsed.tree
    if tree is None or "statement_timeout" not in parsed.sql.lower():
        return None
    if isinstance(tree, exp.Set):
        for item in tree.expressions:
            assignment = item.this if isinstance(item, exp.SetItem) else None
            if isinstance(assignment, exp.EQ) and assignment.this.name.lower() == \
                    "statement_timeout":
                local = str(item.args.get("kind") or "").upper() == "LOCAL"
                return local, _value_ms(assignment.expression, query)
        return None
    for call in parsed.find_all(exp.Anonymous):
        arguments = call.expressions
        if call.name.lower() != "set_config" or len(arguments) != 3:
            continue
        if not (isinstance(arguments[0], exp.Literal)
                and arguments[0].this.lower() == "statement_timeout"):
            continue
        local = isinstance(arguments[2], exp.Boolean) and bool(arguments[2].this)
        return local, _value_ms(arguments[1], query)
    return None


_WRAPPED = re.compile(r"^(?:String|Number)\((.*)\)$", re.DOTALL)
_JS_NUMBER = re.compile(r"^\d[\d_]*(?:\.\d+)?$")
_JS_STRING = re.compile(r"""^(["'`])([^"'`$]*)\1$""")


def _value_ms(value: exp.Expression | None, query: ExtractedQuery | None = None) -> float | None:
    if isinstance(value, exp.Literal):
        return timeout_ms(value.this if value.is_string else float(value.this))
    while isinstance(value, (exp.Cast, exp.Paren)):
        value = value.this
    if isinstance(value, exp.Parameter) and query is not None:
        from convguard._parse import parameter_index

        index = parameter_index(value)
        placeholder = query.placeholder(index) if index is not None else None
        return _interpolated_ms(placeholder.expression) if placeholder is not None else None
    return None


def _interpolated_ms(expression: str) -> float | None:
    """The timeout a literal interpolation passes (``String(10_000)``, ``"10s"``), else None.

    Example:
        >>> _interpolated_ms("String(10_000)"), _interpolated_ms("'10s'"), _interpolated_ms("ms")
        (10000.0, 10000.0, None)
    """
    text = expression.strip()
    wrapped = _WRAPPED.match(text)
    if wrapped:
        text = wrapped.group(1).strip()
    if _JS_NUMBER.match(text):
        return float(text.replace("_", ""))
    quoted = _JS_STRING.match(text)
    return timeout_ms(quoted.group(2)) if quoted else None


@rule("CG212", "missing-statement-timeout", profile=PROFILE)
def missing_statement_timeout(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                              context: RuleContext) -> Iterator[Finding]:
    """The query does not run under `SET LOCAL statement_timeout` of at most 10 s.

    ## What it does
    For a query extracted from TypeScript, looks for another statement of the same
    `$transaction` callback, before it, that sets `statement_timeout` for the transaction
    (`SET LOCAL statement_timeout = 10000`, `'10s'`, `'5000ms'`, or
    `set_config('statement_timeout', '10000', true)`), at most 10 000 ms. A missing setting,
    `SET` without `LOCAL`, or a longer timeout is reported. A `.sql` file has no
    transaction to look at, so the rule is skipped there (without a finding).

    ## Why is this bad?
    The analytics query scans every draft and message of a client: on a large workspace it can
    run for minutes, holding a pooled connection while the page times out anyway. `SET` without
    `LOCAL` leaks the timeout to the next user of the pooled connection.

    ## Example
    ```ts
    const rows = await prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 30000");
      return tx.$queryRaw`SELECT count(*) FROM "AIDraft"`;
    });
    ```

    ## Use instead
    ```ts
    const rows = await prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 10000");
      return tx.$queryRaw`SELECT count(*) FROM "AIDraft"`;
    });
    ```
    """
    if query.tag == "sql" or query.path.lower().endswith(".sql") or context.binding is None:
        return
    if _setting(parsed) is not None:
        return  # the SET statement itself
    start = statement_start(parsed.sql)
    if query.transaction is None:
        yield Finding(start, start, "the query runs outside a $transaction, so no SET LOCAL "
                      "statement_timeout can bound it",
                      'prisma.$transaction(async (tx) => { await tx.$executeRawUnsafe("SET LOCAL '
                      'statement_timeout = 10000"); return tx.$queryRaw`...`; })')
        return
    from convguard._parse import parse

    found = False
    for other in context.extraction.queries:
        if other is query or other.transaction != query.transaction:
            continue
        if other.span.start > query.span.start:
            continue
        setting = _setting(parse(other), other)
        if setting is None:
            continue
        found = True
        local, ms = setting
        where = Span.of(context.host, other.span.start, other.span.end)
        if not local:
            yield Finding(0, 0, "statement_timeout is set without LOCAL: it outlives the "
                          "transaction and leaks to the next user of the pooled connection",
                          "SET LOCAL statement_timeout = 10000", host_span=where)
        if ms is None or ms > LIMIT_MS:
            shown = ("a value convguard cannot read (a variable): write it as a literal, e.g. "
                     "${String(10000)}, so the limit can be checked" if ms is None
                     else f"{ms:g} ms")
            yield Finding(0, 0, f"statement_timeout is {shown}: the analytics query may run at "
                          f"most {LIMIT_MS} ms", "SET LOCAL statement_timeout = 10000",
                          host_span=where)
    if not found:
        yield Finding(start, start, "no SET LOCAL statement_timeout runs before the query in its "
                      "$transaction", 'await tx.$executeRawUnsafe("SET LOCAL statement_timeout = '
                      '10000") first')
