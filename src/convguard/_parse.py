"""Parse an extracted query once: PostgreSQL's own parser decides validity, sqlglot gives the tree.

sqlglot alone accepts some invalid SQL (``SELECT , FROM t`` parses as ``SELECT FROM t``), so the
verdict comes from PostgreSQL's grammar (``pglast``, libpg_query); the tree every rule reads comes
from sqlglot (dialect ``postgres``). Positions are character offsets in the SQL text: sqlglot's
``meta`` ``start``/``end`` on identifiers and literals (its token line numbers drift after
``$n`` and are never used), mapped to the host file through ``ExtractedQuery.host_offset``.

Results are cached per SQL text: the tree is shared, so nothing may mutate it.

PostgreSQL's verdict comes from libpg_query as bundled in pglast's extension module. Importing
``pglast`` costs as much as a third of sqlglot's own import (its AST and enum modules), so the
parser's C entry point ``pg_query_parse`` is called directly through ``ctypes`` when the installed
pglast is a major version whose libpg_query structures are known (7 and 8); anything unexpected
falls back to ``pglast.parser.parse_sql_json`` (also forced with ``CONVGUARD_PG_PARSER=pglast``).

Example:
    >>> parsed = parse_sql('SELECT m."sentAt" FROM "Message" m WHERE m.id = $1')
    >>> parsed.ok, parsed.tree.sql(dialect="postgres")
    (True, 'SELECT m."sentAt" FROM "Message" AS m WHERE m.id = $1')
    >>> bad = parse_sql("SELECT , FROM t")
    >>> bad.ok, bad.error.offset, bad.error.message
    (False, 7, 'syntax error at or near ","')
"""

from __future__ import annotations

import bisect
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import sqlglot
from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from convguard._sql_text import comments as sql_comments
from convguard._sql_text import regions as sql_regions

if TYPE_CHECKING:
    from convguard._model import ExtractedQuery

QUOTED_TOKENS = {
    TokenType.STRING: "string literal",
    TokenType.NATIONAL_STRING: "string literal",
    TokenType.BYTE_STRING: "string literal",
    TokenType.HEX_STRING: "string literal",
    TokenType.BIT_STRING: "string literal",
    TokenType.RAW_STRING: "string literal",
    TokenType.HEREDOC_STRING: "dollar-quoted string",
    TokenType.IDENTIFIER: "quoted identifier",
}
# sqlglot warns through logging when it reads a statement as an opaque Command (EXPLAIN, DO...);
# PostgreSQL's verdict is what counts, so keep those warnings off stderr unless logging is set up.
logging.getLogger("sqlglot").addHandler(logging.NullHandler())

_NAMED = re.compile(r":[A-Za-z_][A-Za-z0-9_]*")


class SqlSyntaxError(NamedTuple):
    """PostgreSQL's verdict on invalid SQL; ``offset`` is a character offset in the SQL (or None)."""

    message: str
    offset: int | None


class QuotedSpan(NamedTuple):
    """A string literal or quoted identifier: ``start``..``end`` (exclusive) in the SQL text."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class ParsedQuery:
    """One statement parsed once.

    ``tree`` is None when the SQL is invalid (``error`` says where) or when sqlglot cannot read
    SQL that PostgreSQL accepts (``unsupported`` says why; rules then have nothing to prove).
    ``pg_tree`` is PostgreSQL's parse tree as JSON text (decoded only by the rules that need it).
    The lexical regions (:meth:`quoted`, :meth:`comments`) are computed on first use.
    """

    sql: str
    tree: exp.Expression | None
    error: SqlSyntaxError | None = None
    unsupported: str | None = None
    pg_tree: str | None = None
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def find_all(self, *types: type) -> list[exp.Expression]:
        """The tree's nodes of the given types (subclasses included), in source order.

        One walk of the tree serves every rule; the lists are cached with the parse.

        Example:
            >>> [n.sql() for n in parse_sql("SELECT a + 1, b FROM t").find_all(exp.Column)]
            ['a', 'b']
        """
        found = self._index.get(types)
        if found is None:
            by_type = self._index.get(())
            if by_type is None:
                by_type = {}
                if self.tree is not None:
                    for order, node in enumerate(self.tree.walk(bfs=False)):
                        by_type.setdefault(type(node), []).append((order, node))
                self._index[()] = by_type
            pairs = [pair for kind, nodes in by_type.items() if issubclass(kind, types)
                     for pair in nodes]
            pairs.sort(key=lambda pair: pair[0])
            found = [node for _, node in pairs]
            self._index[types] = found
        return found

    def parameter_starts(self) -> frozenset[int]:
        """Offsets of the ``$n`` the tree holds as parameters (not inside quotes or comments)."""
        found = self._index.get("parameters")
        if found is None:
            starts = set()
            for node in self.find_all(exp.Parameter):
                meta = getattr(node.this, "_meta", None)
                if meta and "start" in meta:
                    starts.add(meta["start"] - 1)
            found = self._index["parameters"] = frozenset(starts)
        return found

    def quoted(self) -> tuple[QuotedSpan, ...]:
        """The string literals and quoted identifiers of the SQL text."""
        self._lex()
        return self._index["quoted"]

    def comments(self) -> tuple[tuple[int, int], ...]:
        """The ``--`` and ``/* */`` comments of the SQL text, as ``(start, end)``."""
        if "--" not in self.sql and "/*" not in self.sql:
            return ()
        self._lex()
        return self._index["comments"]

    def _lex(self) -> None:
        if "quoted" in self._index:
            return
        try:
            tokens = tokenize(self.sql)
            quoted, comments = _regions(self.sql, tokens)
        except Exception:  # noqa: BLE001 - fall back to a forgiving scanner
            quoted, comments = (), _comments(self.sql)
        self._index["quoted"], self._index["comments"] = quoted, comments

    def quoted_at(self, offset: int) -> QuotedSpan | None:
        """The string literal or quoted identifier containing ``offset``, if any."""
        spans = self.quoted()  # in source order and disjoint: one bisect finds the candidate
        index = bisect.bisect_left(spans, (offset,)) - 1
        if index >= 0 and spans[index].start < offset < spans[index].end:
            return spans[index]
        return None

    def comment_at(self, offset: int) -> tuple[int, int] | None:
        comments = self.comments()
        index = bisect.bisect_right(comments, (offset, len(self.sql) + 1)) - 1
        if index >= 0 and comments[index][0] <= offset < comments[index][1]:
            return comments[index]
        return None


def parse(query: ExtractedQuery) -> ParsedQuery:
    """Parse an extracted query (cached per SQL text).

    ``:name`` placeholders (a ``.sql`` file) are read as ``$n`` of the same position so that both
    parsers accept them; every offset stays an offset in ``query.sql``.

    Example:
        >>> from convguard._model import ExtractedQuery, HostText, Span
        >>> host = HostText("q.sql", "SELECT 1")
        >>> query = ExtractedQuery("q.sql", "SELECT 1", (), (), Span.of(host, 0, 8), "sql")
        >>> parse(query).ok
        True
    """
    return parse_sql(_positional(query))


@lru_cache(maxsize=256)
def parse_sql(sql: str) -> ParsedQuery:
    """Parse SQL text whose placeholders are ``$n`` (see :func:`parse`)."""
    pg_tree, error = postgres_parser()(sql)
    if error is not None:
        return ParsedQuery(sql, None, error)
    statements = sqlglot.Dialect.get_or_raise("postgres")
    try:
        tokens = tokenize(sql)
    except Exception as error:  # noqa: BLE001 - sqlglot raises assorted errors on valid PG SQL
        return ParsedQuery(sql, None, unsupported=f"sqlglot cannot tokenize it: {error}",
                           pg_tree=pg_tree)
    try:
        trees = [tree for tree in statements.parser().parse(tokens, sql) if tree is not None]
    except Exception as error:  # noqa: BLE001
        return ParsedQuery(sql, None, unsupported=f"sqlglot cannot parse it: {error}",
                           pg_tree=pg_tree)
    if len(trees) > 1:
        second = _second_statement(sql, tokens)
        return ParsedQuery(
            sql, None,
            SqlSyntaxError("cannot insert multiple commands into a prepared statement", second),
            pg_tree=pg_tree,
        )
    parsed = ParsedQuery(sql, trees[0] if trees else None, pg_tree=pg_tree)
    # the lexical regions come from the tokens at hand: a second tokenization would cost as much
    parsed._index["quoted"], parsed._index["comments"] = _regions(sql, tokens)
    return parsed


_PARAMETER = re.compile(r"\$[0-9]")


def tokenize(sql: str) -> list:
    """sqlglot's tokens of ``sql`` (dialect ``postgres``), parameters written without a blank
    after them included.

    sqlglot reads ``$1,$2`` as the opening tag ``$1,$`` of a dollar quote and fails (a tag cannot
    start with a digit in PostgreSQL; ``${a},${b}`` in a template is written so). Then the text is
    tokenized in pieces cut before every ``$n`` outside quotes and comments, each piece's tokens
    moved to their place in ``sql``.

    Example:
        >>> [token.text for token in tokenize("SELECT $1,$2")]
        ['SELECT', '$', '1', ',', '$', '2']
    """
    dialect = sqlglot.Dialect.get_or_raise("postgres")
    try:
        return dialect.tokenize(sql)
    except TokenError:
        cuts = _parameter_starts(sql)
        if not cuts:
            raise
    tokens = []
    for start, end in zip([0, *cuts], [*cuts, len(sql)]):
        line = sql.count("\n", 0, start)
        column = start - (sql.rfind("\n", 0, start) + 1)
        for token in dialect.tokenize(sql[start:end]):
            tokens.append(Token(token.token_type, token.text, token.line + line,
                                token.col + column if token.line == 1 else token.col,
                                token.start + start, token.end + start, token.comments))
    return tokens


def _parameter_starts(sql: str) -> list[int]:
    """Offsets of the ``$n`` parameters of ``sql`` after its first character, outside strings,
    quoted identifiers, dollar quotes and comments."""
    found = [match.start() for match in _PARAMETER.finditer(sql, 1)
             if not (sql[match.start() - 1].isalnum() or sql[match.start() - 1] in "_$")]
    if not found:
        return found
    outside = []
    spans = sql_regions(sql)
    index = 0
    for offset in found:
        while index < len(spans) and spans[index].end <= offset:
            index += 1
        if index == len(spans) or offset < spans[index].start:
            outside.append(offset)
    return outside


PostgresParser = Callable[[str], "tuple[str | None, SqlSyntaxError | None]"]
_POSTGRES_PARSER: list[PostgresParser] = []


def postgres_parser() -> PostgresParser:
    """PostgreSQL's parser: SQL text -> (parse tree as JSON, None) or (None, syntax error).

    Example:
        >>> postgres_parser()("SELECT , FROM t")[1]
        SqlSyntaxError(message='syntax error at or near ","', offset=7)
    """
    if not _POSTGRES_PARSER:
        parser = None
        if os.environ.get("CONVGUARD_PG_PARSER", "").lower() != "pglast":
            parser = _libpg_query_parser()
        _POSTGRES_PARSER.append(parser or _pglast_parser)
    return _POSTGRES_PARSER[0]


def _pglast_parser(sql: str) -> tuple[str | None, SqlSyntaxError | None]:
    from pglast.parser import ParseError, parse_sql_json

    try:
        return parse_sql_json(sql), None
    except ParseError as error:
        message = str(error.args[0]) if error.args else "invalid SQL"
        offset = error.args[1] if len(error.args) > 1 else None
        return None, SqlSyntaxError(message, offset)


def _libpg_query_parser() -> PostgresParser | None:
    """``pg_query_parse`` of pglast's extension, called through ctypes (None if not usable)."""
    import glob
    from importlib.util import find_spec

    try:
        spec = find_spec("pglast")
        if spec is None or not spec.origin:
            return None
        folder = os.path.dirname(spec.origin)
        versions = glob.glob(os.path.join(os.path.dirname(folder), "pglast-*.dist-info"))
        majors = {os.path.basename(v)[len("pglast-"):].split(".")[0] for v in versions}
        libraries = glob.glob(os.path.join(folder, "parser.*.so")) + \
            glob.glob(os.path.join(folder, "parser.*.pyd"))
        if (majors != {"7"} and majors != {"8"}) or len(libraries) != 1:
            return None
        import ctypes

        class Error(ctypes.Structure):  # libpg_query's PgQueryError
            _fields_ = [("message", ctypes.c_char_p), ("funcname", ctypes.c_char_p),
                        ("filename", ctypes.c_char_p), ("lineno", ctypes.c_int),
                        ("cursorpos", ctypes.c_int), ("context", ctypes.c_char_p)]

        class Result(ctypes.Structure):  # libpg_query's PgQueryParseResult
            _fields_ = [("parse_tree", ctypes.c_void_p), ("stderr_buffer", ctypes.c_void_p),
                        ("error", ctypes.POINTER(Error))]

        library = ctypes.CDLL(libraries[0])
        parse_c = library.pg_query_parse
        parse_c.restype = Result
        parse_c.argtypes = [ctypes.c_char_p]
        free = library.pg_query_free_parse_result
        free.restype = None
        free.argtypes = [Result]
        string_at = ctypes.string_at
    except (OSError, AttributeError, ImportError, ValueError):
        return None

    def parse_direct(sql: str) -> tuple[str | None, SqlSyntaxError | None]:
        if "\x00" in sql:
            return _pglast_parser(sql)
        result = parse_c(sql.encode("utf-8"))
        try:
            if result.error:
                error = result.error.contents
                message = (error.message or b"invalid SQL").decode("utf-8", "replace")
                index = error.cursorpos - 1  # 1-based character position
                return None, SqlSyntaxError(message, index if 0 <= index < len(sql) else None)
            tree = string_at(result.parse_tree).decode("utf-8") if result.parse_tree else None
            return tree, None
        finally:
            free(result)

    probe = parse_direct("SELECT , FROM t")
    if probe[1] is None or probe[1].offset != 7 or not (parse_direct("SELECT 1")[0] or "") \
            .startswith('{"version":'):
        return None
    return parse_direct


def _positional(query: ExtractedQuery) -> str:
    """``query.sql`` with every ``:name`` placeholder written as ``$n`` padded to the same length."""
    sql = query.sql
    named = [p for p in query.placeholders if sql.startswith(":", p.sql_start)]
    if not named:
        return sql
    parts = []
    last = 0
    for placeholder in sorted(named, key=lambda p: p.sql_start):
        width = placeholder.sql_end - placeholder.sql_start
        text = f"${placeholder.index}"
        if len(text) > width:  # ``:a`` as ``$10``: a shorter spelling cannot keep offsets
            text = text[:width]
        parts.append(sql[last:placeholder.sql_start])
        parts.append(text.ljust(width))
        last = placeholder.sql_end
    parts.append(sql[last:])
    return "".join(parts)


def _regions(sql: str, tokens: list) -> tuple[tuple[QuotedSpan, ...], tuple[tuple[int, int], ...]]:
    """Quoted tokens, and the comments found in the gaps between tokens."""
    kind_of = QUOTED_TOKENS.get
    if "--" not in sql and "/*" not in sql:  # the common case, in one comprehension
        return tuple(QuotedSpan(token.start, token.end + 1, kind) for token in tokens
                     if (kind := kind_of(token.token_type)) is not None
                     and token.end > token.start), ()
    quoted = []
    comments: list[tuple[int, int]] = []
    find = sql.find
    previous_end = 0
    for token in tokens:
        start = token.start
        if start > previous_end and (
                find("--", previous_end, start) != -1 or find("/*", previous_end, start) != -1):
            comments.extend(_gap_comments(sql, previous_end, start))
        kind = kind_of(token.token_type)
        if kind is not None and token.end > start:
            quoted.append(QuotedSpan(start, token.end + 1, kind))
        previous_end = max(previous_end, token.end + 1)
    if previous_end < len(sql):
        comments.extend(_gap_comments(sql, previous_end, len(sql)))
    return tuple(quoted), tuple(comments)


def _gap_comments(sql: str, start: int, end: int) -> list[tuple[int, int]]:
    """The comments between two tokens (the gap holds only blanks and comments)."""
    return [(start + low, start + high) for low, high in sql_comments(sql[start:end])]


def _comments(sql: str) -> tuple[tuple[int, int], ...]:
    """Comments of SQL that cannot be tokenized (the one SQL scanner skips quoted text)."""
    return sql_comments(sql)


def _second_statement(sql: str, tokens: list) -> int | None:
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            rest = sql[token.end + 1:]
            return token.end + 1 + (len(rest) - len(rest.lstrip()))
    return None


def node_span(node: exp.Expression, sql: str = "") -> tuple[int, int] | None:
    """The character range ``(start, end)`` (end exclusive) a node covers in the SQL text.

    Built from the ``meta`` offsets sqlglot records on identifiers and literals. With ``sql``,
    a call is widened to its name, parentheses to their closing ``)``, and a node without any
    positioned token (``COUNT(*)``) is found by its name near its parent's range (else it takes
    its parent's range). Never mutates the node.

    Example:
        >>> sql = "SELECT MIN(m.x), COUNT(*)::int AS n FROM t m"
        >>> tree = parse_sql(sql).tree
        >>> [sql[slice(*node_span(node, sql))] for node in tree.find_all(exp.AggFunc)]
        ['MIN(m.x)', 'COUNT(*)']
    """
    span = _own_span(node)
    if span is None:
        current = node.parent
        while current is not None and span is None:
            span = _own_span(current)
            current = current.parent
        if span is None:
            return None
        if sql and isinstance(node, exp.Func):
            return _find_call(node, sql, span) or span
        return span
    start, end = span
    if sql:
        if isinstance(node, exp.Func):
            start = _widen_to_call(node, sql, start)
        elif isinstance(node, exp.Paren):
            before = sql[:start].rstrip()
            if before.endswith("("):
                start = len(before) - 1
        if _has_unplaced_interval(node):
            interval = _TRAILING_INTERVAL.match(sql, end)
            if interval:
                end = interval.end()
        end = _close_parentheses(sql, start, end)
    return start, end


# sqlglot rewrites `interval '1 day'` into a new literal without a position: find it in the text.
_TRAILING_INTERVAL = re.compile(
    r"(?:\s*\)?\s*[-+*/]\s*\(?)?\s*interval\s*'(?:[^']|'')*'"
    r"(?:\s+(?:year|month|week|day|hour|minute|second)s?\b)?", re.IGNORECASE)


def _has_unplaced_interval(node: exp.Expression) -> bool:
    for interval in node.find_all(exp.Interval):
        literal = interval.this
        if literal is None or not getattr(literal, "_meta", None):
            return True
    return False


def _own_span(node: exp.Expression) -> tuple[int, int] | None:
    start = end = None
    for child in node.walk():
        meta = getattr(child, "_meta", None)
        if not meta or "start" not in meta:
            continue
        child_start = meta["start"]
        if isinstance(child.parent, exp.Parameter):
            child_start -= 1
        if start is None or child_start < start:
            start = child_start
        if end is None or meta["end"] + 1 > end:
            end = meta["end"] + 1
    if start is None or end is None:
        return None
    return start, end


def _call_name(node: exp.Func) -> str:
    return node.name if isinstance(node, exp.Anonymous) else node.sql_name()


def _widen_to_call(node: exp.Func, sql: str, start: int) -> int:
    name = _call_name(node)
    window = sql[max(0, start - len(name) - 40):start]
    match = None
    for match in re.finditer(rf"{re.escape(name)}\s*\(", window, re.IGNORECASE):  # noqa: B007 - the last
        pass
    if match is None:
        return start
    return start - len(window) + match.start()


def _find_call(node: exp.Func, sql: str, near: tuple[int, int]) -> tuple[int, int] | None:
    """A call without positioned tokens, searched by name just before or inside ``near``."""
    low = max(0, near[0] - 120)
    match = None
    for match in re.finditer(rf"\b{re.escape(_call_name(node))}\s*\(", sql[low:near[1]],  # noqa: B007
                             re.IGNORECASE):
        pass  # keep the last match
    if match is None:
        return None
    start = low + match.start()
    return start, _close_parentheses(sql, start, low + match.end())


def _close_parentheses(sql: str, start: int, end: int) -> int:
    """``end`` moved past the ``)`` that close parentheses opened in ``sql[start:end]``."""
    text = sql[start:end]
    missing = text.count("(") - text.count(")")
    length = len(sql)
    while missing > 0 and end < length:
        char = sql[end]
        if char == ")":
            missing -= 1
        elif char == "(":
            missing += 1
        elif char in "'\"":
            close = sql.find(char, end + 1)
            end = length if close == -1 else close
        end += 1
    return end


def parameter_index(node: exp.Expression) -> int | None:
    """The ``n`` of a ``$n`` parameter node, else None."""
    if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal):
        text = node.this.this
        if isinstance(text, str) and text.isdigit():
            return int(text)
    return None


__all__ = ["ParsedQuery", "QuotedSpan", "SqlSyntaxError", "node_span", "parameter_index", "parse",
           "parse_sql"]
