"""Metamorphic relations: transform a generated dataset (or how the query runs) in a way the
semantics says cannot matter - or can only move one way - and compare the query with itself.

No oracle is needed: a relation compares two runs of the same query. Each relation is named in
its failures:

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

Sources are drawn from :func:`convguard.kit.property.strategies.booking_documents`. Runs that share a
dataset share one seeding (``BEGIN``, ``COPY``, the runs, ``ROLLBACK``) and every plan runs on
it, so a source costs one seeding per distinct dataset, not per run. A violated relation is
shrunk by Hypothesis like a differential failure; its minimal source is written as a scenario
file (the run whose counts differ from the oracle's, with the oracle's ``expected``).

Measured on the development machine (2 shared cores, cached embedded cluster, medians over 20
generated sources, one plan): additivity 18 ms per source, time translation 43, noise 42,
session time zone 13, client time zone 13, duplicate part 17, permutation 17, wider window
10; all eight on two plans sharing the seedings, 120 ms per source (10 seedings, ~20 runs
each). :func:`default_sources` gives ``convguard test`` two sources for its 40 examples.

Example:
    >>> [relation.name for relation in RELATIONS][:3]
    ['client-partition-additivity', 'time-translation', 'noise-outside-range-or-scope']
    >>> default_sources(50), default_sources(0), default_sources(3)
    (3, 0, 1)
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from convguard._errors import QueryFailed
from convguard._schema import Schema
from convguard.kit.conformance.binding import depends_on_client_time_zone
from convguard.kit.conformance.runner import QueryPlan, ScenarioResult, execute_bound

if TYPE_CHECKING:
    from convguard.kit.conformance.runner import Workbench

SESSION_TIME_ZONES = ("America/New_York", "Asia/Kolkata")
CLIENT_TIME_ZONES = ("America/New_York", "Pacific/Chatham")
#: Whole days, a sub-second remainder, and part of a day (which moves a truncation to the day).
SHIFTS = ((timedelta(days=3), "+3 days"),
          (timedelta(days=-1, milliseconds=123), "-1 day + 123 ms"),
          (timedelta(hours=5, minutes=30), "+5 h 30 min"))
NOISE_CLIENT = "c-noise"

Document = Mapping[str, Any]
Outcome = Any  # the profile's normalised result, or a QueryFailed


def default_sources(examples: int) -> int:
    """Relation sources for ``examples`` generated datasets: one per 15, at least one (a source
    costs about as much as eight examples)."""
    return 0 if examples <= 0 else max(1, examples // 15)


# Runs and relations ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One execution of the query: a dataset (``tables``), params and how it is run.

    Runs whose ``tables`` is the same object share a seeding.
    """

    label: str
    params: Mapping[str, Any]
    tables: Mapping[str, Any]
    session_time_zone: str | None = None
    client_time_zone: str | None = None

    def key(self) -> tuple[Any, ...]:
        return (id(self.tables), json.dumps(self.params, sort_keys=True, default=str),
                self.session_time_zone, self.client_time_zone)

    @property
    def document(self) -> dict[str, Any]:
        return {"params": dict(self.params), "tables": self.tables}

    def condition(self) -> str:
        """How the run differs from an ordinary scenario run (empty: it does not)."""
        parts = []
        if self.session_time_zone:
            parts.append(f"SET TimeZone = '{self.session_time_zone}'")
        if self.client_time_zone:
            parts.append(f"client_time_zone = '{self.client_time_zone}'")
        return ", ".join(parts)


@dataclass(frozen=True)
class Violation:
    """A relation that did not hold: ``left`` and ``right`` name the compared runs."""

    relation: str
    message: str
    left: str
    right: str
    diff: tuple[tuple[str, str, Any, Any], ...] = ()
    left_outcome: Any = None
    right_outcome: Any = None


@dataclass(frozen=True)
class Relation:
    """A named relation: the runs it needs for a source, and its verdict on their outcomes."""

    name: str
    summary: str
    runs: Callable[[Document, QueryPlan, Schema], list[Run]]
    judge: Callable[[str, Mapping[str, Outcome]], Violation | None]
    applies: Callable[[QueryPlan], bool] = lambda plan: True


@dataclass(frozen=True)
class RelationResult:
    """The verdict of one relation on one plan over ``sources`` generated sources."""

    relation: str
    summary: str
    query: str
    query_location: str
    driver: str
    sources: int
    seed: int
    passed: bool
    message: str = ""
    diff: tuple[tuple[str, str, Any, Any], ...] = ()
    table: ScenarioResult | None = None
    scenario_path: str | None = None
    first_failure: int | None = None
    source_ms: float = 0.0
    left: str = ""
    right: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"relation": self.relation, "summary": self.summary, "query": self.query,
                "query_location": self.query_location, "driver": self.driver,
                "sources": self.sources, "seed": self.seed, "passed": self.passed,
                "message": self.message, "scenario_path": self.scenario_path,
                "first_failure": self.first_failure, "source_ms": round(self.source_ms, 3),
                "left": self.left, "right": self.right,
                "diff": [{"bucket": row, "field": name, "left": left, "right": right}
                         for row, name, left, right in self.diff]}


# Judging -----------------------------------------------------------------------------------------

def _failed(outcome: Outcome) -> bool:
    return isinstance(outcome, QueryFailed)


def _outcome_text(outcome: Outcome) -> str:
    return f"SQLSTATE {outcome.sqlstate}: {outcome.message}" if _failed(outcome) else "counts"


def compare(relation: str, outcomes: Mapping[str, Outcome], left: str, right: str,
            what: str) -> Violation | None:
    """A violation when the runs ``left`` and ``right`` disagree (counts, or one failed)."""
    a, b = outcomes[left], outcomes[right]
    if _failed(a) or _failed(b):
        if _failed(a) and _failed(b) and a.sqlstate == b.sqlstate:
            return None
        return Violation(relation, f"{what}: {left} gave {_outcome_text(a)}, {right} gave "
                                   f"{_outcome_text(b)}", left, right)
    diff = tuple(a.differences(b))
    if not diff:
        return None
    changed = "; ".join(f"{row}.{name} {x} -> {y}" for row, name, x, y in diff[:6])
    more = f" (+{len(diff) - 6} more)" if len(diff) > 6 else ""
    return Violation(relation, f"{what} changed the counts: {changed}{more}", left, right,
                     diff, a, b)


def _all_equal(what: Callable[[str], str]) -> Callable[[str, Mapping[str, Outcome]],
                                                        Violation | None]:
    def judge(name: str, outcomes: Mapping[str, Outcome]) -> Violation | None:
        for label in outcomes:
            if label != "source":
                violation = compare(name, outcomes, "source", label, what(label))
                if violation is not None:
                    return violation
        return None
    return judge


def _sum(a: Any, b: Any) -> Any:
    return type(a)(buckets={key: a.buckets[key] + b.buckets[key] for key in a.buckets})


def _judge_additivity(name: str, outcomes: Mapping[str, Outcome]) -> Violation | None:
    labels = list(outcomes)
    a, b, union = labels[0], labels[1], labels[2]
    if any(_failed(outcomes[label]) for label in labels):
        return compare(name, {"A + B": outcomes[a] if _failed(outcomes[a]) else outcomes[b],
                              union: outcomes[union]}, "A + B", union, "splitting the scope")
    summed = {f"{a} + {b}": _sum(outcomes[a], outcomes[b]), union: outcomes[union]}
    return compare(name, summed, f"{a} + {b}", union, "the union of two client scopes")


def _judge_window(name: str, outcomes: Mapping[str, Outcome]) -> Violation | None:
    labels = list(outcomes)
    for narrow, wide in pairwise(labels):
        a, b = outcomes[narrow], outcomes[wide]
        if _failed(a) or _failed(b):
            return compare(name, outcomes, narrow, wide, "widening the window")
        lowered = tuple((row, "booked", a.buckets[row].booked, b.buckets[row].booked)
                        for row in a.buckets if b.buckets[row].booked < a.buckets[row].booked)
        if lowered:
            changed = "; ".join(f"{row}.booked {x} -> {y}" for row, _, x, y in lowered)
            return Violation(name, f"widening the attribution window ({narrow} -> {wide}) "
                                   f"lowered booked: {changed}", narrow, wide, lowered, a, b)
    return None


# Transformations ---------------------------------------------------------------------------------

def _resolved(params: Mapping[str, Any]) -> Any:
    from convguard.profiles.booking_conversion import resolve_params

    return resolve_params(params)


def _parse(text: str) -> datetime:
    from convguard.kit.scenario.files import parse_timestamp

    return parse_timestamp(text)


def _iso(moment: datetime) -> str:
    from convguard.kit.property.strategies import iso_z

    return iso_z(moment)


def explicit_scope(document: Document) -> list[str]:
    """The client scope as a list (an open scope is every client of the dataset)."""
    scope = (document.get("params") or {}).get("client_ids")
    if scope is None:
        return [row["id"] for row in (document.get("tables") or {}).get("Client", [])]
    return [scope] if isinstance(scope, str) else list(scope)


def shift_document(document: Document, delta: timedelta, schema: Schema) -> dict[str, Any]:
    """Every timestamp of the tables and the range moved by ``delta``."""
    from convguard.kit.property.strategies import timestamp_columns

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
             _translation_runs, _all_equal(lambda label: f"the dataset {label}")),
    Relation("noise-outside-range-or-scope",
             "rows outside the range or the client scope change nothing",
             _noise_runs, _all_equal(lambda label: f"the dataset {label}")),
    Relation("session-time-zone", "the session TimeZone changes nothing",
             _session_runs, _all_equal(lambda label: f"running with {label}")),
    # Only where the driver's output depends on the Node.js process's zone: node-postgres sends a
    # Date as local time; Prisma's adapter as UTC text (and typed binding sends a timestamptz).
    Relation("client-time-zone",
             "node-postgres' client time zone (a Date sent as local time) changes nothing",
             _client_runs, _all_equal(lambda label: f"binding with {label}"),
             applies=lambda plan: depends_on_client_time_zone(plan.driver)),
    Relation("duplicate-outbound-part",
             "a copy of an outbound part at the same instant changes nothing",
             _duplicate_runs, _all_equal(lambda label: f"the dataset with {label}")),
    Relation("permute-rows-and-ids", "row order and id values change nothing",
             _permute_runs, _all_equal(lambda label: f"the dataset with {label}")),
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


# Executing ---------------------------------------------------------------------------------------

def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def execute_runs(workbench: Workbench, plans: Sequence[QueryPlan],
                 runs: Sequence[Run]) -> dict[tuple[int, tuple[Any, ...]], Outcome]:
    """Every applicable (plan, run): one seeding per distinct dataset, in a rolled-back
    transaction; a run that fails is recorded as its :class:`QueryFailed` and the dataset is
    seeded again for the runs after it. Plans must share one schema."""
    from convguard.kit.conformance.runner import _seed_scenario
    from convguard.kit.property.strategies import scenario_of

    schema = plans[0].schema
    kit = plans[0].kit
    by_tables: dict[int, dict[tuple[Any, ...], Run]] = {}
    for run in runs:
        by_tables.setdefault(id(run.tables), {})[run.key()] = run
    outcomes: dict[tuple[int, tuple[Any, ...]], Outcome] = {}
    for same_tables in by_tables.values():
        todo = [(index, run) for run in same_tables.values() for index, plan in enumerate(plans)
                if not (run.client_time_zone
                        and not depends_on_client_time_zone(plan.driver))]
        first = next(iter(same_tables.values()))
        scenario = scenario_of(first.document, schema, contract=kit.contract)
        while todo:
            with workbench.scenario_connection(schema) as conn:
                _seed_scenario(conn, scenario, schema)
                conn.execute("SET LOCAL transaction_read_only = on; SET LOCAL statement_timeout "
                             f"= {_literal(plans[0].statement_timeout)}")
                zone = None
                while todo:
                    index, run = todo.pop(0)
                    plan = plans[index]
                    if run.session_time_zone != zone:
                        conn.execute(f"SET LOCAL TimeZone = "
                                     f"{_literal(run.session_time_zone or 'UTC')}")
                        zone = run.session_time_zone
                    if run.client_time_zone:
                        plan = dataclasses.replace(plan, client_time_zone=run.client_time_zone)
                    bound = plan.bind(dataclasses.replace(scenario, params=run.params))
                    try:
                        outcomes[(index, run.key())] = plan.kit.normalise(
                            execute_bound(conn, bound))
                    except QueryFailed as failure:
                        outcomes[(index, run.key())] = failure
                        break  # the transaction is aborted: seed again for the rest
    return outcomes


def check_relations(workbench: Workbench, plans: Sequence[QueryPlan], document: Document,
                    relations: Sequence[Relation] = RELATIONS
                    ) -> dict[tuple[int, str], Violation | None]:
    """Judge every applicable (plan, relation) on one source document."""
    schema = plans[0].schema
    wanted: dict[str, list[Run]] = {}
    for relation in relations:
        wanted[relation.name] = relation.runs(document, plans[0], schema)
    runs = [run for relation_runs in wanted.values() for run in relation_runs]
    outcomes = execute_runs(workbench, plans, runs)
    verdicts: dict[tuple[int, str], Violation | None] = {}
    for index, plan in enumerate(plans):
        for relation in relations:
            if not relation.applies(plan) or not wanted[relation.name]:
                continue
            by_label = {run.label: outcomes[(index, run.key())]
                        for run in wanted[relation.name]}
            verdicts[(index, relation.name)] = relation.judge(relation.name, by_label)
    return verdicts


def run_relations(plans: Sequence[QueryPlan], workbench: Workbench, *, examples: int,
                  seed: int = 0, relations: Sequence[Relation] = RELATIONS,
                  failures_dir: str | None = None, shrink: bool = True) -> list[RelationResult]:
    """Every applicable relation for every plan on ``examples`` generated sources.

    A violated relation is shrunk to a minimal source (unless ``shrink`` is False); with
    ``failures_dir``, that source is written as a scenario file (see the module docs).
    """
    from convguard.kit.property.differential import documents_strategy, explore

    results: dict[tuple[int, str], RelationResult] = {}
    groups: dict[int, list[int]] = {}
    for index, plan in enumerate(plans):
        groups.setdefault(id(plan.schema), []).append(index)
    for group in groups.values():
        group_plans = [plans[i] for i in group]
        strategy = documents_strategy(group_plans[0].kit.profile.name)
        if strategy is None:
            continue
        first: dict[tuple[int, str], tuple[int, Document, Violation]] = {}
        timings: list[float] = []

        def visit(number: int, document: Document, group_plans: list[QueryPlan] = group_plans,
                  first: dict[tuple[int, str], tuple[int, Document, Violation]] = first,
                  timings: list[float] = timings) -> None:
            start = time.perf_counter()
            verdicts = check_relations(workbench, group_plans, document, relations)
            timings.append((time.perf_counter() - start) * 1000 / len(group_plans))
            for key, violation in verdicts.items():
                if violation is not None and key not in first:
                    first[key] = (number, document, violation)

        explore(strategy, visit, examples=examples, seed=seed)
        source_ms = statistics.median(timings) if timings else 0.0
        for position, index in enumerate(group):
            plan = plans[index]
            for relation in relations:
                if not relation.applies(plan):
                    continue
                common: dict[str, Any] = {"relation": relation.name, "summary": relation.summary,
                          "query": plan.label, "query_location": plan.location,
                          "driver": plan.driver, "sources": examples, "seed": seed,
                          "source_ms": source_ms}
                found = first.get((position, relation.name))
                if found is None:
                    results[(index, relation.name)] = RelationResult(passed=True, **common)
                    continue
                results[(index, relation.name)] = _shrink_violation(
                    plan, relation, workbench, strategy, found, examples=examples, seed=seed,
                    failures_dir=failures_dir, common=common, shrink=shrink)
    return [results[key] for key in sorted(results, key=lambda k: (k[0], RELATION_NAMES.index(
        k[1]) if k[1] in RELATION_NAMES else 99))]


def _shrink_violation(plan: QueryPlan, relation: Relation, workbench: Workbench, strategy: Any,
                      found: tuple[int, Document, Violation], *, examples: int, seed: int,
                      failures_dir: str | None, common: dict[str, Any],
                      shrink: bool = True) -> RelationResult:
    from convguard.kit.property.differential import shrink_from

    def violation_of(document: Document) -> Violation | None:
        return check_relations(workbench, [plan], document, [relation]).get((0, relation.name))

    shrunk = (shrink_from(strategy, violation_of, found[0], examples=examples, seed=seed)
              if shrink else None)
    if shrunk is None:
        index, document, violation = found
    else:
        document, violation, index = shrunk
    table = None
    if violation.left_outcome is not None and violation.right_outcome is not None:
        table = ScenarioResult(
            query=plan.label, query_location=plan.location, scenario=relation.name,
            scenario_path="", passed=False, check="counts", diff=violation.diff,
            row_label="bucket",
            expected_cells=plan.kit.cells(violation.left_outcome),
            actual_cells=plan.kit.cells(violation.right_outcome))
    path, unwritten = None, ""
    if failures_dir is not None:
        try:
            path = _write_violation(plan, relation, workbench, document, violation, index,
                                    examples=examples, seed=seed, failures_dir=failures_dir)
        except OSError as error:
            unwritten = f"; cannot write the scenario file into {failures_dir}: {error.strerror}"
    message = (f"{violation.message} (source {index + 1} of {examples}, seed {seed}, "
               f"{'shrunk' if shrunk is not None else 'not shrunk'}{unwritten})")
    return RelationResult(passed=False, message=message, diff=violation.diff, table=table,
                          scenario_path=path, first_failure=index, left=violation.left,
                          right=violation.right, **common)


def _write_violation(plan: QueryPlan, relation: Relation, workbench: Workbench,
                     document: Document, violation: Violation, index: int, *, examples: int,
                     seed: int, failures_dir: str) -> str:
    """The minimal source as a scenario file: the relation's first run (without a time-zone
    condition) whose counts differ from the oracle's, else the source itself."""
    from convguard.kit.property.differential import write_scenario_file
    from convguard.kit.property.strategies import scenario_of

    runs = relation.runs(document, plan, plan.schema)
    outcomes = execute_runs(workbench, [plan], runs)
    chosen, note = None, ""
    for run in runs:
        if run.condition():
            continue
        scenario = scenario_of(run.document, plan.schema, contract=plan.kit.contract)
        oracle = plan.kit.oracle(scenario.dataset, scenario.params)
        outcome = outcomes[(0, run.key())]
        if _failed(outcome) or oracle.differences(outcome):
            chosen = run
            break
    if chosen is None:
        chosen = runs[0]
        condition = next((run.condition() for run in runs if run.label == violation.right
                          and run.condition()), "") or violation.right
        note = (" On this dataset the query agrees with the oracle when run plainly; it differs "
                f"when run with {condition}: reproduce with that setting.")
    description = (f"Found by convguard's metamorphic relation {relation.name} ({relation.summary})"
                   f" on {plan.location} ({plan.driver}), source {index + 1} of {examples}, seed "
                   f"{seed}, shrunk by Hypothesis: {violation.message}. This file is the run "
                   f"'{chosen.label}'; `expected` is the profile oracle's.{note}")
    return write_scenario_file(chosen.document, plan, failures_dir,
                               prefix=f"relation-{relation.name}", description=description)


__all__ = [
    "CLIENT_TIME_ZONES", "RELATIONS", "RELATION_NAMES", "SESSION_TIME_ZONES", "Relation",
    "RelationResult", "Run", "Violation", "check_relations", "default_sources",
    "duplicate_outbound_parts", "execute_runs", "explicit_scope", "noise_other_client",
    "noise_outside_range", "noise_unanchored", "permute_document", "relation_named",
    "run_relations", "shift_document",
]
