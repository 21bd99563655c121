"""The shared query model: positions, extracted queries and diagnostics.

Everything here is a frozen dataclass so that extraction, rules, reports and the conformance kit
can pass values around without copying or defensive checks.

An extracted query keeps the SQL text the database will see (each interpolation replaced by a
``$n`` placeholder) and an *offset map* back to its host file, so a rule that finds a defect at
SQL offset 120 can report the TypeScript line and column where a user would fix it.

Example:
    >>> text = "const q = sql`SELECT ${a}`;"
    >>> host = HostText(path="a.ts", text=text)
    >>> host.position(text.index("SELECT"))
    Position(line=1, column=15)
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

PlaceholderKind = Literal["value", "list", "named"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column (columns count characters, not bytes)."""

    line: int
    column: int


@dataclass(frozen=True)
class HostText:
    """A source file's text with a fast offset -> line/column mapping.

    Example:
        >>> HostText("q.sql", "a\\nbc").position(3)
        Position(line=2, column=2)
    """

    path: str
    text: str
    line_starts: tuple[int, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.line_starts:
            starts = [0]
            find = self.text.find
            index = find("\n")
            while index != -1:
                starts.append(index + 1)
                index = find("\n", index + 1)
            object.__setattr__(self, "line_starts", tuple(starts))

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line_index = bisect.bisect_right(self.line_starts, offset) - 1
        return Position(line=line_index + 1, column=offset - self.line_starts[line_index] + 1)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its newline."""
        start = self.line_starts[line - 1]
        end = self.line_starts[line] - 1 if line < len(self.line_starts) else len(self.text)
        return self.text[start:end]


@dataclass(frozen=True)
class Span:
    """A region of a host file: character offsets plus their 1-based positions."""

    path: str
    start: int
    end: int
    start_position: Position
    end_position: Position

    @classmethod
    def of(cls, host: HostText, start: int, end: int) -> Span:
        return cls(host.path, start, end, host.position(start), host.position(end))


@dataclass(frozen=True)
class Segment:
    """A run of SQL text copied verbatim from the host file.

    SQL offsets ``sql_start .. sql_start + length`` equal host offsets
    ``host_start .. host_start + length``.
    """

    sql_start: int
    host_start: int
    length: int


@dataclass(frozen=True)
class Placeholder:
    """One ``$n`` (or ``:name``) in an extracted query.

    ``expression`` is the interpolation's source text (``Prisma.join(scope.clientIds)``,
    ``maturityCutoff``) or the placeholder's own name in a ``.sql`` file; ``kind`` is ``list`` for
    ``Prisma.join(...)``, which the driver expands to ``$n, $n+1, ...`` at bind time.
    """

    index: int
    expression: str
    kind: PlaceholderKind
    sql_start: int
    sql_end: int
    host_span: Span


@dataclass(frozen=True)
class OpaqueFragment:
    """SQL text convguard cannot see: a fragment from a function parameter or another module.

    The query carries ``stand_in`` at ``sql_start .. sql_end`` in its place (``""``, ``TRUE`` ...:
    the first of a few neutral texts under which PostgreSQL's parser accepts the statement), so
    that the rest of the statement can still be parsed and checked. An opaque fragment is never a
    ``$n`` parameter, and a query holding one cannot be run by the conformance kit.
    """

    expression: str
    stand_in: str
    sql_start: int
    sql_end: int
    host_span: Span


@dataclass(frozen=True)
class UnsafeCall:
    """A ``$queryRawUnsafe``/``$executeRawUnsafe``/``Prisma.raw`` call found in a host file.

    ``dynamic`` is True when its SQL argument is built from values (a template with
    interpolations, ``+`` concatenation, a variable) rather than one plain string literal.
    """

    callee: str
    argument_text: str
    dynamic: bool
    span: Span
    function: str | None


class _OffsetIndex:
    """Sorted starts of a query's segments, placeholders and opaque fragments (for bisect)."""

    __slots__ = ("by_index", "opaque", "opaque_starts", "placeholder_starts", "placeholders",
                 "segment_starts")

    def __init__(self, segment_starts: tuple[int, ...], placeholder_starts: tuple[int, ...],
                 placeholders: tuple[Placeholder, ...], opaque_starts: tuple[int, ...],
                 opaque: tuple[OpaqueFragment, ...], by_index: dict[int, Placeholder]) -> None:
        self.segment_starts = segment_starts
        self.placeholder_starts = placeholder_starts
        self.placeholders = placeholders
        self.opaque_starts = opaque_starts
        self.opaque = opaque
        self.by_index = by_index


@dataclass(frozen=True)
class ExtractedQuery:
    """One SQL statement found in a host file, ready to parse, check and bind.

    ``segments`` map verbatim SQL text back to the host; a SQL offset inside a placeholder maps to
    the interpolation's ``${`` in the host; ``transaction`` links statements that run in the same
    ``$transaction`` callback (same number, same file); ``ignored_codes`` holds the codes named by
    ``// convguard-ignore CODE`` comments on the host lines the query spans, each with its line.
    """

    path: str
    sql: str
    placeholders: tuple[Placeholder, ...]
    segments: tuple[Segment, ...]
    span: Span
    tag: str
    function: str | None = None
    transaction: int | None = None
    host_suppressions: tuple[tuple[int, str], ...] = ()
    opaque: tuple[OpaqueFragment, ...] = ()
    variant: int = 1
    variants: int = 1
    combinations: int = 1
    choices: tuple[str, ...] = ()
    unverified_syntax: str | None = None

    def host_offset(self, sql_offset: int) -> int:
        """Map an offset in ``sql`` to an offset in the host file.

        Offsets inside a placeholder (or an opaque fragment's stand-in) map to the start of its
        interpolation.
        """
        stand_in = self.stand_in_at(sql_offset)
        if stand_in is not None:
            return stand_in.host_span.start
        index = bisect.bisect_right(self._offsets.segment_starts, sql_offset) - 1
        if index < 0:
            return self.span.start
        segment = self.segments[index]
        return segment.host_start + min(sql_offset - segment.sql_start, segment.length)

    def stand_in_at(self, sql_offset: int) -> Placeholder | OpaqueFragment | None:
        """The placeholder (else the opaque fragment) whose SQL text holds ``sql_offset``."""
        offsets = self._offsets
        for starts, items in ((offsets.placeholder_starts, offsets.placeholders),
                              (offsets.opaque_starts, offsets.opaque)):
            index = bisect.bisect_right(starts, sql_offset) - 1
            # they never overlap, so the last one starting at or before the offset decides
            if index >= 0 and sql_offset < items[index].sql_end:
                return items[index]
        return None

    def placeholder(self, index: int) -> Placeholder | None:
        """The placeholder written ``$index``, if any."""
        return self._offsets.by_index.get(index)

    @cached_property
    def _offsets(self) -> _OffsetIndex:
        # Built once per query: position lookups are then O(log n), so mapping every finding,
        # suppression or placeholder of a statement with n of them costs O(n log n), not O(n²).
        placeholders = tuple(sorted(self.placeholders, key=lambda p: p.sql_start))
        opaque = tuple(sorted(self.opaque, key=lambda o: o.sql_start))
        by_index: dict[int, Placeholder] = {}
        for placeholder in self.placeholders:
            by_index.setdefault(placeholder.index, placeholder)
        return _OffsetIndex(
            tuple(segment.sql_start for segment in self.segments),
            tuple(p.sql_start for p in placeholders), placeholders,
            tuple(o.sql_start for o in opaque), opaque, by_index)

    @property
    def label(self) -> str:
        """``path::function`` (or ``path:line``) as a user would select it."""
        if self.function:
            return f"{self.path}::{self.function}"
        return f"{self.path}:{self.span.start_position.line}"

    @property
    def site(self) -> tuple[str, int]:
        """The call site: every variant of one statement shares it."""
        return (self.path, self.span.start)


@dataclass(frozen=True)
class Diagnostic:
    """One finding of the static guard, positioned in the host file.

    ``message`` says what is wrong and where; ``fix`` says what to do instead (kept separate, as
    ruff does, so reports can show or hide it).
    """

    code: str
    name: str
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    severity: Severity = "error"
    fix: str | None = None
    function: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)


@dataclass(frozen=True)
class ExtractionResult:
    """Everything extraction found in one host file."""

    path: str
    queries: tuple[ExtractedQuery, ...] = ()
    unsafe_calls: tuple[UnsafeCall, ...] = ()
