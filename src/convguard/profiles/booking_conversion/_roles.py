"""The roles of the booking-conversion query: the action's inputs (SEMANTICS.md, "Inputs").

Example:
    >>> [role.name for role in ROLES if role.derived]
    ['maturity_cutoff']
"""

from __future__ import annotations

from convguard.profiles import Role

ROLES = (
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
         aliases=("maturityCutoff",), derived=True),
)
ROLE_NAMES = tuple(role.name for role in ROLES)

__all__ = ["ROLES", "ROLE_NAMES"]
