"""A hand-written scanner for TypeScript, JavaScript and TSX/JSX sources.

It tokenises just enough of the language to find SQL safely: identifiers, numbers, punctuators,
string literals, regular-expression literals, comments, template literals with ``${...}``
interpolations nested to any depth, and JSX text (so that ``<p>it's</p>`` opens no string).

Templates are emitted the way the TypeScript scanner emits them: a template without interpolations
is one ``template`` token; otherwise a ``template_head`` (`` `text${ ``), the interpolation's
tokens, ``template_middle`` (``}text${``) parts and a ``template_tail`` (``}text` ``). Each
template also gets a :class:`Template` record with its raw text chunks and interpolations.

Nesting (braces, interpolations, JSX elements) lives on an explicit stack, so deeply nested input
never recurses; every step consumes at least one character, so the scanner always terminates.

Example:
    >>> lexed = lex("const q = sql`SELECT ${id}`; // done")
    >>> [(t.kind, t.text) for t in lexed.tokens][3:]  # doctest: +NORMALIZE_WHITESPACE
    [('ident', 'sql'), ('template_head', '`SELECT ${'), ('ident', 'id'),
     ('template_tail', '}`'), ('punct', ';')]
    >>> lexed.templates[0].chunks, lexed.comments[0].text
    (((14, 21), (26, 26)), '// done')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from convguard._errors import ExtractionError

TokenKind = Literal[
    "ident", "number", "string", "regex", "punct", "jsx",
    "template", "template_head", "template_middle", "template_tail",
]

#: Identifiers after which a ``/`` starts a regular expression (they expect an operand).
REGEX_AFTER_KEYWORDS = frozenset({
    "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do",
    "else", "yield", "await", "extends",
})


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind``, host offsets ``start..end`` and its source ``text``.

    Template tokens also carry ``template``, the index of their :class:`Template`.
    """

    kind: TokenKind
    start: int
    end: int
    text: str
    template: int = -1


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``//`` or ``/* */`` comment (comments are not tokens)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Interpolation:
    """One ``${expr}``: host offsets of ``${`` .. after ``}`` and the expression's token range."""

    start: int
    end: int
    first_token: int
    end_token: int


@dataclass(frozen=True, slots=True)
class Template:
    """A template literal: host offsets, token range and raw text chunks.

    ``chunks`` holds ``(start, end)`` host offsets of the raw text between the backticks and the
    interpolations (one more chunk than interpolations). ``token`` is the index of its first token,
    ``end_token`` the index after its last one; ``parent`` is the template whose interpolation
    contains this one, or -1.
    """

    start: int
    end: int
    token: int
    end_token: int
    chunks: tuple[tuple[int, int], ...]
    interpolations: tuple[Interpolation, ...]
    parent: int = -1


@dataclass(frozen=True, slots=True, eq=False)
class Lexed:
    """The scanner's output for one file.

    Tokens are stored column-wise (``kinds``, ``starts``, ``ends``, ``texts``: one entry per
    token) because building an object per token would dominate the lexing time; ``tokens``
    materialises :class:`Token` objects for tests and debugging. ``template_of`` maps the index of
    every template token to its template's index in ``templates``.
    """

    text: str
    kinds: tuple[TokenKind, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    texts: tuple[str, ...]
    template_of: dict[int, int]
    templates: tuple[Template, ...]
    comments: tuple[Comment, ...]

    @property
    def tokens(self) -> tuple[Token, ...]:
        """All tokens as objects (built on each access)."""
        get = self.template_of.get
        return tuple(
            Token(kind, start, end, text, get(index, -1))
            for index, (kind, start, end, text) in enumerate(
                zip(self.kinds, self.starts, self.ends, self.texts, strict=True))
        )


# Whitespace is folded into the token pattern so that skipping it costs no extra step; the
# group numbers below are the ``lastindex`` values the scanner dispatches on.
_CODE = re.compile(
    r"""\s*(?:
    ((?:[^\W\d]|\$)[\w$\u200c\u200d]*)
    |(\.\.\.|===|!==|\*\*=|&&=|\|\|=|\?\?=|=>|==|!=|&&|\|\||\?\?|\?\.(?!\d)|\+\+|--
        |\+=|-=|\*=|%=|&=|\|=|\^=|\*\*|[-+*%&|^!~?:;,()\[\]=@\#>]|\.(?!\d))
    |((?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)n?)
    |(['"])
    |(\{)
    |(\})
    |(//)
    |(/\*)
    |(/)
    |(`)
    |(<)
    |(.)
    |(\Z)
    )""",
    re.VERBOSE | re.DOTALL,
)
(_G_IDENT, _G_PUNCT, _G_NUMBER, _G_QUOTE, _G_LBRACE, _G_RBRACE, _G_LINE_COMMENT,
 _G_BLOCK_COMMENT, _G_SLASH, _G_BACKTICK, _G_LT, _G_OTHER, _G_EOF) = range(1, 14)
_NOT_REGEX_AFTER_PUNCT = frozenset({")", "]", "++", "--"})
_STRING = {
    "'": re.compile(r"'[^'\\\n\r]*(?:\\(?:\r\n|[\s\S])[^'\\\n\r]*)*'"),
    '"': re.compile(r'"[^"\\\n\r]*(?:\\(?:\r\n|[\s\S])[^"\\\n\r]*)*"'),
}
_TEMPLATE_TEXT = re.compile(r"[^`\\$]*(?:(?:\\[\s\S]|\$(?!\{))[^`\\$]*)*")
_REGEX = re.compile(r"/(?:[^/\\\[\n\r]|\\[^\n\r]|\[(?:[^\]\\\n\r]|\\[^\n\r])*\])+/[\w$]*")
_LT = re.compile(r"<<=|<<|<=|<")
_JSX_START = re.compile(r"<(?:>|[^\W\d]|\$)")
_GENERIC_ARROW = re.compile(r"<\s*(?:const\s+)?[\w$]+\s*(?:,|extends\b)")
_JSX_TEXT = re.compile(r"[^<{]*")
_JSX_NAME = re.compile(r"<\s*(?:[\w$][\w$.:\-]*)?")
_JSX_ATTR = re.compile(r"\s+|[\w$][\w$:.\-]*|=")

# Stack frame kinds.
_BRACE, _INTERP, _JSX, _JSX_EXPR = range(4)


class _Frame:
    """Mutable scanner state for one open brace, interpolation or JSX element."""

    __slots__ = ("depth", "first_token", "in_tag", "kind", "start", "template")

    def __init__(self, kind: int, start: int, template: _TemplateBuilder | None = None) -> None:
        self.kind = kind
        self.start = start
        self.template = template
        self.first_token = 0
        self.depth = 0
        self.in_tag = True


class _TemplateBuilder:
    __slots__ = ("chunks", "index", "interpolations", "parent", "start", "token")

    def __init__(self, index: int, start: int, token: int, parent: int) -> None:
        self.index = index
        self.start = start
        self.token = token
        self.parent = parent
        self.chunks: list[tuple[int, int]] = []
        self.interpolations: list[Interpolation] = []


def lex(text: str, *, path: str = "<input>", jsx: bool = False) -> Lexed:
    """Tokenise ``text``; ``jsx`` enables JSX elements (for .tsx/.jsx/.js files).

    Raises:
        ExtractionError: for an unterminated string, comment or template literal or an
            interpolation ``${`` that is never closed, with the line where it opens.

    Example:
        >>> [t.kind for t in lex("a / b / c").tokens]
        ['ident', 'punct', 'ident', 'punct', 'ident']
        >>> [t.kind for t in lex("x = /`[/]`/g.test(s)").tokens][:3]
        ['ident', 'punct', 'regex']
        >>> [t.kind for t in lex("<p>it's {`${a}`}</p>", jsx=True).tokens]
        ['jsx', 'jsx', 'jsx', 'punct', 'template_head', 'ident', 'template_tail', 'punct', 'jsx']
    """
    return _Lexer(text, path, jsx).run()


class _Lexer:
    def __init__(self, text: str, path: str, jsx: bool) -> None:
        self.text = text
        self.path = path
        self.jsx = jsx
        self.pos = 0
        self.kinds: list[TokenKind] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.texts: list[str] = []
        self.template_of: dict[int, int] = {}
        self.templates: list[Template | None] = []
        self.comments: list[Comment] = []
        self.stack: list[_Frame] = []
        self.open_templates: list[int] = []  # templates whose interpolation is being scanned
        self.regex_allowed = True
        self.after_dot = False

    def run(self) -> Lexed:
        text, n = self.text, len(self.text)
        if text.startswith("#!"):
            end = text.find("\n")
            self.pos = n if end < 0 else end
        stack = self.stack
        while self.pos < n:
            if stack and stack[-1].kind == _JSX:
                self._jsx_step(stack[-1])
            else:
                self._code_run()
        self._check_eof()
        return Lexed(
            text=text,
            kinds=tuple(self.kinds),
            starts=tuple(self.starts),
            ends=tuple(self.ends),
            texts=tuple(self.texts),
            template_of=self.template_of,
            templates=tuple(t for t in self.templates if t is not None),
            comments=tuple(self.comments),
        )

    # -- errors ------------------------------------------------------------------------------

    def _error(self, message: str, offset: int, hint: str) -> ExtractionError:
        line = self.text.count("\n", 0, offset) + 1
        return ExtractionError(message, path=self.path, line=line, hint=hint)

    def _check_eof(self) -> None:
        for frame in reversed(self.stack):
            if frame.kind == _INTERP:
                assert frame.template is not None
                opened = self.text.count("\n", 0, frame.template.start) + 1
                raise self._error(
                    "unbalanced '${' in a template literal: the interpolation is never closed",
                    frame.start,
                    f"close it with '}}' (the template starts on line {opened})",
                )

    # -- code --------------------------------------------------------------------------------

    def _emit(self, kind: TokenKind, start: int, end: int, regex_allowed: bool) -> None:
        self.kinds.append(kind)
        self.starts.append(start)
        self.ends.append(end)
        self.texts.append(self.text[start:end])
        self.regex_allowed = regex_allowed
        self.after_dot = False

    def _code_run(self) -> None:
        """Scan code until something needs another mode (a template, JSX, an interpolation end).

        Identifiers, punctuators, numbers and strings are handled inline: they are most of a
        file's tokens and a method call per token would double the lexing time.
        """
        text, n = self.text, len(self.text)
        match_code = _CODE.match
        kinds, starts, ends, texts = self.kinds, self.starts, self.ends, self.texts
        keywords = REGEX_AFTER_KEYWORDS
        no_regex = _NOT_REGEX_AFTER_PUNCT
        pos = self.pos
        # The regex/division state lives in locals here and is synced around the method calls.
        regex_allowed, after_dot = self.regex_allowed, self.after_dot
        while True:
            match = match_code(text, pos)
            assert match is not None  # the pattern ends with catch-all alternatives
            group = match.lastindex or _G_EOF
            end = match.end()
            if group == _G_IDENT:
                word = match.group(1)
                kinds.append("ident")
                starts.append(end - len(word))
                ends.append(end)
                texts.append(word)
                regex_allowed = not after_dot and word in keywords
                after_dot = False
            elif group == _G_PUNCT:
                word = match.group(2)
                kinds.append("punct")
                starts.append(end - len(word))
                ends.append(end)
                texts.append(word)
                regex_allowed = word not in no_regex
                after_dot = word == "." or word == "?."
            elif group == _G_NUMBER:
                word = match.group(3)
                kinds.append("number")
                starts.append(end - len(word))
                ends.append(end)
                texts.append(word)
                regex_allowed = after_dot = False
            else:
                self.regex_allowed, self.after_dot = regex_allowed, after_dot
                if group == _G_EOF:
                    self.pos = end
                    return
                if self._special(group, match.start(group), end):
                    return
                regex_allowed, after_dot = self.regex_allowed, self.after_dot
                end = self.pos
            pos = end
            if pos >= n:
                self.regex_allowed, self.after_dot = regex_allowed, after_dot
                self.pos = pos
                return

    def _special(self, group: int, start: int, end: int) -> bool:
        """Scan the less common tokens; True when the scanner leaves code mode (JSX, template
        text after an interpolation)."""
        self.pos = start
        if group == _G_LBRACE:
            self.stack.append(_Frame(_BRACE, start))
            self._emit("punct", start, end, True)
            self.pos = end
        elif group == _G_QUOTE:
            self._string(start, self.text[start])
        elif group == _G_RBRACE:
            return self._rbrace(start)
        elif group == _G_LINE_COMMENT:
            self._line_comment(start)
        elif group == _G_BLOCK_COMMENT:
            self._block_comment(start)
        elif group == _G_SLASH:
            self._slash(start)
        elif group == _G_BACKTICK:
            self._template_open(start)
        elif group == _G_LT:
            return self._less_than(start)
        else:
            self._emit("punct", start, end, True)
            self.pos = end
        return False

    def _line_comment(self, pos: int) -> None:
        stop = self.text.find("\n", pos)
        stop = len(self.text) if stop < 0 else stop
        self.comments.append(Comment(pos, stop, self.text[pos:stop]))
        self.pos = stop

    def _block_comment(self, pos: int) -> None:
        stop = self.text.find("*/", pos + 2)
        if stop < 0:
            raise self._error("unterminated block comment", pos, "close the comment with */")
        self.comments.append(Comment(pos, stop + 2, self.text[pos:stop + 2]))
        self.pos = stop + 2

    def _slash(self, pos: int) -> None:
        if self.regex_allowed:
            match = _REGEX.match(self.text, pos)
            if match is not None:
                self._emit("regex", pos, match.end(), False)
                self.pos = match.end()
                return
        end = pos + 2 if self.text.startswith("/=", pos) else pos + 1
        self._emit("punct", pos, end, True)
        self.pos = end

    def _string(self, pos: int, quote: str) -> None:
        match = _STRING[quote].match(self.text, pos)
        if match is None:
            raise self._error(
                "unterminated string literal", pos,
                f"close the {quote} on the same line (a template literal may span lines)",
            )
        self._emit("string", pos, match.end(), False)
        self.pos = match.end()

    def _rbrace(self, pos: int) -> bool:
        """Handle ``}``; True when the scanner changed mode (template text or JSX)."""
        top = self.stack[-1] if self.stack else None
        if top is not None and top.kind == _INTERP:
            self.stack.pop()
            self.open_templates.pop()
            assert top.template is not None
            top.template.interpolations.append(
                Interpolation(top.start, pos + 1, top.first_token, len(self.kinds)))
            self._template_text(top.template, pos, pos + 1)
            return True
        if top is not None and top.kind in (_BRACE, _JSX_EXPR):
            self.stack.pop()
        # A stray '}' is kept as a token: not our syntax error to report.
        self._emit("punct", pos, pos + 1, False)
        self.pos = pos + 1
        return top is not None and top.kind == _JSX_EXPR

    def _less_than(self, pos: int) -> bool:
        """Handle ``<``; True when it opened a JSX element."""
        text = self.text
        if (self.jsx and self.regex_allowed and _JSX_START.match(text, pos)
                and not _GENERIC_ARROW.match(text, pos)):
            frame = _Frame(_JSX, pos)
            self.stack.append(frame)
            self._jsx_tag_start(frame)
            return True
        match = _LT.match(text, pos)
        assert match is not None
        self._emit("punct", pos, match.end(), True)
        self.pos = match.end()
        return False

    # -- templates ---------------------------------------------------------------------------

    def _template_open(self, pos: int) -> None:
        parent = self.open_templates[-1] if self.open_templates else -1
        builder = _TemplateBuilder(len(self.templates), pos, len(self.kinds), parent)
        self.templates.append(None)
        self._template_text(builder, pos, pos + 1)

    def _template_text(self, builder: _TemplateBuilder, part_start: int, text_start: int) -> None:
        """Scan template text from ``text_start`` up to the closing backtick or the next ``${``."""
        text = self.text
        match = _TEMPLATE_TEXT.match(text, text_start)
        assert match is not None  # the pattern can match the empty string
        stop = match.end()
        builder.chunks.append((text_start, stop))
        first = part_start == builder.start
        if text.startswith("`", stop):
            kind: TokenKind = "template" if first else "template_tail"
            self._emit_template_part(kind, part_start, stop + 1, builder, False)
            self.templates[builder.index] = Template(
                start=builder.start,
                end=stop + 1,
                token=builder.token,
                end_token=len(self.kinds),
                chunks=tuple(builder.chunks),
                interpolations=tuple(builder.interpolations),
                parent=builder.parent,
            )
            self.pos = stop + 1
        elif text.startswith("${", stop):
            kind = "template_head" if first else "template_middle"
            self._emit_template_part(kind, part_start, stop + 2, builder, True)
            frame = _Frame(_INTERP, stop, builder)
            frame.first_token = len(self.kinds)
            self.stack.append(frame)
            self.open_templates.append(builder.index)
            self.pos = stop + 2
        else:
            raise self._error("unterminated template literal", builder.start,
                              "add the closing backtick (`)")

    def _emit_template_part(self, kind: TokenKind, start: int, end: int,
                            builder: _TemplateBuilder, regex_allowed: bool) -> None:
        self.template_of[len(self.kinds)] = builder.index
        self._emit(kind, start, end, regex_allowed)

    # -- JSX ---------------------------------------------------------------------------------

    def _jsx_step(self, frame: _Frame) -> None:
        if frame.in_tag:
            self._jsx_attribute(frame)
            return
        text, pos = self.text, self.pos
        match = _JSX_TEXT.match(text, pos)
        assert match is not None
        if match.end() > pos:
            self._emit("jsx", pos, match.end(), False)
            self.pos = pos = match.end()
        if pos >= len(text):
            return
        if text[pos] == "{":
            self._jsx_expression(pos)
        else:
            self._jsx_tag_start(frame)

    def _jsx_expression(self, pos: int) -> None:
        self.stack.append(_Frame(_JSX_EXPR, pos))
        self._emit("punct", pos, pos + 1, True)
        self.pos = pos + 1

    def _jsx_tag_start(self, frame: _Frame) -> None:
        """At a ``<`` inside JSX (or starting it): an opening, closing or fragment tag."""
        text, pos = self.text, self.pos
        if text.startswith("</", pos):
            stop = text.find(">", pos)
            end = len(text) if stop < 0 else stop + 1
            frame.depth -= 1
            if frame.depth <= 0:
                self.stack.pop()
            self._emit("jsx", pos, end, False)
            self.pos = end
            return
        match = _JSX_NAME.match(text, pos)
        assert match is not None
        frame.in_tag = True
        self._emit("jsx", pos, match.end(), False)
        self.pos = match.end()

    def _jsx_attribute(self, frame: _Frame) -> None:
        text, pos = self.text, self.pos
        char = text[pos]
        if char == "{":
            self._jsx_expression(pos)
        elif text.startswith("/>", pos):
            if frame.depth <= 0:
                self.stack.pop()
            else:
                frame.in_tag = False
            self._emit("jsx", pos, pos + 2, False)
            self.pos = pos + 2
        elif char == ">":
            frame.depth += 1
            frame.in_tag = False
            self._emit("jsx", pos, pos + 1, False)
            self.pos = pos + 1
        elif char in "\"'":
            stop = text.find(char, pos + 1)  # JSX attribute strings have no escapes
            end = len(text) if stop < 0 else stop + 1
            self._emit("jsx", pos, end, False)
            self.pos = end
        else:
            match = _JSX_ATTR.match(text, pos)
            self.pos = match.end() if match is not None and match.end() > pos else pos + 1


__all__ = [
    "REGEX_AFTER_KEYWORDS", "Comment", "Interpolation", "Lexed", "Template", "Token", "TokenKind",
    "lex",
]
