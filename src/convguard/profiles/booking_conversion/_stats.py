"""The result shape of SEMANTICS.md: nine buckets, totals, eligible and booking rate.

Example:
    >>> stats = ConversionStats.from_rows([("sms", "EDITED", "BOOKED", 2), ("sms", "EDITED", "NOT_BOOKED", 2)])
    >>> stats.bucket("sms", "EDITED").booking_rate
    0.5
    >>> stats.total("all").eligible, stats.problems
    (4, ())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CHANNELS = ("email", "sms", "linkedin")
DISPOSITIONS = ("AUTO_SENT", "APPROVED", "EDITED")
OUTCOMES = ("BOOKED", "NOT_BOOKED", "PENDING", "BOOKED_NO_TIMESTAMP")
COUNT_FIELDS = ("booked", "notBooked", "pending", "bookedNoTimestamp")
_FIELD_OF_OUTCOME = dict(zip(OUTCOMES, COUNT_FIELDS))


def bucket_key(channel: str, disposition: str) -> str:
    """``"{channel}-{disposition}"`` as the action names a bucket."""
    return f"{channel}-{disposition}"


BUCKET_KEYS = tuple(bucket_key(c, d) for c in CHANNELS for d in DISPOSITIONS)


@dataclass(frozen=True)
class BucketCounts:
    """Distinct-lead counts of one bucket (or a total)."""

    booked: int = 0
    notBooked: int = 0  # noqa: N815 - the action's own field names
    pending: int = 0
    bookedNoTimestamp: int = 0  # noqa: N815

    @property
    def eligible(self) -> int:
        return self.booked + self.notBooked

    @property
    def booking_rate(self) -> float | None:
        return None if self.eligible == 0 else self.booked / self.eligible

    def __add__(self, other: BucketCounts) -> BucketCounts:
        return BucketCounts(*(getattr(self, f) + getattr(other, f) for f in COUNT_FIELDS))

    def with_outcome(self, outcome: str, count: int) -> BucketCounts:
        values = {f: getattr(self, f) for f in COUNT_FIELDS}
        values[_FIELD_OF_OUTCOME[outcome]] += count
        return BucketCounts(**values)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {f: getattr(self, f) for f in COUNT_FIELDS}
        data["eligible"] = self.eligible
        data["bookingRate"] = self.booking_rate
        return data


@dataclass(frozen=True)
class ConversionStats:
    """All nine buckets (always present) and what did not fit the shape.

    ``problems`` lists rows with an unknown channel, disposition or outcome, a negative or
    non-integer count, or a repeated (bucket, outcome): they are reported, never dropped silently.
    """

    buckets: Mapping[str, BucketCounts] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[Any, Any, Any, Any]]) -> ConversionStats:
        buckets = {key: BucketCounts() for key in BUCKET_KEYS}
        problems: list[str] = []
        seen: set[tuple[str, str]] = set()
        for row in rows:
            if len(row) != 4:
                problems.append(f"row {tuple(row)!r} does not have 4 columns "
                                "(channel, responseDisposition, outcome, count)")
                continue
            channel, disposition, outcome, count = row
            key = bucket_key(str(channel), str(disposition))
            if channel not in CHANNELS or disposition not in DISPOSITIONS:
                problems.append(f"row {tuple(row)!r}: unknown bucket {key!r}")
                continue
            if outcome not in OUTCOMES:
                problems.append(f"row {tuple(row)!r}: unknown outcome {outcome!r}")
                continue
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                try:
                    as_int = int(count)
                except (TypeError, ValueError):
                    as_int = -1
                if as_int < 0 or as_int != count:
                    problems.append(f"row {tuple(row)!r}: count is not a non-negative integer")
                    continue
                count = as_int
            if (key, outcome) in seen:
                problems.append(f"row {tuple(row)!r}: ({key}, {outcome}) appears more than once")
            seen.add((key, outcome))
            buckets[key] = buckets[key].with_outcome(outcome, count)
        return cls(buckets=buckets, problems=tuple(problems))

    @classmethod
    def from_expected(cls, expected: Mapping[str, Mapping[str, int]]) -> ConversionStats:
        """Expected counts of a scenario: bucket key -> {field: count}; the rest is zero."""
        buckets = {key: BucketCounts() for key in BUCKET_KEYS}
        for key, counts in expected.items():
            buckets[key] = BucketCounts(**{f: int(counts.get(f, 0)) for f in COUNT_FIELDS})
        return cls(buckets=buckets)

    def bucket(self, channel: str, disposition: str) -> BucketCounts:
        return self.buckets[bucket_key(channel, disposition)]

    def total(self, disposition: str) -> BucketCounts:
        """Sum over channels for one disposition, or over all buckets for ``"all"``."""
        total = BucketCounts()
        for channel in CHANNELS:
            for each in DISPOSITIONS:
                if disposition in ("all", each):
                    total = total + self.bucket(channel, each)
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            "buckets": {key: self.buckets[key].as_dict() for key in BUCKET_KEYS},
            "totals": {d: self.total(d).as_dict() for d in (*DISPOSITIONS, "all")},
        }

    def differences(self, other: ConversionStats) -> list[tuple[str, str, int, int]]:
        """(bucket, field, self value, other value) for every count that differs."""
        diffs = []
        for key in BUCKET_KEYS:
            for name in COUNT_FIELDS:
                mine, theirs = getattr(self.buckets[key], name), getattr(other.buckets[key], name)
                if mine != theirs:
                    diffs.append((key, name, mine, theirs))
        return diffs
