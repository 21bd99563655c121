"""Synthetic orders for ``convguard bench``: the profile's data generator.

``size`` orders of ten tenants, spread evenly over the ``history_days`` before ``TO``; statuses
PAID / REFUNDED / PENDING in turn, amounts from 1.00 to 100.99. Every value is derived from the
row number inside the server (``generate_series``), so a size gives the same data on every run.
The bench queries tenant ``t1`` (a tenth of the orders) over its last ``window_days``.

Example:
    >>> SYNTHETIC.unit, SYNTHETIC.spec(500).orders
    ('orders', 500)
    >>> SYNTHETIC.params(SYNTHETIC.spec(500), window_days=30)["from"]
    '2026-01-02T00:00:00Z'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from convguard.profiles import SeedProgress

TO = datetime(2026, 2, 1)
TENANTS = 10

# The app's data model (app/prisma/schema.prisma), as Prisma creates it on PostgreSQL.
DDL = """
CREATE TYPE "OrderStatus" AS ENUM ('PAID', 'REFUNDED', 'PENDING');
CREATE TABLE "Tenant" (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE "Order" (
    id text PRIMARY KEY,
    "tenantId" text NOT NULL REFERENCES "Tenant"(id),
    status "OrderStatus" NOT NULL DEFAULT 'PENDING',
    "amountCents" integer NOT NULL,
    "createdAt" timestamp(3) NOT NULL
);
"""
TENANT_ROWS = """
INSERT INTO "Tenant" (id, name) SELECT 't' || n, 'Tenant ' || n FROM generate_series(1, %s) AS n
"""
ORDER_ROWS = """
INSERT INTO "Order" (id, "tenantId", status, "amountCents", "createdAt")
SELECT 'o' || i, 't' || (1 + i %% %(tenants)s),
       (ARRAY['PAID', 'REFUNDED', 'PENDING'])[1 + (i / %(tenants)s) %% 3]::"OrderStatus",
       100 + (i * 37) %% 10000,
       %(to)s::timestamp - make_interval(secs => (%(size)s - i) * 86400.0 * %(days)s / %(size)s)
FROM generate_series(1, %(size)s) AS i
"""


@dataclass(frozen=True)
class OrderSpec:
    """How many orders, over how many days before ``TO``."""

    orders: int
    history_days: int = 365


@dataclass(frozen=True)
class OrderSeed:
    """What was seeded (a :class:`convguard.profiles.SeedReport`)."""

    tenants: int
    orders: int
    load_seconds: float
    index_seconds: float
    analyze_seconds: float

    @property
    def counts(self) -> dict[str, int]:
        return {"orders": self.orders, "tenants": self.tenants}

    @property
    def scope(self) -> str:
        return "(tenant t1 queried)"

    @property
    def rows(self) -> int:
        return self.tenants + self.orders

    @property
    def seconds(self) -> float:
        return self.load_seconds + self.index_seconds + self.analyze_seconds

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def load_rows_per_s(self) -> float:
        return self.rows / self.load_seconds if self.load_seconds > 0 else 0.0


class OrderSynthetic:
    """The profile's :class:`convguard.profiles.SyntheticData`: sizes are counted in orders."""

    unit = "orders"
    default_size = 100_000
    timeline = "orders"
    dated = "orders"

    def spec(self, size: int, *, history_days: int = 365) -> OrderSpec:
        return OrderSpec(orders=size, history_days=history_days)

    def seed(self, connect: Callable[[], Any], spec: OrderSpec, *,
             progress: SeedProgress | None = None) -> OrderSeed:
        conn = connect()
        try:
            if progress is not None:
                progress.start(2)
            started = time.perf_counter()
            conn.execute(DDL)
            conn.execute(TENANT_ROWS, [TENANTS])
            conn.execute(ORDER_ROWS, {"tenants": TENANTS, "to": TO, "size": spec.orders,
                                      "days": spec.history_days})
            loaded = time.perf_counter()
            if progress is not None:
                progress.advance()
            conn.execute('VACUUM ANALYZE "Tenant", "Order"')
            analysed = time.perf_counter()
            if progress is not None:
                progress.advance()
                progress.finish()
        finally:
            conn.close()
        return OrderSeed(tenants=TENANTS, orders=spec.orders, load_seconds=loaded - started,
                         index_seconds=0.0, analyze_seconds=analysed - loaded)

    def params(self, spec: OrderSpec, *, window_days: int) -> Mapping[str, Any]:
        return {"tenant_id": "t1", "to": TO.isoformat() + "Z",
                "from": (TO - timedelta(days=window_days)).isoformat() + "Z"}


SYNTHETIC = OrderSynthetic()
