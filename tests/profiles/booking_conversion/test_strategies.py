"""The dataset strategies: valid by construction (also once shrunk), edge-heavy, kit-loadable."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, Phase, find, given, settings

from convguard.kit.conformance.profile_kit import profile_kit
from convguard.kit.property.differential import scenario_yaml
from convguard.kit.scenario.files import parse_scenario
from convguard.profiles.booking_conversion import resolve_params
from convguard.profiles.booking_conversion.schema import booking_schema
from convguard.profiles.booking_conversion.strategies import (
    UNKNOWN_CLIENT,
    booking_documents,
    booking_scenarios,
    document_of,
    edge_labels,
    scenario_of,
)

ROOT = Path(__file__).resolve().parents[3]
KIT = profile_kit("booking-conversion")
SCHEMA = booking_schema()
QUIET = settings(database=None, deadline=None, derandomize=True, phases=[Phase.generate],
                 suppress_health_check=list(HealthCheck))


def references_hold(document: dict) -> None:
    tables = document["tables"]
    ids = {name: [row["id"] for row in rows] for name, rows in tables.items()}
    for name, values in ids.items():
        assert len(values) == len(set(values)), f"repeated {name} id"
    clients = set(ids.get("Client", ()))
    campaigns = set(ids.get("EmailCampaign", ()))
    leads = set(ids.get("Lead", ()))
    drafts = set(ids.get("AIDraft", ()))
    assert 2 <= len(clients) <= 3
    assert all(row["clientId"] in clients for row in tables.get("EmailCampaign", ()))
    for lead in tables.get("Lead", ()):
        assert lead["clientId"] in clients
        assert lead.get("emailCampaignId") in campaigns | {None}
    assert all(row["leadId"] in leads for row in tables.get("AIDraft", ()))
    for message in tables.get("Message", ()):
        assert message["leadId"] in leads and message.get("aiDraftId") in drafts | {None}
        assert message["sentAt"].endswith("Z")


@settings(QUIET, max_examples=20)
@given(booking_documents())
def test_documents_are_valid_by_construction_and_load_as_scenarios(document: dict) -> None:
    references_hold(document)
    scenario = scenario_of(document, SCHEMA, contract=KIT.contract)  # the kit's own validation
    assert scenario.expected is None
    assert scenario.dataset.row_count() == sum(map(len, document["tables"].values()))
    # The written form reads back to the same dataset (as a committed regression file would).
    again = parse_scenario(scenario_yaml(document_of(scenario)), path="x.yaml", schema=SCHEMA,
                           contract=KIT.contract)
    assert again.dataset == scenario.dataset and dict(again.params) == dict(scenario.params)


def test_shrinking_stays_valid() -> None:
    """Hypothesis shrinks the spec tree a document is assembled from (lists lose elements, picks
    go to their first choice), and every spec tree assembles into a valid dataset: a lead loses
    its drafts and messages with it. The simplest tree - where every shrink ends - is valid and
    tiny. (tests/kit/property/test_differential.py shrinks a real failure through scenario_of, which
    refuses any dangling reference.)"""
    simplest = find(booking_documents(), lambda document: True,
                    settings=settings(QUIET, max_examples=1))
    references_hold(simplest)
    scenario_of(simplest, SCHEMA, contract=KIT.contract)
    assert [len(simplest["tables"][t]) for t in ("Client", "Lead", "AIDraft", "Message")] == \
        [2, 1, 1, 1]


def collect_edges() -> dict:
    """The edge labels, parameters and scopes of 120 derandomised scenarios, as JSON-able data."""
    labels: Counter[str] = Counter()
    windows, buffers, scopes, froms = set(), set(), Counter(), Counter()

    @settings(QUIET, max_examples=120)
    @given(booking_scenarios(SCHEMA, contract=KIT.contract))
    def collect(scenario) -> None:
        labels.update(edge_labels(scenario))
        windows.add(scenario.params.get("attribution_window_days"))
        buffers.add(scenario.params.get("maturity_buffer_days"))
        froms["from" in scenario.params] += 1
        scope = scenario.params.get("client_ids")
        scopes["open" if scope is None else "unknown" if UNKNOWN_CLIENT in scope else "list"] += 1

    collect()
    return {"labels": sorted(labels), "windows": sorted(windows, key=repr),
            "buffers": sorted(buffers, key=repr), "froms": {str(k): v for k, v in froms.items()},
            "scopes": dict(scopes)}


def test_timestamps_sit_on_the_edges_of_the_semantics() -> None:
    """from, to, the cutoff, the send itself and send + window, each -1 ms, exactly, +1 ms.

    The examples are drawn in a fresh interpreter: in a long pytest worker, state that earlier
    tests leave behind changed which derandomised examples Hypothesis drew (a worker of
    ``pytest -n 2`` never drew a buffer of 0, while the same test alone always did), and this test
    is about the strategy, not about that order.
    """
    code = ("import json, runpy; "
            f"print(json.dumps(runpy.run_path({str(Path(__file__))!r})['collect_edges']()))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    drawn = json.loads(result.stdout.strip().splitlines()[-1])
    labels = set(drawn["labels"])
    windows, buffers = set(drawn["windows"]), set(drawn["buffers"])
    edges = {f"{what}@{anchor}{offset}" for what, anchors in (
        ("send", ("from", "to", "cutoff")),
        ("booking", ("send", "send+window", "to", "cutoff"))) for anchor in anchors
        for offset in ("-1ms", "", "+1ms")}
    assert edges <= labels, sorted(edges - labels)
    # Parameters: windows and buffers that clamp, the default ``from``, every kind of scope.
    assert {0, 400} <= windows and {0, 100} <= buffers
    assert resolve_params({"to": "2026-02-01", "attribution_window_days": 400}) \
        .attribution_window_days == 365
    assert drawn["froms"].get("True") and drawn["froms"].get("False")
    scopes = drawn["scopes"]
    assert scopes.get("open") and scopes.get("list") and scopes.get("unknown")


def test_the_modules_do_not_import_hypothesis() -> None:
    """Hypothesis is a test extra: convguard test must load without it."""
    code = ("import sys, convguard.profiles.booking_conversion.strategies, convguard.kit.property.differential, "
            "convguard.kit.property.metamorphic, convguard.commands.test; "
            "print('hypothesis' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={"PYTHONPATH": str(ROOT / "src")})
    assert result.stdout.strip() == "False"
