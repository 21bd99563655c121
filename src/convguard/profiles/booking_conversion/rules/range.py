"""CG203/CG204: the UI date range ``[from, to)`` filters the send time, half-open."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlglot import exp

from convguard.rules._base import Finding, RuleContext, at, clause_of, rule
from convguard.profiles.booking_conversion.rules.facts import SENT_AT, booking_facts

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery
    from convguard.rules._base import Comparison
    from convguard.profiles.booking_conversion.rules.facts import BookingFacts

PROFILE = "booking-conversion"
_FILTERS = ("where", "on", "having", "filter")


def _range_comparisons(facts: BookingFacts) -> Iterator[tuple[Comparison, str]]:
    """Filter comparisons of a value with ``from``/``to``, the parameter on the right."""
    for comparison in facts.comparisons:
        if clause_of(comparison.node) not in _FILTERS or facts.in_candidate_filter(comparison.node):
            continue
        for candidate in (comparison, comparison.flipped()):
            role = facts.role(candidate.right)
            if role in ("from", "to") and facts.role(candidate.left) is None:
                yield candidate, role
                break


@rule("CG203", "range-not-on-send-time", profile=PROFILE)
def range_not_on_send_time(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                           context: RuleContext) -> Iterator[Finding]:
    """The date range filters something other than the send time.

    ## What it does
    Checks that `from` and `to` are compared, in filters, with the send time only — a column
    traced to the anchor CTE's `MIN(Message.sentAt)` — and that both bounds are present.
    `d."createdAt" >= ${from}`, or a range on the messages inside the anchor, is reported.
    One narrowing inside the anchor is sound and accepted: a candidate filter
    `m."aiDraftId" IN (SELECT w."aiDraftId" FROM "Message" w WHERE w.direction = 'outbound'
    AND w."sentAt" >= ${from} AND w."sentAt" < ${to})`, which keeps every draft sent in the
    range with all its messages (so the cost follows the range, not the history); any other
    condition in such a filter is reported.

    ## Why is this bad?
    The range selects drafts by when they were sent. A draft created on Dec 31 and sent on Jan 2
    belongs to January; filtering on `createdAt` (or on each message before taking the first)
    moves drafts between ranges and changes every count.

    ## Example
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT d.id FROM "AIDraft" d JOIN draft_send_time dst ON dst."draftId" = d.id
    WHERE d."createdAt" >= :from AND dst."sentAt" < :to
    ```

    ## Use instead
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT d.id FROM "AIDraft" d JOIN draft_send_time dst ON dst."draftId" = d.id
    WHERE dst."sentAt" >= :from AND dst."sentAt" < :to
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None or facts.anchor is None:
        return
    for condition in facts.candidate_shaped:
        for flaw in facts.candidate_flaws(condition):
            yield at(flaw, facts.sql,
                     f"the candidate filter of the {facts.anchor_name} CTE keeps only drafts with "
                     f"a message where {facts.show(flaw)}: a draft whose first outbound message "
                     "is in [from, to) can fail it and lose its send time",
                     "keep to conditions every outbound message sent in the range meets: "
                     "w.direction = 'outbound', w.\"sentAt\" >= from, w.\"sentAt\" < to")
    bounded = set()
    for comparison, role in _range_comparisons(facts):
        bounded.add(role)
        if facts.is_send_time(comparison.left):
            continue
        if comparison.node.find_ancestor(exp.CTE) is facts.anchor \
                and facts.is_column(comparison.left, SENT_AT):
            yield at(comparison.left, facts.sql,
                     f"the {facts.anchor_name} CTE compares {facts.show(comparison.left)} "
                     f"with `{role}` before taking the first message: a draft first sent before "
                     "`from` and again inside the range, or exactly at a bound, moves into or "
                     "out of the range",
                     'range-filter the send time after the CTE (dst."sentAt"); to narrow the '
                     'drafts, use m."aiDraftId" IN (SELECT w."aiDraftId" FROM "Message" w WHERE '
                     "w.direction = 'outbound' AND w.\"sentAt\" >= from AND w.\"sentAt\" < to)")
            continue
        result = facts.lineage_of(comparison.left)
        columns = ", ".join(f"{t}.{c}" for t, c in sorted(result.columns)) if result else "?"
        yield at(comparison.left, facts.sql,
                 f"the range compares {facts.show(comparison.left)} ({columns or 'a value'}) "
                 f"with `{role}`: the range [from, to) filters the send time "
                 f"({facts.anchor_name}.\"sentAt\")",
                 f'compare the send time instead: dst."sentAt" {">=" if role == "from" else "<"} '
                 f"{role}")
    for role, operator in (("from", ">="), ("to", "<")):
        if role not in bounded:
            yield at(facts.filter_position(), facts.sql,
                     f"no filter keeps sends {operator} `{role}`: the range [from, to) must bound "
                     "the send time", f'add AND dst."sentAt" {operator} {role} (the {role} role)')


@rule("CG204", "range-not-half-open", profile=PROFILE)
def range_not_half_open(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                        context: RuleContext) -> Iterator[Finding]:
    """The send-time range is not the half-open `[from, to)`.

    ## What it does
    For the comparisons of the send time with `from` and `to`, checks the operators: `>=`
    for `from` and `<` for `to` (`BETWEEN` includes `to`).

    ## Why is this bad?
    Consecutive ranges must neither overlap nor leave gaps: with `> from` a send at exactly
    midnight belongs to no month, with `<= to` it belongs to two.

    ## Example
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT dst."draftId" FROM draft_send_time dst
    WHERE dst."sentAt" > :from AND dst."sentAt" <= :to
    ```

    ## Use instead
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT dst."draftId" FROM draft_send_time dst
    WHERE dst."sentAt" >= :from AND dst."sentAt" < :to
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None or facts.anchor is None:
        return
    expected = {"from": ">=", "to": "<"}
    for comparison, role in _range_comparisons(facts):
        if not facts.is_send_time(comparison.left) or comparison.op == expected[role]:
            continue
        written = facts.show(comparison.node)
        if role == "from":
            why = ("excludes a send at exactly `from`" if comparison.op == ">"
                   else "does not bound the send time from below")
        else:
            why = ("includes a send at exactly `to`, which belongs to the next range"
                   if comparison.op == "<=" else "does not bound the send time from above")
        yield at(comparison.node, facts.sql, f"{written} {why}: the range is half-open "
                 "[from, to)", f'write dst."sentAt" {expected[role]} {role}')
