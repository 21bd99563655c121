"""Property tests: extraction never raises anything but ExtractionError, and never hangs.

Inputs are arbitrary text biased towards the characters that drive the lexer's states, and
mutations (deletions, insertions, duplications of `` { } $ ' " / * ` < > ( ) ``) of a realistic
action file. Runs are derandomised so CI is reproducible; ``--run-slow`` adds a longer random
search.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convguard._errors import ExtractionError
from convguard._model import ExtractionResult
from convguard.extract._typescript import extract_typescript

HERE = Path(__file__).parent
SAMPLES = [
    (HERE / "cases" / "sample_actions.ts").read_text(encoding="utf-8"),
    (HERE / "cases" / "crosscheck.ts").read_text(encoding="utf-8"),
    (HERE / "cases" / "crosscheck.tsx").read_text(encoding="utf-8"),
]
SPECIAL = "{}$'\"/*`<>()[]\\\n=;:?.,!"
PATHS = ["a.ts", "a.tsx", "a.js"]

QUICK = settings(max_examples=200, derandomize=True, deadline=1000,
                 suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=3000, derandomize=False, deadline=2000,
                suppress_health_check=[HealthCheck.too_slow])

source_text = st.lists(
    st.one_of(
        st.sampled_from(list(SPECIAL)),
        st.sampled_from(["${", "`", "//", "/*", "*/", "=>", "Prisma.sql", "$queryRaw",
                         "tx.$executeRawUnsafe(", "$transaction(async (tx) => {", "const f = ",
                         "function g() {", "<div>", "</div>", "Prisma.empty", " ? ", " : ",
                         "Prisma.join(", "// convguard-ignore CG1\n", "return /x/", "async "]),
        st.characters(codec="utf-8"),
    ),
    max_size=200,
).map("".join)


@st.composite
def mutated_sample(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SAMPLES))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        position = draw(st.integers(min_value=0, max_value=len(text)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if action == "delete":
            length = draw(st.integers(min_value=1, max_value=3))
            text = text[:position] + text[position + length:]
        elif action == "insert":
            text = text[:position] + draw(st.sampled_from(list(SPECIAL))) + text[position:]
        else:
            length = draw(st.integers(min_value=1, max_value=40))
            text = text[:position] + text[position:position + length] + text[position:]
    return text


def _check(path: str, text: str) -> None:
    try:
        result = extract_typescript(path, text, tags=("sql",))
    except ExtractionError as error:
        assert error.path == path
        assert error.line is None or 1 <= error.line <= text.count("\n") + 1
        return
    assert isinstance(result, ExtractionResult)
    for query in result.queries:
        for segment in query.segments:
            host = text[segment.host_start:segment.host_start + segment.length]
            assert query.sql[segment.sql_start:segment.sql_start + segment.length] == host
        for number, placeholder in enumerate(query.placeholders, start=1):
            assert query.sql[placeholder.sql_start:placeholder.sql_end] == f"${number}"
        assert query.transaction is None or query.transaction >= 1


@QUICK
@given(text=source_text, path=st.sampled_from(PATHS))
def test_arbitrary_text(text: str, path: str) -> None:
    _check(path, text)


@QUICK
@given(text=mutated_sample(), path=st.sampled_from(PATHS))
def test_mutated_realistic_files(text: str, path: str) -> None:
    _check(path, text)


@pytest.mark.slow
@SLOW
@given(text=st.one_of(source_text, mutated_sample()), path=st.sampled_from(PATHS))
def test_longer_search(text: str, path: str) -> None:
    _check(path, text)
