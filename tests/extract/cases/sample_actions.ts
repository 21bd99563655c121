"use server";
import { Prisma } from "@prisma/client";
import { prisma } from "@/lib/prisma";

type Row = { channel: string; count: bigint };

export async function getAiDraftResponseOutcomeStats(opts: { clientId?: string; from: Date; to: Date }): Promise<Array<Row>> {
  const scope = await resolveScope(opts.clientId);
  const filter = opts.clientId ? Prisma.sql`AND l."clientId" = ${opts.clientId}` : Prisma.empty;
  return prisma.$queryRaw<Row[]>`
    SELECT d.channel, count(*)::int AS count
    FROM "AIDraft" d JOIN "Lead" l ON l.id = d."leadId"
    WHERE l."clientId" IN (${Prisma.join(scope.clientIds)})
      AND d."createdAt" >= ${opts.from} AND d."createdAt" < ${opts.to}
      ${filter}
    GROUP BY 1
  `;
}

export const getAiDraftBookingConversionStats = async ({ from, to, attributionWindowDays = 30 }: Opts): Promise<Stats> => {
  const ratio = total / count / 2;
  const re = /[`'"/]+\/x/g;
  // convguard-ignore CG101, CG102
  const rows = await prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 10000");
    return tx.$queryRaw<Row[]>`SELECT ${from}::timestamp, '${to} days' /* not a comment */ -- x
      FROM t ${attributionWindowDays > 3 ? Prisma.sql`WHERE a = ${attributionWindowDays}` : Prisma.empty}`;
  }, { timeout: 20000 });
  return rows.map((r) => ({ ...r, label: `${r.channel}-${`${r.count}`}` }));
};

class Repo {
  constructor(private db: PrismaClient) {}
  async byId(id: string): Promise<{ id: string } | null> {
    const q = this.db.$queryRawUnsafe(`SELECT * FROM x WHERE id = '${id}'`);
    return Prisma.raw("x" + id), q;
  }
}
