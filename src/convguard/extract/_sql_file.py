"""Extract the statements of a ``.sql`` file, with ``$n`` and ``:name`` placeholders.

A ``.sql`` file holds one or more statements separated by ``;``. The lexer knows every PostgreSQL
construct that can hide a ``;`` or a ``:`` — ``'...'`` strings (``''`` escapes), ``E'...'``
strings (backslash escapes), ``"quoted identifiers"``, ``$tag$ ... $tag$`` dollar quotes,
``--`` comments and nested ``/* /* */ */`` comments — so only real terminators split and only
real placeholders are reported.

Placeholders:

- ``$n`` is a positional parameter (kind ``value``), kept as it is.
- ``:name`` is a named parameter (kind ``named``); ``::type`` casts and ``:=`` are not, and
  ``:from::timestamptz`` is ``:from`` followed by a cast. In the extracted SQL each name becomes
  ``$k``, numbered in order of first appearance (a repeated name reuses its number, and numbers
  start after the largest ``$n`` of the statement), so the SQL is valid PostgreSQL. Segments map
  the verbatim runs back to the file, since ``$1`` is shorter than ``:client_ids``.

A statement's SQL starts at its first non-blank character (leading comments, such as
``-- convguard: ignore[CODE]``, stay in it) and ends before its ``;``; a ``--`` comment on the same
line right after the ``;`` belongs to the statement it follows. Its ``span`` runs from its first to
its last token in the file. Statements that hold only comments are skipped.

Example:
    >>> text = "SELECT 1;\\n-- totals\\nSELECT * FROM t WHERE a = :to AND b < :to::date;"
    >>> result = extract_sql_file("q.sql", text)
    >>> [query.sql for query in result.queries]
    ['SELECT 1', '-- totals\\nSELECT * FROM t WHERE a = $1 AND b < $1::date']
    >>> second = result.queries[1]
    >>> [(p.index, p.expression, p.kind, p.host_span.start_position.column)
    ...  for p in second.placeholders]
    [(1, ':to', 'named', 27), (1, ':to', 'named', 39)]
    >>> second.span.start_position
    Position(line=3, column=1)
    >>> text[second.host_offset(second.sql.index("b <"))]
    'b'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from convguard._errors import ExtractionError
from convguard._sql_text import Region, regions
from convguard._model import (
    ExtractedQuery,
    ExtractionResult,
    HostText,
    Placeholder,
    PlaceholderKind,
    Segment,
    Span,
)

_WORD = re.compile(r"[\w$]+")
_NAME = re.compile(r"[A-Za-z_]\w*")
_DIGITS = re.compile(r"\d+")
# A run of tokens that need no decision (words, and single characters that start neither a
# placeholder, a terminator, a string, an identifier nor a comment), with the blanks between
# them: the lexer steps over it in one match instead of one token at a time.
_PLAIN_RUN = re.compile(r"""(?:\w[\w$]*|[^\s\w$:;'"\-/])(?:\s*(?:\w[\w$]*|[^\s\w$:;'"\-/]))*""")
# PostgreSQL: a dollar-quote tag is an identifier without `$` that does not start with a digit.
_DOLLAR_TAG = re.compile(r"\$(?:[^\W\d]\w*)?\$")
_SAME_LINE_COMMENT = re.compile(r"[ \t]*--[^\n]*")


@dataclass(frozen=True)
class _Mark:
    """A placeholder as found in the file: host offsets, kind and its source text."""

    start: int
    end: int
    kind: PlaceholderKind
    text: str


@dataclass
class _Statement:
    """A statement being lexed (mutable while the lexer walks it)."""

    start: int
    code_start: int | None = None
    code_end: int = 0
    marks: list[_Mark] = field(default_factory=list)

    def code(self, start: int, end: int) -> None:
        if self.code_start is None:
            self.code_start = start
        self.code_end = end


class _Lexer:
    """Walks a ``.sql`` file once, collecting statements and their placeholders; strings,
    identifiers, dollar quotes and comments come from the one SQL scanner
    (:func:`convguard._sql_text.regions`)."""

    def __init__(self, host: HostText) -> None:
        self.host = host
        self.text = host.text
        self.statements: list[tuple[_Statement, int, tuple[int, int] | None]] = []
        self.regions = {region.start: region for region in regions(self.text)}

    def fail(self, what: str, start: int) -> ExtractionError:
        line = self.host.position(start).line
        return ExtractionError(
            f"unterminated {what} starting at line {line}", path=self.host.path, line=line,
            hint=f"close the {what}; convguard cannot tell where the statement ends",
        )

    def run(self) -> None:
        text, length = self.text, len(self.text)
        statement: _Statement | None = None
        index = 0
        while index < length:
            char = text[index]
            if char.isspace():
                index += 1
                continue
            if statement is None:
                statement = _Statement(start=index)
            if char == ";":
                trailing = _SAME_LINE_COMMENT.match(text, index + 1)
                extra = (index + 1, trailing.end()) if trailing else None
                self.statements.append((statement, index, extra))
                statement = None
                index = trailing.end() if trailing else index + 1
                continue
            region = self.regions.get(index)
            if region is not None:
                if not region.closed:
                    raise self.fail(self.unterminated(region), index)
                if not region.is_comment:
                    statement.code(index, region.end)
                index = region.end
                continue
            plain = _PLAIN_RUN.match(text, index)
            end = plain.end() if plain else self.token_end(index, statement)
            statement.code(index, end)
            index = end
        if statement is not None:
            self.statements.append((statement, length, None))

    def unterminated(self, region: Region) -> str:
        """What an unclosed region is, as the error names it."""
        if region.kind == "block_comment":
            return "/* comment"
        if region.kind == "identifier":
            return "quoted identifier"
        if region.kind == "dollar":
            tag = _DOLLAR_TAG.match(self.text, region.start)
            return f"dollar-quoted string {tag.group() if tag else '$$'}"
        escapes = region.start > 0 and self.text[region.start - 1] in "eE"
        return "E'' string" if escapes else "string"

    def token_end(self, start: int, statement: _Statement) -> int:
        text = self.text
        char = text[start]
        if char == "$":
            digits = _DIGITS.match(text, start + 1)
            if digits:
                statement.marks.append(_Mark(start, digits.end(), "value",
                                             text[start : digits.end()]))
                return digits.end()
            return start + 1
        if char == ":":
            return self.colon_end(start, statement)
        word = _WORD.match(text, start)
        return word.end() if word else start + 1

    def colon_end(self, start: int, statement: _Statement) -> int:
        text = self.text
        if text.startswith("::", start):
            return start + 2
        previous = text[start - 1] if start else ""
        name = _NAME.match(text, start + 1)
        if name is None or previous == ":" or previous.isalnum() or previous in "_$\\":
            return start + 1
        statement.marks.append(_Mark(start, name.end(), "named", text[start : name.end()]))
        return name.end()


def _build_query(host: HostText, statement: _Statement, terminator: int,
                 trailing: tuple[int, int] | None) -> ExtractedQuery:
    text = host.text
    body_end = terminator
    while body_end > statement.start and text[body_end - 1].isspace():
        body_end -= 1
    ranges = [(statement.start, body_end)]
    if trailing is not None:
        ranges.append(trailing)

    positional = [int(mark.text[1:]) for mark in statement.marks if mark.kind == "value"]
    next_number = max(positional, default=0) + 1
    numbers: dict[str, int] = {}
    pieces: list[str] = []
    segments: list[Segment] = []
    placeholders: list[Placeholder] = []
    sql_length = 0

    def copy(host_start: int, host_end: int) -> None:
        nonlocal sql_length
        if host_end > host_start:
            segments.append(Segment(sql_length, host_start, host_end - host_start))
            pieces.append(text[host_start:host_end])
            sql_length += host_end - host_start

    marks = iter(statement.marks)
    mark = next(marks, None)
    for range_start, range_end in ranges:
        cursor = range_start
        while mark is not None and mark.start < range_end:
            if mark.kind == "value":
                index = int(mark.text[1:])
                replacement = None
            else:
                if mark.text not in numbers:
                    numbers[mark.text] = next_number
                    next_number += 1
                index = numbers[mark.text]
                replacement = f"${index}"
            copy(cursor, mark.start)
            sql_start = sql_length
            if replacement is None:
                copy(mark.start, mark.end)
            else:
                pieces.append(replacement)
                sql_length += len(replacement)
            placeholders.append(Placeholder(
                index=index, expression=mark.text, kind=mark.kind, sql_start=sql_start,
                sql_end=sql_length, host_span=Span.of(host, mark.start, mark.end),
            ))
            cursor = mark.end
            mark = next(marks, None)
        copy(cursor, range_end)

    assert statement.code_start is not None
    return ExtractedQuery(
        path=host.path, sql="".join(pieces), placeholders=tuple(placeholders),
        segments=_merge(segments), span=Span.of(host, statement.code_start, statement.code_end),
        tag="sql", function=None, transaction=None,
    )


def _merge(segments: list[Segment]) -> tuple[Segment, ...]:
    """Join segments that continue each other in both texts (``$n`` splits none)."""
    merged: list[Segment] = []
    for segment in segments:
        last = merged[-1] if merged else None
        if (last is not None and last.sql_start + last.length == segment.sql_start
                and last.host_start + last.length == segment.host_start):
            merged[-1] = Segment(last.sql_start, last.host_start, last.length + segment.length)
        else:
            merged.append(segment)
    return tuple(merged)


def extract_sql_file(path: str, text: str) -> ExtractionResult:
    """Extract every non-empty statement of a ``.sql`` file.

    Raises:
        ExtractionError: a string, quoted identifier, dollar quote or ``/*`` comment is never
            closed (the error names its line).

    Example:
        >>> text = "/* no; statement */ ;\\nSELECT $1, 'a;b', $q$ :x; $q$ FROM t; -- note"
        >>> [(q.sql, len(q.placeholders)) for q in extract_sql_file("q.sql", text).queries]
        [("SELECT $1, 'a;b', $q$ :x; $q$ FROM t -- note", 1)]
    """
    host = HostText(path=path, text=text)
    lexer = _Lexer(host)
    lexer.run()
    queries = tuple(
        _build_query(host, statement, terminator, trailing)
        for statement, terminator, trailing in lexer.statements
        if statement.code_start is not None
    )
    return ExtractionResult(path=path, queries=queries)


__all__ = ["extract_sql_file"]
