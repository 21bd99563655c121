"""What a module's exported name is when called: SQL (returns a fragment) or a value.

The TypeScript extractor reads the application's own modules (see ``_ts_modules``) to tell
``${since(d)}`` (a function returning ``Prisma.sql``: SQL convguard does not splice) from
``${dayKey(d)}`` (a value, ``$n``). The name asked for is one of:

- ``name``: a top-level function or ``const`` (``export function f``, ``export const f = () =>``);
- ``default``: the default export (``export default function``, ``export default () => ...``,
  ``export default name``, ``export { name as default }``);
- ``owner.member``: a function-valued property of a top-level object literal
  (``export const filters = { active: () => Prisma.sql`...` }``, ``{ active() {...} }``,
  ``{ active: named }``) or a method of a top-level class (``export class F { static distinct()
  {...} }``); ``owner`` may be ``default``.

Names are followed through one another (``active: named``, ``export default name``) at most
:data:`_MAX_HOPS` times, so ``const a = { f: b }; const b = { f: a }`` ends.

Example:
    >>> from convguard.extract._typescript import module_kind
    >>> text = ("export const filters = { active: () => Prisma.sql`m.direction = 'in'`,\\n"
    ...         "  day: (d: Date) => d.toISOString() };\\n"
    ...         "export class F { static distinct() { return Prisma.sql`DISTINCT m.id`; } }\\n"
    ...         "export default function () { return Prisma.sql`TRUE`; }\\n")
    >>> [module_kind("m.ts", text, name, ()) for name in
    ...  ("filters.active", "filters.day", "F.distinct", "default", "F.missing")]
    ['sql', 'value', 'sql', 'sql', None]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from convguard.extract._ts_fragments import FragmentAssembler, Function

Kind = Literal["sql", "value"]
#: Names followed through other names (``active: named``, ``export default name``) at most.
_MAX_HOPS = 8


def exported_kind(assembler: FragmentAssembler, exported: str, hops: int = 0) -> Kind | None:
    """``"sql"`` when calling ``exported`` (see the module docstring) can return a fragment,
    ``"value"`` when it cannot, None when the module defines no such name or convguard cannot
    tell."""
    if hops > _MAX_HOPS:
        return None
    owner, dot, member = exported.partition(".")
    if dot:
        return _member_kind(assembler, owner, member, hops)
    if exported == "default":
        return _default_kind(assembler, hops)
    for function in assembler.functions:
        if function.name == exported and assembler.innermost(function.open) is None:
            return _function_kind(assembler, function)
    for declaration in assembler.declarations.get(exported, ()):
        if declaration.init is not None and assembler.innermost(declaration.token) is None:
            return _expression_kind(assembler, *declaration.init, hops)
    return None


def _function_kind(assembler: FragmentAssembler, function: Function) -> Kind:
    from convguard.extract._assembly import Value
    from convguard.extract._ts_fragments import Context

    nodes = [assembler.resolve(*body, Context(stack=frozenset({function.open})))
             for body in assembler._returns_of(function)]
    return "sql" if any(node is not None and not isinstance(node, Value) for node in nodes) \
        else "value"


def _expression_kind(assembler: FragmentAssembler, first: int, end: int, hops: int) -> Kind:
    """An initialiser or a default export: the function it is, a name it repeats, else what the
    expression itself denotes."""
    from convguard.extract._assembly import Value
    from convguard.extract._ts_fragments import Context

    x = assembler.x
    first, end = assembler._strip(first, end)
    if end - first == 1 and x.kinds[first] == "ident" and hops < _MAX_HOPS:
        named = exported_kind(assembler, x.texts[first], hops + 1)
        if named is not None:
            return named
    function = assembler.function_at(first, end)
    if function is not None:
        return _function_kind(assembler, function)
    node = assembler.resolve(first, end, Context())
    return "sql" if node is not None and not isinstance(node, Value) else "value"


def _default_kind(assembler: FragmentAssembler, hops: int) -> Kind | None:
    x = assembler.x
    start = _default_start(assembler)
    if start is None:
        return _renamed_default(assembler, hops)
    if x.texts[start] == "class":
        return None  # calling a class is an error; its members are `default.member`
    if x.texts[start] in ("function", "async"):
        function = assembler.function_at(start, x.count)
        return _function_kind(assembler, function) if function is not None else None
    return _expression_kind(assembler, start, x._expression_end(start, {}), hops)


def _default_start(assembler: FragmentAssembler) -> int | None:
    """The token after a top-level ``export default``."""
    x = assembler.x
    for index in range(x.count - 2):
        if x.texts[index] == "export" and x.texts[index + 1] == "default" \
                and x.kinds[index] == "ident" and assembler._brace_of(index) == -1:
            return index + 2
    return None


def _renamed_default(assembler: FragmentAssembler, hops: int) -> Kind | None:
    """``export { name as default }``."""
    x = assembler.x
    for index in range(2, x.count - 1):
        if x.texts[index] == "default" and x.texts[index - 1] == "as" \
                and x.kinds[index - 2] == "ident" and x.text(index + 1) in (",", "}") \
                and assembler._brace_of(index) >= 0 and assembler._brace_of(index - 2) >= 0 \
                and x.text(assembler._brace_of(index) - 1) == "export":
            return exported_kind(assembler, x.texts[index - 2], hops + 1)
    return None


def _member_kind(assembler: FragmentAssembler, owner: str, member: str,
                 hops: int) -> Kind | None:
    brace = _owner_brace(assembler, owner, hops)
    if brace is None:
        return None
    x = assembler.x
    close = x.match[brace] + 1
    for key, value in assembler._object_literal(brace, close):
        if key.strip("'\"") == member:
            return _expression_kind(assembler, *value, hops + 1)
    for function in assembler.functions:
        # `active() {...}` in an object literal, `static distinct() {...}` in a class body
        if function.name == member and not function.expression_body \
                and assembler._brace_of(function.open) == brace:
            return _function_kind(assembler, function)
    return None


def _owner_brace(assembler: FragmentAssembler, owner: str, hops: int) -> int | None:
    """The ``{`` of the top-level object literal or class body named ``owner``."""
    x = assembler.x
    if hops > _MAX_HOPS:
        return None
    if owner == "default":
        start = _default_start(assembler)
        if start is None:
            return None
        if x.texts[start] == "class":
            return _class_body(assembler, start)
        first, end = assembler._strip(start, x._expression_end(start, {}))
        if end - first == 1 and x.kinds[first] == "ident":
            return _owner_brace(assembler, x.texts[first], hops + 1)
        return first if x.texts[first] == "{" and x.match[first] == end - 1 else None
    for index in range(x.count - 1):
        if x.texts[index] == "class" and x.kinds[index] == "ident" \
                and x.texts[index + 1] == owner and assembler._brace_of(index) == -1:
            return _class_body(assembler, index)
    for declaration in assembler.declarations.get(owner, ()):
        if declaration.init is not None and assembler.innermost(declaration.token) is None:
            first, end = assembler._strip(*declaration.init)
            if end - first == 1 and x.kinds[first] == "ident" and x.texts[first] != owner:
                return _owner_brace(assembler, x.texts[first], hops + 1)
            if end - first >= 2 and x.texts[first] == "{" and x.match[first] == end - 1:
                return first
    return None


def _class_body(assembler: FragmentAssembler, keyword: int) -> int | None:
    """The ``{`` opening the body of the class declared at ``keyword``."""
    x = assembler.x
    for index in range(keyword + 1, min(x.count, keyword + 400)):
        if x.texts[index] == "{" and x.match[index] > index:
            return index
        if x.texts[index] in (";", "}"):
            return None
    return None


__all__ = ["Kind", "exported_kind"]
