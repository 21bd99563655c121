"""CG210/CG211: the analysed-draft filters — email auto-send and a non-null disposition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlglot import exp

from convguard.rules._base import (
    Finding,
    RuleContext,
    at,
    clause_of,
    conjuncts,
    disjuncts,
    is_not_null,
    rule,
    unparen,
)
from convguard.profiles.booking_conversion.rules.facts import BookingFacts, booking_facts

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

PROFILE = "booking-conversion"
CHANNEL = ("AIDraft", "channel")
RESPONSE_MODE = ("EmailCampaign", "responseMode")
DISPOSITION = ("AIDraft", "responseDisposition")


def _compares(facts: BookingFacts, node: exp.Expression, kind: type, column: tuple[str, str],
              value: str) -> exp.Column | None:
    node = unparen(node)
    if not isinstance(node, kind):
        return None
    for this, other in ((node.this, node.expression), (node.expression, node.this)):
        if facts.is_column(this, column) and isinstance(other, exp.Literal) \
                and other.is_string and other.this == value:
            return this
    return None


@rule("CG210", "missing-email-auto-send-filter", profile=PROFILE)
def missing_email_auto_send_filter(query: ExtractedQuery, parsed: ParsedQuery,
                                   lineage: QueryLineage, context: RuleContext
                                   ) -> Iterator[Finding]:
    """Email drafts are analysed whatever their campaign's response mode.

    ## What it does
    Looks for the filter `(channel <> 'email' OR campaign."responseMode" = 'AI_AUTO_SEND')` —
    `AIDraft.channel` and `EmailCampaign.responseMode` by lineage — and checks the campaign
    comes through a `LEFT JOIN`.

    ## Why is this bad?
    In setter-managed email campaigns a human sends the reply: those drafts say nothing about the
    AI. Through an inner join, sms and linkedin drafts of leads without a campaign would vanish
    too; with the LEFT JOIN an email draft whose lead has no campaign is excluded, as it should be.

    ## Example
    ```sql
    SELECT d.id FROM "AIDraft" d JOIN "Lead" l ON l.id = d."leadId"
    WHERE d."responseDisposition" IS NOT NULL
    ```

    ## Use instead
    ```sql
    SELECT d.id FROM "AIDraft" d JOIN "Lead" l ON l.id = d."leadId"
    LEFT JOIN "EmailCampaign" ec ON ec.id = l."emailCampaignId"
    WHERE d."responseDisposition" IS NOT NULL
      AND (d.channel <> 'email' OR ec."responseMode" = 'AI_AUTO_SEND')
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None:
        return
    for node in facts.parsed.find_all(exp.Or):
        if isinstance(node.parent, exp.Or) or clause_of(node) not in ("where", "on"):
            continue
        parts = disjuncts(node)
        channel = any(_compares(facts, part, exp.NEQ, CHANNEL, "email") for part in parts)
        modes = [_compares(facts, part, exp.EQ, RESPONSE_MODE, "AI_AUTO_SEND") for part in parts]
        mode = next((column for column in modes if column is not None), None)
        if not channel or mode is None:
            continue
        source = lineage.source_of(mode)
        if source is not None and source[2] not in ("LEFT", "FULL"):
            yield at(mode, facts.sql,
                     f"EmailCampaign is joined with {source[2] or 'an inner'} JOIN: drafts of "
                     "leads without a campaign are dropped on every channel",
                     'LEFT JOIN "EmailCampaign" ec ON ec.id = l."emailCampaignId"')
        return
    yield at(facts.filter_position(), facts.sql,
             "no (channel <> 'email' OR campaign.\"responseMode\" = 'AI_AUTO_SEND') filter: "
             "email drafts of setter-managed campaigns are analysed",
             "LEFT JOIN \"EmailCampaign\" ec ON ec.id = l.\"emailCampaignId\" and add AND "
             "(d.channel <> 'email' OR ec.\"responseMode\" = 'AI_AUTO_SEND')")


@rule("CG211", "missing-disposition-filter", profile=PROFILE)
def missing_disposition_filter(query: ExtractedQuery, parsed: ParsedQuery,
                               lineage: QueryLineage, context: RuleContext) -> Iterator[Finding]:
    """Drafts without a response disposition are analysed.

    ## What it does
    Looks for a top-level filter `"responseDisposition" IS NOT NULL` (`AIDraft`, by lineage;
    an `IN (...)` list or an equality also keeps NULL out) in a `WHERE` or `ON`.

    ## Why is this bad?
    A draft with no disposition was never sent by the AI flow (it is still pending, or was
    discarded): it has no bucket, and counting it adds a tenth, unnamed bucket or inflates
    NOT_BOOKED.

    ## Example
    ```sql
    SELECT d.id FROM "AIDraft" d WHERE d.channel = 'sms'
    ```

    ## Use instead
    ```sql
    SELECT d.id FROM "AIDraft" d WHERE d.channel = 'sms' AND d."responseDisposition" IS NOT NULL
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None:
        return
    for node in facts.parsed.find_all(exp.Where, exp.Join):
        condition = node.this if isinstance(node, exp.Where) else node.args.get("on")
        if isinstance(node, exp.Join) and node.args.get("side"):
            continue
        for part in conjuncts(condition):
            operand = is_not_null(part)
            if operand is None and isinstance(unparen(part), (exp.In, exp.EQ)):
                operand = unparen(part).this
            if operand is not None and facts.is_column(operand, DISPOSITION):
                return
    yield at(facts.filter_position(), facts.sql,
             "no \"responseDisposition\" IS NOT NULL filter: drafts the AI flow never sent are "
             "analysed", "add AND d.\"responseDisposition\" IS NOT NULL")
