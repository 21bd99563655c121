"""The booking-conversion oracle against SEMANTICS.md: hand-computed scenarios and worked examples.

Every scenario file of ``fixtures/scenarios`` is checked for shape (known keys, tables, columns,
unique ids, resolvable foreign keys, quoted millisecond timestamps) and, when it has ``expected``
counts written by hand, the oracle must reproduce them exactly: two independent derivations of the
same spec that have to agree.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from convguard._dataset import Dataset
from convguard.profiles.booking_conversion import ConversionStats, resolve_params
from convguard.profiles.booking_conversion._params import BookingParams, parse_timestamp
from convguard.profiles.booking_conversion._stats import BUCKET_KEYS, COUNT_FIELDS
from convguard.profiles.booking_conversion.oracle import (
    BOOKED,
    BOOKED_NO_TIMESTAMP,
    NOT_BOOKED,
    PENDING,
    analysed_drafts,
    booking_oracle,
    draft_outcome,
    lead_outcomes,
    oracle_rows,
    send_times,
)
from convguard.profiles.booking_conversion.schema import booking_schema

SCENARIO_DIR = Path(__file__).resolve().parents[3] / "fixtures" / "scenarios"
SCENARIO_KEYS = {"name", "description", "params", "tables", "expected"}
REQUIRED_KEYS = {"name", "description", "params", "tables"}
SCHEMA = booking_schema()


# --- loading --------------------------------------------------------------------------------------

class ScenarioFormatError(AssertionError):
    """A scenario file that cannot be used as written."""


def _unquoted_dates(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, (datetime, date)):
        yield where
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _unquoted_dates(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unquoted_dates(item, f"{where}[{index}]")


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _parse(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_YAML_LOADER)


def load_scenario(path: Path) -> dict[str, Any]:
    """A scenario document (YAML or JSON), refusing timestamps YAML turned into datetimes."""
    document = copy.deepcopy(_parse(path))
    if not isinstance(document, dict):
        raise ScenarioFormatError(
            f"{path.name}: a scenario is a mapping, got {type(document).__name__}")
    unquoted = list(_unquoted_dates(document, "scenario"))
    if unquoted:
        raise ScenarioFormatError(
            f"{path.name}: unquoted timestamp(s) at {', '.join(unquoted)}: YAML reads them as "
            'dates; quote every timestamp, e.g. sentAt: "2026-01-10T00:00:00.000Z"')
    return document


def timestamp_columns(table: str) -> set[str]:
    return {c.name for c in SCHEMA.table(table).columns if c.type.startswith("timestamp")}


def scenario_dataset(document: Mapping[str, Any]) -> Dataset:
    """The scenario's tables with timestamp(3) texts parsed to naive UTC datetimes."""
    tables = {}
    for table, rows in (document.get("tables") or {}).items():
        stamps = timestamp_columns(table)
        tables[table] = tuple(
            {column: (parse_timestamp(value, what=f"{table}.{column}")
                      if column in stamps and value is not None else value)
             for column, value in row.items()}
            for row in rows
        )
    return Dataset(tables)


def scenario_paths() -> list[Path]:
    return sorted([*SCENARIO_DIR.glob("*.yaml"), *SCENARIO_DIR.glob("*.json")])


SCENARIOS = scenario_paths()
WITH_EXPECTED = [p for p in SCENARIOS if "expected" in load_scenario(p)]
ORACLE_JUDGED = [p for p in SCENARIOS if "expected" not in load_scenario(p)]


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


# --- scenario files -------------------------------------------------------------------------------

def test_the_scenario_set_is_substantial() -> None:
    assert len(SCENARIOS) >= 25, SCENARIOS
    assert len(ORACLE_JUDGED) >= 2, "a few scenarios are left for the oracle to judge"


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids(SCENARIOS))
def test_scenario_file_is_well_formed(path: Path) -> None:
    document = load_scenario(path)
    problems: list[str] = []
    unknown = set(document) - SCENARIO_KEYS
    if unknown:
        problems.append(f"unknown key(s) {sorted(unknown)}")
    missing = REQUIRED_KEYS - set(document)
    if missing:
        problems.append(f"missing key(s) {sorted(missing)}")
    if document.get("name") != path.stem:
        problems.append(f"name {document.get('name')!r} differs from the file name {path.stem!r}")
    resolve_params(document.get("params") or {})  # raises on unknown roles or a missing `to`

    tables = document.get("tables") or {}
    ids: dict[str, set[str]] = {}
    for table, rows in tables.items():
        if not SCHEMA.has_table(table):
            problems.append(f"unknown table {table!r}")
            continue
        schema_table = SCHEMA.table(table)
        required = [c.name for c in schema_table.columns if not c.nullable and c.default is None]
        seen: set[str] = set()
        unique_values: dict[str, set[Any]] = {}
        for index, row in enumerate(rows):
            where = f"{table}[{index}]"
            for column, value in row.items():
                if not schema_table.has_column(column):
                    problems.append(f"{where}: unknown column {column!r}")
                    continue
                spec = schema_table.column(column)
                if value is None:
                    if not spec.nullable:
                        problems.append(f"{where}.{column} is NOT NULL")
                    continue
                if spec.type.startswith("timestamp"):
                    if not (isinstance(value, str) and value.endswith("Z")):
                        problems.append(
                            f"{where}.{column}: write a quoted ISO 8601 text ending in Z")
                    elif parse_timestamp(value, what=where).microsecond % 1000:
                        problems.append(f"{where}.{column}: finer than a millisecond")
                enum = SCHEMA.enum(spec.type)
                if enum is not None and value not in enum.values:
                    problems.append(f"{where}.{column}: {value!r} is not one of {enum.values}")
                if spec.unique:
                    if value in unique_values.setdefault(column, set()):
                        problems.append(f"{where}.{column}: {value!r} repeats a UNIQUE value")
                    unique_values[column].add(value)
            for column in required:
                if row.get(column) is None:
                    problems.append(f"{where}: NOT NULL column {column!r} is missing")
            if row.get("id") in seen:
                problems.append(f"{where}: id {row.get('id')!r} is not unique")
            seen.add(row.get("id"))
            if table == "Message" and row.get("direction") not in ("inbound", "outbound"):
                problems.append(f"{where}: direction must be 'inbound' or 'outbound'")
        ids[table] = seen

    for table, rows in tables.items():
        if not SCHEMA.has_table(table):
            continue
        for column in SCHEMA.table(table).columns:
            if column.references is None:
                continue
            target, _ = column.references
            for index, row in enumerate(rows):
                value = row.get(column.name)
                if value is not None and value not in ids.get(target, set()):
                    problems.append(
                        f"{table}[{index}].{column.name}: {value!r} is not a {target} id")

    for key, counts in (document.get("expected") or {}).items():
        if key not in BUCKET_KEYS:
            problems.append(f"expected: unknown bucket {key!r}")
        elif not isinstance(counts, Mapping):
            problems.append(f"expected.{key}: counts must be a mapping")
        else:
            for name, count in counts.items():
                if name not in COUNT_FIELDS:
                    problems.append(f"expected.{key}: unknown count {name!r}")
                elif isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    problems.append(f"expected.{key}.{name}: {count!r} is not a count")
    assert problems == [], f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", WITH_EXPECTED, ids=_ids(WITH_EXPECTED))
def test_oracle_reproduces_hand_written_expectation(path: Path) -> None:
    document = load_scenario(path)
    params = resolve_params(document["params"])
    actual = booking_oracle(scenario_dataset(document), params)
    expected = ConversionStats.from_expected(document["expected"] or {})
    assert actual.problems == ()
    differences = expected.differences(actual)
    assert differences == [], (
        f"{path.name}: (bucket, count, hand-written, oracle) " + repr(differences))


@pytest.mark.parametrize("path", ORACLE_JUDGED, ids=_ids(ORACLE_JUDGED))
def test_oracle_judges_scenarios_without_expectation(path: Path) -> None:
    document = load_scenario(path)
    stats = booking_oracle(scenario_dataset(document), resolve_params(document["params"]))
    assert stats.problems == ()
    assert stats.total("all") != ConversionStats.from_expected({}).total("all")


def test_totals_count_a_lead_in_every_bucket_it_is_active_in() -> None:
    document = load_scenario(SCENARIO_DIR / "lead-in-two-buckets.yaml")
    stats = booking_oracle(scenario_dataset(document), resolve_params(document["params"]))
    assert stats.total("all").booked == 4
    assert stats.total("EDITED").booked == 2
    assert stats.total("AUTO_SENT").booked == 1
    assert (stats.total("all").notBooked, stats.total("all").pending) == (1, 1)


def test_unquoted_timestamps_are_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "unquoted.yaml"
    path.write_text("name: unquoted\ndescription: x\nparams: {to: 2026-02-01T00:00:00Z}\n"
                    "tables: {}\n", encoding="utf-8")
    with pytest.raises(ScenarioFormatError, match="quote every timestamp"):
        load_scenario(path)


def test_the_shape_check_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("""
name: broken
description: every mistake the shape check must catch
params: {to: "2026-02-01T00:00:00Z"}
extra: 1
tables:
  Lead:
    - {id: l1, clientId: c9, colour: red}
    - {id: l1, clientId: c9}
  AIDraft:
    - {id: d1, leadId: l1, responseDisposition: MAYBE}
  Message:
    - {id: m1, leadId: l1, aiDraftId: d1, direction: out, body: x, sentAt: "2026-01-10T00:00:00.0001Z"}
expected:
  sms-MAYBE: {booked: 1}
  sms-EDITED: {won: 1}
""", encoding="utf-8")
    with pytest.raises(AssertionError) as failure:
        test_scenario_file_is_well_formed(path)
    for fragment in ("unknown key(s) ['extra']", "unknown column 'colour'", "is not unique",
                     "'c9' is not a Client id", "'MAYBE' is not one of", "direction must be",
                     "finer than a millisecond", "unknown bucket 'sms-MAYBE'",
                     "unknown count 'won'"):
        assert fragment in str(failure.value), fragment


# --- the worked examples of SEMANTICS.md, inline --------------------------------------------------

WORKED_PARAMS = {"client_ids": ["c1"], "from": "2026-01-01T00:00:00Z",
                 "to": "2026-02-01T00:00:00Z", "attribution_window_days": 30,
                 "maturity_buffer_days": 7}


def lead_with_sends(booked_at: str | None, sends: list[tuple[str, str, str]], *,
                    lead: Mapping[str, Any] | None = None,
                    campaign_mode: str | None = None) -> Dataset:
    """One client, one lead; ``sends`` = (channel, disposition, sentAt) per draft."""
    lead_row: dict[str, Any] = {"id": "l1", "clientId": "c1", **(lead or {})}
    if booked_at is not None:
        lead_row["appointmentBookedAt"] = parse_timestamp(booked_at, what="booked_at")
    campaigns: tuple[dict[str, Any], ...] = ()
    if campaign_mode is not None:
        campaigns = ({"id": "camp", "clientId": "c1", "responseMode": campaign_mode},)
        lead_row["emailCampaignId"] = "camp"
    drafts, messages = [], []
    for number, (channel, disposition, sent_at) in enumerate(sends, start=1):
        drafts.append({"id": f"d{number}", "leadId": "l1", "channel": channel,
                       "responseDisposition": disposition})
        messages.append({"id": f"m{number}", "leadId": "l1", "aiDraftId": f"d{number}",
                         "direction": "outbound", "channel": channel, "body": "hi",
                         "sentAt": parse_timestamp(sent_at, what="sentAt")})
    return Dataset({"Client": ({"id": "c1"},), "EmailCampaign": campaigns, "Lead": (lead_row,),
                    "AIDraft": tuple(drafts), "Message": tuple(messages)})


WORKED_EXAMPLES = [
    # (id, dataset, outcome of each draft in order (None = excluded), expected query rows)
    ("sent-jan10-booked-jan20",
     lead_with_sends("2026-01-20T00:00:00Z", [("sms", "EDITED", "2026-01-10T00:00:00Z")]),
     [BOOKED], [("sms", "EDITED", BOOKED, 1)]),
    ("booked-at-the-send-millisecond",
     lead_with_sends("2026-01-10T08:00:00.123Z", [("sms", "EDITED", "2026-01-10T08:00:00.123Z")]),
     [None], []),
    ("booked-feb3-after-to",
     lead_with_sends("2026-02-03T00:00:00Z", [("sms", "EDITED", "2026-01-10T00:00:00Z")]),
     [NOT_BOOKED], [("sms", "EDITED", NOT_BOOKED, 1)]),
    ("sent-jan2-booked-exactly-at-to",
     lead_with_sends("2026-02-01T00:00:00Z", [("sms", "EDITED", "2026-01-02T00:00:00Z")]),
     [BOOKED], [("sms", "EDITED", BOOKED, 1)]),
    ("sent-jan28-after-cutoff-booked-jan29",
     lead_with_sends("2026-01-29T00:00:00Z", [("sms", "EDITED", "2026-01-28T00:00:00Z")]),
     [PENDING], [("sms", "EDITED", PENDING, 1)]),
    ("sent-exactly-at-cutoff-is-mature",
     lead_with_sends(None, [("sms", "EDITED", "2026-01-25T00:00:00Z")]),
     [NOT_BOOKED], [("sms", "EDITED", NOT_BOOKED, 1)]),
    ("ghl-id-without-timestamp",
     lead_with_sends(None, [("sms", "EDITED", "2026-01-05T00:00:00Z")],
                     lead={"ghlAppointmentId": "ghl-1"}),
     [BOOKED_NO_TIMESTAMP], [("sms", "EDITED", BOOKED_NO_TIMESTAMP, 1)]),
    ("two-drafts-booked-beats-pending",
     lead_with_sends("2026-01-30T00:00:00Z", [("sms", "EDITED", "2026-01-03T00:00:00Z"),
                                              ("sms", "EDITED", "2026-01-28T00:00:00Z")]),
     [BOOKED, PENDING], [("sms", "EDITED", BOOKED, 1)]),
    ("later-draft-pre-booked",
     lead_with_sends("2026-01-08T00:00:00Z", [("sms", "EDITED", "2026-01-03T00:00:00Z"),
                                              ("sms", "EDITED", "2026-01-12T00:00:00Z")]),
     [BOOKED, None], [("sms", "EDITED", BOOKED, 1)]),
]


@pytest.mark.parametrize(("dataset", "draft_outcomes", "rows"),
                         [case[1:] for case in WORKED_EXAMPLES],
                         ids=[case[0] for case in WORKED_EXAMPLES])
def test_worked_example(dataset: Dataset, draft_outcomes: list[str | None],
                        rows: list[tuple[str, str, str, int]]) -> None:
    params = resolve_params(WORKED_PARAMS)
    assert params.maturity_cutoff == datetime(2026, 1, 25)
    lead = dataset.rows("Lead")[0]
    first_send = send_times(dataset)
    actual = [draft_outcome(first_send[draft["id"]], lead, params)
              for draft in dataset.rows("AIDraft")]
    assert actual == draft_outcomes
    assert oracle_rows(dataset, params) == rows


def test_worked_example_email_of_a_setter_managed_campaign_is_not_analysed() -> None:
    params = resolve_params(WORKED_PARAMS)
    sends = [("email", "AUTO_SENT", "2026-01-10T00:00:00Z")]
    setter = lead_with_sends("2026-01-15T00:00:00Z", sends, campaign_mode="SETTER_MANAGED")
    auto = lead_with_sends("2026-01-15T00:00:00Z", sends, campaign_mode="AI_AUTO_SEND")
    no_campaign = lead_with_sends("2026-01-15T00:00:00Z", sends)
    assert analysed_drafts(setter, params) == []
    assert analysed_drafts(no_campaign, params) == []
    assert oracle_rows(auto, params) == [("email", "AUTO_SENT", BOOKED, 1)]


# --- the oracle's own reading of rows and parameters ----------------------------------------------

def test_left_out_columns_take_the_schema_defaults() -> None:
    data = Dataset({
        "Client": ({"id": "c1"},),
        "EmailCampaign": ({"id": "camp", "clientId": "c1"},),  # responseMode -> SETTER_MANAGED
        "Lead": ({"id": "l1", "clientId": "c1", "emailCampaignId": "camp"},),
        "AIDraft": ({"id": "d1", "leadId": "l1", "responseDisposition": "APPROVED"},),  # sms
        "Message": ({"id": "m1", "leadId": "l1", "aiDraftId": "d1", "direction": "outbound",
                     "body": "hi", "sentAt": datetime(2026, 1, 10)},),
    })
    assert oracle_rows(data, resolve_params(WORKED_PARAMS)) == [("sms", "APPROVED", NOT_BOOKED, 1)]


def test_no_client_ids_means_every_client_of_the_dataset() -> None:
    def lead(number: int, client: str) -> dict[str, Any]:
        return {"id": f"l{number}", "clientId": client}

    def send(number: int) -> dict[str, Any]:
        return {"id": f"m{number}", "leadId": f"l{number}", "aiDraftId": f"d{number}",
                "direction": "outbound", "body": "hi", "sentAt": datetime(2026, 1, 10)}

    data = Dataset({
        "Client": ({"id": "c1"}, {"id": "c2"}),
        "Lead": (lead(1, "c1"), lead(2, "c2")),
        "AIDraft": tuple({"id": f"d{n}", "leadId": f"l{n}", "responseDisposition": "EDITED"}
                         for n in (1, 2)),
        "Message": (send(1), send(2)),
    })
    everyone = resolve_params({k: v for k, v in WORKED_PARAMS.items() if k != "client_ids"})
    assert everyone.client_ids is None
    assert oracle_rows(data, everyone) == [("sms", "EDITED", NOT_BOOKED, 2)]
    only_c2 = resolve_params({**WORKED_PARAMS, "client_ids": ["c2"]})
    assert set(lead_outcomes(data, only_c2)) == {("l2", "sms", "EDITED")}


@pytest.mark.parametrize(("raw", "window", "buffer"), [
    ({"attribution_window_days": 0, "maturity_buffer_days": 0}, 1, 1),
    ({"attribution_window_days": 999, "maturity_buffer_days": 100}, 365, 60),
    ({}, 30, 7),
])
def test_parameters_are_clamped_as_the_action_does(raw: dict[str, int], window: int,
                                                    buffer: int) -> None:
    params = resolve_params({"to": "2026-02-01T00:00:00Z", **raw})
    assert isinstance(params, BookingParams)
    assert (params.attribution_window_days, params.maturity_buffer_days) == (window, buffer)
