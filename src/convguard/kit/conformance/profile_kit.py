"""What the conformance kit needs from a profile, behind one small interface.

The kit is generic: it seeds rows, binds roles and runs a query. A profile tells it how to turn a
scenario's ``params`` into role values, how to normalise the query's rows into a comparable
result, how to read ``expected`` and which oracle decides when a scenario has no ``expected``.
The hooks come from the :class:`~convguard.profiles.Profile` itself (:func:`kit_of`); profiles are
found by :func:`convguard.profiles.get_profile`.

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


def kit_of(profile: Profile) -> ProfileKit:
    """The conformance hooks of any profile that has a result shape (a ConfigError names what a
    profile lacks)."""
    missing = [name for name in ("result", "params", "role_values")
               if getattr(profile, name) is None]
    if missing:
        raise ConfigError(f"profile {profile.name!r} cannot be tested: it has no "
                          f"{', '.join(missing)}", hint="give the Profile these hooks")
    result = profile.result
    assert result is not None  # checked above
    assert profile.role_values is not None and profile.params is not None

    def schema() -> Schema:
        if profile.schema is None:
            raise ConfigError(f"profile {profile.name!r} has no data model of its own",
                              hint='set schema = "prisma/schema.prisma" in the configuration')
        return profile.schema()

    def oracle(dataset: Dataset, params: Mapping[str, Any]) -> Any:
        if profile.oracle is None:
            raise ConfigError(f"profile {profile.name!r} has no oracle: every scenario needs "
                              "`expected`", hint="add expected counts to the scenario file")
        return profile.oracle(dataset, params)

    return ProfileKit(
        profile=profile,
        schema=schema,
        contract=ScenarioContract(
            role_names=profile.scenario_roles,
            check_params=profile.params,
            expected_rows=result.rows,
            expected_fields=result.fields,
        ),
        role_values=profile.role_values,
        normalise=result.normalise,
        expected=result.expected,
        oracle=oracle,
        cells=result.cells,
        row_label=result.label,
        builtin_scenarios=profile.scenarios,
    )


_CACHE: dict[int, ProfileKit] = {}


def profile_kit(profile: str | Profile, *, base: str | None = None) -> ProfileKit:
    """The conformance hooks of a profile: a registered name, a ``"module:ATTR"`` reference or
    a :class:`~convguard.profiles.Profile`."""
    if isinstance(profile, str):
        profile = get_profile(profile, base=base)
    if id(profile) not in _CACHE:
        _CACHE[id(profile)] = kit_of(profile)
    return _CACHE[id(profile)]


__all__ = ["ProfileKit", "kit_of", "profile_kit"]
