"""The booking-conversion rules (CG2xx) on variants of the reference query.

Each case changes the reference ``.sql`` (or the sample action) in one place and states which
codes must appear; equivalent rewrites must stay clean.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from convguard._check import check_source
from convguard._config import Config, QueryConfig, load_config_file

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = (ROOT / "fixtures" / "queries" / "booking_conversion.sql").read_text()
ACTION = (ROOT / "fixtures" / "app" / "actions" /
          "ai-draft-response-analytics-actions.ts").read_text()
VIRTUAL = "/virtual"


def bound(path: str, function: str | None = None, *, options: dict[str, object] | None = None,
          **settings: object) -> Config:
    entry = QueryConfig(path=path, function=function, profile="booking-conversion",
                        options=options or {})
    return Config(root=VIRTUAL, queries=(entry,), **settings)  # type: ignore[arg-type]


def variant(text: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def sql_codes(*changes: tuple[str, str]) -> set[str]:
    result = check_source(f"{VIRTUAL}/q.sql", variant(REFERENCE, *changes),
                          config=bound("q.sql"))
    assert not result.errors, result.errors
    return {d.code for d in result.diagnostics}


def ts_codes(*changes: tuple[str, str]) -> set[str]:
    result = check_source(f"{VIRTUAL}/a.ts", variant(ACTION, *changes),
                          config=bound("a.ts", "getAiDraftBookingConversionStats"))
    assert not result.errors, result.errors
    return {d.code for d in result.diagnostics}


def test_references_are_clean() -> None:
    assert sql_codes() == set()
    assert ts_codes() == set()


def test_profile_rules_only_run_on_bound_queries() -> None:
    broken = variant(REFERENCE, ('COUNT(DISTINCT lo."leadId")', "COUNT(*)"))
    unbound = check_source(f"{VIRTUAL}/q.sql", broken, config=Config(root=VIRTUAL))
    assert unbound.diagnostics == ()


# -- CG209: count distinct leads, by lineage ----------------------------------------------------

@pytest.mark.parametrize(("change", "expected"), [
    (('l.id AS "leadId"', 'd.id AS "leadId"'), {"CG209"}),
    (('l.id AS "leadId"', 'd."leadId" AS "leadId"'), set()),
    (('COUNT(DISTINCT lo."leadId")', "COUNT(*)"), {"CG209"}),
    (('COUNT(DISTINCT lo."leadId")', 'COUNT(lo."leadId")'), {"CG209"}),
    (('COUNT(DISTINCT lo."leadId")', 'COUNT(DISTINCT lo.channel)'), {"CG209"}),
])
def test_count_is_proven_through_ctes(change: tuple[str, str], expected: set[str]) -> None:
    assert sql_codes(change) == expected


# -- CG201/CG202: the anchor ---------------------------------------------------------------------

@pytest.mark.parametrize(("change", "expected"), [
    (('MIN(m."sentAt") AS "sentAt"', 'MAX(m."sentAt") AS "sentAt"'), {"CG201"}),
    (('MIN(m."sentAt") AS "sentAt"', 'MIN(m."createdAt") AS "sentAt"'), {"CG201"}),
    (('  GROUP BY m."aiDraftId"\n),', '  GROUP BY m."aiDraftId", m.id\n),'), {"CG201"}),
    (('  GROUP BY m."aiDraftId"\n),', '  GROUP BY 1\n),'), set()),
    (("    AND m.direction = 'outbound'\n", ""), {"CG202"}),
    (("m.direction = 'outbound'", "m.direction = 'inbound'"), {"CG202"}),
    (("m.direction = 'outbound'", "m.direction <> 'inbound'"), {"CG202"}),
    (("m.direction = 'outbound'", "m.direction IN ('outbound')"), set()),
    (("m.direction = 'outbound'", "'outbound' = m.direction"), set()),
])
def test_anchor(change: tuple[str, str], expected: set[str]) -> None:
    assert sql_codes(change) == expected


def test_anchor_name_is_configurable() -> None:
    text = REFERENCE.replace("draft_send_time", "first_send")
    assert {d.code for d in check_source(f"{VIRTUAL}/q.sql", text,
                                         config=bound("q.sql")).diagnostics} == {"CG201"}
    config = bound("q.sql", options={"anchor_cte": "first_send"})
    assert check_source(f"{VIRTUAL}/q.sql", text, config=config).diagnostics == ()


# -- CG203/CG204: the range ----------------------------------------------------------------------

FROM = "dst.\"sentAt\" >= (:from::timestamptz AT TIME ZONE 'UTC')"
TO = "dst.\"sentAt\" < (:to::timestamptz AT TIME ZONE 'UTC')"


@pytest.mark.parametrize(("change", "expected"), [
    ((FROM, FROM.replace(">=", ">")), {"CG204"}),
    ((TO, TO.replace("<", "<=")), {"CG204"}),
    ((FROM, FROM.replace(">=", "<")), {"CG204"}),
    ((FROM, "(:from::timestamptz AT TIME ZONE 'UTC') <= dst.\"sentAt\""), set()),
    ((FROM, FROM.replace('dst."sentAt"', 'd."createdAt"')), {"CG203"}),
    ((FROM, "TRUE"), {"CG203"}),
    ((FROM + "\n    AND " + TO, "dst.\"sentAt\" BETWEEN :from AND :to"), {"CG204"}),
])
def test_range(change: tuple[str, str], expected: set[str]) -> None:
    assert sql_codes(change) == expected


def test_range_inside_the_anchor_is_not_on_the_send_time() -> None:
    change = ("    AND m.direction = 'outbound'\n",
              "    AND m.direction = 'outbound'\n    AND m.\"sentAt\" >= :from\n")
    assert sql_codes(change) == {"CG203"}


ANCHOR_WHERE = "    AND m.direction = 'outbound'\n  GROUP BY"


def candidate_filter(*conditions: str) -> tuple[str, str]:
    """The anchor narrowed to drafts with a message meeting ``conditions`` (the range's by
    default), as an ``IN`` over ``Message``."""
    where = "\n        AND ".join(conditions or (
        "w.direction = 'outbound'", "w.\"sentAt\" >= (:from::timestamptz AT TIME ZONE 'UTC')",
        "w.\"sentAt\" < (:to::timestamptz AT TIME ZONE 'UTC')"))
    narrowed = ("    AND m.direction = 'outbound'\n    AND m.\"aiDraftId\" IN (\n"
                "      SELECT w.\"aiDraftId\" FROM \"Message\" w\n"
                f"      WHERE {where})\n  GROUP BY")
    return ANCHOR_WHERE, narrowed


@pytest.mark.parametrize(("conditions", "expected"), [
    ((), set()),
    (("w.direction = 'outbound'", "w.\"sentAt\" >= :from", "w.\"sentAt\" <= :to"), set()),
    (("w.\"sentAt\" BETWEEN :from AND :to", "w.\"aiDraftId\" IS NOT NULL"), set()),
    (("w.\"sentAt\" < :to",), set()),
    (("w.\"sentAt\" > :from",), {"CG203"}),
    (("w.direction = 'inbound'", "w.\"sentAt\" >= :from"), {"CG203"}),
    (("w.\"sentAt\" >= :from", "w.channel = 'sms'"), {"CG203"}),
    (("w.\"sentAt\" >= :to",), {"CG203"}),
])
def test_a_candidate_filter_in_the_anchor_is_sound_only_with_the_ranges_conditions(
        conditions: tuple[str, ...], expected: set[str]) -> None:
    """Narrowing the anchor to drafts with an outbound message in [from, to) keeps every draft
    sent in the range with all its messages; a condition a send in the range can fail does not."""
    assert sql_codes(candidate_filter(*conditions)) == expected


# -- CG205/CG206/CG207/CG208: the outcome ---------------------------------------------------------

BOOKED = 'WHEN ad."appointmentBookedAt" > ad."sentAt"\n'
CAP = '''AND ad."appointmentBookedAt" <= LEAST(
          (:to::timestamptz AT TIME ZONE 'UTC'),
          ad."sentAt" + (:attribution_window_days * interval '1 day')
        ) THEN 1'''
PRE = '''      WHEN ad."appointmentBookedAt" IS NOT NULL
        AND ad."appointmentBookedAt" <= ad."sentAt" THEN NULL
'''
PENDING = '''      WHEN ad."sentAt" > (:to::timestamptz AT TIME ZONE 'UTC')
        - (:maturity_buffer_days * interval '1 day') THEN 3
'''


@pytest.mark.parametrize(("changes", "expected"), [
    ([(BOOKED, BOOKED.replace(">", ">="))], {"CG205"}),
    ([(CAP, CAP.replace("<= LEAST", "< LEAST"))], {"CG205"}),
    ([(CAP, '''AND ad."appointmentBookedAt" <= ad."sentAt"
          + (:attribution_window_days * interval '1 day') THEN 1''')], {"CG205"}),
    ([(CAP, '''AND ad."appointmentBookedAt" <= (:to::timestamptz AT TIME ZONE 'UTC') THEN 1''')],
     {"CG205"}),
    ([(CAP, '''AND ad."appointmentBookedAt" <= (:to::timestamptz AT TIME ZONE 'UTC')
        AND ad."appointmentBookedAt" <= ad."sentAt"
          + (:attribution_window_days * interval '1 day') THEN 1''')], set()),
    ([(CAP, CAP.replace("(:attribution_window_days * interval '1 day')",
                        "make_interval(days => :attribution_window_days)"))], set()),
    ([(PRE, "")], {"CG206"}),
    ([(PRE, PRE.replace("THEN NULL", "THEN 4"))], {"CG206"}),
    ([(PRE, PRE.replace('<= ad."sentAt"', '< ad."sentAt"'))], {"CG206"}),
    ([(PRE, ""), (PENDING, PENDING + PRE)], {"CG206"}),
    ([(PENDING, PENDING.replace('ad."sentAt" >', 'ad."sentAt" >='))], {"CG207"}),
    ([(PENDING, PENDING.replace('ad."sentAt" >', 'ad."appointmentBookedAt" >'))], {"CG207"}),
    ([(PENDING, "")], {"CG207"}),
    ([('OR ad."calendlyScheduledEventUri" IS NOT NULL', "")], {"CG208"}),
    ([('WHEN ad."appointmentBookedAt" IS NULL\n        AND (', "WHEN (")], {"CG208"}),
    ([('''ad."ghlAppointmentId" IS NOT NULL
          OR ad."calendlyInviteeUri" IS NOT NULL
          OR ad."calendlyScheduledEventUri" IS NOT NULL''',
       '''COALESCE(ad."ghlAppointmentId", ad."calendlyInviteeUri",
                   ad."calendlyScheduledEventUri") IS NOT NULL''')], set()),
])
def test_outcome(changes: list[tuple[str, str]], expected: set[str]) -> None:
    assert sql_codes(*changes) == expected


def test_pre_booked_drafts_may_be_filtered_out_instead() -> None:
    changes = [(PRE, ""), ("""    AND (d.channel <> 'email' OR ec."responseMode" = 'AI_AUTO_SEND')\n""",
                           """    AND (d.channel <> 'email' OR ec."responseMode" = 'AI_AUTO_SEND')
    AND (l."appointmentBookedAt" IS NULL OR l."appointmentBookedAt" > dst."sentAt")\n""")]
    assert sql_codes(*changes) == set()


def test_maturity_cutoff_role_is_accepted() -> None:
    assert ts_codes() == set()  # the action passes maturityCutoff


# -- CG210/CG211: filters ------------------------------------------------------------------------

EMAIL = """    AND (d.channel <> 'email' OR ec."responseMode" = 'AI_AUTO_SEND')\n"""


@pytest.mark.parametrize(("change", "expected"), [
    ((EMAIL, ""), {"CG210"}),
    ((EMAIL, EMAIL.replace("<>", "!=")), set()),
    ((EMAIL, EMAIL.replace("'AI_AUTO_SEND'", "'SETTER_MANAGED'")), {"CG210"}),
    (('LEFT JOIN "EmailCampaign"', 'JOIN "EmailCampaign"'), {"CG210"}),
    (('    AND d."responseDisposition" IS NOT NULL\n', ""), {"CG211"}),
    (('    AND d."responseDisposition" IS NOT NULL\n',
      "    AND d.\"responseDisposition\" IN ('AUTO_SENT', 'APPROVED', 'EDITED')\n"), set()),
])
def test_filters(change: tuple[str, str], expected: set[str]) -> None:
    assert sql_codes(change) == expected


# -- CG212: statement timeout --------------------------------------------------------------------

SET = 'await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 10000");'


@pytest.mark.parametrize(("replacement", "expected"), [
    ('await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 30000");', {"CG212"}),
    ('await tx.$executeRawUnsafe("SET statement_timeout = 10000");', {"CG212"}),
    ("", {"CG212"}),
    ("await tx.$executeRawUnsafe(\"SET LOCAL statement_timeout = '10s'\");", set()),
    ("await tx.$executeRawUnsafe(\"SET LOCAL statement_timeout = '5000ms'\");", set()),
    ("await tx.$executeRawUnsafe(\"SET LOCAL statement_timeout TO '11s'\");", {"CG212"}),
    ("await tx.$queryRaw`SELECT set_config('statement_timeout', '10000', true)`;", set()),
    ("await tx.$queryRaw`SELECT set_config('statement_timeout', '10000', false)`;", {"CG212"}),
])
def test_statement_timeout(replacement: str, expected: set[str]) -> None:
    assert ts_codes((SET, replacement)) == expected


def test_statement_timeout_must_share_the_transaction() -> None:
    outside = variant(ACTION, (SET, ""), (
        "  const rows = await prisma.$transaction(async (tx) => {",
        ('  await prisma.$executeRawUnsafe("SET LOCAL statement_timeout = 10000");\n'
        "  const rows = await prisma.$transaction(async (tx) => {")))
    result = check_source(f"{VIRTUAL}/a.ts", outside,
                          config=bound("a.ts", "getAiDraftBookingConversionStats"))
    assert {d.code for d in result.diagnostics} == {"CG212"}


def test_statement_timeout_is_skipped_for_sql_files() -> None:
    assert "CG212" not in sql_codes()


# -- CG004: roles --------------------------------------------------------------------------------

def test_unmapped_interpolation_names_the_config_line(tmp_path: Path) -> None:
    (tmp_path / "convguard.toml").write_text(
        'driver = "node-postgres"\n\n[[query]]\npath = "q.sql"\nprofile = "booking-conversion"\n')
    text = variant(REFERENCE, ("AND d.\"responseDisposition\" IS NOT NULL",
                               "AND d.\"responseDisposition\" IS NOT NULL AND d.status = :state"))
    config = load_config_file(str(tmp_path / "convguard.toml"))
    result = check_source(str(tmp_path / "q.sql"), text, config=config)
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "CG004"
    assert ":state" in diagnostic.message
    assert diagnostic.fix is not None and diagnostic.fix.startswith(
        'add "state" = "<role>" under [query.params] (convguard.toml:3)')
    line = text.splitlines()[diagnostic.line - 1]
    assert line[diagnostic.column - 1:].startswith(":state")


def test_configured_params_bind_roles() -> None:
    text = variant(ACTION, ("${maturityCutoff}", "${cutoffForMaturity}"))
    config = bound("a.ts", "getAiDraftBookingConversionStats")
    assert {d.code for d in check_source(f"{VIRTUAL}/a.ts", text, config=config).diagnostics} \
        == {"CG004", "CG207"}
    entry = QueryConfig(path="a.ts", function="getAiDraftBookingConversionStats",
                        profile="booking-conversion",
                        params={"cutoffForMaturity": "maturity_cutoff"})
    mapped = Config(root=VIRTUAL, queries=(entry,))
    assert check_source(f"{VIRTUAL}/a.ts", text, config=mapped).diagnostics == ()


def test_a_configured_function_that_holds_no_query_is_an_error() -> None:
    result = check_source(f"{VIRTUAL}/a.ts", ACTION, config=bound("a.ts", "noSuchFunction"))
    assert [type(e).__name__ for e in result.errors] == ["SelectorError"]


# -- messages say what is there (issue 10) --------------------------------------------------------

def sql_diagnostics(*changes: tuple[str, str]) -> list[object]:
    result = check_source(f"{VIRTUAL}/q.sql", variant(REFERENCE, *changes),
                          config=bound("q.sql"))
    assert not result.errors, result.errors
    return list(result.diagnostics)


LAST_SEND = (
    ('    dst."sentAt",\n    l."appointmentBookedAt",',
     '    dst."sentAt",\n    (SELECT MAX(m2."sentAt") FROM "Message" m2 WHERE m2."aiDraftId" = d.id)'
     ' AS "lastSentAt",\n    l."appointmentBookedAt",'),
    ('      WHEN ad."appointmentBookedAt" > ad."sentAt"\n',
     '      WHEN ad."appointmentBookedAt" > ad."lastSentAt"\n'),
    ('          ad."sentAt" + (:attribution_window_days',
     '          ad."lastSentAt" + (:attribution_window_days'),
)
NO_PRE_BOOKED_BRANCH = ('      WHEN ad."appointmentBookedAt" IS NOT NULL\n'
                        '        AND ad."appointmentBookedAt" <= ad."sentAt" THEN NULL\n', "")
AUTO_SEND_FILTER = "    AND (d.channel <> 'email' OR ec.\"responseMode\" = 'AI_AUTO_SEND')\n),"


def with_filter(condition: str) -> tuple[tuple[str, str], tuple[str, str]]:
    return NO_PRE_BOOKED_BRANCH, (AUTO_SEND_FILTER, AUTO_SEND_FILTER[:-3] + f"\n    AND {condition}\n),")


def test_window_anchored_on_another_expression_is_reported_as_that() -> None:
    [diagnostic] = sql_diagnostics(*LAST_SEND)
    assert diagnostic.code == "CG205"  # type: ignore[attr-defined]
    assert "anchored on ad.\"lastSentAt\" (MAX(Message.sentAt))" in diagnostic.message  # type: ignore[attr-defined]
    assert "missing" not in diagnostic.message  # type: ignore[attr-defined]


@pytest.mark.parametrize("condition", [
    'COALESCE(l."appointmentBookedAt" > dst."sentAt", true)',
    'NOT (l."appointmentBookedAt" IS NOT NULL AND l."appointmentBookedAt" <= dst."sentAt")',
    '(dst."sentAt" < l."appointmentBookedAt" OR l."appointmentBookedAt" IS NULL)',
    'NOT COALESCE(l."appointmentBookedAt" <= dst."sentAt", false)',
])
def test_a_where_that_excludes_pre_booked_drafts_is_enough(condition: str) -> None:
    assert sql_codes(*with_filter(condition)) == set()


def test_a_where_that_also_drops_unbooked_leads_says_so() -> None:
    [diagnostic] = sql_diagnostics(*with_filter('l."appointmentBookedAt" > dst."sentAt"'))
    assert diagnostic.code == "CG206"  # type: ignore[attr-defined]
    assert "excludes pre-booked drafts but also every draft of a lead with no booking" in \
        diagnostic.message  # type: ignore[attr-defined]
    assert "judged as NOT_BOOKED or PENDING" not in diagnostic.message  # type: ignore[attr-defined]


def test_an_unreadable_exclusion_is_not_called_missing() -> None:
    diagnostics = sql_diagnostics(
        *with_filter('(l."appointmentBookedAt" > dst."sentAt") IS NOT FALSE'))
    [cg206] = [d for d in diagnostics if d.code == "CG206"]  # type: ignore[attr-defined]
    assert "cannot read as the pre-booked exclusion" in cg206.message  # type: ignore[attr-defined]
    assert "are not excluded" not in cg206.message  # type: ignore[attr-defined]


def test_pre_booked_drafts_still_reported_when_nothing_excludes_them() -> None:
    [diagnostic] = sql_diagnostics(NO_PRE_BOOKED_BRANCH)
    assert diagnostic.code == "CG206"  # type: ignore[attr-defined]
    assert "are not excluded" in diagnostic.message  # type: ignore[attr-defined]


SET_LOCAL = 'await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 10000");'


@pytest.mark.parametrize(("bound_value", "codes"), [
    ("${String(10000)}", set()),
    ("${String(10_000)}", set()),
    ("${'10s'}", set()),
    ("${String(30000)}", {"CG212"}),
    ("${String(timeoutMs)}", {"CG212"}),
])
def test_set_config_with_a_bound_value_is_the_timeout(bound_value: str, codes: set[str]) -> None:
    """The form CG105 advises (a bound parameter through set_config) satisfies CG212 when the
    interpolation is a literal convguard can read, and is reported, as such, when it is not."""
    form = f"await tx.$executeRaw`SELECT set_config('statement_timeout', {bound_value}, true)`;"
    assert ts_codes((SET_LOCAL, form)) == codes
