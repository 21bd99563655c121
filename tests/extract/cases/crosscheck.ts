// Lexing traps for the cross-check against the TypeScript parser (must stay valid TypeScript).
import { Prisma, PrismaClient } from "@prisma/client";

type Row = { id: string; n: number };
const prisma = new PrismaClient();
declare const a: number, b: number, c: number, s: string, ids: string[], flag: boolean;

/* a block comment with a `backtick`, a 'quote' and ${not} an interpolation */
const division = a / b / c;
const regex = /[/`'"]+\/\$\{x\}/g;
const afterParen = (a) / 2 / (b);
const afterKeyword = typeof /`/;
const inClass = /[\]/`]/.test(s);
const strings = ['`', "${x}", '\'', "\"", `\``, `\${y}`];
const nested = `a ${`b ${`c ${a}`}`} d`;
const objectInside = `x ${ { k: `${b}` }.k } y ${"}"} z ${'`'}`;
const arrowInside = `${ids.map((id) => `<${id}>`).join(", ")}`;
const generic: Array<Map<string, number>> = [];
const asserted = <number>(a as unknown);
const ratio = asserted / 2, other = [a][0] / 3;

export async function getStats(clientId?: string): Promise<Row[]> {
  const filter = clientId ? Prisma.sql`AND "clientId" = ${clientId}` : Prisma.empty;
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SET LOCAL statement_timeout = 10000`;
    return tx.$queryRaw<Row[]>`
      SELECT id, count(*)::int AS n FROM "Lead"
      WHERE id IN (${Prisma.join(ids)}) ${filter}
        AND note <> '\`' AND body LIKE '%\${x}%' -- ${s}
        AND ok = ${flag ? Prisma.sql`TRUE AND ${a} > 0` : Prisma.empty}
      GROUP BY 1
    `;
  });
}

export const helper = async (n: number): Promise<{ rows: Row[] }> => {
  const rows = await prisma.$queryRaw<Row[]>`SELECT ${n} AS n, ${`${n}`} AS s`;
  return { rows };
};

class Repo {
  constructor(private db: PrismaClient) {}
  async byIds(list: string[]): Promise<Row[]> {
    return this.db.$queryRaw`SELECT * FROM t WHERE id = ANY(${list}) AND x = ${a / b}`;
  }
}
