"""CG201/CG202: the send-time anchor CTE is the first outbound message of each draft."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlglot import exp

from convguard._lineage import Lineage, same_entity
from convguard.rules._base import (
    Finding,
    RuleContext,
    at,
    conjuncts,
    rule,
    unparen,
)
from convguard.profiles.booking_conversion.rules.facts import (
    DRAFT_ID,
    SENT_AT,
    BookingFacts,
    booking_facts,
)

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

PROFILE = "booking-conversion"
_ANCHOR_FIX = ('WITH draft_send_time AS (SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS '
               '"sentAt" FROM "Message" m WHERE m.direction = \'outbound\' GROUP BY m."aiDraftId")')


@rule("CG201", "wrong-send-time-anchor", profile=PROFILE)
def wrong_send_time_anchor(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                           context: RuleContext) -> Iterator[Finding]:
    """The send-time anchor CTE does not compute `MIN(Message.sentAt)` per draft.

    ## What it does
    Looks for the anchor CTE (`draft_send_time`, or `anchor_cte` in `[query.options]`) and
    checks, through lineage, that it computes `MIN` of `Message.sentAt` grouped per
    `AIDraft.id` (grouping by `Message.aiDraftId`, a foreign key to it, counts). A missing CTE,
    `MAX` instead of `MIN`, another column, or a grouping finer than the draft is reported.

    ## Why is this bad?
    A draft's send time is its first outbound message (a draft may be sent as several messages).
    `MAX` dates a multipart send by its last part, another column (`createdAt`,
    `AIDraft.updatedAt`) is not when the lead received it, and a finer grouping yields several
    send times per draft, so every later window is anchored wrongly.

    ## Example
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MAX(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound'
      GROUP BY m."aiDraftId"
    )
    SELECT dst."draftId" FROM draft_send_time dst
    ```

    ## Use instead
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound'
      GROUP BY m."aiDraftId"
    )
    SELECT dst."draftId" FROM draft_send_time dst
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None:
        return
    name = facts.anchor_name
    if facts.anchor is None:
        start = facts.start()
        yield Finding(start, start, f"no CTE named {name} computes the send time (the first "
                      "outbound message of each draft)", f"add {_ANCHOR_FIX}")
        return
    select = facts.anchor_select
    if select is None:
        yield at(facts.anchor, facts.sql, f"the {name} CTE is not a plain SELECT", _ANCHOR_FIX)
        return
    minimum = None
    for projection in select.expressions:
        value = unparen(projection.this if isinstance(projection, exp.Alias) else projection)
        if isinstance(value, exp.Min) and _is_sent_at(facts, value.this):
            minimum = projection
            break
    if minimum is None:
        yield _wrong_aggregate(facts, select)
    group = select.args.get("group")
    keys = list(group.expressions) if group is not None else []
    keys = [_positional(select, key) for key in keys]
    if not any(same_entity(lineage.of(key), DRAFT_ID, lineage.schema) for key in keys):
        yield at(group.expressions[0] if keys else (minimum or select), facts.sql,
                 f"the {name} CTE is not grouped per draft (GROUP BY m.\"aiDraftId\"): its "
                 "minimum is not one send time per draft",
                 'GROUP BY m."aiDraftId" (Message.aiDraftId references AIDraft.id)')
        return
    for key in keys:
        result = lineage.of(key)
        if same_entity(result, DRAFT_ID, lineage.schema):
            continue
        if isinstance(result, Lineage) and result.columns and all(
                table == "AIDraft" for table, _ in result.columns):
            continue
        yield at(key, facts.sql, f"the {name} CTE also groups by {facts.show(key)}: the "
                 "minimum is then per draft and that key, not one send time per draft",
                 'group by the draft alone: GROUP BY m."aiDraftId"')


def _is_sent_at(facts: BookingFacts, node: exp.Expression | None) -> bool:
    return facts.is_column(node, SENT_AT)


def _positional(select: exp.Select, key: exp.Expression) -> exp.Expression:
    """``GROUP BY 1`` names the first output column."""
    if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
        position = int(key.this) - 1
        if 0 <= position < len(select.expressions):
            projection = select.expressions[position]
            return projection.this if isinstance(projection, exp.Alias) else projection
    return key


def _wrong_aggregate(facts: BookingFacts, select: exp.Select) -> Finding:
    name = facts.anchor_name
    for projection in select.expressions:
        value = unparen(projection.this if isinstance(projection, exp.Alias) else projection)
        aggregate = value if isinstance(value, exp.AggFunc) else None
        if aggregate is None:
            continue
        shown = facts.show(aggregate)
        if _is_sent_at(facts, aggregate.this):
            return at(aggregate, facts.sql, f"the {name} CTE takes {shown}: the send time is the "
                      "first outbound message, MIN(sentAt)", 'use MIN(m."sentAt")')
        result = facts.lineage_of(aggregate.this) if aggregate.this is not None else None
        columns = ", ".join(f"{t}.{c}" for t, c in sorted(result.columns)) if result else "?"
        return at(aggregate, facts.sql, f"the {name} CTE takes {shown} ({columns}): the send time "
                  "is MIN(Message.sentAt)", 'use MIN(m."sentAt") over "Message"')
    return at(select.expressions[0] if select.expressions else select, facts.sql,
              f"the {name} CTE computes no MIN(Message.sentAt) per draft", _ANCHOR_FIX)


@rule("CG202", "send-time-without-outbound-filter", profile=PROFILE)
def send_time_without_outbound_filter(query: ExtractedQuery, parsed: ParsedQuery,
                                      lineage: QueryLineage, context: RuleContext
                                      ) -> Iterator[Finding]:
    """The send-time anchor takes messages of any direction.

    ## What it does
    Checks that the anchor CTE keeps outbound messages only: a top-level ``direction =
    'outbound'` condition (`Message.direction`, by lineage) in its `WHERE`` or an inner join's
    `ON`. A missing filter, or a filter on another direction, is reported.

    ## Why is this bad?
    Inbound messages are the lead's replies: a draft's "send time" taken over both directions is
    the first message of the thread, possibly the lead's own reply, so attribution windows start
    at the wrong moment.

    ## Example
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m."aiDraftId" IS NOT NULL
      GROUP BY m."aiDraftId"
    )
    SELECT dst."draftId" FROM draft_send_time dst
    ```

    ## Use instead
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m."aiDraftId" IS NOT NULL AND m.direction = 'outbound'
      GROUP BY m."aiDraftId"
    )
    SELECT dst."draftId" FROM draft_send_time dst
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None or facts.anchor_select is None:
        return
    select = facts.anchor_select
    name = facts.anchor_name
    where = select.args.get("where")
    conditions = conjuncts(where.this) if where is not None else []
    for join in select.args.get("joins") or []:
        if not join.args.get("side"):
            conditions.extend(conjuncts(join.args.get("on")))
    found = False
    for condition in conditions:
        if facts.in_candidate_filter(condition):
            continue
        direction = facts.directions(condition)
        if direction is None:
            continue
        if direction == {"outbound"}:
            found = True
        else:
            yield at(condition, facts.sql,
                     f"the {name} CTE filters {facts.show(condition)}: the send time is the "
                     "first outbound message", "filter m.direction = 'outbound'")
            return
    if not found:
        anchor_at = where.this if where is not None else select.args.get("from_")
        yield at(anchor_at, facts.sql,
                 f"the {name} CTE has no direction = 'outbound' filter: inbound replies count as "
                 "sends", "add AND m.direction = 'outbound' to its WHERE")
