"""order-status: an example third-party convguard profile.

The metric (``SEMANTICS.md`` in this package): for one tenant and the half-open range
``[from, to)`` of ``Order.createdAt``, the number of orders and their revenue per status. The
profile brings two rules (``ORD101`` inclusive upper bound, ``ORD102`` no tenant filter), a
pure-Python oracle, three scenarios and a data generator for ``convguard bench`` (sizes in
orders: :mod:`.synthetic`), and registers through the ``convguard.profiles`` entry
point of this package's ``pyproject.toml``; convguard itself knows nothing about it.

Example:
    >>> PROFILE.name, [rule.code for rule in PROFILE.rules]
    ('order-status', ['ORD101', 'ORD102'])
    >>> from convguard._dataset import Dataset
    >>> data = Dataset({"Order": ({"tenantId": "t1", "status": "PAID", "amountCents": 500,
    ...                            "createdAt": datetime(2026, 1, 5)},)})
    >>> stats = oracle(data, {"tenant_id": "t1", "from": "2026-01-01T00:00:00Z",
    ...                       "to": "2026-02-01T00:00:00Z"})
    >>> stats.counts["PAID"]
    {'orders': 1, 'amount_cents': 500}
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlglot import exp

from convguard import ScenarioError
from convguard.profiles import Profile, ResultShape, Role
from convguard.rules import Finding, RuleContext, at, parameter_index, rule

NAME = "order-status"
STATUSES = ("PAID", "REFUNDED", "PENDING")
FIELDS = ("orders", "amount_cents")
HERE = os.path.dirname(os.path.abspath(__file__))


# The result ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderStats:
    """Orders and revenue per status (a status with no row counts zero)."""

    counts: Mapping[str, Mapping[str, int]]
    problems: tuple[str, ...] = ()

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[Any, ...]]) -> OrderStats:
        counts = {status: {name: 0 for name in FIELDS} for status in STATUSES}
        problems = []
        for row in rows:
            if len(row) != 3 or row[0] not in counts:
                problems.append(f"unexpected row {row!r} (want status, orders, amount_cents)")
                continue
            counts[row[0]] = {"orders": int(row[1]), "amount_cents": int(row[2] or 0)}
        return cls(counts, tuple(problems))

    @classmethod
    def from_expected(cls, expected: Mapping[str, Mapping[str, int]]) -> OrderStats:
        counts = {status: {name: int((expected.get(status) or {}).get(name, 0))
                           for name in FIELDS} for status in STATUSES}
        return cls(counts)

    def differences(self, other: OrderStats) -> list[tuple[str, str, int, int]]:
        return [(status, name, self.counts[status][name], other.counts[status][name])
                for status in STATUSES for name in FIELDS
                if self.counts[status][name] != other.counts[status][name]]

    def as_dict(self) -> dict[str, Any]:
        return {"counts": {status: dict(values) for status, values in self.counts.items()},
                "problems": list(self.problems)}


# Parameters and the oracle -----------------------------------------------------------------------

def _instant(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ScenarioError(f"params.{name} must be an ISO 8601 timestamp, not "
                                f"{value!r}") from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def resolve_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every role's value (``tenant_id`` text; ``from``/``to`` naive UTC datetimes)."""
    for name in ("tenant_id", "from", "to"):
        if raw.get(name) is None:
            raise ScenarioError(f"params.{name} is required by the {NAME} profile")
    return {"tenant_id": str(raw["tenant_id"]), "from": _instant(raw["from"], "from"),
            "to": _instant(raw["to"], "to")}


def oracle(dataset: Any, params: Mapping[str, Any]) -> OrderStats:
    """SEMANTICS.md in plain Python: the tenant's orders created in ``[from, to)``."""
    resolved = resolve_params(params)
    counts = {status: {name: 0 for name in FIELDS} for status in STATUSES}
    for order in dataset.rows("Order"):
        created = _instant(order["createdAt"], "createdAt")
        if order["tenantId"] == resolved["tenant_id"] and \
                resolved["from"] <= created < resolved["to"]:
            status = order.get("status") or "PENDING"
            counts[status]["orders"] += 1
            counts[status]["amount_cents"] += int(order["amountCents"])
    return OrderStats(counts)


def _role_values(params: Mapping[str, Any], dataset: Any) -> Mapping[str, Any]:
    return resolve_params(params)


def _cells(stats: OrderStats) -> Mapping[str, Mapping[str, Any]]:
    return stats.counts


def _synthetic() -> Any:
    from order_status_profile.synthetic import SYNTHETIC  # on first use: check stays light

    return SYNTHETIC


# The rules -------------------------------------------------------------------------------------

def _role_parameters(context: RuleContext, role: str) -> frozenset[int]:
    return context.binding.role_indexes(role) if context.binding is not None else frozenset()


@rule("ORD101", "range-end-inclusive", profile=NAME)
def range_end_inclusive(query: Any, parsed: Any, lineage: Any,
                        context: RuleContext) -> Iterator[Finding]:
    """The end of the date range is compared with `<=`.

    ## What it does
    Reports a comparison `column <= <to>` (or `<to> >= column`) where the parameter plays the
    profile's `to` role.

    ## Why is this bad?
    The range is half-open, `[from, to)`: an order created exactly at `to` belongs to the next
    range, and with `<=` it is counted in both.

    ## Example
    ```sql
    SELECT o.status, COUNT(*), SUM(o."amountCents") FROM "Order" o
    WHERE o."tenantId" = :tenant_id AND o."createdAt" >= :from AND o."createdAt" <= :to
    GROUP BY o.status
    ```

    ## Use instead
    ```sql
    SELECT o.status, COUNT(*), SUM(o."amountCents") FROM "Order" o
    WHERE o."tenantId" = :tenant_id AND o."createdAt" >= :from AND o."createdAt" < :to
    GROUP BY o.status
    ```
    """
    ends = _role_parameters(context, "to")
    for node in parsed.tree.find_all(exp.LTE, exp.GTE):
        bound = node.expression if isinstance(node, exp.LTE) else node.this
        if parameter_index(bound) in ends:
            yield at(node, parsed.sql, "the range's end is inclusive: an order created exactly "
                     "at `to` is counted", "compare with `<` (the range is [from, to))")


@rule("ORD102", "missing-tenant-filter", profile=NAME)
def missing_tenant_filter(query: Any, parsed: Any, lineage: Any,
                          context: RuleContext) -> Iterator[Finding]:
    """The query never compares anything with the tenant parameter.

    ## What it does
    Reports a bound query in which no equality compares a column with the parameter playing the
    `tenant_id` role.

    ## Why is this bad?
    Without it the query counts every tenant's orders: one customer sees another's revenue.

    ## Example
    ```sql
    SELECT o.status, COUNT(*), SUM(o."amountCents") FROM "Order" o
    WHERE o."createdAt" >= :from AND o."createdAt" < :to AND :tenant_id IS NOT NULL
    GROUP BY o.status
    ```

    ## Use instead
    ```sql
    SELECT o.status, COUNT(*), SUM(o."amountCents") FROM "Order" o
    WHERE o."tenantId" = :tenant_id AND o."createdAt" >= :from AND o."createdAt" < :to
    GROUP BY o.status
    ```
    """
    tenants = _role_parameters(context, "tenant_id")
    for node in parsed.tree.find_all(exp.EQ):
        if {parameter_index(node.this), parameter_index(node.expression)} & tenants:
            return
    yield at(parsed.tree.args.get("where") or parsed.tree, parsed.sql,
             "no filter on the tenant: every tenant's orders are counted",
             'add o."tenantId" = <tenant_id> to the WHERE clause')


PROFILE = Profile(
    name=NAME,
    description="Orders and revenue per status for one tenant in [from, to) (SEMANTICS.md).",
    roles=(
        Role("tenant_id", "text", "the caller's tenant", aliases=("tenantId", "tenant")),
        Role("from", "timestamp", "start of the half-open range [from, to)"),
        Role("to", "timestamp", "end of the half-open range [from, to)"),
    ),
    result=ResultShape(rows=STATUSES, fields=FIELDS, normalise=OrderStats.from_rows,
                       expected=OrderStats.from_expected, cells=_cells, label="status"),
    params=resolve_params,
    role_values=_role_values,
    oracle=oracle,
    rules=(range_end_inclusive, missing_tenant_filter),
    rule_prefix="ORD",
    scenarios=os.path.join(HERE, "scenarios"),
    synthetic=_synthetic,
    semantics=os.path.join(HERE, "SEMANTICS.md"),
)

__all__ = ["PROFILE", "OrderStats", "oracle", "resolve_params"]
