"""Throwaway-server timings: cold and warm start, stop, copies, per-scenario isolation.

Run as ``python benchmarks/bench_server.py [--runs N]`` (``PYTHONPATH=src`` from a checkout);
prints the median of N runs for each figure, in milliseconds. Cold starts use a fresh
``CONVGUARD_CACHE_DIR`` each time; everything else uses the normal cache.

What it answers:
- cold start (no cache: initdb, prepare, copy, start, first connection) and warm start
  (cached cluster: copy, start, first connection), stop, and a whole ``python -c`` process;
- where a warm start goes: copying the cluster (cp -a vs shutil.copytree; tmpfs vs disk),
  postgres spawn to ``ready``, the first connection;
- isolating one scenario: a database cloned from a template (WAL_LOG and FILE_COPY strategies)
  against one transaction rolled back (BEGIN, COPY, query, ROLLBACK) in a shared database.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from convguard.kit.server.databases import (  # noqa: E402
    MARK,
    ThrowawayDatabase,
    create_template,
    drop_created_databases,
    new_database_name,
)
from convguard.kit.server import Server, start_server  # noqa: E402
from convguard.kit.server.local import LocalServer  # noqa: E402
from convguard.kit.server.postmaster import Postmaster  # noqa: E402
from convguard.kit.server.privileges import chown_to, server_user  # noqa: E402
from convguard.kit.server.runs import run_root  # noqa: E402
from convguard.kit.server.treecopy import copy_tree  # noqa: E402

SCHEMA = """
create table "Lead" (id text primary key, "clientId" text not null,
                     "appointmentBookedAt" timestamp(3), "ghlAppointmentId" text);
create table "AIDraft" (id text primary key, "leadId" text not null references "Lead"(id),
                        channel text not null default 'sms', "responseDisposition" text);
create table "Message" (id text primary key, "leadId" text not null references "Lead"(id),
                        "aiDraftId" text references "AIDraft"(id), direction text not null,
                        "sentAt" timestamp(3) not null);
create index on "Message"("aiDraftId");
create index on "AIDraft"("leadId");
"""
QUERY = ('select d.channel, count(distinct l.id) from "AIDraft" d'
         ' join "Lead" l on l.id = d."leadId" join "Message" m on m."aiDraftId" = d.id group by 1')


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def median_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def report(label: str, seconds: float) -> None:
    print(f"  {label:<58}{ms(seconds)}", flush=True)


def bench_starts(runs: int) -> None:
    print("server lifecycle (embedded)")
    start_server().stop()  # warm the cache and the imports

    def cold() -> None:
        with tempfile.TemporaryDirectory() as cache:
            os.environ["CONVGUARD_CACHE_DIR"] = cache
            try:
                start_server().stop()
            finally:
                del os.environ["CONVGUARD_CACHE_DIR"]

    report("cold start + stop (initdb, prepare, copy, start, connect)", median_of(runs, cold))
    starts, stops = [], []
    for _ in range(runs * 3):
        began = time.perf_counter()
        server = start_server()
        with server.connect() as conn:
            conn.execute("select 1")
        middle = time.perf_counter()
        server.stop()
        starts.append(middle - began)
        stops.append(time.perf_counter() - middle)
    report("warm start (copy, start, first connection, one query)", statistics.median(starts))
    report("stop (SIGINT fast shutdown, remove run folder)", statistics.median(stops))
    code = "from convguard.kit.server import start_server; start_server().stop()"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    report("whole process: python -c 'start_server().stop()' (warm)", median_of(
        runs, lambda: subprocess.run([sys.executable, "-c", code], env=env, check=True)))


def bench_start_phases(runs: int) -> None:
    print("where a warm start goes")
    with start_server() as server:
        assert isinstance(server, LocalServer)
        bins, cluster = server.bins, _cluster_of(server)
    user = server_user()
    size = sum(p.stat().st_size for p in cluster.rglob("*") if p.is_file())
    files = sum(1 for _ in cluster.rglob("*"))
    print(f"  cached cluster: {size / 2**20:.1f} MB in {files} entries")
    for root in dict.fromkeys([run_root(), Path(tempfile.gettempdir())]):
        for name, copier in (("cp -a", copy_tree), ("shutil.copytree", _copytree_chown)):
            def copy(root: Path = root, copier: Callable[[Path, Path], None] = copier) -> None:
                target = Path(tempfile.mkdtemp(dir=root)) / "data"
                copier(cluster, target)
                shutil.rmtree(target.parent)
            report(f"copy cluster with {name} to {root}", median_of(runs, copy))
    spawn, ready, connect = [], [], []
    for _ in range(runs * 2):
        folder = Path(tempfile.mkdtemp(dir=run_root(), prefix="convguard-bench-"))
        chown_to(folder, user)
        copy_tree(cluster, folder / "data")
        t0 = time.perf_counter()
        postmaster = Postmaster.spawn(bins, folder / "data", folder, folder / "log", user,
                                      major=int((cluster / "PG_VERSION").read_text()))
        t1 = time.perf_counter()
        postmaster.wait_ready(30)
        t2 = time.perf_counter()
        import psycopg

        psycopg.connect(f"host={folder} user=postgres dbname=postgres").close()
        t3 = time.perf_counter()
        postmaster.stop()
        shutil.rmtree(folder)
        spawn.append(t1 - t0)
        ready.append(t2 - t1)
        connect.append(t3 - t2)
    report("spawn postgres (fork, drop privileges, exec)", statistics.median(spawn))
    report("spawn to postmaster.pid 'ready'", statistics.median(ready))
    report("first connection", statistics.median(connect))


def bench_isolation(runs: int) -> None:
    print("isolating one scenario (50 leads, 100 drafts, 150 messages)")
    rows = _rows()
    with start_server() as server:
        started = time.perf_counter()
        template = create_template(server, SCHEMA)
        report("create_template (schema loaded once)", time.perf_counter() - started)

        def clone_and_use(strategy: str | None = None) -> None:
            db = (template.clone() if strategy is None
                  else _create_with_strategy(server, template.name, strategy))
            with db.connect() as conn:
                _load_and_query(conn, rows)
            db.drop()

        report("clone (kit: FILE_COPY) + connect + COPY + query + drop",
               median_of(runs * 3, clone_and_use))
        report("clone (WAL_LOG) + connect + COPY + query + drop",
               median_of(runs * 3, lambda: clone_and_use("WAL_LOG")))
        report("clone + drop alone", median_of(runs * 3, lambda: template.clone().drop()))
        with template.clone() as shared, shared.connect() as conn:
            def rollback() -> None:
                with conn.transaction(force_rollback=True):
                    _load_and_query(conn, rows)

            report("BEGIN + COPY + query + ROLLBACK on one connection",
                   median_of(runs * 3, rollback))


def _load_and_query(conn: Any, rows: dict[str, list[tuple[object, ...]]]) -> None:
    for table, values in rows.items():
        with conn.cursor().copy(f'COPY "{table}" FROM STDIN') as copy:
            for row in values:
                copy.write_row(row)
    conn.execute(QUERY).fetchall()


def _rows() -> dict[str, list[tuple[object, ...]]]:
    leads = [(f"l{i}", "c1", "2026-01-20 00:00:00" if i % 3 else None, None) for i in range(50)]
    drafts = [(f"d{i}", f"l{i % 50}", ("sms", "email", "linkedin")[i % 3], "AUTO_SENT")
              for i in range(100)]
    messages = [(f"m{i}", f"l{i % 50}", f"d{i % 100}", "outbound", "2026-01-10 00:00:00")
                for i in range(150)]
    return {"Lead": leads, "AIDraft": drafts, "Message": messages}


def _create_with_strategy(server: Server, template: str, strategy: str) -> ThrowawayDatabase:
    name = new_database_name("bench")
    server.admin().execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY {strategy}')
    server._remember(name, drop_created_databases)
    server.admin().execute(f"COMMENT ON DATABASE \"{name}\" IS '{MARK}{server.run_id}'")
    return ThrowawayDatabase(name, server.conninfo(name), server)


def _cluster_of(server: LocalServer) -> Path:
    from convguard.kit.server.cluster_cache import cluster_key
    from convguard.kit.server.runs import cache_dir

    return cache_dir() / "clusters" / cluster_key(server.bins, server_user())


def _copytree_chown(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True)
    user = server_user()
    if user is not None:
        for root, dirs, files in os.walk(target):
            for name in [".", *dirs, *files]:
                os.lchown(Path(root, name), user.uid, user.gid)


SECTIONS: dict[str, Callable[[int], None]] = {
    "lifecycle": bench_starts, "phases": bench_start_phases, "isolation": bench_isolation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (median reported)")
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append",
                        help="run only these sections (repeatable)")
    args = parser.parse_args()
    print(f"medians of {args.runs} runs (x3 for the fast figures)")
    for name in args.only or SECTIONS:
        SECTIONS[name](args.runs)


if __name__ == "__main__":
    main()
