"""Fuzzing the command line: whatever a source file holds, ``convguard check`` answers 0, 1 or 2.

Arbitrary text and mutations of the real fixtures (TypeScript and SQL) are written to a temporary
file and checked in-process; the CLI must never raise nor print a traceback. Derandomised and
bounded so the run stays around two seconds.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convguard._config import clear_config_cache
from convguard.cli import main

ROOT = Path(__file__).resolve().parents[1]
SEEDS = {
    ".sql": (ROOT / "fixtures" / "queries" / "booking_conversion.sql").read_text(encoding="utf-8"),
    ".ts": (ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
            ).read_text(encoding="utf-8"),
}
# Fragments that open or close the constructs lexers and parsers trip on.
TOKENS = ["`", "${", "}", "'", '"', "$$", "$q$", "--", "/*", "*/", ";", ":", "::", ":name", "$1",
          "\\", "\n", "E'", "Prisma.sql`", "Prisma.join(", ")", "(", "//", "/", "<", ">", "\x00",
          "\ufeff", "\r", "é", "WITH", "SELECT", "updatedAt", "interval '1 day'", "${x} days"]
FUZZ = settings(max_examples=100, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """A fixture with a few slices cut, duplicated or replaced by tricky tokens."""
    suffix = draw(st.sampled_from(sorted(SEEDS)))
    text = SEEDS[suffix]
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = min(len(text), start + draw(st.integers(0, 40)))
        action = draw(st.sampled_from(["cut", "insert", "duplicate"]))
        if action == "cut":
            text = text[:start] + text[end:]
        elif action == "insert":
            text = text[:start] + draw(st.sampled_from(TOKENS)) + text[start:]
        else:
            text = text[:end] + text[start:end] + text[end:]
    return suffix, text


arbitrary = st.tuples(
    st.sampled_from([".sql", ".ts", ".tsx", ".js"]),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)), max_size=30).map("".join),
)


def check_text(suffix: str, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        clear_config_cache()
        code = main(["check", str(path)])
        captured = capsys.readouterr()
    assert code in (0, 1, 2), captured
    assert "Traceback" not in captured.err
    assert "internal error" not in captured.err, captured.err


@FUZZ
@given(case=st.one_of(mutated(), arbitrary))
def test_check_never_raises(case: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    check_text(*case, capsys)


@pytest.mark.parametrize("data", [b"\xff\xfe\x00", b"SELECT 1;\x80", b"\xef\xbb\xbfSELECT 1;"])
def test_check_raw_bytes(data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "raw.sql"
    path.write_bytes(data)
    assert main(["check", str(path)]) in (0, 1, 2)
    assert "Traceback" not in capsys.readouterr().err
