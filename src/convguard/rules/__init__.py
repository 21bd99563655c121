"""The rule registry: every rule convguard knows, by code (codes are never reused).

:data:`RULES` holds convguard's own rules: the engine's (``CG0xx``) and the generic ones
(``CG1xx``), which check every extracted query. A profile brings its own rules (the
booking-conversion profile's ``CG2xx``), which check the queries a ``[[query]]`` entry binds to it;
:func:`all_rules` adds those of every installed profile. A rule's docstring is its documentation
(``convguard rule CODE``).

Example:
    >>> RULES["CG102"].name
    'untyped-timestamp-parameter'
    >>> sorted({rule.profile for rule in RULES.values()} - {None})
    ['*']
    >>> all_rules()["CG201"].profile
    'booking-conversion'
"""

from __future__ import annotations

from convguard._parse import parameter_index
from convguard.rules._base import Binding, Finding, Rule, RuleContext, at, rule
from convguard.rules._binding import unmapped_interpolation
from convguard.rules._engine import UNUSED_SUPPRESSION, invalid_sql, unresolved_column
from convguard.rules._nul_character import nul_character_in_sql
from convguard.rules._parameter_places import (
    indeterminate_parameter_type,
    parameter_in_utility_statement,
)
from convguard.rules._parameter_types import untyped_timestamp_parameter
from convguard.rules._quoting import interpolation_in_quotes
from convguard.rules._time_columns import forbidden_time_column_filter
from convguard.rules._unsafe_raw import unsafe_raw_sql

RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        invalid_sql,
        UNUSED_SUPPRESSION,
        unresolved_column,
        unmapped_interpolation,
        nul_character_in_sql,
        interpolation_in_quotes,
        untyped_timestamp_parameter,
        unsafe_raw_sql,
        forbidden_time_column_filter,
        parameter_in_utility_statement,
        indeterminate_parameter_type,
    )
}


def all_rules() -> dict[str, Rule]:
    """convguard's rules and those of every installed profile, by code (sorted).

    A profile rule that reuses one of convguard's codes is a ConfigError naming the profile.
    """
    from convguard._errors import ConfigError
    from convguard.profiles import available_profiles

    rules = dict(RULES)
    for profile in available_profiles().values():
        for profile_rule in profile.rules:
            if profile_rule.code in RULES:
                raise ConfigError(f"rule code {profile_rule.code} of profile {profile.name!r} is "
                                  "one of convguard's own", hint="give the profile's rules their "
                                  "own prefix")
            rules[profile_rule.code] = profile_rule
    return dict(sorted(rules.items()))


def get_rule(code: str) -> Rule | None:
    return all_rules().get(code.strip().upper())


#: For a profile's own rules: ``@rule(code, name, profile=...)`` declares one, ``at(node, sql,
#: message, fix)`` makes a finding of a tree node, ``parameter_index(node)`` reads a ``$n``.
__all__ = ["RULES", "Binding", "Finding", "Rule", "RuleContext", "all_rules", "at", "get_rule",
           "parameter_index", "rule"]
