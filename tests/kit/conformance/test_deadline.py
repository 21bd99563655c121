"""``statement_timeout`` text read once (``timeout_ms``), in milliseconds and in seconds."""

from __future__ import annotations

import pytest

from convguard.kit.bench import benchmark
from convguard.kit.conformance.deadline import deadline_seconds, timeout_ms, timeout_seconds

# (setting, milliseconds as PostgreSQL reads it; None for none, 0 or unreadable)
CASES = [
    ("10000", 10_000.0), ("1.5s", 1_500.0), (" 2 min ", 120_000.0), ("250ms", 250.0),
    ("500us", 0.5), ("1h", 3_600_000.0), ("1d", 86_400_000.0), ("10S", 10_000.0),
    ("0", None), ("0s", None), ("", None), (None, None), ("soon", None), ("10 weeks", None),
    ("-5s", None),
]


@pytest.mark.parametrize(("setting", "milliseconds"), CASES)
def test_one_reading_in_both_units(setting: str | None, milliseconds: float | None) -> None:
    assert timeout_ms(setting) == milliseconds
    seconds = timeout_seconds(setting)
    assert (seconds is None) == (milliseconds is None)
    if milliseconds is not None:
        assert seconds == pytest.approx(milliseconds / 1000)


def test_the_benchmark_reads_through_the_same_parser() -> None:
    assert benchmark.timeout_ms is timeout_ms


def test_deadline_is_the_timeout_plus_grace() -> None:
    assert deadline_seconds("2s") == 3.0 and deadline_seconds("0") == 11.0
