"""Extract raw SQL from TypeScript/JavaScript: Prisma tagged templates and unsafe raw calls.

A tagged template whose tag is ``Prisma.sql``, ``<receiver>.$queryRaw``, ``<receiver>.$executeRaw``
(or a configured tag such as ``sql``) becomes an :class:`~convguard._model.ExtractedQuery`; each
top-level ``${expr}`` becomes ``$1``, ``$2``, ... as Prisma numbers them.

Choices worth knowing:

- Queries are what runs SQL: a ``$queryRaw``/``$executeRaw`` tagged template or call (type
  arguments allowed), and a ``Prisma.sql`` template that nothing in the file uses and whose text
  starts like a statement. A fragment is checked only inside the statements that use it.
- Fragments are followed through names, ternaries, ``if``/``else`` assignments, helpers, closures,
  ``Prisma.join`` of fragment arrays and ``Prisma.empty`` (see ``_ts_fragments``); each
  combination that can run is one query (``variant`` of ``variants``, bounded by
  ``MAX_VARIANTS`` with every branch covered), the first one taking every first branch.
- Fragments convguard cannot see (a ``Prisma.Sql`` parameter, a fragment from another module)
  are opaque: never a ``$n``, a neutral stand-in under which PostgreSQL's parser accepts the
  statement. Imports from the application's own modules are read to tell fragments from values
  (``_ts_modules``).
- ``function`` is the nearest enclosing *named* function (declarations, methods, arrow functions
  or function expressions assigned to a name or an object key); anonymous callbacks are
  transparent.
- ``transaction`` numbers the ``$transaction(async (tx) => ...)`` callbacks and
  ``$transaction([...])`` arrays that contain queries, from 1 in source order (a
  ``tx.$queryRaw(query)`` call is the query, wherever ``query`` was built).
- ``$queryRawUnsafe``/``$executeRawUnsafe`` called with one plain string (or a template without
  interpolations) also yield a query, so that ``SET LOCAL statement_timeout`` statements are seen.
- Template text is taken raw, except that ``\\``` and ``\\${`` yield a backtick and ``${``.

Example:
    >>> source = "const rows = await prisma.$queryRaw`SELECT * FROM t WHERE id = ${id}`;"
    >>> query = extract_typescript("a.ts", source).queries[0]
    >>> query.sql, query.tag, query.placeholders[0].expression
    ('SELECT * FROM t WHERE id = $1', 'prisma.$queryRaw', 'id')
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from convguard._errors import ExtractionError
from convguard._model import (
    ExtractedQuery,
    ExtractionResult,
    HostText,
    OpaqueFragment,
    Placeholder,
    PlaceholderKind,
    Segment,
    Span,
    UnsafeCall,
)
from convguard.extract._assembly import MAX_FRAGMENT_DEPTH, MAX_VARIANTS, Literal, Text, Value
from convguard.extract._ts_lexer import REGEX_AFTER_KEYWORDS, Lexed, Template, lex
from convguard.extract._ts_fragments import Root
from convguard.extract._ts_modules import Kind, imported_kind

RAW_TAG_METHODS = frozenset({"$queryRaw", "$executeRaw"})
UNSAFE_METHODS = frozenset({"$queryRawUnsafe", "$executeRawUnsafe"})

_NO_JSX_SUFFIXES = frozenset({".ts", ".mts", ".cts"})
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_CONTROL_KEYWORDS = frozenset({"if", "for", "while", "switch", "catch", "with", "await", "case"})
_STATEMENT_KEYWORDS = frozenset({
    "const", "let", "var", "return", "if", "for", "while", "export", "import", "throw", "switch",
    "try",
})
_TYPE_MODIFIERS = frozenset({"keyof", "typeof", "readonly", "infer", "is", "asserts", "unique"})
_CONTINUATION_WORDS = frozenset({"as", "satisfies", "instanceof", "in", "of", "extends"})
_VALUE_END_KINDS = frozenset({"ident", "number", "string", "regex", "template", "template_tail"})
_OPERATOR_WORDS = REGEX_AFTER_KEYWORDS
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_SCAN_LIMIT = 64
_SUPPRESSION = re.compile(r"convguard-ignore\b:?\s*((?:[A-Za-z]+\d+)(?:\s*,?\s*[A-Za-z]+\d+)*)")
_CODE = re.compile(r"[A-Za-z]+\d+")
_WHITESPACE = re.compile(r"\s+")


def extract_typescript(path: str, text: str, *, tags: Sequence[str] = ()) -> ExtractionResult:
    """Extract the raw SQL queries and unsafe raw calls of one TypeScript/JavaScript file.

    ``tags`` adds tag names (as written, e.g. ``"sql"`` or ``"db.sql"``) to the built-in
    ``Prisma.sql``, ``$queryRaw`` and ``$executeRaw``; configured tags are spliceable fragments
    like ``Prisma.sql``. JSX is recognised except in ``.ts``/``.mts``/``.cts`` files.

    Raises:
        ExtractionError: when the file cannot be lexed (unterminated string, comment or template,
            unbalanced ``${``) or fragments nest deeper than ``MAX_FRAGMENT_DEPTH``.

    Example:
        >>> source = '''
        ... export async function stats(clientId?: string) {
        ...   return prisma.$transaction(async (tx) => {
        ...     await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 10000");
        ...     const c = clientId ? Prisma.sql`AND c = ${clientId}` : Prisma.empty;
        ...     return tx.$queryRaw`SELECT 1 ${c}`;
        ...   });
        ... }'''
        >>> result = extract_typescript("a.ts", source)
        >>> [(q.sql, q.function, q.transaction, q.variant) for q in result.queries]
        ... # doctest: +NORMALIZE_WHITESPACE
        [('SET LOCAL statement_timeout = 10000', 'stats', 1, 1),
         ('SELECT 1 AND c = $1', 'stats', 1, 1), ('SELECT 1 ', 'stats', 1, 2)]
        >>> result.unsafe_calls[0].callee, result.unsafe_calls[0].dynamic
        ('tx.$executeRawUnsafe', False)
    """
    jsx = PurePath(path).suffix.lower() not in _NO_JSX_SUFFIXES
    lexed = lex(text, path=path, jsx=jsx)
    return _Extractor(path, lexed, tuple(tags)).run()


# -- internal records ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Region:
    """A token range (``start < i < end``) owned by a named function and/or a transaction."""

    start: int
    end: int
    name: str | None
    transaction: int | None  # token index of the `$transaction` callee


@dataclass(frozen=True, slots=True)
class _Tag:
    chain_start: int  # token index where the tag expression starts
    text: str
    spliceable: bool  # Prisma.sql or a configured tag (not $queryRaw/$executeRaw)


@dataclass(frozen=True, slots=True)
class _Call:
    callee_start: int
    callee: int  # token index of the method name
    paren: int


class _SqlBuilder:
    """Accumulates SQL text, its offset map and placeholders while a query is assembled."""

    def __init__(self, host: HostText, spans: dict[tuple[int, int], Span] | None = None) -> None:
        self.host = host
        self.spans = spans if spans is not None else {}
        self.parts: list[str] = []
        self.length = 0
        self.segments: list[Segment] = []
        self.placeholders: list[Placeholder] = []
        self.line_ranges: list[tuple[int, int]] = []
        self.templates: list[int] = []

    def add_verbatim(self, start: int, end: int) -> None:
        if end <= start:
            return
        self.segments.append(Segment(self.length, start, end - start))
        self.parts.append(self.host.text[start:end])
        self.length += end - start

    def add_raw(self, start: int, end: int, *, string_quote: str = "") -> None:
        """Add host text ``start..end``, dropping the backslash of the escapes that denote a
        character SQL must see unescaped (``\\``` and ``\\${`` in templates; ``\\'``, ``\\"``,
        ``\\\\`` and line continuations in string literals)."""
        text = self.host.text
        run_start = index = start
        while True:
            slash = text.find("\\", index, end)
            if slash < 0 or slash + 1 >= end:
                break
            following = text[slash + 1]
            index = slash + 2
            if string_quote:
                if following in "'\"\\`":
                    self.add_verbatim(run_start, slash)
                    run_start = slash + 1
                elif following in "\r\n":
                    self.add_verbatim(run_start, slash)
                    skip = 3 if text.startswith("\r\n", slash + 1) else 2
                    run_start = index = min(slash + skip, end)
            elif following == "`" or (following == "$" and text.startswith("{", slash + 2)):
                self.add_verbatim(run_start, slash)
                run_start = slash + 1
        self.add_verbatim(run_start, end)

    def add_placeholder(self, expression: str, kind: PlaceholderKind, start: int, end: int) -> None:
        index = len(self.placeholders) + 1
        marker = f"${index}"
        self.placeholders.append(Placeholder(
            index=index,
            expression=expression,
            kind=kind,
            sql_start=self.length,
            sql_end=self.length + len(marker),
            host_span=self.span(start, end),
        ))
        self.parts.append(marker)
        self.length += len(marker)

    def span(self, start: int, end: int) -> Span:
        """``Span.of`` memoised across the combinations of one call site."""
        span = self.spans.get((start, end))
        if span is None:
            span = self.spans[(start, end)] = Span.of(self.host, start, end)
        return span

    @property
    def sql(self) -> str:
        return "".join(self.parts)


# -- the extractor ---------------------------------------------------------------------------


class _Extractor:
    def __init__(self, path: str, lexed: Lexed, tags: tuple[str, ...]) -> None:
        self.path = path
        self.lexed = lexed
        self.host = HostText(path, lexed.text)
        self.tags = frozenset(_WHITESPACE.sub("", tag) for tag in tags)
        self.kinds = lexed.kinds
        self.texts = lexed.texts
        self.starts = lexed.starts
        self.ends = lexed.ends
        self.count = len(lexed.kinds)
        self.match = [-1] * self.count
        self.brace_opens: list[int] = []
        self.arrows: list[int] = []
        self.transactions: list[int] = []
        self.unsafe: list[int] = []
        self.raw_calls: list[int] = []
        self.const_tokens: list[int] = []
        self.consumed: set[int] = set()

    # -- token helpers -----------------------------------------------------------------------

    def text(self, index: int) -> str:
        return self.texts[index] if 0 <= index < self.count else ""

    def kind(self, index: int) -> str:
        return self.kinds[index] if 0 <= index < self.count else ""

    def source(self, first: int, end: int) -> str:
        """Host text of tokens ``first..end-1``, stripped."""
        if end <= first:
            return ""
        return self.host.text[self.starts[first]:self.ends[end - 1]].strip()

    def tokens_text(self, first: int, end: int) -> str:
        """Tokens ``first..end-1`` as written, without comments and with whitespace kept only
        between two words (``(await getDb()).$queryRaw``)."""
        parts: list[str] = []
        for index in range(first, end):
            if (index > first and self.starts[index] > self.ends[index - 1]
                    and self.texts[index][0] in _WORD_CHARS
                    and self.texts[index - 1][-1] in _WORD_CHARS):
                parts.append(" ")
            parts.append(self.texts[index])
        return "".join(parts)

    def template_index(self, token: int) -> int:
        return self.lexed.template_of.get(token, -1)

    def forward(self, index: int) -> int:
        """The index after the token or bracketed group/template starting at ``index``."""
        kind = self.kinds[index]
        if kind == "template_head" or (kind == "punct" and self.texts[index] in _OPENERS):
            close = self.match[index]
            return close + 1 if close > index else self.count
        return index + 1

    def backward(self, index: int) -> int:
        """The index before the token or group/template ending at ``index``."""
        kind = self.kinds[index]
        if kind == "template_tail" or (kind == "punct" and self.texts[index] in _CLOSERS):
            open_ = self.match[index]
            return open_ - 1 if 0 <= open_ < index else -1
        return index - 1

    # -- pipeline ----------------------------------------------------------------------------

    def run(self) -> ExtractionResult:
        from convguard.extract._ts_fragments import FragmentAssembler

        self._scan()
        tags = self._template_tags()
        nested = self._nested_templates(tags)
        regions = self._regions()
        unsafe_calls = [call for index in self.unsafe if (call := self._call_at(index))]
        raw_calls = [call for index in self.raw_calls if (call := self._call_at(index))]
        roots = FragmentAssembler(self, tags, nested).roots(raw_calls)
        points = [root.chain_start for root in roots]
        points += [call.callee_start for call in unsafe_calls]
        owners = _owners(regions, points)
        assembler = _Assembler(self, owners)
        queries = [query for root in roots for query in assembler.root_queries(root)]
        queries += [query for call in unsafe_calls if (query := assembler.unsafe_query(call))]
        return ExtractionResult(
            path=self.path,
            queries=assembler.finish(queries),
            unsafe_calls=tuple(self._unsafe_call(call, owners) for call in unsafe_calls),
        )

    def too_deep(self, offset: int) -> ExtractionError:
        return ExtractionError(
            f"SQL fragments nested more than {MAX_FRAGMENT_DEPTH} deep",
            path=self.path,
            line=self.host.position(offset).line,
            hint="build the query from fewer nested Prisma.sql fragments or const aliases",
        )

    def _scan(self) -> None:
        """Match brackets and templates, and note the tokens later passes look at."""
        kinds, texts, match = self.kinds, self.texts, self.match
        template_of = self.lexed.template_of
        templates = self.lexed.templates
        stack: list[int] = []
        for index in range(self.count):
            kind = kinds[index]
            if kind == "punct":
                word = texts[index]
                if word in _OPENERS:
                    stack.append(index)
                    if word == "{":
                        self.brace_opens.append(index)
                elif word in _CLOSERS:
                    self._close(stack, index, _CLOSERS[word])
                elif word == "=>":
                    self.arrows.append(index)
            elif kind == "ident":
                word = texts[index]
                if word[0] == "$":
                    if word == "$transaction":
                        self.transactions.append(index)
                    elif word in UNSAFE_METHODS:
                        self.unsafe.append(index)
                    elif word in RAW_TAG_METHODS:
                        self.raw_calls.append(index)
                elif word == "raw":
                    if self.text(index - 1) == "." and self.text(index - 2) == "Prisma":
                        self.unsafe.append(index)
                elif word == "const" or word == "let" or word == "var":
                    self.const_tokens.append(index)
            elif kind == "template_head":
                stack.append(index)
            elif kind == "template_middle" or kind == "template_tail":
                head = templates[template_of[index]].token
                while stack and stack[-1] != head:
                    stack.pop()  # brackets left open inside the interpolation
                if kind == "template_tail" and stack:
                    stack.pop()
                    match[head] = index
                    match[index] = head

    def _close(self, stack: list[int], index: int, opener: str) -> None:
        # Tolerate a few unmatched brackets, but never match across a template boundary.
        for depth in range(1, min(5, len(stack) + 1)):
            candidate = stack[-depth]
            if self.kinds[candidate] != "punct":
                return
            if self.texts[candidate] == opener:
                self.match[candidate] = index
                self.match[index] = candidate
                del stack[-depth:]
                return

    # -- tags --------------------------------------------------------------------------------

    def _template_tags(self) -> dict[int, _Tag]:
        """Recognised tagged templates: template index -> tag."""
        found: dict[int, _Tag] = {}
        for index, template in enumerate(self.lexed.templates):
            tag = self._tag_of(template)
            if tag is not None:
                found[index] = tag
        return found

    def _tag_of(self, template: Template) -> _Tag | None:
        last = template.token - 1
        if self.text(last) == ">":
            last = self._skip_type_arguments_back(last)
        if self.kind(last) != "ident":
            return None
        name = self.texts[last]
        start = self._chain_start(last)
        text = self.tokens_text(start, last + 1)
        if name in RAW_TAG_METHODS:
            return _Tag(start, text, spliceable=False)
        if text == "Prisma.sql" or text in self.tags:
            return _Tag(start, text, spliceable=True)
        return None

    def _chain_start(self, last: int) -> int:
        """The first token of the member chain ending at identifier ``last`` (``this.db.x``)."""
        start = last
        while self.text(start - 1) in (".", "?."):
            receiver = start - 2
            if self.text(receiver) == "!":
                receiver -= 1
            if self.kind(receiver) == "ident":
                start = receiver
            elif self.text(receiver) in (")", "]") and 0 <= self.match[receiver] < receiver:
                start = self.match[receiver]
                if self.kind(start - 1) == "ident" and self.texts[start - 1] not in _OPERATOR_WORDS:
                    start -= 1
            else:
                break
        return start

    def _skip_type_arguments_back(self, index: int) -> int:
        """From a ``>`` closing type arguments, the index before their ``<`` (or -1)."""
        depth = 0
        for _ in range(_SCAN_LIMIT * 4):
            if index < 0:
                return -1
            word = self.texts[index]
            if word == ">":
                depth += 1
            elif word == "<":
                depth -= 1
                if depth == 0:
                    return index - 1
            elif word in (";", "{", "=", "=>") and self.kinds[index] == "punct":
                return -1
            index = self.backward(index)
        return -1

    def _skip_type_arguments_forward(self, index: int) -> int:
        """From a ``<`` opening type arguments, the index after their ``>`` (or -1)."""
        depth = 0
        for _ in range(_SCAN_LIMIT * 4):
            if index >= self.count:
                return -1
            word = self.texts[index]
            if word == "<":
                depth += 1
            elif word == ">":
                depth -= 1
                if depth == 0:
                    return index + 1
            elif word in (";", "}", "=", "=>") and self.kinds[index] == "punct":
                return -1
            index = self.forward(index)
        return -1

    def _nested_templates(self, tags: dict[int, _Tag]) -> set[int]:
        """Templates inside an interpolation of a recognised template (parts, not queries)."""
        nested: set[int] = set()
        templates = self.lexed.templates
        inside = [False] * len(templates)
        for index, template in enumerate(templates):
            parent = template.parent
            if parent >= 0 and (parent in tags or inside[parent]):
                inside[index] = True
                nested.add(index)
        return nested

    # -- functions and transactions ----------------------------------------------------------

    def _regions(self) -> list[_Region]:
        regions: list[_Region] = []
        for brace in self.brace_opens:
            close = self.match[brace]
            if close > brace:
                owner = self._block_owner(brace)
                if owner is not None and owner != (None, None):
                    regions.append(_Region(brace, close, owner[0], owner[1]))
        ends: dict[int, int] = {}
        for arrow in reversed(self.arrows):
            if self.text(arrow + 1) == "{":
                continue
            end = self._expression_end(arrow + 1, ends)
            ends[arrow] = end
            owner = self._arrow_owner(arrow)
            if owner is not None and owner != (None, None):
                regions.append(_Region(arrow, end, owner[0], owner[1]))
        for callee in self.transactions:
            paren = callee + 1
            if self.text(paren) == "(" and self.text(paren + 1) == "[":
                close = self.match[paren + 1]
                if close > paren:
                    regions.append(_Region(paren + 1, close, None, callee))
        return regions

    def _block_owner(self, brace: int) -> tuple[str | None, int | None] | None:
        """(name, transaction) of the function whose body starts at ``brace``, if it is one."""
        if self.text(brace - 1) == "=>":
            return self._arrow_owner(brace - 1)
        close = self._params_close_before(brace)
        if close < 0:
            return None
        head = self._skip_type_parameters_back(self.match[close] - 1)
        word = self.text(head)
        if self.kind(head) != "ident" and word != "*":
            return None
        if word == "function" or (word == "*" and self.text(head - 1) == "function"):
            keyword = head if word == "function" else head - 1
            return self._context_owner(self._skip_async_back(keyword - 1))
        if word in _CONTROL_KEYWORDS or self.kind(head) != "ident":
            return None
        before = self.text(head - 1)
        if before == "function" or (before == "*" and self.text(head - 2) == "function"):
            keyword = head - 1 if before == "function" else head - 2
            _, transaction = self._context_owner(self._skip_async_back(keyword - 1))
            return word, transaction
        if before in (".", "?."):
            return None
        return word, None  # a method: `name(...) {`

    def _arrow_owner(self, arrow: int) -> tuple[str | None, int | None] | None:
        close = self._params_close_before(arrow)
        if close >= 0:
            params = self.match[close]
        elif self.kind(arrow - 1) == "ident":
            params = arrow - 1
        else:
            return None
        before = self._skip_type_parameters_back(params - 1)
        return self._context_owner(self._skip_async_back(before))

    def _params_close_before(self, index: int) -> int:
        """The ``)`` closing the parameters of a function whose body or ``=>`` is at ``index``,
        skipping a return type annotation (``): Promise<{ a: number }> {``); -1 if none."""
        last = index - 1
        if (self.text(last) == ")" and self.match[last] >= 0
                and self.text(self.match[last] - 1) != ":"):
            return last
        colon = self._colon_before(last)
        if colon >= 0 and self.text(colon - 1) == ")" and self.match[colon - 1] >= 0:
            return colon - 1
        return -1

    def _colon_before(self, index: int) -> int:
        """The ``:`` of a type annotation ending at ``index`` (walking back over the type), or -1.

        Two operands in a row (``void`` then ``}`` of an earlier body, ``A`` then ``class``) end
        the walk: types separate them with operators, except for modifiers such as ``keyof``.
        """
        depth = 0
        operand_on_right = False
        position = index
        for _ in range(_SCAN_LIMIT):
            if position < 0:
                return -1
            word, kind = self.texts[position], self.kinds[position]
            operand = False
            if kind == "punct":
                if word == ":" and depth == 0:
                    return position
                if word == ">":
                    depth += 1
                elif word == "<":
                    depth -= 1
                    if depth < 0:
                        return -1
                elif word in (";", "=", "{", "(", "[") or (word == "," and depth == 0):
                    return -1
                operand = word in (")", "}")
            elif kind != "jsx":
                operand = not (kind == "ident" and word in _TYPE_MODIFIERS)
            if operand and operand_on_right:
                return -1
            operand_on_right = operand
            position = self.backward(position)
        return -1

    def _skip_type_parameters_back(self, index: int) -> int:
        return self._skip_type_arguments_back(index) if self.text(index) == ">" else index

    def _skip_async_back(self, index: int) -> int:
        return index - 1 if self.text(index) == "async" else index

    def _context_owner(self, index: int) -> tuple[str | None, int | None]:
        """Name a function expression from the token before it (``=``, ``key:``, ``(``)."""
        word = self.text(index)
        if word == "=":
            return self._assigned_name(index), None
        if (word == ":" and self.kind(index - 1) in ("ident", "string")
                and self.text(index - 2) in ("{", ",")):
            return self.texts[index - 1].strip("'\""), None
        if word == "(":
            callee = self._skip_type_parameters_back(index - 1)
            if self.text(callee) == "$transaction":
                return None, callee
        return None, None

    def _assigned_name(self, equals: int) -> str | None:
        """The name assigned at ``=``: ``const f =``, ``this.f =``, ``f: Type =``."""
        colon = self._colon_before(equals - 1)
        if colon >= 0 and self.kind(colon - 1) == "ident":
            return self.texts[colon - 1]
        return self.texts[equals - 1] if self.kind(equals - 1) == "ident" else None

    def _expression_end(self, first: int, arrow_ends: dict[int, int]) -> int:
        """The index after the expression starting at ``first`` (an arrow body, an initialiser).

        Stops at ``;``, ``,``, a closer or template part of the enclosing group, or where
        automatic semicolon insertion would end the statement. ``arrow_ends`` memoises nested
        arrow bodies, which end where the enclosing expression ends.
        """
        index = first
        count, kinds, texts = self.count, self.kinds, self.texts
        while index < count:
            kind, word = kinds[index], texts[index]
            if index > first and (self._statement_break(index) or (
                    kind == "ident" and word in _STATEMENT_KEYWORDS)):
                return index
            if kind == "template_middle" or kind == "template_tail":
                return index
            if kind == "punct":
                if word in (";", ",") or word in _CLOSERS:
                    return index
                if word == "=>" and index in arrow_ends:
                    return arrow_ends[index]
            index = self.forward(index)
        return count

    def _statement_break(self, index: int) -> bool:
        previous = index - 1
        if self.kinds[index] != "ident" or self.texts[index] in _CONTINUATION_WORDS:
            return False
        previous_kind = self.kinds[previous]
        value_end = previous_kind in _VALUE_END_KINDS or (
            previous_kind == "punct" and self.texts[previous] in _CLOSERS)
        if not value_end:
            return False
        return "\n" in self.host.text[self.ends[previous]:self.starts[index]]

    # -- declarations and calls --------------------------------------------------------------

    def _find_forward(self, index: int, word: str) -> int:
        for _ in range(_SCAN_LIMIT):
            if index >= self.count:
                return -1
            if self.texts[index] == word and self.kinds[index] == "punct":
                return index
            if self.texts[index] in (";", "}", ")") and self.kinds[index] == "punct":
                return -1
            index = self.forward(index)
        return -1

    def _call_at(self, callee: int) -> _Call | None:
        """A call ``<chain>.callee(...)`` (type arguments allowed), if ``callee`` starts one."""
        paren = callee + 1
        if self.text(paren) == "<":
            paren = self._skip_type_arguments_forward(paren)
        if paren < 0 or self.text(paren) != "(" or self.match[paren] < paren:
            return None
        return _Call(self._chain_start(callee), callee, paren)

    def first_argument(self, call: _Call) -> tuple[int, int]:
        """Token range of the call's first argument."""
        close = self.match[call.paren]
        index = first = call.paren + 1
        while index < close:
            if self.texts[index] == "," and self.kinds[index] == "punct":
                break
            index = self.forward(index)
        return first, min(index, close)

    def is_literal(self, first: int, end: int) -> bool:
        """One plain string literal, or a template literal without interpolations."""
        return end - first == 1 and self.kinds[first] in ("string", "template")

    def _unsafe_call(self, call: _Call, owners: dict[int, _Owner]) -> UnsafeCall:
        first, end = self.first_argument(call)
        return UnsafeCall(
            callee=self.callee_text(call),
            argument_text=self.source(first, end),
            dynamic=not self.is_literal(first, end),
            span=Span.of(self.host, self.starts[call.callee_start],
                         self.ends[self.match[call.paren]]),
            function=owners[call.callee_start].function,
        )

    def callee_text(self, call: _Call) -> str:
        return self.tokens_text(call.callee_start, call.callee + 1)

    def imported_kind(self, specifier: str, exported: str) -> Kind | None:
        """Is ``exported`` of the imported module ``specifier`` SQL or a value (None: unknown)?"""
        return imported_kind(self.path, specifier, exported, module_kind,
                             tuple(sorted(self.tags)))


def module_kind(path: str, text: str, exported: str, tags: tuple[str, ...]) -> Kind | None:
    """What a module's top-level function (every ``return``) or ``const`` named ``exported``, its
    default export (``default``) or a function-valued member of its top-level object literal or
    class (``owner.member``) is: ``"sql"`` when some return is a fragment, ``"value"`` when none
    is, None when the module defines no such name (see ``_ts_exports``).

    Raises:
        ExtractionError: when the module cannot be lexed.

    Example:
        >>> module_kind("m.ts", "export const f = (a) => Prisma.sql`x = ${a}`;", "f", ())
        'sql'
        >>> module_kind("m.ts", "export function g(d: Date) { return d.getTime(); }", "g", ())
        'value'
    """
    from convguard.extract._ts_exports import exported_kind
    from convguard.extract._ts_fragments import FragmentAssembler

    lexed = lex(text, path=path, jsx=PurePath(path).suffix.lower() not in _NO_JSX_SUFFIXES)
    extractor = _Extractor(path, lexed, tags)
    extractor._scan()
    found = extractor._template_tags()
    assembler = FragmentAssembler(extractor, found, extractor._nested_templates(found))
    return exported_kind(assembler, exported)


@dataclass(frozen=True, slots=True)
class _Owner:
    region: _Region | None  # the innermost named function
    transaction: int | None

    @property
    def function(self) -> str | None:
        return self.region.name if self.region is not None else None


def _owners(regions: list[_Region], points: Iterable[int]) -> dict[int, _Owner]:
    """Innermost named function and transaction of each token index in ``points``.

    A sweep over regions sorted by start, keeping stacks of the open ones: linear after sorting,
    however many functions and queries a file has.
    """
    ordered = sorted(regions, key=lambda region: (region.start, -region.end))
    named: list[_Region] = []
    transactions: list[_Region] = []
    result: dict[int, _Owner] = {}
    next_region = 0
    for point in sorted(set(points)):
        while next_region < len(ordered) and ordered[next_region].start < point:
            region = ordered[next_region]
            if region.name is not None:
                named.append(region)
            if region.transaction is not None:
                transactions.append(region)
            next_region += 1
        while named and named[-1].end <= point:
            named.pop()
        while transactions and transactions[-1].end <= point:
            transactions.pop()
        result[point] = _Owner(
            named[-1] if named else None,
            transactions[-1].transaction if transactions else None,
        )
    return result


@dataclass(frozen=True, slots=True)
class _Query:
    """A query being assembled: the model object minus the final transaction number."""

    template: int  # -1 for a query taken from an unsafe call or a raw call's argument
    start: int
    sql: str
    placeholders: tuple[Placeholder, ...]
    segments: tuple[Segment, ...]
    span: Span
    tag: str
    function: str | None
    transaction: int | None
    line_ranges: tuple[tuple[int, int], ...]
    opaque: tuple[OpaqueFragment, ...] = ()
    variant: int = 1
    variants: int = 1
    combinations: int = 1
    choices: tuple[str, ...] = ()
    unverified_syntax: str | None = None


class _Assembler:
    """Turns the roots (raw calls, statement-like templates) and literal unsafe calls into
    queries, one per combination of the fragments they splice."""

    def __init__(self, extractor: _Extractor, owners: dict[int, _Owner]) -> None:
        self.x = extractor
        self.owners = owners

    # -- roots -------------------------------------------------------------------------------

    def root_queries(self, root: Root) -> list[_Query]:
        from convguard.extract._assembly import count, expand
        from convguard.extract._ts_fragments import settle

        x = self.x
        owner = self.owners[root.chain_start]
        start, end = root.span
        variants = expand(root.node, MAX_VARIANTS)
        total = count(root.node)
        queries = []
        parser = None
        spans: dict[tuple[int, int], Span] = {}
        for number, (leaves, labels) in enumerate(variants, start=1):
            def make_builder() -> _SqlBuilder:
                builder = _SqlBuilder(x.host, spans)
                builder.line_ranges.append((start, end))
                return builder

            if parser is None and any(not isinstance(leaf, (Text, Literal)) and (
                    not isinstance(leaf, Value) or leaf.ambiguous) for leaf in leaves):
                from convguard._parse import postgres_parser

                parser = postgres_parser()
            builder, opaque, unverified = settle(leaves, make_builder, parser)
            queries.append(_Query(
                template=-1,
                start=start,
                sql=builder.sql,
                placeholders=tuple(builder.placeholders),
                segments=tuple(builder.segments),
                span=Span.of(x.host, start, end),
                tag=root.tag,
                function=owner.function,
                transaction=owner.transaction,
                line_ranges=tuple(builder.line_ranges),
                opaque=tuple(opaque),
                variant=number,
                variants=len(variants),
                combinations=total,
                choices=labels,
                unverified_syntax=unverified,
            ))
        return queries

    # -- unsafe literal calls and transactions -----------------------------------------------

    def unsafe_query(self, call: _Call) -> _Query | None:
        """A query for ``$executeRawUnsafe("...")``/``$queryRawUnsafe`` with one literal."""
        x = self.x
        if x.texts[call.callee] not in UNSAFE_METHODS:
            return None
        first, end = x.first_argument(call)
        close = x.match[call.paren]
        if not x.is_literal(first, end) or end != close:
            return None
        builder = _SqlBuilder(x.host)
        quote = x.texts[first][0]
        builder.add_raw(x.starts[first] + 1, x.ends[first] - 1,
                        string_quote=quote if quote in "'\"" else "")
        owner = self.owners[call.callee_start]
        start = x.starts[call.callee_start]
        return _Query(
            template=-1,
            start=start,
            sql=builder.sql,
            placeholders=(),
            segments=tuple(builder.segments),
            span=Span.of(x.host, start, x.ends[close]),
            tag=x.callee_text(call),
            function=owner.function,
            transaction=owner.transaction,
            line_ranges=((start, x.ends[close]),),
        )

    def finish(self, queries: list[_Query]) -> tuple[ExtractedQuery, ...]:
        """Number transactions from 1 in source order and attach suppressions."""
        queries.sort(key=lambda query: (query.start, query.variant))
        numbers: dict[int, int] = {}
        for query in queries:
            if query.transaction is not None and query.transaction not in numbers:
                numbers[query.transaction] = len(numbers) + 1
        suppressions = _suppressions(self.x)
        return tuple(
            ExtractedQuery(
                path=self.x.path,
                sql=query.sql,
                placeholders=query.placeholders,
                segments=query.segments,
                span=query.span,
                tag=query.tag,
                function=query.function,
                transaction=numbers.get(query.transaction) if query.transaction is not None
                else None,
                host_suppressions=self._suppressions_for(query, suppressions),
                opaque=query.opaque,
                variant=query.variant,
                variants=query.variants,
                combinations=query.combinations,
                choices=query.choices,
                unverified_syntax=query.unverified_syntax,
            )
            for query in queries
        )

    def _suppressions_for(self, query: _Query,
                          suppressions: list[tuple[int, str]]) -> tuple[tuple[int, str], ...]:
        if not suppressions:
            return ()
        host = self.x.host
        lines: list[tuple[int, int]] = []
        for position, (start, end) in enumerate(query.line_ranges):
            first_line = host.position(start).line
            if position == 0:
                first_line -= 1  # the line immediately before the tag
            lines.append((first_line, host.position(end).line))
        found: set[tuple[int, str]] = set()
        for low, high in lines:
            first = bisect.bisect_left(suppressions, (low, ""))
            last = bisect.bisect_left(suppressions, (high + 1, ""))
            found.update(suppressions[first:last])
        return tuple(sorted(found))


def _suppressions(extractor: _Extractor) -> list[tuple[int, str]]:
    """(line, CODE) for every ``convguard-ignore`` comment of the file."""
    found: list[tuple[int, str]] = []
    for comment in extractor.lexed.comments:
        if "convguard-ignore" not in comment.text:
            continue
        line = extractor.host.position(comment.start).line
        for match in _SUPPRESSION.finditer(comment.text):
            found.extend((line, code) for code in _CODE.findall(match.group(1)))
    return sorted(found)


__all__ = ["MAX_FRAGMENT_DEPTH", "RAW_TAG_METHODS", "UNSAFE_METHODS", "extract_typescript"]
