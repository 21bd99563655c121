"""The booking-conversion profile: "booking conversions attributable to AI draft sends".

What the query must compute is defined by ``SEMANTICS.md``, shipped in this package
(:data:`SEMANTICS`); the rules, the oracle and the scenarios cite it. The profile registers
through the ``convguard.profiles`` entry point like any third-party profile
(``booking-conversion = "convguard.profiles.booking_conversion:PROFILE"``); convguard's core never
imports it.

- roles (:mod:`._roles`), parameters defaulted and clamped as the action does (:mod:`._params`),
  the result shape (:mod:`._stats`), the oracle (:mod:`.oracle`), the rules ``CG2xx``
  (:mod:`.rules`), the typed options (:class:`BookingOptions`);
- for the conformance kit: the packaged scenarios (``scenarios/``), dataset strategies
  (:mod:`.strategies`), metamorphic relations (:mod:`.relations`) and a synthetic tenant at scale
  for ``convguard bench`` (:mod:`.synthetic`), all imported on first use.

Example:
    >>> PROFILE.name, PROFILE.rule_prefix, len(PROFILE.rules)
    ('booking-conversion', 'CG2', 12)
    >>> os.path.basename(PROFILE.semantics)
    'SEMANTICS.md'
    >>> params = resolve_params({"to": "2026-02-01T00:00:00Z", "client_ids": ["c1"]})
    >>> params.maturity_cutoff
    datetime.datetime(2026, 1, 25, 0, 0)
    >>> params.attribution_window_days, params.from_
    (30, datetime.datetime(2026, 1, 2, 0, 0))
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convguard.profiles import Profile, ResultShape
from convguard.profiles.booking_conversion._params import BookingParams, resolve_params
from convguard.profiles.booking_conversion._roles import ROLES
from convguard.profiles.booking_conversion._stats import (
    BUCKET_KEYS,
    CHANNELS,
    COUNT_FIELDS,
    DISPOSITIONS,
    OUTCOMES,
    BucketCounts,
    ConversionStats,
    bucket_key,
)
from convguard.profiles.booking_conversion.rules import RULES

if TYPE_CHECKING:
    from convguard._dataset import Dataset
    from convguard._schema import Schema

HERE = os.path.dirname(os.path.abspath(__file__))
#: The semantics the query must implement; rule docs and generated files cite it.
SEMANTICS = os.path.join(HERE, "SEMANTICS.md")
#: The packaged scenario set (run for a booking-conversion query with no scenarios configured).
SCENARIOS = os.path.join(HERE, "scenarios")


@dataclass(frozen=True)
class BookingOptions:
    """``[query.options]`` of a booking-conversion query.

    ``anchor_cte``: the name of the CTE that computes each draft's send time (CG201, CG202).
    """

    anchor_cte: str = "draft_send_time"


def _schema() -> Schema:
    from convguard.profiles.booking_conversion.schema import booking_schema

    return booking_schema()


def _role_values(params: Mapping[str, Any], dataset: Dataset) -> Mapping[str, Any]:
    clients = [row["id"] for row in dataset.rows("Client")]
    return resolve_params(params).role_values(clients)


def _oracle(dataset: Dataset, params: Mapping[str, Any]) -> ConversionStats:
    from convguard.profiles.booking_conversion.oracle import booking_oracle

    return booking_oracle(dataset, resolve_params(params))


def _cells(stats: ConversionStats) -> Mapping[str, Mapping[str, Any]]:
    return {key: {name: getattr(stats.buckets[key], name) for name in COUNT_FIELDS}
            for key in BUCKET_KEYS}


def _strategies() -> Any:
    from convguard.profiles.booking_conversion.strategies import booking_documents

    return booking_documents()


def _relations() -> Sequence[Any]:
    from convguard.profiles.booking_conversion.relations import RELATIONS

    return RELATIONS


def _synthetic() -> Any:
    from convguard.profiles.booking_conversion.synthetic import SYNTHETIC

    return SYNTHETIC


PROFILE = Profile(
    name="booking-conversion",
    description="Booking conversions attributable to AI draft sends (SEMANTICS.md).",
    roles=ROLES,
    result=ResultShape(rows=BUCKET_KEYS, fields=COUNT_FIELDS, normalise=ConversionStats.from_rows,
                       expected=ConversionStats.from_expected, cells=_cells, label="bucket"),
    params=resolve_params,
    role_values=_role_values,
    oracle=_oracle,
    schema=_schema,
    rules=RULES,
    rule_prefix="CG2",
    options=BookingOptions,
    scenarios=SCENARIOS if os.path.isdir(SCENARIOS) else None,
    strategies=_strategies,
    relations=_relations,
    synthetic=_synthetic,
    semantics=SEMANTICS,
)

__all__ = [
    "CHANNELS", "DISPOSITIONS", "OUTCOMES", "PROFILE", "SCENARIOS", "SEMANTICS", "BookingOptions",
    "BookingParams", "BucketCounts", "ConversionStats", "bucket_key", "resolve_params",
]
