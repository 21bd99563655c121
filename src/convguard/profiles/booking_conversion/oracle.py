"""The reference oracle: SEMANTICS.md's booking-conversion numbers, as plain Python.

Read it side by side with the spec: one small function per numbered definition.

1. :func:`send_times` - a draft's send time is its first *outbound* message's ``sentAt``.
2. :func:`analysed_drafts` - the drafts of the UI date range, scope, disposition and email filter.
3. :func:`draft_outcome` - pre-booked (excluded), PENDING, BOOKED, BOOKED_NO_TIMESTAMP, NOT_BOOKED.
4. :func:`lead_outcomes` - per (lead, channel, disposition), the best outcome of the lead's drafts.
5. :func:`oracle_rows` / :func:`booking_oracle` - distinct leads per bucket and outcome.

Rows are mappings; a column left out means the schema default (``channel`` 'sms', ``status``
'pending', ``responseMode`` 'SETTER_MANAGED', a nullable column NULL). Timestamps are naive
``datetime`` values holding UTC (millisecond precision, compared exactly).

Example:
    >>> from datetime import datetime
    >>> from convguard._dataset import Dataset
    >>> from convguard.profiles.booking_conversion import resolve_params
    >>> data = Dataset({
    ...     "Client": ({"id": "c1"},),
    ...     "Lead": ({"id": "l1", "clientId": "c1",
    ...               "appointmentBookedAt": datetime(2026, 1, 20)},),
    ...     "AIDraft": ({"id": "d1", "leadId": "l1", "responseDisposition": "EDITED"},),
    ...     "Message": ({"id": "m1", "leadId": "l1", "aiDraftId": "d1", "direction": "outbound",
    ...                  "body": "hi", "sentAt": datetime(2026, 1, 10)},),
    ... })
    >>> params = resolve_params({"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"})
    >>> oracle_rows(data, params)
    [('sms', 'EDITED', 'BOOKED', 1)]
    >>> booking_oracle(data, params).bucket("sms", "EDITED").booking_rate
    1.0
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from convguard._dataset import Dataset, Row
from convguard.profiles.booking_conversion.schema import booking_schema
from convguard.profiles.booking_conversion._params import BookingParams
from convguard.profiles.booking_conversion._stats import ConversionStats

BOOKED = "BOOKED"
BOOKED_NO_TIMESTAMP = "BOOKED_NO_TIMESTAMP"
PENDING = "PENDING"
NOT_BOOKED = "NOT_BOOKED"

#: Definition 4: the best outcome wins (a higher rank is better).
OUTCOME_RANK = {BOOKED: 3, BOOKED_NO_TIMESTAMP: 2, PENDING: 1, NOT_BOOKED: 0}

#: The columns whose non-NULL value is evidence of a booking without a timestamp.
NO_TIMESTAMP_EVIDENCE = ("ghlAppointmentId", "calendlyInviteeUri", "calendlyScheduledEventUri")

_SCHEMA = booking_schema()


def column_value(row: Row, table: str, column: str) -> Any:
    """The row's value, or the schema default when the row leaves the column out.

    Only text defaults matter to the oracle (``'sms'``, ``'pending'``, ``'SETTER_MANAGED'``);
    a nullable column left out is NULL.

    Example:
        >>> column_value({"id": "d1"}, "AIDraft", "channel")
        'sms'
        >>> column_value({"id": "l1"}, "Lead", "appointmentBookedAt") is None
        True
    """
    if column in row:
        return row[column]
    default = _SCHEMA.table(table).column(column).default
    if default is not None and default.startswith("'") and default.endswith("'"):
        return default[1:-1]
    return None


# 1. Send time ------------------------------------------------------------------------------------

def send_times(dataset: Dataset) -> dict[str, datetime]:
    """Draft id -> ``min(sentAt)`` of its outbound messages (the ``draft_send_time`` CTE).

    A message with no ``aiDraftId`` anchors nothing; an inbound message never anchors; a draft
    with no outbound message has no entry (it is not analysed).
    """
    first_send: dict[str, datetime] = {}
    for message in dataset.rows("Message"):
        draft_id = column_value(message, "Message", "aiDraftId")
        if draft_id is None or column_value(message, "Message", "direction") != "outbound":
            continue
        sent_at = message["sentAt"]
        if draft_id not in first_send or sent_at < first_send[draft_id]:
            first_send[draft_id] = sent_at
    return first_send


# 2. Analysed drafts ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnalysedDraft:
    """A draft that passed layer 1, with what the later definitions need."""

    draft_id: str
    lead: Row
    channel: str
    disposition: str
    send_time: datetime


def clients_in_scope(dataset: Dataset, params: BookingParams) -> set[str]:
    """``params.client_ids``, or every client of the dataset when it is None."""
    if params.client_ids is None:
        return {row["id"] for row in dataset.rows("Client")}
    return set(params.client_ids)


def campaign_response_mode(lead: Row, campaigns: Mapping[str, Row]) -> str | None:
    """The lead's EmailCampaign ``responseMode`` through a LEFT JOIN (None: no campaign)."""
    campaign_id = column_value(lead, "Lead", "emailCampaignId")
    campaign = campaigns.get(campaign_id) if campaign_id is not None else None
    if campaign is None:
        return None
    return column_value(campaign, "EmailCampaign", "responseMode")


def analysed_drafts(dataset: Dataset, params: BookingParams) -> list[AnalysedDraft]:
    """Layer 1: lead in scope, disposition set, ``from <= send_time < to``, and an email draft
    only when its lead's campaign is AI_AUTO_SEND (a lead with no campaign excludes it)."""
    scope = clients_in_scope(dataset, params)
    leads = {row["id"]: row for row in dataset.rows("Lead")}
    campaigns = {row["id"]: row for row in dataset.rows("EmailCampaign")}
    first_send = send_times(dataset)
    analysed = []
    for draft in dataset.rows("AIDraft"):
        lead = leads.get(draft["leadId"])
        if lead is None or lead["clientId"] not in scope:
            continue
        disposition = column_value(draft, "AIDraft", "responseDisposition")
        if disposition is None:
            continue
        send_time = first_send.get(draft["id"])
        if send_time is None or not (params.from_ <= send_time < params.to):
            continue
        channel = column_value(draft, "AIDraft", "channel")
        if channel == "email" and campaign_response_mode(lead, campaigns) != "AI_AUTO_SEND":
            continue
        analysed.append(AnalysedDraft(draft["id"], lead, channel, disposition, send_time))
    return analysed


# 3. Draft outcome --------------------------------------------------------------------------------

def draft_outcome(send_time: datetime, lead: Row, params: BookingParams) -> str | None:
    """The outcome of one analysed draft; None when it is excluded (the lead booked before it).

    First match wins:

    - ``b IS NOT NULL AND b <= s``: excluded (pre-booked);
    - ``s > maturity_cutoff``: PENDING (a send exactly at the cutoff is mature);
    - ``s < b <= LEAST(to, s + window)``: BOOKED;
    - ``b IS NULL`` and any evidence column set: BOOKED_NO_TIMESTAMP;
    - otherwise NOT_BOOKED.
    """
    s = send_time
    b = column_value(lead, "Lead", "appointmentBookedAt")
    if b is not None and b <= s:
        return None
    if s > params.maturity_cutoff:
        return PENDING
    cap = min(params.to, s + timedelta(days=params.attribution_window_days))
    if b is not None and s < b <= cap:
        return BOOKED
    if b is None and any(column_value(lead, "Lead", c) is not None for c in NO_TIMESTAMP_EVIDENCE):
        return BOOKED_NO_TIMESTAMP
    return NOT_BOOKED


# 4. Lead outcome per bucket ----------------------------------------------------------------------

def lead_outcomes(dataset: Dataset, params: BookingParams) -> dict[tuple[str, str, str], str]:
    """(lead id, channel, disposition) -> the best outcome of the lead's analysed drafts there.

    A lead whose drafts in a bucket are all excluded has no entry for that bucket.
    """
    best: dict[tuple[str, str, str], str] = {}
    for draft in analysed_drafts(dataset, params):
        outcome = draft_outcome(draft.send_time, draft.lead, params)
        if outcome is None:
            continue
        key = (draft.lead["id"], draft.channel, draft.disposition)
        if key not in best or OUTCOME_RANK[outcome] > OUTCOME_RANK[best[key]]:
            best[key] = outcome
    return best


# 5. Counts ---------------------------------------------------------------------------------------

def oracle_rows(dataset: Dataset, params: BookingParams) -> list[tuple[str, str, str, int]]:
    """The query's rows ``(channel, responseDisposition, outcome, count)``, sorted; a bucket
    and outcome with no lead has no row."""
    counts = Counter(
        (channel, disposition, outcome)
        for (_lead, channel, disposition), outcome in lead_outcomes(dataset, params).items()
    )
    return sorted((channel, disposition, outcome, count)
                  for (channel, disposition, outcome), count in counts.items())


def booking_oracle(dataset: Dataset, params: BookingParams) -> ConversionStats:
    """All nine buckets (distinct leads per outcome), as the action reports them.

    A channel other than email, sms or linkedin would land in ``problems``, as a query row with
    that channel would.
    """
    return ConversionStats.from_rows(oracle_rows(dataset, params))


__all__ = [
    "BOOKED", "BOOKED_NO_TIMESTAMP", "NOT_BOOKED", "OUTCOME_RANK", "PENDING", "AnalysedDraft",
    "analysed_drafts", "booking_oracle", "column_value", "draft_outcome", "lead_outcomes",
    "oracle_rows", "send_times",
]
