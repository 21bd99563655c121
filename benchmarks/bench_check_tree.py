"""Benchmarks of ``convguard check`` on a real-sized application tree and on one huge statement.

(a) Tree: a generated Next.js/Prisma application (600 checked files by default: React components,
    pages, hooks, API routes and server actions; about 110 raw-SQL call sites with ``Prisma.sql``
    fragments, ``Prisma.join``, conditional filters and ``SET LOCAL`` statements; Prisma
    migrations; a ``prisma/schema.prisma``; no convguard configuration), checked by the whole
    ``convguard check --format json`` process. Reported: the median wall time and the median CPU
    time of the child (user + sys, ``getrusage(RUSAGE_CHILDREN)``) over ``--runs`` runs, the
    interpreter's own start-up, and the share of the process spent importing modules
    (``python -X importtime``). Target: at most 1.0 s whole process.
(b) Linearity: one statement of 0.5, 1, 2 and 5 MB, as a ``.sql`` file and inside a
    ``prisma.$queryRaw`` template of a ``.ts`` file (each a whole ``convguard check`` process).
    Reported: seconds per size, seconds per MB, and the ratio of the largest to the smallest
    size's seconds per MB (1.0 = linear). Targets: 5 MB in at most 5 s; ratio at most 1.5.

Everything is generated deterministically (a fixed seed) into a temporary folder that is removed
afterwards. Child processes write bytecode to a private cache folder (``PYTHONPYCACHEPREFIX``), as
an installed package has it, and never into the source tree. The machine may be shared: the CPU
time of the child is the steadier figure, and the verdicts below are taken on it; the wall time
is printed beside it.

Usage::

    python benchmarks/bench_check_tree.py                     # both parts (about a minute)
    python benchmarks/bench_check_tree.py --runs 11 --json tree.json
    python benchmarks/bench_check_tree.py --skip-linear       # the tree only
    python benchmarks/bench_check_tree.py --sizes 0.25,0.5,1 --skip-tree
    python benchmarks/bench_check_tree.py --keep /tmp/app     # generate the tree there and keep it
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "fixtures" / "prisma" / "schema.prisma"

TREE_TARGET_S = 1.0
LINEAR_TARGET_S = 5.0          # for the largest size (5 MB)
LINEAR_RATIO_TARGET = 1.5      # seconds per MB at the largest size / at the smallest


# ---------------------------------------------------------------------------------------------
# The application tree


@dataclass(frozen=True)
class TreeShape:
    """How many files of each kind the generated tree holds (the total is what check reads)."""

    files: int = 600
    sql_sites: int = 110


_WORDS = ("lead", "draft", "campaign", "message", "client", "booking", "inbox", "setter",
          "report", "invoice", "calendar", "sequence", "template", "contact", "pipeline",
          "workspace", "member", "billing", "settings", "analytics", "reply", "channel", "task")
_UI = ("button", "card", "dialog", "dropdown-menu", "input", "label", "select", "sheet", "table",
       "tabs", "textarea", "toast", "tooltip", "badge", "avatar", "checkbox", "popover", "separator",
       "skeleton", "switch", "form", "command", "calendar", "scroll-area", "alert", "progress")


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_ ]", name))


def _camel(name: str) -> str:
    pascal = _pascal(name)
    return pascal[:1].lower() + pascal[1:]


def _component(rng: random.Random, name: str) -> str:
    """A React client component of 60-200 lines (state, effects, JSX, class names)."""
    pascal = _pascal(name)
    fields = rng.sample(_WORDS, 4)
    lines = [
        '"use client";', "",
        'import { useEffect, useMemo, useState } from "react";',
        'import { Button } from "@/components/ui/button";',
        'import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";',
        'import { cn } from "@/lib/utils";', "",
        f"export interface {pascal}Props {{",
        *(f"  {_camel(field)}{'?' if index % 2 else ''}: {rng.choice(['string', 'number', 'boolean', 'string[]'])};"
          for index, field in enumerate(fields)),
        "  className?: string;",
        "}", "",
        f"export function {pascal}({{ className, ...props }}: {pascal}Props) {{",
        "  const [open, setOpen] = useState(false);",
        "  const [query, setQuery] = useState(\"\");",
        "  const items = useMemo(() => Object.entries(props).filter(([, v]) => v != null), [props]);",
        "  useEffect(() => {",
        "    if (!open) return;",
        "    const timer = setTimeout(() => setQuery((q) => q.trim()), 250);",
        "    return () => clearTimeout(timer);",
        "  }, [open]);", "",
        "  return (",
        '    <Card className={cn("rounded-xl border p-4 shadow-sm", className)}>',
        "      <CardHeader>",
        f"        <CardTitle>{pascal.replace('', ' ').strip()}</CardTitle>",
        "      </CardHeader>",
        "      <CardContent>",
    ]
    for block in range(rng.randint(6, 30)):
        field = rng.choice(fields)
        lines += [
            f"        {{items.length > {block} && (",
            '          <div className="flex items-center gap-2 text-sm text-muted-foreground">',
            f"            <span className={{`font-medium ${{open ? \"text-primary\" : \"\"}}`}}>"
            f"{_pascal(field)}</span>",
            f"            <p>It's {field} #{block}: {{String(items[{block}]?.[1] ?? \"\")}}</p>",
            "            <ul>",
            "              {items.map(([key, value]) => (",
            '                <li key={key} className="truncate">{key}: {String(value)}</li>',
            "              ))}",
            "            </ul>",
            "          </div>",
            "        )}",
        ]
    lines += [
        '        <Button variant="outline" onClick={() => setOpen((o) => !o)}>',
        "          {open ? \"Hide\" : \"Show\"} details",
        "        </Button>",
        "      </CardContent>",
        "    </Card>",
        "  );",
        "}", "",
    ]
    return "\n".join(lines)


def _ui_primitive(name: str) -> str:
    pascal = _pascal(name)
    return "\n".join([
        'import * as React from "react";',
        'import { cn } from "@/lib/utils";', "",
        f"export interface {pascal}Props extends React.HTMLAttributes<HTMLDivElement> {{",
        '  variant?: "default" | "outline" | "ghost";',
        "}", "",
        f"export const {pascal} = React.forwardRef<HTMLDivElement, {pascal}Props>(",
        '  ({ className, variant = "default", ...props }, ref) => (',
        "    <div",
        "      ref={ref}",
        '      className={cn("inline-flex items-center rounded-md", variant === "outline" && "border", className)}',
        "      {...props}",
        "    />",
        "  ),",
        ");",
        f'{pascal}.displayName = "{pascal}";', "",
    ])


def _page(rng: random.Random, route: str) -> str:
    component = _pascal(rng.choice(_WORDS)) + "Panel"
    return "\n".join([
        'import { Suspense } from "react";',
        'import { notFound } from "next/navigation";',
        f'import {{ {component} }} from "@/components/{route.split("/")[0]}/{component}";',
        'import { getSession } from "@/lib/auth";', "",
        f"export const metadata = {{ title: \"{_pascal(route)} | Outreach\" }};", "",
        "export default async function Page({ params }: { params: Promise<{ id?: string }> }) {",
        "  const session = await getSession();",
        "  if (!session) notFound();",
        "  const { id } = await params;",
        "  return (",
        '    <main className="mx-auto max-w-6xl space-y-6 p-6">',
        f'      <h1 className="text-2xl font-semibold">{_pascal(route)}</h1>',
        "      <Suspense fallback={<p>Loading…</p>}>",
        f"        <{component} className=\"mt-4\" />",
        "      </Suspense>",
        "      {id ? <p className=\"text-xs\">Selected: {id}</p> : null}",
        "    </main>",
        "  );",
        "}", "",
    ])


def _library(rng: random.Random, name: str) -> str:
    """A plain TypeScript module: types, helpers, a Prisma client query (no raw SQL)."""
    model = rng.choice(("lead", "aIDraft", "message", "emailCampaign", "client"))
    lines = [
        'import { z } from "zod";',
        'import { prisma } from "@/lib/prisma";', "",
        f"export const {_camel(name)}Schema = z.object({{",
        "  id: z.string().cuid(),",
        "  limit: z.number().int().min(1).max(500).default(50),",
        "  cursor: z.string().optional(),",
        "});", "",
        f"export type {_pascal(name)}Input = z.infer<typeof {_camel(name)}Schema>;", "",
        "const DAY_MS = 24 * 60 * 60 * 1000;",
        "const pattern = /^[a-z0-9-]+$/i;", "",
    ]
    for index in range(rng.randint(3, 12)):
        lines += [
            f"export async function {_camel(name)}Step{index}(input: {_pascal(name)}Input) {{",
            f"  const parsed = {_camel(name)}Schema.parse(input);",
            "  if (!pattern.test(parsed.id)) throw new Error(`invalid id: ${parsed.id}`);",
            f"  const rows = await prisma.{model}.findMany({{",
            "    where: { id: parsed.id, createdAt: { gte: new Date(Date.now() - 30 * DAY_MS) } },",
            "    take: parsed.limit,",
            "    orderBy: { createdAt: \"desc\" },",
            "  });",
            f"  return rows.map((row) => ({{ ...row, label: `${{row.id}}-{index}` }}));",
            "}", "",
        ]
    return "\n".join(lines)


# Raw-SQL call sites: each is a function body; {n} makes every site's SQL distinct.
_SQL_SITES: tuple[str, ...] = (
    # 1. a conditional fragment, Prisma.join and a range
    '''export async function {name}(opts: {{ clientIds: string[]; from: Date; to: Date; channel?: string }}) {{
  const channelFilter = opts.channel
    ? Prisma.sql`AND d.channel = ${{opts.channel}}`
    : Prisma.empty;
  return prisma.$queryRaw<Array<{{ channel: string; n: number }}>>`
    SELECT d.channel, COUNT(*)::int AS n, {n} AS variant
    FROM "AIDraft" d
    JOIN "Lead" l ON l.id = d."leadId"
    WHERE l."clientId" IN (${{Prisma.join(opts.clientIds)}})
      AND d."createdAt" >= ${{opts.from}} AND d."createdAt" < ${{opts.to}}
      ${{channelFilter}}
    GROUP BY d.channel
    ORDER BY n DESC
  `;
}}
''',
    # 2. a transaction with SET LOCAL and a CTE
    '''export async function {name}(clientId: string, from: Date, to: Date) {{
  return prisma.$transaction(async (tx) => {{
    await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 10000");
    return tx.$queryRaw<Array<{{ leadId: string; firstSend: Date }}>>`
      WITH first_send AS (
        SELECT m."leadId", MIN(m."sentAt") AS "firstSend"
        FROM "Message" m
        WHERE m.direction = 'outbound' AND m."sentAt" >= ${{from}} AND m."sentAt" < ${{to}}
        GROUP BY m."leadId"
      )
      SELECT fs."leadId", fs."firstSend", {n} AS variant
      FROM first_send fs
      JOIN "Lead" l ON l.id = fs."leadId"
      WHERE l."clientId" = ${{clientId}}
      ORDER BY fs."firstSend" DESC
      LIMIT 500
    `;
  }});
}}
''',
    # 3. fragments assembled from a const and an inline conditional
    '''export async function {name}(clientId: string, campaignId?: string, onlyBooked = false) {{
  const base = Prisma.sql`l."clientId" = ${{clientId}}`;
  const rows = await prisma.$queryRaw<Array<{{ id: string; email: string | null }}>>(Prisma.sql`
    SELECT l.id, l.email, l."appointmentBookedAt", {n} AS variant
    FROM "Lead" l
    LEFT JOIN "EmailCampaign" ec ON ec.id = l."emailCampaignId"
    WHERE ${{base}}
      ${{campaignId ? Prisma.sql`AND ec.id = ${{campaignId}}` : Prisma.empty}}
      ${{onlyBooked ? Prisma.sql`AND l."appointmentBookedAt" IS NOT NULL` : Prisma.empty}}
    ORDER BY l."createdAt" DESC
    LIMIT 200
  `);
  return rows;
}}
''',
    # 4. an update through $executeRaw
    '''export async function {name}(draftIds: string[], status: string) {{
  const updated = await prisma.$executeRaw`
    UPDATE "AIDraft"
    SET status = ${{status}}, "updatedAt" = NOW()
    WHERE id IN (${{Prisma.join(draftIds)}}) AND status <> 'sent' AND {n} > 0
  `;
  return {{ updated }};
}}
''',
    # 5. an aggregate with FILTER and a date_trunc series
    '''export async function {name}(clientIds: string[], from: Date, to: Date) {{
  const rows = await prisma.$queryRaw<Array<{{ day: Date; outbound: number; inbound: number }}>>`
    SELECT date_trunc('day', m."sentAt") AS day,
           COUNT(*) FILTER (WHERE m.direction = 'outbound')::int AS outbound,
           COUNT(*) FILTER (WHERE m.direction = 'inbound')::int AS inbound,
           {n} AS variant
    FROM "Message" m
    JOIN "Lead" l ON l.id = m."leadId"
    WHERE l."clientId" IN (${{Prisma.join(clientIds)}})
      AND m."sentAt" >= ${{from}}
      AND m."sentAt" < ${{to}}
    GROUP BY 1
    ORDER BY 1
  `;
  return rows.map((row) => ({{ ...row, day: row.day.toISOString() }}));
}}
''',
)


def _action(rng: random.Random, name: str, sites: int, first: int) -> str:
    lines = [
        '"use server";', "",
        'import { Prisma } from "@prisma/client";',
        'import { prisma } from "@/lib/prisma";',
        'import { requireWorkspace } from "@/lib/workspace-access";', "",
        "const DAY_MS = 24 * 60 * 60 * 1000;", "",
        f"export async function {_camel(name)}Guard(clientId: string) {{",
        "  const scope = await requireWorkspace(clientId);",
        "  if (!scope.clientIds.length) throw new Error(\"no client in scope\");",
        "  return scope;",
        "}", "",
    ]
    for index in range(sites):
        number = first + index
        template = _SQL_SITES[number % len(_SQL_SITES)]
        lines.append(template.format(name=f"{_camel(name)}Query{index}", n=number))
    return "\n".join(lines)


def _migration(number: int) -> str:
    table = f"Feature{number}"
    return "\n".join([
        "-- CreateTable",
        f'CREATE TABLE "{table}" (',
        '    "id" TEXT NOT NULL,',
        '    "clientId" TEXT NOT NULL,',
        '    "name" VARCHAR(191),',
        '    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,',
        f'    CONSTRAINT "{table}_pkey" PRIMARY KEY ("id")',
        ");", "",
        "-- CreateIndex",
        f'CREATE INDEX "{table}_clientId_idx" ON "{table}"("clientId");', "",
        "-- AddForeignKey",
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_clientId_fkey" FOREIGN KEY ("clientId") '
        'REFERENCES "Client"("id") ON DELETE RESTRICT ON UPDATE CASCADE;', "",
    ])


def generate_tree(root: Path, shape: TreeShape = TreeShape(), seed: int = 20261205) -> dict[str, int]:
    """Write the application tree under ``root``; returns counts of what it holds.

    The same ``shape`` and ``seed`` always give the same bytes.
    """
    rng = random.Random(seed)
    counts = {"files": 0, "sql_files": 0, "action_files": 0, "sql_sites": 0}

    def write(relative: str, text: str) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if path.suffix in {".ts", ".tsx", ".js", ".mjs", ".sql"}:
            counts["files"] += 1

    write("package.json", json.dumps({"name": "outreach", "private": True, "scripts": {
        "dev": "next dev", "build": "prisma generate && next build"}}, indent=2))
    write("prisma/schema.prisma", SCHEMA.read_text(encoding="utf-8"))
    write("next.config.mjs", "/** @type {import('next').NextConfig} */\n"
                             "const nextConfig = { experimental: { serverActions: { bodySizeLimit: '2mb' } } };\n"
                             "export default nextConfig;\n")
    write("lib/prisma.ts", 'import { PrismaClient } from "@prisma/client";\n\n'
                           "const globalForPrisma = globalThis as unknown as { prisma?: PrismaClient };\n"
                           "export const prisma = globalForPrisma.prisma ?? new PrismaClient();\n"
                           'if (process.env.NODE_ENV !== "production") globalForPrisma.prisma = prisma;\n')
    write("lib/utils.ts", 'import { clsx, type ClassValue } from "clsx";\n'
                          'import { twMerge } from "tailwind-merge";\n\n'
                          "export function cn(...inputs: ClassValue[]) {\n  return twMerge(clsx(inputs));\n}\n")
    migrations = 12
    for number in range(migrations):
        write(f"prisma/migrations/2026{number + 1:02d}01000000_feature_{number}/migration.sql",
              _migration(number))
        counts["sql_files"] += 1
    for name in _UI:
        write(f"components/ui/{name}.tsx", _ui_primitive(name))

    # server actions holding the raw SQL: 2-3 call sites per file
    site = 0
    action = 0
    while site < shape.sql_sites:
        sites = min(rng.choice((2, 2, 3)), shape.sql_sites - site)
        name = f"{_WORDS[action % len(_WORDS)]}-{action // len(_WORDS) or ''}analytics".replace("--", "-")
        folder = "actions" if action % 4 else f"app/api/{_WORDS[action % len(_WORDS)]}/{action}"
        filename = f"{folder}/{name}-actions.ts" if action % 4 else f"{folder}/route.ts"
        write(filename, _action(rng, f"{name}-{action}", sites, site))
        site += sites
        action += 1
    counts["action_files"] = action
    counts["sql_sites"] = site

    # the rest: components, pages, layouts, hooks and plain library modules, until the count
    number = 0
    while counts["files"] < shape.files:
        word = _WORDS[number % len(_WORDS)]
        kind = number % 10
        if kind < 5:
            write(f"components/{word}/{_pascal(word)}Panel{number}.tsx",
                  _component(rng, f"{word}-panel-{number}"))
        elif kind < 7:
            write(f"app/(dashboard)/{word}/{number}/page.tsx", _page(rng, f"{word}/{number}"))
        elif kind == 7:
            write(f"hooks/use-{word}-{number}.ts", _library(rng, f"use-{word}-{number}"))
        else:
            write(f"lib/{word}/{word}-{number}.ts", _library(rng, f"{word}-{number}"))
        number += 1
    return counts


# ---------------------------------------------------------------------------------------------
# One huge statement


def big_statement(size: int) -> str:
    """One SELECT of about ``size`` characters: a report over a long OR of filter groups, an IN
    list and a CASE, the shape generated analytics SQL takes (every part grows with the size)."""
    head = ('SELECT l.id, l."clientId",\n  CASE\n')
    parts: list[str] = [head]
    total = len(head)
    groups: list[str] = []
    whens: list[str] = []
    ids: list[str] = []
    number = 0
    budget = size - 400
    while total < budget:
        groups.append(f'(l."clientId" = \'client-{number:07d}\' AND l."createdAt" >= '
                      f"'2026-01-{number % 28 + 1:02d}' AND l.email LIKE '%@{number % 97}.example')")
        whens.append(f"    WHEN l.\"emailCampaignId\" = 'campaign-{number:07d}' THEN {number}\n")
        ids.append(f"'lead-{number:07d}'")
        total += len(groups[-1]) + len(whens[-1]) + len(ids[-1]) + 8
        number += 1
    parts += whens
    parts.append("    ELSE 0\n  END AS bucket\nFROM \"Lead\" l\nWHERE l.id NOT IN (")
    parts.append(", ".join(ids))
    parts.append(")\n  AND (\n    ")
    parts.append("\n    OR ".join(groups))
    parts.append("\n  )\n")
    return "".join(parts)


def big_sql_file(size: int) -> str:
    return big_statement(size) + ";\n"


def big_ts_file(size: int) -> str:
    statement = big_statement(size - 200)
    # a parameter in every filter group (code that builds a big filter binds its values)
    statement = re.sub(r"'client-(\d+)'", r"${clientIds[\1]}", statement)
    statement = statement.replace("SELECT l.id,", "SELECT l.id, ${label} AS label,", 1)
    statement = statement.replace('FROM "Lead" l\n',
                                  'FROM "Lead" l\nJOIN "Client" c ON c.id = l."clientId" '
                                  "AND c.id = ${clientId}\n", 1)
    return ('import { prisma } from "@/lib/prisma";\n\n'
            "export async function hugeReport(clientId: string, label: string) {\n"
            "  return prisma.$queryRaw`\n" + statement + "  `;\n}\n")


# ---------------------------------------------------------------------------------------------
# Running and timing child processes


def _child_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "convguard-bench-pycache")
    source = str(ROOT / "src")
    env["PYTHONPATH"] = source + os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") \
        else source
    return env


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    returncode: int
    stdout: bytes
    stderr: bytes


def run_child(command: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Run one child; its wall time and CPU time (user + sys, from RUSAGE_CHILDREN deltas)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, completed.returncode, completed.stdout, completed.stderr)


def _check_command(*paths: str) -> list[str]:
    return [sys.executable, "-m", "convguard", "check", "--format", "json", *paths]


def _checked(run: Run, what: str) -> Run:
    if run.returncode not in (0, 1):
        raise SystemExit(f"convguard check {what} failed (exit {run.returncode}):\n"
                         f"{run.stderr.decode(errors='replace')[-2000:]}")
    return run


def _import_seconds(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds the process spends importing modules (``-X importtime``: the cumulative time of
    every top-level import, start-up imports included)."""
    run = run_child([command[0], "-X", "importtime", *command[1:]], env, cwd)
    total_us = 0
    for line in run.stderr.decode(errors="replace").splitlines():
        match = re.match(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|( *)\S", line)
        if match and len(match.group(2)) == 1:  # one space: a top-level import
            total_us += int(match.group(1))
    return total_us / 1e6


def bench_tree(runs: int, shape: TreeShape, keep: Path | None) -> dict[str, object]:
    env = _child_environment()
    folder = keep or Path(tempfile.mkdtemp(prefix="convguard-bench-tree-"))
    try:
        if keep is not None and folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        counts = generate_tree(folder, shape)
        command = _check_command(".")
        first = _checked(run_child(command, env, folder), "on the tree")  # warms the bytecode
        report = json.loads(first.stdout or b"[]")
        baseline = [sys.executable, "-c", "pass"]
        walls, cpus, base_walls, base_cpus = [], [], [], []
        for _ in range(runs):
            base = run_child(baseline, env, folder)
            base_walls.append(base.wall_s)
            base_cpus.append(base.cpu_s)
            run = _checked(run_child(command, env, folder), "on the tree")
            walls.append(run.wall_s)
            cpus.append(run.cpu_s)
        imports = statistics.median(_import_seconds(command, env, folder) for _ in range(3))
        with_importtime = statistics.median(
            run_child([sys.executable, "-X", "importtime", *command[1:]], env, folder).wall_s
            for _ in range(3))
        bytes_read = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    codes: dict[str, int] = {}
    for finding in report:
        codes[finding["code"]] = codes.get(finding["code"], 0) + 1
    return {
        "files": counts["files"], "sql_files": counts["sql_files"],
        "action_files": counts["action_files"], "sql_sites": counts["sql_sites"],
        "bytes": bytes_read, "runs": runs,
        "wall_s": wall, "cpu_s": cpu,
        "wall_s_min": min(walls), "cpu_s_min": min(cpus),
        "python_startup_wall_s": statistics.median(base_walls),
        "python_startup_cpu_s": statistics.median(base_cpus),
        "import_s": imports, "import_share": imports / with_importtime if with_importtime else None,
        "findings": codes,
        "target_s": TREE_TARGET_S, "met": cpu <= TREE_TARGET_S,
    }


def bench_linear(sizes_mb: list[float], runs: int) -> dict[str, object]:
    env = _child_environment()
    results: dict[str, object] = {}
    folder = Path(tempfile.mkdtemp(prefix="convguard-bench-linear-"))
    try:
        for kind, make, name in (("sql", big_sql_file, "huge.sql"), ("ts", big_ts_file, "huge.ts")):
            rows = []
            for size_mb in sizes_mb:
                path = folder / name
                path.write_text(make(int(size_mb * 1_000_000)), encoding="utf-8")
                actual_mb = path.stat().st_size / 1_000_000
                timings = [_checked(run_child(_check_command(name), env, folder), name)
                           for _ in range(runs)]
                wall = statistics.median(run.wall_s for run in timings)
                cpu = statistics.median(run.cpu_s for run in timings)
                rows.append({"mb": round(actual_mb, 3), "wall_s": wall, "cpu_s": cpu,
                             "cpu_s_per_mb": cpu / actual_mb, "wall_s_per_mb": wall / actual_mb,
                             "exit": timings[0].returncode})
            ratio = rows[-1]["cpu_s_per_mb"] / rows[0]["cpu_s_per_mb"]
            largest = rows[-1]
            results[kind] = {
                "sizes": rows, "ratio": ratio,
                "largest_cpu_s": largest["cpu_s"], "largest_mb": largest["mb"],
                "met_time": largest["cpu_s"] <= LINEAR_TARGET_S,
                "met_ratio": ratio <= LINEAR_RATIO_TARGET,
            }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return results


# ---------------------------------------------------------------------------------------------
# Output


def _verdict(met: bool) -> str:
    return "MET" if met else "NOT MET"


def _print_tree(tree: dict[str, object]) -> None:
    print(f"(a) convguard check on a generated Next.js/Prisma tree: {tree['files']} files "
          f"({tree['sql_files']} .sql, {tree['sql_sites']} raw-SQL call sites in "
          f"{tree['action_files']} action files, {tree['bytes'] / 1e6:.1f} MB), "
          f"median of {tree['runs']}:")
    print(f"    whole process: {tree['cpu_s']:.3f} s CPU (user+sys), {tree['wall_s']:.3f} s wall "
          f"(fastest {tree['cpu_s_min']:.3f} s CPU / {tree['wall_s_min']:.3f} s wall)")
    print(f"    python start-up alone: {tree['python_startup_cpu_s']:.3f} s CPU, "
          f"{tree['python_startup_wall_s']:.3f} s wall; imports (-X importtime): "
          f"{tree['import_s']:.3f} s, {tree['import_share']:.0%} of the process")
    findings = ", ".join(f"{code} {count}" for code, count in sorted(tree["findings"].items()))
    print(f"    findings: {findings or 'none'}")
    print(f"    target: at most {TREE_TARGET_S:.1f} s whole process -> "
          f"{_verdict(bool(tree['met']))} (on CPU time; wall time on a quiet machine is about "
          "the same, on a busy one larger)")


def _print_linear(linear: dict[str, object]) -> None:
    print("(b) one statement, whole convguard check process (CPU time; wall in brackets):")
    for kind, data in linear.items():
        cells = ", ".join(f"{row['mb']:.2f} MB {row['cpu_s']:.2f} s ({row['wall_s']:.2f} s)"
                          for row in data["sizes"])
        print(f"    .{kind}: {cells}")
        per_mb = ", ".join(f"{row['cpu_s_per_mb']:.2f}" for row in data["sizes"])
        print(f"         s/MB: {per_mb}; largest/smallest s/MB ratio {data['ratio']:.2f}")
        print(f"         target: {data['largest_mb']:.1f} MB in at most {LINEAR_TARGET_S:.0f} s -> "
              f"{_verdict(bool(data['met_time']))}; linear (ratio at most "
              f"{LINEAR_RATIO_TARGET}) -> {_verdict(bool(data['met_ratio']))}")


def _sqlglot_build() -> str:
    """sqlglot's version and whether its parser is compiled (``convguard[fast]``: sqlglotc)."""
    code = ("import sqlglot, sqlglot.parser; print(sqlglot.__version__, "
            "'compiled' if sqlglot.parser.__file__.endswith(('.so', '.pyd')) else 'pure Python')")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=_child_environment(), check=False)
    return completed.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per tree timing (median)")
    parser.add_argument("--linear-runs", type=int, default=1,
                        help="runs per statement size (median)")
    parser.add_argument("--files", type=int, default=TreeShape.files)
    parser.add_argument("--sql-sites", type=int, default=TreeShape.sql_sites)
    parser.add_argument("--sizes", default="0.5,1,2,5", help="statement sizes in MB")
    parser.add_argument("--skip-tree", action="store_true")
    parser.add_argument("--skip-linear", action="store_true")
    parser.add_argument("--keep", type=Path, help="generate the tree in this folder and keep it")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    build = _sqlglot_build()
    output: dict[str, object] = {"python": sys.version.split()[0], "cpus": os.cpu_count(),
                                 "sqlglot": build, "load_average": os.getloadavg()}
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs (figures on a busy machine are larger); sqlglot {build}")
    if not args.skip_tree:
        tree = bench_tree(args.runs, TreeShape(args.files, args.sql_sites), args.keep)
        output["tree"] = tree
        _print_tree(tree)
    if not args.skip_linear:
        sizes = [float(size) for size in args.sizes.split(",") if size.strip()]
        linear = bench_linear(sizes, args.linear_runs)
        output["linear"] = linear
        _print_linear(linear)
    output["load_average_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
    met = all(bool(part.get("met", True)) for part in [output.get("tree", {})]) and all(
        bool(data["met_time"]) and bool(data["met_ratio"])
        for data in output.get("linear", {}).values())
    print(f"all targets: {_verdict(met)}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
