"""The booking-conversion profile: parameters, result shape and (lazily) oracle and rules.

Example:
    >>> from datetime import datetime
    >>> params = resolve_params({"to": "2026-02-01T00:00:00Z", "client_ids": ["c1"]})
    >>> params.maturity_cutoff
    datetime.datetime(2026, 1, 25, 0, 0)
    >>> params.attribution_window_days, params.from_
    (30, datetime.datetime(2026, 1, 2, 0, 0))
"""

from convguard.profiles.booking_conversion._params import BookingParams, resolve_params
from convguard.profiles.booking_conversion._stats import (
    CHANNELS,
    DISPOSITIONS,
    OUTCOMES,
    BucketCounts,
    ConversionStats,
    bucket_key,
)

__all__ = [
    "CHANNELS", "DISPOSITIONS", "OUTCOMES", "BookingParams", "BucketCounts", "ConversionStats",
    "bucket_key", "resolve_params",
]
