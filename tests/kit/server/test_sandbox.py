"""The query under test cannot escape: least privilege, read-only past COMMIT, a hard deadline,
sealed sockets and no leftovers, on the embedded server and on a url server reached with a
superuser DSN (a second PostgreSQL started here: Debian's via the ``system`` provider when
installed, else the embedded binaries)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from convguard.extract import extract_source
from convguard.kit.conformance.profile_kit import profile_kit
from convguard.kit.conformance.runner import (
    QueryPlan,
    Workbench,
    is_setup_statement,
    statement_timeout_for,
)
from convguard.kit.scenario.files import load_scenarios
from convguard.kit.server import Server, start_server
from convguard.kit.server.marks import object_name
from convguard.profiles.booking_conversion.schema import booking_schema

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src"
SCENARIO_FILE = ROOT / "fixtures" / "scenarios" / "worked-example-1-booked-and-same-millisecond.yaml"
KIT = profile_kit("booking-conversion")
SCHEMA = booking_schema()
SCENARIO = load_scenarios([SCENARIO_FILE], schema=SCHEMA, contract=KIT.contract)[0]


# -- servers ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_server() -> Iterator[Server]:
    """A second PostgreSQL with a superuser, standing in for a server the user shares."""
    try:
        server = start_server("system")
    except Exception:  # noqa: BLE001 - no distribution server: the embedded binaries do
        server = start_server("embedded")
    with server:
        admin = server.admin()
        admin.execute("CREATE DATABASE userdata")
        with server.connect("userdata") as conn:
            conn.execute("CREATE TABLE account (id int PRIMARY KEY, balance int);"
                         " INSERT INTO account VALUES (1, 100)")
        yield server


@pytest.fixture(scope="module")
def url_bench(shared_server: Server) -> Iterator[Workbench]:
    with Workbench.start("url", dsn=shared_server.conninfo(), allow_superuser=True) as bench:
        yield bench


@pytest.fixture(params=["embedded", "url"])
def any_bench(request: pytest.FixtureRequest) -> Workbench:
    return request.getfixturevalue("bench" if request.param == "embedded" else "url_bench")


def inventory(server: Server) -> tuple[set[str], set[str], list[tuple[int, int]]]:
    """The server's databases and roles, and the user database's rows."""
    admin = server.admin()
    databases = {row[0] for row in admin.execute("SELECT datname FROM pg_database")}
    roles = {row[0] for row in admin.execute("SELECT rolname FROM pg_roles")}
    rows: list[tuple[int, int]] = []
    if "userdata" in databases:
        with server.connect("userdata") as conn:
            rows = conn.execute("SELECT id, balance FROM account ORDER BY id").fetchall()
    return databases, roles, rows


def plan_of(template: str, tmp_path: Path, *, timeout: int | None = None) -> QueryPlan:
    """A plan for a TypeScript tagged template with no interpolation (the simple protocol)."""
    setup = (f"    prisma.$executeRaw`SET LOCAL statement_timeout = {timeout}`,\n"
             if timeout is not None else "")
    path = tmp_path / "attack.ts"
    path.write_text("export async function attack() {\n  return prisma.$transaction([\n"
                    f"{setup}    prisma.$queryRaw`{template}`,\n  ]);\n}}\n")
    extraction = extract_source(str(path), path.read_text())
    query = next(q for q in extraction.queries if not is_setup_statement(q))
    return QueryPlan(query=query, kit=KIT, schema=SCHEMA,
                     statement_timeout=statement_timeout_for(query, extraction))


# -- least privilege, read-only past COMMIT ----------------------------------------------------------
OFF = "SET default_transaction_read_only = off; COMMIT; "
ATTACKS = {
    "copy-to-program": ("COPY (SELECT 1) TO PROGRAM 'touch {marker}'", {"42501"}),
    "copy-to-file": ("COPY (SELECT 1) TO '{marker}'", {"42501"}),
    "pg-read-file": ("SELECT pg_read_file('/etc/passwd')", {"42501"}),
    "create-role-after-commit": ("SELECT 1; COMMIT; CREATE ROLE {role}", {"25006"}),
    "create-role-read-write": ("SELECT 1; COMMIT; " + OFF + "CREATE ROLE {role}", {"42501"}),
    "alter-role-after-commit": ("SELECT 1; COMMIT; ALTER ROLE CURRENT_USER SET "
                                "statement_timeout = '1ms'", {"25006"}),
    "alter-role-read-write": ("SELECT 1; COMMIT; " + OFF + "ALTER ROLE CURRENT_USER CREATEROLE",
                              {"42501"}),
    "create-table-read-write": ("SELECT 1; COMMIT; " + OFF + "CREATE TABLE pwned (x int)",
                                {"42501"}),
    "temp-table-read-write": ("SELECT 1; COMMIT; " + OFF + "CREATE TEMP TABLE pwned (x int)",
                              {"42501"}),
    "delete-read-write": ("SELECT 1; COMMIT; " + OFF + 'DELETE FROM "Lead"', {"42501"}),
    "server-program": ("SELECT 1; COMMIT; " + OFF + "CREATE EXTENSION IF NOT EXISTS dblink",
                       {"42501", "0A000", "58P01"}),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_query_cannot_escape(attack: str, any_bench: Workbench, tmp_path: Path) -> None:
    template, sqlstates = ATTACKS[attack]
    marker = tmp_path / "pwned"
    role = f"pwned_{os.getpid()}"
    harmless = plan_of("SELECT 'sms', 'EDITED', 'BOOKED', 1", tmp_path)
    any_bench.run(harmless, SCENARIO)  # the run's databases exist from here on
    before = inventory(any_bench.server)
    result = any_bench.run(plan_of(template.format(marker=marker, role=role), tmp_path), SCENARIO)
    assert (result.check, result.sqlstate) in {("sqlstate", code) for code in sqlstates}, result
    assert result.error and ("permission denied" in result.error or "read-only" in result.error
                             or "must be superuser" in result.error
                             or "extension" in result.error), result.error
    assert not marker.exists()
    assert inventory(any_bench.server) == before
    # The next scenario runs on a clean, working session.
    assert any_bench.run(harmless, SCENARIO).check in ("passed", "counts")


def test_the_query_role_is_least_privilege(any_bench: Workbench) -> None:
    role = any_bench.server.query_role()
    assert role.sandboxed and role.name.startswith("convguard_q_")
    row = any_bench.server.admin().execute(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,"
        " (SELECT count(*) FROM pg_auth_members WHERE member = r.oid)"
        " FROM pg_roles r WHERE rolname = %s", [role.name]).fetchone()
    assert row == (False, False, False, False, False, 0)


def test_a_session_change_after_commit_does_not_leak_into_the_next_scenario(
        any_bench: Workbench, tmp_path: Path) -> None:
    leak = plan_of("SELECT 1; COMMIT; SET TimeZone = 'Pacific/Kiritimati'", tmp_path)
    any_bench.run(leak, SCENARIO)
    probe = plan_of("SELECT current_setting('TimeZone'), 'x', 'y', 1", tmp_path)
    assert any_bench.run(probe, SCENARIO).rows[0][0] == "UTC"


# -- sockets ---------------------------------------------------------------------------------------
def test_another_runs_server_refuses_this_runs_credentials(bench: Workbench) -> None:
    mine = bench.server
    role = mine.query_role()
    with start_server("embedded") as theirs:
        socket_dir = theirs.conninfo().split("host=")[1].split()[0]
        attempts = [{"user": "postgres"}, {"user": "postgres", "password": mine._params["password"]},
                    {"user": role.name, "password": role.password}]
        for credentials in attempts:
            with pytest.raises(psycopg.OperationalError) as refused:
                psycopg.connect(host=socket_dir, port=5432, dbname="postgres",
                                connect_timeout=5, **credentials).close()
            message = str(refused.value)
            assert "password authentication failed" in message or "no password" in message


# -- the hard deadline -----------------------------------------------------------------------------
def test_a_query_that_lifts_its_timeout_is_cancelled(any_bench: Workbench,
                                                     tmp_path: Path) -> None:
    plan = plan_of("SET LOCAL statement_timeout = 0; SELECT pg_sleep(60)", tmp_path, timeout=1000)
    assert plan.statement_timeout == "1000"
    started = time.monotonic()
    result = any_bench.run(plan, SCENARIO)
    elapsed = time.monotonic() - started
    assert elapsed < 1 + 5
    assert (result.check, result.sqlstate) == ("sqlstate", "57014")
    assert "deadline" in (result.error or "") and "cancelled" in (result.error or "")


def test_a_query_that_ends_its_own_backend_fails_cleanly(any_bench: Workbench,
                                                         tmp_path: Path) -> None:
    result = any_bench.run(plan_of("SELECT pg_terminate_backend(pg_backend_pid())", tmp_path),
                           SCENARIO)
    assert result.check == "sqlstate" and "connection" in (result.error or "")
    assert any_bench.run(plan_of("SELECT 'sms', 'EDITED', 'BOOKED', 1", tmp_path),
                         SCENARIO).check in ("passed", "counts")


def cli(*args: str, **popen: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen([sys.executable, "-m", "convguard", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)  # type: ignore[call-overload]


def test_the_cli_exits_1_within_the_timeout_plus_5_s(tmp_path: Path) -> None:
    plan_of("SET LOCAL statement_timeout = 0; SELECT pg_sleep(60)", tmp_path, timeout=1000)
    started = time.monotonic()
    process = cli("test", f"{tmp_path / 'attack.ts'}::attack", "--scenarios", str(SCENARIO_FILE),
                  "--profile", "booking-conversion",
                  "--examples", "0")
    out, err = process.communicate(timeout=60)
    # The bound is the timeout plus 5 s for the query; the process adds its server's start.
    assert time.monotonic() - started < 1 + 5 + 5
    assert process.returncode == 1, err
    assert "deadline" in out and "Traceback" not in out + err


# -- no leftovers ------------------------------------------------------------------------------------
def wait_for_query(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = server.admin().execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'convguard % query'"
            " AND query LIKE '%pg_sleep%'").fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the run's query never started")


def wait_until_gone(server: Server, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = server.admin().execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'convguard %% admin'"
            " AND pid <> pg_backend_pid() AND application_name <> %s",
            [server.admin().info.parameter_status("application_name")]).fetchone()
        if not row or not row[0]:
            return
        time.sleep(0.05)


def test_a_run_leaves_the_shared_server_as_it_found_it(shared_server: Server,
                                                       tmp_path: Path) -> None:
    before = inventory(shared_server)
    plan_of("SELECT 1; COMMIT; " + OFF + "DELETE FROM account", tmp_path)
    process = cli("test", f"{tmp_path / 'attack.ts'}::attack", "--scenarios", str(SCENARIO_FILE),
                  "--profile", "booking-conversion",
                  "--examples", "0", "--dsn", shared_server.conninfo(), "--allow-superuser")
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert inventory(shared_server) == before


def test_a_superuser_dsn_is_refused_without_the_flag(shared_server: Server) -> None:
    process = cli("test", "--scenarios", str(SCENARIO_FILE), "--examples", "0",
                  "--dsn", shared_server.conninfo(), cwd=str(ROOT))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "is a superuser" in err and "--allow-superuser" in err


def test_sigterm_cancels_the_query_cleans_up_and_exits_143(shared_server: Server,
                                                           tmp_path: Path) -> None:
    before = inventory(shared_server)
    plan_of("SELECT pg_sleep(60)", tmp_path, timeout=120_000)
    process = cli("test", f"{tmp_path / 'attack.ts'}::attack", "--scenarios", str(SCENARIO_FILE),
                  "--profile", "booking-conversion",
                  "--examples", "0", "--dsn", shared_server.conninfo(), "--allow-superuser")
    wait_for_query(shared_server)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert "interrupted" in err and "Traceback" not in err
    assert inventory(shared_server) == before


def test_the_janitor_sweeps_what_a_dead_run_left(shared_server: Server) -> None:
    before = inventory(shared_server)
    dead_run = "999999-0badc0de"
    created = int(time.time()) - 60
    admin = shared_server.admin()
    names = [object_name(p, dead_run, created=created, number=n)
             for n, p in enumerate(("convguard_tpl", "convguard_run", "convguard_bench"))]
    role = object_name("convguard_q", dead_run, created=created, number=9)
    for name in names:
        admin.execute(f'CREATE DATABASE "{name}"')
    admin.execute(f'ALTER DATABASE "{names[0]}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
    admin.execute(f'COMMENT ON DATABASE "{names[1]}" IS \'created by convguard run {dead_run}\'')
    admin.execute(f'CREATE ROLE "{role}"')
    # Look-alikes that are not a dead run's: another comment, a live run, a plain name.
    foreign = object_name("convguard_run", dead_run, created=created, number=7)
    admin.execute(f'CREATE DATABASE "{foreign}"')
    admin.execute(f'COMMENT ON DATABASE "{foreign}" IS \'a user database\'')
    with start_server("url", dsn=shared_server.conninfo(), allow_superuser=True):
        pass
    databases, roles, rows = inventory(shared_server)
    assert not set(names) & databases and role not in roles
    assert foreign in databases and (databases - {foreign}, roles, rows) == before
    admin.execute(f'DROP DATABASE "{foreign}"')


@pytest.mark.slow
def test_kill_9_then_one_clean_run_leaves_the_server_as_it_was(shared_server: Server,
                                                               tmp_path: Path) -> None:
    before = inventory(shared_server)
    plan_of("SELECT pg_sleep(60)", tmp_path, timeout=120_000)
    args = ("test", f"{tmp_path / 'attack.ts'}::attack", "--scenarios", str(SCENARIO_FILE),
            "--profile", "booking-conversion",
            "--examples", "0", "--dsn", shared_server.conninfo(), "--allow-superuser")
    process = cli(*args)
    wait_for_query(shared_server)
    process.kill()
    process.communicate(timeout=30)
    assert inventory(shared_server) != before  # the killed run left its databases and role
    wait_until_gone(shared_server)
    time.sleep(1.1)  # the janitor's grace period
    plan_of("SELECT 'sms', 'EDITED', 'BOOKED', 1", tmp_path)
    clean = cli(*args)
    clean.communicate(timeout=60)
    assert inventory(shared_server) == before
    left = shared_server.admin().execute(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%'"
        " AND pid <> pg_backend_pid()").fetchone()
    assert left == (0,)  # the killed run's query backend was ended by the sweep


# -- secrets stay out of reprs and messages -----------------------------------------------------------
def test_no_password_in_the_repr_of_the_kits_objects(any_bench: Workbench) -> None:
    """The run's passwords (the server's own, the query role's; on a url server the DSN's) never
    show in ``repr()``/``str()`` of what the kit hands out, so a log line or a failing assert
    that prints one leaks nothing."""
    from convguard.kit import DatabaseHandle
    from convguard.kit.server.databases import create_database

    server = any_bench.server
    role = server.query_role()
    passwords = [server._params["password"], role.password]
    assert all(passwords) and role.password != server._params["password"]
    with create_database(server, prefix="test_secret") as database, \
            database.connect() as conn:
        assert server._params["password"] in database.conninfo  # it is there, and usable
        handle = DatabaseHandle(conn, database.conninfo, database.name, server)
        objects = [server, role, database, handle]
        for shown in [text for thing in objects for text in (repr(thing), str(thing))]:
            assert not [password for password in passwords if password in shown], shown
        assert database.name in repr(database) and role.name in repr(role)


@pytest.mark.parametrize("dsn", [
    "postgresql://ci:{password}@[::1/app",            # libpq quotes the whole URI back
    "host=/nowhere user=ci password={password} dbname",  # ... or the keyword it stopped at
    "postgresql://ci:{password}@localhost:1/app",        # cannot connect
])
def test_no_password_in_a_dsn_error(dsn: str) -> None:
    from convguard._errors import DatabaseError

    password = "Sup3rSecretPassw0rd"
    with pytest.raises(DatabaseError) as failure:
        start_server("url", dsn=dsn.format(password=password))
    shown = f"{failure.value} {failure.value.hint} {failure.value!r}"
    assert password not in shown and failure.value.__cause__ is None, shown
    assert "invalid connection string" in shown or "cannot connect" in shown, shown


def test_no_password_in_a_failed_login(shared_server: Server) -> None:
    from convguard._errors import DatabaseError

    password = "Sup3rSecretPassw0rd"
    with pytest.raises(DatabaseError) as failure:
        start_server("url", dsn=shared_server.conninfo() + f" user=nobody password={password}")
    shown = f"{failure.value} {failure.value.hint}"
    assert "password authentication failed" in shown and password not in shown, shown


# -- interrupts end to end on the embedded server ------------------------------------------------------
def run_processes(owner: int) -> dict[int, str]:
    """``{pid: command line}`` of the postgres processes of ``owner``'s run: its postmaster
    (``-D /dev/shm/convguard-<owner>-<hex>/data``) and that postmaster's children."""
    processes: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        processes[int(entry.name)] = (ppid, cmdline)
    postmasters = {pid for pid, (_, cmdline) in processes.items()
                   if "postgres" in cmdline and f"/convguard-{owner}-" in cmdline}
    return {pid: cmdline for pid, (ppid, cmdline) in processes.items()
            if pid in postmasters or ppid in postmasters}


def wait_for_running_query(process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    """Until a backend of the run's own server runs the query role's SELECT (its title)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if any("convguard_q" in title and title.endswith("SELECT")
               for title in run_processes(process.pid).values()):
            return
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"the run's query never started: {process.communicate()}")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_while_the_query_runs_leaves_nothing_behind(
        tmp_path: Path, signum: signal.Signals, code: int) -> None:
    """Ctrl-C (or a CI cancel) while the query under test sleeps: exit 128 + signal, one line,
    no traceback; no postgres process, run folder, run record or cache staging folder of that
    run is left."""
    from convguard.kit.server.runs import cache_dir

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "clusters").symlink_to(cache_dir() / "clusters", target_is_directory=True)
    staging_before = {p.name for p in (cache / "clusters").iterdir() if p.name.startswith(".")}
    plan_of("SELECT pg_sleep(60)", tmp_path, timeout=120_000)
    process = subprocess.Popen(
        [sys.executable, "-m", "convguard", "test", f"{tmp_path / 'attack.ts'}::attack",
         "--scenarios", str(SCENARIO_FILE), "--profile", "booking-conversion", "--examples", "0"],
        env={**os.environ, "PYTHONPATH": str(SRC), "CONVGUARD_CACHE_DIR": str(cache)},
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_running_query(process)
    assert run_processes(process.pid)
    process.send_signal(signum)
    started = time.monotonic()
    out, err = process.communicate(timeout=30)
    assert process.returncode == code, (out, err)
    assert time.monotonic() - started < 5
    name = signal.Signals(signum).name
    assert err.splitlines() == [f"convguard: interrupted ({name}); cleaned up what this run "
                                "created"], err
    assert "Traceback" not in out + err
    assert run_processes(process.pid) == {}
    assert not list(Path("/dev/shm").glob(f"convguard-{process.pid}-*"))
    assert not list(Path(tempfile.gettempdir()).glob(f"convguard-{process.pid}-*"))
    assert list((cache / "runs").iterdir()) == []
    assert {p.name for p in (cache / "clusters").iterdir() if p.name.startswith(".")} \
        == staging_before
