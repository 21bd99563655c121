"""What the booking-conversion rules need to know about a query, computed once per query.

Every fact is proven from lineage, never from spelling: the *send time* is a column traced to the
anchor CTE's output computed from ``Message.sentAt``; the *booking* is a column traced, unchanged,
to ``Lead.appointmentBookedAt``; a *role* is the profile role of a ``$n`` (seen through casts,
parentheses and ``AT TIME ZONE 'UTC'``).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlglot import exp

from convguard._lineage import Lineage, identifier_name
from convguard._parse import parameter_index
from convguard.rules._base import (
    Comparison,
    comparisons,
    conjuncts,
    core,
    is_not_null,
    show,
    statement_start,
    unparen,
)

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery, HostText
    from convguard._parse import ParsedQuery
    from convguard.rules._base import RuleContext

SENT_AT = ("Message", "sentAt")
MESSAGE_DRAFT = ("Message", "aiDraftId")
DIRECTION = ("Message", "direction")
BOOKED_AT = ("Lead", "appointmentBookedAt")
LEAD_ID = ("Lead", "id")
DRAFT_ID = ("AIDraft", "id")
EVIDENCE = (("Lead", "ghlAppointmentId"), ("Lead", "calendlyInviteeUri"),
            ("Lead", "calendlyScheduledEventUri"))


class BookingFacts:
    """The facts of one profile-bound query (read-only once built; properties are cached)."""

    def __init__(self, query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                 roles: dict[int, str], anchor_name: str, host: HostText | None = None) -> None:
        self.query = query
        self.host = host
        self.parsed = parsed
        self.lineage = lineage
        self.roles = roles
        self.anchor_name = anchor_name
        self._cache: dict[str, object] = {}

    @property
    def tree(self) -> exp.Expression:
        assert self.parsed.tree is not None
        return self.parsed.tree

    @property
    def sql(self) -> str:
        return self.parsed.sql

    @cached_property
    def anchor(self) -> exp.CTE | None:
        """The CTE named like the configured anchor (``draft_send_time``)."""
        wanted = self.anchor_name
        for cte in self.parsed.find_all(exp.CTE):
            alias = cte.args.get("alias")
            name = identifier_name(alias.this) if alias is not None else ""
            if name == wanted or name.lower() == wanted.lower():
                return cte
        return None

    @cached_property
    def anchor_select(self) -> exp.Select | None:
        body = self.anchor.this if self.anchor is not None else None
        while isinstance(body, exp.SetOperation):
            body = body.this
        return body if isinstance(body, exp.Select) else None

    @cached_property
    def candidate_filters(self) -> tuple[exp.In, ...]:
        """The anchor's candidate filters: top-level conditions of its ``WHERE`` that only skip
        drafts which cannot have their first outbound message in ``[from, to)``.

        The one form recognised: the grouped ``Message.aiDraftId IN (SELECT w."aiDraftId" FROM
        "Message" w WHERE ...)``, where every condition of the subquery holds for the first
        outbound message of a draft sent in the range: ``w.direction = 'outbound'``,
        ``w."aiDraftId" IS NOT NULL``, ``w."sentAt" >= from``, ``w."sentAt" < to`` (or ``<=``).
        Such a filter keeps every draft sent in the range, with all its outbound messages, so the
        ``MIN`` of each kept draft is unchanged; the range on the send time still decides.

        Example:
            ``m."aiDraftId" IN (SELECT w."aiDraftId" FROM "Message" w WHERE w.direction =
            'outbound' AND w."sentAt" >= ${from} AND w."sentAt" < ${to})`` is one; with
            ``w."sentAt" > ${from}`` it is not (a draft first sent exactly at ``from`` is lost).
        """
        return tuple(condition for condition in self.candidate_shaped
                     if not self.candidate_flaws(condition))

    @cached_property
    def candidate_shaped(self) -> tuple[exp.In, ...]:
        """The anchor's top-level ``Message.aiDraftId IN (SELECT w."aiDraftId" FROM "Message" w
        WHERE ...)`` conditions, sound or not (see :attr:`candidate_filters`)."""
        select = self.anchor_select
        where = select.args.get("where") if select is not None else None
        if where is None:
            return ()
        return tuple(condition for condition in conjuncts(where.this)
                     if isinstance(condition, exp.In) and self._subquery_of(condition) is not None)

    def candidate_flaws(self, condition: exp.In) -> list[exp.Expression]:
        """The conditions of a candidate-shaped filter's subquery that can drop a draft sent in
        the range (all of them if it has none: then it keeps every draft with any message)."""
        inner = self._subquery_of(condition)
        where = inner.args.get("where") if inner is not None else None
        if where is None:
            return []
        return [part for part in conjuncts(where.this) if not self._holds_for_a_send_in_range(part)]

    def _subquery_of(self, condition: exp.In) -> exp.Select | None:
        if not self.is_column(condition.this, MESSAGE_DRAFT):
            return None
        query = condition.args.get("query")
        inner = query.this if isinstance(query, exp.Subquery) else query
        if not isinstance(inner, exp.Select) or len(inner.expressions) != 1:
            return None
        if any(inner.args.get(part) for part in ("joins", "group", "having", "limit", "offset",
                                                 "with_")):
            return None
        source = inner.args.get("from_")
        table = source.this if source is not None else None
        if not isinstance(table, exp.Table) or identifier_name(table.this) != "Message":
            return None
        return inner if self.is_column(inner.expressions[0], MESSAGE_DRAFT) else None

    def _holds_for_a_send_in_range(self, part: exp.Expression) -> bool:
        """True for a condition every outbound message sent in ``[from, to)`` satisfies."""
        condition = unparen(part)
        if condition is None:
            return False
        tested = is_not_null(condition)
        if tested is not None:
            return self.is_column(tested, MESSAGE_DRAFT)
        directions = self.directions(condition)
        if directions is not None:
            return directions == {"outbound"}
        kept = {("from", ">="), ("to", "<"), ("to", "<=")}
        parts = [comparison for comparison in self.comparisons if comparison.node is condition]
        return bool(parts) and all(
            any(self.is_column(candidate.left, SENT_AT)
                and (self.role(candidate.right), candidate.op) in kept
                for candidate in (comparison, comparison.flipped()))
            for comparison in parts)

    def directions(self, condition: exp.Expression) -> set[str] | None:
        """The directions a condition on ``Message.direction`` keeps (None: not one).

        ``{"?"}`` when it reads the direction in another way; a direction inside a subquery
        filters that subquery's messages, so it does not count for the condition's own SELECT.
        """
        condition = unparen(condition)
        if isinstance(condition, (exp.EQ, exp.NEQ)):
            for column, value in ((condition.this, condition.expression),
                                  (condition.expression, condition.this)):
                if self.is_column(column, DIRECTION):
                    text = value.this if isinstance(value, exp.Literal) and value.is_string \
                        else "?"
                    return {"not " + text} if isinstance(condition, exp.NEQ) else {text}
        if isinstance(condition, exp.In) and self.is_column(condition.this, DIRECTION):
            return {item.this if isinstance(item, exp.Literal) else "?"
                    for item in condition.expressions}
        if any(self.is_column(column, DIRECTION)
               and column.find_ancestor(exp.Select) is condition.find_ancestor(exp.Select)
               for column in condition.find_all(exp.Column)):
            return {"?"}
        return None

    def in_candidate_filter(self, node: exp.Expression) -> bool:
        """Whether ``node`` is part of a candidate-shaped filter (sound or not: a flawed one is
        reported for its flaws, by CG203)."""
        filters = self.candidate_shaped
        parent: exp.Expr | None = node
        while parent is not None:
            if any(parent is candidate for candidate in filters):
                return True
            parent = parent.parent
        return False

    @cached_property
    def comparisons(self) -> list[Comparison]:
        return comparisons(self.parsed)

    def role(self, node: exp.Expression | None) -> str | None:
        """The profile role of a value that is exactly one parameter (through casts)."""
        value = core(node)
        if value is None:
            return None
        index = parameter_index(value)
        return self.roles.get(index) if index is not None else None

    def lineage_of(self, node: exp.Expression) -> Lineage | None:
        result = self.lineage.of(node)
        return result if isinstance(result, Lineage) else None

    @cached_property
    def send_output(self) -> tuple[str, str] | None:
        """``(anchor CTE, output column)`` of the send time the anchor computes.

        The aggregate over ``Message.sentAt`` if there is one, else the first aggregate of one
        column: a wrong aggregate is CG201's finding, and the rest of the query is still judged
        against what the anchor computes.
        """
        select = self.anchor_select
        if select is None or self.anchor is None:
            return None
        outputs = self.lineage.outputs(select)
        alias = self.anchor.args.get("alias")
        renamed = [identifier_name(c) for c in (alias.args.get("columns") or [])] if alias else []
        names = [renamed[i] if i < len(renamed) else name for i, (name, _) in enumerate(outputs)]
        candidates = [(names[i], result) for i, (_, result) in enumerate(outputs)
                      if isinstance(result, Lineage) and result.aggregates
                      and len(result.columns) == 1]
        for name, result in candidates:
            if result.columns == {SENT_AT}:
                return (identifier_name(alias.this) if alias else self.anchor_name, name)
        if candidates:
            return (identifier_name(alias.this) if alias else self.anchor_name, candidates[0][0])
        return None

    def is_send_time(self, node: exp.Expression | None) -> bool:
        """A column whose value is, unchanged, the send time the anchor CTE computes."""
        value = core(node)
        if not isinstance(value, exp.Column) or self.send_output is None:
            return False
        result = self.lineage_of(value)
        if result is None:
            return False
        if result.origin == self.send_output:
            return True
        return result.direct and self.send_output in result.via

    def is_column(self, node: exp.Expression | None, column: tuple[str, str]) -> bool:
        """A column reference that is, unchanged, the schema column ``column``."""
        value = core(node)
        if not isinstance(value, exp.Column):
            return False
        result = self.lineage_of(value)
        return result is not None and result.direct and result.columns == {column}

    def is_booking(self, node: exp.Expression | None) -> bool:
        return self.is_column(node, BOOKED_AT)

    def mentions_role(self, node: exp.Expression, role: str) -> bool:
        return any(self.roles.get(parameter_index(p) or -1) == role
                   for p in node.find_all(exp.Parameter))

    def is_window_end(self, node: exp.Expression | None) -> bool:
        """``send + window days`` (``s + (${days} * interval '1 day')``, ``make_interval``...)."""
        value = core(node)
        if not isinstance(value, exp.Add):
            return False
        for this, other in ((value.this, value.expression), (value.expression, value.this)):
            if self.is_send_time(this) and self.mentions_role(other, "attribution_window_days"):
                return True
        return False

    def is_cutoff(self, node: exp.Expression | None) -> bool:
        """The maturity cutoff: the ``maturity_cutoff`` role, or ``to`` minus the buffer days."""
        if self.role(node) == "maturity_cutoff":
            return True
        value = core(node)
        return (isinstance(value, exp.Sub) and self.role(value.this) == "to"
                and self.mentions_role(value.expression, "maturity_buffer_days"))

    def outcome_position(self) -> exp.Expression | None:
        """Where a missing outcome branch is reported: the first CASE that reads the booking."""
        for case in self.parsed.find_all(exp.Case):
            if any(self.is_booking(column) for column in case.find_all(exp.Column)):
                return case
        return None

    @cached_property
    def analysed_select(self) -> exp.Select | None:
        """The SELECT that filters drafts: it reads the anchor CTE (else ``AIDraft``)."""
        for wanted in (self.anchor_name.lower(), "aidraft"):
            for table in self.parsed.find_all(exp.Table):
                if identifier_name(table.this).lower() == wanted and table.find_ancestor(exp.CTE) \
                        is not self.anchor:
                    select = table.find_ancestor(exp.Select)
                    if select is not None:
                        return select
        return None

    def filter_position(self) -> exp.Expression | None:
        """Where a missing filter is reported: the analysed SELECT's WHERE (else its FROM)."""
        select = self.analysed_select
        if select is None:
            return None
        where = select.args.get("where")
        if where is not None:
            return where.this
        from_ = select.args.get("from_")
        return from_.this if from_ is not None else select

    def show(self, node: exp.Expression, limit: int = 60) -> str:
        """A node as the user wrote it (``${from}``, not ``$2``), trimmed for a message."""
        return show(node, self.sql, limit, query=self.query, host=self.host)

    def start(self) -> int:
        return statement_start(self.sql)


def booking_facts(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                  context: RuleContext) -> BookingFacts | None:
    """The facts of a bound query (cached in the rule context), None if it is not bound."""
    if context.binding is None or parsed.tree is None:
        return None
    facts = context.cache.get("booking")
    if facts is None:
        facts = BookingFacts(query, parsed, lineage, dict(context.binding.roles),
                             _anchor_cte(context), context.host)
        context.cache["booking"] = facts
    return facts  # type: ignore[return-value]


def _anchor_cte(context: RuleContext) -> str:
    """The send-time CTE's name: the query's ``[query.options] anchor_cte``, else the default."""
    options = context.binding.options if context.binding is not None else None
    return getattr(options, "anchor_cte", None) or "draft_send_time"
