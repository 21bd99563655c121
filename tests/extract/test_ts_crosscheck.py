"""Cross-check convguard's TypeScript lexer and extractor against the TypeScript compiler.

``ts_templates.js`` (beside this file) parses the fixtures with the real TypeScript parser and
lists every template literal (start, raw chunks, interpolation source) and every tagged template
(tag text, start); these tests assert that convguard finds exactly the same.

The tests install nothing. They run when ``node`` is on PATH and the ``typescript`` package (5.x,
which has the JavaScript compiler API; 7.x has none) is found, in this order:

1. ``$CONVGUARD_TS_NODE_MODULES``: a ``node_modules`` folder holding ``typescript``;
2. the global ``node_modules`` reported by ``npm root -g``.

To enable them on a machine, e.g.::

    npm install --prefix /tmp/tsx-check typescript@5
    export CONVGUARD_TS_NODE_MODULES=/tmp/tsx-check/node_modules

Otherwise they are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from convguard.extract._ts_lexer import lex
from convguard.extract._typescript import extract_typescript

HERE = Path(__file__).parent
SCRIPT = HERE / "ts_templates.js"
FIXTURES = [
    HERE / "cases" / "crosscheck.ts",
    HERE / "cases" / "crosscheck.tsx",
    HERE / "cases" / "sample_actions.ts",
]
LEAD_FIXTURE = (HERE.parents[1] / "fixtures" / "app" / "actions"
                / "ai-draft-response-analytics-actions.ts")


def _node_modules_candidates() -> list[Path]:
    candidates = []
    if os.environ.get("CONVGUARD_TS_NODE_MODULES"):
        candidates.append(Path(os.environ["CONVGUARD_TS_NODE_MODULES"]))
    npm = shutil.which("npm")
    if npm:
        try:
            root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True,
                                  timeout=20, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            root = ""
        if root:
            candidates.append(Path(root))
    return candidates


@cache
def _typescript_listing(*files: str) -> dict[str, dict]:
    """Run the node script once per set of files; skip when node or typescript is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    for modules in _node_modules_candidates():
        if not (modules / "typescript" / "package.json").exists():
            continue
        env = {**os.environ, "CONVGUARD_TS_NODE_MODULES": str(modules)}
        completed = subprocess.run([node, str(SCRIPT), *files], capture_output=True, text=True,
                                   env=env, timeout=60, check=False)
        if completed.returncode == 0:
            return json.loads(completed.stdout)
    pytest.skip("the typescript npm package (5.x API) was not found: set "
                "CONVGUARD_TS_NODE_MODULES to a node_modules folder holding it")


def _utf16_to_index(text: str):
    """Map UTF-16 offsets (what TypeScript reports) to Python string indices."""
    if text.isascii():
        return lambda offset: offset
    table = []
    for index, char in enumerate(text):
        table.extend([index] * (2 if ord(char) > 0xFFFF else 1))
    table.append(len(text))
    return lambda offset: table[offset]


def _fixture_files() -> list[Path]:
    return FIXTURES + ([LEAD_FIXTURE] if LEAD_FIXTURE.exists() else [])


@pytest.fixture(scope="module")
def listing() -> dict[str, dict]:
    return _typescript_listing(*(str(path) for path in _fixture_files()))


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda path: path.name)
def test_fixture_is_valid_typescript(listing: dict[str, dict], path: Path) -> None:
    assert listing[str(path)]["diagnostics"] == 0


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda path: path.name)
def test_every_template_literal_agrees(listing: dict[str, dict], path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    to_index = _utf16_to_index(text)
    expected = sorted(
        (to_index(item["start"]), to_index(item["end"]), tuple(item["chunks"]),
         tuple(item["expressions"]))
        for item in listing[str(path)]["templates"]
    )
    lexed = lex(text, path=str(path), jsx=path.suffix == ".tsx")
    actual = sorted(
        (
            template.start,
            template.end,
            tuple(text[start:end] for start, end in template.chunks),
            tuple(text[i.start + 2:i.end - 1].strip() for i in template.interpolations),
        )
        for template in lexed.templates
    )
    assert actual == expected


def _is_query_tag(tag: str) -> bool:
    return tag == "Prisma.sql" or tag.endswith(("$queryRaw", "$executeRaw"))


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda path: path.name)
def test_tagged_queries_agree(listing: dict[str, dict], path: Path) -> None:
    """Every query-tagged template TypeScript sees is a query of convguard's, except those inside
    another query's interpolation (spliced or a value) and ``const`` fragments spliced into a
    query, whose text must then appear in that query."""
    text = path.read_text(encoding="utf-8")
    to_index = _utf16_to_index(text)
    templates = {to_index(item["start"]): item for item in listing[str(path)]["templates"]}
    tagged = [
        ("".join(item["tag"].split()), to_index(item["start"]), to_index(item["end"]),
         templates[to_index(item["template"])])
        for item in listing[str(path)]["tagged"]
        if _is_query_tag("".join(item["tag"].split()))
    ]
    top_level = [
        (tag, start, end, template) for tag, start, end, template in tagged
        if not any(outer_start < start and end <= outer_end
                   for _, outer_start, outer_end, _ in tagged)
    ]
    result = extract_typescript(str(path), text)
    actual = {(query.tag, query.span.start, query.span.end)
              for query in result.queries if _is_query_tag(query.tag)}
    for tag, start, end, template in top_level:
        if (tag, start, end) in actual:
            continue
        assert tag == "Prisma.sql", f"{tag} at {start} was not extracted"
        leading_text = template["chunks"][0]
        assert any(leading_text in query.sql for query in result.queries), leading_text
    assert actual <= {(tag, start, end) for tag, start, end, _ in top_level}
