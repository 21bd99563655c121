"""Hypothesis strategies that build booking-conversion datasets by construction.

A dataset is drawn top-down - parameters, then clients, campaigns, leads with their drafts, drafts
with their message parts - and ids are given out afterwards in draw order, so every foreign key
points at a row of the same dataset and stays valid while Hypothesis shrinks (deleting a lead
deletes its drafts and messages with it).

Values come from small domains so they collide: two or three clients, a few campaigns, the three
channels, the three dispositions and NULL, evidence columns mostly NULL. Timestamps are drawn
mostly on the edges of the semantics: an anchor instant (``from``, ``to``, the maturity cutoff, a
day inside the range; for a booking also one of the lead's send times, send + window and
``LEAST(to, send + window)``) plus an offset of -1 ms, 0 or +1 ms (three draws in four),
sometimes whole days or 123 ms. Parameters include windows and buffers that clamp (0, 400; 0,
100), an omitted ``from``, an empty range, open and explicit client scopes (one with a client id
that has no row). A third of the drafts share their lead's previous bucket, so per-lead counting
is exercised.

A draw is a *document*: the mapping a scenario file holds (``name``, ``description``,
``params``, ``tables``; timestamps as ISO text with ``Z``). :func:`scenario_of` turns it into a
:class:`~convguard.kit.scenario.files.Scenario` through the kit's own scenario path (the same
validation and conversion as a file), so seeding and the oracle see exactly what a committed
scenario file would give them; :func:`document_of` goes back.

Hypothesis is a test extra: this module imports it only when a strategy is built
(:func:`booking_specs`); :func:`hypothesis_available` says whether it can be. The profile hands
:func:`booking_documents` to the kit (``Profile.strategies``).

Example:
    >>> from convguard.profiles.booking_conversion.schema import booking_schema
    >>> document = {"params": {"to": "2026-02-01T00:00:00.000Z"},
    ...             "tables": {"Client": [{"id": "c1"}]}}
    >>> scenario = scenario_of(document, booking_schema())
    >>> scenario.expected is None, scenario.dataset.rows("Client")
    (True, ({'id': 'c1'},))
    >>> iso_z(datetime(2026, 1, 25, 0, 0, 0, 1000))
    '2026-01-25T00:00:00.001Z'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from convguard._dataset import Dataset
from convguard._schema import Schema
from convguard.profiles.booking_conversion.schema import booking_schema
from convguard.kit.property import documents as _documents
from convguard.kit.property.documents import hypothesis_available, iso_z, timestamp_columns
from convguard.kit.scenario.files import Scenario, ScenarioContract, literal_default

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

MS = timedelta(milliseconds=1)
DAY = timedelta(days=1)

#: ``to`` of a generated range: a midnight, a US daylight-saving day, an odd instant.
TO_INSTANTS = (
    datetime(2026, 2, 1),
    datetime(2026, 3, 8, 7, 0),
    datetime(2026, 1, 15, 12, 34, 56, 789000),
)
#: Length of ``[from, to)``; None leaves ``from`` out (the action's default, ``to - 30 days``);
#: 0 is an empty range. Repeated entries are drawn more often.
RANGE_DAYS = (None, 30, 7, 45, 30, None, 30, 7, 1, 0)
#: Attribution windows and maturity buffers, including values the action clamps (0, 400, 100).
WINDOW_DAYS = (None, 30, 1, 7, 0, 400)
BUFFER_DAYS = (None, 7, 1, 3, 7, 0, 100)
#: Offsets from an anchor: mostly the millisecond edges, sometimes whole days. The first entry is
#: what Hypothesis shrinks towards: the anchor itself.
EDGE_OFFSETS = (timedelta(0), -MS, MS) * 5 + (-DAY, DAY, timedelta(milliseconds=123), 40 * DAY)
#: Later parts of a multipart send, relative to the part before (0: the same instant; a
#: negative offset: a part listed later that was sent earlier).
PART_OFFSETS = (timedelta(0), MS, timedelta(seconds=1), DAY, -MS)
CHANNELS = ("sms", "email", "linkedin")
DISPOSITIONS = ("EDITED", "AUTO_SENT", "APPROVED", "EDITED", "AUTO_SENT", "APPROVED", None)
RESPONSE_MODES = ("AI_AUTO_SEND", "SETTER_MANAGED", None)  # None: the schema default
#: Client scopes as indexes into the dataset's clients (3: a client id with no row; an index
#: past the clients drawn is left out); None: the open scope (every client).
SCOPES = (None, (0, 1), None, (0, 1, 2), (0,), (1,), (0, 3))
#: A draft in the same (channel, disposition) bucket as the lead's draft before it: one lead,
#: several drafts in one bucket is where per-lead counting matters (a third of the drafts).
SAME_BUCKET = "same bucket"
CLIENT_IDS = ("c1", "c2", "c3")
UNKNOWN_CLIENT = "c-unknown"


def scenario_of(document: Mapping[str, Any], schema: Schema | None = None, *,
                contract: ScenarioContract | None = None, path: str = "<generated>") -> Scenario:
    """:func:`convguard.kit.property.documents.scenario_of`, on the booking schema by default."""
    return _documents.scenario_of(document, schema or booking_schema(), contract=contract,
                                  path=path)


def tables_of(dataset: Dataset, schema: Schema | None = None) -> dict[str, list[dict[str, Any]]]:
    """:func:`convguard.kit.property.documents.tables_of`, on the booking schema by default."""
    return _documents.tables_of(dataset, schema or booking_schema())


def document_of(scenario: Scenario, schema: Schema | None = None) -> dict[str, Any]:
    """:func:`convguard.kit.property.documents.document_of`, on the booking schema by default."""
    return _documents.document_of(scenario, schema or booking_schema())


# What a draw covers --------------------------------------------------------------------------------

def _resolved(params: Mapping[str, Any]) -> Any:
    from convguard.profiles.booking_conversion._params import resolve_params

    return resolve_params(params)


def _edge(delta: timedelta) -> str | None:
    return {-MS: "-1ms", timedelta(0): "", MS: "+1ms"}.get(delta)


def edge_labels(scenario: Scenario) -> set[str]:
    """The semantic edges a scenario's timestamps sit on, e.g. ``send@cutoff-1ms`` or
    ``booking@send+window+1ms`` (used to measure what the strategies cover).

    Example:
        >>> from convguard.profiles.booking_conversion.schema import booking_schema
        >>> s = scenario_of({"params": {"to": "2026-02-01T00:00:00Z"}, "tables": {
        ...     "Client": [{"id": "c1"}],
        ...     "Lead": [{"id": "l1", "clientId": "c1",
        ...               "appointmentBookedAt": "2026-02-01T00:00:00.001Z"}],
        ...     "AIDraft": [{"id": "d1", "leadId": "l1"}],
        ...     "Message": [{"id": "m1", "leadId": "l1", "aiDraftId": "d1", "direction": "outbound",
        ...                  "body": "hi", "sentAt": "2026-01-25T00:00:00.000Z"}]}})
        >>> sorted(edge_labels(s))
        ['booking@to+1ms', 'send@cutoff']
    """
    params = _resolved(scenario.params)
    window = timedelta(days=params.attribution_window_days)
    anchors = {"from": params.from_, "to": params.to, "cutoff": params.maturity_cutoff}
    labels: set[str] = set()
    sends_of_lead: dict[str, list[datetime]] = {}
    for message in scenario.dataset.rows("Message"):
        if message.get("direction") != "outbound" or message.get("aiDraftId") is None:
            continue
        sent = message["sentAt"]
        sends_of_lead.setdefault(message["leadId"], []).append(sent)
        for name, anchor in anchors.items():
            edge = _edge(sent - anchor)
            if edge is not None:
                labels.add(f"send@{name}{edge}")
    for lead in scenario.dataset.rows("Lead"):
        booked = lead.get("appointmentBookedAt")
        if booked is None:
            continue
        for name, anchor in anchors.items():
            edge = _edge(booked - anchor)
            if edge is not None:
                labels.add(f"booking@{name}{edge}")
        for sent in sends_of_lead.get(lead["id"], ()):
            for name, anchor in (("send", sent), ("send+window", sent + window)):
                edge = _edge(booked - anchor)
                if edge is not None:
                    labels.add(f"booking@{name}{edge}")
    return labels


# Strategies ----------------------------------------------------------------------------------------

# A draw is a tree of small tuples (a *spec*) built from fixed strategies - building a strategy
# per draw costs more than the draw - and :func:`assemble` turns it into a document: it gives out
# the ids and resolves anchor indexes and offsets into timestamps.
#
#   spec     = (to, range days, window, buffer, scope, (client, client), [client])
#   client   = ([campaign response mode], [lead])
#   lead     = (campaign pick, [draft], evidence, unlinked message?, booking, extra instant)
#   draft    = ((channel, disposition, decoy updatedAt?) or SAME_BUCKET, first part's instant,
#               [part])
#   part     = (offset from the part before (ignored for the first), direction)
#   instant  = (range anchor index, offset)
#   booking  = (kind, send pick, at s / s + window / LEAST(to, s + window)), offset
#
# Lists shrink by losing elements, and a lead's drafts and messages go with it, so every shrunk
# dataset is still valid. Related small choices are one pick from their product: Hypothesis
# spends its time per choice.

def booking_specs(*, max_leads_per_client: int = 4, max_drafts_per_lead: int = 3,
                  max_parts_per_draft: int = 3) -> SearchStrategy[tuple[Any, ...]]:
    """The spec trees :func:`assemble` turns into documents (see the comment above)."""
    from itertools import product

    from hypothesis import strategies as st

    def pick(choices: Sequence[Any]) -> Any:
        return st.sampled_from(tuple(choices))

    instant = pick(list(product(range(5), EDGE_OFFSETS)))
    part = pick(list(product(PART_OFFSETS, ("outbound",) * 6 + ("inbound",))))
    draft = st.tuples(
        pick([*product(CHANNELS, DISPOSITIONS, (False,) * 5 + (True,)),
              *[SAME_BUCKET] * (len(CHANNELS) * len(DISPOSITIONS) * 3)]),
        instant, st.lists(part, min_size=min(1, max_parts_per_draft), max_size=max_parts_per_draft))
    booking = pick(list(product(range(5), range(5), range(3))))
    lead = st.tuples(
        st.integers(0, 2),
        st.lists(draft, min_size=min(1, max_drafts_per_lead), max_size=max_drafts_per_lead),
        pick(list(product(range(8), (False,) * 5 + (True,)))),
        booking, pick(EDGE_OFFSETS), instant)
    campaigns = st.lists(pick(RESPONSE_MODES), max_size=2)
    # The first client has a lead at least (lists of nested tuples come out empty often).
    first_client = st.tuples(campaigns, st.lists(lead, min_size=min(1, max_leads_per_client),
                                                 max_size=max_leads_per_client))
    client = st.tuples(campaigns, st.lists(lead, max_size=max_leads_per_client))
    return st.tuples(pick(TO_INSTANTS), pick(RANGE_DAYS), pick(WINDOW_DAYS), pick(BUFFER_DAYS),
                     pick(SCOPES), st.tuples(first_client, client),
                     st.lists(client, max_size=1))


def assemble(spec: tuple[Any, ...]) -> dict[str, Any]:
    """A spec tree -> a scenario document (ids in draw order, timestamps resolved)."""
    to, days, window_days, buffer_days, scope, first_two, third = spec
    client_specs = [*first_two, *third]
    raw: dict[str, Any] = {"to": iso_z(to)}
    if days is not None:
        raw["from"] = iso_z(to - timedelta(days=days))
    if window_days is not None:
        raw["attribution_window_days"] = window_days
    if buffer_days is not None:
        raw["maturity_buffer_days"] = buffer_days
    resolved = _resolved(raw)
    window = timedelta(days=resolved.attribution_window_days)
    # Range anchors (the cutoff twice: both its sides are inside most ranges).
    anchors = (resolved.from_, resolved.maturity_cutoff, resolved.to, resolved.maturity_cutoff,
               resolved.from_ + DAY)
    clients = list(CLIENT_IDS[:len(client_specs)])
    if scope is not None:
        known = {**dict(enumerate(clients)), 3: UNKNOWN_CLIENT}
        raw["client_ids"] = [known[i] for i in scope if i in known] or clients[:1]

    tables: dict[str, list[dict[str, Any]]] = {
        "Client": [{"id": c} for c in clients], "EmailCampaign": [], "Lead": [], "AIDraft": [],
        "Message": []}
    counters = {"camp": 0, "l": 0, "d": 0, "m": 0}

    def next_id(prefix: str) -> str:
        counters[prefix] += 1
        return f"{prefix}{counters[prefix]}"

    def at(instant: tuple[int, timedelta]) -> datetime:
        return anchors[instant[0]] + instant[1]

    for client, (modes, lead_specs) in zip(clients, client_specs):
        campaigns = []
        for mode in modes:
            campaign = {"id": next_id("camp"), "clientId": client}
            if mode is not None:
                campaign["responseMode"] = mode
            tables["EmailCampaign"].append(campaign)
            campaigns.append(campaign["id"])
        for campaign_pick, draft_specs, extras, booking, offset, extra_at in lead_specs:
            lead_id = next_id("l")
            lead: dict[str, Any] = {"id": lead_id, "clientId": client}
            if campaigns and campaign_pick:
                lead["emailCampaignId"] = campaigns[(campaign_pick - 1) % len(campaigns)]
            tables["Lead"].append(lead)
            sends: list[datetime] = []
            channel, disposition = "sms", "EDITED"
            for kind, first_at, parts in draft_specs:
                decoy = False
                if kind != SAME_BUCKET:  # else: the bucket of the lead's draft before
                    channel, disposition, decoy = kind
                draft_id = next_id("d")
                draft: dict[str, Any] = {"id": draft_id, "leadId": lead_id, "channel": channel}
                if disposition is not None:
                    draft["responseDisposition"] = disposition
                if decoy:  # updatedAt is never a time anchor
                    draft["updatedAt"] = iso_z(at(extra_at))
                tables["AIDraft"].append(draft)
                moment = at(first_at)  # no parts: no message, no send time
                for number, (step, kind) in enumerate(parts):
                    moment = moment + step if number else moment
                    if kind == "outbound":
                        sends.append(moment)
                    tables["Message"].append({
                        "id": next_id("m"), "leadId": lead_id, "aiDraftId": draft_id,
                        "direction": kind, "channel": channel, "body": f"part {number + 1}",
                        "sentAt": iso_z(moment)})
            evidence, unlinked = extras
            if unlinked:  # a message no draft owns never anchors
                tables["Message"].append({"id": next_id("m"), "leadId": lead_id,
                                          "direction": "outbound", "body": "manual",
                                          "sentAt": iso_z(at(extra_at))})
            kind, send_pick, send_anchor = booking
            if kind == 1 or (kind and not sends):  # near a range anchor
                lead["appointmentBookedAt"] = iso_z(anchors[send_pick] + offset)
            elif kind:  # near one of the lead's sends: s, s + window or the cap
                sent_at = sends[send_pick % len(sends)]
                edge = (sent_at, sent_at + window, min(resolved.to, sent_at + window))
                lead["appointmentBookedAt"] = iso_z(edge[send_anchor] + offset)
            if evidence == 1:
                lead["ghlAppointmentId"] = ("ghl-1", "ghl-2")[counters["l"] % 2]
            elif evidence == 2:
                lead["calendlyInviteeUri"] = f"https://api.calendly.com/invitees/{lead_id}"
            elif evidence == 3:
                lead["calendlyScheduledEventUri"] = \
                    f"https://api.calendly.com/scheduled_events/{lead_id}"
            elif evidence == 4:  # decoys: a cancelled appointment is still a booking
                lead["appointmentStatus"] = "canceled"
                lead["appointmentCanceledAt"] = iso_z(at(extra_at))
    return {"name": "generated", "description": "", "params": raw,
            "tables": {name: uniform_rows(name, rows) for name, rows in tables.items() if rows}}


def uniform_rows(table: str, rows: Sequence[Mapping[str, Any]],
                 schema: Schema | None = None) -> list[dict[str, Any]]:
    """Rows with one column order (the schema's) and, where the value is implied, one column
    set: a nullable column some rows give is NULL in the others, a literal default is spelled
    out. Same data; but the kit copies rows in one ``COPY`` per column list, so a dataset whose
    rows agree on it seeds in a few round trips (measured: 16 -> 6 ``COPY`` per dataset).

    Example:
        >>> uniform_rows("Message", [{"id": "m1", "leadId": "l1", "direction": "inbound",
        ...                           "body": "x", "sentAt": "2026-01-01T00:00:00.000Z"},
        ...                          {"id": "m2", "aiDraftId": "d1", "leadId": "l1",
        ...                           "direction": "outbound", "body": "y", "channel": "email",
        ...                           "sentAt": "2026-01-01T00:00:00.000Z"}])[0]
        {'id': 'm1', 'leadId': 'l1', 'aiDraftId': None, 'direction': 'inbound', 'channel': 'sms', \
'body': 'x', 'sentAt': '2026-01-01T00:00:00.000Z'}
    """
    columns = (schema or _BOOKING_SCHEMA).table(table).columns
    given = {name for row in rows for name in row}
    fill: dict[str, Any] = {}
    for column in columns:
        is_literal, default = literal_default(column.default)
        if column.nullable:
            fill[column.name] = None
        elif is_literal:
            fill[column.name] = default
    order = [c.name for c in columns if c.name in given]
    return [{name: row[name] if name in row else fill[name] for name in order
             if name in row or name in fill} for row in rows]


_BOOKING_SCHEMA = booking_schema()


def booking_documents(**sizes: int) -> SearchStrategy[dict[str, Any]]:
    """Scenario documents (no ``expected``) with valid references and edge-heavy timestamps."""
    return booking_specs(**sizes).map(assemble)


def booking_scenarios(schema: Schema | None = None, *, contract: ScenarioContract | None = None,
                      **sizes: int) -> SearchStrategy[Scenario]:
    """:func:`booking_documents` turned into :class:`Scenario` objects (no ``expected``)."""
    schema = schema or booking_schema()
    return booking_documents(**sizes).map(
        lambda document: scenario_of(document, schema, contract=contract))


__all__ = [
    "CHANNELS", "DISPOSITIONS", "EDGE_OFFSETS", "TO_INSTANTS", "assemble", "booking_documents",
    "booking_scenarios", "booking_specs", "document_of", "edge_labels", "hypothesis_available",
    "iso_z", "scenario_of", "tables_of", "timestamp_columns", "uniform_rows",
]
