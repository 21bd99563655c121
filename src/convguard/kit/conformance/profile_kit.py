"""What the conformance kit needs from a profile, behind one small interface.

The kit is generic: it seeds rows, binds roles and runs a query. A profile tells it how to turn a
scenario's ``params`` into role values, how to normalise the query's rows into a comparable
result, how to read ``expected`` and which oracle decides when a scenario has no ``expected``.
The registry is explicit (profile name -> factory), never an import side effect.

A *result* is any object with ``differences(other) -> [(row, field, mine, theirs)]``,
``problems: tuple[str, ...]`` and ``as_dict()``; ``cells(result)`` gives the report its table.

Example:
    >>> kit = profile_kit("booking-conversion")
    >>> kit.contract.expected_rows[:2]
    ('email-AUTO_SENT', 'email-APPROVED')
    >>> stats = kit.normalise([("sms", "EDITED", "BOOKED", 1)])
    >>> kit.cells(stats)["sms-EDITED"]["booked"]
    1
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from convguard._dataset import Dataset
from convguard._errors import ConfigError
from convguard._schema import Schema
from convguard.kit.scenario.files import ScenarioContract
from convguard.profiles import Profile, get_profile


@dataclass(frozen=True)
class ProfileKit:
    """A profile's conformance hooks (all pure Python; no database). ``profile`` is None for a
    query without one (:func:`convguard.kit.conformance.generic.generic_kit`)."""

    profile: Profile | None
    schema: Callable[[], Schema]
    contract: ScenarioContract
    role_values: Callable[[Mapping[str, Any], Dataset], Mapping[str, Any]]
    normalise: Callable[[Sequence[tuple[Any, ...]]], Any]
    expected: Callable[[Mapping[str, Mapping[str, int]]], Any]
    oracle: Callable[[Dataset, Mapping[str, Any]], Any]
    cells: Callable[[Any], Mapping[str, Mapping[str, Any]]]
    row_label: str = "row"
    builtin_scenarios: str | None = None


def _packaged(*parts: str) -> str | None:
    """A folder shipped inside the package (``convguard/data/...``), if this install has it."""
    import os

    package = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    folder = os.path.join(package, "data", *parts)
    return folder if os.path.isdir(folder) else None


def _booking_conversion() -> ProfileKit:
    from convguard._schema import booking_schema
    from convguard.profiles import BOOKING_CONVERSION
    from convguard.profiles.booking_conversion import ConversionStats, resolve_params
    from convguard.profiles.booking_conversion._stats import BUCKET_KEYS, COUNT_FIELDS

    def role_values(params: Mapping[str, Any], dataset: Dataset) -> Mapping[str, Any]:
        clients = [row["id"] for row in dataset.rows("Client")]
        return resolve_params(params).role_values(clients)

    def oracle(dataset: Dataset, params: Mapping[str, Any]) -> Any:
        from convguard.profiles.booking_conversion.oracle import booking_oracle

        return booking_oracle(dataset, resolve_params(params))

    def cells(stats: Any) -> Mapping[str, Mapping[str, Any]]:
        return {key: {name: getattr(stats.buckets[key], name) for name in COUNT_FIELDS}
                for key in BUCKET_KEYS}

    return ProfileKit(
        profile=BOOKING_CONVERSION,
        schema=booking_schema,
        contract=ScenarioContract(
            role_names=tuple(role.name for role in BOOKING_CONVERSION.roles
                             if role.name != "maturity_cutoff"),
            check_params=resolve_params,
            expected_rows=BUCKET_KEYS,
            expected_fields=COUNT_FIELDS,
        ),
        role_values=role_values,
        normalise=ConversionStats.from_rows,
        expected=ConversionStats.from_expected,
        oracle=oracle,
        cells=cells,
        row_label="bucket",
        builtin_scenarios=_packaged("booking_conversion", "scenarios"),
    )


KIT_PROFILES: dict[str, Callable[[], ProfileKit]] = {
    "booking-conversion": _booking_conversion,
}
_CACHE: dict[str, ProfileKit] = {}


def profile_kit(name: str) -> ProfileKit:
    """The conformance hooks of a registered profile."""
    if name not in _CACHE:
        get_profile(name)  # an unknown profile is a ConfigError naming the known ones
        factory = KIT_PROFILES.get(name)
        if factory is None:
            raise ConfigError(f"profile {name!r} has no conformance kit",
                              hint=f"kits exist for: {', '.join(sorted(KIT_PROFILES))}")
        _CACHE[name] = factory()
    return _CACHE[name]


__all__ = ["KIT_PROFILES", "ProfileKit", "profile_kit"]
