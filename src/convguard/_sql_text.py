"""The one scanner of SQL text: where strings, quoted identifiers, dollar quotes and comments are.

PostgreSQL's lexical rules, without parsing: ``'...'`` strings (``''`` inside), ``E'...'`` strings
(backslash escapes too), ``"..."`` identifiers (``""`` inside), ``$tag$ ... $tag$`` dollar quotes
(a tag is an identifier without ``$`` not starting with a digit; ``$1`` is a parameter), ``--``
comments to the end of the line and ``/* ... */`` comments, which nest. A region left open at the
end of the text runs to the end and says so (``closed`` False): callers that must refuse such
text (the ``.sql`` splitter) can, and forgiving ones (comment stripping) need not.

Every hand-written reading of SQL text goes through here (a regex over SQL mistakes ``'--'`` in a
string for a comment, and ``/* /* */ */`` for one comment and a stray ``*/``).

Example:
    >>> [(r.kind, sql[r.start:r.end]) for sql in ["SELECT 'a--b' -- c\\n, $x$;$x$ /* /* */ */"]
    ...  for r in regions(sql)]
    [('string', "'a--b'"), ('line_comment', '-- c'), ('dollar', '$x$;$x$'), \
('block_comment', '/* /* */ */')]
    >>> without_comments("SELECT '--' -- note\\nFROM t")
    "SELECT '--'  \\nFROM t"
    >>> first_word("/* hi */ -- x\\n  with a as (select 1) select 1")
    'with'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

RegionKind = Literal["string", "identifier", "dollar", "line_comment", "block_comment"]
COMMENT_KINDS = frozenset({"line_comment", "block_comment"})
QUOTED_KINDS = frozenset({"string", "identifier", "dollar"})

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")
_INTERESTING = re.compile(r"['\"$]|--|/\*")
_WORD = re.compile(r"[A-Za-z_]+")
# The body of an E'...' string up to its closing quote: ``''`` and backslash escapes inside.
_BACKSLASH_BODY = re.compile(r"(?:[^'\\]+|''|\\.)*", re.DOTALL)
_COMMENT_MARK = re.compile(r"/\*|\*/")


@dataclass(frozen=True)
class Region:
    """A quoted or commented stretch of SQL text: ``start``..``end`` (exclusive)."""

    kind: RegionKind
    start: int
    end: int
    closed: bool = True

    @property
    def is_comment(self) -> bool:
        return self.kind in COMMENT_KINDS


def regions(sql: str) -> tuple[Region, ...]:
    """Every string, quoted identifier, dollar quote and comment of ``sql``, in order.

    Example:
        >>> [(r.kind, r.closed) for r in regions("SELECT E'it\\\\'s' , \\"a\\"\\"b\\", 'open")]
        [('string', True), ('identifier', True), ('string', False)]
        >>> regions("SELECT $1, $2")
        ()
    """
    found: list[Region] = []
    position = 0
    length = len(sql)
    while True:
        match = _INTERESTING.search(sql, position)
        if match is None:
            return tuple(found)
        start = match.start()
        token = match.group()
        if token == "--":
            end = sql.find("\n", start)
            end = length if end == -1 else end
            found.append(Region("line_comment", start, end))
        elif token == "/*":
            end, closed = _block_comment_end(sql, start)
            found.append(Region("block_comment", start, end, closed))
        elif token == "'":
            escapes = start > 0 and sql[start - 1] in "eE" and not _in_word(sql, start - 1)
            end, closed = _quote_end(sql, start, "'", backslash=escapes)
            found.append(Region("string", start, end, closed))
        elif token == '"':
            end, closed = _quote_end(sql, start, '"', backslash=False)
            found.append(Region("identifier", start, end, closed))
        else:  # "$": a dollar quote's opening tag, or a parameter / part of a name
            tag = _DOLLAR_TAG.match(sql, start)
            if tag is None or _in_word(sql, start):
                position = start + 1
                continue
            close = sql.find(tag.group(), tag.end())
            closed = close != -1
            end = close + len(tag.group()) if closed else length
            found.append(Region("dollar", start, end, closed))
        position = found[-1].end


def _in_word(sql: str, index: int) -> bool:
    """Whether ``sql[index]`` continues an identifier (``a$b``, ``xe'`` is not an E string)."""
    return index > 0 and (sql[index - 1].isalnum() or sql[index - 1] in "_$")


def _quote_end(sql: str, start: int, quote: str, *, backslash: bool) -> tuple[int, bool]:
    # str.find / one regex jump from quote to quote: a per-character loop here was a fifth of
    # checking a statement that is mostly string literals.
    if backslash:
        match = _BACKSLASH_BODY.match(sql, start + 1)
        end = match.end() if match else start + 1
        return (end + 1, True) if sql.startswith(quote, end) else (len(sql), False)
    index = start + 1
    while True:
        index = sql.find(quote, index)
        if index == -1:
            return len(sql), False
        if sql.startswith(quote, index + 1):
            index += 2
            continue
        return index + 1, True


def _block_comment_end(sql: str, start: int) -> tuple[int, bool]:
    depth = 0
    index = start
    while True:
        mark = _COMMENT_MARK.search(sql, index)
        if mark is None:
            return len(sql), False
        depth += 1 if mark.group() == "/*" else -1
        index = mark.end()
        if depth == 0:
            return index, True


def comments(sql: str) -> tuple[tuple[int, int], ...]:
    """The ``(start, end)`` of every comment.

    Example:
        >>> comments("SELECT 1 -- one\\n/* two */")
        ((9, 15), (16, 25))
    """
    if "--" not in sql and "/*" not in sql:
        return ()
    return tuple((r.start, r.end) for r in regions(sql) if r.is_comment)


def without_comments(sql: str) -> str:
    """``sql`` with each comment replaced by one space (strings keep their ``--`` and ``/*``).

    Example:
        >>> without_comments("SET statement_timeout = '5s' /* why */;")
        "SET statement_timeout = '5s'  ;"
    """
    if "--" not in sql and "/*" not in sql:
        return sql
    parts = []
    position = 0
    for start, end in comments(sql):
        parts.append(sql[position:start])
        parts.append(" ")
        position = end
    parts.append(sql[position:])
    return "".join(parts)


def first_word(sql: str) -> str:
    """The first word of the SQL outside comments ('' for none), as written."""
    match = _WORD.search(without_comments(sql))
    return match.group() if match else ""


__all__ = ["COMMENT_KINDS", "QUOTED_KINDS", "Region", "comments", "first_word", "regions",
           "without_comments"]
