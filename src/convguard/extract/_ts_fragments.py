"""Follow ``Prisma.sql`` fragments through TypeScript code to the statements that run them.

A *root* is what runs SQL: a ``$queryRaw``/``$executeRaw`` tagged template, a
``$queryRaw(expr)``/``$executeRaw<T>(expr)`` call, or a spliceable template no other SQL in the
file uses whose text starts like a statement (it may be run from another module). Everything a
root splices is followed, in the host file only:

- ``const`` (and ``let``/``var``) names, in the same function or an enclosing one (closures) or
  the module, ``const``/``let`` scoped by their block; ``let`` names take every value assigned
  before the use (``if``/``else``, ``switch`` and ``try`` assignments become a choice; an
  unconditional reassignment, an ``if``/``else`` assigning in every branch, a ``switch``
  assigning in every case and a ``default`` (a case falling through takes the case it falls
  into), or a ``try`` and its ``catch`` both assigning, replaces the earlier values; loops keep
  them);
- ternaries (both branches), ``a ?? b``/``a || b`` with a fragment on one side, ``Prisma.empty``;
- helpers of the same file (``function`` declarations and arrow functions): every ``return``, with
  the call's arguments bound to the helper's parameters;
- ``Prisma.join(parts, " AND ")`` of an array of fragments (an array literal, plus ``push``es;
  a ``push`` under a condition is optional; ``items.map(cb)`` whose callback returns a fragment:
  two elements of that fragment, opaque when ``cb`` is imported); ``Prisma.raw("literal")`` is
  its literal's text;
- names and calls imported from the application's own modules, which are read
  (``_ts_modules``): a function returning a fragment is *opaque* SQL, one returning none a value.

What cannot be followed is classified: an import convguard cannot read (not SCREAMING_CASE),
a parameter typed ``Prisma.Sql``/``Sql``, a ``Prisma.join`` of an unknown array with an
``AND``/``OR`` separator and ``Prisma.raw(variable)`` are *opaque* SQL; a call of a function
convguard cannot read (a package, an unresolvable module, a global other than JavaScript's value
builtins) and an untyped parameter are *ambiguous* (a value if the statement parses with ``$n``
there and it does not stand as a whole condition, else opaque). Anything else is a value
(``$n``): calls of ``String``/``Number``/``Date``/``parseInt``..., ``JSON.stringify``,
``Math.*``, methods of values (``d.toISOString()``, ``ids.join(",")``).

A fragment that no root uses is never checked on its own unless it reads as a whole statement.

Example:
    >>> from convguard.extract._typescript import extract_typescript
    >>> source = '''
    ... export async function f(c?: string) {
    ...   const w = c ? Prisma.sql`l."clientId" = ${c}` : Prisma.sql`TRUE`;
    ...   return prisma.$queryRaw`SELECT id FROM "Lead" l WHERE ${w}`;
    ... }'''
    >>> for query in extract_typescript("a.ts", source).queries:
    ...     print(query.variant, query.variants, query.sql)
    1 2 SELECT id FROM "Lead" l WHERE l."clientId" = $1
    2 2 SELECT id FROM "Lead" l WHERE TRUE
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from convguard._model import OpaqueFragment
from convguard._sql_text import without_comments
from convguard.extract._assembly import (
    EMPTY,
    MAX_FRAGMENT_DEPTH,
    MAX_VARIANTS,
    STAND_INS,
    Choice,
    Join,
    Leaf,
    Literal,
    Node,
    Opaque,
    Seq,
    Text,
    Value,
    count,
    expand,
)

if TYPE_CHECKING:
    from convguard._parse import PostgresParser
    from convguard.extract._typescript import _Call, _Extractor, _SqlBuilder, _Tag

_SQL_TYPE = re.compile(r"(?:^|[^\w.])(?:Prisma\s*\.\s*)?Sql\b")
_SCREAMING = re.compile(r"^[A-Z][A-Z0-9_]*$")
_LOGICAL_SEPARATOR = re.compile(r"^\s*(?:AND|OR)\s*$", re.IGNORECASE)
# After blanks and opening parentheses (comments are blanked by the one SQL scanner first).
_STATEMENT_START = re.compile(
    r"^[\s(]*(?:select|with|insert|update|delete|merge|values|table|set|"
    r"reset|show|create|alter|drop|truncate|explain|copy|lock|begin|commit|rollback|grant|revoke|"
    r"comment|analyze|vacuum|refresh|listen|notify|unlisten|call|do|declare|discard|prepare|"
    r"execute|savepoint|release|start|end|abort|cluster|reindex|checkpoint|import|security)\b",
    re.IGNORECASE | re.DOTALL)
_DECLARATION_WORDS = frozenset({"const", "let", "var"})
# Globals whose call is a value (``String(n)``, ``Date()``); their members (``JSON.stringify``,
# ``Math.max``, ``Array.from``, ``Object.keys``) and methods of values are values anyway.
_VALUE_GLOBALS = frozenset({
    "String", "Number", "Boolean", "BigInt", "Date", "Symbol", "Array", "Object", "parseInt",
    "parseFloat", "isNaN", "isFinite", "encodeURIComponent", "decodeURIComponent", "encodeURI",
    "decodeURI", "structuredClone", "Buffer", "escape", "unescape",
})
_MODIFIERS = frozenset({"public", "private", "protected", "readonly", "override"})
_UNSET = -1
#: ``if`` statements nested deeper than this are not followed branch by branch (no recursion).
_MAX_IF_DEPTH = 64
#: What a ``let`` may hold at a point: (conditional assignments, the value they override).
_Values = tuple[list[tuple[int, int]], list[tuple[int, int]]]
#: Segment flows one ``switch`` may cost (fall-through entries re-run the cases they fall into);
#: past it the switch's assignments are simply conditional.
_MAX_SWITCH_FLOWS = 256
_LOOP_KEYWORDS = frozenset({"for", "while", "switch"})


@dataclass(frozen=True, slots=True)
class _If:
    """An ``if``/``else if``/``else`` statement ``start .. end`` (an ``else if`` chain is one).
    A bare block after a ``case`` label is one too: a single branch that always runs."""

    start: int
    end: int
    branches: tuple[tuple[int, int], ...]
    has_else: bool


@dataclass(frozen=True, slots=True)
class _Case:
    """The statements after one ``case``/``default`` label: ``first .. stop``; ``cut`` is the
    token ending it (``break`` -> ``how == "break"``, ``return``/``throw``/``continue`` ->
    ``"leave"``) or ``stop`` when it falls through into the next case (``how == ""``)."""

    first: int
    stop: int
    cut: int
    how: str


@dataclass(frozen=True, slots=True)
class _Switch:
    """A ``switch`` statement: its body's ``{`` and its cases in source order. ``regular`` is
    False when a ``break`` leaves it from inside a nested statement (``if (c) break;``): those
    paths are not followed, every assignment in it is then simply conditional."""

    start: int
    end: int
    brace: int
    cases: tuple[_Case, ...]
    has_default: bool
    regular: bool


@dataclass(frozen=True, slots=True)
class _Try:
    """A ``try`` statement: its blocks ``(first, stop)`` (``first`` is the ``{``)."""

    start: int
    end: int
    body: tuple[int, int]
    handler: tuple[int, int] | None
    finalizer: tuple[int, int] | None


_Statement = _If | _Switch | _Try


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    token: int
    sql_typed: bool
    typed: bool


@dataclass(frozen=True, slots=True)
class Function:
    """A function (named or not): its body tokens ``open < i < close`` and parameters."""

    open: int
    close: int
    name: str | None
    params: tuple[Param, ...]
    expression_body: bool  # an arrow ``=> expr``: the body is ``open + 1 .. close``


@dataclass(frozen=True, slots=True)
class Declaration:
    name: str
    token: int
    keyword: str
    init: tuple[int, int] | None
    function: Function | None
    keyword_token: int  # the `const`/`let`/`var`: its block scopes the declaration


@dataclass(frozen=True, slots=True, eq=False)  # identity: hashing a chain of callers is O(1)
class Context:
    """Where a fragment is being followed: helper parameters bound to call arguments."""

    bindings: tuple[tuple[int, str, int, int, Context | None], ...] = ()
    stack: frozenset[object] = frozenset()
    depth: int = 0

    def bound(self, function: Function, name: str) -> tuple[int, int, Context | None] | None:
        for open_, param, first, end, caller in self.bindings:
            if open_ == function.open and param == name:
                return first, end, caller
        return None


@dataclass(frozen=True, slots=True)
class Root:
    """Something that runs SQL: a call site (or a statement-like orphan template)."""

    chain_start: int
    span: tuple[int, int]
    tag: str
    node: Node
    templates: tuple[int, ...]


class _Since:
    """The set of log entries appended after ``start`` (a view, read when needed)."""

    def __init__(self, log: list[int], start: int) -> None:
        self.log, self.start = log, start

    def __iter__(self) -> Iterator[int]:
        return iter(set(self.log[self.start:]))

    def __sub__(self, other: set[int]) -> set[int]:
        return set(self.log[self.start:]) - other


class FragmentAssembler:
    """Resolves what reaches each root into a :data:`~convguard.extract._assembly.Node` tree."""

    def __init__(self, extractor: _Extractor, tags: dict[int, _Tag], nested: set[int],
                 limit: int = MAX_VARIANTS) -> None:
        self.x = extractor
        self.tags = tags
        self.nested = nested
        self.limit = limit
        self.templates = extractor.lexed.templates
        self._scopes: tuple[list[Function], list[int], dict[str, list[Declaration]],
                            dict[str, tuple[str, str]]] | None = None
        self._returns: dict[int, list[tuple[int, int]]] = {}
        self._interpolated: tuple[list[int], list[int]] | None = None
        self._log: list[int] = []  # every template resolved, in order (see _tracking)
        self._memo: dict[object, tuple[Node | None, tuple[int, ...]]] = {}
        self._assigned: dict[int, list[tuple[int, tuple[int, int]]]] = {}
        self._braces: list[int] | None = None
        self._chains: dict[int, _Statement] | None = None
        self._case_colons: set[int] = set()
        self._switch_breaks: dict[int, list[int]] | None = None
        self._generation = 0
        self._logged: dict[object, int] = {}
        self._innermost: dict[int, Function | None] = {}
        self.consumed: set[int] = set()
        self._element_callbacks: set[int] = set()  # `.map` callbacks followed (by `open`)
        # name -> the `open` of the function declaring it directly (-1: the module) -> those
        self._declared_in: dict[str, dict[int, list[Declaration]]] = {}

    # Scopes are built on first use: most files of a tree hold no SQL and never pay for them.
    def _scope_tables(self) -> tuple[list[Function], list[int], dict[str, list[Declaration]],
                                     dict[str, tuple[str, str]]]:
        if self._scopes is None:
            functions = self._functions()
            self._scopes = (functions, [function.open for function in functions],
                            self._declarations(), self._imports())
        return self._scopes

    @property
    def functions(self) -> list[Function]:
        return self._scope_tables()[0]

    @property
    def function_starts(self) -> list[int]:
        return self._scope_tables()[1]

    @property
    def declarations(self) -> dict[str, list[Declaration]]:
        return self._scope_tables()[2]

    @property
    def imports(self) -> dict[str, tuple[str, str]]:
        """Imported name -> (module specifier, exported name)."""
        return self._scope_tables()[3]

    # -- the roots -----------------------------------------------------------------------------

    def roots(self, raw_calls: list[_Call]) -> list[Root]:
        x = self.x
        roots: list[Root] = []
        for index, tag in self.tags.items():
            if tag.spliceable or index in self.nested:
                continue
            template = self.templates[index]
            self.consumed.add(index)
            used = self._tracking()
            node = self.template_node(index, Context())
            roots.append(Root(tag.chain_start, (x.starts[tag.chain_start], template.end),
                              tag.text, node, tuple(sorted(used))))
        for call in raw_calls:
            if self._inside_template(call.callee_start):
                continue
            first, end = x.first_argument(call)
            if end <= first:
                continue
            used = self._tracking()
            resolved = self.resolve(first, end, Context())
            if resolved is None or isinstance(resolved, (Opaque, Value)):
                continue  # nothing convguard can see
            close = x.match[call.paren]
            roots.append(Root(call.callee_start, (x.starts[call.callee_start], x.ends[close]),
                              x.callee_text(call), resolved, tuple(sorted(used))))
        orphans: list[tuple[int, Node, set[int]]] = []
        for index, tag in self.tags.items():
            if not tag.spliceable or index in self.nested or index in self.consumed:
                continue
            used = self._tracking()
            node = self.template_node(index, Context())
            orphans.append((index, node, set(used)))
        used_by_orphans: set[int] = set()
        for index, _, templates in orphans:
            used_by_orphans.update(templates - {index})
        for index, node, templates in orphans:
            if index in used_by_orphans or not self._statement_like(node):
                continue
            tag = self.tags[index]
            template = self.templates[index]
            roots.append(Root(tag.chain_start, (x.starts[tag.chain_start], template.end),
                              tag.text, node, tuple(sorted(templates))))
        return roots

    def _tracking(self) -> _Since:
        """Templates used from here on (read once the resolution is done)."""
        self._generation += 1
        return _Since(self._log, len(self._log))

    def _relog(self, memo_key: object, templates: tuple[int, ...]) -> None:
        """A memoised subtree reused: log its templates once per tracking window."""
        if self._logged.get(memo_key) != self._generation:
            self._logged[memo_key] = self._generation
            self._log.extend(templates)

    def _inside_template(self, token: int) -> bool:
        """Is ``token`` inside an interpolation of a recognised template (a part, not a root)?"""
        if self._interpolated is None:
            ranges = sorted((interpolation.first_token, interpolation.end_token)
                            for index in self.tags
                            for interpolation in self.templates[index].interpolations)
            merged: list[tuple[int, int]] = []
            for first, end in ranges:  # nested ranges sit inside their outer one
                if merged and first < merged[-1][1]:
                    continue
                merged.append((first, end))
            self._interpolated = ([first for first, _ in merged], [end for _, end in merged])
        starts, ends = self._interpolated
        position = bisect.bisect_right(starts, token) - 1
        return position >= 0 and token < ends[position]

    def _statement_like(self, node: Node) -> bool:
        leaves, _ = expand(node, 1)[0] if count(node) else ((), ())
        text = []
        for leaf in leaves:
            if isinstance(leaf, Text):
                text.append(self.x.host.text[leaf.start:leaf.end])
            elif isinstance(leaf, Literal):
                text.append(leaf.text)
            else:
                text.append(" $1 ")
            if sum(len(part) for part in text) > 200:
                break
        return bool(_STATEMENT_START.match(without_comments("".join(text))))

    # -- resolution ----------------------------------------------------------------------------

    def template_node(self, index: int, context: Context) -> Node:
        """A template's text and interpolations (memoised: a shared subtree, resolved once)."""
        template = self.templates[index]
        if context.depth > _max_depth():
            raise self.x.too_deep(template.start)
        memo_key = ("template", index, context.bindings)
        cached = self._memo.get(memo_key)
        if cached is not None:
            self._relog(memo_key, cached[1])
            return cached[0]  # type: ignore[return-value]
        start = len(self._log)
        node = self._template_node(index, context)
        self._memo[memo_key] = (node, tuple(set(self._log[start:])))
        return node

    def _template_node(self, index: int, context: Context) -> Node:
        template = self.templates[index]
        self.consumed.add(index)
        self._log.append(index)
        inner = dataclasses.replace(context, depth=context.depth + 1)
        parts: list[Node] = []
        chunks = template.chunks
        for position, interpolation in enumerate(template.interpolations):
            parts.append(Text(*chunks[position]))
            first, end = interpolation.first_token, interpolation.end_token
            node = self.resolve(first, end, inner)
            expression = self.x.host.text[interpolation.start + 2:interpolation.end - 1].strip()
            if node is None:
                kind = "list" if self._is_join(*self._strip(first, end)) else "value"
                node = Value(expression, kind,  # type: ignore[arg-type]
                              interpolation.start, interpolation.end)
            else:
                node = self._place(node, expression, interpolation.start, interpolation.end)
            parts.append(node)
        parts.append(Text(*chunks[-1]))
        return Seq(tuple(parts))

    def _place(self, node: Node, expression: str, start: int, end: int) -> Node:
        """Give unpositioned values and opaque fragments the interpolation's position."""
        if isinstance(node, (Value, Opaque)) and node.start == _UNSET:
            return dataclasses.replace(node, start=start, end=end,
                                       expression=node.expression or expression)
        if isinstance(node, Choice):
            return Choice(tuple(self._place(option, expression, start, end)
                                for option in node.options), node.label)
        return node

    def resolve(self, first: int, end: int, context: Context) -> Node | None:
        """The SQL an expression denotes, or None when it is a plain value."""
        x = self.x
        first, end = self._strip(first, end)
        if end <= first:
            return None
        if context.depth > _max_depth():
            raise x.too_deep(x.starts[first])
        texts = x.texts
        if end - first == 3 and texts[first:end] == ("Prisma", ".", "empty"):
            return EMPTY
        fragment = self._fragment(first, end)
        if fragment >= 0:
            return self.template_node(fragment, context)
        branches = self._ternary(first, end)
        if branches is not None:
            chain = [branches[0]]
            rest = branches[1]
            while (more := self._ternary(*rest)) is not None:  # `a ? X : b ? Y : Z`, flat
                chain.append(more[0])
                rest = more[1]
            chain.append(rest)
            return self._choice(first, tuple(chain), context)
        fallback = self._fallback(first, end)
        if fallback is not None:
            return self._choice(first, (fallback[0], fallback[1]), context, fallback=True)
        if self._is_call(first, end, ("Prisma", ".", "raw")):
            return self._raw(first, end)
        if self._is_join(first, end):
            return self._join(first, end, context)
        if end - first == 1 and x.kinds[first] == "ident":
            return self._name(first, context)
        if x.kinds[first] == "ident" and texts[first + 1:first + 2] == ("(",) \
                and x.match[first + 1] == end - 1:
            return self._call(first, end, context)
        if x.kinds[first] == "ident" and end - first >= 5 and texts[first + 1] in (".", "?.") \
                and x.kinds[first + 2] == "ident" and texts[first + 3] == "(" \
                and x.match[first + 3] == end - 1:
            return self._method_call(first, end, context)
        if x.kinds[first] == "ident" and (
                (end - first == 3 and texts[first + 1] in (".", "?.")
                 and x.kinds[first + 2] == "ident")
                or (texts[first + 1:first + 2] == ("[",) and x.match[first + 1] == end - 1)):
            return self._member(first, end, context)
        return None

    def _member(self, first: int, end: int, context: Context) -> Node | None:
        """``MAP.key`` or ``MAP[expr]`` where ``MAP`` is a same-file object literal of fragments:
        that property, or a choice of every property."""
        x = self.x
        kind, declaration, _ = self.lookup(first)
        if kind != "variable" or not isinstance(declaration, Declaration) \
                or declaration.init is None or declaration.keyword != "const":
            return None
        properties = self._object_literal(*self._strip(*declaration.init))
        if not properties:
            return None
        inner = dataclasses.replace(context, depth=context.depth + 1)
        if x.texts[first + 1] in (".", "?."):
            wanted = x.texts[first + 2]
            value = next((value for key, value in properties if key == wanted), None)
            return self.resolve(*value, inner) if value is not None else None
        nodes = [(self.resolve(*value, inner), value) for _, value in properties]
        if all(node is None for node, _ in nodes):
            return None
        line = x.host.position(x.starts[first]).line
        return Choice(tuple(node if node is not None else Value(
            x.source(*value), "value", x.starts[value[0]], x.ends[value[1] - 1])
            for node, value in nodes), f"`{x.source(first, end)}` (line {line})")

    def _object_literal(self, first: int, end: int) -> list[tuple[str, tuple[int, int]]]:
        """``(key, value range)`` of an object literal's ``key: value`` properties."""
        x = self.x
        if end - first < 2 or x.texts[first] != "{" or x.match[first] != end - 1:
            return []
        properties = []
        for start, stop in self._arguments(first):
            if stop - start >= 3 and x.texts[start + 1] == ":" \
                    and x.kinds[start] in ("ident", "string", "number"):
                properties.append((x.texts[start].strip("'\""), (start + 2, stop)))
        return properties

    def _choice(self, first: int, branches: tuple[tuple[int, int], ...],
                context: Context, *, fallback: bool = False) -> Node | None:
        x = self.x
        nodes = [self.resolve(*branch, context) for branch in branches]
        if all(node is None or (isinstance(node, Value) and not fallback) for node in nodes):
            return None
        options: list[Node] = []
        for node, branch in zip(nodes, branches):
            if node is None:
                text = x.source(*branch)
                # beside a fragment, the other side of `??`/`||` is SQL too (e.g. opts.where)
                node = Opaque(text, _UNSET, _UNSET) if fallback else Value(
                    text, "value", x.starts[branch[0]], x.ends[branch[1] - 1])
            options.append(node)
        condition_end = branches[0][0] - 1
        condition = " ".join(x.source(first, condition_end).split())
        if len(condition) > 40:
            condition = condition[:39] + "…"
        line = x.host.position(x.starts[first]).line
        label = f"`{condition} ?` (line {line})" if not fallback else \
            f"`{x.source(*branches[0])} ??` (line {line})"
        return Choice(tuple(options), label)

    def _fallback(self, first: int, end: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """``a ?? b`` or ``a || b`` at the top level: the two sides."""
        x = self.x
        index = first
        while index < end:
            if x.kinds[index] == "punct" and x.texts[index] in ("??", "||"):
                return self._strip(first, index), self._strip(index + 1, end)
            index = x.forward(index)
        return None

    def _raw(self, first: int, end: int) -> Node:
        x = self.x
        argument = first + 4
        if end - argument == 2 and x.kinds[argument] in ("string", "template"):
            quote = x.texts[argument][0]
            return Text(x.starts[argument] + 1, x.ends[argument] - 1,
                        quote if quote in "'\"" else "")
        return Opaque(x.source(first, end), _UNSET, _UNSET)

    def _arguments(self, paren: int) -> list[tuple[int, int]]:
        x = self.x
        close = x.match[paren]
        arguments = []
        index = start = paren + 1
        while index < close:
            if x.kinds[index] == "punct" and x.texts[index] == ",":
                arguments.append((start, index))
                start = index + 1
            index = x.forward(index)
        if start < close:
            arguments.append((start, close))
        return arguments

    def _join(self, first: int, end: int, context: Context) -> Node | None:
        x = self.x
        arguments = self._arguments(first + 3)
        if not arguments:
            return None
        separator_range = arguments[1] if len(arguments) > 1 else None
        separator = self._literal(separator_range, x.starts[first], ",")
        elements = self._array(*arguments[0], context)
        if elements is None or not any(self._is_sql(node) for node, _ in elements):
            if separator_range is not None and isinstance(separator, Text) and \
                    _LOGICAL_SEPARATOR.match(x.host.text[separator.start:separator.end]):
                return Opaque(x.source(first, end), _UNSET, _UNSET)
            return None  # a list of values: `$n, $n+1, ...`
        prefix = self._literal(arguments[2] if len(arguments) > 2 else None, x.starts[first], "")
        suffix = self._literal(arguments[3] if len(arguments) > 3 else None, x.starts[first], "")
        line = x.host.position(x.starts[first]).line
        placed = tuple((self._place(node, x.source(first, end), x.starts[first], x.ends[end - 1])
                        if isinstance(node, (Value, Opaque)) else node, optional)
                       for node, optional in elements)
        return Join(placed, separator, prefix, suffix,
                    f"`{x.source(*arguments[0])}` joined (line {line})")

    def _is_sql(self, node: Node) -> bool:
        return not isinstance(node, Value)

    def _literal(self, argument: tuple[int, int] | None, at: int, default: str) -> Node:
        x = self.x
        if argument is None:
            return Literal(default, at) if default else EMPTY
        first, end = self._strip(*argument)
        if end - first == 1 and x.kinds[first] in ("string", "template"):
            quote = x.texts[first][0]
            return Text(x.starts[first] + 1, x.ends[first] - 1, quote if quote in "'\"" else "")
        return Opaque(x.source(first, end), x.starts[first], x.ends[end - 1])

    def _array(self, first: int, end: int, context: Context
               ) -> list[tuple[Node, bool]] | None:
        """The elements of an array expression (``[...]`` or a name holding one), or None."""
        x = self.x
        first, end = self._strip(first, end)
        if end - first >= 2 and x.texts[first] == "[" and x.match[first] == end - 1:
            return self._elements(first, end, context, optional=False)
        mapped = self._mapped(first, end, context)
        if mapped is not None:
            return mapped
        if end - first != 1 or x.kinds[first] != "ident":
            return None
        declaration = self._declaration(x.texts[first], first)
        if declaration is None or declaration.init is None or declaration.token in context.stack:
            return None
        inner = dataclasses.replace(context, stack=context.stack | {declaration.token},
                                    depth=context.depth + 1)
        elements = self._array(*declaration.init, inner)
        if elements is None:
            return None
        base = self._brace_of(declaration.token)
        index = declaration.token + 1
        limit = first
        name = declaration.name
        texts, kinds = x.texts, x.kinds
        while index < limit:
            if (kinds[index] == "ident" and texts[index] == name and texts[index + 1] == "."
                    and texts[index + 2] == "push" and texts[index + 3] == "("
                    and texts[index - 1] not in (".", "?.")
                    and self.lookup(index)[1] is declaration):
                paren = index + 3
                optional = self._conditional(index, base)
                for argument in self._arguments(paren):
                    elements.extend(self._element(*argument, inner, optional))
                index = max(x.match[paren], index + 1)
            index += 1
        return elements

    def _mapped(self, first: int, end: int, context: Context) -> list[tuple[Node, bool]] | None:
        """``items.map((x) => Prisma.sql`(${x.a}, ${x.b})`)``: the elements are the fragment the
        callback returns (an arrow, a function expression or a same-file function's name; every
        ``return``), with its own interpolations as values. It stands for two elements, so that
        the separator between them is checked too. None when the callback returns no fragment
        (a ``.map`` to plain values is a list of values)."""
        x = self.x
        if end - first < 5 or x.texts[end - 1] != ")":
            return None
        paren = x.match[end - 1]
        if paren <= first + 1 or x.texts[paren - 1] != "map" \
                or x.texts[paren - 2] not in (".", "?."):
            return None
        arguments = self._arguments(paren)
        if not arguments:
            return None
        argument = self._strip(*arguments[0])
        if argument[1] - argument[0] == 1 and x.kinds[argument[0]] == "ident" \
                and self.lookup(argument[0])[0] == "import":
            # `items.map(toRow)` with `toRow` imported: SQL elements when it returns a fragment
            specifier, exported = self.imports[x.texts[argument[0]]]
            if x.imported_kind(specifier, exported) != "sql":
                return None
            opaque = Opaque(x.source(first, end), _UNSET, _UNSET)
            return [(opaque, False), (opaque, False)]
        callback = self._callback(*argument)
        if callback is None or callback.open in context.stack:
            return None
        self._element_callbacks.add(callback.open)  # its parameters are the array's elements
        inner = Context(context.bindings, context.stack | {callback.open}, context.depth + 1)
        nodes = [(self.resolve(*body, inner), body) for body in self._returns_of(callback)]
        if not any(node is not None and self._is_sql(node) for node, _ in nodes):
            return None
        if len(nodes) == 1:
            node = nodes[0][0]
        else:
            line = x.host.position(x.starts[paren - 1]).line
            node = Choice(tuple(option if option is not None else Value(
                x.source(*body), "value", x.starts[body[0]], x.ends[body[1] - 1])
                for option, body in nodes), f"`.map()` callback return (line {line})")
        assert node is not None
        return [(node, False), (node, False)]

    def _callback(self, first: int, end: int) -> Function | None:
        """The function an argument is: an inline arrow/function expression, or a name."""
        x = self.x
        if end - first == 1 and x.kinds[first] == "ident":
            return self._function_named(x.texts[first], first)
        position = bisect.bisect_left(self.function_starts, first)
        if position >= len(self.functions):
            return None
        function = self.functions[position]
        if not (function.open < end and function.close <= end):
            return None
        arrow = function.open if x.texts[function.open] == "=>" else function.open - 1
        close = x._params_close_before(arrow if x.text(arrow) == "=>" else function.open)
        start = x.match[close] if close >= 0 else arrow - 1
        # only `async`, `function`, `*` or the function's name before its parameters: the whole
        # argument is this function (not a call whose argument holds one)
        if not 0 <= start - first <= 3 or any(
                x.kinds[token] != "ident" and x.texts[token] != "*"
                for token in range(first, start)):
            return None
        return function

    def _elements(self, open_: int, end: int, context: Context, *, optional: bool
                  ) -> list[tuple[Node, bool]]:
        elements: list[tuple[Node, bool]] = []
        for argument in self._arguments(open_):
            elements.extend(self._element(*argument, context, optional))
        return elements

    def _element(self, first: int, end: int, context: Context, optional: bool
                 ) -> list[tuple[Node, bool]]:
        x = self.x
        if end > first and x.texts[first] == "...":
            spread = self._array(first + 1, end, context)
            if spread is not None:
                return [(node, optional or inner) for node, inner in spread]
            return [(Opaque(x.source(first, end), x.starts[first], x.ends[end - 1]), optional)]
        node = self.resolve(first, end, context)
        if node is None:
            node = Value(x.source(first, end), "value", x.starts[first], x.ends[end - 1])
        return [(node, optional)]

    def lookup(self, token: int) -> tuple[str, Param | Declaration | None, Function | None]:
        """What the name at ``token`` refers to: ``("parameter", param, function)``,
        ``("variable", declaration, None)``, ``("import", None, None)`` or ``("none", ...)``.

        The scoping rules are the language's, simplified (``const``/``let`` are block-scoped,
        ``var`` function-scoped, declarations are not hoisted within one function); the
        TypeScript compiler's binder agrees on the fixtures (``tests/extract/test_ts_crosscheck``).
        """
        name = self.x.texts[token]
        function = self.innermost(token)
        while function is not None:
            for param in function.params:
                if param.name == name:
                    return "parameter", param, function
            declaration = self._declaration_in(name, token, function)
            if declaration is not None:
                return "variable", declaration, None
            function = self._parent(function)
        declaration = self._declaration_in(name, token, None)
        if declaration is not None:
            return "variable", declaration, None
        if name in self.imports:
            return "import", None, None
        return "none", None, None

    def _name(self, token: int, context: Context) -> Node | None:
        x = self.x
        name = x.texts[token]
        kind, found, function = self.lookup(token)
        if kind == "parameter":
            assert isinstance(found, Param) and function is not None
            bound = context.bound(function, name)
            if bound is not None:
                first, end, caller = bound
                node = self.resolve(first, end, caller or Context())
                if node is None:
                    return Value(x.source(first, end), "value", _UNSET, _UNSET)
                return node
            if found.sql_typed:
                return Opaque(name, _UNSET, _UNSET)
            if not found.typed and function.open not in self._element_callbacks:
                return Value(name, "value", _UNSET, _UNSET, ambiguous=True)
            return None
        if kind == "variable":
            assert isinstance(found, Declaration)
            node = self._declared(found, token, context)
            if isinstance(node, Value) and node.start == _UNSET:
                # `const n = clampInt(...)` spliced as `${n}`: the parameter is named `n`
                return dataclasses.replace(node, expression="")
            return node
        if kind == "import":
            specifier, exported = self.imports[name]
            found_kind = x.imported_kind(specifier, exported)
            if found_kind == "sql" or (found_kind is None and not _SCREAMING.match(name)):
                return Opaque(name, _UNSET, _UNSET)
        return None

    def _imported(self, name: str, exported: str, expression: str) -> Node | None:
        """A call of a function imported from another module: SQL when the module's function
        returns a fragment, a value when it provably does not; when the module cannot be read
        (a package, a path convguard cannot resolve), a value where ``$n`` parses, else opaque."""
        specifier = self.imports[name][0]
        kind = self.x.imported_kind(specifier, exported)
        if kind == "value":
            return None
        if kind == "sql":
            return Opaque(expression, _UNSET, _UNSET)
        return Value(expression, "value", _UNSET, _UNSET, ambiguous=True)

    def _method_call(self, first: int, end: int, context: Context) -> Node | None:
        """``ns.fn(...)``, ``F.distinct()``, ``filters.active()`` on an imported name: looked up
        in its module (a namespace's function, an exported class's static method, a function of
        an exported object literal, ``default``'s members) like an imported function; on a
        same-file ``const`` object literal, its function-valued property is followed like a
        same-file helper (every ``return``, the arguments bound); a method called on anything
        else (``d.toISOString()``, ``ids.join(",")``, ``Math.max(...)``) is a value."""
        x = self.x
        name = x.texts[first]
        kind, found, _ = self.lookup(first)
        member = x.texts[first + 2]
        if kind == "variable" and isinstance(found, Declaration):
            function = self._object_function(found, member)
            if function is None:
                return None
            return self._applied(function, first, end, first + 3, f"{name}.{member}", context)
        if kind != "import":
            return None
        exported = self.imports[name][1]
        return self._imported(name, member if exported == "*" else f"{exported}.{member}",
                              x.source(first, end))

    def _object_function(self, declaration: Declaration, member: str) -> Function | None:
        """The function ``member`` of a ``const`` object literal (``{ active: () => ... }``,
        ``{ active() {...} }``), None when it is no such function."""
        x = self.x
        if declaration.keyword != "const" or declaration.init is None:
            return None
        first, end = self._strip(*declaration.init)
        if end - first < 2 or x.texts[first] != "{" or x.match[first] != end - 1:
            return None
        for key, value in self._object_literal(first, end):
            if key.strip("'\"") == member:
                return self.function_at(*self._strip(*value))
        for function in self.functions:
            if function.name == member and not function.expression_body \
                    and self._brace_of(function.open) == first:
                return function
        return None

    def function_at(self, first: int, end: int) -> Function | None:
        """The function the expression ``first .. end`` is (``() => ...``, ``async function ()
        {}``), None when it is anything else (``make(() => ...)`` is a call)."""
        if first >= end:
            return None
        level = self._brace_of(first)
        for function in self.functions:
            if first <= function.open < end and self._brace_of(function.open) == level:
                return function if self._starts_function(first, function) else None
        return None

    def _starts_function(self, first: int, function: Function) -> bool:
        """Whether the tokens from ``first`` to ``function``'s body are only its head
        (``async``, ``function``, ``*``, a name, type parameters, parameters, a return type,
        ``=>``)."""
        x = self.x
        marker = function.open
        if not function.expression_body and x.text(marker - 1) == "=>":
            marker -= 1
        # `active: () =>`: the `:` before `(` is the property's, not a return type's
        close = marker - 1 if x.text(marker - 1) == ")" and x.match[marker - 1] >= 0 \
            else x._params_close_before(marker)
        if close >= 0:
            params = x.match[close]
        elif x.texts[marker] == "=>" and x.kind(marker - 1) == "ident":
            params = marker - 1
        else:
            return False
        index = first
        while index < params and x.texts[index] in ("async", "function", "*"):
            index += 1
        if index < params and x.kinds[index] == "ident":
            index += 1
        if index < params and x.texts[index] == "<" and x.match[index] > index:
            index = x.match[index] + 1
        return index == params

    def _declared(self, declaration: Declaration, use: int, context: Context) -> Node | None:
        """The values a name can hold at ``use``: its initialiser and the assignments before
        ``use`` (``w = Prisma.sql`${w} AND x``` sees the values before it). Memoised, so that
        accumulating assignments cost linear time, not exponential."""
        options = self._options(declaration, use)
        key = (declaration.token, tuple(options))
        if key in context.stack:
            return None
        memo_key = (key, context.bindings)
        cached = self._memo.get(memo_key)
        if cached is not None:
            self._relog(memo_key, cached[1])
            return cached[0]
        start = len(self._log)
        inner = dataclasses.replace(context, stack=context.stack | {key},
                                    depth=context.depth + 1)
        node = self._declared_options(declaration, options, inner)
        self._memo[memo_key] = (node, tuple(set(self._log[start:])))
        return node

    def _options(self, declaration: Declaration, use: int) -> list[tuple[int, int]]:
        """The expressions a name may hold at ``use``: the conditional assignments first (like a
        ternary's truthy branch), then the value they override (the initialiser, or the last
        unconditional assignment). An ``if``/``else`` whose every branch assigns (or leaves by
        ``return``/``throw``) overrides the value before it: that value never reaches ``use``;
        so does a ``switch`` whose every case and ``default`` does (see :meth:`_flow`).

        Example:
            >>> from convguard.extract._typescript import extract_typescript
            >>> source = '''
            ... function f(k: string) {
            ...   let order = Prisma.empty;
            ...   switch (k) {
            ...     case "new": order = Prisma.sql`id DESC`; break;
            ...     default: order = Prisma.sql`id`;
            ...   }
            ...   return prisma.$queryRaw`SELECT id FROM "Lead" ORDER BY ${order}`;
            ... }'''
            >>> [query.sql for query in extract_typescript("a.ts", source).queries]
            ['SELECT id FROM "Lead" ORDER BY id DESC', 'SELECT id FROM "Lead" ORDER BY id']
        """
        base: list[tuple[int, int]] = [declaration.init] if declaration.init is not None else []
        if declaration.keyword == "const":
            return base
        assignments = self._assignments(declaration, use)
        if not assignments:
            return base
        block = self._brace_of(declaration.token)
        conditional, base = self._flow(assignments, block, -1, ([], base), use)
        return conditional + base

    def _flow(self, assignments: list[tuple[int, tuple[int, int]]], block: int, statement: int,
              state: _Values, use: int, depth: int = 0) -> _Values:
        """The values after ``assignments`` (in source order, all inside block ``block``, or in
        the single-statement branch starting at ``statement``), from ``state`` before them.
        ``if``/``else``, ``switch`` and ``try`` statements directly in the block are followed
        branch by branch; loops (and past ``_MAX_IF_DEPTH`` nested statements, anything) make
        an assignment simply conditional."""
        conditional, base = state
        position = 0
        while position < len(assignments):
            token, rhs = assignments[position]
            chain = self._chain_in(token, block) \
                if statement < 0 and depth < _MAX_IF_DEPTH else None
            if chain is None:
                if (token == statement) if statement >= 0 else \
                        not self._conditional(token, block):
                    conditional, base = [], [rhs]
                elif rhs not in conditional:
                    conditional = [*conditional, rhs]
                position += 1
                continue
            inside = []
            while position < len(assignments) and assignments[position][0] < chain.end:
                inside.append(assignments[position])
                position += 1
            if isinstance(chain, _Switch):
                conditional, base = self._switch_flow(chain, inside, (conditional, base), use,
                                                      depth)
            elif isinstance(chain, _Try):
                conditional, base = self._try_flow(chain, inside, (conditional, base), use,
                                                   depth)
            else:
                conditional, base = self._if_flow(chain, inside, block, (conditional, base),
                                                  use, depth)
        return conditional, base

    def _if_flow(self, chain: _If, inside: list[tuple[int, tuple[int, int]]], block: int,
                 state: _Values, use: int, depth: int) -> _Values:
        """The values after an ``if`` statement: every branch assigning (or leaving) replaces
        the values before it; without ``else`` they are kept beside the branches'."""
        conditional, base = state
        start, end = chain.start, chain.end
        outs: list[_Values] = []
        for first, stop in chain.branches:
            if start < use < end and not first <= use < stop:
                continue  # `use` is in another branch: this one never runs before it
            mine = [item for item in inside if first <= item[0] < stop]
            branch_block, branch_statement = (first, -1) if self.x.text(first) == "{" \
                else (block, first)
            out = self._flow(mine, branch_block, branch_statement, state, use, depth + 1)
            if not (first <= use < stop) and self._leaves(first, stop):
                continue  # the branch returns or throws: its values never reach `use`
            outs.append(out)
        if start < use < end:
            return outs[0] if outs else state
        reaching = _reaching(outs)
        if chain.has_else:
            return [], reaching
        before = set(conditional) | set(base)
        return [*conditional, *(value for value in reaching if value not in before)], base

    def _switch_flow(self, chain: _Switch, inside: list[tuple[int, tuple[int, int]]],
                     state: _Values, use: int, depth: int) -> _Values:
        """The values after a ``switch``: each case runs from its label through the cases it
        falls into, up to a ``break``; one that returns, throws or continues never reaches
        ``use``. With a ``default`` label the cases replace the values before the switch;
        without one those values are kept (no case may match)."""
        cases = chain.cases
        starts = [case.first for case in cases]
        mine: list[list[tuple[int, tuple[int, int]]]] = [[] for _ in cases]
        for item in inside:
            number = bisect.bisect_right(starts, item[0]) - 1
            if number >= 0 and item[0] < cases[number].cut:  # not dead code after a `break`
                mine[number].append(item)
        holder = next((number for number, case in enumerate(cases)
                       if case.first <= use < case.stop), -1)
        if chain.start < use < chain.end and holder < 0:
            return state  # in the discriminant or a label: before any case runs
        outs: list[_Values] = []
        flows = 0
        for entry in range(len(cases) if holder < 0 else holder + 1):
            current = state
            for number in range(entry, len(cases)):
                if mine[number]:
                    flows += 1
                    if flows > _MAX_SWITCH_FLOWS:
                        conditional, base = state
                        return _union(conditional, [rhs for _, rhs in inside]), base
                    current = self._flow(mine[number], chain.brace, -1, current, use,
                                         depth + 1)
                if number == holder:
                    outs.append(current)
                    break
                how = cases[number].how
                if how:
                    if how == "break" and holder < 0:
                        outs.append(current)
                    break
            else:
                if holder < 0:
                    outs.append(current)  # the last case falls off the end of the switch
        if holder >= 0:
            return outs[0] if len(outs) == 1 else ([], _reaching(outs))
        reaching = _reaching(outs)
        conditional, base = state
        if chain.has_default:
            return [], reaching
        before = set(conditional) | set(base)
        return [*conditional, *(value for value in reaching if value not in before)], base

    def _try_flow(self, chain: _Try, inside: list[tuple[int, tuple[int, int]]],
                  state: _Values, use: int, depth: int) -> _Values:
        """The values after ``try``/``catch``/``finally``. The ``try`` block may throw anywhere,
        so the ``catch`` starts from the values before it or any value the block assigns: the
        earlier values reach past the statement unless both blocks assign unconditionally (or
        the ``catch`` leaves by ``return``/``throw``)."""

        def part(block: tuple[int, int]) -> list[tuple[int, tuple[int, int]]]:
            return [item for item in inside if block[0] <= item[0] < block[1]]

        def holds(block: tuple[int, int] | None) -> bool:
            return block is not None and block[0] < use < block[1]

        body, handler, finalizer = chain.body, chain.handler, chain.finalizer
        assigned = [rhs for _, rhs in part(body)]
        after_try = self._flow(part(body), body[0], -1, state, use, depth + 1)
        if holds(body):
            return after_try
        anywhere = _union(*state, *after_try, assigned)  # where a throw may leave the block
        outs = [] if self._leaves(*body) else [after_try]
        if handler is not None:
            after_catch = self._flow(part(handler), handler[0], -1, ([], anywhere), use,
                                     depth + 1)
            if holds(handler):
                return after_catch
            if not self._leaves(*handler):
                outs.append(after_catch)
            anywhere = _union(anywhere, *after_catch,
                              [rhs for _, rhs in part(handler)])
        if finalizer is None:
            return [], _reaching(outs)
        entering = anywhere if holds(finalizer) else _reaching(outs)
        return self._flow(part(finalizer), finalizer[0], -1, ([], entering), use, depth + 1)

    def _chain_in(self, token: int, block: int) -> _Statement | None:
        """The statement directly in ``block`` (``if``, ``switch`` or ``try``, not the body of
        a loop or of an ``if`` without braces) that holds ``token``."""
        top = self._brace_of(token)
        if top == block:
            top = token  # a single-statement branch starting at `token`
        else:
            while top >= 0 and self._brace_of(top) != block:
                top = self._brace_of(top)
            if top < 0:
                return None
        chain = self._statements().get(top)
        if chain is None or self._controlled(chain.start) or (
                isinstance(chain, _Switch) and not chain.regular):
            return None
        return chain

    def _controlled(self, token: int) -> bool:
        """Is the statement at ``token`` the body of a loop, an ``if`` or an ``else`` written
        without braces (it may not run at all)?"""
        x = self.x
        previous = x.text(token - 1)
        if previous in ("else", "do"):
            return True
        opening = x.match[token - 1] if previous == ")" else -1
        return 0 <= opening < token - 1 and x.text(opening - 1) in (
            "if", "for", "while", "with", "await")

    def _statements(self) -> dict[int, _Statement]:
        """First token of every ``if``/``else`` branch, ``{`` of every ``switch`` body and of
        every ``try``/``catch``/``finally`` block (and of a bare block after a ``case`` label)
        -> its statement."""
        if self._chains is None:
            x = self.x
            chains: dict[int, _Statement] = {}
            self._chains = chains
            for index in range(x.count):
                if x.kinds[index] != "ident" or x.text(index - 1) in (".", "?."):
                    continue
                word = x.texts[index]
                if word == "if" and x.text(index - 1) != "else" and x.text(index + 1) == "(":
                    chain = self._if_chain(index)
                    if chain is not None:
                        statement = _If(chain[0], chain[1], tuple(chain[2]), chain[3])
                        for first, _ in chain[2]:
                            chains[first] = statement
                elif word == "switch" and x.text(index + 1) == "(":
                    switch = self._switch(index)
                    if switch is not None:
                        chains[switch.brace] = switch
                        for case in switch.cases:
                            if x.text(case.first) == "{" and x.match[case.first] > case.first:
                                stop = x.match[case.first] + 1
                                chains[case.first] = _If(case.first, stop,
                                                         ((case.first, stop),), True)
                elif word == "try" and x.text(index + 1) == "{":
                    attempt = self._try(index)
                    if attempt is not None:
                        for block in (attempt.body, attempt.handler, attempt.finalizer):
                            if block is not None:
                                chains[block[0]] = attempt
        return self._chains

    def _switch(self, keyword: int) -> _Switch | None:
        x = self.x
        close = x.match[keyword + 1]
        brace = close + 1
        if close <= keyword + 1 or x.text(brace) != "{" or x.match[brace] <= brace:
            return None
        end_brace = x.match[brace]
        labels: list[tuple[int, int]] = []  # (label, its colon)
        token = brace + 1
        while token < end_brace:
            word = x.texts[token]
            if x.kinds[token] == "ident" and word in ("case", "default") \
                    and x.text(token - 1) not in (".", "?."):
                colon = token + 1
                pending = 0
                while colon < end_brace and not (x.texts[colon] == ":" and pending == 0):
                    pending += x.texts[colon] == "?"
                    pending -= x.texts[colon] == ":"
                    colon = x.forward(colon)
                if colon >= end_brace:
                    return None
                labels.append((token, colon))
                self._case_colons.add(colon)
                token = colon + 1
                continue
            token = x.forward(token)
        cases = []
        terminators: set[int] = set()
        for number, (_, colon) in enumerate(labels):
            stop = labels[number + 1][0] if number + 1 < len(labels) else end_brace
            cut, how = self._case_end(colon + 1, stop)
            if how:
                terminators.add(cut)
            cases.append(_Case(colon + 1, stop, cut, how))
        regular = all(index in terminators for index in self._breaks().get(brace, ()))
        return _Switch(keyword, end_brace + 1, brace, tuple(cases),
                       any(x.texts[label] == "default" for label, _ in labels), regular)

    def _case_end(self, first: int, stop: int, nested: bool = False) -> tuple[int, str]:
        """Where a case's statements end: its first ``break`` (or ``return``/``throw``/
        ``continue``) at its own top level or in a block right after its label."""
        x = self.x
        token = first
        while token < stop:
            if x.texts[token] == "{" and token == first and not nested \
                    and x.match[token] > token:
                cut, how = self._case_end(token + 1, x.match[token], nested=True)
                if how:
                    return cut, how
                token = x.match[token] + 1
                continue
            word = x.texts[token]
            if x.kinds[token] == "ident" and word in ("break", "return", "throw", "continue") \
                    and x.text(token - 1) not in (".", "?.") and not self._controlled(token):
                return token, "break" if word == "break" else "leave"
            token = x.forward(token)
        return stop, ""

    def _breaks(self) -> dict[int, list[int]]:
        """The ``{`` of a ``switch`` body -> every unlabelled ``break`` that leaves it (the
        innermost loop or switch around a ``break`` is the one it leaves)."""
        if self._switch_breaks is not None:
            return self._switch_breaks
        x = self.x
        targets: dict[int, list[int]] = {}
        self._switch_breaks = targets
        for token in range(x.count):
            if x.texts[token] != "break" or x.kinds[token] != "ident" \
                    or x.text(token - 1) in (".", "?."):
                continue
            block = self._brace_of(token)
            while block >= 0:
                before = x.text(block - 1)
                if before == "do":
                    break
                if before == ")" and x.match[block - 1] >= 0:
                    keyword = x.text(x.match[block - 1] - 1)
                    if keyword == "switch":
                        targets.setdefault(block, []).append(token)
                    if keyword in _LOOP_KEYWORDS or keyword == "await":
                        break
                block = self._brace_of(block)
        return targets

    def _try(self, keyword: int) -> _Try | None:
        x = self.x

        def block_at(token: int) -> tuple[int, int] | None:
            if x.text(token) != "{" or x.match[token] <= token:
                return None
            return token, x.match[token] + 1

        body = block_at(keyword + 1)
        if body is None:
            return None
        end = body[1]
        handler = finalizer = None
        if x.text(end) == "catch":
            brace = end + 1
            if x.text(brace) == "(" and x.match[brace] > brace:
                brace = x.match[brace] + 1
            handler = block_at(brace)
            if handler is None:
                return None
            end = handler[1]
        if x.text(end) == "finally":
            finalizer = block_at(end + 1)
            if finalizer is None:
                return None
            end = finalizer[1]
        return _Try(keyword, end, body, handler, finalizer)

    def _if_chain(self, if_token: int, depth: int = 0
                  ) -> tuple[int, int, list[tuple[int, int]], bool] | None:
        x = self.x
        if depth > _MAX_IF_DEPTH:
            return None
        branches: list[tuple[int, int]] = []
        token = if_token
        for _ in range(10_000):
            paren = token + 1
            if x.text(paren) != "(" or x.match[paren] <= paren:
                return None
            body = x.match[paren] + 1
            end = self._statement_end(body, depth)
            if end <= body:
                return None
            branches.append((body, end))
            if x.text(end) != "else":
                return if_token, end, branches, False
            if x.text(end + 1) == "if":
                token = end + 1
                continue
            last = self._statement_end(end + 1, depth)
            if last <= end + 1:
                return None
            branches.append((end + 1, last))
            return if_token, last, branches, True
        return None

    def _statement_end(self, first: int, depth: int = 0) -> int:
        """The index after the statement starting at ``first`` (a block or one statement)."""
        x = self.x
        if first >= x.count:
            return first
        if x.texts[first] == "{":
            return x.match[first] + 1 if x.match[first] > first else first
        if x.texts[first] == "if":
            chain = self._if_chain(first, depth + 1)
            return chain[1] if chain is not None else first
        end = x._expression_end(first, {})
        return end + 1 if x.text(end) == ";" else end

    def _leaves(self, first: int, stop: int) -> bool:
        """Does the branch ``first..stop`` end by ``return``/``throw`` at its own top level?"""
        x = self.x
        if x.texts[first] != "{":
            return x.texts[first] in ("return", "throw")
        # `if (c) return;` at the branch's top level leaves only sometimes
        return any(x.kinds[index] == "ident" and x.texts[index] in ("return", "throw")
                   and self._brace_of(index) == first and not self._controlled(index)
                   for index in range(first + 1, stop))

    def _declared_options(self, declaration: Declaration, options: list[tuple[int, int]],
                          inner: Context) -> Node | None:
        x = self.x
        nodes = []
        for option in options:
            node = self.resolve(*option, inner)
            nodes.append((node, option))
        if not nodes:
            if declaration.init is None and _SQL_TYPE.search(self._type_text(declaration)):
                return Opaque(declaration.name, _UNSET, _UNSET)
            return None
        if len(nodes) == 1:
            return nodes[0][0]
        if all(node is None for node, _ in nodes):
            return None
        line = x.host.position(x.starts[declaration.token]).line
        return Choice(tuple(node if node is not None else Value(
            x.source(*option), "value", x.starts[option[0]], x.ends[option[1] - 1])
            for node, option in nodes), f"`{declaration.name}` (line {line})")

    def _type_text(self, declaration: Declaration) -> str:
        x = self.x
        after = declaration.token + 1
        if x.text(after) != ":":
            return ""
        index = after + 1
        while index < x.count and x.texts[index] not in ("=", ";") and index < after + 32:
            index += 1
        return x.tokens_text(after + 1, index)

    def _assignments(self, declaration: Declaration, use: int
                     ) -> list[tuple[int, tuple[int, int]]]:
        """``name = expr`` after the declaration and before ``use`` (not around it)."""
        return [(token, rhs) for token, rhs in self._all_assignments(declaration)
                if token < use and not token < use < rhs[1]]

    def _all_assignments(self, declaration: Declaration) -> list[tuple[int, tuple[int, int]]]:
        """Every ``name = expr`` in the declaration's scope after it (found once)."""
        cached = self._assigned.get(declaration.token)
        if cached is not None:
            return cached
        x = self.x
        found: list[tuple[int, tuple[int, int]]] = []
        texts, kinds = x.texts, x.kinds
        name = declaration.name
        index = declaration.token + 1
        scope = self.innermost(declaration.token)
        limit = scope.close if scope is not None else x.count - 1
        self._assigned[declaration.token] = found
        while index < limit:
            if (kinds[index] == "ident" and texts[index] == name and texts[index + 1] == "="
                    and kinds[index + 1] == "punct"
                    and texts[index - 1] not in (".", "?.", "const", "let", "var")):
                end = x._expression_end(index + 2, {})
                if self.lookup(index)[1] is declaration:  # not a shadowing inner name
                    found.append((index, (index + 2, end)))
                index = max(end, index + 1)
                continue
            index += 1
        return found

    def _conditional(self, token: int, base: int) -> bool:
        """Is the statement at ``token`` conditional relative to a declaration in block ``base``?"""
        x = self.x
        if self._brace_of(token) != base:
            return True
        previous = x.text(token - 1)
        if previous == ":" and token - 1 in self._case_labels():
            return False  # `case X: name = ...` runs whenever that case does
        return previous in (")", "else", "?", ":", "&&", "||", "??")

    def _case_labels(self) -> set[int]:
        """The ``:`` ending every ``case``/``default`` label."""
        self._statements()
        return self._case_colons

    def _brace_of(self, token: int) -> int:
        """The ``{`` of the innermost block around ``token`` (-1 at the top level)."""
        if self._braces is None:
            x = self.x
            braces = [-1] * x.count
            stack: list[int] = []
            kinds, texts, match = x.kinds, x.texts, x.match
            for index in range(x.count):
                if kinds[index] == "punct":
                    word = texts[index]
                    if word == "}" and stack and match[index] == stack[-1]:
                        stack.pop()
                    braces[index] = stack[-1] if stack else -1
                    if word == "{" and match[index] > index:
                        stack.append(index)
                else:
                    braces[index] = stack[-1] if stack else -1
            self._braces = braces
        return self._braces[token] if 0 <= token < len(self._braces) else -1

    def _call(self, first: int, end: int, context: Context) -> Node | None:
        x = self.x
        name = x.texts[first]
        function = self._function_named(name, first)
        if function is None:
            kind = self.lookup(first)[0]
            if kind == "import":
                return self._imported(name, self.imports[name][1], x.source(first, end))
            if kind == "none" and name in _VALUE_GLOBALS:
                return None
            # a global or a function held in a name: a value where `$n` parses, else opaque
            return Value(x.source(first, end), "value", _UNSET, _UNSET, ambiguous=True)
        return self._applied(function, first, end, first + 1, name, context)

    def _applied(self, function: Function, first: int, end: int, paren: int, name: str,
                 context: Context) -> Node | None:
        """The call ``first .. end`` of a same-file ``function``, its arguments opening at
        ``paren``: what its returns denote with the arguments bound (a choice of them), None when
        all are values."""
        x = self.x
        if function.open in context.stack:
            return Opaque(x.source(first, end), _UNSET, _UNSET)
        arguments = self._arguments(paren)
        bindings = tuple((function.open, param.name, *arguments[number], context)
                         for number, param in enumerate(function.params)
                         if number < len(arguments))
        inner = Context(bindings + context.bindings, context.stack | {function.open},
                        context.depth + 1)
        nodes = []
        for body in self._returns_of(function):
            node = self.resolve(*body, inner)
            nodes.append((node, body))
        if not nodes or all(node is None for node, _ in nodes):
            return None
        if len(nodes) == 1:
            return nodes[0][0]
        line = x.host.position(x.starts[first]).line
        return Choice(tuple(node if node is not None else Value(
            x.source(*body), "value", x.starts[body[0]], x.ends[body[1] - 1])
            for node, body in nodes), f"`{name}()` return (line {line})")

    # -- scopes --------------------------------------------------------------------------------

    def _functions(self) -> list[Function]:
        x = self.x
        functions: list[Function] = []
        for brace in x.brace_opens:
            close = x.match[brace]
            if close <= brace:
                continue
            params: tuple[Param, ...] | None
            if x.text(brace - 1) == "=>":
                params = self._arrow_params(brace - 1)
            else:
                if x._block_owner(brace) is None:
                    continue
                params = self._params_before(brace)
                if params is None:
                    continue
            name = self._function_name(brace)
            functions.append(Function(brace, close, name, params or (), False))
        ends: dict[int, int] = {}
        for arrow in reversed(x.arrows):
            if x.text(arrow + 1) == "{":
                continue
            end = x._expression_end(arrow + 1, ends)
            ends[arrow] = end
            params = self._arrow_params(arrow)
            functions.append(Function(arrow, end, self._function_name(arrow), params or (), True))
        functions.sort(key=lambda function: (function.open, -function.close))
        return functions

    def _function_name(self, token: int) -> str | None:
        x = self.x
        owner = x._arrow_owner(token if x.text(token) == "=>" else token - 1) \
            if x.text(token) == "=>" or x.text(token - 1) == "=>" else x._block_owner(token)
        return owner[0] if owner else None

    def _params_before(self, brace: int) -> tuple[Param, ...] | None:
        close = self.x._params_close_before(brace)
        if close < 0:
            return None
        return self._params(self.x.match[close], close)

    def _arrow_params(self, arrow: int) -> tuple[Param, ...]:
        x = self.x
        close = x._params_close_before(arrow)
        if close >= 0:
            return self._params(x.match[close], close)
        if x.kind(arrow - 1) == "ident":
            return (Param(x.texts[arrow - 1], arrow - 1, False, False),)
        return ()

    def _params(self, open_: int, close: int) -> tuple[Param, ...]:
        x = self.x
        params: list[Param] = []
        for first, end in self._arguments(open_):
            while first < end and (x.texts[first] in _MODIFIERS or x.texts[first] == "..."):
                first += 1
            if first >= end or x.kinds[first] != "ident":
                params.extend(Param(x.texts[token], token, False, True)  # typed by the pattern
                              for token in self._pattern_names(first, end))
                continue
            colon = first + 1
            if x.text(colon) == "?":
                colon += 1
            typed = x.text(colon) == ":"
            type_end = colon + 1
            while typed and type_end < end and x.texts[type_end] != "=":
                type_end = x.forward(type_end)
            type_text = x.tokens_text(colon + 1, type_end) if typed else ""
            params.append(Param(x.texts[first], first, bool(_SQL_TYPE.search(type_text)), typed))
        return tuple(params)

    def _pattern_names(self, first: int, end: int) -> list[int]:
        """The names a destructuring pattern ``{ a, b: c, ...d }``/``[e, f = 1]`` binds."""
        x = self.x
        if first >= end or x.texts[first] not in ("{", "[") or x.match[first] < first:
            return []
        names = []
        for token in range(first + 1, min(x.match[first], end)):
            if (x.kinds[token] == "ident" and x.text(token + 1) in (",", "}", "]", "=")
                    and x.text(token - 1) in ("{", ",", ":", "[", "...")):
                names.append(token)
        return names

    def innermost(self, token: int) -> Function | None:
        if token in self._innermost:
            return self._innermost[token]
        position = bisect.bisect_left(self.function_starts, token) - 1
        found = None
        while position >= 0:
            function = self.functions[position]
            if function.open < token < function.close:
                found = function
                break
            position -= 1
        self._innermost[token] = found
        return found

    def _parent(self, function: Function) -> Function | None:
        return self.innermost(function.open)

    def _declarations(self) -> dict[str, list[Declaration]]:
        x = self.x
        found: dict[str, list[Declaration]] = {}
        arrow_ends: dict[int, int] = {}
        for keyword in x.const_tokens:
            name = keyword + 1
            if x.text(name) in ("{", "["):  # `const { from, to } = ...`: values, none a fragment
                for token in self._pattern_names(name, x.match[name] + 1):
                    found.setdefault(x.texts[token], []).append(
                        Declaration(x.texts[token], token, "destructured", None, None,
                                    keyword))
                continue
            if x.kind(name) != "ident":
                continue
            equals = name + 1
            if x.text(equals) == ":":
                equals = x._find_forward(equals + 1, "=")
            init = None
            if equals >= 0 and x.text(equals) == "=":
                init = (equals + 1, x._expression_end(equals + 1, arrow_ends))
            elif x.texts[keyword] == "const" and x.text(name + 1) not in ("of", "in"):
                continue  # `for (const x of xs)` declares a value; `const enum` none
            found.setdefault(x.texts[name], []).append(
                Declaration(x.texts[name], name, x.texts[keyword], init, None, keyword))
        return found

    def _declaration(self, name: str, use: int) -> Declaration | None:
        function = self.innermost(use)
        while function is not None:
            declaration = self._declaration_in(name, use, function)
            if declaration is not None:
                return declaration
            function = self._parent(function)
        return self._declaration_in(name, use, None)

    def _declaration_in(self, name: str, use: int, function: Function | None
                        ) -> Declaration | None:
        """The nearest declaration of ``name`` made directly in ``function`` (None: the module),
        preceding ``use`` when it is in the same function; else any (hoisted into a closure)."""
        scopes = self._declared_in.get(name)
        if scopes is None:
            scopes = self._declared_in[name] = {}
            for declaration in self.declarations.get(name, ()):
                owner = self.innermost(declaration.token)
                scopes.setdefault(owner.open if owner is not None else -1, []).append(declaration)
        candidates = scopes.get(function.open if function is not None else -1)
        if not candidates:
            return None
        best = None
        for declaration in candidates:  # in source order
            if declaration.init is not None and declaration.init[0] <= use < declaration.init[1]:
                continue
            if not self._in_block_of(declaration, use):
                continue
            if declaration.token < use:
                best = declaration
            elif best is None and function is not self.innermost(use):
                best = declaration
        return best

    def _in_block_of(self, declaration: Declaration, use: int) -> bool:
        """Is ``use`` inside the block that scopes ``declaration``? ``const``/``let`` (and
        destructuring) are block-scoped: one declared in an ``if`` body or a loop is not seen
        after it. ``var`` is function-scoped."""
        if declaration.keyword == "var":
            return True
        block = self._brace_of(declaration.keyword_token)
        return block < 0 or block < use < self.x.match[block]

    def _function_named(self, name: str, use: int) -> Function | None:
        found = [function for function in self.functions if function.name == name]
        if not found:
            return None
        for function in found:
            parent = self._parent(function)
            if parent is None or parent.open < use < parent.close:
                return function
        return found[0]

    def _returns_of(self, function: Function) -> list[tuple[int, int]]:
        if function.expression_body:
            return [(function.open + 1, function.close)]
        cached = self._returns.get(function.open)
        if cached is not None:
            return cached
        x = self.x
        found = []
        for index in range(function.open + 1, function.close):
            if x.kinds[index] == "ident" and x.texts[index] == "return" \
                    and self.innermost(index) is function:
                found.append((index + 1, x._expression_end(index + 1, {})))
        self._returns[function.open] = found
        return found

    def _imports(self) -> dict[str, tuple[str, str]]:
        """Imported name -> (module specifier, exported name: ``default``, ``*`` for a
        namespace, else the name the module exports)."""
        x = self.x
        names: dict[str, tuple[str, str]] = {}
        for index in range(x.count):
            if x.kinds[index] != "ident" or x.texts[index] != "import":
                continue
            if index > 0 and x.texts[index - 1] not in (";", "}") and \
                    "\n" not in x.host.text[x.ends[index - 1]:x.starts[index]]:
                continue
            position = index + 1
            if x.text(position) == "type":
                continue
            found: list[tuple[str, str]] = []
            braced = False
            for _ in range(400):
                if position >= x.count or x.texts[position] == "from" or x.kinds[position] in (
                        "string",):
                    break
                word = x.texts[position]
                braced = (braced or word == "{") and word != "}"
                if x.kinds[position] == "ident" and word not in ("as", "type") and (
                        x.text(position + 1) in (",", "}", "from")
                        or x.text(position - 1) == "as"):
                    if x.text(position + 1) != "as":
                        exported = x.text(position - 2) if x.text(position - 1) == "as" \
                            else word if braced else "default"
                        found.append((word, exported))
                position += 1
            specifier = ""
            if x.text(position) == "from" and x.kind(position + 1) == "string":
                specifier = x.texts[position + 1][1:-1]
            for word, exported in found:
                names[word] = (specifier, exported)
        return names

    # -- token helpers -------------------------------------------------------------------------

    def _strip(self, first: int, end: int) -> tuple[int, int]:
        x = self.x
        while True:
            while end - first >= 2 and x.texts[first] == "(" and x.match[first] == end - 1:
                first, end = first + 1, end - 1
            if end - first >= 2 and x.kinds[first] == "ident" and x.texts[first] == "await":
                first += 1
                continue
            if end - first >= 2 and x.texts[end - 1] == "!":
                end -= 1
                continue
            if end - first >= 2 and x.texts[end - 1] == "as" and x.text(end) == "const":
                end -= 1  # `{ ... } as const`: the expression's end stopped at `const`
                continue
            if end - first >= 3 and x.texts[end - 2] in ("as", "satisfies") \
                    and x.kinds[end - 1] == "ident":
                end -= 2
                continue
            if end - first >= 5 and x.texts[end - 4] in ("as", "satisfies") \
                    and x.texts[end - 2] == ".":
                end -= 4
                continue
            return first, end

    def _fragment(self, first: int, end: int) -> int:
        x = self.x
        if end <= first:
            return -1
        index = x.template_index(end - 1)
        if index < 0 or x.kinds[end - 1] not in ("template", "template_tail"):
            return -1
        tag = self.tags.get(index)
        if tag is None or not tag.spliceable or tag.chain_start != first:
            return -1
        return index

    def _is_call(self, first: int, end: int, callee: tuple[str, ...]) -> bool:
        x = self.x
        size = len(callee)
        return (end - first >= size + 2 and x.texts[first:first + size] == callee
                and x.texts[first + size] == "(" and x.match[first + size] == end - 1)

    def _is_join(self, first: int, end: int) -> bool:
        return self._is_call(first, end, ("Prisma", ".", "join"))

    def _ternary(self, first: int, end: int) -> tuple[tuple[int, int], tuple[int, int]] | None:
        x = self.x
        question = colon = -1
        pending = 0
        index = first
        while index < end:
            if x.kinds[index] == "punct":
                word = x.texts[index]
                if word == "?":
                    if question < 0:
                        question = index
                    else:
                        pending += 1
                elif word == ":" and question >= 0:
                    if pending == 0:
                        colon = index
                        break
                    pending -= 1
            index = x.forward(index)
        if colon < 0:
            return None
        return self._strip(question + 1, colon), self._strip(colon + 1, end)


def _union(*groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The values of ``groups``, each once, in order."""
    return list(dict.fromkeys(value for group in groups for value in group))


def _reaching(outs: list[_Values]) -> list[tuple[int, int]]:
    """Every value the states ``outs`` may hold, each once, in order."""
    return _union(*(group for out in outs for group in out))


def _max_depth() -> int:
    return MAX_FRAGMENT_DEPTH


# -- from leaves to SQL ------------------------------------------------------------------------


def build(builder: _SqlBuilder, leaves: tuple[Leaf, ...], stand_ins: dict[int, str]
          ) -> list[OpaqueFragment]:
    """Write ``leaves`` into ``builder``; ``stand_ins`` (leaf position -> text) makes a leaf
    opaque. Returns the opaque fragments written."""
    opaque: list[OpaqueFragment] = []
    for position, leaf in enumerate(leaves):
        if isinstance(leaf, Text):
            builder.add_raw(leaf.start, leaf.end, string_quote=leaf.quote)
            builder.line_ranges.append((leaf.start, leaf.end))
        elif isinstance(leaf, Literal):
            builder.parts.append(leaf.text)
            builder.length += len(leaf.text)
        elif isinstance(leaf, Value) and position not in stand_ins:
            builder.add_placeholder(leaf.expression, leaf.kind, leaf.start, leaf.end)
            builder.line_ranges.append((leaf.start, leaf.end))
        else:
            text = stand_ins.get(position, "")
            opaque.append(OpaqueFragment(leaf.expression, text, builder.length,
                                         builder.length + len(text),
                                         builder.span(leaf.start, leaf.end)))
            builder.parts.append(text)
            builder.length += len(text)
            builder.line_ranges.append((leaf.start, leaf.end))
    return opaque


def settle(leaves: tuple[Leaf, ...], make_builder: Callable[[], _SqlBuilder],
           parser: PostgresParser | None
           ) -> tuple[_SqlBuilder, list[OpaqueFragment], str | None]:
    """Choose stand-ins for the opaque (and ambiguous) leaves so that PostgreSQL's parser accepts
    the statement, if any choice does.

    Ambiguous values are tried as ``$n`` first. A syntax error that lies before every flexible
    leaf is the statement's own (reported as CG001). Otherwise the flexible leaf just before the
    error takes its next stand-in. When none is left, the error is still the statement's own if at
    least two stand-ins got past the fragment and all failed at the same place after it (not at
    the first token after it); else the statement's syntax is unverified.

    Returns the builder, the opaque fragments and the reason syntax is unverified (or None).
    """
    flexible = [position for position, leaf in enumerate(leaves)
                if isinstance(leaf, Opaque) or (isinstance(leaf, Value) and leaf.ambiguous)]
    options: dict[int, tuple[str | None, ...]] = {
        position: ((None,) if isinstance(leaves[position], Value) else ()) + STAND_INS
        for position in flexible}
    choice = dict.fromkeys(flexible, 0)
    if any(isinstance(leaves[position], Value) for position in flexible):
        builder = make_builder()
        written = build(builder, leaves, {})
        starts = _leaf_starts(builder, leaves, written, {})
        for position in flexible:
            leaf = leaves[position]
            if isinstance(leaf, Value):
                start = starts[position]
                if clause_position(builder.sql, start, _placeholder_end(builder.sql, start)):
                    choice[position] = 1  # a whole condition or clause: SQL, not a value
    # per culprit: where each of its stand-ins that PostgreSQL parsed past failed, counted from
    # the end of the stand-in (the text after it is the same whatever the stand-in)
    past: dict[int, list[tuple[int, dict[int, int]]]] = {}
    for _ in range(4 * len(flexible) + 4):
        stand_ins = _stand_ins(choice, options)
        builder = make_builder()
        opaque = build(builder, leaves, stand_ins)
        if not flexible:
            return builder, opaque, None
        assert parser is not None, "a statement with opaque fragments is settled by a parser"
        _, error = parser(builder.sql)
        if error is None:
            return builder, opaque, None
        starts = _leaf_starts(builder, leaves, opaque, stand_ins)
        offset = error.offset if error.offset is not None else builder.length
        culprits = [position for position in flexible if starts[position] <= offset]
        if not culprits:
            return builder, opaque, None  # the statement's own syntax error
        culprit = culprits[-1]
        end = _leaf_end(builder.sql, starts[culprit], stand_ins.get(culprit))
        if builder.sql[end:offset].strip():  # not at the first token after the fragment
            past.setdefault(culprit, []).append((offset - end, dict(choice)))
        if choice[culprit] + 1 >= len(options[culprit]):
            places = {distance for distance, _ in past.get(culprit, ())}
            if len(past.get(culprit, ())) >= 2 and len(places) == 1:
                # every stand-in that gets past the fragment fails at the same place after it:
                # the statement's own error, whatever the fragment holds (reported as CG001)
                stand_ins = _stand_ins(past[culprit][0][1], options)
                builder = make_builder()
                return builder, build(builder, leaves, stand_ins), None
            names = ", ".join(f"${{{leaves[p].expression}}}"  # type: ignore[union-attr]
                              for p in flexible if stand_ins.get(p) is not None)
            return builder, opaque, (
                f"no stand-in for {names or 'the fragments convguard cannot see'} lets "
                f"PostgreSQL parse the statement ({error.message})")
        choice[culprit] += 1
    return builder, opaque, "the stand-ins for opaque fragments did not settle"


def _stand_ins(choice: dict[int, int], options: dict[int, tuple[str | None, ...]]
               ) -> dict[int, str]:
    """Leaf position -> stand-in text for the chosen options (None: the leaf stays ``$n``)."""
    chosen = {position: options[position][index] for position, index in choice.items()}
    return {position: text for position, text in chosen.items() if text is not None}


def _leaf_end(sql: str, start: int, stand_in: str | None) -> int:
    """The SQL offset after a flexible leaf written at ``start`` (a stand-in or ``$n``)."""
    return start + len(stand_in) if stand_in is not None else _placeholder_end(sql, start)


_CLAUSE_BEFORE = frozenset({"where", "and", "or", "on", "having", "by", "from", "join",
                            ""})
_CLAUSE_AFTER = frozenset({"and", "or", "order", "group", "limit", "offset", "having", "window",
                           "union", "except", "intersect", "where", "join", "left", "inner",
                           "right", "full", "cross", "from", "returning", "on", ";", ""})
_WORD_BEFORE = re.compile(r"(\w+|[^\w\s]?)\s*$")
_WORD_AFTER = re.compile(r"^\s*(\w+|[^\w\s]?)")


def _placeholder_end(sql: str, start: int) -> int:
    end = start + 1
    while end < len(sql) and sql[end].isdigit():
        end += 1
    return end


def clause_position(sql: str, start: int, end: int) -> bool:
    """Does ``sql[start:end]`` stand where a whole condition or clause goes (``AND ${x} ORDER``),
    rather than where a value does (``= ${x}``, ``${x}::date``)?

    Example:
        >>> clause_position("SELECT 1 WHERE a = 1 AND $1 ORDER BY 1", 25, 27)
        True
        >>> clause_position("SELECT 1 WHERE a = $1 ORDER BY 1", 19, 21)
        False
    """
    before = _WORD_BEFORE.search(sql[:start])
    after = _WORD_AFTER.match(sql[end:])
    word_before = (before.group(1) if before else "").lower()
    word_after = (after.group(1) if after else "").lower()
    return word_before in _CLAUSE_BEFORE and word_after in _CLAUSE_AFTER


def _leaf_starts(builder: _SqlBuilder, leaves: tuple[Leaf, ...], opaque: list[OpaqueFragment],
                 stand_ins: dict[int, str]) -> dict[int, int]:
    """SQL offset where each flexible leaf was written."""
    starts: dict[int, int] = {}
    opaque_iter = iter(opaque)
    placeholder_iter = iter(builder.placeholders)
    for position, leaf in enumerate(leaves):
        if isinstance(leaf, Value) and position not in stand_ins:
            placeholder = next(placeholder_iter)
            starts[position] = placeholder.sql_start
        elif isinstance(leaf, (Value, Opaque)):
            starts[position] = next(opaque_iter).sql_start
    return starts


__all__ = ["Context", "FragmentAssembler", "Root", "build", "settle"]
