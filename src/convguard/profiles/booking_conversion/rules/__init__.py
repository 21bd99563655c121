"""The booking-conversion profile's rules (``CG2xx``): the query against SEMANTICS.md.

Each rule reasons about the roles of a bound query's parameters and the column lineage of its
tree (:mod:`.facts` gathers what they share). They run only on queries a ``[[query]]`` entry binds
to the profile.

Example:
    >>> [rule.code for rule in RULES][:3]
    ['CG201', 'CG202', 'CG203']
"""

from __future__ import annotations

from convguard.profiles.booking_conversion.rules.anchor import (
    send_time_without_outbound_filter,
    wrong_send_time_anchor,
)
from convguard.profiles.booking_conversion.rules.count import count_not_distinct_leads
from convguard.profiles.booking_conversion.rules.filters import (
    missing_disposition_filter,
    missing_email_auto_send_filter,
)
from convguard.profiles.booking_conversion.rules.outcome import (
    attribution_window_mismatch,
    incomplete_booking_evidence,
    maturity_cutoff_mismatch,
    pre_booked_draft_counted,
)
from convguard.profiles.booking_conversion.rules.range import (
    range_not_half_open,
    range_not_on_send_time,
)
from convguard.profiles.booking_conversion.rules.timeout import missing_statement_timeout

RULES = (
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

__all__ = ["RULES"]
