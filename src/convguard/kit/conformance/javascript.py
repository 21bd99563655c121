"""JavaScript's own conversions that every driver emulation shares: ``String(n)`` of a number and
the Node.js process's time zone.

Example:
    >>> js_number(0.1 + 0.2), js_number(1e21)
    ('0.30000000000000004', '1e+21')
"""

from __future__ import annotations

import math
from datetime import UTC
from decimal import Decimal
from functools import lru_cache
from typing import Any

from convguard._errors import BindingError


@lru_cache(maxsize=32)
def client_zone(name: str) -> Any:
    """The ``tzinfo`` of a Node.js process's ``TZ`` (an IANA name); BindingError if unknown.

    Example:
        >>> client_zone("UTC"), client_zone("Asia/Kolkata").key
        (datetime.timezone.utc, 'Asia/Kolkata')
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BindingError(f"unknown client time zone {name!r}",
                           hint="use an IANA name such as UTC or America/New_York") from None

def js_number(value: float) -> str:
    """JavaScript's ``String(n)`` for a number (ECMAScript Number::toString).

    Example:
        >>> [js_number(v) for v in (30, 1.5, -0.0, 1e-7, 123456789012345680000, float("nan"))]
        ['30', '1.5', '0', '1e-7', '123456789012345680000', 'NaN']
    """
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign, digit_tuple, raw_exponent = Decimal(repr(number)).as_tuple()
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")
    exponent = int(raw_exponent) + len(all_digits) - len(digits)
    k = len(digits)
    n = k + exponent  # the decimal point sits after n digits
    prefix = "-" if sign else ""
    if k <= n <= 21:
        return prefix + digits + "0" * (n - k)
    if 0 < n <= 21:
        return prefix + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return prefix + "0." + "0" * (-n) + digits
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    power = n - 1
    return f"{prefix}{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"


__all__ = ["client_zone", "js_number"]
