// JSX traps for the cross-check against the TypeScript parser (must stay valid TSX).
import { Prisma, PrismaClient } from "@prisma/client";

const prisma = new PrismaClient();
declare const rows: { id: string; name: string }[];

const identity = <T,>(value: T): T => value;
const compare = rows.length < 3 && rows.length > 1;

export function Page({ title }: { title: string }) {
  const load = async (id: string) => prisma.$queryRaw`SELECT * FROM t WHERE id = ${id}`;
  return (
    <div className="it's" data-x='say "hi"'>
      <h1>{title}'s page — don't "quote" me `ever`</h1>
      {rows.map((row) => (
        <p key={row.id} title={`${row.name}'s`}>
          {row.name} isn't {`${row.id}`} / {identity(1) / 2}
        </p>
      ))}
      <>fragment's text</>
      <input value={`${load}`} disabled />
    </div>
  );
}

export async function stats(clientId: string) {
  return prisma.$queryRaw`SELECT ${clientId} AS c, ${Prisma.sql`${1}`} AS d`;
}
