"""The booking-conversion profile's metamorphic relations (SEMANTICS.md): changes the semantics
says cannot matter, or can only move one way. Each is named in its failures:

``client-partition-additivity``
    the counts for clients ``[A, B]`` equal the counts for ``[A]`` plus those for ``[B]``.
``time-translation``
    shifting every timestamp and the range by the same amount (+3 days; -1 day + 123 ms;
    +5 h 30 min) changes nothing.
``noise-outside-range-or-scope``
    adding another client's leads, drafts and messages (inside the range, booked), leads whose
    drafts were sent outside ``[from, to)`` (just before, exactly at ``to``, far away; booked
    too), or messages that anchor nothing (inbound parts, messages of no draft) changes nothing.
``session-time-zone``
    running with ``SET TimeZone`` to 'America/New_York' or 'Asia/Kolkata' changes nothing.
``client-time-zone``
    binding as a node-postgres process in 'America/New_York' or 'Pacific/Chatham' (a ``Date``
    is sent as local time with its offset) changes nothing (node-postgres plans only).
``duplicate-outbound-part``
    a copy of every outbound part at the same instant changes nothing.
``permute-rows-and-ids``
    reversing the row order of every table and renaming every id (order-reversing, references
    and the client scope renamed alike) changes nothing.
``wider-window-never-lowers-booked``
    widening the attribution window (by one day; to 365) never lowers any bucket's ``booked``.

The kit runs them (:mod:`convguard.kit.property.metamorphic`) on sources drawn from
:func:`~convguard.profiles.booking_conversion.strategies.booking_documents`.

Measured on the development machine (2 shared cores, cached embedded cluster, medians over 20
generated sources, one plan): additivity 18 ms per source, time translation 43, noise 42,
session time zone 13, client time zone 13, duplicate part 17, permutation 17, wider window
10; all eight on two plans sharing the seedings, 120 ms per source (10 seedings, ~20 runs
each).

Example:
    >>> [relation.name for relation in RELATIONS][:3]
    ['client-partition-additivity', 'time-translation', 'noise-outside-range-or-scope']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from convguard._dataset import parse_timestamp
from convguard._schema import Schema
from convguard.kit.conformance.binding import depends_on_client_time_zone
from convguard.kit.conformance.runner import QueryPlan
from convguard.kit.property.documents import iso_z, timestamp_columns
from convguard.kit.property.metamorphic import (
    Document,
    Outcome,
    Relation,
    Run,
    Violation,
    all_equal,
    compare,
    failed,
)
from convguard.profiles.booking_conversion._params import BookingParams, resolve_params

SESSION_TIME_ZONES = ("America/New_York", "Asia/Kolkata")
CLIENT_TIME_ZONES = ("America/New_York", "Pacific/Chatham")
#: Whole days, a sub-second remainder, and part of a day (which moves a truncation to the day).
SHIFTS = ((timedelta(days=3), "+3 days"),
          (timedelta(days=-1, milliseconds=123), "-1 day + 123 ms"),
          (timedelta(hours=5, minutes=30), "+5 h 30 min"))
NOISE_CLIENT = "c-noise"


def _sum(a: Any, b: Any) -> Any:
    return type(a)(buckets={key: a.buckets[key] + b.buckets[key] for key in a.buckets})


def _judge_additivity(name: str, outcomes: Mapping[str, Outcome]) -> Violation | None:
    labels = list(outcomes)
    a, b, union = labels[0], labels[1], labels[2]
    if any(failed(outcomes[label]) for label in labels):
        return compare(name, {"A + B": outcomes[a] if failed(outcomes[a]) else outcomes[b],
                              union: outcomes[union]}, "A + B", union, "splitting the scope")
    summed = {f"{a} + {b}": _sum(outcomes[a], outcomes[b]), union: outcomes[union]}
    return compare(name, summed, f"{a} + {b}", union, "the union of two client scopes")


def _judge_window(name: str, outcomes: Mapping[str, Outcome]) -> Violation | None:
    labels = list(outcomes)
    for narrow, wide in pairwise(labels):
        a, b = outcomes[narrow], outcomes[wide]
        if failed(a) or failed(b):
            return compare(name, outcomes, narrow, wide, "widening the window")
        lowered = tuple((row, "booked", a.buckets[row].booked, b.buckets[row].booked)
                        for row in a.buckets if b.buckets[row].booked < a.buckets[row].booked)
        if lowered:
            changed = "; ".join(f"{row}.booked {x} -> {y}" for row, _, x, y in lowered)
            return Violation(name, f"widening the attribution window ({narrow} -> {wide}) "
                                   f"lowered booked: {changed}", narrow, wide, lowered, a, b)
    return None


# Transformations ---------------------------------------------------------------------------------

def _resolved(params: Mapping[str, Any]) -> BookingParams:
    return resolve_params(params)


def _parse(text: str) -> datetime:
    return parse_timestamp(text)


def _iso(moment: datetime) -> str:
    return iso_z(moment)


def explicit_scope(document: Document) -> list[str]:
    """The client scope as a list (an open scope is every client of the dataset)."""
    scope = (document.get("params") or {}).get("client_ids")
    if scope is None:
        return [row["id"] for row in (document.get("tables") or {}).get("Client", [])]
    return [scope] if isinstance(scope, str) else list(scope)


def shift_document(document: Document, delta: timedelta, schema: Schema) -> dict[str, Any]:
    """Every timestamp of the tables and the range moved by ``delta``."""
    params = dict(document.get("params") or {})
    for key in ("from", "to"):
        if params.get(key) is not None:
            params[key] = _iso(_parse(params[key]) + delta)
    tables = {}
    for table, rows in (document.get("tables") or {}).items():
        columns = set(timestamp_columns(schema, table))
        tables[table] = [{c: (_iso(_parse(v) + delta) if c in columns and v is not None else v)
                          for c, v in row.items()} for row in rows]
    return {"params": params, "tables": tables}


def _with_rows(document: Document, extra: Mapping[str, list[dict[str, Any]]],
               params: Mapping[str, Any]) -> dict[str, Any]:
    tables = {name: list(rows) for name, rows in (document.get("tables") or {}).items()}
    for name in ("Client", "EmailCampaign", "Lead", "AIDraft", "Message"):
        if extra.get(name):
            tables[name] = tables.get(name, []) + list(extra[name])
    return {"params": dict(params), "tables": tables}


def _lead(prefix: str, client: str, drafts: Sequence[tuple[str, str, datetime]],
          rows: dict[str, list[dict[str, Any]]], **lead: Any) -> None:
    """Add a lead with one draft per (channel, disposition, first part's sentAt)."""
    lead_id = f"{prefix}-lead{len(rows['Lead']) + 1}"
    rows["Lead"].append({"id": lead_id, "clientId": client, **lead})
    for channel, disposition, sent in drafts:
        draft_id = f"{prefix}-draft{len(rows['AIDraft']) + 1}"
        rows["AIDraft"].append({"id": draft_id, "leadId": lead_id, "channel": channel,
                                "responseDisposition": disposition})
        rows["Message"].append({"id": f"{prefix}-msg{len(rows['Message']) + 1}",
                                "leadId": lead_id, "aiDraftId": draft_id,
                                "direction": "outbound", "channel": channel, "body": "noise",
                                "sentAt": _iso(sent)})


def _empty_rows() -> dict[str, list[dict[str, Any]]]:
    return {"Client": [], "EmailCampaign": [], "Lead": [], "AIDraft": [], "Message": []}


def noise_other_client(document: Document) -> dict[str, Any]:
    """Another client's campaign, leads, drafts and messages inside the range, booked."""
    params = {**(document.get("params") or {}), "client_ids": explicit_scope(document)}
    p = _resolved(params)
    rows = _empty_rows()
    rows["Client"].append({"id": NOISE_CLIENT})
    rows["EmailCampaign"].append({"id": "noise-camp", "clientId": NOISE_CLIENT,
                                  "responseMode": "AI_AUTO_SEND"})
    _lead("noise", NOISE_CLIENT, [("email", "AUTO_SENT", p.from_),
                                  ("sms", "EDITED", p.from_ + timedelta(hours=1))], rows,
          emailCampaignId="noise-camp", appointmentBookedAt=_iso(p.from_ + timedelta(days=1)))
    _lead("noise", NOISE_CLIENT, [("linkedin", "APPROVED", p.maturity_cutoff)], rows,
          ghlAppointmentId="ghl-noise")
    _lead("noise", NOISE_CLIENT, [("sms", "AUTO_SENT", p.to - timedelta(milliseconds=1))], rows,
          appointmentBookedAt=_iso(p.to))
    return _with_rows(document, rows, params)


def noise_outside_range(document: Document) -> dict[str, Any] | None:
    """In-scope leads whose drafts were sent outside ``[from, to)``, booked or with evidence.

    None when no client of the scope has a row in the dataset.
    """
    scope = explicit_scope(document)
    clients = {row["id"] for row in (document.get("tables") or {}).get("Client", [])}
    client = next((c for c in scope if c in clients), None)
    if client is None:
        return None
    params = {**(document.get("params") or {}), "client_ids": scope}
    p = _resolved(params)
    ms, day = timedelta(milliseconds=1), timedelta(days=1)
    rows = _empty_rows()
    rows["EmailCampaign"].append({"id": "outside-camp", "clientId": client,
                                  "responseMode": "AI_AUTO_SEND"})
    _lead("outside", client, [("sms", "EDITED", p.from_ - ms)], rows,
          appointmentBookedAt=_iso(p.from_ + day))
    # A second part inside the range: the send time is the first part, still before ``from``.
    rows["Message"].append({"id": "outside-msg-late-part", "leadId": rows["Lead"][0]["id"],
                            "aiDraftId": rows["AIDraft"][0]["id"], "direction": "outbound",
                            "channel": "sms", "body": "2/2", "sentAt": _iso(p.from_ + day)})
    _lead("outside", client, [("email", "APPROVED", p.to)], rows,
          emailCampaignId="outside-camp", appointmentBookedAt=_iso(p.to + day))
    _lead("outside", client, [("linkedin", "AUTO_SENT", p.from_ - 90 * day)], rows,
          calendlyInviteeUri="https://api.calendly.com/invitees/outside")
    _lead("outside", client, [("sms", "APPROVED", p.to + 40 * day)], rows,
          appointmentBookedAt=_iso(p.to + 41 * day))
    return _with_rows(document, rows, params)


def noise_unanchored(document: Document) -> dict[str, Any]:
    """An inbound message on every draft and an outbound message of no draft for every lead,
    both inside the range: neither is ever a send time."""
    params = {**(document.get("params") or {}), "client_ids": explicit_scope(document)}
    p = _resolved(params)
    tables = document.get("tables") or {}
    rows = _empty_rows()
    lead_of = {draft["id"]: draft["leadId"] for draft in tables.get("AIDraft", [])}
    for number, (draft_id, lead_id) in enumerate(lead_of.items(), 1):
        rows["Message"].append({"id": f"unanchored-in{number}", "leadId": lead_id,
                                "aiDraftId": draft_id, "direction": "inbound", "body": "reply",
                                "sentAt": _iso(p.from_)})
    for number, lead in enumerate(tables.get("Lead", []), 1):
        rows["Message"].append({"id": f"unanchored-out{number}", "leadId": lead["id"],
                                "direction": "outbound", "body": "manual",
                                "sentAt": _iso(p.from_ + timedelta(days=1))})
    return _with_rows(document, rows, params)


def duplicate_outbound_parts(document: Document) -> dict[str, Any]:
    """A copy of every outbound part of a draft, at the same instant."""
    tables = {name: list(rows) for name, rows in (document.get("tables") or {}).items()}
    copies = [{**m, "id": f"{m['id']}-dup", "body": "duplicate"}
              for m in tables.get("Message", [])
              if m.get("direction") == "outbound" and m.get("aiDraftId") is not None]
    tables["Message"] = tables.get("Message", []) + copies
    return {"params": dict(document.get("params") or {}), "tables": tables}


def permute_document(document: Document, schema: Schema) -> dict[str, Any]:
    """Every table's rows reversed and every id renamed so that the id order reverses too;
    references (from the schema) and the client scope follow the renaming."""
    tables = document.get("tables") or {}
    renames: dict[str, dict[Any, str]] = {}
    for number, (name, rows) in enumerate(tables.items()):
        ids = sorted({row["id"] for row in rows if "id" in row}, key=str)
        renames[name] = {old: f"z{number}-{len(ids) - index:04d}" for index, old in
                         enumerate(ids)}
    permuted = {}
    for name, rows in tables.items():
        table = schema.table(name)
        references = {c.name: c.references[0] for c in table.columns
                      if c.references and c.references[1] == "id"}
        new_rows = []
        for row in reversed(rows):
            new = dict(row)
            if "id" in new:
                new["id"] = renames[name][new["id"]]
            for column, target in references.items():
                if new.get(column) is not None and target in renames:
                    new[column] = renames[target].get(new[column], new[column])
            new_rows.append(new)
        permuted[name] = new_rows
    params = dict(document.get("params") or {})
    if params.get("client_ids") is not None:
        clients = renames.get("Client", {})
        params["client_ids"] = [clients.get(c, c) for c in explicit_scope(document)]
    return {"params": params, "tables": permuted}


# The relations -----------------------------------------------------------------------------------

def _source(document: Document) -> Run:
    return Run("source", dict(document.get("params") or {}), document.get("tables") or {})


def _partition_runs(document: Document, plan: QueryPlan, schema: Schema) -> list[Run]:
    tables = document.get("tables") or {}
    clients = [row["id"] for row in tables.get("Client", [])][:2]
    if len(clients) < 2:
        return []
    params = dict(document.get("params") or {})
    return [Run(f"scope [{', '.join(scope)}]", {**params, "client_ids": scope}, tables)
            for scope in ([clients[0]], [clients[1]], clients)]


def _translation_runs(document: Document, plan: QueryPlan, schema: Schema) -> list[Run]:
    runs = [_source(document)]
    for delta, label in SHIFTS:
        shifted = shift_document(document, delta, schema)
        runs.append(Run(f"shifted {label}", shifted["params"], shifted["tables"]))
    return runs


def _noise_runs(document: Document, plan: QueryPlan, schema: Schema) -> list[Run]:
    params = {**(document.get("params") or {}), "client_ids": explicit_scope(document)}
    if not params["client_ids"]:
        return []
    runs = [Run("source", params, document.get("tables") or {})]
    for label, noisy in (("with another client's rows", noise_other_client(document)),
                         ("with sends outside [from, to)", noise_outside_range(document)),
                         ("with messages that anchor nothing", noise_unanchored(document))):
        if noisy is not None:
            runs.append(Run(label, noisy["params"], noisy["tables"]))
    return runs


def _session_runs(document: Document, plan: QueryPlan, schema: Schema) -> list[Run]:
    source = _source(document)
    return [source] + [dataclasses.replace(source, label=f"SET TimeZone = '{zone}'",
                                           session_time_zone=zone)
                       for zone in SESSION_TIME_ZONES]


def _client_runs(document: Document, plan: QueryPlan, schema: Schema) -> list[Run]:
    source = _source(document)
    return [source] + [dataclasses.replace(source, label=f"client_time_zone '{zone}'",
                                           client_time_zone=zone)
                       for zone in CLIENT_TIME_ZONES]


def _duplicate_runs(document: Document, plan: QueryPlan, schema: Schema) -> list[Run]:
    duplicated = duplicate_outbound_parts(document)
    return [_source(document), Run("every outbound part duplicated", duplicated["params"],
                                   duplicated["tables"])]


def _permute_runs(document: Document, plan: QueryPlan, schema: Schema) -> list[Run]:
    permuted = permute_document(document, schema)
    return [_source(document), Run("rows reversed and ids renamed", permuted["params"],
                                   permuted["tables"])]


def _window_runs(document: Document, plan: QueryPlan, schema: Schema) -> list[Run]:
    params = dict(document.get("params") or {})
    window = _resolved(params).attribution_window_days
    wider = min(365, window + 1)
    tables = document.get("tables") or {}
    return [Run(f"window {window} days", {**params, "attribution_window_days": window}, tables),
            Run(f"window {wider} days", {**params, "attribution_window_days": wider}, tables),
            Run("window 365 days", {**params, "attribution_window_days": 365}, tables)]


RELATIONS: tuple[Relation, ...] = (
    Relation("client-partition-additivity",
             "the counts for clients [A, B] equal those for [A] plus those for [B]",
             _partition_runs, _judge_additivity),
    Relation("time-translation",
             "shifting every timestamp and the range by the same amount changes nothing",
             _translation_runs, all_equal(lambda label: f"the dataset {label}")),
    Relation("noise-outside-range-or-scope",
             "rows outside the range or the client scope change nothing",
             _noise_runs, all_equal(lambda label: f"the dataset {label}")),
    Relation("session-time-zone", "the session TimeZone changes nothing",
             _session_runs, all_equal(lambda label: f"running with {label}")),
    # Only where the driver's output depends on the Node.js process's zone: node-postgres sends a
    # Date as local time; Prisma's adapter as UTC text (and typed binding sends a timestamptz).
    Relation("client-time-zone",
             "node-postgres' client time zone (a Date sent as local time) changes nothing",
             _client_runs, all_equal(lambda label: f"binding with {label}"),
             applies=lambda plan: depends_on_client_time_zone(plan.driver)),
    Relation("duplicate-outbound-part",
             "a copy of an outbound part at the same instant changes nothing",
             _duplicate_runs, all_equal(lambda label: f"the dataset with {label}")),
    Relation("permute-rows-and-ids", "row order and id values change nothing",
             _permute_runs, all_equal(lambda label: f"the dataset with {label}")),
    Relation("wider-window-never-lowers-booked",
             "widening the attribution window never lowers booked",
             _window_runs, _judge_window),
)
RELATION_NAMES = tuple(relation.name for relation in RELATIONS)


def relation_named(name: str) -> Relation:
    for relation in RELATIONS:
        if relation.name == name:
            return relation
    raise KeyError(f"no relation {name!r}; known: {', '.join(RELATION_NAMES)}")


__all__ = [
    "CLIENT_TIME_ZONES", "RELATIONS", "RELATION_NAMES", "SESSION_TIME_ZONES",
    "duplicate_outbound_parts", "explicit_scope", "noise_other_client", "noise_outside_range",
    "noise_unanchored", "permute_document", "relation_named", "shift_document",
]
