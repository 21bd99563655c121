"""Parameters of the booking-conversion query, defaulted and clamped as the action does.

The action (SEMANTICS.md): ``to`` defaults to now and ``from`` to ``to - 30 days``; the attribution
window is clamped to 1..365 days (default 30) and the maturity buffer to 1..60 (default 7);
``maturity_cutoff = to - maturity_buffer_days days``. A scenario must give ``to`` (a default of
"now" would make results depend on the day the test runs).

Example:
    >>> resolve_params({"to": "2026-02-01", "attribution_window_days": 999}).attribution_window_days
    365
"""

from __future__ import annotations

import math

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from convguard._dataset import parse_timestamp as parse_utc_timestamp
from convguard._errors import ScenarioError
from convguard.profiles import Role
from convguard.profiles.booking_conversion._roles import ROLE_NAMES, ROLES


@dataclass(frozen=True)
class BookingParams:
    """Resolved values of every role. Timestamps are naive UTC datetimes.

    ``client_ids`` is None when the scenario leaves the scope open: the caller may see every
    client of the dataset.
    """

    client_ids: tuple[str, ...] | None
    from_: datetime
    to: datetime
    attribution_window_days: int
    maturity_buffer_days: int

    @property
    def maturity_cutoff(self) -> datetime:
        return self.to - timedelta(days=self.maturity_buffer_days)

    def role_values(self, all_client_ids: Sequence[str] = ()) -> dict[str, Any]:
        """Role name -> value, ready to bind (``client_ids`` falls back to every client)."""
        return {
            "client_ids": list(self.client_ids if self.client_ids is not None else all_client_ids),
            "from": self.from_,
            "to": self.to,
            "attribution_window_days": self.attribution_window_days,
            "maturity_buffer_days": self.maturity_buffer_days,
            "maturity_cutoff": self.maturity_cutoff,
        }


def parse_timestamp(value: Any, *, what: str) -> datetime:
    """An ISO 8601 text (``Z`` or an offset = converted to UTC; none = UTC) or datetime -> naive UTC.

    Example:
        >>> parse_timestamp("2026-01-31T19:00:00-05:00", what="to")
        datetime.datetime(2026, 2, 1, 0, 0)
    """
    try:
        return parse_utc_timestamp(value)
    except ValueError as error:
        raise ScenarioError(f"{what}: {error}", hint="write e.g. 2026-01-10T09:30:00.000Z") \
            from None


def _clamp(value: Any, *, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"{name}: expected a number of days, got {value!r}")
    if not math.isfinite(value):  # YAML's .nan and .inf are floats the action never receives
        raise ScenarioError(f"{name}: expected a finite number of days, got {value!r}",
                            hint=f"write a whole number of days ({low} to {high})")
    return max(low, min(high, int(value)))


def resolve_params(raw: Mapping[str, Any]) -> BookingParams:
    """Apply the action's defaults and clamps to a scenario's ``params``."""
    unknown = sorted(set(raw) - set(ROLE_NAMES))
    if unknown:
        raise ScenarioError(f"unknown parameter(s) {', '.join(unknown)}",
                            hint=f"known: {', '.join(ROLE_NAMES)}")
    if "maturity_cutoff" in raw:
        raise ScenarioError("maturity_cutoff is derived from to and maturity_buffer_days",
                            hint="set maturity_buffer_days instead")
    if raw.get("to") is None:
        raise ScenarioError("params.to is required", hint="add to: 2026-02-01T00:00:00Z")
    to = parse_timestamp(raw["to"], what="params.to")
    from_ = (parse_timestamp(raw["from"], what="params.from") if raw.get("from") is not None
             else to - timedelta(days=30))
    client_ids = raw.get("client_ids")
    if client_ids is not None:
        if isinstance(client_ids, str):
            client_ids = [client_ids]
        if not isinstance(client_ids, list) or not all(isinstance(c, str) for c in client_ids):
            raise ScenarioError("params.client_ids must be a list of client ids")
        client_ids = tuple(client_ids)
    window = _role("attribution_window_days")
    buffer = _role("maturity_buffer_days")
    assert window.bounds and buffer.bounds
    return BookingParams(
        client_ids=client_ids,
        from_=from_,
        to=to,
        attribution_window_days=_clamp(raw.get("attribution_window_days"),
                                       name="attribution_window_days", default=window.default,
                                       low=window.bounds[0], high=window.bounds[1]),
        maturity_buffer_days=_clamp(raw.get("maturity_buffer_days"), name="maturity_buffer_days",
                                    default=buffer.default, low=buffer.bounds[0],
                                    high=buffer.bounds[1]),
    )


def _role(name: str) -> Role:
    return next(role for role in ROLES if role.name == name)
