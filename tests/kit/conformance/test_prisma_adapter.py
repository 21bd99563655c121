"""The ``prisma`` driver: Prisma 7 with ``@prisma/adapter-pg``, checked against the real packages.

Two cross-checks run when the npm packages are installed (``.ci/run`` installs them):

- **the adapter** (``@prisma/adapter-pg@7`` with ``pg@8``) in ``$CONVGUARD_PRISMA_ADAPTER_DIR``
  (default ``/tmp/prismacheck``): a node script hands the adapter the arguments Prisma Client
  hands it (``args``/``argTypes``, as convguard computes them), through a recording pool whose
  ``query`` keeps what the adapter passes on; node-postgres' own ``prepareValue`` turns that into
  the parameters it sends. Five process time zones. To enable it::

      npm install --prefix /tmp/prismacheck @prisma/adapter-pg@7 pg@8

- **the whole client** (``@prisma/client@7`` generated, with the adapter) in
  ``$CONVGUARD_PRISMA_CLIENT_DIR``: the same values go through ``prisma.$queryRaw`` itself, so
  Prisma Client's own encoding (the first step) is checked too. ``.ci/run`` builds it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from convguard._errors import BindingError
from convguard.extract import extract_source
from convguard.kit.conformance.binding import bind_query
from convguard.kit.conformance.prisma_adapter import (
    ArgType,
    JsBigInt,
    decimal_js_string,
    prisma_client_arg,
    prisma_prepare_value,
)

ADAPTER_DIR = Path(os.environ.get("CONVGUARD_PRISMA_ADAPTER_DIR", "/tmp/prismacheck"))
CLIENT_DIR = os.environ.get("CONVGUARD_PRISMA_CLIENT_DIR")
ZONES = ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]

# A JS value of every kind the adapter handles, in the Python that stands for it.
VALUES: list[Any] = [
    datetime(2026, 2, 1),                                 # ms 0: no fraction
    datetime(2026, 2, 1, 10, 11, 12, 345000),
    datetime(2026, 3, 8, 7, 30, 0, 5000),                 # New York's DST change, .005
    datetime(2026, 10, 4, 1, 59, 59, 999999),             # Lord Howe's half-hour DST; us cut
    datetime(1999, 12, 31, 23, 59, 59),
    datetime(9, 1, 2, 3, 4, 5, 600000),                   # a 4-digit padded year
    date(2026, 2, 1),                                     # a Date at UTC midnight
    30, -7, 1.5, 0.1 + 0.2, 1e21, 1e-7, -0.0, 2**53 + 1, float("nan"), float("inf"),
    JsBigInt(12345678901234567890), JsBigInt(-1),
    Decimal("1.50"), Decimal("-0"), Decimal("1e-7"), Decimal("0.000001"), Decimal("1e21"),
    Decimal("12345678901234567890123.5"), Decimal("100000000000000000000"),
    b"\x00\x01\xff", b"",
    True, False, None, "", "text", 'q"uote\\', "é ✓ \u0001",
    {"a": 1, "when": datetime(2026, 2, 1, 10), "n": float("nan"), "f": 1.0, "big": JsBigInt(5),
     "nested": [1.5, None, {"b": b"\x01"}], "d": Decimal("2.50")},
    [datetime(2026, 2, 1), datetime(2026, 2, 1, 0, 0, 0, 1000)],
    [None, datetime(2026, 2, 1)],                         # a null first: typed unknown
    ["x", datetime(2026, 2, 1)],                          # a string first: the date stays ISO
    [datetime(2026, 2, 1), "2026-03-01T10:00:00"],        # local time in the process's zone
    [datetime(2026, 2, 1), "2026-03-01", "no digits", "2026-03-01T10:00:00.5+05:30"],
    ["a", None, 'b"c', "d\\e"], [1, 2.5, None], [True, False], [],
    [JsBigInt(1), JsBigInt(2)], [Decimal("2.50")], [b"\x01", b"\xff\x00"],
    [{"a": 1}], [[datetime(2026, 2, 1)]], [["a", "b"], ["c"]],
]


def describe(value: Any) -> Any:
    """A JSON description the node scripts turn back into the JS value."""
    if isinstance(value, datetime):
        return {"$date": value.isoformat(timespec="milliseconds") + "Z"}
    if isinstance(value, date):
        return {"$date": value.isoformat() + "T00:00:00.000Z"}
    if isinstance(value, JsBigInt):
        return {"$bigint": str(int(value))}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return {"$number": repr(value)}
    if isinstance(value, float) and value == 0:
        return {"$number": "-0" if str(value).startswith("-") else "0"}
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return {"$number": str(value)}
    if isinstance(value, list):
        return [describe(item) for item in value]
    if isinstance(value, dict):
        return {"$object": {key: describe(item) for key, item in value.items()}}
    return value


def wire(value: str | bytes | None) -> Any:
    return {"$bytes": value.hex()} if isinstance(value, bytes) else value


# What convguard sends, case by case --------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (datetime(2026, 2, 1), "2026-02-01 00:00:00"),
    (datetime(2026, 2, 1, 0, 0, 0, 5000), "2026-02-01 00:00:00.005"),
    (datetime(2026, 2, 1, 0, 0, 0, 999999), "2026-02-01 00:00:00.999"),
    (date(2026, 2, 1), "2026-02-01 00:00:00"),
    (30, "30"), (1.5, "1.5"), (float("nan"), None), (float("-inf"), None), (-0.0, "0"),
    (JsBigInt(2**70), "1180591620717411303424"), (2**70, "1.1805916207174113e+21"),
    (Decimal("123.4500"), "123.45"), (Decimal("1e21"), "1e+21"),
    (b"\x01\xff", b"\x01\xff"), (True, "true"), (None, None), ("x", "x"),
    ({"when": datetime(2026, 2, 1), "big": JsBigInt(5)},
     '{"when":"2026-02-01T00:00:00.000Z","big":"5"}'),
    ([datetime(2026, 2, 1), datetime(2026, 2, 1, 0, 0, 0, 1000)],
     '{"2026-02-01 00:00:00","2026-02-01 00:00:00.001"}'),
    (["x", datetime(2026, 2, 1)], '{"x","2026-02-01T00:00:00.000Z"}'),
    ([datetime(2026, 2, 1), "no digits"], '{"2026-02-01 00:00:00","0NaN-NaN-NaN NaN:NaN:NaN"}'),
    ([b"\x01", b"\xff"], "{\\\\x01,\\\\xff}"),
    ([JsBigInt(1)], '{"1"}'), ([[datetime(2026, 2, 1)]], '{{"2026-02-01T00:00:00.000Z"}}'),
])
def test_what_prisma_sends(value: Any, text: str | bytes | None) -> None:
    assert prisma_prepare_value(value) == text


@pytest.mark.parametrize("zone", ZONES)
def test_a_date_never_depends_on_the_process_time_zone(zone: str) -> None:
    assert prisma_prepare_value(datetime(2026, 2, 1), zone) == "2026-02-01 00:00:00"
    # ... except an offset-less ISO string in a list of dates, which new Date() reads as local.
    local = prisma_prepare_value([datetime(2026, 2, 1), "2026-03-01T10:00:00"], "Asia/Kolkata")
    assert local == '{"2026-02-01 00:00:00","2026-03-01 04:30:00"}'


def test_the_client_step_types_a_list_by_its_first_element() -> None:
    assert prisma_client_arg([datetime(2026, 2, 1)]) == (
        ["2026-02-01T00:00:00.000Z"], ArgType("datetime", "list"))
    assert prisma_client_arg([]) == ([], ArgType("unknown", "list"))
    assert prisma_client_arg(7) == (7, ArgType("decimal"))
    assert prisma_client_arg(b"\x01") == ("AQ==", ArgType("bytes"))


def test_decimal_js_text() -> None:
    assert [decimal_js_string(Decimal(t)) for t in ("0.00", "-1.10", "1e20", "1.5e-6", "1E+2")] \
        == ["0", "-1.1", "100000000000000000000", "0.0000015", "100"]


def test_strings_v8_would_guess_at_are_refused() -> None:
    with pytest.raises(BindingError, match="V8 guesses"):
        prisma_prepare_value([datetime(2026, 2, 1), "Feb 1 2026"])


def test_the_binding_uses_it_and_expands_prisma_join() -> None:
    query = extract_source("a.ts", "async function f(){ return prisma.$queryRaw`SELECT 1 WHERE "
                                   "c IN (${Prisma.join(ids)}) AND a < ${to}`; }").queries[0]
    bound = bind_query(query, {"ids": ["c1", "c2"], "to": datetime(2026, 2, 1)},
                       driver="prisma", client_time_zone="Asia/Kolkata")
    assert bound.sql == "SELECT 1 WHERE c IN ($1, $2) AND a < $3"
    assert bound.driver_values() == ["c1", "c2", "2026-02-01 00:00:00"]


# The real @prisma/adapter-pg, when installed -----------------------------------------------------

JS_VALUES = r"""
function jsValue(d, Decimal) {
  if (Array.isArray(d)) return d.map((x) => jsValue(x, Decimal));
  if (d === null || typeof d !== 'object') return d;
  if ('$date' in d) return new Date(d.$date);
  if ('$bigint' in d) return BigInt(d.$bigint);
  if ('$decimal' in d) return new Decimal(d.$decimal);
  if ('$bytes' in d) return Buffer.from(d.$bytes, 'base64');
  if ('$number' in d) return d.$number === 'nan' ? NaN : d.$number === 'inf' ? Infinity
    : d.$number === '-inf' ? -Infinity : Number(d.$number);
  const out = {};
  for (const [k, v] of Object.entries(d.$object)) out[k] = jsValue(v, Decimal);
  return out;
}
function onWire(values) {
  const { prepareValue } = require('pg/lib/utils');
  return values.map((v) => { const p = prepareValue(v); return Buffer.isBuffer(p)
    ? { $bytes: p.toString('hex') } : p; });
}
function recordingPool(captured) {
  const pg = require('pg');
  return new (class extends pg.Pool {
    async query(config) {
      captured.push(config.values);
      return { fields: [], rows: [], rowCount: 0 };
    }
    async connect() { throw new Error('the recording pool opens no connection'); }
  })();
}
"""

ADAPTER_SCRIPT = JS_VALUES + r"""
const { PrismaPg } = require('@prisma/adapter-pg');
(async () => {
  const { args, argTypes } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const captured = [];
  const adapter = await new PrismaPg(recordingPool(captured)).connect();
  const sql = 'SELECT ' + args.map((_, i) => '$' + (i + 1)).join(', ');
  await adapter.queryRaw({ sql, args, argTypes });
  console.log(JSON.stringify(onWire(captured[0])));
})().catch((e) => { console.error(e); process.exit(1); });
"""

CLIENT_SCRIPT = JS_VALUES + r"""
const { PrismaPg } = require('@prisma/adapter-pg');
const { PrismaClient, Prisma } = require('@prisma/client');
(async () => {
  const values = jsValue(JSON.parse(require('fs').readFileSync(0, 'utf8')), Prisma.Decimal);
  const captured = [];
  const factory = new PrismaPg(recordingPool(captured));
  const seen = [];
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    const queryRaw = adapter.queryRaw.bind(adapter);
    adapter.queryRaw = async (query) => { seen.push(query); return queryRaw(query); };
    return adapter;
  };
  const prisma = new PrismaClient({ adapter: factory });
  // A tagged template's strings: prisma.$queryRaw`SELECT ${v1}, ${v2}, ...`
  const strings = ['SELECT '].concat(values.slice(1).map(() => ', '), ['']);
  await prisma.$queryRaw(Object.assign(strings, { raw: strings.slice() }), ...values);
  await prisma.$disconnect();
  console.log(JSON.stringify({ args: seen[0].args, argTypes: seen[0].argTypes,
                               wire: onWire(captured[0]) }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def _missing(directory: Path | None, packages: tuple[str, ...], how: str) -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if directory is None:
        return how
    for package in packages:
        if not (directory / "node_modules" / package).is_dir():
            return f"{package} is not installed in {directory} ({how})"
    return None


ADAPTER_MISSING = _missing(
    ADAPTER_DIR, ("@prisma/adapter-pg", "pg"),
    "run `npm install --prefix /tmp/prismacheck @prisma/adapter-pg@7 pg@8`, or set "
    "CONVGUARD_PRISMA_ADAPTER_DIR")
CLIENT_MISSING = _missing(
    Path(CLIENT_DIR) if CLIENT_DIR else None,
    ("@prisma/adapter-pg", "@prisma/client", ".prisma/client", "pg"),
    "set CONVGUARD_PRISMA_CLIENT_DIR to a folder with a generated @prisma/client@7, "
    "@prisma/adapter-pg@7 and pg@8 (.ci/run builds one)")


def _node(script: str, stdin: Any, cwd: Path, zone: str) -> Any:
    completed = subprocess.run(["node", "-e", script], input=json.dumps(stdin), cwd=cwd,
                               env={**os.environ, "TZ": zone}, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def _client_args(values: list[Any]) -> dict[str, list[Any]]:
    pairs = [prisma_client_arg(value) for value in values]
    return {"args": [arg for arg, _ in pairs], "argTypes": [kind.as_json() for _, kind in pairs]}


@pytest.mark.skipif(ADAPTER_MISSING is not None, reason=str(ADAPTER_MISSING))
@pytest.mark.parametrize("zone", ZONES)
def test_matches_the_real_prisma_adapter_pg(zone: str) -> None:
    theirs = _node(ADAPTER_SCRIPT, _client_args(VALUES), ADAPTER_DIR, zone)
    ours = [wire(prisma_prepare_value(value, zone)) for value in VALUES]
    assert len(theirs) == len(VALUES)
    assert [(value, mine) for value, mine, real in zip(VALUES, ours, theirs) if mine != real] \
        == [], theirs


@pytest.mark.skipif(CLIENT_MISSING is not None, reason=str(CLIENT_MISSING))
@pytest.mark.parametrize("zone", ZONES)
def test_matches_the_real_prisma_client_and_adapter(zone: str) -> None:
    theirs = _node(CLIENT_SCRIPT, describe(VALUES), Path(str(CLIENT_DIR)), zone)
    assert theirs["args"] == _client_args(VALUES)["args"]
    assert theirs["argTypes"] == _client_args(VALUES)["argTypes"]
    ours = [wire(prisma_prepare_value(value, zone)) for value in VALUES]
    assert [(value, mine, real) for value, mine, real in zip(VALUES, ours, theirs["wire"])
            if mine != real] == []
