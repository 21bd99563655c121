"""Helpers of the tests that run ``convguard test`` in process on an application's own query."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from convguard.commands.test import run_test_command


def run(capsys: pytest.CaptureFixture[str], *paths: str,
        **options: object) -> tuple[int, str, str]:
    """``convguard test PATHS`` with ``options``: (exit code, stdout, stderr); no generated data
    unless ``examples`` is given, and the session server's superuser DSN allowed."""
    options.setdefault("examples", 0)
    out = io.StringIO()
    code = run_test_command(argparse.Namespace(paths=list(paths), allow_superuser=True,
                                               **options), out)
    return code, out.getvalue(), capsys.readouterr().err


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in the file at ``path``."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
