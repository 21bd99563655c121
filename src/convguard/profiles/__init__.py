"""Profiles: what a family of queries must compute, as roles, a schema, an oracle and checks.

A profile is plain data plus lazily imported functions; the core never assumes any particular
profile. Profiles are found through an explicit registry, not by import side effects.

Example:
    >>> get_profile("booking-conversion").role("to").kind
    'timestamp'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from convguard._errors import BindingError, ConfigError
from convguard._schema import Schema, booking_schema

RoleKind = Literal["timestamp", "integer", "text", "text_list"]


@dataclass(frozen=True)
class Role:
    """A named input of a profile's query.

    ``aliases`` are interpolation names that map to this role without configuration (compared
    without case, underscores or a trailing ``s``); ``default`` and ``bounds`` are the caller's
    defaulting and clamping rules.
    """

    name: str
    kind: RoleKind
    description: str
    aliases: tuple[str, ...] = ()
    default: Any = None
    bounds: tuple[int, int] | None = None


@dataclass(frozen=True)
class Profile:
    """A family of queries with shared roles. ``module`` holds its oracle, schema and rules."""

    name: str
    description: str
    roles: tuple[Role, ...]
    module: str
    rule_prefix: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    #: the data model the profile's query is written against, used by ``check`` for a query
    #: bound to the profile when the application has no schema of its own
    schema: Callable[[], Schema] | None = None

    def builtin_schema(self) -> Schema | None:
        """The profile's own data model (None: the profile has none).

        Example:
            >>> get_profile("booking-conversion").builtin_schema().has_table("AIDraft")
            True
        """
        if self.schema is None:
            return None
        if self.name not in _BUILTIN_SCHEMAS:
            _BUILTIN_SCHEMAS[self.name] = self.schema()
        return _BUILTIN_SCHEMAS[self.name]

    def role(self, name: str) -> Role:
        for role in self.roles:
            if role.name == name:
                return role
        known = ", ".join(role.name for role in self.roles)
        raise ConfigError(f"profile {self.name!r} has no role {name!r} (known: {known})")

    def has_role(self, name: str) -> bool:
        return any(role.name == name for role in self.roles)


_BUILTIN_SCHEMAS: dict[str, Schema] = {}


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_MEMBER_TAIL = re.compile(r"([A-Za-z_$][\w$]*)\s*(?:\?\?.*)?$")
_JOIN_CALL = re.compile(r"^Prisma\.join\s*\((.*)\)\s*$", re.DOTALL)


def interpolation_name(expression: str) -> str:
    """The name an interpolation is known by: the last member of its expression.

    Example:
        >>> interpolation_name("Prisma.join(scope.clientIds)")
        'clientIds'
        >>> interpolation_name("opts.from")
        'from'
        >>> interpolation_name(":to")
        'to'
    """
    text = expression.strip().lstrip(":")
    join = _JOIN_CALL.match(text)
    if join:
        text = join.group(1).split(",")[0].strip()
    text = re.sub(r"\.(toISOString|valueOf|getTime)\(\)$", "", text)
    match = _MEMBER_TAIL.search(text)
    return match.group(1) if match else text


def resolve_role(profile: Profile, expression: str, params: Mapping[str, str]) -> Role | None:
    """The role an interpolation plays: by configuration first, else by its name.

    Example:
        >>> p = get_profile("booking-conversion")
        >>> resolve_role(p, "Prisma.join(scope.clientIds)", {}).name
        'client_ids'
        >>> resolve_role(p, "cutoff", {"cutoff": "maturity_cutoff"}).name
        'maturity_cutoff'
        >>> resolve_role(p, "somethingElse", {}) is None
        True
    """
    configured = params.get(expression.strip()) or params.get(expression.strip().lstrip(":"))
    if configured:
        if not profile.has_role(configured):
            known = ", ".join(role.name for role in profile.roles)
            raise BindingError(
                f"the configuration maps {expression!r} to unknown role {configured!r}",
                hint=f"use one of: {known}",
            )
        return profile.role(configured)
    name = _fold(interpolation_name(expression))
    for role in profile.roles:
        candidates = {_fold(role.name), *(_fold(alias) for alias in role.aliases)}
        if name in candidates or name.rstrip("s") in {c.rstrip("s") for c in candidates}:
            return role
    return None


BOOKING_CONVERSION = Profile(
    name="booking-conversion",
    description="Booking conversions attributable to AI draft sends (SEMANTICS.md).",
    module="convguard.profiles.booking_conversion",
    rule_prefix="CG2",
    roles=(
        Role("client_ids", "text_list", "the caller's client scope",
             aliases=("clientId", "clientIds", "clientScope", "scopeClientIds")),
        Role("from", "timestamp", "start of the half-open range [from, to)",
             aliases=("from", "rangeFrom", "fromDate", "since")),
        Role("to", "timestamp", "end of the half-open range [from, to)",
             aliases=("to", "rangeTo", "toDate", "until")),
        Role("attribution_window_days", "integer", "days after a send a booking still counts",
             aliases=("attributionWindowDays", "windowDays"), default=30, bounds=(1, 365)),
        Role("maturity_buffer_days", "integer", "days before `to` a send is too recent to judge",
             aliases=("maturityBufferDays", "bufferDays"), default=7, bounds=(1, 60)),
        Role("maturity_cutoff", "timestamp", "to - maturity_buffer_days days (derived)",
             aliases=("maturityCutoff",)),
    ),
    options={"anchor_cte": "draft_send_time"},
    schema=booking_schema,
)

PROFILES: dict[str, Profile] = {BOOKING_CONVERSION.name: BOOKING_CONVERSION}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(f"unknown profile {name!r}", hint=f"known profiles: {known}") from None


__all__ = ["PROFILES", "Profile", "Role", "get_profile", "interpolation_name", "resolve_role"]
