"""How a run marks what it creates on a server, and how a later run tells whether it still lives.

Every database and role a run creates is named ``<prefix>_<pid>_<hex>_<created>_<n>``: the run
id (``<pid>-<hex>``), the server's clock at creation (seconds, base 36) and a counter. The name
*is* the marking, so an object carries it from the moment it exists (a comment, set in a second
statement, could be missing after a kill). Every connection a run opens carries the application
name ``convguard <run id> <purpose>``, and the ``admin`` one is open for the whole run, before
anything is created: a run whose admin backend is gone is dead, and what it left is swept.

Example:
    >>> name = object_name("convguard_run", "4242-9f86d081", created=1764950000, number=3)
    >>> name
    'convguard_run_4242_9f86d081_tt6t04w_3'
    >>> parse_object_name(name)
    Marked(prefix='convguard_run', run_id='4242-9f86d081', created=1764950000, number=3)
    >>> parse_object_name("postgres") is None, parse_object_name("convguard_x_1_2_3_4") is None
    (True, True)
    >>> application_name("4242-9f86d081", "query")
    'convguard 4242-9f86d081 query'
    >>> run_of_application_name("convguard 4242-9f86d081 admin")
    ('4242-9f86d081', 'admin')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "convguard"
_NAME = re.compile(r"(?P<prefix>convguard[a-z0-9_]*?)_(?P<pid>[0-9]{1,10})_(?P<hex>[0-9a-f]{8})"
                   r"_t(?P<created>[0-9a-z]{1,8})_(?P<number>[0-9]{1,6})")
_APP = re.compile(r"convguard (?P<run>[0-9]{1,10}-[0-9a-f]{8}) (?P<purpose>[a-z]{1,16})")
_RUN_ID = re.compile(r"[0-9]{1,10}-[0-9a-f]{8}")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Marked:
    """What a marked name says: the prefix, the run that created it, when, and its number."""

    prefix: str
    run_id: str
    created: int
    number: int


def object_name(prefix: str, run_id: str, *, created: int, number: int) -> str:
    """The marked name of a database or role (at most 63 bytes for a prefix of at most 30)."""
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    pid, token = run_id.split("-")
    return f"{prefix}_{pid}_{token}_t{_base36(created)}_{number}"


def parse_object_name(name: str) -> Marked | None:
    """The marking of ``name``, or None when it is not a name a convguard run gives."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    return Marked(prefix=match["prefix"], run_id=f"{match['pid']}-{match['hex']}",
                  created=int(match["created"], 36), number=int(match["number"]))


def application_name(run_id: str, purpose: str) -> str:
    """The ``application_name`` of a run's connection opened for ``purpose``."""
    return f"{PREFIX} {run_id} {purpose}"


def run_of_application_name(name: str | None) -> tuple[str, str] | None:
    """``(run id, purpose)`` of a convguard connection's application name, else None."""
    match = _APP.fullmatch(name or "")
    return (match["run"], match["purpose"]) if match else None


def _base36(number: int) -> str:
    if number <= 0:
        return "0"
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_DIGITS[rest])
    return "".join(reversed(digits))
