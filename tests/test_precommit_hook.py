"""The pre-commit hook, end to end: ``pre-commit try-repo`` on a clean and on a bad file.

pre-commit builds a virtualenv and pip-installs convguard from a snapshot of this working tree,
which needs the package index and takes a minute: the test is marked ``slow`` (run it with
``pytest --run-slow``; ``scripts/try_precommit.sh`` does the same by hand).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

CLEAN_SQL = 'SELECT l.id, l."appointmentBookedAt"\nFROM "Lead" l\nWHERE l."clientId" = $1;\n'
BAD_SQL = (
    'SELECT d.id\nFROM "AIDraft" d\nWHERE d."updatedAt" >= $1::timestamp\n'
    "  AND d.\"updatedAt\" > ($2 - ($3 * interval '1 day'));\n"
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "convguard", "GIT_AUTHOR_EMAIL": "convguard@example.invalid",
    "GIT_COMMITTER_NAME": "convguard", "GIT_COMMITTER_EMAIL": "convguard@example.invalid",
}


def git(*args: str, cwd: Path) -> str:
    env = dict(os.environ, **GIT_ENV)
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def snapshot_working_tree(destination: Path) -> Path:
    """Commit a copy of the working tree: try-repo ignores untracked files of a live repo."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    readme = destination / "README.md"
    if not readme.exists():  # pyproject.toml names it; the build fails without it
        readme.write_text("# convguard\n", encoding="utf-8")
    git("init", "-q", cwd=destination)
    git("add", "-A", cwd=destination)
    git("commit", "-q", "-m", "snapshot", cwd=destination)
    return destination


def test_manifest_declares_the_hook() -> None:
    yaml = pytest.importorskip("yaml")
    (hook,) = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert hook["id"] == "convguard"
    assert hook["entry"] == "convguard check"
    assert hook["language"] == "python"
    assert hook["require_serial"] is False
    assert {"ts", "tsx", "javascript", "sql"} <= set(hook["types_or"])


def test_manifest_is_valid_for_pre_commit() -> None:
    pytest.importorskip("pre_commit")
    completed = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest",
                                str(MANIFEST)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.slow
def test_try_repo_passes_clean_and_fails_bad_files(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    if shutil.which("git") is None:
        pytest.skip("needs git")
    hook_repo = snapshot_working_tree(tmp_path / "hook-repo")
    project = tmp_path / "project"
    project.mkdir()
    git("init", "-q", cwd=project)
    (project / "clean.sql").write_text(CLEAN_SQL, encoding="utf-8")
    (project / "bad.sql").write_text(BAD_SQL, encoding="utf-8")
    git("add", "clean.sql", "bad.sql", cwd=project)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), **GIT_ENV)

    def try_repo(file: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "convguard",
             "--files", file],
            cwd=project, env=env, capture_output=True, text=True, timeout=900,
        )

    clean = try_repo("clean.sql")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout
    bad = try_repo("bad.sql")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout and "bad.sql:" in bad.stdout
