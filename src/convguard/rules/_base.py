"""What a rule is, what it receives and what it yields, plus the tree helpers rules share.

A rule is a read-only function. A *query* rule sees one extracted query with its parse and
lineage; a *file* rule sees a whole extraction (``$queryRawUnsafe`` calls are not queries). Both
yield :class:`Finding` values positioned by SQL offsets (or a host span); the check turns them into
:class:`~convguard._model.Diagnostic` values with host lines and columns.

The rule's docstring is its documentation (``convguard rule CODE``, SARIF, docs): a summary line,
then the headings ``What it does``, ``Why is this bad?``, ``Example`` and ``Use instead``.

Example:
    >>> from convguard._parse import parse_sql
    >>> parsed = parse_sql("SELECT 1 FROM t WHERE $1 <= t.a")
    >>> [(c.op, c.left.sql("postgres"), c.right.sql()) for c in comparisons(parsed)]
    [('<=', '$1', 't.a')]
    >>> c = comparisons(parsed)[0]
    >>> c.flipped().op, c.flipped().left.sql()
    ('>=', 't.a')
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from sqlglot import exp

from convguard._model import Severity, Span

if TYPE_CHECKING:
    from convguard._config import Config, QueryConfig
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery, ExtractionResult, HostText, Placeholder
    from convguard._parse import ParsedQuery
    from convguard._schema import Schema
    from convguard.profiles import Profile

RuleKind = Literal["query", "file", "engine"]


class Finding(NamedTuple):
    """One defect a rule found: SQL offsets ``start``..``end`` (or ``host_span``), what, and how to fix."""

    start: int
    end: int
    message: str
    fix: str | None = None
    host_span: Span | None = None


class Binding(NamedTuple):
    """A query bound to a profile by configuration: which role each ``$n`` plays.

    ``unmapped`` holds the placeholders that play no role, each with the configuration's
    complaint (empty when the interpolation simply matches no role name).
    """

    profile: Profile
    query_config: QueryConfig
    roles: Mapping[int, str]
    config: Config
    unmapped: tuple[tuple[Placeholder, str], ...] = ()
    #: the entry's ``[query.options]``, typed by the profile (None: it takes none)
    options: Any = None

    def role_indexes(self, role: str) -> frozenset[int]:
        return frozenset(index for index, name in self.roles.items() if name == role)


class RuleContext(NamedTuple):
    """Everything a rule may consult besides the query itself (``cache``: per query, for rules)."""

    config: Config
    schema: Schema
    extraction: ExtractionResult
    host: HostText
    binding: Binding | None = None
    cache: dict[str, Any] = {}  # noqa: RUF012 - always passed explicitly by the check


QueryCheck = Callable[["ExtractedQuery", "ParsedQuery", "QueryLineage", RuleContext],
                      Iterable[Finding]]
FileCheck = Callable[["ExtractionResult", RuleContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """A registered rule: code (never reused), kebab-case name (reads as "allow <name>"), check.

    ``kind`` ``engine`` marks a code the check itself emits (invalid SQL, unused suppressions);
    ``needs_tree`` False lets a query rule run on SQL that did not parse; ``profile`` limits a rule
    to queries bound to that profile.
    """

    code: str
    name: str
    check: Callable[..., Iterable[Finding]] | None
    kind: RuleKind = "query"
    profile: str | None = None
    severity: Severity = "error"
    needs_tree: bool = True
    docstring: str = field(default="", repr=False)

    @property
    def doc(self) -> str:
        """The documentation without its summary line."""
        text = self._text()
        _, _, rest = text.partition("\n")
        return rest.strip()

    @property
    def summary(self) -> str:
        return self._text().partition("\n")[0].strip()

    def _text(self) -> str:
        source = self.docstring or (self.check.__doc__ if self.check is not None else "") or ""
        return inspect.cleandoc(source)


def rule(code: str, name: str, *, kind: RuleKind = "query", profile: str | None = None,
         needs_tree: bool = True, severity: Severity = "error") -> Callable[[Callable[..., Any]], Rule]:
    """Declare a rule from its check function (the registry lists it explicitly)."""
    def make(check: Callable[..., Any]) -> Rule:
        return Rule(code, name, check, kind=kind, profile=profile, needs_tree=needs_tree,
                    severity=severity)
    return make


# -- positions ---------------------------------------------------------------------------------

def at(node: exp.Expression | None, sql: str, message: str, fix: str | None = None) -> Finding:
    """A finding covering a node (the statement start when the node has no position)."""
    from convguard._parse import node_span

    span = node_span(node, sql) if node is not None else None
    if span is None:
        start = statement_start(sql)
        return Finding(start, start, message, fix)
    return Finding(span[0], span[1], message, fix)


def statement_start(sql: str) -> int:
    """Offset of the first SQL token (after blanks and comments)."""
    index, length = 0, len(sql)
    while index < length:
        if sql[index].isspace():
            index += 1
        elif sql.startswith("--", index):
            newline = sql.find("\n", index)
            index = length if newline == -1 else newline + 1
        elif sql.startswith("/*", index):
            close = sql.find("*/", index + 2)
            index = length if close == -1 else close + 2
        else:
            return index
    return 0


def show(node: exp.Expression, sql: str, limit: int = 60, *,
         query: ExtractedQuery | None = None, host: HostText | None = None) -> str:
    """A node as written (trimmed), for messages: in the host file when ``query`` and ``host``
    are given, so a TypeScript user reads ``${from}``, not ``$2``."""
    from convguard._parse import node_span

    span = node_span(node, sql)
    if span is None:
        text = node.sql(dialect="postgres")
    elif query is not None and host is not None:
        start, end = host_range(query, *span)
        text = host.text[start:end]
    else:
        text = sql[span[0]:span[1]]
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def host_range(query: ExtractedQuery, start: int, end: int) -> tuple[int, int]:
    """Host offsets of the SQL range ``start``..``end`` (a placeholder maps to its ``${...}``)."""
    first = query.host_offset(start)
    if end <= start:
        return first, first
    stand_in = query.stand_in_at(end - 1)
    if stand_in is not None:
        return first, stand_in.host_span.end
    return first, query.host_offset(end - 1) + 1


# -- tree helpers ------------------------------------------------------------------------------

_OPERATORS: dict[type, str] = {exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=",
                               exp.EQ: "=", exp.NEQ: "<>"}
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "<>": "<>"}
ORDERING = frozenset({">", ">=", "<", "<="})


class Comparison(NamedTuple):
    """A binary comparison ``left op right`` (a ``BETWEEN`` yields two, ``>=`` low and ``<=`` high)."""

    node: exp.Expression
    left: exp.Expression
    op: str
    right: exp.Expression

    def flipped(self) -> Comparison:
        return Comparison(self.node, self.right, _FLIP[self.op], self.left)


def comparisons(parsed: ParsedQuery) -> list[Comparison]:
    """Every comparison of a parsed query, in source order."""
    found = []
    for node in parsed.find_all(*_OPERATORS, exp.Between):
        if isinstance(node, exp.Between):
            found.append(Comparison(node, node.this, ">=", node.args["low"]))
            found.append(Comparison(node, node.this, "<=", node.args["high"]))
        else:
            found.append(Comparison(node, node.this, _OPERATORS[type(node)], node.expression))
    return found


def core(node: exp.Expression | None) -> exp.Expression | None:
    """A value without what does not change it: parentheses, casts, ``AT TIME ZONE`` a constant."""
    while node is not None:
        if isinstance(node, (exp.Paren, exp.Cast, exp.TryCast)) or (isinstance(node, exp.AtTimeZone) and isinstance(node.args.get("zone"), exp.Literal)):
            node = node.this
        else:
            return node
    return None


def unparen(node: exp.Expression | None) -> exp.Expression | None:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    """The ``AND``-ed parts of a condition (through parentheses)."""
    condition = unparen(condition)
    if condition is None:
        return []
    if isinstance(condition, exp.And):
        return conjuncts(condition.this) + conjuncts(condition.expression)
    return [condition]


def disjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    condition = unparen(condition)
    if condition is None:
        return []
    if isinstance(condition, exp.Or):
        return disjuncts(condition.this) + disjuncts(condition.expression)
    return [condition]


def is_not_null(node: exp.Expression) -> exp.Expression | None:
    """The operand of ``x IS NOT NULL`` (or ``NOT x IS NULL``), else None."""
    node = unparen(node)
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null) and node.args.get("negate"):
        return node.this
    if isinstance(node, exp.Not):
        inner = unparen(node.this)
        if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null) \
                and not inner.args.get("negate"):
            return inner.this
    return None


def is_null(node: exp.Expression) -> exp.Expression | None:
    """The operand of ``x IS NULL``, else None."""
    node = unparen(node)
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null) \
            and not node.args.get("negate"):
        return node.this
    return None


Clause = Literal["where", "on", "having", "filter", "case", "select", "other"]


def clause_of(node: exp.Expression) -> Clause:
    """Where a predicate sits: a filter (WHERE/ON/HAVING/FILTER), a CASE branch, or elsewhere.

    The answer for every node passed on the way up is remembered, so asking for each of the n
    predicates of a long ``OR``/``AND`` chain (n deep) costs O(n) in all, not O(n²).

    Example:
        >>> from convguard._parse import parse_sql
        >>> tree = parse_sql("SELECT CASE WHEN a > 1 THEN 1 END FROM t WHERE b > 2 OR c > 3").tree
        >>> [clause_of(node) for node in tree.find_all(exp.GT)]
        ['case', 'where', 'where']
    """
    passed: list[exp.Expression] = []
    child: exp.Expression = node
    parent = node.parent
    clause: Clause = "other"
    while parent is not None:
        known = _CLAUSES.get(id(child))
        if known is not None and known[0] is child:
            clause = known[1]
            break
        passed.append(child)
        decided = _clause_at(child, parent)
        if decided is not None:
            clause = decided
            break
        child, parent = parent, parent.parent
    if len(_CLAUSES) > _CLAUSES_LIMIT:
        _CLAUSES.clear()
    for each in passed:
        _CLAUSES[id(each)] = (each, clause)
    return clause


# id(node) -> (node, its clause); the node is kept so that a reused id is never mistaken for it.
# Trees are never mutated (parses are shared), so an answer never goes stale.
_CLAUSES: dict[int, tuple[exp.Expression, Clause]] = {}
_CLAUSES_LIMIT = 1_000_000


def _clause_at(child: exp.Expression, parent: exp.Expression) -> Clause | None:
    """The clause decided by the edge ``parent -> child``, or None to look further up."""
    if isinstance(parent, exp.If) and child is parent.this:
        return "case"
    if isinstance(parent, exp.Where):
        return "filter" if isinstance(parent.parent, exp.Filter) else "where"
    if isinstance(parent, exp.Join) and child is parent.args.get("on"):
        return "on"
    if isinstance(parent, exp.Having):
        return "having"
    if isinstance(parent, (exp.Select, exp.Subquery)):
        return "select"
    return None


def condition_root(node: exp.Expression) -> exp.Expression:
    """The whole condition a predicate is part of (a CASE branch's, a WHERE's, an ON's)."""
    child: exp.Expression = node
    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.If) and child is parent.this:
            return child
        if isinstance(parent, (exp.Where, exp.Having)):
            return child
        if isinstance(parent, exp.Join) and child is parent.args.get("on"):
            return child
        if isinstance(parent, (exp.Select, exp.Subquery, exp.Case)):
            return child
        child, parent = parent, parent.parent
    return child


def branch_of(node: exp.Expression) -> tuple[exp.Case, int] | None:
    """The CASE and the index of the ``WHEN`` whose condition contains ``node``."""
    child: exp.Expression = node
    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.If) and child is parent.this and isinstance(parent.parent, exp.Case):
            case = parent.parent
            ifs = case.args.get("ifs") or []
            for index, branch in enumerate(ifs):
                if branch is parent:
                    return case, index
            return None
        if isinstance(parent, (exp.Select, exp.Subquery)):
            return None
        child, parent = parent, parent.parent
    return None


def select_of(node: exp.Expression) -> exp.Select | None:
    parent = node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        parent = parent.parent
    return parent


def parameters(node: exp.Expression) -> Iterator[int]:
    """The ``n`` of every ``$n`` inside a node."""
    from convguard._parse import parameter_index

    for candidate in node.find_all(exp.Parameter):
        index = parameter_index(candidate)
        if index is not None:
            yield index


def placeholder_for(query: ExtractedQuery, index: int) -> Placeholder | None:
    return query.placeholder(index)


__all__ = [
    "Binding",
    "Comparison",
    "Finding",
    "Rule",
    "RuleContext",
    "at",
    "branch_of",
    "clause_of",
    "comparisons",
    "condition_root",
    "conjuncts",
    "core",
    "disjuncts",
    "host_range",
    "is_not_null",
    "is_null",
    "parameters",
    "rule",
    "select_of",
    "show",
    "statement_start",
    "unparen",
]
