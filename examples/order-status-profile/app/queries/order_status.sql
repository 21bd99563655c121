-- Orders and revenue per status for one tenant in [from, to) (../../src/order_status_profile/SEMANTICS.md).
SELECT o.status::text AS status, COUNT(*) AS orders, SUM(o."amountCents") AS amount_cents
FROM "Order" o
WHERE o."tenantId" = :tenant_id
  AND o."createdAt" >= :from
  AND o."createdAt" < :to
GROUP BY o.status
