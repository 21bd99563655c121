"""The SARIF report, checked against the key requirements of the SARIF 2.1.0 schema.

No network: ``check_sarif`` below is a minimal validator of what the 2.1.0 schema requires of the
parts convguard writes (required properties, types, enums, minimum values, URI references).
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from convguard._errors import ExtractionError
from convguard._model import Diagnostic
from convguard.report._sarif import doc_section, format_sarif

LEVELS = {"none", "note", "warning", "error"}


def _require(obj: Any, where: str, **fields: type | tuple[type, ...]) -> None:
    assert isinstance(obj, dict), f"{where} must be an object"
    for name, kind in fields.items():
        assert name in obj, f"{where}.{name} is required"
        assert isinstance(obj[name], kind), f"{where}.{name} has the wrong type"


def _optional(obj: dict[str, Any], where: str, **fields: type | tuple[type, ...]) -> None:
    for name, kind in fields.items():
        if name in obj:
            assert isinstance(obj[name], kind), f"{where}.{name} has the wrong type"


def _message(obj: Any, where: str) -> None:
    _require(obj, where, text=str)


def _uri_reference(uri: str, where: str) -> None:
    parsed = urllib.parse.urlsplit(uri)
    assert "\\" not in uri and " " not in uri, f"{where} is not a URI reference: {uri!r}"
    assert parsed.scheme in ("", "file"), f"{where}: unexpected scheme"


def _physical_location(obj: Any, where: str) -> None:
    _require(obj, where, artifactLocation=dict)
    artifact = obj["artifactLocation"]
    _require(artifact, f"{where}.artifactLocation", uri=str)
    _uri_reference(artifact["uri"], f"{where}.artifactLocation.uri")
    _optional(artifact, f"{where}.artifactLocation", uriBaseId=str)
    if "region" in obj:
        region = obj["region"]
        _optional(region, f"{where}.region", startLine=int, startColumn=int, endLine=int,
                  endColumn=int)
        for key in ("startLine", "startColumn", "endLine", "endColumn"):
            if key in region:
                assert region[key] >= 1, f"{where}.region.{key} must be >= 1"
        if "endLine" in region:
            assert region["endLine"] >= region["startLine"]
            if region["endLine"] == region["startLine"] and "endColumn" in region:
                assert region["endColumn"] >= region["startColumn"]


def check_sarif(log: Any) -> None:
    """Assert ``log`` meets the 2.1.0 schema's requirements for what convguard emits."""
    _require(log, "log", version=str, runs=list)
    assert log["version"] == "2.1.0"
    _optional(log, "log", **{"$schema": str})
    for r, run in enumerate(log["runs"]):
        where = f"runs[{r}]"
        _require(run, where, tool=dict)
        _require(run["tool"], f"{where}.tool", driver=dict)
        driver = run["tool"]["driver"]
        _require(driver, f"{where}.tool.driver", name=str)
        _optional(driver, f"{where}.tool.driver", version=str, informationUri=str, rules=list)
        ids = []
        for i, rule in enumerate(driver.get("rules", [])):
            rw = f"{where}.tool.driver.rules[{i}]"
            _require(rule, rw, id=str)
            _optional(rule, rw, name=str, shortDescription=dict, fullDescription=dict, help=dict,
                      helpUri=str)
            for key in ("shortDescription", "fullDescription", "help"):
                if key in rule:
                    _message(rule[key], f"{rw}.{key}")
            ids.append(rule["id"])
        assert len(ids) == len(set(ids)), "rule ids must be unique"
        for name, base in run.get("originalUriBaseIds", {}).items():
            _require(base, f"{where}.originalUriBaseIds.{name}", uri=str)
            assert base["uri"].endswith("/"), "a base URI must end with a slash"
        for i, invocation in enumerate(run.get("invocations", [])):
            iw = f"{where}.invocations[{i}]"
            _require(invocation, iw, executionSuccessful=bool)
            for n, note in enumerate(invocation.get("toolExecutionNotifications", [])):
                _require(note, f"{iw}.toolExecutionNotifications[{n}]", message=dict)
                _message(note["message"], f"{iw}.toolExecutionNotifications[{n}].message")
                assert note.get("level", "warning") in LEVELS
                for location in note.get("locations", []):
                    _physical_location(location["physicalLocation"], f"{iw}.notification.location")
        _require(run, where, results=list)
        for i, result in enumerate(run["results"]):
            rw = f"{where}.results[{i}]"
            _require(result, rw, message=dict)
            _message(result["message"], f"{rw}.message")
            _optional(result, rw, ruleId=str, ruleIndex=int, level=str, locations=list)
            assert result.get("level", "warning") in LEVELS
            if "ruleIndex" in result:
                assert 0 <= result["ruleIndex"] < len(ids)
                assert ids[result["ruleIndex"]] == result["ruleId"]
            for location in result.get("locations", []):
                _physical_location(location["physicalLocation"], f"{rw}.location")


@dataclass(frozen=True)
class FakeRule:
    code: str
    name: str
    summary: str
    doc: str


RULES = {
    "CG101": FakeRule("CG101", "updated-at-anchor", "Anchors on updatedAt", (
        "## What it does\nChecks for `updatedAt` used as a time anchor.\n\n"
        "## Why is this bad?\nIt moves.\n\n## Example\n```sql\nSELECT 1\n```\n\n"
        "## Use instead\n```sql\nSELECT 2\n```\n")),
    "CG102": FakeRule("CG102", "untyped-interval", "Untyped interval", "What it does:\nStuff."),
}


def _findings(tmp_path) -> list[Diagnostic]:
    return [
        Diagnostic("CG101", "updated-at-anchor", "uses updatedAt", str(tmp_path / "src dir" / "a.ts"),
                   10, 5, 12, 1, fix="anchor on sentAt", function="getStats"),
        Diagnostic("CG999", "unknown-rule", "not in the registry", str(tmp_path / "q.sql"), 1, 1, 1, 1,
                   severity="warning"),
    ]


def test_log_meets_the_schema(tmp_path) -> None:
    error = ExtractionError("unterminated string", path=str(tmp_path / "b.sql"), line=2, hint="close")
    log = json.loads(format_sarif(_findings(tmp_path), [error], rules=RULES, root=str(tmp_path)))
    check_sarif(log)
    run = log["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["CG101", "CG102", "CG999"]
    first = run["tool"]["driver"]["rules"][0]
    assert first["name"] == "updated-at-anchor"
    assert first["shortDescription"]["text"] == "Anchors on updatedAt"
    assert first["fullDescription"]["text"] == "Checks for `updatedAt` used as a time anchor."
    assert "## Use instead" in first["help"]["markdown"]
    assert run["tool"]["driver"]["rules"][1]["fullDescription"]["text"] == "Stuff."
    assert run["invocations"][0]["executionSuccessful"] is False
    by_rule = {result["ruleId"]: result for result in run["results"]}
    result = by_rule["CG101"]
    assert result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src%20dir/a.ts", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 10, "startColumn": 5, "endLine": 12, "endColumn": 1}
    assert result["properties"] == {"fix": "anchor on sentAt", "function": "getStats"}
    assert by_rule["CG999"]["level"] == "warning"
    assert [r["ruleId"] for r in run["results"]] == ["CG999", "CG101"]  # sorted by path


def test_paths_outside_the_root_are_file_uris(tmp_path) -> None:
    finding = Diagnostic("CG101", "x", "m", "/elsewhere/q.sql", 1, 1, 1, 5)
    log = json.loads(format_sarif([finding], rules={}, root=str(tmp_path)))
    check_sarif(log)
    artifact = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "file:///elsewhere/q.sql"}


def test_clean_run_is_successful_and_lists_registry_rules() -> None:
    log = json.loads(format_sarif([], rules=RULES))
    check_sarif(log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) == 2


def test_default_registry_when_available() -> None:
    log = json.loads(format_sarif([]))
    check_sarif(log)


def test_doc_section_missing() -> None:
    assert doc_section("no headings at all", "What it does") is None


def test_validator_rejects_broken_logs() -> None:
    import pytest

    with pytest.raises(AssertionError):
        check_sarif({"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": []}]})
    with pytest.raises(AssertionError):
        check_sarif({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                     "results": [{"message": {"text": "m"}, "level": "fatal"}]}]})
