"""CG209: outcomes count distinct leads, proven by lineage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlglot import exp

from convguard._lineage import Lineage, same_entity
from convguard.rules._base import Finding, RuleContext, at, rule
from convguard.profiles.booking_conversion.rules.facts import LEAD_ID, BookingFacts, booking_facts

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

PROFILE = "booking-conversion"


def _final_selects(tree: exp.Expression) -> list[exp.Select]:
    if isinstance(tree, exp.Select):
        return [tree]
    if isinstance(tree, exp.SetOperation):
        return _final_selects(tree.this) + _final_selects(tree.expression)
    if isinstance(tree, exp.Subquery):
        return _final_selects(tree.this)
    return []


@rule("CG209", "count-not-distinct-leads", profile=PROFILE)
def count_not_distinct_leads(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                             context: RuleContext) -> Iterator[Finding]:
    """The outcome count is not `COUNT(DISTINCT <lead id>)`.

    ## What it does
    Checks every `COUNT` of the final SELECT: it must be `COUNT(DISTINCT x)` where `x` is
    traced, through CTEs and aliases, to `Lead.id` or to a foreign key pointing at it
    (`AIDraft.leadId`). The alias's spelling proves nothing: a draft id aliased `"leadId"` is
    a draft id.

    ## Why is this bad?
    Outcomes are per lead: a lead who got three drafts and booked once is one booking. `COUNT(*)`
    or `COUNT(x)` counts rows, and `COUNT(DISTINCT d.id)` counts drafts, inflating every bucket
    and the booking rate with it.

    ## Example
    ```sql
    WITH outcomes AS (SELECT d.id AS "leadId", d.channel FROM "AIDraft" d)
    SELECT o.channel, COUNT(DISTINCT o."leadId") FROM outcomes o GROUP BY o.channel
    ```

    ## Use instead
    ```sql
    WITH outcomes AS (SELECT d."leadId" AS "leadId", d.channel FROM "AIDraft" d)
    SELECT o.channel, COUNT(DISTINCT o."leadId") FROM outcomes o GROUP BY o.channel
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None:
        return
    counted = False
    for select in _final_selects(facts.tree):
        for projection in select.expressions:
            for count in projection.find_all(exp.Count):
                if count.find_ancestor(exp.Select) is not select:
                    continue
                counted = True
                finding = _judge(count, facts, lineage)
                if finding is not None:
                    yield finding
    if not counted:
        selects = _final_selects(facts.tree)
        yield at(selects[0] if selects else None, facts.sql,
                 "the result counts nothing: outcomes are COUNT(DISTINCT lead id) per bucket",
                 'COUNT(DISTINCT lo."leadId")')


def _judge(count: exp.Count, facts: BookingFacts, lineage: QueryLineage) -> Finding | None:
    sql = facts.sql
    argument = count.this
    shown = facts.show(count)
    fix = 'count distinct leads: COUNT(DISTINCT <Lead.id>), e.g. COUNT(DISTINCT lo."leadId")'
    if isinstance(argument, exp.Star) or argument is None:
        return at(count, sql, f"{shown} counts rows (drafts), not distinct leads", fix)
    if not isinstance(argument, exp.Distinct):
        return at(count, sql, f"{shown} counts rows without DISTINCT: a lead with several drafts "
                  "counts several times", fix)
    values = argument.expressions
    result = lineage.of(values[0]) if len(values) == 1 else None
    if same_entity(result, LEAD_ID, lineage.schema):
        return None
    if isinstance(result, Lineage) and result.columns:
        traced = ", ".join(f"{table}.{column}" for table, column in sorted(result.columns))
        return at(count, sql, f"{shown} counts distinct {traced}, not leads (Lead.id)", fix)
    return at(count, sql, f"{shown} is not traced to Lead.id: convguard cannot prove it counts "
              "leads", fix)
