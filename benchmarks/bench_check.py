"""Benchmarks of the static check.

(a) Whole process: ``convguard check`` on the sample action against ``python -c "import sqlglot"``
    (medians over interleaved runs, and their ratio; the target is at most 1.3).
(b) In process: 1,000 extracted queries — variants of the sample's queries with distinct literals,
    so the per-SQL-text cache cannot help — checked one after the other; then the same 1,000
    again (the cached case).

Child processes write bytecode to a private cache folder (``PYTHONPYCACHEPREFIX``), as an
installed package would have it, and never into the source tree.

Usage::

    PYTHONPATH=src python benchmarks/bench_check.py [--runs 15] [--queries 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"


def _child_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "convguard-bench-pycache")
    source = str(ROOT / "src")
    env["PYTHONPATH"] = source + os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") \
        else source
    return env


def _check_command() -> list[str]:
    if (ROOT / "src" / "convguard" / "cli.py").exists():
        return [sys.executable, "-m", "convguard", "check", str(SAMPLE)]
    return [sys.executable, "-c",
            f"from convguard._check import check_paths; check_paths([{str(SAMPLE)!r}])"]


def _run(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr.decode()}")
    return elapsed


def bench_process(runs: int) -> dict[str, float]:
    """Medians of interleaved runs of the baseline and of the check (after a warm-up each)."""
    env = _child_environment()
    baseline = [sys.executable, "-c", "import sqlglot"]
    check = _check_command()
    _run(baseline, env)
    _run(check, env)
    base_times, check_times = [], []
    for _ in range(runs):
        base_times.append(_run(baseline, env))
        check_times.append(_run(check, env))
    base, checked = statistics.median(base_times), statistics.median(check_times)
    return {"import_sqlglot_s": base, "check_s": checked, "ratio": checked / base}


def _variants(count: int) -> list[tuple[str, str]]:
    """``count`` distinct TS sources, each one query of the sample with its own literals."""
    text = SAMPLE.read_text(encoding="utf-8")
    sources = []
    for number in range(count):
        variant = (text.replace("interval '1 day'", f"interval '{number % 97 + 1} day'")
                   .replace("'outbound'", f"'outbound' AND m.id <> 'bench-{number}'")
                   .replace("statement_timeout = 10000", f"statement_timeout = {10000 - number}"))
        sources.append((str(SAMPLE), variant))
    return sources


def bench_queries(count: int) -> dict[str, float]:
    """Check ``count`` extracted queries in this process (uncached, then cached)."""
    from convguard._check import check_extraction
    from convguard._config import find_config
    from convguard._model import HostText
    from convguard.extract import extract_source

    config = find_config(str(SAMPLE))
    extracted = []
    for path, text in _variants(count):
        result = extract_source(path, text, tags=config.tags)
        extracted.append((result, HostText(path, text)))
    queries = [query for result, _ in extracted for query in result.queries]
    per_source = max(1, len(queries) // count)
    needed = max(1, count // per_source)
    extracted = extracted[:needed]
    checked = sum(len(result.queries) for result, _ in extracted)

    def run() -> float:
        start = time.perf_counter()
        for result, host in extracted:
            check_extraction(result, host, config)
        return time.perf_counter() - start

    uncached = run()
    sample = SAMPLE.read_text(encoding="utf-8")
    same = extract_source(str(SAMPLE), sample, tags=config.tags)
    extracted = [(same, HostText(str(SAMPLE), sample))] * max(1, checked // len(same.queries))
    run()  # warm the per-SQL-text cache
    cached = run()
    cached_count = sum(len(result.queries) for result, _ in extracted)
    return {"queries": checked, "uncached_s": uncached, "cached_queries": cached_count,
            "cached_s": cached}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    process = bench_process(args.runs)
    print(f"(a) whole process, median of {args.runs}: import sqlglot "
          f"{process['import_sqlglot_s']:.3f} s, convguard check {process['check_s']:.3f} s, "
          f"ratio {process['ratio']:.2f}")
    queries = bench_queries(args.queries)
    print(f"(b) {queries['queries']} distinct queries in one process: "
          f"{queries['uncached_s']:.2f} s; cached ({queries['cached_queries']} queries, same "
          f"SQL texts): {queries['cached_s']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
