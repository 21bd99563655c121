"""The rule registry: every rule convguard knows, by code (codes are never reused).

Generic rules (``CG0xx`` engine, ``CG1xx``) check every extracted query; profile rules (``CG2xx``,
booking-conversion) check the queries a ``[[query]]`` entry binds to the profile. A rule's
docstring is its documentation (``convguard rule CODE``).

Example:
    >>> RULES["CG102"].name
    'untyped-timestamp-parameter'
    >>> sorted({rule.profile for rule in RULES.values()} - {None})
    ['*', 'booking-conversion']
"""

from __future__ import annotations

from convguard.rules._base import Binding, Finding, Rule, RuleContext
from convguard.rules._binding import unmapped_interpolation
from convguard.rules._booking_anchor import (
    send_time_without_outbound_filter,
    wrong_send_time_anchor,
)
from convguard.rules._booking_count import count_not_distinct_leads
from convguard.rules._booking_filters import (
    missing_disposition_filter,
    missing_email_auto_send_filter,
)
from convguard.rules._booking_outcome import (
    attribution_window_mismatch,
    incomplete_booking_evidence,
    maturity_cutoff_mismatch,
    pre_booked_draft_counted,
)
from convguard.rules._booking_range import range_not_half_open, range_not_on_send_time
from convguard.rules._booking_timeout import missing_statement_timeout
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
        wrong_send_time_anchor,
        send_time_without_outbound_filter,
        range_not_on_send_time,
        range_not_half_open,
        attribution_window_mismatch,
        pre_booked_draft_counted,
        maturity_cutoff_mismatch,
        incomplete_booking_evidence,
        count_not_distinct_leads,
        missing_email_auto_send_filter,
        missing_disposition_filter,
        missing_statement_timeout,
    )
}

def get_rule(code: str) -> Rule | None:
    return RULES.get(code.strip().upper())


__all__ = ["RULES", "Binding", "Finding", "Rule", "RuleContext", "get_rule"]
