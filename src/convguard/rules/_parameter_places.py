"""CG105: a parameter where PostgreSQL takes none; CG106: a parameter no context gives a type."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from convguard.rules._base import Finding, RuleContext, rule
from convguard.rules._untyped_parameters import (
    BINDING_STATEMENTS,
    char_offset,
    parameter_refs,
    parameter_verdicts,
    statement_body,
    statement_kind,
)

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

# Statements whose grammar has no parameter where libpg_query (and so convguard's parser)
# accepts one: PostgreSQL answers 42601 (syntax error at or near "$1").
_SETTING_STATEMENTS = {"VariableSetStmt", "AlterRoleSetStmt", "AlterDatabaseSetStmt",
                       "AlterSystemStmt"}
# Utility statements PostgreSQL analyses without the parameters' types: 42P18, measured.
_UNTYPED_UTILITY = {"CreateStmt", "AlterTableStmt", "IndexStmt", "ViewStmt", "CopyStmt",
                    "ExecuteStmt"}
_LABELS = {
    "CreateStmt": "CREATE TABLE", "AlterTableStmt": "ALTER TABLE", "IndexStmt": "CREATE INDEX",
    "ViewStmt": "CREATE VIEW", "CopyStmt": "COPY", "ExecuteStmt": "EXECUTE",
    "CreateMatViewStmt": "CREATE MATERIALIZED VIEW", "AlterRoleSetStmt": "ALTER ROLE ... SET",
    "AlterDatabaseSetStmt": "ALTER DATABASE ... SET", "AlterSystemStmt": "ALTER SYSTEM",
}
_SET = re.compile(r"^\s*SET\s+(?:(LOCAL|SESSION)\s+)?(.+?)\s*(?:=|\bTO\b)\s*$",
                  re.IGNORECASE | re.DOTALL)
_SET_TIME_ZONE = re.compile(r"^\s*SET\s+(?:(LOCAL|SESSION)\s+)?TIME\s+ZONE\s*$", re.IGNORECASE)
_SET_ROLE = re.compile(r"^\s*SET\s+(?:(LOCAL|SESSION)\s+)?(ROLE|SESSION\s+AUTHORIZATION)\s*$",
                       re.IGNORECASE)


def _script(query: ExtractedQuery) -> bool:
    return not query.path.lower().endswith(".sql")


def _js_value(query: ExtractedQuery, number: int) -> str:
    """The interpolation as JavaScript should pass it to set_config (text): ``${String(ms)}``."""
    placeholder = query.placeholder(number)
    if placeholder is None or not _script(query):
        return f"${number}"
    expression = placeholder.expression.strip()
    return f"${{String({expression})}}"


def _set_config_fix(query: ExtractedQuery, sql: str, start: int, number: int) -> str | None:
    """``SELECT set_config('name', ${String(value)}, is_local)`` for ``SET [LOCAL] name = $n``."""
    head = sql[:start]
    value = _js_value(query, number)
    for pattern, name in ((_SET_TIME_ZONE, "TimeZone"), (_SET_ROLE, "role")):
        match = pattern.match(head)
        if match:
            local = "true" if (match.group(1) or "").upper() == "LOCAL" else "false"
            return f"SELECT set_config('{name}', {value}, {local})"
    match = _SET.match(head)
    if match is None:
        return None
    local = "true" if (match.group(1) or "").upper() == "LOCAL" else "false"
    name = match.group(2).strip().strip('"')
    return f"SELECT set_config('{name}', {value}, {local})"


@rule("CG105", "parameter-in-utility-statement", needs_tree=False)
def parameter_in_utility_statement(query: ExtractedQuery, parsed: ParsedQuery,
                                   lineage: QueryLineage, context: RuleContext
                                   ) -> Iterator[Finding]:
    """A parameter sits in a statement that PostgreSQL runs without binding parameters.

    ## What it does
    Finds `$n` parameters (a tagged template's `${...}`) in `SET`, `SET LOCAL`,
    `ALTER ... SET`, and in utility statements such as `CREATE TABLE ... DEFAULT`,
    `CREATE INDEX`, `CREATE VIEW`, `COPY (query)` and `EXECUTE`. Only queries (`SELECT`,
    `INSERT`, `UPDATE`, `DELETE`, `MERGE`, and `EXPLAIN`, `DECLARE`, `CREATE TABLE AS`
    around them) take parameters.

    ## Why is this bad?
    The statement fails every time it runs: `SET` has no parameter in PostgreSQL's grammar
    (42601, syntax error at or near "$1"), and a utility statement's expressions are analysed
    without the parameters' types (42P18). The parser convguard validates with accepts
    `SET LOCAL statement_timeout = $1`, which is how a `${ms}` in a `SET` reaches production.
    `NOTIFY`, `LISTEN`, `GRANT`, `COMMENT` and `COPY` options reject a parameter in that parser
    too (CG001).

    ## Example
    ```ts
    await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SET LOCAL statement_timeout = ${timeoutMs}`;
    });
    ```

    ## Use instead
    ```ts
    await prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT set_config('statement_timeout', ${String(timeoutMs)}, true)`;
    });
    ```
    """
    kind = statement_kind(parsed.pg_tree)
    if kind is None or kind in BINDING_STATEMENTS:
        return
    sql = parsed.sql
    for number, location in parameter_refs(parsed.pg_tree):
        start = char_offset(sql, location)
        end = start + len(f"${number}")
        if kind in _SETTING_STATEMENTS:
            fix = _set_config_fix(query, sql, start, number)
            label = _LABELS.get(kind) or (
                "SET LOCAL" if statement_body(parsed.pg_tree).get("is_local") else "SET")
            yield Finding(
                start, end,
                f"PostgreSQL takes no parameter in {label}: the statement fails with 42601 "
                f'(syntax error at or near "${number}")',
                (f"set it with a bound parameter through a function: {fix}"
                 + (" (`true` keeps it to the transaction, as SET LOCAL)"
                    if fix.endswith("true)") else "")) if fix else
                "pass the value to set_config(name, value, is_local) as a bound parameter")
            continue
        label = _LABELS.get(kind, kind.removesuffix("Stmt"))
        if kind == "CreateMatViewStmt":
            sqlstate = "0A000 (materialized views may not be defined using bound parameters)"
        elif kind in _UNTYPED_UTILITY:
            sqlstate = "42P18 (could not determine data type of parameter)"
        else:
            sqlstate = "an error"
        yield Finding(
            start, end,
            f"PostgreSQL does not bind parameters in {label}: the statement fails with "
            f"{sqlstate}",
            "write the value into the statement as a validated literal (run DDL in a "
            "migration), or compute it in a query that takes parameters")


@rule("CG106", "indeterminate-parameter-type", needs_tree=False)
def indeterminate_parameter_type(query: ExtractedQuery, parsed: ParsedQuery,
                                 lineage: QueryLineage, context: RuleContext
                                 ) -> Iterator[Finding]:
    """An untyped parameter is used where PostgreSQL can infer no type for it.

    ## What it does
    Replays how PostgreSQL types parameters sent without a type (node-postgres and Prisma send
    every `${...}` that way): the first occurrence of `$n` that PostgreSQL's analysis visits
    must give it a type. `${x} IS NULL` (or `IS NOT NULL`), `count(${x})`, and arguments of
    `pg_typeof`, `concat`, `format`, `json_build_object` and the like give none. Reported
    when no occurrence gives one (42P18), or when such an occurrence comes first and a later
    one (`col = ${x}`) gives it (PostgreSQL still fails: 42P08). `SELECT ${x}` and
    `COALESCE(${x}, ${y})` alone run (the value is read as text) and are not reported.

    ## Why is this bad?
    The query fails every time with "could not determine data type of parameter $1" while a
    driver that sends typed parameters (and most tests) runs it fine. The optional-filter idiom
    `(${mode} IS NULL OR col = ${mode})` fails this way in production: PostgreSQL types the
    `IS NULL` occurrence before it reaches the comparison.

    ## Example
    ```sql
    SELECT d.id FROM "AIDraft" d
    WHERE ($1 IS NULL OR d."responseDisposition" = $1)
    ```

    ## Use instead
    ```sql
    SELECT d.id FROM "AIDraft" d
    WHERE ($1::"AIDraftResponseDisposition" IS NULL OR d."responseDisposition" = $1)
    ```
    """
    kind = statement_kind(parsed.pg_tree)
    if kind is None or kind not in BINDING_STATEMENTS:
        return
    sql = parsed.sql
    for verdict in parameter_verdicts(parsed.pg_tree):
        start = char_offset(sql, verdict.location)
        end = start + len(f"${verdict.number}")
        written = _written(query, verdict.number)
        typing = None
        if verdict.sqlstate == "42P18":
            message = (f"nothing gives {written} a type ({verdict.context}): PostgreSQL fails "
                       f"with 42P18 (could not determine data type of parameter "
                       f"${verdict.number}) when the driver sends it untyped, as node-postgres "
                       "and Prisma do")
            twin = _twin_location(query, parsed, verdict.number)
            if twin is not None:
                typing = _typing_comparison(query, parsed, lineage, context, twin)
                message += (f"; the other {written} is a parameter of its own (each "
                            "interpolation is bound separately), so it types only itself")
        else:
            typing = _typing_comparison(query, parsed, lineage, context,
                                        char_offset(sql, verdict.typed_later or 0))
            later = f" ({typing[0]})" if typing is not None else ""
            message = (f"{written} is typed by a later occurrence{later}, but PostgreSQL "
                       f"reaches this one ({verdict.context}) first: it fails with 42P08 (could "
                       f"not determine data type of parameter ${verdict.number}) when the driver "
                       "sends it untyped")
        if typing is not None and typing[1] is not None:
            fix = f"cast it to the compared column's type: {written}::{typing[1]} {verdict.context}"
        else:
            fix = (f"cast it to the value's type: {written}::text {verdict.context} (::timestamp "
                   "for a date, ::int for a number, the column's type for a comparison)")
        yield Finding(start, end, message, fix)


def _twin_location(query: ExtractedQuery, parsed: ParsedQuery, number: int) -> int | None:
    """Where another interpolation of the same expression sits (Prisma binds each separately)."""
    placeholder = query.placeholder(number)
    if placeholder is None or not _script(query):
        return None
    for other in query.placeholders:
        if other.index != number and other.expression.strip() == placeholder.expression.strip():
            return other.sql_start
    return None


def _typing_comparison(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                       context: RuleContext, start: int) -> tuple[str, str | None] | None:
    """The comparison that types the parameter at ``start``, as written, and the SQL type of
    the column it is compared with (None when not a known schema column)."""
    if parsed.tree is None:
        return None
    from sqlglot import exp

    from convguard._lineage import Lineage
    from convguard._parse import node_span
    from convguard.rules._base import comparisons, show

    for comparison in comparisons(parsed):
        for candidate in (comparison, comparison.flipped()):
            right = candidate.right
            while isinstance(right, exp.Paren):
                right = right.this
            span = node_span(right, parsed.sql) if isinstance(right, exp.Parameter) else None
            if span is None or span[0] != start:
                continue
            written = show(comparison.node, parsed.sql, 50, query=query, host=context.host)
            result = lineage.of(candidate.left)
            if not isinstance(result, Lineage) or not result.direct or len(result.columns) != 1:
                return written, None
            [(table_name, column_name)] = result.columns
            table = context.schema.find_table(table_name)
            if table is None or not table.has_column(column_name):
                return written, None
            column_type = table.column(column_name).type
            if context.schema.enum(column_type) is not None:
                return written, f'"{column_type}"'
            return written, column_type
    return None


def _written(query: ExtractedQuery, number: int) -> str:
    """``$n`` as the source writes it: ``${mode}`` in a template, ``:mode`` in a .sql file."""
    placeholder = query.placeholder(number)
    if placeholder is None:
        return f"${number}"
    if not _script(query):
        return placeholder.expression.strip()
    return "${" + placeholder.expression.strip() + "}"

