"""The cheap prefilter that spares lexing files which cannot hold SQL (``may_hold_queries``).

It may say True for a file without queries (a wasted lexing), never False for one with a query
or an unsafe call: every source the extractor finds something in must pass it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from convguard._check import check_paths
from convguard._config import Config
from convguard._errors import ExtractionError
from convguard.extract import _ts_lexer, may_hold_queries
from convguard.extract._typescript import extract_typescript

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CASES = yaml.safe_load((HERE / "cases" / "typescript.yaml").read_text(encoding="utf-8"))


def _sources() -> list[tuple[str, str, tuple[str, ...]]]:
    found = []
    for case in CASES:
        if "source" in case:
            found.append((case.get("path", "case.ts"), case["source"], tuple(case.get("tags", ()))))
    for folder in (ROOT / "fixtures", HERE / "cases"):
        for path in sorted(folder.rglob("*")):
            if path.suffix in {".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs"}:
                found.append((str(path), path.read_text(encoding="utf-8"), ()))
    return found


def _finds_something(path: str, text: str, tags: tuple[str, ...]) -> bool:
    try:
        result = extract_typescript(path, text, tags=tags)
    except ExtractionError:
        return False
    return bool(result.queries or result.unsafe_calls)


@pytest.mark.parametrize(("path", "text", "tags"), _sources(),
                         ids=[Path(source[0]).name if "/" in source[0] else str(number)
                              for number, source in enumerate(_sources())])
def test_every_source_with_a_query_passes(path: str, text: str, tags: tuple[str, ...]) -> None:
    if _finds_something(path, text, tags):
        assert may_hold_queries(path, text, tags=tags)


_SNIPPETS = ["prisma", ".", "$queryRaw", "$executeRaw", "$queryRawUnsafe", "Prisma", "sql", "raw",
             "db", "tx", "`SELECT 1`", "`SELECT ${", "x", "}`", "(", ")", "'SET x'", ";", " ",
             "\n", "<T>", "await ", "const q = ", "=>", "{", "}", "/* c */", "// c\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_SNIPPETS), max_size=14),
       st.sampled_from([(), ("sql",), ("db.sql",)]))
def test_rejected_sources_hold_nothing(parts: list[str], tags: tuple[str, ...]) -> None:
    text = "".join(parts)
    if not may_hold_queries("g.ts", text, tags=tags):
        assert not _finds_something("g.ts", text, tags)


def test_sql_files_always_pass() -> None:
    assert may_hold_queries("q.sql", "")
    assert may_hold_queries("Q.SQL", "-- nothing")


def test_check_lexes_only_files_that_may_hold_sql(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "components").mkdir()
    for number in range(20):
        (tmp_path / "components" / f"Card{number}.tsx").write_text(
            f"export const Card{number} = () => <div className={{`c-${{{number}}}`}}>it's</div>;\n",
            encoding="utf-8")
    (tmp_path / "actions.ts").write_text(
        "export async function f(id: string) {\n"
        "  return prisma.$queryRaw`SELECT d.id FROM \"AIDraft\" d WHERE d.\"updatedAt\" > ${id}`;\n"
        "}\n", encoding="utf-8")
    calls = []
    real_lex = _ts_lexer.lex

    def counting_lex(text: str, **kwargs: Any) -> Any:
        calls.append(kwargs.get("path"))
        return real_lex(text, **kwargs)

    monkeypatch.setattr("convguard.extract._typescript.lex", counting_lex)
    result = check_paths([str(tmp_path)], config=Config(root=str(tmp_path)))
    assert calls == [str(tmp_path / "actions.ts")]
    assert len(result.files) == 21
    assert [d.code for d in result.diagnostics] == ["CG104"]


def test_a_component_that_cannot_hold_sql_is_not_lexed(tmp_path: Path) -> None:
    # An unterminated string in a file without SQL is no business of convguard's.
    path = tmp_path / "Odd.tsx"
    path.write_text('export const a = "never closed;\n', encoding="utf-8")
    result = check_paths([str(path)], config=Config(root=str(tmp_path)))
    assert result.ok and result.files == (str(path),)


def test_checking_files_without_sql_never_imports_sqlglot(tmp_path: Path) -> None:
    path = tmp_path / "Button.tsx"
    path.write_text("export const Button = () => <button>ok</button>;\n", encoding="utf-8")
    code = ("import sys\nfrom convguard.cli import main\n"
            f"code = main(['check', {str(path)!r}])\n"
            "print(code, 'sqlglot' in sys.modules, 'convguard.rules' in sys.modules)\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               cwd=tmp_path, check=False)
    assert completed.stdout.split()[-3:] == ["0", "False", "False"], completed.stderr
