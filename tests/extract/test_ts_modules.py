"""Tests of ``convguard.extract._ts_modules``: finding an imported module and telling whether
its exported function (or ``const``) is SQL or a value."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest

from convguard.extract import _ts_modules
from convguard.extract._ts_modules import imported_kind, resolve_module
from convguard.extract._typescript import extract_typescript, module_kind

MODULE = """
import { Prisma } from "@prisma/client";
import { other } from "./cycle";
export function scope(id: string) {
  if (!id) return Prisma.empty;
  return Prisma.sql`c."workspaceId" = ${id}`;
}
export const order = (desc: boolean) => (desc ? Prisma.sql`c.id DESC` : Prisma.sql`c.id`);
export function passThrough(where: Prisma.Sql) { return where; }
export function dayKey(date: Date): string { return date.toISOString().slice(0, 10); }
export const PAGE = 50;
export const active = Prisma.sql`c."deletedAt" IS NULL`;
export function viaOther() { return other(); }
"""
CYCLE = """
import { viaOther } from "./helpers";
export function other() { return viaOther(); }
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "src" / "lib").mkdir(parents=True)
    (tmp_path / "src" / "app").mkdir(parents=True)
    (tmp_path / "src" / "lib" / "helpers.ts").write_text(MODULE, encoding="utf-8")
    (tmp_path / "src" / "lib" / "cycle.ts").write_text(CYCLE, encoding="utf-8")
    (tmp_path / "src" / "lib" / "index.ts").write_text("export const x = 1;\n", encoding="utf-8")
    return tmp_path


def test_doctests() -> None:
    assert doctest.testmod(_ts_modules).failed == 0


@pytest.mark.parametrize(("name", "kind"), [
    ("scope", "sql"),  # every return a fragment (Prisma.empty included)
    ("order", "sql"),  # an arrow returning a ternary of fragments
    ("passThrough", "sql"),  # returns its Prisma.Sql parameter
    ("active", "sql"),  # an exported const fragment
    ("dayKey", "value"),
    ("PAGE", "value"),
    ("viaOther", "value"),  # a cycle of imports: `other` unknown, its call a value where one parses
    ("missing", None),
])
def test_exported_kind(tree: Path, name: str, kind: str | None) -> None:
    importer = str(tree / "src" / "app" / "page.ts")
    assert imported_kind(importer, "../lib/helpers", name, module_kind) == kind


def test_modules_importing_each_other_are_followed_name_by_name(tmp_path: Path) -> None:
    # b.f returns a.g(), which returns b.h(): b is being read when a asks for h, yet h is no
    # recursion; it was unknown, f and g became values, and that answer was kept for the
    # process (a file checked later that calls h saw a value, a false CG106)
    (tmp_path / "b.ts").write_text(
        'import { g } from "./a";\n'
        "export function h() { return Prisma.sql`DISTINCT m.id`; }\n"
        "export function f() { return g(); }\n", encoding="utf-8")
    (tmp_path / "a.ts").write_text(
        'import { h } from "./b";\nexport function g() { return h(); }\n', encoding="utf-8")
    importer = str(tmp_path / "c.ts")
    kinds = [imported_kind(importer, "./b", name, module_kind) for name in ("f", "h")]
    assert kinds == ["sql", "sql"]
    assert imported_kind(importer, "./a", "g", module_kind) == "sql"


def test_relative_specifiers_resolve_like_typescript(tree: Path) -> None:
    importer = str(tree / "src" / "app" / "page.ts")
    helpers = str((tree / "src" / "lib" / "helpers.ts").resolve())
    assert resolve_module(importer, "../lib/helpers") == helpers
    assert resolve_module(importer, "../lib/helpers.js") == helpers  # ESM style, a .ts file
    assert resolve_module(importer, "../lib") == str((tree / "src" / "lib" / "index.ts").resolve())
    assert resolve_module(importer, "../lib/nothing") is None
    assert resolve_module(importer, "date-fns") is None  # packages are never read


def test_tsconfig_paths_then_the_nearest_ancestor_for_at_aliases(tree: Path) -> None:
    importer = str(tree / "src" / "app" / "page.ts")
    helpers = str((tree / "src" / "lib" / "helpers.ts").resolve())
    # no tsconfig: `@/lib/helpers` is the nearest ancestor's `lib/helpers` or `src/lib/helpers`
    assert resolve_module(importer, "@/lib/helpers") == helpers
    assert resolve_module(importer, "~/lib/helpers") == helpers
    (tree / "tsconfig.json").write_text(
        '{\n  // Next.js\n  "compilerOptions": {"baseUrl": ".", "paths": {"#sql/*": '
        '["./src/lib/*"],},},\n}\n', encoding="utf-8")
    _ts_modules._nearest_config.cache_clear()
    _ts_modules._configured_targets.cache_clear()
    assert resolve_module(importer, "#sql/helpers") == helpers
    (tree / "tsconfig.json").write_text("{ not json", encoding="utf-8")
    _ts_modules._nearest_config.cache_clear()
    _ts_modules._configured_targets.cache_clear()
    assert resolve_module(importer, "#sql/helpers") is None  # unreadable config: best effort


EXTENDS_CASES = {
    # name: ({config path: text}, specifier resolving to src/lib/helpers.ts, or None)
    "relative base": ({"tsconfig.json": '{"extends": "./config/base"}',
                       "config/base.json": '{"compilerOptions": {"baseUrl": "..",'
                                           ' "paths": {"#sql/*": ["src/lib/*"]}}}'},
                      "#sql/helpers"),
    "paths relative to the base without baseUrl": (
        {"tsconfig.json": '{"extends": "./config/base.json"}',
         "config/base.json": '{"compilerOptions": {"paths": {"#sql/*": ["../src/lib/*"]}}}'},
        "#sql/helpers"),
    "child paths win, base baseUrl used": (
        {"tsconfig.json": '{"extends": "./config/base", "compilerOptions":'
                          ' {"paths": {"#own/*": ["src/lib/*"]}}}',
         "config/base.json": '{"compilerOptions": {"baseUrl": "..",'
                             ' "paths": {"#sql/*": ["src/lib/*"]}}}'},
        "#own/helpers"),
    "chain of two": ({"tsconfig.json": '{"extends": "./a.json"}',
                      "a.json": '{"extends": "./config/b"}',
                      "config/b.json": '{"compilerOptions": {"baseUrl": "../src",'
                                       ' "paths": {"#sql/*": ["lib/*"]}}}'},
                     "#sql/helpers"),
    "array: the last entry wins": (
        {"tsconfig.json": '{"extends": ["./a.json", "./b.json"]}',
         "a.json": '{"compilerOptions": {"paths": {"#sql/*": ["nowhere/*"]}}}',
         "b.json": '{"compilerOptions": {"paths": {"#sql/*": ["./src/lib/*"]}}}'},
        "#sql/helpers"),
    "a cycle": ({"tsconfig.json": '{"extends": "./a.json"}',
                 "a.json": '{"extends": "./tsconfig.json"}'}, None),
    "a package's config is not read": ({"tsconfig.json": '{"extends": "@tsconfig/next"}'}, None),
    "unreadable base": ({"tsconfig.json": '{"extends": "./a.json"}', "a.json": "{ nope"}, None),
}


@pytest.mark.parametrize("case", list(EXTENDS_CASES))
def test_tsconfig_extends_is_followed_for_paths(tree: Path, case: str) -> None:
    files, specifier = EXTENDS_CASES[case]
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text, encoding="utf-8")
    _ts_modules._nearest_config.cache_clear()
    _ts_modules._configured_targets.cache_clear()
    importer = str(tree / "src" / "app" / "page.ts")
    helpers = str((tree / "src" / "lib" / "helpers.ts").resolve())
    assert resolve_module(importer, specifier or "#sql/helpers") == (helpers if specifier else None)


def test_a_long_extends_chain_stops_at_the_bound(tree: Path) -> None:
    count = _ts_modules._MAX_EXTENDS * 20
    (tree / "tsconfig.json").write_text('{"extends": "./c0.json"}', encoding="utf-8")
    for index in range(count):
        (tree / f"c{index}.json").write_text(f'{{"extends": "./c{index + 1}.json"}}',
                                             encoding="utf-8")
    (tree / f"c{count}.json").write_text(
        '{"compilerOptions": {"paths": {"#sql/*": ["./src/lib/*"]}}}', encoding="utf-8")
    _ts_modules._nearest_config.cache_clear()
    _ts_modules._configured_targets.cache_clear()
    assert resolve_module(str(tree / "src" / "app" / "page.ts"), "#sql/helpers") is None


def test_an_edited_module_is_read_again(tree: Path) -> None:
    importer = str(tree / "src" / "app" / "page.ts")
    module = tree / "src" / "lib" / "helpers.ts"
    assert imported_kind(importer, "../lib/helpers", "dayKey", module_kind) == "value"
    module.write_text("export function dayKey() { return Prisma.sql`1`; }\n", encoding="utf-8")
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert imported_kind(importer, "../lib/helpers", "dayKey", module_kind) == "sql"


def test_an_unreadable_module_is_unknown(tree: Path) -> None:
    broken = tree / "src" / "lib" / "broken.ts"
    broken.write_text("export function f() { return `unterminated", encoding="utf-8")
    assert imported_kind(str(tree / "src" / "app" / "page.ts"), "../lib/broken", "f", module_kind) is None


def test_splicing_imported_calls(tree: Path) -> None:
    page = tree / "src" / "app" / "page.ts"
    source = """
import { scope, dayKey, PAGE, active } from "@/lib/helpers";
import * as h from "../lib/helpers";
import { unknown } from "../lib/nothing";
export async function f(id: string, d: Date) {
  return prisma.$queryRaw`SELECT c.id FROM "Contact" c WHERE ${scope(id)} AND ${h.order(true)} IS NOT NULL
    AND ${active} AND c.day = ${dayKey(d)}::date AND c.n < ${PAGE} AND c.m = ${unknown(d)} AND ${unknown(id)}`;
}
"""
    page.write_text(source, encoding="utf-8")
    (query,) = extract_typescript(str(page), source).queries
    assert [o.expression for o in query.opaque] == ["scope(id)", "h.order(true)", "active",
                                                    "unknown(id)"]
    assert [p.expression for p in query.placeholders] == ["dayKey(d)", "PAGE", "unknown(d)"]
    assert query.unverified_syntax is None


def test_mapping_with_an_imported_function(tree: Path) -> None:
    # `items.map(order)` with `order` returning Prisma.sql: SQL elements convguard cannot see (was
    # one list parameter, `VALUES $1`, a false CG001); a function returning values stays a list
    page = tree / "src" / "app" / "page.ts"
    source = """
import { order, dayKey } from "@/lib/helpers";
export async function f(flags: boolean[], days: Date[]) {
  return prisma.$queryRaw`SELECT c.id FROM "Contact" c WHERE c.day IN (${Prisma.join(days.map(dayKey))})
    ORDER BY ${Prisma.join(flags.map(order))}`;
}
"""
    page.write_text(source, encoding="utf-8")
    (query,) = extract_typescript(str(page), source).queries
    assert [p.expression for p in query.placeholders] == ["Prisma.join(days.map(dayKey))"]
    assert [o.expression for o in query.opaque] == ["flags.map(order)"] * 2
    assert query.unverified_syntax is None


def test_a_long_chain_of_imports_is_unknown_past_the_bound(tmp_path: Path) -> None:
    # each module's function returns the next one's call: 200 modules deep was a RecursionError
    # (an internal error of convguard check); past _MAX_DEPTH nested modules the name is unknown
    count = 200
    for index in range(count - 1):
        (tmp_path / f"m{index}.ts").write_text(
            f'import {{ f{index + 1} }} from "./m{index + 1}";\n'
            f"export function f{index}() {{ return f{index + 1}(); }}\n", encoding="utf-8")
    (tmp_path / f"m{count - 1}.ts").write_text(
        f"export function f{count - 1}() {{ return Prisma.sql`TRUE`; }}\n", encoding="utf-8")
    importer = str(tmp_path / "q.ts")
    near = count - _ts_modules._MAX_DEPTH + 1
    assert imported_kind(importer, f"./m{near}", f"f{near}", module_kind) == "sql"
    # the call past the bound is unknown, so the functions returning it are values, like a
    # recursion through imports (test_exported_kind's viaOther)
    assert imported_kind(importer, "./m0", "f0", module_kind) == "value"
    source = ('import { f0 } from "./m0";\n'
              "export const q = () => prisma.$queryRaw`SELECT 1 FROM t WHERE x = ${f0()}`;\n")
    (query,) = extract_typescript(importer, source).queries
    assert [p.expression for p in query.placeholders] == ["f0()"]


def test_helpers_nested_in_each_module_of_a_chain_stay_within_the_stack(tmp_path: Path) -> None:
    # 30 modules of 60 nested helpers each: within both bounds, yet past Python's stack together
    # (an internal error); the module read where the stack runs short answers unknown
    modules, helpers = 30, 60
    for module in range(modules):
        last = (f"return g{module + 1}();" if module < modules - 1
                else "return Prisma.sql`TRUE`;")
        lines = [f'import {{ g{module + 1} }} from "./m{module + 1}";',
                 f"function h{helpers - 1}() {{ {last} }}"]
        lines += [f"function h{index}() {{ return h{index + 1}(); }}"
                  for index in range(helpers - 1)]
        lines.append(f"export function g{module}() {{ return h0(); }}")
        (tmp_path / f"m{module}.ts").write_text("\n".join(lines) + "\n", encoding="utf-8")
    importer = str(tmp_path / "q.ts")
    source = ('import { g0 } from "./m0";\n'
              "export const q = () => prisma.$queryRaw`SELECT 1 FROM t WHERE x = ${g0()}`;\n")
    (query,) = extract_typescript(importer, source).queries
    assert [p.expression for p in query.placeholders] == ["g0()"]
    assert imported_kind(importer, f"./m{modules - 2}", f"g{modules - 2}", module_kind) == "sql"
