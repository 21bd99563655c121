"""Metamorphic relations: the oracle satisfies each (so each is a true statement of SEMANTICS.md),
the reference queries satisfy each, and each catches a query variant that breaks it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")

from convguard.extract import extract_source
from convguard.kit.conformance.profile_kit import profile_kit
from convguard.kit.conformance.runner import QueryPlan, is_setup_statement, statement_timeout_for
from convguard.kit.property.differential import explore
from convguard.kit.property.metamorphic import relations_of, run_relations
from convguard.profiles.booking_conversion.relations import (
    RELATION_NAMES,
    RELATIONS,
    permute_document,
    relation_named,
    shift_document,
)
from convguard.profiles.booking_conversion.schema import booking_schema
from convguard.profiles.booking_conversion.strategies import booking_documents, scenario_of

ROOT = Path(__file__).resolve().parents[3]
SQL_QUERY = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
TS_QUERY = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
TS_FUNCTION = "getAiDraftBookingConversionStats"
TS_PARAMS = {"Prisma.join(scope.clientIds)": "client_ids", "maturityCutoff": "maturity_cutoff"}
#: The node-postgres defect: ``${to}::timestamp`` drops the offset of a Date sent as local time.
TIMESTAMP_CAST_TS = Path(__file__).with_name("variant_timestamp_cast.ts")
KIT = profile_kit("booking-conversion")
SCHEMA = booking_schema()


def plan_of(path: Path, function: str | None = None) -> QueryPlan:
    extraction = extract_source(str(path), path.read_text())
    query = next(q for q in extraction.queries if not is_setup_statement(q)
                 and (function is None or q.function == function))
    return QueryPlan(query=query, kit=KIT, schema=SCHEMA, params=TS_PARAMS,
                     statement_timeout=statement_timeout_for(query, extraction))


# One variant of the reference query per relation: (relation, [(old, new), ...], seed, sources).
# The seed and source count only keep the run short; the defect is not specific to them.
SCOPE_IN_JOIN = [(  # the scope filter moved into the LEFT JOIN's ON, where it filters nothing
    """  LEFT JOIN "EmailCampaign" ec ON ec.id = l."emailCampaignId"
  WHERE l."clientId" IN (:client_ids)
    AND d."responseDisposition" IS NOT NULL""",
    """  LEFT JOIN "EmailCampaign" ec ON ec.id = l."emailCampaignId"
    AND l."clientId" IN (:client_ids)
  WHERE d."responseDisposition" IS NOT NULL""")]
CUTOFF_TRUNCATED = [(  # the maturity cutoff truncated to the day
    """WHEN ad."sentAt" > (:to::timestamptz AT TIME ZONE 'UTC')
        - (:maturity_buffer_days * interval '1 day') THEN 3""",
    """WHEN ad."sentAt" > date_trunc('day', (:to::timestamptz AT TIME ZONE 'UTC')
        - (:maturity_buffer_days * interval '1 day')) THEN 3""")]
NO_UPPER_BOUND = [("""    AND dst."sentAt" < (:to::timestamptz AT TIME ZONE 'UTC')\n""", "")]
TIMESTAMPTZ_COMPARED = [(" AT TIME ZONE 'UTC'", "")]  # compared in the session's TimeZone
PARTS_COUNTED = [(  # first part = "no earlier part" (ties survive), and rows counted, not leads
    """  SELECT m."aiDraftId" AS "draftId", MIN(m."sentAt") AS "sentAt"
  FROM "Message" m
  WHERE m."aiDraftId" IS NOT NULL
    AND m.direction = 'outbound'
  GROUP BY m."aiDraftId\"""",
    """  SELECT m."aiDraftId" AS "draftId", m."sentAt"
  FROM "Message" m
  WHERE m."aiDraftId" IS NOT NULL
    AND m.direction = 'outbound'
    AND NOT EXISTS (SELECT 1 FROM "Message" e WHERE e."aiDraftId" = m."aiDraftId"
      AND e.direction = 'outbound' AND e."sentAt" < m."sentAt")"""), (
    """  COUNT(DISTINCT lo."leadId")::int AS count
FROM lead_outcomes lo""",
    """  COUNT(*)::int AS count
FROM draft_outcomes lo
WHERE lo."outcomeRank" IS NOT NULL""")]
LOWEST_ID_DRAFT = [(  # a lead takes the outcome of its lowest-id draft, not its best one
    """    l.id AS "leadId",
    d.channel,""",
    """    l.id AS "leadId",
    d.id AS "draftId",
    d.channel,"""), (
    """    ad."leadId",
    ad.channel,""",
    """    ad."leadId",
    ad."draftId",
    ad.channel,"""), (
    """  SELECT
    dro."leadId",
    dro.channel,
    dro."responseDisposition",
    MIN(dro."outcomeRank") AS "outcomeRank"
  FROM draft_outcomes dro
  WHERE dro."outcomeRank" IS NOT NULL
  GROUP BY dro."leadId", dro.channel, dro."responseDisposition\"""",
    """  SELECT DISTINCT ON (dro."leadId", dro.channel, dro."responseDisposition")
    dro."leadId",
    dro.channel,
    dro."responseDisposition",
    dro."outcomeRank"
  FROM draft_outcomes dro
  WHERE dro."outcomeRank" IS NOT NULL
  ORDER BY dro."leadId", dro.channel, dro."responseDisposition", dro."draftId\"""")]
MATURITY_FROM_WINDOW = [(  # maturity measured with the attribution window
    "- (:maturity_buffer_days * interval '1 day') THEN 3",
    "- (:attribution_window_days * interval '1 day') THEN 3")]
VARIANTS = [
    ("client-partition-additivity", SCOPE_IN_JOIN, 0, 1),
    ("time-translation", CUTOFF_TRUNCATED, 2, 5),
    ("noise-outside-range-or-scope", NO_UPPER_BOUND, 0, 1),
    ("session-time-zone", TIMESTAMPTZ_COMPARED, 0, 1),
    ("duplicate-outbound-part", PARTS_COUNTED, 0, 1),
    ("permute-rows-and-ids", LOWEST_ID_DRAFT, 2, 5),
    ("wider-window-never-lowers-booked", MATURITY_FROM_WINDOW, 0, 2),
]


def variant_plan(tmp_path: Path, name: str, changes: list[tuple[str, str]]) -> QueryPlan:
    text = SQL_QUERY.read_text()
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.sql"
    path.write_text(text)
    return plan_of(path)


def test_the_relations_come_from_the_plans_profile() -> None:
    assert relations_of(plan_of(SQL_QUERY)) == RELATIONS
    generic = dataclasses.replace(plan_of(SQL_QUERY),
                                  kit=dataclasses.replace(KIT, profile=None))
    assert relations_of(generic) == ()


def test_every_relation_has_a_variant_here() -> None:
    assert {v[0] for v in VARIANTS} | {"client-time-zone"} == set(RELATION_NAMES)


def test_the_oracle_satisfies_every_relation() -> None:
    """Each relation is a theorem of the semantics: judged on the oracle's own numbers (a time
    zone cannot matter to the oracle), none is ever violated."""
    sources: list[dict] = []
    explore(booking_documents(), lambda index, document: sources.append(document),
            examples=8, seed=3)
    plan = plan_of(SQL_QUERY)
    for document in sources:
        for relation in RELATIONS:
            outcomes = {}
            for run in relation.runs(document, plan, SCHEMA):
                scenario = scenario_of(run.document, SCHEMA, contract=KIT.contract)
                outcomes[run.label] = KIT.oracle(scenario.dataset, scenario.params)
            if outcomes:
                assert relation.judge(relation.name, outcomes) is None, (relation.name, document)


def test_transformations_keep_datasets_valid() -> None:
    sources: list[dict] = []
    explore(booking_documents(), lambda index, document: sources.append(document),
            examples=5, seed=4)
    for document in sources:
        for relation in RELATIONS:
            for run in relation.runs(document, plan_of(SQL_QUERY), SCHEMA):
                scenario_of(run.document, SCHEMA, contract=KIT.contract)  # references, uniques
        shifted = shift_document(document, -shift_delta(), SCHEMA)
        assert shift_document(shifted, shift_delta(), SCHEMA)["tables"] == document["tables"]
        permuted = permute_document(document, SCHEMA)
        assert [len(rows) for rows in permuted["tables"].values()] == \
            [len(rows) for rows in document["tables"].values()]
        assert not {row["id"] for rows in permuted["tables"].values() for row in rows} & \
            {row["id"] for rows in document["tables"].values() for row in rows}


def shift_delta():
    from datetime import timedelta

    return timedelta(days=1, milliseconds=-123)


def test_the_reference_queries_satisfy_every_relation(bench) -> None:
    plans = [plan_of(TS_QUERY, TS_FUNCTION), plan_of(SQL_QUERY)]
    results = run_relations(plans, bench, examples=3, seed=5)
    assert len(results) == 2 * len(RELATIONS)
    assert all(r.passed for r in results), [r.message for r in results if not r.passed]


@pytest.mark.parametrize(("name", "changes", "seed", "sources"), VARIANTS,
                         ids=[v[0] for v in VARIANTS])
def test_each_relation_catches_a_variant_that_breaks_it(bench, tmp_path: Path, name: str,
                                                        changes: list, seed: int,
                                                        sources: int) -> None:
    plan = variant_plan(tmp_path, name, changes)
    [result] = run_relations([plan], bench, examples=sources, seed=seed,
                             relations=[relation_named(name)], shrink=False)
    assert not result.passed and result.relation == name
    assert result.message and result.query_location.endswith(f"{name}.sql:10")


def test_the_timestamp_cast_defect_is_a_client_time_zone_defect(bench, tmp_path: Path) -> None:
    """``${to}::timestamp`` passes every scenario in a UTC process and is invisible to the session
    TimeZone; binding as a node-postgres process in New York or Chatham exposes it. The violation
    is shrunk and written as a scenario file naming the relation."""
    plan = plan_of(TIMESTAMP_CAST_TS, TS_FUNCTION)
    results = {r.relation: r for r in run_relations(
        [plan], bench, examples=1, seed=0, failures_dir=str(tmp_path),
        relations=[relation_named("client-time-zone"), relation_named("session-time-zone")])}
    client, session = results["client-time-zone"], results["session-time-zone"]
    assert session.passed
    assert not client.passed and "client_time_zone '" in client.message
    assert client.table is not None and client.table.diff == client.diff
    text = Path(client.scenario_path).read_text()
    assert "metamorphic relation client-time-zone" in text and "reproduce" in text
    # The typed driver binds a timestamptz: there the relation does not apply at all.
    assert run_relations([dataclasses.replace(plan, driver="typed")], bench, examples=1,
                         relations=[relation_named("client-time-zone")]) == []


def test_under_prisma_the_process_zone_is_moot_and_the_session_zone_is_not(bench) -> None:
    """Prisma's adapter sends a Date as UTC text without an offset. The client-time-zone relation
    does not apply to it; ``${to}::timestamp`` (the node-postgres defect above) is exact under
    it; the sample action's ``(${to}::timestamptz AT TIME ZONE 'UTC')`` reads that text in the
    session's TimeZone, which the session-time-zone relation exposes."""
    cast = dataclasses.replace(plan_of(TIMESTAMP_CAST_TS, TS_FUNCTION), driver="prisma")
    action = dataclasses.replace(plan_of(TS_QUERY, TS_FUNCTION), driver="prisma")
    client, session = relation_named("client-time-zone"), relation_named("session-time-zone")
    assert not client.applies(cast) and client.applies(dataclasses.replace(
        cast, driver="node-postgres"))
    assert run_relations([cast], bench, examples=1, seed=0, relations=[client]) == []
    [held] = run_relations([cast], bench, examples=1, seed=0, relations=[session])
    assert held.passed
    [broken] = run_relations([action], bench, examples=2, seed=0, relations=[session],
                             shrink=False)
    assert not broken.passed and "SET TimeZone = '" in broken.message
