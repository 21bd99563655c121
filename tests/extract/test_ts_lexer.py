"""Tests of the TypeScript/JavaScript/TSX scanner (``convguard.extract._ts_lexer``)."""

from __future__ import annotations

import pytest

from convguard._errors import ExtractionError
from convguard.extract._ts_lexer import Lexed, Token, lex


def kinds(source: str, *, jsx: bool = False) -> list[str]:
    return [token.kind for token in lex(source, jsx=jsx).tokens]


def pairs(source: str, *, jsx: bool = False) -> list[tuple[str, str]]:
    return [(token.kind, token.text) for token in lex(source, jsx=jsx).tokens]


def template_texts(lexed: Lexed) -> list[list[str]]:
    return [[lexed.text[start:end] for start, end in template.chunks]
            for template in lexed.templates]


# -- basics ------------------------------------------------------------------------------------


def test_tokens_carry_offsets_and_text() -> None:
    tokens = lex("const x = 10n + y?.z ?? 1.5e-3;").tokens
    assert [token.text for token in tokens] == [
        "const", "x", "=", "10n", "+", "y", "?.", "z", "??", "1.5e-3", ";"]
    assert tokens[1] == Token("ident", 6, 7, "x")
    assert all(lex("const x").text[t.start:t.end] == t.text for t in lex("const x").tokens)


def test_generics_emit_single_greater_than_tokens() -> None:
    assert [t for _, t in pairs("a: Array<Map<K, V>> >= b >>> 1")] == [
        "a", ":", "Array", "<", "Map", "<", "K", ",", "V", ">", ">", ">", "=", "b",
        ">", ">", ">", "1"]


def test_shebang_and_unicode_identifiers() -> None:
    assert pairs("#!/usr/bin/env node\nconst café = $x_1;") == [
        ("ident", "const"), ("ident", "café"), ("punct", "="), ("ident", "$x_1"), ("punct", ";")]


# -- comments and strings ----------------------------------------------------------------------


def test_comments_are_recorded_not_tokens() -> None:
    lexed = lex("a // line ` ' \"\nb /* block\n ${x} */ c")
    assert [token.text for token in lexed.tokens] == ["a", "b", "c"]
    assert [comment.text for comment in lexed.comments] == [
        "// line ` ' \"", "/* block\n ${x} */"]


def test_strings_with_escapes_and_template_characters() -> None:
    source = r"""x('it\'s', "say \"hi\"", '`${a}`', "\\", 'a\
b')"""
    strings = [token.text for token in lex(source).tokens if token.kind == "string"]
    assert strings == [r"'it\'s'", r'"say \"hi\""', "'`${a}`'", r'"\\"', "'a\\\nb'"]
    assert lex(source).templates == ()


def test_comment_markers_inside_strings_and_templates() -> None:
    lexed = lex("s = '// no'; t = `/* no */`; u = \"/* no\";")
    assert lexed.comments == ()
    assert [token.kind for token in lexed.tokens].count("string") == 2


# -- templates ---------------------------------------------------------------------------------


def test_template_parts_and_records() -> None:
    lexed = lex("f`a${x}b${y}c`")
    assert [(t.kind, t.text) for t in lexed.tokens] == [
        ("ident", "f"), ("template_head", "`a${"), ("ident", "x"), ("template_middle", "}b${"),
        ("ident", "y"), ("template_tail", "}c`")]
    (template,) = lexed.templates
    assert (template.start, template.end, template.token, template.end_token) == (1, 14, 1, 6)
    assert template_texts(lexed) == [["a", "b", "c"]]
    first, second = template.interpolations
    assert (first.start, first.end, first.first_token, first.end_token) == (3, 7, 2, 3)
    assert lexed.text[second.start:second.end] == "${y}"
    assert lexed.template_of == {1: 0, 3: 0, 5: 0}


def test_templates_nested_to_any_depth() -> None:
    lexed = lex("`a ${`b ${`c ${d}`}`} e`")
    assert template_texts(lexed) == [["a ", " e"], ["b ", ""], ["c ", ""]]
    assert [template.parent for template in lexed.templates] == [-1, 0, 1]


def test_interpolation_with_braces_strings_and_backticks() -> None:
    lexed = lex("`x ${ {k: `${b}`}.k } y ${\"}\"} z ${'`'} w ${ fn(() => { return 1; }) }`")
    outer = lexed.templates[0]
    assert [lexed.text[i.start:i.end] for i in outer.interpolations] == [
        "${ {k: `${b}`}.k }", '${"}"}', "${'`'}", "${ fn(() => { return 1; }) }"]
    assert template_texts(lexed)[0] == ["x ", " y ", " z ", " w ", ""]


def test_escaped_backtick_and_dollar_brace_stay_in_the_text() -> None:
    lexed = lex(r"`a \` b \${c} d $ e $${f}`")
    assert template_texts(lexed) == [[r"a \` b \${c} d $ e $", ""]]


def test_template_spanning_lines() -> None:
    lexed = lex("q = sql`\n  SELECT 1\n  FROM t\n`;")
    assert template_texts(lexed) == [["\n  SELECT 1\n  FROM t\n"]]


# -- regular expressions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a / b / c", ["ident", "punct", "ident", "punct", "ident"]),
        ("(a) / 2 / (b)", ["punct", "ident", "punct", "punct", "number", "punct", "punct",
                           "ident", "punct"]),
        ("x[0] / 2", ["ident", "punct", "number", "punct", "punct", "number"]),
        ("this.a / 2", ["ident", "punct", "ident", "punct", "number"]),
        ("x.return / 2", ["ident", "punct", "ident", "punct", "number"]),
        ("a /= 2", ["ident", "punct", "number"]),
        ("i++ / 2", ["ident", "punct", "punct", "number"]),
        ("return /ab`c/g", ["ident", "regex"]),
        ("typeof /x/", ["ident", "regex"]),
        ("x = /'/.test(s)", ["ident", "punct", "regex", "punct", "ident", "punct", "ident",
                             "punct"]),
        ("f(/[/`]+/, 1)", ["ident", "punct", "regex", "punct", "number", "punct"]),
        ("a && /\\//.test(b)", ["ident", "punct", "regex", "punct", "ident", "punct", "ident",
                                "punct"]),
        ("[/[\\]/]/]", ["punct", "regex", "punct"]),
        ("`${/`/.source}`", ["template_head", "regex", "punct", "ident", "template_tail"]),
        ("x = a\n/ b / c", ["ident", "punct", "ident", "punct", "ident", "punct", "ident"]),
    ],
)
def test_regex_or_division(source: str, expected: list[str]) -> None:
    assert kinds(source) == expected


def test_unterminated_regex_is_division_not_an_error() -> None:
    assert kinds("x = / 2") == ["ident", "punct", "punct", "number"]


# -- JSX ---------------------------------------------------------------------------------------


def test_jsx_text_opens_no_string() -> None:
    source = "const a = <div title=\"it's\">it's {`${n}`} don't</div>; const b = 'ok';"
    tokens = lex(source, jsx=True).tokens
    assert [t.text for t in tokens if t.kind == "string"] == ["'ok'"]
    assert [t.kind for t in tokens if t.kind.startswith("template")] == [
        "template_head", "template_tail"]


def test_jsx_nested_elements_and_expression_containers() -> None:
    source = ("x = <A b={c ? <B/> : `d`}>{items.map(i => <li key={i}>{i}'s</li>)}<>e's</></A>;"
              " y = 'z';")
    tokens = lex(source, jsx=True).tokens
    assert [t.text for t in tokens if t.kind == "string"] == ["'z'"]
    idents = [t.text for t in tokens if t.kind == "ident"]
    assert idents == ["x", "c", "items", "map", "i", "i", "i", "y"]


def test_jsx_followed_by_division() -> None:
    assert kinds("<a/> / 2", jsx=True) == ["jsx", "jsx", "punct", "number"]


def test_generic_arrow_and_comparisons_are_not_jsx() -> None:
    assert kinds("const f = <T,>(x: T) => x;", jsx=True)[3:6] == ["punct", "ident", "punct"]
    assert kinds("const g = <T extends X>(x: T) => x;", jsx=True)[3:6] == [
        "punct", "ident", "ident"]
    assert "jsx" not in kinds("if (a < b && c<d) {}", jsx=True)


def test_no_jsx_in_typescript_mode() -> None:
    assert kinds("x = <string>y; s = 'a';") == [
        "ident", "punct", "punct", "ident", "punct", "ident", "punct", "ident", "punct",
        "string", "punct"]


def test_unclosed_jsx_is_lenient() -> None:
    lexed = lex("x = <div>it's", jsx=True)
    assert [t.kind for t in lexed.tokens] == ["ident", "punct", "jsx", "jsx", "jsx"]


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("a\nb = 'abc\n';", "unterminated string literal", 2),
        ('a = "abc', "unterminated string literal", 1),
        ("a\n\n/* open", "unterminated block comment", 3),
        ("x\ny = `abc\n\n", "unterminated template literal", 2),
        ("y = `abc ${x} def", "unterminated template literal", 1),
        ("y = `abc\\", "unterminated template literal", 1),
        ("y = `a\n ${ {x: 1}\n", "unbalanced '${'", 2),
        ("y = `a ${ `b ${c}` ", "unbalanced '${'", 1),
    ],
)
def test_errors_name_the_opening_line(source: str, message: str, line: int) -> None:
    with pytest.raises(ExtractionError) as caught:
        lex(source, path="e.ts")
    assert message in caught.value.message
    assert caught.value.line == line
    assert caught.value.path == "e.ts"
    assert caught.value.hint


def test_stray_closing_brace_is_not_an_error() -> None:
    assert kinds("} ) ]") == ["punct", "punct", "punct"]


@pytest.mark.parametrize("source", ["", " ", "/", "\\", "`", "'", "${", "}", "<", "#", "@", "\x00",
                                    "💥", "a\u2028b", "\r\n"])
def test_tiny_inputs_terminate(source: str) -> None:
    try:
        lex(source, jsx=True)
        lex(source)
    except ExtractionError:
        pass
