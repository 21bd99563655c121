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

from convguard.extract._ts_fragments import _STATEMENT_START
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
        # spliced into a statement, or a fragment nothing in the file runs (never checked alone)
        assert any(leading_text in query.sql for query in result.queries) \
            or not _STATEMENT_START.match(leading_text), leading_text
    templates_seen = {(tag, start, end) for tag, start, end, _ in top_level}
    for tag, start, end in actual:
        if text[end - 1] == "`":
            assert (tag, start, end) in templates_seen
        else:  # `$queryRaw(...)`: a call whose argument was followed
            assert text[end - 1] == ")" and "".join(text[start:end].split()).startswith(tag)


# -- names spliced into SQL: convguard's scoping against the TypeScript binder -----------------

BINDINGS_SCRIPT = HERE / "ts_bindings.js"
ROOT = HERE.parents[1]
ASSEMBLED = sorted((ROOT / "fixtures" / "assembly").glob("*.ts")) + sorted(
    path for path in (ROOT / "fixtures" / "realapp").rglob("*")
    if path.suffix in (".ts", ".tsx", ".mjs"))


@cache
def _typescript_bindings(*files: str) -> dict[str, list[dict]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    for modules in _node_modules_candidates():
        if not (modules / "typescript" / "package.json").exists():
            continue
        env = {**os.environ, "CONVGUARD_TS_NODE_MODULES": str(modules)}
        completed = subprocess.run([node, str(BINDINGS_SCRIPT), *files], capture_output=True,
                                   text=True, env=env, timeout=120, check=False)
        if completed.returncode == 0:
            return json.loads(completed.stdout)
    pytest.skip("the typescript npm package (5.x API) was not found: set "
                "CONVGUARD_TS_NODE_MODULES to a node_modules folder holding it")


def _assembler(path: Path, text: str):
    from convguard.extract._ts_fragments import FragmentAssembler
    from convguard.extract._typescript import _Extractor

    extractor = _Extractor(str(path), lex(text, path=str(path), jsx=path.suffix == ".tsx"), ())
    extractor._scan()
    tags = extractor._template_tags()
    return extractor, FragmentAssembler(extractor, tags, extractor._nested_templates(tags))


@pytest.mark.parametrize("path", ASSEMBLED, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_spliced_names_bind_as_typescript_binds_them(path: Path) -> None:
    """Every name that is a whole ``${...}`` (or the callee of one) refers to the same parameter,
    variable or import for convguard's fragment resolver as for the TypeScript compiler."""
    bindings = _typescript_bindings(*(str(p) for p in ASSEMBLED))[str(path)]
    text = path.read_text(encoding="utf-8")
    to_index = _utf16_to_index(text)
    extractor, assembler = _assembler(path, text)
    token_at = {start: index for index, start in enumerate(extractor.starts)}
    for item in bindings:
        token = token_at[to_index(item["use"])]
        kind, found, _ = assembler.lookup(token)
        where = f"{item['name']} at line {text.count(chr(10), 0, to_index(item['use'])) + 1}"
        if item["kind"] == "function":  # a `function name() {}` declaration: a helper
            assert assembler._function_named(item["name"], token) is not None, where
            continue
        assert kind == item["kind"], where
        if kind in ("parameter", "variable"):
            assert extractor.starts[found.token] == to_index(item["declaration"]), where
