"""Tests of ``convguard.extract._ts_exports``: what calling a module's exported function, default
export or member of an exported object or class is (SQL, a value or unknown)."""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

import pytest

from convguard._errors import ExtractionError
from convguard.extract import _ts_exports
from convguard.extract._ts_modules import imported_kind
from convguard.extract._typescript import extract_typescript, module_kind

MEMBERS = """
import { Prisma } from "@prisma/client";
function named() { return Prisma.sql`TRUE`; }
const alias = { more: () => Prisma.sql`FALSE` };
export const filters = {
  arrow: () => Prisma.sql`a = 1`,
  "quoted": async (x: number) => { return Prisma.sql`b = ${x}`; },
  method() { return Prisma.sql`c = 1`; },
  viaName: named,
  made: make(() => Prisma.sql`d = 1`),
  value: (d: Date) => d.toISOString(),
  nested: { deep: () => Prisma.sql`e = 1` },
} as const;
export const again = alias;
export class F {
  static distinct(): Prisma.Sql { return Prisma.sql`DISTINCT id`; }
  static async day(date: Date) { return date.getTime(); }
  helper() { const inner = { distinct: () => 1 }; return inner; }
}
"""


@pytest.mark.parametrize(("source", "name", "kind"), [
    (MEMBERS, "filters.arrow", "sql"),
    (MEMBERS, "filters.quoted", "sql"),  # a quoted key, a block-bodied async arrow
    (MEMBERS, "filters.method", "sql"),  # method shorthand
    (MEMBERS, "filters.viaName", "sql"),  # a property naming a function of the module
    (MEMBERS, "filters.made", "value"),  # a call's result: not the callback it is given
    (MEMBERS, "filters.value", "value"),
    (MEMBERS, "filters.missing", None),
    (MEMBERS, "again.more", "sql"),  # a const naming another object
    (MEMBERS, "F.distinct", "sql"),  # a static method
    (MEMBERS, "F.day", "value"),
    (MEMBERS, "F.helper", "value"),
    (MEMBERS, "nowhere.arrow", None),
    ("export default function () { return Prisma.sql`TRUE`; }", "default", "sql"),
    ("export default async function named(a: string) { return a; }", "default", "value"),
    ("export default () => Prisma.sql`TRUE`;", "default", "sql"),
    ("export default (x) => x.id;", "default", "value"),
    ("export default x => Prisma.sql`x = ${x}`;", "default", "sql"),
    ("const f = () => Prisma.sql`TRUE`;\nexport default f;", "default", "sql"),
    ("const f = () => Prisma.sql`TRUE`;\nexport { f as default };", "default", "sql"),
    ("export default Prisma.sql`TRUE`;", "default", "sql"),
    ("export default { on() { return Prisma.sql`TRUE`; } };", "default.on", "sql"),
    ("export default class { static on() { return Prisma.sql`TRUE`; } }", "default.on", "sql"),
    ("export default class { static on() { return 1; } }", "default", None),
    ("export const f = 1;", "default", None),
])
def test_exported_kind(source: str, name: str, kind: str | None) -> None:
    assert module_kind("m.ts", source, name, ()) == kind


def test_doctests() -> None:
    assert doctest.testmod(_ts_exports).failed == 0


def test_names_naming_each_other_end(tmp_path: Path) -> None:
    # objects, consts and default exports naming one another in a cycle, or in a chain far past
    # the bound: unknown (never a RecursionError)
    cycle = ("const a = { f: b };\nconst b = { f: a };\nconst c = d;\nconst d = c;\n"
             "export default c;\n")
    assert module_kind("m.ts", cycle, "a.f", ()) == "value"
    assert module_kind("m.ts", cycle, "default", ()) == "value"
    assert module_kind("m.ts", cycle, "default.f", ()) is None
    count = sys.getrecursionlimit() * 2
    chain = "".join(f"const o{index} = o{index + 1};\n" for index in range(count))
    chain += f"const o{count} = {{ f: () => Prisma.sql`TRUE` }};\nexport default o0;\n"
    assert module_kind("m.ts", chain, "o0.f", ()) is None
    assert module_kind("m.ts", chain, f"o{count - 2}.f", ()) == "sql"
    assert module_kind("m.ts", chain, "default", ()) == "value"


def test_calls_of_imported_members_splice_as_their_module_says(tmp_path: Path) -> None:
    (tmp_path / "lib.ts").write_text(MEMBERS, encoding="utf-8")
    (tmp_path / "d.ts").write_text("export default () => Prisma.sql`TRUE`;\n", encoding="utf-8")
    importer = str(tmp_path / "q.ts")
    assert imported_kind(importer, "./lib", "F.distinct", module_kind) == "sql"
    source = ('import { F, filters } from "./lib";\nimport d from "./d";\n'
              'import { pkg } from "some-package";\n'
              "export const q = (at: Date) => prisma.$queryRaw`SELECT count(${F.distinct()})"
              " FROM t WHERE ${filters.arrow()} AND ${d()} AND x = ${F.day(at)}"
              " AND y = ${pkg.value()} AND ${pkg.cond()}`;\n")
    (query,) = extract_typescript(importer, source).queries
    # SQL members are opaque, value members values; a package's member is a value where `$n`
    # parses and does not stand as a whole condition, else opaque
    assert [p.expression for p in query.placeholders] == ["F.day(at)", "pkg.value()"]



def test_same_file_object_methods_calling_themselves_end(tmp_path: Path) -> None:
    # a method calling itself through a helper is opaque where it recurses; a chain of objects'
    # methods far past the nesting bound is the extractor's clear error, never a RecursionError
    source = ("const o = { f: (a: string) => g(a) };\n"
              "function g(a: string) { return a ? o.f(a) : Prisma.sql`TRUE`; }\n"
              "export const q = () => prisma.$queryRaw`SELECT 1 FROM t WHERE ${o.f('x')}`;\n")
    queries = extract_typescript(str(tmp_path / "q.ts"), source).queries
    assert [(q.sql, [o.expression for o in q.opaque], q.placeholders) for q in queries] == [
        ("SELECT 1 FROM t WHERE TRUE", ["o.f(a)"], ()), ("SELECT 1 FROM t WHERE TRUE", [], ())]
    count = sys.getrecursionlimit()
    chain = f"const o{count} = {{ f: () => Prisma.sql`TRUE` }};\n" + "".join(
        f"const o{index} = {{ f() {{ return Prisma.sql`a AND ${{o{index + 1}.f()}}`; }} }};\n"
        for index in reversed(range(count)))
    chain += "export const q = () => prisma.$queryRaw`SELECT 1 FROM t WHERE ${o0.f()}`;\n"
    with pytest.raises(ExtractionError, match="nested more than"):
        extract_typescript(str(tmp_path / "q.ts"), chain)
