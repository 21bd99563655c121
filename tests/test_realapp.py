"""``convguard check`` with no configuration on a realistic application tree (``fixtures/realapp``).

The tree mimics how a Next.js/Prisma application assembles its raw SQL (ternary fragments,
if/else assignments, helper builders, joined arrays, fragments imported from other modules, a
``prisma/schema.prisma`` of its own) and carries a few real defects, each annotated
``expect: CODE`` on its line. Copied to a folder with no configuration above it, the check must
report exactly those: no CG001 on valid assembled SQL, no CG003 on existing columns.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from convguard._check import check_paths

ROOT = Path(__file__).resolve().parents[1]
REALAPP = ROOT / "fixtures" / "realapp"
ANNOTATION = re.compile(r"\bexpect:\s*(CG\d+(?:\s*,\s*CG\d+)*)")
SOURCES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs")


def _annotations(root: Path) -> set[tuple[str, int, str]]:
    found = set()
    for path in root.rglob("*"):
        if path.suffix not in SOURCES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in ANNOTATION.finditer(line):
                for code in match.group(1).split(","):
                    found.add((path.relative_to(root).as_posix(), number, code.strip()))
    return found


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("no-config") / "realapp"
    shutil.copytree(REALAPP, target)
    return target


def test_the_tree_is_realistic() -> None:
    files = [path for path in REALAPP.rglob("*") if path.is_file()]
    assert len(files) >= 36
    assert (REALAPP / "prisma" / "schema.prisma").is_file()


def test_no_configuration_finds_exactly_the_seeded_defects(tree: Path) -> None:
    assert not any((parent / "convguard.toml").exists() for parent in tree.parents)
    result = check_paths([str(tree)])
    assert result.errors == ()
    found = {(Path(d.path).relative_to(tree).as_posix(), d.line, d.code)
             for d in result.diagnostics}
    details = "\n".join(f"{d.path}:{d.line}:{d.column} {d.code} {d.message}"
                        for d in result.diagnostics)
    assert found == _annotations(tree), details
    codes = sorted(code for _, _, code in found)
    assert codes == ["CG001", "CG003", "CG102", "CG104", "CG104", "CG104"]
    # the schema is the tree's own (CG003 on): no note says it is off
    assert not any("CG003" in note for note in result.notes), result.notes


def test_cli_check_of_the_tree(tree: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    from convguard.cli import main

    monkeypatch.chdir(tree)
    code = main(["check", "."])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert captured.out.rstrip().endswith("Found 6 problems.")
    assert "CG003 unresolved-column is off" not in captured.err
