"""Binding: roles, Prisma.join expansion and renumbering, node-postgres serialisation.

The node-postgres comparison runs a real node-postgres when one is available: it looks in
``$CONVGUARD_NODE_PG_DIR`` (default ``/tmp/pgcheck``) for ``node_modules/pg``. To enable it::

    mkdir -p /tmp/pgcheck && cd /tmp/pgcheck && npm init -y && npm install pg@8
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from convguard._errors import BindingError
from convguard.extract import extract_source
from convguard.kit.conformance.binding import bind_query, js_date_string, js_number, prepare_value
from convguard.kit.conformance.prisma_adapter import JsBigInt
from convguard.profiles import get_profile

ROOT = Path(__file__).resolve().parents[3]
PROFILE = get_profile("booking-conversion")
TS_PARAMS = {"Prisma.join(scope.clientIds)": "client_ids", "maturityCutoff": "maturity_cutoff"}
NODE_PG_DIR = Path(os.environ.get("CONVGUARD_NODE_PG_DIR", "/tmp/pgcheck"))

ROLE_VALUES = {
    "client_ids": ["c1", "c2", "c3"],
    "from": datetime(2026, 1, 1),
    "to": datetime(2026, 2, 1),
    "attribution_window_days": 30,
    "maturity_buffer_days": 7,
    "maturity_cutoff": datetime(2026, 1, 25),
}


def ts_query(text: str, function: str = "f"):
    return extract_source("a.ts", text).queries[0]


def test_prisma_join_expands_and_renumbers_later_placeholders() -> None:
    query = ts_query("async function f(){ return prisma.$queryRaw`SELECT 1 FROM t WHERE c IN "
                     "(${Prisma.join(scope.clientIds)}) AND a >= ${from} AND a < ${to}`; }")
    bound = bind_query(query, ROLE_VALUES, profile=PROFILE, params=TS_PARAMS)
    assert bound.sql == "SELECT 1 FROM t WHERE c IN ($1, $2, $3) AND a >= $4 AND a < $5"
    assert bound.driver_values() == ["c1", "c2", "c3", "2026-01-01T00:00:00.000+00:00",
                                     "2026-02-01T00:00:00.000+00:00"]
    assert [p.role for p in bound.parameters] == ["client_ids"] * 3 + ["from", "to"]


def test_named_sql_placeholders_reuse_their_numbers() -> None:
    query = extract_source("q.sql", "SELECT :to, x FROM t WHERE c IN (:client_ids) AND a < :to "
                                    "AND d = :attribution_window_days").queries[0]
    bound = bind_query(query, {**ROLE_VALUES, "client_ids": ["a", "b"]}, profile=PROFILE)
    assert bound.sql == "SELECT $1, x FROM t WHERE c IN ($2, $3) AND a < $1 AND d = $4"
    assert bound.driver_values() == ["2026-02-01T00:00:00.000+00:00", "a", "b", "30"]


def test_the_reference_queries_bind() -> None:
    sql_path = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
    query = extract_source(str(sql_path), sql_path.read_text()).queries[0]
    bound = bind_query(query, ROLE_VALUES, profile=PROFILE)
    assert "IN ($1, $2, $3)" in bound.sql and len(bound.parameters) == 7
    ts_path = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
    extraction = extract_source(str(ts_path), ts_path.read_text())
    query = next(q for q in extraction.queries
                 if q.function == "getAiDraftBookingConversionStats" and "WITH" in q.sql)
    bound = bind_query(query, ROLE_VALUES, profile=PROFILE, params=TS_PARAMS,
                       client_time_zone="America/New_York")
    assert [p.role for p in bound.parameters] == [
        "client_ids", "client_ids", "client_ids", "from", "to", "maturity_cutoff", "to",
        "attribution_window_days"]
    assert bound.parameters[4].text == "2026-01-31T19:00:00.000-05:00"
    assert bound.parameters[7].text == "30"


def test_unmapped_interpolation_names_the_config_line_that_fixes_it() -> None:
    query = ts_query("async function f(){ return prisma.$queryRaw`SELECT ${cutoffDate}`; }")
    with pytest.raises(BindingError) as error:
        bind_query(query, ROLE_VALUES, profile=PROFILE, config_source="convguard.toml",
                   query_line=5)
    assert "'cutoffDate' maps to no role" in error.value.message
    assert error.value.path == "a.ts" and error.value.line == 1
    assert error.value.hint.startswith(
        'add "cutoffDate" = "<role>" under [query.params] in convguard.toml (line 5)')
    # ... and once configured, it binds.
    bound = bind_query(query, ROLE_VALUES, profile=PROFILE, params={"cutoffDate": "maturity_cutoff"})
    assert bound.parameters[0].role == "maturity_cutoff"


def test_without_a_profile_values_are_found_by_name() -> None:
    query = extract_source("q.sql", "SELECT * FROM t WHERE id IN (:ids) AND n > $9").queries[0]
    bound = bind_query(query, {"ids": ["x"], 9: 2.5}, driver="typed")
    # A named parameter is numbered after the largest $n ($10 here); numbers are compacted.
    assert bound.sql == "SELECT * FROM t WHERE id IN ($2) AND n > $1"
    assert bound.driver_values() == [2.5, "x"]
    with pytest.raises(BindingError, match="no value for ':ids'"):
        bind_query(query, {9: 1})


def test_empty_prisma_join_is_refused() -> None:
    query = ts_query("async function f(){ return prisma.$queryRaw`SELECT 1 WHERE c IN "
                     "(${Prisma.join(ids)})`; }")
    with pytest.raises(BindingError, match="empty list"):
        bind_query(query, {"ids": []})


def test_typed_driver_passes_python_values() -> None:
    query = ts_query("async function f(){ return prisma.$queryRaw`SELECT ${to}, ${windowDays}`; }")
    values = bind_query(query, ROLE_VALUES, profile=PROFILE, driver="typed").driver_values()
    assert values[0].tzinfo is not None and values[0].replace(tzinfo=None) == datetime(2026, 2, 1)
    assert values[1] == 30


@pytest.mark.parametrize(("moment", "zone", "text"), [
    (datetime(2026, 2, 1), "UTC", "2026-02-01T00:00:00.000+00:00"),
    (datetime(2026, 2, 1), "America/New_York", "2026-01-31T19:00:00.000-05:00"),
    (datetime(2026, 7, 1, 3, 4, 5, 678901), "America/New_York", "2026-06-30T23:04:05.678-04:00"),
    (datetime(2026, 2, 1), "Asia/Kathmandu", "2026-02-01T05:45:00.000+05:45"),
    (datetime(2026, 2, 1), "America/St_Johns", "2026-01-31T20:30:00.000-03:30"),
])
def test_js_date_string(moment: datetime, zone: str, text: str) -> None:
    assert js_date_string(moment, zone) == text


def test_unknown_time_zone() -> None:
    with pytest.raises(BindingError, match="unknown client time zone"):
        js_date_string(datetime(2026, 1, 1), "Mars/Olympus")


@pytest.mark.parametrize(("value", "text"), [
    (30, "30"), (-7, "-7"), (1.5, "1.5"), (0.1 + 0.2, "0.30000000000000004"), (1e21, "1e+21"),
    (123e-20, "1.23e-18"), (1e-6, "0.000001"), (1e-7, "1e-7"), (2**53, "9007199254740992"),
    (float("inf"), "Infinity"),
])
def test_js_number(value: float, text: str) -> None:
    assert js_number(value) == text


def test_prepare_value_arrays_objects_booleans() -> None:
    assert prepare_value(["a", None, ["b"]]) == '{"a",NULL,{"b"}}'
    assert prepare_value(['q"x\\']) == '{"q\\"x\\\\"}'
    assert prepare_value(False) == "false"
    assert prepare_value({"k": "v"}) == '{"k":"v"}'


# A real node-postgres, when one is installed ------------------------------------------------------

NODE_SCRIPT = """
const u = require('pg/lib/utils');
const cases = JSON.parse(process.argv[1]);
console.log(JSON.stringify(cases.map(([kind, v]) =>
  u.prepareValue(kind === 'date' ? new Date(v) : v))));
"""


def _node_pg_available() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_PG_DIR / "node_modules" / "pg").is_dir():
        return (f"node-postgres is not installed in {NODE_PG_DIR} (cd there and run "
                "`npm init -y && npm install pg@8`, or set CONVGUARD_NODE_PG_DIR)")
    return None


@pytest.mark.skipif(_node_pg_available() is not None, reason=str(_node_pg_available()))
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
                                  "Europe/London"])
def test_matches_real_node_postgres(zone: str) -> None:
    moments = [datetime(2026, 2, 1), datetime(2026, 3, 8, 7, 30, 0, 5000),
               datetime(2026, 10, 25, 1, 59, 59, 999000), datetime(1999, 12, 31, 23, 59, 59),
               datetime(2026, 6, 15, 12, 0, 0, 123000)]
    numbers = [30, 1.5, 1e21, 1e-7, 0.1 + 0.2, -0.0, 123456789]
    cases = [["date", m.isoformat(timespec="milliseconds") + "Z"] for m in moments]
    cases += [["value", n] for n in numbers] + [["value", True], ["value", "text"],
                                                 ["value", ["a", None, 'b"c']]]
    completed = subprocess.run(
        ["node", "-e", NODE_SCRIPT, json.dumps(cases)], cwd=NODE_PG_DIR, env={**os.environ,
                                                                             "TZ": zone},
        capture_output=True, text=True, timeout=60, check=True)
    theirs = json.loads(completed.stdout)
    ours = [prepare_value(m, zone) for m in moments] + [prepare_value(v) for _, v in cases[
        len(moments):]]
    assert ours == theirs


# Buffers, BigInts, Dates inside arrays and objects: described in JSON, rebuilt as JS values.
RICH_SCRIPT = r"""
const u = require('pg/lib/utils');
function js(d) {
  if (Array.isArray(d)) return d.map(js);
  if (d === null || typeof d !== 'object') return d;
  if ('$date' in d) return new Date(d.$date);
  if ('$bigint' in d) return BigInt(d.$bigint);
  if ('$bytes' in d) return Buffer.from(d.$bytes, 'hex');
  const out = {};
  for (const [k, v] of Object.entries(d.$object)) out[k] = js(v);
  return out;
}
const values = js(JSON.parse(process.argv[1]));
console.log(JSON.stringify(values.map((v) => { const p = u.prepareValue(v);
  return Buffer.isBuffer(p) ? { $bytes: p.toString('hex') } : p; })));
"""
RICH_VALUES = [
    b"\x00\x01\xff", JsBigInt(12345678901234567890), [b"\x01", None, b"\xff\x00"],
    [datetime(2026, 2, 1), None, [datetime(2026, 7, 1, 12, 0, 0, 5000)]],
    {"when": datetime(2026, 2, 1, 10), "n": 1.0, "list": [1.5, None, "x"], "s": 'q"é'},
    [JsBigInt(1), JsBigInt(-2)],
]


def _described(value: object) -> object:
    if isinstance(value, datetime):
        return {"$date": value.isoformat(timespec="milliseconds") + "Z"}
    if isinstance(value, JsBigInt):
        return {"$bigint": str(int(value))}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, list):
        return [_described(item) for item in value]
    if isinstance(value, dict):
        return {"$object": {key: _described(item) for key, item in value.items()}}
    return value


@pytest.mark.skipif(_node_pg_available() is not None, reason=str(_node_pg_available()))
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "Pacific/Chatham"])
def test_buffers_bigints_and_nested_dates_match_real_node_postgres(zone: str) -> None:
    completed = subprocess.run(
        ["node", "-e", RICH_SCRIPT, json.dumps(_described(RICH_VALUES))], cwd=NODE_PG_DIR,
        env={**os.environ, "TZ": zone}, capture_output=True, text=True, timeout=60, check=True)
    ours = [prepare_value(value, zone) for value in RICH_VALUES]
    assert [{"$bytes": v.hex()} if isinstance(v, bytes) else v for v in ours] \
        == json.loads(completed.stdout)
