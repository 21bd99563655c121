"""Scenario loading: conversion to a Dataset, and every validation error with its file and line."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from convguard._errors import ScenarioError, ScenarioErrors
from convguard.kit.conformance.profile_kit import profile_kit
from convguard.kit.scenario.files import (
    ScenarioContract,
    load_scenario,
    load_scenarios,
    parse_scenario,
    parse_timestamp,
    read_scenarios,
    scenario_files,
)
from convguard.profiles.booking_conversion.schema import booking_schema

SCENARIOS = Path(__file__).resolve().parents[3] / "fixtures" / "scenarios"

SCHEMA = booking_schema()
CONTRACT = profile_kit("booking-conversion").contract

GOOD = """\
name: good
description: one booked lead
params:
  client_ids: [c1]
  from: 2026-01-01T00:00:00Z
  to: 2026-02-01T00:00:00.000Z
tables:
  Client:
    - {id: c1}
  Lead:
    - {id: l1, clientId: c1, appointmentBookedAt: 2026-01-20T04:00:00-05:00}
  AIDraft:
    - {id: d1, leadId: l1, responseDisposition: EDITED}
  Message:
    - {id: m1, leadId: l1, aiDraftId: d1, direction: outbound, body: hi, sentAt: "2026-01-10T00:00:00.123Z"}
expected:
  sms-EDITED: {booked: 1}
"""


def parse(text: str, path: str = "s.yaml"):
    return parse_scenario(text, path=path, schema=SCHEMA, contract=CONTRACT)


def test_good_scenario_converts_values_and_fills_literal_defaults() -> None:
    scenario = parse(GOOD)
    assert scenario.name == "good" and scenario.description == "one booked lead"
    # Unquoted timestamps stay text in params (the implicit YAML timestamp resolver is off).
    assert scenario.params["from"] == "2026-01-01T00:00:00Z"
    lead = scenario.dataset.rows("Lead")[0]
    assert lead["appointmentBookedAt"] == datetime(2026, 1, 20, 9, 0)  # -05:00 converted to UTC
    assert lead["ghlAppointmentId"] is None
    assert "createdAt" not in lead  # CURRENT_TIMESTAMP is left to the database
    draft = scenario.dataset.rows("AIDraft")[0]
    assert (draft["channel"], draft["status"]) == ("sms", "pending")
    message = scenario.dataset.rows("Message")[0]
    assert message["sentAt"] == datetime(2026, 1, 10, 0, 0, 0, 123000)
    assert scenario.expected == {"sms-EDITED": {"booked": 1}}
    assert scenario.line_of("tables", "Lead", 0) == 11


def test_json_scenario_with_lines(tmp_path: Path) -> None:
    data = {"name": "j", "params": {"to": "2026-02-01T00:00:00Z"},
            "tables": {"Client": [{"id": "c1"}], "Lead": [{"id": "l1", "clientId": "cX"}]}}
    path = tmp_path / "j.json"
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(ScenarioError) as error:
        load_scenario(path, schema=SCHEMA, contract=CONTRACT)
    assert error.value.path == str(path) and error.value.line == 15
    assert "refers to no \"Client\" row" in error.value.message


@pytest.mark.parametrize(("text", "line", "message", "hint"), [
    pytest.param("name: x\nparmas: {}\ntables: {}\n", 2, "unknown key 'parmas'", "did you mean 'params'",
                 id="unknown-top-level-key"),
    pytest.param("name: x\ntables:\n  Leads: []\n", 3, "unknown table 'Leads'", "did you mean 'Lead'",
                 id="unknown-table"),
    pytest.param("name: x\ntables:\n  Client:\n    - {id: c1, nmae: x}\n", 4,
                 "has no column 'nmae'", "known: id", id="unknown-column"),
    pytest.param("name: x\ntables:\n  Client: [{id: c1}]\n  Lead:\n    - {id: l1}\n", 5,
                 "leaves out NOT NULL column(s) clientId", "give clientId a value",
                 id="missing-not-null"),
    pytest.param("name: x\ntables:\n  Client:\n    - {id: c1}\n    - {id: c1}\n", 5,
                 "id 'c1' is used by rows 1 and 2", "its own id", id="duplicate-id"),
    pytest.param("name: x\ntables:\n  Client: [{id: c1}]\n  Lead:\n"
                 "    - {id: l1, clientId: c1, calendlyInviteeUri: u}\n"
                 "    - {id: l2, clientId: c1, calendlyInviteeUri: u}\n", 6,
                 "calendlyInviteeUri 'u' is used by rows 1 and 2", None, id="duplicate-unique"),
    pytest.param("name: x\ntables:\n  Client: [{id: c1}]\n  Lead:\n"
                 "    - {id: l1, clientId: c1, appointmentBookedAt: 2026-13-01}\n", 5,
                 "not an ISO 8601 timestamp", "Z = UTC", id="bad-timestamp"),
    pytest.param("name: x\ntables:\n  Client: [{id: c1}]\n  Lead:\n"
                 "    - {id: l1, clientId: c1, appointmentBookedAt: '2026-01-01T00:00:00.0001Z'}\n",
                 5, "finer than timestamp(3)", "round", id="sub-millisecond"),
    pytest.param("name: x\ntables:\n  Client: [{id: c1}]\n  Lead: [{id: l1, clientId: c1}]\n"
                 "  AIDraft:\n    - {id: d1, leadId: l1, responseDisposition: SENT}\n", 6,
                 "'SENT' is not a value of enum", "AUTO_SENT", id="bad-enum"),
    pytest.param("name: x\ntables: {}\nexpected:\n  sms-EDITD: {booked: 1}\n", 4,
                 "unknown expected key 'sms-EDITD'", "did you mean 'sms-EDITED'",
                 id="unknown-bucket"),
    pytest.param("name: x\ntables: {}\nexpected:\n  sms-EDITED:\n    booked: 1\n    eligible: 1\n",
                 6, "unknown count 'eligible'", "derived", id="unknown-count"),
    pytest.param("name: x\ntables: {}\nexpected:\n  sms-EDITED: {booked: -1}\n", 4,
                 "non-negative integer", None, id="negative-count"),
    pytest.param("name: x\nparams:\n  to: 2026-02-01\n  window: 3\ntables: {}\n", 4,
                 "unknown parameter 'window'", "attribution_window_days", id="unknown-param"),
    pytest.param("name: x\nparams:\n  from: 2026-01-01\ntables: {}\n", 2,
                 "params.to is required", "add to:", id="missing-to"),
    pytest.param("name: x\nparams:\n  to: soon\ntables: {}\n", 3,
                 "is not an ISO 8601 timestamp", None, id="bad-param-timestamp"),
    pytest.param("name: x\nname: y\ntables: {}\n", 2, "appears twice", "remove or rename",
                 id="duplicate-key"),
    pytest.param("name: x\ntables: [\n", 3, "cannot parse the file", None, id="yaml-syntax"),
    pytest.param("name: x\n", 1, "has no tables", None, id="no-tables"),
])
def test_invalid_scenarios_name_file_line_and_fix(text: str, line: int, message: str,
                                                  hint: str | None) -> None:
    with pytest.raises(ScenarioError) as error:
        parse(text, path="bad.yaml")
    assert error.value.path == "bad.yaml"
    assert error.value.line == line, str(error.value)
    assert message in error.value.message
    if hint is not None:
        assert hint in (error.value.hint or "")
    assert str(error.value).startswith(f"bad.yaml:{line}: ")


def test_parse_timestamp() -> None:
    assert parse_timestamp("2026-01-31T19:00:00-05:00") == datetime(2026, 2, 1)
    assert parse_timestamp("2026-02-01T00:00:00.5Z") == datetime(2026, 2, 1, 0, 0, 0, 500000)
    assert parse_timestamp(datetime(2026, 2, 1, 1, tzinfo=UTC)) == datetime(2026, 2, 1, 1)
    with pytest.raises(ValueError):
        parse_timestamp("tomorrow")


def test_fixture_scenarios_load_sorted_with_unique_names() -> None:
    scenarios = load_scenarios([SCENARIOS], schema=SCHEMA, contract=CONTRACT)
    assert len(scenarios) >= 12
    assert [s.path for s in scenarios] == sorted(s.path for s in scenarios)
    assert len({s.name for s in scenarios}) == len(scenarios)
    assert any(s.expected is None for s in scenarios)  # some are judged by the oracle


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    for stem in ("a", "b"):
        (tmp_path / f"{stem}.yaml").write_text("name: same\ntables: {}\n")
    with pytest.raises(ScenarioError, match="also used by"):
        load_scenarios([tmp_path], schema=SCHEMA)


#: A folder of scenario files, each broken its own way (or not): (file, text, line of its error
#: or None for a usable file, what the error says).
MIXED_FOLDER = [
    ("a-good.yaml", GOOD, None, ""),
    ("b-empty.yaml", "", 1, "the file is empty"),
    ("c-unknown-table.yaml", "name: c\ntables:\n  Shop: []\n", 3, "unknown table 'Shop'"),
    ("d-not-null.yaml", "name: d\ntables:\n  Lead:\n    - {id: l1}\n", 4,
     'table "Lead": row 1 leaves out NOT NULL'),
    ("e-same-name.yaml", GOOD, 1, "scenario name 'good' is also used by"),
    ("f-bad.json", '{"name": "f",\n "tables": {}', 2, "invalid JSON"),
    ("g-bad-yaml.yml", "name: g\ntables: [unclosed\n", None, "cannot parse the file"),
    ("h-good.yaml", GOOD.replace("name: good", "name: h"), None, ""),
]


def _write_mixed_folder(folder: Path) -> list[tuple[str, int | None, str]]:
    """Writes MIXED_FOLDER; returns (file, line, message) of each expected error, in order."""
    for name, text, _line, _message in MIXED_FOLDER:
        (folder / name).write_text(text)
    return [(str(folder / name), line, message) for name, _text, line, message in MIXED_FOLDER
            if message]


def test_every_unusable_file_is_reported_in_file_order(tmp_path: Path) -> None:
    expected = _write_mixed_folder(tmp_path)
    scenarios, errors = read_scenarios(tmp_path, schema=SCHEMA, contract=CONTRACT)
    assert [s.name for s in scenarios] == ["good", "h"]
    assert [e.path for e in errors] == [path for path, _line, _message in expected]
    for error, (_path, line, message) in zip(errors, expected):
        assert message in error.message and error.hint
        if line is not None:
            assert error.line == line, error


def test_load_scenarios_raises_one_error_carrying_all_of_them(tmp_path: Path) -> None:
    expected = _write_mixed_folder(tmp_path)
    with pytest.raises(ScenarioError) as caught:  # what callers of one error catch still works
        load_scenarios([tmp_path], schema=SCHEMA, contract=CONTRACT)
    error = caught.value
    assert isinstance(error, ScenarioErrors)
    assert [e.path for e in error.errors] == [path for path, _line, _message in expected]
    first = error.errors[0]
    assert (error.path, error.line, error.message, error.hint) == \
        (first.path, first.line, first.message, first.hint)
    assert str(error).splitlines() == [line for e in error.errors for line in str(e).splitlines()]


def test_the_errors_survive_a_copy(tmp_path: Path) -> None:
    import copy

    _write_mixed_folder(tmp_path)
    with pytest.raises(ScenarioErrors) as caught:
        load_scenarios([tmp_path], schema=SCHEMA, contract=CONTRACT)
    assert str(copy.deepcopy(caught.value)) == str(caught.value)
    assert len(copy.copy(caught.value).errors) == len(caught.value.errors)


def test_one_unusable_file_is_still_a_scenario_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text("name: b\ntables: {Shop: []}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([tmp_path], schema=SCHEMA, contract=CONTRACT)
    assert str(caught.value) == str(caught.value.errors[0])  # type: ignore[attr-defined]
    assert caught.value.path == str(tmp_path / "b.yaml") and caught.value.line == 2


def test_scenario_files_skip_other_files(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("name: a\ntables: {}\n")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text('{"name": "b", "tables": {}}')
    assert [Path(p).name for p in scenario_files([tmp_path])] == ["a.yml", "b.json"]
    with pytest.raises(ScenarioError, match="no such scenario"):
        scenario_files([tmp_path / "missing"])


def test_hand_computed_expectations_agree_with_the_oracle() -> None:
    """The fixtures' ``expected`` and the profile oracle are two independent readings of the
    spec; a disagreement means one of them (or the scenario) is wrong."""
    kit = profile_kit("booking-conversion")
    disagreements = {
        scenario.name: kit.expected(scenario.expected).differences(
            kit.oracle(scenario.dataset, scenario.params))
        for scenario in load_scenarios([SCENARIOS], schema=SCHEMA, contract=CONTRACT)
        if scenario.expected is not None
    }
    assert {name: diff for name, diff in disagreements.items() if diff} == {}


# combination: N ---------------------------------------------------------------------------------

def _two_combinations(number: int) -> ScenarioContract:
    """The contract of combination ``number`` of a call site with two: the second interpolates
    no ``to`` (``combination: 2`` need not give it)."""
    return dataclasses.replace(GENERIC, combinations=2, combination_contract=_two_combinations,
                               call_site="a.ts::f",
                               check_params=_requires("from", "to") if number == 1
                               else _requires("from"))


def _requires(*names: str) -> Callable[[Mapping[str, Any]], None]:
    def check(params: Mapping[str, Any]) -> None:
        for name in names:
            if name not in params:
                raise ScenarioError(f"parameter {name!r} is not given")
    return check


GENERIC = ScenarioContract(expected_as_rows=True)
TWO = _two_combinations(1)
ROWS = "tables: {Client: [{id: c1}]}\nexpected: []\n"


@pytest.mark.parametrize(("head", "contract", "combination"), [
    ("params: {from: 1, to: 2}\n", TWO, 1),                       # the default
    ("combination: 1\nparams: {from: 1, to: 2}\n", TWO, 1),
    ("combination: 2\nparams: {from: 1}\n", TWO, 2),              # its own params: no `to`
    ("combination: 2\nparams: {from: 1}\n", GENERIC, 2),          # checked when planned
])
def test_combination_is_read_and_picks_the_contract(head: str, contract: ScenarioContract,
                                                     combination: int) -> None:
    scenario = parse_scenario("name: s\n" + head + ROWS, path="s.yaml", schema=SCHEMA,
                              contract=contract)
    assert scenario.combination == combination


@pytest.mark.parametrize(("head", "message"), [
    ("combination: 3\n", "s.yaml:2: combination 3: a.ts::f has 2 combinations of SQL fragments"),
    ("combination: 0\n", "s.yaml:2: combination must be a whole number from 1, not 0"),
    ("combination: [2]\n", "s.yaml:2: combination must be a whole number from 1, not [2]"),
    ("combination: false\n", "s.yaml:2: combination must be a whole number from 1, not False"),
    ("combination: 1\nparams: {from: 1}\n", "s.yaml:3: parameter 'to' is not given"),
])
def test_a_bad_combination_names_the_file_and_line(head: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("name: s\n" + head + ROWS, path="s.yaml", schema=SCHEMA, contract=TWO)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("text", "line"), [
    pytest.param('{"name": "f", "tables": }', 1, id="missing-value"),
    pytest.param('{"name": "f",\n "tables": {},\n}', 3, id="trailing-comma"),
    pytest.param("{'name': 'f', 'tables': {}}", 1, id="single-quotes"),
    pytest.param('{"name": "f",\n tables: {}}', 2, id="unquoted-key"),
])
def test_a_json_file_that_only_yaml_accepts_is_invalid_json(tmp_path: Path, text: str,
                                                              line: int) -> None:
    """YAML reads these (a null, a mapping); a .json scenario is held to JSON."""
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(ScenarioError) as error:
        load_scenario(path, schema=SCHEMA, contract=CONTRACT)
    assert error.value.message.startswith("invalid JSON: ")
    assert (error.value.path, error.value.line) == (str(path), line)
