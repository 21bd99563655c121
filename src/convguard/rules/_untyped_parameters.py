"""How PostgreSQL types untyped parameters (node-postgres, Prisma: every ``$n`` sent with OID 0).

PostgreSQL infers the type of an untyped parameter from the first context that gives it one, in
the order its parse analysis visits the statement; this module replays that order on
PostgreSQL's own raw parse tree (``ParsedQuery.pg_tree``) and classifies every ``$n``
occurrence. Measured on the server (``tests/rules/test_untyped_parameters_server.py`` runs every
case of ``fixtures/untyped-parameters/`` on a real PostgreSQL with untyped parameters):

- an occurrence that needs a type but gives none (*indeterminate*): ``$n IS [NOT] NULL``
  (``ISNULL``, ``NOTNULL``, ``IS [NOT] DISTINCT FROM NULL``), ``count($n)`` (not ``DISTINCT``),
  an argument of ``pg_typeof``, ``concat``, ``num_nulls``, ``json[b]_build_object/array``, a
  value argument of ``format``/``concat_ws``, a ``ROW(...)`` in a select list;
- every other occurrence fixes the type (a comparison, a cast, a typed function argument); a bare
  ``$n`` as a select-list output or a ``VALUES`` entry only gets ``text`` (or the target
  column's type) at the *end* of its query level;
- if every occurrence of ``$n`` is indeterminate: ``42P18`` (could not determine data type of
  parameter); if the first one visited is indeterminate and a later one fixes the type: ``42P08``
  (same message: the first occurrence kept type ``unknown``); else the statement runs.

Visiting order (``transformSelectStmt``): ``WITH``, ``FROM`` (join operands, then ``ON``),
select list, ``WHERE``, ``HAVING``, ``ORDER BY``, ``GROUP BY``, ``DISTINCT``, ``LIMIT``; then the
bare outputs. ``UPDATE``: ``FROM``, ``WHERE``, ``RETURNING``, then ``SET``. A set operation visits
its branches left to right and types bare outputs after both.

Example:
    >>> from convguard._parse import parse_sql
    >>> def verdicts(sql):
    ...     return [(v.number, v.sqlstate) for v in parameter_verdicts(parse_sql(sql).pg_tree)]
    >>> verdicts('SELECT 1 FROM "Lead" l WHERE ($1 IS NULL OR l.id = $1)')
    [(1, '42P08')]
    >>> verdicts('SELECT 1 FROM "Lead" l WHERE (l.id = $1 OR $1 IS NULL)')
    []
    >>> verdicts("SELECT $1 IS NULL, COALESCE($2, $3), $4")
    [(1, '42P18')]
    >>> statement_kind(parse_sql("SET LOCAL statement_timeout = $1").pg_tree)
    'VariableSetStmt'
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["BINDING_STATEMENTS", "ParameterVerdict", "char_offset", "parameter_refs",
           "parameter_verdicts", "statement_body", "statement_kind"]

#: Statements whose parameters PostgreSQL binds (plannable queries and the utility statements
#: that wrap one); a parameter anywhere else is never bound.
BINDING_STATEMENTS = frozenset({
    "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "ExplainStmt",
    "DeclareCursorStmt", "CallStmt", "PrepareStmt", "CreateTableAsStmt",
})

# Functions whose arguments (from the index given on) are of type "any": an untyped parameter
# there stays unknown.
_ANY_ARGUMENTS = {
    "pg_typeof": 0, "concat": 0, "num_nulls": 0, "num_nonnulls": 0, "json_build_object": 0,
    "jsonb_build_object": 0, "json_build_array": 0, "jsonb_build_array": 0, "format": 1,
    "concat_ws": 1,
}


_KIND = re.compile(r'"stmts":\[\{"stmt":\{"(\w+)"')
# Only these contexts leave a parameter untyped; a tree without any is decided without a walk.
_MAY_LEAVE_UNTYPED = re.compile(
    r'"NullTest":\{"arg":\{"ParamRef"|"AEXPR_(?:NOT_)?DISTINCT"|"RowExpr"|"sval":"(?:'
    + "|".join(sorted([*_ANY_ARGUMENTS, "count"])) + ')"')


@dataclass(frozen=True)
class ParameterVerdict:
    """A parameter PostgreSQL cannot type: where (byte ``location`` in the SQL), why, SQLSTATE.

    ``context`` names the indeterminate occurrence (``IS NULL``, ``count(...)``, ...);
    ``typed_later`` is the byte location of the later occurrence that fixes the type (42P08).
    """

    number: int
    location: int
    sqlstate: str
    context: str
    typed_later: int | None = None


@dataclass(frozen=True)
class _Occurrence:
    number: int
    location: int
    context: str | None  # None: the occurrence fixes the type


def statement_kind(pg_tree: str | None) -> str | None:
    """The raw parse node of the (first) statement: ``SelectStmt``, ``VariableSetStmt``, ...

    ``CREATE TABLE ... AS`` binds its query's parameters and reads as ``CreateTableAsStmt``;
    ``CREATE MATERIALIZED VIEW ... AS``, which does not, as ``CreateMatViewStmt``.
    """
    if not pg_tree:
        return None
    head = _KIND.search(pg_tree, 0, 200)
    if head is not None and head.group(1) != "CreateTableAsStmt":
        return head.group(1)  # without decoding the tree: the rules ask for every query
    statement = _statement(pg_tree)
    if not statement:
        return None
    kind, body = next(iter(statement.items()))
    if kind == "CreateTableAsStmt" and isinstance(body, dict) \
            and body.get("objtype") == "OBJECT_MATVIEW":
        return "CreateMatViewStmt"
    return kind


def statement_body(pg_tree: str | None) -> dict[str, Any]:
    """The fields of the (first) statement's raw parse node (empty when there is none)."""
    statement = _statement(pg_tree)
    body = next(iter(statement.values())) if statement else None
    return body if isinstance(body, dict) else {}


def parameter_refs(pg_tree: str | None) -> list[tuple[int, int]]:
    """``(n, byte location)`` of every ``$n`` of the statement, in text order."""
    if not pg_tree or '"ParamRef"' not in pg_tree:
        return []
    statement = _statement(pg_tree)
    found: list[tuple[int, int]] = []
    if statement:
        _collect_refs(statement, found)
    return sorted(found, key=lambda ref: ref[1])


def parameter_verdicts(pg_tree: str | None) -> list[ParameterVerdict]:
    """The parameters a statement of a binding kind cannot type under untyped binding."""
    if not pg_tree or '"ParamRef"' not in pg_tree or not _MAY_LEAVE_UNTYPED.search(pg_tree):
        return []
    statement = _statement(pg_tree)
    if not statement or statement_kind(pg_tree) not in BINDING_STATEMENTS:
        return []
    walk = _Walk()
    walk.statement(statement)
    by_number: dict[int, list[_Occurrence]] = {}
    for occurrence in walk.events:
        by_number.setdefault(occurrence.number, []).append(occurrence)
    verdicts = []
    for number, occurrences in sorted(by_number.items()):
        first = occurrences[0]
        if first.context is None:
            continue
        typed = [o for o in occurrences if o.context is None]
        if not typed:
            earliest = min(occurrences, key=lambda o: o.location)
            verdicts.append(ParameterVerdict(number, earliest.location, "42P18",
                                             earliest.context or ""))
        else:
            verdicts.append(ParameterVerdict(number, first.location, "42P08", first.context,
                                             typed[0].location))
    return verdicts


def char_offset(sql: str, location: int) -> int:
    """A character offset in ``sql`` from a byte offset of its UTF-8 text (PostgreSQL's).

    Example:
        >>> char_offset("SELECT 'é', $1", 13)
        12
    """
    if sql.isascii():
        return location
    ends, extra = _multibyte_index(sql)
    # the multi-byte characters that end at or before the location widen it by their extra bytes
    index = bisect.bisect_right(ends, location) - 1
    offset = location - (extra[index] if index >= 0 else 0)
    if index + 1 < len(ends):  # inside a multi-byte character: it does not count yet
        width = extra[index + 1] - (extra[index] if index >= 0 else 0) + 1
        offset -= max(0, location - (ends[index + 1] - width))
    return offset


@lru_cache(maxsize=8)
def _multibyte_index(sql: str) -> tuple[list[int], list[int]]:
    """For each non-ASCII character: the byte offset after it, and the extra bytes up to it.

    Built once per SQL text, so converting n parameter locations costs O(n log n), not O(n²).
    """
    ends: list[int] = []
    extra: list[int] = []
    added = 0
    for index, char in enumerate(sql):
        if char > "\x7f":
            width = len(char.encode("utf-8", "surrogatepass"))
            added += width - 1
            ends.append(index + added + 1)
            extra.append(added)
    return ends, extra


def _statement(pg_tree: str | None) -> dict[str, Any] | None:
    """The first statement's raw parse node (decoded once per tree text; never mutated)."""
    if not pg_tree:
        return None
    return _decoded(pg_tree)


@lru_cache(maxsize=64)
def _decoded(pg_tree: str) -> dict[str, Any] | None:
    statements = json.loads(pg_tree).get("stmts") or []
    if not statements:
        return None
    statement = statements[0].get("stmt")
    return statement if isinstance(statement, dict) and statement else None


def _collect_refs(node: Any, found: list[tuple[int, int]]) -> None:
    if isinstance(node, dict):
        ref = node.get("ParamRef")
        if isinstance(ref, dict) and "number" in ref:
            found.append((int(ref["number"]), int(ref.get("location", 0))))
            return
        for value in node.values():
            _collect_refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_refs(item, found)


def _param(node: Any) -> dict[str, Any] | None:
    if isinstance(node, dict):
        ref = node.get("ParamRef")
        if isinstance(ref, dict) and "number" in ref:
            return ref
    return None


def _is_null_constant(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("A_Const"), dict) \
        and bool(node["A_Const"].get("isnull"))


def _function_name(call: dict[str, Any]) -> str:
    names = call.get("funcname") or []
    last = names[-1] if names else {}
    return str((last.get("String") or {}).get("sval", "")).lower()


class _Walk:
    """Occurrences of ``$n`` in the order PostgreSQL's parse analysis types them."""

    def __init__(self) -> None:
        self.events: list[_Occurrence] = []

    def add(self, ref: dict[str, Any], context: str | None) -> None:
        self.events.append(_Occurrence(int(ref["number"]), int(ref.get("location", 0)), context))

    # -- statements

    def statement(self, wrapped: dict[str, Any]) -> None:
        kind, body = next(iter(wrapped.items()))
        if not isinstance(body, dict):
            return
        if kind == "SelectStmt":
            self.select(body, resolve_outputs=True)
        elif kind == "InsertStmt":
            self.with_clause(body)
            source = body.get("selectStmt")
            if isinstance(source, dict) and "SelectStmt" in source:
                self.select(source["SelectStmt"], resolve_outputs=True)
            self.expression(body.get("onConflictClause"))
            self.expression(body.get("returningList"))
        elif kind == "UpdateStmt":
            self.with_clause(body)
            self.expression(body.get("fromClause"))
            self.expression(body.get("whereClause"))
            self.expression(body.get("returningList"))
            late: list[dict[str, Any]] = []
            self.outputs(body.get("targetList"), late)
            for ref in late:
                self.add(ref, None)
        elif kind == "DeleteStmt":
            self.with_clause(body)
            self.expression(body.get("usingClause"))
            self.expression(body.get("whereClause"))
            self.expression(body.get("returningList"))
        elif kind in ("ExplainStmt", "DeclareCursorStmt", "PrepareStmt", "CreateTableAsStmt"):
            inner = body.get("query")
            if isinstance(inner, dict) and inner:
                self.statement(inner)
        else:  # MERGE, CALL: source order
            self.expression(body)

    def with_clause(self, body: dict[str, Any]) -> None:
        clause = body.get("withClause")
        if not isinstance(clause, dict):
            return
        for cte in clause.get("WithClause", clause).get("ctes") or []:
            query = (cte.get("CommonTableExpr") or {}).get("ctequery")
            if isinstance(query, dict) and query:
                self.statement(query)

    def select(self, body: dict[str, Any], *, resolve_outputs: bool) -> list[dict[str, Any]]:
        """Visit one query level; returns its bare outputs when ``resolve_outputs`` is False
        (a set operation's branch: typed after all branches)."""
        late: list[dict[str, Any]] = []
        self.with_clause(body)
        if body.get("op") not in (None, "SETOP_NONE"):
            for side in ("larg", "rarg"):
                branch = body.get(side)
                if isinstance(branch, dict):
                    late += self.select(branch, resolve_outputs=False)
            for key in ("sortClause", "limitOffset", "limitCount"):
                self.expression(body.get(key))
        elif body.get("valuesLists"):
            for row in body["valuesLists"]:
                items = (row.get("List") or {}).get("items", []) if isinstance(row, dict) else []
                for item in items:
                    ref = _param(item)
                    if ref is not None:
                        late.append(ref)
                    else:
                        self.expression(item)
        else:
            self.expression(body.get("fromClause"))
            self.outputs(body.get("targetList"), late)
            for key in ("whereClause", "havingClause", "sortClause", "groupClause",
                        "distinctClause", "limitOffset", "limitCount", "windowClause"):
                self.expression(body.get(key))
        if not resolve_outputs:
            return late
        for ref in late:
            self.add(ref, None)
        return []

    def outputs(self, targets: Any, late: list[dict[str, Any]]) -> None:
        for target in targets or []:
            value = (target.get("ResTarget") or {}).get("val") if isinstance(target, dict) else None
            ref = _param(value)
            if ref is not None:
                late.append(ref)
            elif isinstance(value, dict) and "RowExpr" in value:
                for item in value["RowExpr"].get("args") or []:
                    inner = _param(item)
                    if inner is not None:
                        self.add(inner, "ROW(...)")
                    else:
                        self.expression(item)
            else:
                self.expression(value)

    # -- expressions

    def expression(self, node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                self.expression(item)
            return
        if not isinstance(node, dict):
            return
        ref = _param(node)
        if ref is not None:
            self.add(ref, None)
            return
        if len(node) == 1:
            kind, body = next(iter(node.items()))
            if isinstance(body, dict) and self.special(kind, body):
                return
        for value in node.values():
            self.expression(value)

    def special(self, kind: str, body: dict[str, Any]) -> bool:
        """Visit node kinds whose typing or order is not plain source order; False otherwise."""
        if kind == "SelectStmt":
            self.select(body, resolve_outputs=True)
            return True
        if kind == "RangeSubselect":
            self.statement(body.get("subquery") or {})
            return True
        if kind == "SubLink":
            self.statement(body.get("subselect") or {})
            self.expression(body.get("testexpr"))
            return True
        if kind == "JoinExpr":
            self.expression(body.get("larg"))
            self.expression(body.get("rarg"))
            self.expression(body.get("quals"))
            return True
        if kind == "NullTest":
            ref = _param(body.get("arg"))
            if ref is None:
                return False
            test = "IS NOT NULL" if body.get("nulltesttype") == "IS_NOT_NULL" else "IS NULL"
            self.add(ref, test)
            return True
        if kind == "A_Expr" and body.get("kind") in ("AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT"):
            left, right = body.get("lexpr"), body.get("rexpr")
            ref = _param(left) if _is_null_constant(right) else \
                _param(right) if _is_null_constant(left) else None
            if ref is None:
                return False
            negated = "NOT " if body.get("kind") == "AEXPR_NOT_DISTINCT" else ""
            self.add(ref, f"IS {negated}DISTINCT FROM NULL")
            return True
        if kind == "FuncCall":
            name = _function_name(body)
            args = body.get("args") or []
            first_any = _ANY_ARGUMENTS.get(name)
            if name == "count" and not body.get("agg_distinct") and not body.get("agg_star"):
                first_any = 0
            if first_any is None:
                return False
            for index, arg in enumerate(args):
                ref = _param(arg)
                if ref is not None and index >= first_any:
                    self.add(ref, f"{name}(...)")
                else:
                    self.expression(arg)
            for key in ("agg_order", "agg_filter", "over"):
                self.expression(body.get(key))
            return True
        return False


def indeterminate_occurrences(pg_tree: str | None) -> Iterator[tuple[int, int, str]]:
    """``(n, byte location, context)`` of every occurrence that gives ``$n`` no type."""
    statement = _statement(pg_tree)
    if not statement:
        return
    walk = _Walk()
    walk.statement(statement)
    for occurrence in walk.events:
        if occurrence.context is not None:
            yield occurrence.number, occurrence.location, occurrence.context
