"""The JSON report: a list of objects, stable key order, stable sort."""

from __future__ import annotations

import json

from convguard._model import Diagnostic
from convguard.report._json import format_json

KEYS = ["code", "name", "message", "fix", "path", "line", "column", "end_line", "end_column",
        "severity", "function"]


def test_objects_have_every_key_in_order() -> None:
    findings = [
        Diagnostic("CG2", "b", "second", "z.ts", 1, 1, 1, 2, severity="warning", function="f"),
        Diagnostic("CG1", "a", "first – ünïcode", "a.sql", 3, 4, 5, 6, fix="do this"),
    ]
    data = json.loads(format_json(findings))
    assert [list(item) for item in data] == [KEYS, KEYS]
    assert data[0] == {"code": "CG1", "name": "a", "message": "first – ünïcode", "fix": "do this",
                       "path": "a.sql", "line": 3, "column": 4, "end_line": 5, "end_column": 6,
                       "severity": "error", "function": None}
    assert data[1]["severity"] == "warning" and data[1]["function"] == "f" and data[1]["fix"] is None


def test_empty_is_an_empty_list() -> None:
    assert json.loads(format_json([])) == []
