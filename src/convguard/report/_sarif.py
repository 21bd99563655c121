"""SARIF 2.1.0, the format code-scanning services (GitHub, GitLab, IDEs) import.

``tool.driver.rules`` describes every rule (from the rule registry, whose docstrings give the
short and full descriptions and the help text); each result points at its rule by id and index and
at the host file by a relative URI with forward slashes. Errors that stopped part of the check
become tool execution notifications, and mark the run as not successful.

Example:
    >>> import json
    >>> from convguard._model import Diagnostic
    >>> finding = Diagnostic("CG101", "updated-at-anchor", "anchors on updatedAt", "src/a.ts", 7, 3,
    ...                      7, 14)
    >>> log = json.loads(format_sarif([finding], rules={}, root="."))
    >>> log["version"], log["runs"][0]["results"][0]["ruleId"]
    ('2.1.0', 'CG101')
    >>> log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    'src/a.ts'
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from convguard._errors import ConvguardError
from convguard._model import Diagnostic
from convguard.report._paths import relative_path

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT_BASE_ID = "%SRCROOT%"
_HEADING = re.compile(r"^\s*(?:#+\s*)?(?P<title>[A-Z][A-Za-z ?]+?)\s*:?\s*$")


def doc_section(doc: str, title: str) -> str | None:
    """The text under a ``## Title`` (or ``Title:``) heading of a rule docstring.

    Example:
        >>> doc = "## What it does\\nFinds x.\\n\\n## Why is this bad?\\nIt is."
        >>> doc_section(doc, "What it does")
        'Finds x.'
    """
    lines = doc.splitlines()
    collected: list[str] | None = None
    for line in lines:
        heading = _HEADING.match(line)
        if heading and heading.group("title").rstrip("?").strip().lower() in _KNOWN_HEADINGS:
            if collected is not None:
                break
            if heading.group("title").strip().lower() == title.lower():
                collected = []
            continue
        if collected is not None:
            collected.append(line)
    if collected is None:
        return None
    text = "\n".join(collected).strip()
    return text or None


_KNOWN_HEADINGS = {"what it does", "why is this bad", "example", "use instead", "options",
                   "known problems", "references", "fix safety"}


def _uri(path: str, root: str | None) -> tuple[str, bool]:
    """(URI, relative?) of a path: relative to ``root`` with forward slashes when inside it."""
    relative = relative_path(path, root)
    if os.path.isabs(relative):
        return Path(relative).as_uri(), False
    return urllib.parse.quote(relative, safe="/"), True


def _rule_descriptor(code: str, rule: Any, fallback_name: str) -> dict[str, Any]:
    name = getattr(rule, "name", None) or fallback_name
    summary = getattr(rule, "summary", None) or name
    doc = (getattr(rule, "doc", None) or "").strip()
    descriptor: dict[str, Any] = {
        "id": code,
        "name": name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": doc_section(doc, "What it does") or summary},
    }
    if doc:
        descriptor["help"] = {"text": doc, "markdown": doc}
    help_uri = getattr(rule, "help_uri", None)
    if help_uri:
        descriptor["helpUri"] = help_uri
    return descriptor


def _default_rules() -> Mapping[str, Any]:
    try:
        from convguard.rules import all_rules
    except ImportError:  # the registry is optional for a report
        return {}
    return all_rules()


def _region(diagnostic: Diagnostic) -> dict[str, int]:
    line = max(1, diagnostic.line)
    column = max(1, diagnostic.column)
    end_line = max(line, diagnostic.end_line)
    end_column = diagnostic.end_column if end_line > line else max(column, diagnostic.end_column)
    return {"startLine": line, "startColumn": column, "endLine": end_line,
            "endColumn": max(1, end_column)}


def sarif_log(diagnostics: Sequence[Diagnostic], errors: Sequence[ConvguardError] = (), *,
              rules: Mapping[str, Any] | None = None, root: str | None = None,
              version: str | None = None) -> dict[str, Any]:
    """The SARIF log as a dict (see :func:`format_sarif`)."""
    if rules is None:
        rules = _default_rules()
    if version is None:
        from convguard import __version__ as version
    ordered = sorted(diagnostics, key=lambda d: d.sort_key)
    codes = sorted(set(rules) | {d.code for d in ordered})
    names = {d.code: d.name for d in ordered}
    descriptors = [_rule_descriptor(code, rules.get(code), names.get(code, code)) for code in codes]
    index = {code: position for position, code in enumerate(codes)}

    results = []
    for diagnostic in ordered:
        uri, relative = _uri(diagnostic.path, root)
        artifact: dict[str, Any] = {"uri": uri}
        if relative:
            artifact["uriBaseId"] = ROOT_BASE_ID
        text = diagnostic.message + (f"\nFix: {diagnostic.fix}" if diagnostic.fix else "")
        result: dict[str, Any] = {
            "ruleId": diagnostic.code,
            "ruleIndex": index[diagnostic.code],
            "level": "warning" if diagnostic.severity == "warning" else "error",
            "message": {"text": text},
            "locations": [{"physicalLocation": {
                "artifactLocation": artifact, "region": _region(diagnostic),
            }}],
        }
        properties = {key: value for key, value in
                      (("fix", diagnostic.fix), ("function", diagnostic.function)) if value}
        if properties:
            result["properties"] = properties
        results.append(result)

    notifications = []
    for error in errors:
        notification: dict[str, Any] = {
            "level": "error",
            "message": {"text": error.message + (f" (hint: {error.hint})" if error.hint else "")},
        }
        if error.path:
            uri, relative = _uri(error.path, root)
            artifact = {"uri": uri, **({"uriBaseId": ROOT_BASE_ID} if relative else {})}
            location: dict[str, Any] = {"artifactLocation": artifact}
            if error.line:
                location["region"] = {"startLine": max(1, error.line)}
            notification["locations"] = [{"physicalLocation": location}]
        notifications.append(notification)

    base = Path(os.path.abspath(root if root is not None else os.getcwd())).as_uri()
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "convguard",
                "version": version,
                "informationUri": "https://pypi.org/project/convguard/",
                "rules": descriptors,
            }},
            "originalUriBaseIds": {ROOT_BASE_ID: {"uri": base.rstrip("/") + "/"}},
            "invocations": [{
                "executionSuccessful": not errors,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    }


def format_sarif(diagnostics: Sequence[Diagnostic], errors: Sequence[ConvguardError] = (), *,
                 rules: Mapping[str, Any] | None = None, root: str | None = None,
                 **_options: Any) -> str:
    """The SARIF 2.1.0 log of a check, as indented JSON.

    ``rules`` maps a code to an object with ``name``, ``summary`` and ``doc`` (default: the rule
    registry); ``root`` is the folder result URIs are relative to (default: the current folder).
    """
    log = sarif_log(diagnostics, errors, rules=rules, root=root)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
