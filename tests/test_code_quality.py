"""The house rules, run by the suite: ruff over the repository, mypy strict on the public API.

Both read their configuration from ``pyproject.toml`` (``[tool.ruff]``, ``[tool.mypy]``) and come
with the ``test`` extra, so a failure here is a finding, never a missing tool. The package's
doctests run with every test run (``--doctest-modules`` over ``src/convguard`` in
``[tool.pytest.ini_options]``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, NO_COLOR="1"))


def test_ruff_finds_nothing() -> None:
    completed = run("ruff", "check", "--no-cache", "src", "tests", "examples", "benchmarks",
                    "scripts")
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]


def test_mypy_is_strict_and_clean_on_the_public_api() -> None:
    cache = Path(os.environ.get("CONVGUARD_CACHE_DIR") or Path.home() / ".cache" / "convguard")
    completed = run("mypy", "--cache-dir", str(cache / "mypy"))
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert "Success: no issues found in 5 source files" in completed.stdout


def test_the_doctests_run_with_the_suite() -> None:
    import tomllib

    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"].split()
    assert "src/convguard" in options["testpaths"]
