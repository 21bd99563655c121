"""A synthetic tenant mix at scale, generated inside the server for benchmarks.

Every row comes from ``INSERT ... SELECT ... FROM generate_series(...)``: no data crosses the
wire, and every value is derived from the row number through ``hashint8extended`` (a stable
built-in hash), so the same ``leads`` gives the same database on every run and machine of the
same byte order.

The shape (per lead; see :class:`SyntheticSpec` for the knobs):

- ``clients`` clients, ``campaigns_per_client`` email campaigns each (alternately AI_AUTO_SEND and
  SETTER_MANAGED); 85 % of leads belong to a campaign of their client.
- 1 to 4 AI drafts per lead (uniform, mean 2.5): channel email 40 % / sms 40 % / linkedin 20 %,
  disposition AUTO_SENT 40 % / APPROVED 30 % / EDITED 20 % / NULL 10 %.
- 0, 1 or 2 outbound messages per draft (10 / 40 / 50 %, mean 1.4; a multipart send), plus 0 to 3
  inbound messages per lead (mean 1.5): about 5 messages per 2.5 drafts.
- Leads' first sends spread evenly over the ``history_days`` before ``to`` (default a year: a
  tenant with a million leads has years of them, and the UI's default range, the last 30 days,
  then holds about a twelfth of the drafts; ``history_days=90`` is the stress case where the
  range holds a third of everything), in lead order (rows
  are appended in time order, as in a live table), a lead's drafts two days apart (the last ones
  of the last leads fall a few days after ``to``); 20 % of leads booked, their
  ``appointmentBookedAt`` spread from 5 days before to 40 days after the lead's first send (so
  some bookings pre-date a send, some fall outside the window or after ``to``); 3 % more leads
  carry booking evidence only (a GHL appointment id or Calendly URIs, unique per lead).

Tables are created without keys or indexes, filled by two connections at once (one per core),
then keyed and indexed exactly as :func:`convguard._ddl.schema_ddl` spells it, then
vacuumed and analysed, as a production table that autovacuum has visited would be.

Example:
    >>> spec = SyntheticSpec(leads=2_000)
    >>> spec.client_ids
    ('cclient000000000000000001', 'cclient000000000000000002', 'cclient000000000000000003', \
'cclient000000000000000004', 'cclient000000000000000005')
    >>> spec.expected_drafts()
    5000
    >>> with start_server() as server, create_database(server) as db:   # doctest: +SKIP
    ...     report = seed_synthetic(db.connect, spec)
    >>> report.load_rows_per_s > 500_000                                 # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from convguard._ddl import quote_ident, schema_ddl
from convguard._errors import DatabaseError
from convguard._schema import Schema
from convguard.kit.bench.data import DEFAULT_HISTORY_DAYS, MAX_HISTORY_DAYS, Progress
from convguard.profiles.booking_conversion.schema import booking_schema

__all__ = ["SYNTHETIC", "BookingSynthetic", "LoadPlan", "Progress", "SeedReport", "SyntheticSpec",
           "seed_synthetic", "synthetic_ddl"]

# Prisma ids are 25-character cuids; ids of the same length give indexes of a realistic size.
ID_LENGTH = 25
DEFAULT_TO = datetime(2026, 2, 1)
LOAD_CONNECTIONS = 2
MAINTENANCE_WORK_MEM = "512MB"


class Connection(Protocol):
    """The part of a psycopg connection seeding uses (autocommit)."""

    def execute(self, query: Any, params: Any = ...) -> Any: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class SyntheticSpec:
    """How much synthetic data to generate, and around which date.

    Example:
        >>> SyntheticSpec(leads=10).expected_drafts()
        25
    """

    leads: int
    clients: int = 5
    campaigns_per_client: int = 4
    to: datetime = DEFAULT_TO
    history_days: int = DEFAULT_HISTORY_DAYS
    chunk_leads: int = 50_000

    def __post_init__(self) -> None:
        if self.leads < 1 or self.clients < 1 or self.campaigns_per_client < 1:
            raise ValueError("leads, clients and campaigns_per_client must be positive")
        if not 1 <= self.history_days <= MAX_HISTORY_DAYS or self.chunk_leads < 1:
            raise ValueError(f"history_days must be 1..{MAX_HISTORY_DAYS} and chunk_leads positive")

    @property
    def client_ids(self) -> tuple[str, ...]:
        return tuple(_id("client", n) for n in range(1, self.clients + 1))

    def expected_drafts(self) -> int:
        """About how many drafts seeding makes: 2.5 per lead on average."""
        return round(self.leads * 2.5)


@dataclass(frozen=True)
class SeedReport:
    """What was seeded, and how fast.

    ``seconds`` covers everything from empty tables to analysed statistics (load, keys, indexes,
    foreign keys, vacuum); ``load_seconds`` only the inserts.
    """

    clients: int
    campaigns: int
    leads: int
    drafts: int
    messages: int
    load_seconds: float
    index_seconds: float
    analyze_seconds: float
    client_ids: tuple[str, ...]

    @property
    def counts(self) -> dict[str, int]:
        """What the bench report shows (and its json keys): leads, drafts and messages."""
        return {"leads": self.leads, "drafts": self.drafts, "messages": self.messages}

    @property
    def scope(self) -> str:
        return f"in {self.clients} clients (all in scope)"

    @property
    def rows(self) -> int:
        return self.clients + self.campaigns + self.leads + self.drafts + self.messages

    @property
    def seconds(self) -> float:
        return self.load_seconds + self.index_seconds + self.analyze_seconds

    @property
    def rows_per_s(self) -> float:
        """Rows per second over the whole seeding (load, indexes and statistics)."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def load_rows_per_s(self) -> float:
        return self.rows / self.load_seconds if self.load_seconds > 0 else 0.0


def _id(kind: str, number: int) -> str:
    prefix = "c" + kind
    return prefix + str(number).zfill(ID_LENGTH - len(prefix))


def _sql_id(kind: str, number_sql: str) -> str:
    prefix = "c" + kind
    return f"'{prefix}' || lpad(({number_sql})::text, {ID_LENGTH - len(prefix)}, '0')"


def _h(number_sql: str, salt: int) -> str:
    """A non-negative pseudo-random int derived from a row number (and a salt per attribute)."""
    return f"(hashint8extended(({number_sql})::int8, {salt}) & 2147483647)"


# Row numbers: `i` is a lead (from 1), `d = i * 4 + j` its draft j (0..3), `d * 2 + q` part q
# (0..1) of that draft's send, `i * 4 + r` the lead's inbound message r (1..3). Times are
# milliseconds after the start of the history, made timestamps only in the final projection.
# Each level ends in OFFSET 0 so that the planner computes a value once per lead or per draft
# instead of inlining its expression into every row and column of the levels above; the row
# multiplication uses set-returning functions in the select list (a ProjectSet), which is twice
# as fast as LATERAL generate_series (a tuplestore per outer row).
_DAY_MS = 86_400_000
_BASE = "(TIMESTAMP @to - @history * interval '1 day')"
_BODIES = ("(ARRAY["
           "'Hi there, thanks for getting back to me. Would a quick call this week work for you?',"
           "'Following up on my last note: happy to share how teams like yours cut response times.',"
           "'Sounds good. Here is my calendar link, pick any slot that suits you and I will confirm.',"
           "'Thanks, not right now. Maybe next quarter when the budget is approved.'])")


def _ts(ms_sql: str) -> str:
    return f"({_BASE} + ({ms_sql}) * interval '1 millisecond')"


def _pick(values: Sequence[str | None], hash_sql: str) -> str:
    """One of ``values`` (repeat a value to weight it), chosen by a hash."""
    items = ", ".join("NULL" if value is None else f"'{value}'" for value in values)
    cast = "::text[]" if None in values else ""
    return f"(ARRAY[{items}]{cast})[1 + {hash_sql} % {len(values)}]"


_LEADS = f"""(
  SELECT i, {_sql_id('lead', 'i')} AS lead_id, 1 + i % @clients AS client_n,
         (i - 1) * @history * {_DAY_MS}::int8 / @leads + {_h('i', 3)} % {_DAY_MS} AS first_ms,
         {_h('i', 4)} % 4 AS last_draft,
         {_h('i', 9)} % 4 AS replies,
         {_h('i', 10)} % 100 AS booking_kind
  FROM generate_series(@lo, @hi) i
  OFFSET 0)"""

_DRAFTS = f"""(
  SELECT lead_id, d, {_sql_id('draft', 'd')} AS draft_id, sent_ms,
         {_pick(['email'] * 4 + ['sms'] * 4 + ['linkedin'] * 2, 'h_channel')} AS channel,
         {_pick([None] + ['AUTO_SENT'] * 4 + ['APPROVED'] * 3 + ['EDITED'] * 2, 'h_disposition')}
           AS disposition,
         (ARRAY[-1, 0, 0, 0, 0, 1, 1, 1, 1, 1])[1 + h_parts % 10] AS last_part,
         1000 + (h_body >> 4) % 20000 AS part_gap_ms,
         1 + h_body % 3 AS body_n
  FROM (SELECT lead_id, d, first_ms + j * 2 * {_DAY_MS}::int8 + {_h('d', 5)} % {_DAY_MS} AS sent_ms,
               {_h('d', 6)} AS h_channel,
               {_h('d', 7)} AS h_disposition, {_h('d', 8)} AS h_parts, {_h('d', 9)} AS h_body
        FROM (SELECT lead_id, first_ms, j, i * 4 + j AS d
              FROM (SELECT l.*, generate_series(0, l.last_draft) AS j FROM {_LEADS} l) lj) ld
        OFFSET 0) hashed
  OFFSET 0)"""

_CLIENT_SQL = f"""
INSERT INTO "Client" (id)
SELECT {_sql_id('client', 'c')} FROM generate_series(1, @clients) c
"""

_CAMPAIGN_SQL = f"""
INSERT INTO "EmailCampaign" (id, "clientId", "responseMode")
SELECT {_sql_id('campaign', 'c * 1000 + k')}, {_sql_id('client', 'c')},
       (CASE WHEN (c + k) % 2 = 0 THEN 'AI_AUTO_SEND' ELSE 'SETTER_MANAGED' END)::"CampaignResponseMode"
FROM generate_series(1, @clients) c, generate_series(0, @campaigns - 1) k
"""

# booking_kind: below 20 booked (with a time), 20..22 booking evidence only, else never booked.
_LEAD_SQL = f"""
INSERT INTO "Lead" (id, "clientId", "emailCampaignId", "appointmentBookedAt", "ghlAppointmentId",
                    "calendlyInviteeUri", "calendlyScheduledEventUri", "appointmentStatus",
                    "appointmentCanceledAt", "createdAt", "updatedAt")
SELECT lead_id, {_sql_id('client', 'client_n')},
       CASE WHEN {_h('i', 1)} % 100 < 85
            THEN {_sql_id('campaign', f"client_n * 1000 + {_h('i', 2)} % @campaigns")} END,
       CASE WHEN booking_kind < 20
            THEN {_ts(f"first_ms + {_h('i', 11)} % (45 * {_DAY_MS}::int8) - 5 * {_DAY_MS}")} END,
       CASE WHEN booking_kind < 23 AND {_h('i', 12)} % 2 = 0 THEN 'ghl_' || i END,
       CASE WHEN booking_kind < 23 AND {_h('i', 12)} % 2 = 1
            THEN 'https://api.calendly.com/scheduled_events/ev' || i || '/invitees/inv' || i END,
       CASE WHEN booking_kind < 23 AND {_h('i', 12)} % 2 = 1
            THEN 'https://api.calendly.com/scheduled_events/ev' || i END,
       CASE WHEN booking_kind < 23
            THEN CASE WHEN {_h('i', 13)} % 10 = 0 THEN 'canceled' ELSE 'confirmed' END END,
       CASE WHEN booking_kind < 23 AND {_h('i', 13)} % 10 = 0
            THEN {_ts(f"first_ms + 3 * {_DAY_MS}")} END,
       {_ts(f"first_ms - 2 * {_DAY_MS}")},
       {_ts(f"first_ms + 6 * {_DAY_MS}")}
FROM {_LEADS} l
"""

_DRAFT_SQL = f"""
INSERT INTO "AIDraft" (id, "leadId", channel, status, "responseDisposition", "createdAt", "updatedAt")
SELECT draft_id, lead_id, channel,
       CASE WHEN disposition IS NULL THEN 'rejected' ELSE 'sent' END,
       disposition::"AIDraftResponseDisposition",
       {_ts("sent_ms - 1200000")},
       {_ts("sent_ms + 10800000")}
FROM {_DRAFTS} dr
"""

_OUTBOUND_SQL = f"""
INSERT INTO "Message" (id, "leadId", "aiDraftId", direction, channel, body, "sentAt", "createdAt")
SELECT {_sql_id('message', 'd * 2 + q')}, lead_id, draft_id, 'outbound', channel,
       {_BODIES}[body_n], {_ts('sent_ms')}, {_ts('sent_ms')}
FROM (SELECT lead_id, draft_id, channel, body_n, d, q, sent_ms + q * part_gap_ms AS sent_ms
      FROM (SELECT dr.*, generate_series(0, dr.last_part) AS q FROM {_DRAFTS} dr) parts
      OFFSET 0) m
"""

_INBOUND_SQL = f"""
INSERT INTO "Message" (id, "leadId", "aiDraftId", direction, channel, body, "sentAt", "createdAt")
SELECT {_sql_id('reply', 'i * 4 + r')}, lead_id, NULL, 'inbound', channel, {_BODIES}[4],
       {_ts('sent_ms')}, {_ts('sent_ms')}
FROM (SELECT lead_id, i, r, {_pick(['email', 'sms', 'sms', 'linkedin'], _h('i', 15))} AS channel,
             first_ms + r * {_DAY_MS}::int8 + {_h('i * 4 + r', 16)} % {_DAY_MS} AS sent_ms
      FROM (SELECT l.*, generate_series(1, l.replies) AS r FROM {_LEADS} l) lr
      OFFSET 0) m
"""

_LEAD_TABLES_SQL = (_LEAD_SQL, _DRAFT_SQL, _OUTBOUND_SQL, _INBOUND_SQL)


@dataclass(frozen=True)
class LoadPlan:
    """The booking schema split around a bulk load, in the order the statements must run.

    ``create`` makes the enums and bare tables (no keys, unique constraints, indexes or foreign
    keys); then ``indexes`` (each may run beside the others), ``primary_keys`` (adopting their
    unique index), ``foreign_keys`` (added NOT VALID, instantly) and ``validations`` (checking
    them; a validation locks only its own table, so validations of different tables run side by
    side, where ``ADD FOREIGN KEY`` would lock the referenced table as well). The result is the
    application's schema, every object named as :func:`~convguard._ddl.schema_ddl` names it.

    Example:
        >>> plan = synthetic_ddl()
        >>> "PRIMARY KEY" in plan.create, plan.primary_keys[-1]
        (False, 'ALTER TABLE "Message" ADD CONSTRAINT "Message_pkey" PRIMARY KEY USING INDEX "Message_pkey"')
        >>> plan.indexes[0]
        'CREATE UNIQUE INDEX "Message_pkey" ON "Message"("id")'
        >>> [sql.split()[-1] for sql in plan.validations[:3]]
        ['"Message_leadId_fkey"', '"AIDraft_leadId_fkey"', '"Lead_clientId_fkey"']
    """

    create: str
    indexes: tuple[str, ...]
    primary_keys: tuple[str, ...]
    foreign_keys: tuple[str, ...]
    validations: tuple[str, ...]

    @property
    def steps(self) -> int:
        return len(self.indexes) + len(self.validations)


_CONSTRAINT = re.compile(r'^ALTER TABLE ("(?:[^"]|"")+") ADD CONSTRAINT ("(?:[^"]|"")+")')


def synthetic_ddl(schema: Schema | None = None, *, unlogged: bool = True) -> LoadPlan:
    """The :class:`LoadPlan` of ``schema`` (default: the booking schema).

    Larger tables come first (the schema lists referenced tables before the tables that
    reference them, so its reverse order approximates size) to keep both connections busy.
    """
    schema = schema or booking_schema()
    bare = dataclasses.replace(schema, indexes=(), tables=tuple(
        dataclasses.replace(table, columns=tuple(
            dataclasses.replace(column, primary_key=False, unique=False, references=None)
            for column in table.columns))
        for table in schema.tables))
    create = schema_ddl(bare)
    if unlogged:
        create = create.replace("-- CreateTable\nCREATE TABLE", "-- CreateTable\nCREATE UNLOGGED TABLE")
    rank = {quote_ident(table.name): -n for n, table in enumerate(schema.tables)}
    indexes, primary_keys = [], []
    for table in schema.tables:
        keys = [quote_ident(column.name) for column in table.columns if column.primary_key]
        if keys:
            name, target = quote_ident(f"{table.name}_pkey"), quote_ident(table.name)
            indexes.append(f"CREATE UNIQUE INDEX {name} ON {target}({', '.join(keys)})")
            primary_keys.append(f"ALTER TABLE {target} ADD CONSTRAINT {name} "
                                f"PRIMARY KEY USING INDEX {name}")
    foreign_keys: dict[str, list[tuple[str, str]]] = {}
    for statement in schema_ddl(schema).split("\n\n"):
        body = statement.split("\n", 1)[-1].rstrip(";")
        if statement.startswith("-- CreateIndex"):
            indexes.append(body)
        elif statement.startswith("-- AddForeignKey"):
            match = _CONSTRAINT.match(body)
            assert match, body
            referencing, name = match.groups()
            foreign_keys.setdefault(referencing, []).append(
                (f"{body} NOT VALID", f"ALTER TABLE {referencing} VALIDATE CONSTRAINT {name}"))
    indexes.sort(key=lambda sql: rank.get(_table_of(sql), 0))
    tables = sorted(foreign_keys, key=lambda table: rank.get(table, 0))
    # Round-robin over tables, so that the two validations running at once are of different
    # tables whenever possible (two on one table wait for each other).
    interleaved = [pair for row in itertools.zip_longest(*(foreign_keys[t] for t in tables))
                   for pair in row if pair is not None]
    return LoadPlan(create=create, indexes=tuple(indexes), primary_keys=tuple(primary_keys),
                    foreign_keys=tuple(add for add, _ in interleaved),
                    validations=tuple(validate for _, validate in interleaved))


def _table_of(index_sql: str) -> str:
    return index_sql.split(" ON ", 1)[1].split("(", 1)[0]


def seed_synthetic(connect: Callable[[], Connection], spec: SyntheticSpec, *,
                   progress: Progress | None = None, unlogged: bool = True) -> SeedReport:
    """Create the booking schema in the (empty) database ``connect`` opens and fill it.

    ``connect`` opens a new autocommit connection to the target database; seeding uses two at
    once. ``unlogged`` creates the tables UNLOGGED: the database is thrown away, and unlogged
    tables are read exactly as logged ones are.
    """
    progress = progress or Progress.to_stderr(f"seeding {spec.leads:,} leads")
    plan = synthetic_ddl(unlogged=unlogged)
    values = {"to": f"'{spec.to.isoformat(sep=' ')}'", "history": spec.history_days, "leads": spec.leads,
              "clients": spec.clients, "campaigns": spec.campaigns_per_client}
    chunks = _chunks(spec.leads, spec.chunk_leads)
    progress.start(len(chunks) + plan.steps + 1)
    started = time.perf_counter()
    with _connections(connect, LOAD_CONNECTIONS) as conns:
        _execute(conns[0], plan.create)
        _execute(conns[0], _bind(_CLIENT_SQL, values))
        _execute(conns[0], _bind(_CAMPAIGN_SQL, values))
        _in_parallel(conns, [[_bind(sql, {**values, "lo": lo, "hi": hi}) for sql in _LEAD_TABLES_SQL]
                             for lo, hi in chunks], progress.advance)
        loaded = time.perf_counter()
        for conn in conns:
            # One build per core already: parallel workers inside a build would only compete.
            _execute(conn, "SET max_parallel_maintenance_workers = 0")
            _execute(conn, f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        _in_parallel(conns, [[sql] for sql in plan.indexes], progress.advance)
        _in_parallel(conns[:1], [[*plan.primary_keys, *plan.foreign_keys]])
        _in_parallel(conns, [[sql] for sql in plan.validations], progress.advance)
        indexed = time.perf_counter()
        _in_parallel(conns, [[f"VACUUM (ANALYZE) {quote_ident(table.name)}"]
                             for table in reversed(booking_schema().tables)])
        progress.advance()
        analysed = time.perf_counter()
        counts = _counts(conns[0])
    progress.finish()
    return SeedReport(
        clients=counts["Client"], campaigns=counts["EmailCampaign"], leads=counts["Lead"],
        drafts=counts["AIDraft"], messages=counts["Message"],
        load_seconds=loaded - started, index_seconds=indexed - loaded,
        analyze_seconds=analysed - indexed, client_ids=spec.client_ids,
    )


def _bind(sql: str, values: dict[str, Any]) -> str:
    """Substitute ``@name`` markers with trusted literals (numbers we computed, a quoted date).

    Not server-side parameters: ``%`` is the modulo operator all over these statements.
    """
    for name in sorted(values, key=len, reverse=True):
        sql = sql.replace(f"@{name}", str(values[name]))
    return sql


def _chunks(leads: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + size - 1, leads)) for lo in range(1, leads + 1, size)]


@contextmanager
def _connections(connect: Callable[[], Connection], count: int) -> Iterator[list[Connection]]:
    conns: list[Connection] = []
    try:
        for _ in range(count):
            conns.append(connect())
        for conn in conns:
            _execute(conn, "SET client_min_messages = warning")
        yield conns
    finally:
        for conn in conns:
            conn.close()


def _in_parallel(conns: Sequence[Connection], jobs: Sequence[Sequence[str]],
                 on_done: Callable[[], None] = lambda: None) -> None:
    """Run each job (a list of statements) on one of ``conns``, one thread per connection.

    Jobs are taken in order by whichever connection is free; the first error stops the others
    from taking new jobs and is raised.
    """
    queue = list(reversed(jobs))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(conn: Connection) -> None:
        while True:
            with lock:
                if errors or not queue:
                    return
                job = queue.pop()
            try:
                for sql in job:
                    _execute(conn, sql)
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                with lock:
                    errors.append(error)
                return
            with lock:
                on_done()

    threads = [threading.Thread(target=work, args=(conn,), daemon=True) for conn in conns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _execute(conn: Connection, sql: str) -> None:
    try:
        conn.execute(sql)
    except Exception as error:  # psycopg.Error, without importing psycopg here
        raise DatabaseError(f"seeding the synthetic data failed: {error}",
                            hint="seed into an empty database of PostgreSQL 13 or later") from error


def _counts(conn: Connection) -> dict[str, int]:
    tables = ("Client", "EmailCampaign", "Lead", "AIDraft", "Message")
    row = conn.execute("SELECT " + ", ".join(
        f"(SELECT count(*) FROM {quote_ident(table)})" for table in tables)).fetchone()
    return dict(zip(tables, row))


class BookingSynthetic:
    """The profile's :class:`~convguard.profiles.SyntheticData` for ``convguard bench``: sizes
    are counted in leads (``--sizes 10000,100000``), the report shows leads, drafts and messages.

    Example:
        >>> SYNTHETIC.unit, SYNTHETIC.default_size
        ('leads', 100000)
        >>> params = SYNTHETIC.params(SYNTHETIC.spec(10), window_days=30)
        >>> params["from"], params["to"], len(params["client_ids"])
        ('2026-01-02T00:00:00Z', '2026-02-01T00:00:00Z', 5)
    """

    unit = "leads"
    default_size = 100_000
    #: the days of the history are days of sends; the drafts are spread over them
    timeline = "sends"
    dated = "drafts"

    def spec(self, size: int, *, history_days: int = DEFAULT_HISTORY_DAYS) -> SyntheticSpec:
        """``size`` leads over ``history_days``."""
        return SyntheticSpec(leads=size, history_days=history_days)

    def seed(self, connect: Callable[[], Connection], spec: SyntheticSpec, *,
             progress: Progress | None = None) -> SeedReport:
        return seed_synthetic(connect, spec, progress=progress)

    def params(self, spec: SyntheticSpec, *, window_days: int) -> dict[str, Any]:
        """The last ``window_days`` before ``spec.to``, with the caller's scope = every
        synthetic client (so every lead is in scope)."""
        to = spec.to
        return {"to": to.isoformat() + "Z",
                "from": (to - timedelta(days=window_days)).isoformat() + "Z",
                "client_ids": list(spec.client_ids)}


SYNTHETIC = BookingSynthetic()
