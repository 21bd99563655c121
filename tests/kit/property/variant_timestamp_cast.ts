// A defective variant of fixtures/app/actions/ai-draft-response-analytics-actions.ts for the
// client-time-zone metamorphic relation (tests/kit/property/test_metamorphic.py): every timestamp
// parameter is cast with ::timestamp instead of ::timestamptz AT TIME ZONE 'UTC'. node-postgres
// sends a Date as local time with its offset (2026-01-31T19:00:00.000-05:00 in New York);
// ::timestamp drops the offset, so a process outside UTC shifts every window. In UTC it passes
// every scenario; the session TimeZone does not matter to it.
"use server";

import { Prisma } from "@prisma/client";
import { prisma } from "@/lib/prisma";
import { resolveClientScope } from "@/lib/workspace-access";

const DAY_MS = 24 * 60 * 60 * 1000;
const CHANNELS = ["email", "sms", "linkedin"] as const;
const DISPOSITIONS = ["AUTO_SENT", "APPROVED", "EDITED"] as const;

type Channel = (typeof CHANNELS)[number];
type Disposition = (typeof DISPOSITIONS)[number];
type Outcome = "BOOKED" | "NOT_BOOKED" | "PENDING" | "BOOKED_NO_TIMESTAMP";

export interface BookingConversionBucket {
  booked: number;
  notBooked: number;
  pending: number;
  bookedNoTimestamp: number;
  eligible: number;
  bookingRate: number | null;
}

interface DateRangeOptions {
  clientId?: string | null;
  from?: string | Date;
  to?: string | Date;
}

function clampInt(value: number | undefined, fallback: number, min: number, max: number): number {
  const n = Number.isFinite(value) ? Math.trunc(value as number) : fallback;
  return Math.min(max, Math.max(min, n));
}

function resolveRange(opts: DateRangeOptions): { from: Date; to: Date } {
  const to = opts.to ? new Date(opts.to) : new Date();
  const from = opts.from ? new Date(opts.from) : new Date(to.getTime() - 30 * DAY_MS);
  return { from, to };
}

export async function getAiDraftBookingConversionStats(
  opts: DateRangeOptions & { attributionWindowDays?: number; maturityBufferDays?: number } = {},
) {
  const scope = await resolveClientScope(opts.clientId ?? null);
  const { from, to } = resolveRange(opts);
  const attributionWindowDays = clampInt(opts.attributionWindowDays, 30, 1, 365);
  const maturityBufferDays = clampInt(opts.maturityBufferDays, 7, 1, 60);
  const maturityCutoff = new Date(to.getTime() - maturityBufferDays * DAY_MS);

  const rows = await prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 10000");
    return tx.$queryRaw<
      Array<{ channel: Channel; responseDisposition: Disposition; outcome: Outcome; count: number }>
    >(Prisma.sql`
      WITH draft_send_time AS (
        SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
        FROM "Message" m
        WHERE m."aiDraftId" IS NOT NULL
          AND m.direction = 'outbound'
        GROUP BY m."aiDraftId"
      ),
      analysed_drafts AS (
        SELECT
          l.id AS "leadId",
          d.channel,
          d."responseDisposition",
          dst."sentAt",
          l."appointmentBookedAt",
          l."ghlAppointmentId",
          l."calendlyInviteeUri",
          l."calendlyScheduledEventUri"
        FROM "AIDraft" d
        JOIN draft_send_time dst ON dst."draftId" = d.id
        JOIN "Lead" l ON l.id = d."leadId"
        LEFT JOIN "EmailCampaign" ec ON ec.id = l."emailCampaignId"
        WHERE l."clientId" IN (${Prisma.join(scope.clientIds)})
          AND d."responseDisposition" IS NOT NULL
          AND dst."sentAt" >= ${from}::timestamp
          AND dst."sentAt" < ${to}::timestamp
          AND (d.channel <> 'email' OR ec."responseMode" = 'AI_AUTO_SEND')
      ),
      draft_outcomes AS (
        SELECT
          ad."leadId",
          ad.channel,
          ad."responseDisposition",
          CASE
            WHEN ad."appointmentBookedAt" IS NOT NULL
              AND ad."appointmentBookedAt" <= ad."sentAt" THEN NULL
            WHEN ad."sentAt" > ${maturityCutoff}::timestamp THEN 3
            WHEN ad."appointmentBookedAt" > ad."sentAt"
              AND ad."appointmentBookedAt" <= LEAST(
                ${to}::timestamp,
                ad."sentAt" + (${attributionWindowDays} * interval '1 day')
              ) THEN 1
            WHEN ad."appointmentBookedAt" IS NULL
              AND (
                ad."ghlAppointmentId" IS NOT NULL
                OR ad."calendlyInviteeUri" IS NOT NULL
                OR ad."calendlyScheduledEventUri" IS NOT NULL
              ) THEN 2
            ELSE 4
          END AS "outcomeRank"
        FROM analysed_drafts ad
      ),
      lead_outcomes AS (
        SELECT
          dro."leadId",
          dro.channel,
          dro."responseDisposition",
          MIN(dro."outcomeRank") AS "outcomeRank"
        FROM draft_outcomes dro
        WHERE dro."outcomeRank" IS NOT NULL
        GROUP BY dro."leadId", dro.channel, dro."responseDisposition"
      )
      SELECT
        lo.channel,
        lo."responseDisposition",
        CASE lo."outcomeRank"
          WHEN 1 THEN 'BOOKED'
          WHEN 2 THEN 'BOOKED_NO_TIMESTAMP'
          WHEN 3 THEN 'PENDING'
          ELSE 'NOT_BOOKED'
        END AS outcome,
        COUNT(DISTINCT lo."leadId")::int AS count
      FROM lead_outcomes lo
      GROUP BY lo.channel, lo."responseDisposition", lo."outcomeRank"
    `);
  });

  return summarize(rows);
}

function emptyBucket(): BookingConversionBucket {
  return { booked: 0, notBooked: 0, pending: 0, bookedNoTimestamp: 0, eligible: 0, bookingRate: null };
}

function summarize(
  rows: Array<{ channel: Channel; responseDisposition: Disposition; outcome: Outcome; count: number }>,
) {
  const buckets: Record<string, BookingConversionBucket> = {};
  for (const channel of CHANNELS) {
    for (const disposition of DISPOSITIONS) buckets[`${channel}-${disposition}`] = emptyBucket();
  }
  for (const row of rows) {
    const bucket = buckets[`${row.channel}-${row.responseDisposition}`];
    if (!bucket) continue;
    if (row.outcome === "BOOKED") bucket.booked += row.count;
    else if (row.outcome === "NOT_BOOKED") bucket.notBooked += row.count;
    else if (row.outcome === "PENDING") bucket.pending += row.count;
    else bucket.bookedNoTimestamp += row.count;
  }
  for (const bucket of Object.values(buckets)) {
    bucket.eligible = bucket.booked + bucket.notBooked;
    bucket.bookingRate = bucket.eligible === 0 ? null : bucket.booked / bucket.eligible;
  }
  return { buckets };
}
