"""CG205-CG208: the per-draft outcome — attribution window, pre-booked drafts, maturity, evidence."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlglot import exp

from convguard.rules._base import (
    Comparison,
    Finding,
    RuleContext,
    at,
    branch_of,
    clause_of,
    condition_root,
    conjuncts,
    core,
    disjuncts,
    is_not_null,
    is_null,
    rule,
)
from convguard.profiles.booking_conversion.rules.facts import EVIDENCE, BookingFacts, booking_facts

if TYPE_CHECKING:
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery
    from convguard._parse import ParsedQuery

PROFILE = "booking-conversion"
_FILTERS = ("where", "on", "having")


def _booking_comparisons(facts: BookingFacts) -> list[Comparison]:
    """Comparisons with the booking on the left (flipped when written the other way round)."""
    cached = facts._cache.get("booking_comparisons")
    if cached is None:
        cached = []  # type: list[Comparison]
        for comparison in facts.comparisons:
            if facts.is_booking(comparison.left):
                cached.append(comparison)
            elif facts.is_booking(comparison.right):
                cached.append(comparison.flipped())
        facts._cache["booking_comparisons"] = cached
    return cached  # type: ignore[return-value]


def _versus_send(facts: BookingFacts) -> list[Comparison]:
    return [c for c in _booking_comparisons(facts) if facts.is_send_time(c.right)]


def _is_exclusion_filter(facts: BookingFacts, comparison: Comparison) -> bool:
    """A filter that drops exactly the pre-booked drafts before any outcome is decided:
    ``b IS NULL OR b > s``, or any condition that reads the same (``COALESCE(b > s, true)``,
    ``NOT (b IS NOT NULL AND b <= s)``), judged by :func:`_filter_reading`."""
    if clause_of(comparison.node) not in _FILTERS:
        return False
    if comparison.op in (">", ">="):
        parent = comparison.node.parent
        while isinstance(parent, (exp.Paren, exp.Or)):
            if isinstance(parent, exp.Or):
                if any(facts.is_booking(is_null(part)) for part in disjuncts(parent)):
                    return True
                break
            parent = parent.parent
    return _filter_reading(facts, comparison) == "excludes pre-booked"


_UNKNOWN = object()
# A booking relative to the send: none, before it, at the same instant, after it.
_SCENARIOS = ("null", "before", "same", "after")
_HOLDS = {
    "before": {"<": True, "<=": True, "<>": True, "=": False, ">": False, ">=": False},
    "same": {"<": False, "<=": True, "<>": False, "=": True, ">": False, ">=": True},
    "after": {"<": False, "<=": False, "<>": True, "=": False, ">": True, ">=": True},
}


def _filter_reading(facts: BookingFacts, comparison: Comparison) -> str | None:
    """What the filter conjunct holding ``comparison`` (booking vs send) does to a draft, read
    with SQL's three-valued logic in each case of the booking: ``excludes pre-booked`` (keeps
    no booking and a booking after the send, drops the rest), ``drops unbooked`` (also drops a
    lead with no booking), or None (another effect, or a form convguard does not read)."""
    root = condition_root(comparison.node)
    conjunct = next((part for part in conjuncts(root) if _within(comparison.node, part)), None)
    if conjunct is None:
        return None
    kept = {}
    for scenario in _SCENARIOS:
        value = _truth(facts, conjunct, scenario)
        if value is _UNKNOWN:
            return None
        kept[scenario] = value is True
    if not kept["after"] or kept["before"] or kept["same"]:
        return None
    return "excludes pre-booked" if kept["null"] else "drops unbooked"


def _truth(facts: BookingFacts, node: exp.Expression | None, scenario: str) -> object:
    """True, False, None (SQL NULL) or _UNKNOWN for ``node`` when the booking is ``scenario``."""
    if isinstance(node, exp.Paren):
        return _truth(facts, node.this, scenario)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Not):
        value = _truth(facts, node.this, scenario)
        return value if value is None or value is _UNKNOWN else not value
    if isinstance(node, (exp.And, exp.Or)):
        left = _truth(facts, node.this, scenario)
        right = _truth(facts, node.expression, scenario)
        if _UNKNOWN in (left, right):
            return _UNKNOWN
        decisive = isinstance(node, exp.Or)  # TRUE decides an OR, FALSE an AND
        if decisive in (left, right):
            return decisive
        return None if None in (left, right) else not decisive
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        if not facts.is_booking(node.this):
            return _UNKNOWN
        return (scenario == "null") != bool(node.args.get("negate"))
    if isinstance(node, exp.Coalesce):
        for part in [node.this, *node.expressions]:
            value = _truth(facts, part, scenario)
            if value is not None:
                return value
        return None
    found = next((c for c in facts.comparisons if c.node is node and not isinstance(node,
                                                                                    exp.Between)),
                 None)
    if found is not None:
        for candidate in (found, found.flipped()):
            if facts.is_booking(candidate.left) and facts.is_send_time(candidate.right):
                return None if scenario == "null" else _HOLDS[scenario][candidate.op]
    return _UNKNOWN


def _booked_branches(facts: BookingFacts) -> list[Comparison]:
    """The ``b > s`` comparisons that open a BOOKED outcome (one per condition)."""
    seen: set[int] = set()
    found = []
    for comparison in _versus_send(facts):
        if comparison.op not in (">", ">=") or _is_exclusion_filter(facts, comparison):
            continue
        if clause_of(comparison.node) in _FILTERS \
                and _filter_reading(facts, comparison) == "drops unbooked":
            continue  # a filter on the drafts, CG206's finding, not an outcome's condition
        root = condition_root(comparison.node)
        if id(root) not in seen:
            seen.add(id(root))
            found.append(comparison)
    return found


def _within(node: exp.Expression, root: exp.Expression) -> bool:
    current: exp.Expression | None = node
    while current is not None:
        if current is root:
            return True
        current = current.parent
    return False


def _caps(facts: BookingFacts, bound: exp.Expression | None) -> tuple[bool, bool]:
    """Whether an upper bound is capped at ``to`` and at ``send + window days``."""
    value = core(bound)
    parts = [value]
    if isinstance(value, exp.Least):
        parts = [value.this, *value.expressions]
    to = any(facts.role(part) == "to" for part in parts)
    window = any(facts.is_window_end(part) for part in parts)
    return to, window


def _window_elsewhere(facts: BookingFacts) -> tuple[Comparison, str] | None:
    """``booking > x`` opening an outcome where ``x`` is not the send time (and not a role):
    the window exists but starts at another instant. ``x`` with what it is computed from."""
    for comparison in _booking_comparisons(facts):
        if comparison.op not in (">", ">=") or facts.is_send_time(comparison.right) \
                or facts.role(comparison.right) is not None \
                or clause_of(comparison.node) in _FILTERS:
            continue
        result = facts.lineage_of(comparison.right)
        if result is None or not result.columns:
            continue
        columns = ", ".join(f"{table}.{column}" for table, column in sorted(result.columns))
        aggregates = ", ".join(sorted(result.aggregates))
        return comparison, (f"{aggregates.upper()}({columns})" if aggregates else columns)
    return None


@rule("CG205", "attribution-window-mismatch", profile=PROFILE)
def attribution_window_mismatch(query: ExtractedQuery, parsed: ParsedQuery,
                                lineage: QueryLineage, context: RuleContext) -> Iterator[Finding]:
    """A booking is attributed outside `(send, LEAST(to, send + window days)]`.

    ## What it does
    Finds the BOOKED condition — the booking (`Lead.appointmentBookedAt`) compared with the send
    time — and checks it is `booking > send` and `booking <= LEAST(to, send + window days)`
    (the window being the `attribution_window_days` role; the two caps may also be written as
    two `<=` comparisons).

    ## Why is this bad?
    `>=` credits a booking made at the send instant (the lead had booked already); without the
    window any later booking counts; without the cap at `to`, bookings made after the range keep
    arriving, so last month's numbers change every day; `<` drops a booking exactly at the cap.

    ## Example
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT CASE
      WHEN l."appointmentBookedAt" > dst."sentAt"
        AND l."appointmentBookedAt" <= dst."sentAt" + (:attribution_window_days * interval '1 day')
      THEN 1 ELSE 4 END
    FROM draft_send_time dst JOIN "AIDraft" d ON d.id = dst."draftId"
    JOIN "Lead" l ON l.id = d."leadId"
    ```

    ## Use instead
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT CASE
      WHEN l."appointmentBookedAt" > dst."sentAt"
        AND l."appointmentBookedAt" <= LEAST(:to::timestamptz AT TIME ZONE 'UTC',
          dst."sentAt" + (:attribution_window_days * interval '1 day'))
      THEN 1 ELSE 4 END
    FROM draft_send_time dst JOIN "AIDraft" d ON d.id = dst."draftId"
    JOIN "Lead" l ON l.id = d."leadId"
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None or facts.anchor is None:
        return
    branches = _booked_branches(facts)
    if not branches:
        elsewhere = _window_elsewhere(facts)
        if elsewhere is not None:
            start, described = elsewhere
            yield at(start.node, facts.sql,
                     f"the attribution window is anchored on {facts.show(start.right)} "
                     f"({described}), not on the send time ({facts.anchor_name}.\"sentAt\", the "
                     "first outbound message): bookings are credited to the wrong instant",
                     'compare the booking with the send time: booking > dst."sentAt" AND booking '
                     '<= LEAST(to, dst."sentAt" + window * interval \'1 day\')')
            return
        yield at(facts.outcome_position(), facts.sql,
                 "no condition compares the booking with the send time (booking > send): the "
                 "attribution window is missing",
                 "WHEN booking > send AND booking <= LEAST(to, send + window * interval '1 day')")
        return
    for lower in branches:
        if lower.op == ">=":
            yield at(lower.node, facts.sql,
                     f"{facts.show(lower.node)} credits a booking made at the send instant: "
                     "the window is (send, cap], open at the send",
                     "write booking > send")
        root = condition_root(lower.node)
        uppers = [c for c in _booking_comparisons(facts)
                  if c.op in ("<", "<=") and not facts.is_send_time(c.right)
                  and _within(c.node, root)]
        capped_to = capped_window = False
        for upper in uppers:
            to, window = _caps(facts, upper.right)
            capped_to |= to
            capped_window |= window
            if (to or window) and upper.op == "<":
                yield at(upper.node, facts.sql,
                         f"{facts.show(upper.node)} drops a booking exactly at the cap: the "
                         "window (send, cap] includes its end", "write booking <= LEAST(...)")
        where = uppers[0].node if uppers else lower.node
        if not capped_window:
            yield at(where, facts.sql,
                     "the booking is not bounded by send + attribution_window_days: bookings any "
                     "time after the send count",
                     "AND booking <= LEAST(to, send + (window * interval '1 day'))")
        elif not capped_to:
            yield at(where, facts.sql,
                     f"{facts.show(where)} has no LEAST(to, ...) cap: bookings after `to` "
                     "count, so a past range changes as time passes",
                     "cap the window at to: booking <= LEAST(to, send + window days)")


@rule("CG206", "pre-booked-draft-counted", profile=PROFILE)
def pre_booked_draft_counted(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                             context: RuleContext) -> Iterator[Finding]:
    """Drafts sent to a lead that had already booked are judged instead of excluded.

    ## What it does
    Looks for the pre-booked branch: `booking <= send` mapped to `NULL` (excluded) in the
    outcome `CASE` before the PENDING and BOOKED branches, or pre-booked drafts filtered out
    (`booking IS NULL OR booking > send`, or any filter that reads the same in SQL's
    three-valued logic, such as `COALESCE(booking > send, true)`). A missing branch, a branch
    that maps to an outcome, `<` instead of `<=`, a branch after the others, or a filter that
    also drops leads with no booking is reported, each as what it is.

    ## Why is this bad?
    A lead who booked before the send did not book *because of* it. Judging such drafts counts
    them as NOT_BOOKED (or PENDING), which drags the booking rate down and, because a lead takes
    its best outcome, can hide the draft that did convert.

    ## Example
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT CASE
      WHEN l."appointmentBookedAt" > dst."sentAt" THEN 1
      ELSE 4 END
    FROM draft_send_time dst JOIN "AIDraft" d ON d.id = dst."draftId"
    JOIN "Lead" l ON l.id = d."leadId"
    ```

    ## Use instead
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT CASE
      WHEN l."appointmentBookedAt" <= dst."sentAt" THEN NULL
      WHEN l."appointmentBookedAt" > dst."sentAt" THEN 1
      ELSE 4 END
    FROM draft_send_time dst JOIN "AIDraft" d ON d.id = dst."draftId"
    JOIN "Lead" l ON l.id = d."leadId"
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None or facts.anchor is None:
        return
    versus = _versus_send(facts)
    if any(_is_exclusion_filter(facts, c) for c in versus):
        return
    filtered = [c for c in versus if clause_of(c.node) in _FILTERS]
    for comparison in filtered:
        if _filter_reading(facts, comparison) == "drops unbooked":
            yield at(comparison.node, facts.sql,
                     f"the filter {facts.show(comparison.node)} excludes pre-booked drafts but "
                     "also every draft of a lead with no booking: those must be judged "
                     "(NOT_BOOKED, PENDING or BOOKED_NO_TIMESTAMP)",
                     "keep leads without a booking: (booking IS NULL OR booking > send)")
            return
    earlier = [c for c in versus if c.op in ("<=", "<", "=")]
    if filtered and not any(clause_of(c.node) not in _FILTERS for c in earlier):
        comparison = filtered[0]
        yield at(comparison.node, facts.sql,
                 f"a filter compares the booking with the send time ({facts.show(comparison.node)})"
                 " in a form convguard cannot read as the pre-booked exclusion: it cannot prove "
                 "pre-booked drafts are dropped and every other draft kept",
                 "write the exclusion as (booking IS NULL OR booking > send), or map pre-booked "
                 "drafts to NULL as the first WHEN of the outcome CASE")
        return
    if not earlier:
        booked = _booked_branches(facts)
        yield at(booked[0].node if booked else facts.outcome_position(), facts.sql,
                 "pre-booked drafts (booking <= send) are not excluded: they are judged as "
                 "NOT_BOOKED or PENDING", "add WHEN booking IS NOT NULL AND booking <= send THEN "
                 "NULL as the first branch, and drop NULL outcomes")
        return
    for comparison in earlier:
        if clause_of(comparison.node) in _FILTERS:
            continue
        if comparison.op != "<=":
            yield at(comparison.node, facts.sql,
                     f"{facts.show(comparison.node)} misses a booking at the send instant: "
                     "it was made before the lead could read the draft", "write booking <= send")
        located = branch_of(comparison.node)
        if located is None:
            continue
        case, index = located
        whens = case.args.get("ifs") or []
        result = whens[index].args.get("true")
        if not isinstance(result, exp.Null):
            yield at(comparison.node, facts.sql,
                     f"pre-booked drafts ({facts.show(comparison.node)}) get an outcome "
                     f"({facts.show(result) if result is not None else '?'}) instead of "
                     "being excluded", "map them to NULL and drop NULL outcomes")
        for before in whens[:index]:
            if _decides_outcome(facts, before.this):
                yield at(comparison.node, facts.sql,
                         "the pre-booked branch comes after another outcome branch "
                         f"({facts.show(before.this, 40)}): the first match wins, so "
                         "pre-booked drafts are judged", "make it the first WHEN of the CASE")
                break


def _decides_outcome(facts: BookingFacts, condition: exp.Expression) -> bool:
    for comparison in facts.comparisons:
        if not _within(comparison.node, condition):
            continue
        if facts.is_cutoff(comparison.right) or facts.is_cutoff(comparison.left):
            return True
        if facts.is_booking(comparison.left) or facts.is_booking(comparison.right):
            return True
    return False


@rule("CG207", "maturity-cutoff-mismatch", profile=PROFILE)
def maturity_cutoff_mismatch(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                             context: RuleContext) -> Iterator[Finding]:
    """Recent sends are not held back as PENDING by `send > to - buffer days`.

    ## What it does
    Finds the maturity test: the send time compared with the cutoff, written as `to` minus the
    `maturity_buffer_days` role (`to - buffer * interval '1 day'`) or as the
    `maturity_cutoff` role. It must be `send > cutoff`, in a branch before the BOOKED one.

    ## Why is this bad?
    A draft sent yesterday has had no time to convert: judging it counts it as NOT_BOOKED and
    the newest days always look bad. `>=` holds back a send exactly at the cutoff, which is
    mature; comparing another column, or testing BOOKED first, judges immature drafts.

    ## Example
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT CASE WHEN dst."sentAt" >= :maturity_cutoff THEN 3 ELSE 4 END
    FROM draft_send_time dst
    ```

    ## Use instead
    ```sql
    WITH draft_send_time AS (
      SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
      FROM "Message" m WHERE m.direction = 'outbound' GROUP BY m."aiDraftId"
    )
    SELECT CASE WHEN dst."sentAt" > :maturity_cutoff THEN 3 ELSE 4 END
    FROM draft_send_time dst
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None or facts.anchor is None:
        return
    tests = []
    for comparison in facts.comparisons:
        if facts.is_cutoff(comparison.right) and not facts.is_cutoff(comparison.left):
            tests.append(comparison)
        elif facts.is_cutoff(comparison.left) and not facts.is_cutoff(comparison.right):
            tests.append(comparison.flipped())
    if not tests:
        yield at(facts.outcome_position(), facts.sql,
                 "no maturity buffer: no branch compares the send time with to - "
                 "maturity_buffer_days (or maturity_cutoff)",
                 "WHEN send > to - (buffer * interval '1 day') THEN <PENDING>, before BOOKED")
        return
    booked = _booked_branches(facts)
    for test in tests:
        if not facts.is_send_time(test.left):
            yield at(test.left, facts.sql,
                     f"the maturity cutoff is compared with {facts.show(test.left)}, not "
                     "with the send time", 'compare the send time: dst."sentAt" > cutoff')
            continue
        if test.op != ">":
            why = ("holds back a send exactly at the cutoff, which is mature"
                   if test.op == ">=" else "holds back the old sends instead of the recent ones")
            yield at(test.node, facts.sql, f"{facts.show(test.node)} {why}",
                     "write send > cutoff")
        located = branch_of(test.node)
        if located is None:
            continue
        case, index = located
        for lower in booked:
            other = branch_of(lower.node)
            if other is not None and other[0] is case and other[1] < index:
                yield at(test.node, facts.sql,
                         "the maturity branch comes after the BOOKED branch: the first match "
                         "wins, so recent sends that booked are judged before they are mature",
                         "test maturity before BOOKED (right after the pre-booked branch)")
                break


@rule("CG208", "incomplete-booking-evidence", profile=PROFILE)
def incomplete_booking_evidence(query: ExtractedQuery, parsed: ParsedQuery,
                                lineage: QueryLineage, context: RuleContext) -> Iterator[Finding]:
    """Booked-without-timestamp does not look at all the booking evidence.

    ## What it does
    Finds the BOOKED_NO_TIMESTAMP condition (evidence columns tested `IS NOT NULL`) and checks
    that it reads all three evidence columns — `ghlAppointmentId`, `calendlyInviteeUri`,
    `calendlyScheduledEventUri` — and requires `appointmentBookedAt IS NULL`.

    ## Why is this bad?
    A lead booked through Calendly may have only a scheduled-event URI; a condition that ignores
    it reports that booking as NOT_BOOKED. Without `appointmentBookedAt IS NULL` the branch
    swallows leads whose booking has a timestamp outside the window.

    ## Example
    ```sql
    SELECT CASE
      WHEN l."appointmentBookedAt" IS NULL
        AND (l."ghlAppointmentId" IS NOT NULL OR l."calendlyInviteeUri" IS NOT NULL) THEN 2
      ELSE 4 END
    FROM "Lead" l
    ```

    ## Use instead
    ```sql
    SELECT CASE
      WHEN l."appointmentBookedAt" IS NULL
        AND (l."ghlAppointmentId" IS NOT NULL OR l."calendlyInviteeUri" IS NOT NULL
             OR l."calendlyScheduledEventUri" IS NOT NULL) THEN 2
      ELSE 4 END
    FROM "Lead" l
    ```
    """
    facts = booking_facts(query, parsed, lineage, context)
    if facts is None:
        return
    roots: dict[int, tuple[exp.Expression, set[tuple[str, str]]]] = {}
    for node in facts.parsed.find_all(exp.Is, exp.Not):
        operand = is_not_null(node)
        if operand is None:
            continue
        result = facts.lineage_of(operand)
        covered = set(result.columns) & set(EVIDENCE) if result is not None else set()
        if not covered:
            continue
        root = condition_root(node)
        entry = roots.setdefault(id(root), (root, set()))
        entry[1].update(covered)
    if not roots:
        yield at(facts.outcome_position(), facts.sql,
                 "no booked-without-timestamp branch: leads with booking evidence but no "
                 "appointmentBookedAt are counted as NOT_BOOKED",
                 "WHEN booking IS NULL AND (ghlAppointmentId IS NOT NULL OR calendlyInviteeUri "
                 "IS NOT NULL OR calendlyScheduledEventUri IS NOT NULL) THEN <BOOKED_NO_TIMESTAMP>")
        return
    for root, covered in roots.values():
        missing = [column for _, column in EVIDENCE if ("Lead", column) not in covered]
        if missing:
            seen = ", ".join(column for _, column in EVIDENCE if ("Lead", column) in covered)
            yield at(root, facts.sql,
                     f"booked-without-timestamp looks at {seen} only: {', '.join(missing)} "
                     f"{'is' if len(missing) == 1 else 'are'} evidence of a booking too",
                     f"add OR {' OR '.join(f'{name} IS NOT NULL' for name in missing)}")
        if not any(facts.is_booking(is_null(part)) for part in conjuncts(root)):
            yield at(root, facts.sql,
                     "booked-without-timestamp does not require appointmentBookedAt IS NULL",
                     "AND appointmentBookedAt IS NULL")
