"""Data-driven: SQL as Prisma code assembles it (``fixtures/assembly/``).

Every file yields exactly its annotated findings (``expect: CODE`` on the line where a finding
starts, as in ``fixtures/bad/``), and every ``expect-note: TEXT`` annotation names a note the check
prints for that file; a file without ``expect-note`` prints no note about its statements. See
``fixtures/assembly/README.md`` for the pattern each file covers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convguard._check import check_source
from convguard.extract import extract_source

ROOT = Path(__file__).resolve().parents[2]
ASSEMBLY = ROOT / "fixtures" / "assembly"
ANNOTATION = re.compile(r"\bexpect:\s*(CG\d+(?:\s*,\s*CG\d+)*)")
NOTE = re.compile(r"\bexpect-note:\s*(.+?)\s*$")
FILES = sorted(path for path in ASSEMBLY.iterdir() if path.suffix in (".ts", ".mjs"))


def expected_findings(text: str) -> set[tuple[int, str]]:
    return {(number, code.strip())
            for number, line in enumerate(text.splitlines(), start=1)
            for match in ANNOTATION.finditer(line)
            for code in match.group(1).split(",")}


def expected_notes(text: str) -> list[str]:
    return [match.group(1) for line in text.splitlines() if (match := NOTE.search(line))]


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_findings_equal_annotations(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    result = check_source(str(path), text)
    assert not result.errors, result.errors
    found = {(diagnostic.line, diagnostic.code) for diagnostic in result.diagnostics}
    details = "\n".join(f"{d.line}:{d.column} {d.code} {d.message}" for d in result.diagnostics)
    assert found == expected_findings(text), details
    own_notes = [note for note in result.notes if note.startswith(str(path))]
    wanted = expected_notes(text)
    for fragment in wanted:
        assert any(fragment in note for note in own_notes), own_notes
    if not wanted:
        assert own_notes == []


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_a_finding_is_reported_once_per_call_site(path: Path) -> None:
    result = check_source(str(path), path.read_text(encoding="utf-8"))
    keys = [(d.line, d.column, d.code) for d in result.diagnostics]
    assert len(keys) == len(set(keys))


def test_every_pattern_has_a_clean_and_a_defective_file() -> None:
    names = {path.stem for path in FILES}
    for pattern in ("const-ternary", "inline-ternary", "if-else-assignment", "joined-array",
                    "helper-returns", "closure", "fragment-as-identifier", "opaque-fragments",
                    "block-scope", "if-else-override", "mapped-fragments", "switch-override",
                    "try-catch"):
        assert pattern in names and f"{pattern}-defect" in names, pattern
        clean = (ASSEMBLY / f"{pattern}.ts").read_text(encoding="utf-8")
        defect = (ASSEMBLY / f"{pattern}-defect.ts").read_text(encoding="utf-8")
        assert not expected_findings(clean) and expected_findings(defect), pattern


def _queries(name: str):
    path = ASSEMBLY / name
    return extract_source(str(path), path.read_text(encoding="utf-8")).queries


def test_every_branch_reaches_the_call() -> None:
    sqls = {" ".join(q.sql.split()) for q in _queries("inline-ternary.ts")}
    assert sqls == {
        'SELECT d.id FROM "AIDraft" d WHERE d."responseDisposition" IS NOT NULL '
        f'{channel}ORDER BY d."createdAt" {order}'
        for channel in ("AND d.channel = $1 ", "") for order in ("DESC", "ASC")}


def test_if_else_assignments_are_the_only_values() -> None:
    tails = sorted(" ".join(q.sql.split())[len('SELECT m.id FROM "Message" m WHERE m."sentAt" '
                                              'IS NOT NULL'):]
                   for q in _queries("if-else-assignment.ts"))
    assert tails == ["", " AND m.direction = 'inbound'", " AND m.direction = 'outbound'"]


def test_joined_array_with_pushes() -> None:
    queries = _queries("joined-array.ts")
    assert len(queries) == 8  # three optional pushes
    first = " ".join(queries[0].sql.split())
    assert first.endswith('WHERE l."clientId" IS NOT NULL AND l."clientId" = $1 AND '
                          'l."createdAt" >= $2 AND l."appointmentBookedAt" IS NOT NULL')
    assert [p.expression for p in queries[0].placeholders] == ["opts.clientId", "opts.from"]
    assert any(" ".join(q.sql.split()).endswith('WHERE l."clientId" IS NOT NULL')
               for q in queries)


def test_helper_arguments_name_the_parameters() -> None:
    queries = _queries("helper-returns.ts")
    assert [[p.expression for p in q.placeholders] for q in queries] == [["to"], ["from", "to"]]
    assert all("m.direction = 'outbound'" in q.sql for q in queries)


def test_fragments_as_identifiers_are_sql() -> None:
    (query,) = _queries("fragment-as-identifier.ts")
    assert 'max(m."sentAt")' in query.sql and "m.direction = 'outbound'" in query.sql
    assert [p.expression for p in query.placeholders] == ["leadId"]


def test_opaque_fragments_are_never_parameters() -> None:
    queries = _queries("opaque-fragments.ts")
    assert [[o.expression for o in q.opaque] for q in queries] == [
        ["leadJoins", "where", "activeLeads", "orderBy"], ["source"]]
    assert all(not q.placeholders and q.unverified_syntax is None for q in queries)


def test_unused_fragments_are_not_statements() -> None:
    queries = _queries("unused-fragments.ts")
    assert [" ".join(q.sql.split()) for q in queries] == [
        'SELECT count(*)::int AS n FROM "Lead" l WHERE TRUE']


def test_a_finding_in_a_fragment_maps_to_the_fragment() -> None:
    path = ASSEMBLY / "closure-defect.ts"
    text = path.read_text(encoding="utf-8")
    (diagnostic,) = check_source(str(path), text).diagnostics
    line = text.splitlines()[diagnostic.line - 1]
    assert line.startswith("  const scope = Prisma.sql`")
    # PostgreSQL notices the missing `)` at LIMIT, in the host statement; the report points at the
    # fragment's last piece (its `${...}` here), where the fix goes
    assert diagnostic.column == line.index("${") + 1
    assert diagnostic.message.endswith("right after this spliced fragment")


def test_bounded_combinations_cover_every_branch() -> None:
    queries = _queries("many-combinations.ts")
    assert queries[0].combinations == 256 and len(queries) == queries[0].variants <= 32
    choices = {choice for q in queries for choice in q.choices}
    assert len(choices) == 16  # 8 ternaries x 2 branches


def test_block_scoped_names_do_not_leak_out_of_their_block() -> None:
    sqls = [" ".join(q.sql.split()) for q in _queries("block-scope.ts")]
    assert sqls == [
        """SELECT m.id FROM "Message" m WHERE m.direction = 'inbound'""",
        """SELECT count(*) FROM "Message" m WHERE m."sentAt" IS NOT NULL AND """
        """m.direction = 'outbound' LIMIT $1""",
        'SELECT l.id FROM "Lead" l WHERE l."clientId" = $1']


def test_an_if_else_assigning_in_every_branch_overrides_the_first_value() -> None:
    queries = _queries("if-else-override.ts")
    assert len(queries) == 6  # 2 ranges x 3 orders; Prisma.empty before them reaches nothing
    assert all("WHERE  ORDER" not in q.sql and "ORDER BY  " not in q.sql
               and q.sql.rstrip().endswith("LIMIT 50") for q in queries)
    # an `if` without `else` keeps the value before it: both scopes reach the query
    defect = [" ".join(q.sql.split()) for q in _queries("if-else-override-defect.ts")]
    assert len(defect) == 4 and not any("touchedAt" in sql for sql in defect)
    assert {'l."ownerId" IS NOT NULL' in sql for sql in defect} == {True, False}


def test_a_switch_assigning_in_every_case_overrides_the_first_value() -> None:
    sqls = [" ".join(q.sql.split()) for q in _queries("switch-override.ts")]
    assert len(sqls) == 12  # 3 scopes (the default throws) x 4 orders; no `Prisma.empty`
    assert not any("WHERE ORDER" in sql or sql.endswith("ORDER BY") for sql in sqls)
    assert sum(sql.endswith('ORDER BY l."createdAt" ASC') for sql in sqls) == 3  # one per scope
    # no `default` keeps the value before the switch; a case that only breaks keeps it too; a
    # case falling through takes the next case's value
    defect = [" ".join(q.sql.split()) for q in _queries("switch-override-defect.ts")]
    assert len(defect) == 12  # 2 orders x 3 filters x 2 windows, `Prisma.empty` in none
    assert sum("'30 days' AND ORDER" in sql for sql in defect) == 6  # "week" falls into it
    assert sum("'90 days' ORDER" in sql for sql in defect) == 6
    assert {sql.split(" WHERE ")[1].split(" AND ")[0] for sql in defect} == {
        "l.phone IS NOT NULL", "TRUE", "l.email IS NOT NULL"}
    assert {'l."touchedAt"' in sql for sql in defect} == {True, False}


def test_try_and_catch_both_reach_the_earlier_value_only_when_the_catch_keeps_it() -> None:
    sqls = [" ".join(q.sql.split()) for q in _queries("try-catch.ts")]
    assert len(sqls) == 4  # (try, catch) x (tags, TRUE kept by a catch that only logs)
    assert {sql.split(" WHERE ")[1].split(" AND ")[0] for sql in sqls} == {
        'l."createdAt" >= $1::timestamptz', "TRUE"}
    assert all(sql.count("TRUE") <= 2 and "WHERE AND" not in sql for sql in sqls)


def test_mapped_fragments_are_sql_elements_with_their_own_values() -> None:
    insert, select = _queries("mapped-fragments.ts")
    row = "($%d, $%d, 'inbound', $%d, $%d::timestamptz)"
    assert " ".join(insert.sql.split()).endswith(
        "VALUES " + row % (1, 2, 3, 4) + ", " + row % (5, 6, 7, 8))
    assert [p.expression for p in insert.placeholders] == [
        "row.id", "row.leadId", "row.body", "row.sentAt"] * 2
    assert all(p.kind == "value" for p in insert.placeholders)
    # block body, a named function, and a `.map` to plain values (one list parameter)
    assert "(l.tags @> ARRAY[$1]::text[] OR l.tags @> ARRAY[$2]::text[])" in select.sql
    assert "($3 = ANY(l.tags) OR $4 = ANY(l.tags))" in select.sql
    assert [(p.expression, p.kind) for p in select.placeholders][-1] == (
        "Prisma.join(ids.map((id) => id.trim()))", "list")


def test_a_syntax_error_away_from_an_opaque_fragment_is_the_statements_own() -> None:
    queries = _queries("opaque-syntax-error-defect.ts")
    assert [q.unverified_syntax for q in queries] == [None, None]
    # the untyped `clientId` beside an opaque fragment is still a value (it once crashed)
    assert [p.expression for p in queries[0].placeholders] == ["clientId"]
    assert [[o.expression for o in q.opaque] for q in queries] == [
        ["where"], ["activeLeads", "filter"]]
    unverified = _queries("opaque-unverifiable.ts")
    assert all(q.unverified_syntax for q in unverified) and len(unverified) == 2
