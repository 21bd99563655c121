"""Whole-process ``convguard test`` timings, and what one more scenario costs.

Run as ``python benchmarks/bench_test_command.py [--runs 7]`` from a checkout (it puts ``src`` on
``PYTHONPATH`` itself). Prints medians in milliseconds:

- ``cached``: ``python -m convguard test`` (both configured reference queries x every fixture
  scenario) with the cluster cache warm (target < 1500 ms);
- ``cold``: the same with ``CONVGUARD_CACHE_DIR`` pointing at an empty folder, so ``initdb`` runs
  (target < 3000 ms);
- ``per extra scenario``: (time with 100 copies of the fixture scenarios - time with 10) / 90, for
  a scenario file run against both queries, and per (query, scenario) pair (target < 5 ms);
- in-process: per-scenario cost of transaction isolation against a template clone per scenario.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "fixtures" / "scenarios"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                      env.get("PYTHONPATH")]))
    env.pop("CONVGUARD_DATABASE_URL", None)
    env.update(extra)
    return env


def run_command(*args: str, env: dict[str, str] | None = None) -> float:
    """Wall time (ms) of one ``python -m convguard test ...`` process; it must conform."""
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "convguard", "test", *args], cwd=ROOT,
                               env=env or _env(), capture_output=True, text=True, timeout=600,
                               check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if completed.returncode != 0:
        raise SystemExit(f"convguard test failed ({completed.returncode}):\n"
                         f"{completed.stdout}\n{completed.stderr}")
    return elapsed


def copies(folder: Path, count: int) -> Path:
    """``count`` scenario files made from the fixtures (cycled), each with its own name."""
    sources = sorted(SCENARIOS.glob("*.yaml"))
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        source = sources[index % len(sources)]
        text = re.sub(r"^name: (.+)$", rf"name: \1-copy{index}", source.read_text(), count=1,
                      flags=re.MULTILINE)
        (folder / f"{index:04d}-{source.name}").write_text(text)
    return folder


def median(runs: int, measure) -> float:
    return statistics.median(measure() for _ in range(runs))


def in_process(runs: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "src"))
    from convguard.extract import extract_source
    from convguard.kit.conformance.profile_kit import profile_kit
    from convguard.kit.conformance.runner import QueryPlan, Workbench, is_setup_statement
    from convguard.kit.scenario.files import load_scenarios

    kit = profile_kit("booking-conversion")
    schema = kit.schema()
    scenarios = load_scenarios([SCENARIOS], schema=schema, contract=kit.contract)
    path = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
    query = next(q for q in extract_source(str(path), path.read_text()).queries
                 if not is_setup_statement(q))
    plan = QueryPlan(query=query, kit=kit, schema=schema)
    figures = {}
    for isolation in ("transaction", "clone"):
        with Workbench.start(isolation=isolation) as bench:
            bench.run(plan, scenarios[0])

            def once() -> float:
                start = time.perf_counter()
                for scenario in scenarios:
                    bench.run(plan, scenario)
                return (time.perf_counter() - start) * 1000 / len(scenarios)

            figures[f"in-process {isolation} isolation, per (query, scenario)"] = median(runs, once)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    figures: dict[str, float] = {}
    run_command()  # warm the cluster cache and the OS file cache
    figures["cached: convguard test (2 queries x fixtures)"] = median(runs, run_command)

    def cold() -> float:
        with tempfile.TemporaryDirectory(prefix="convguard-cold-") as cache:
            return run_command(env=_env(CONVGUARD_CACHE_DIR=cache))

    figures["cold: convguard test, empty cache"] = median(runs, cold)
    with tempfile.TemporaryDirectory(prefix="convguard-bench-") as scratch:
        small = copies(Path(scratch) / "s10", 10)
        large = copies(Path(scratch) / "s100", 100)
        t10 = median(runs, lambda: run_command("--scenarios", str(small)))
        t100 = median(runs, lambda: run_command("--scenarios", str(large)))
    figures["cached, 10 scenarios x 2 queries"] = t10
    figures["cached, 100 scenarios x 2 queries"] = t100
    figures["per extra scenario file (2 queries)"] = (t100 - t10) / 90
    figures["per extra (query, scenario) pair"] = (t100 - t10) / 180
    figures.update(in_process(runs))
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:8.1f} ms")


if __name__ == "__main__":
    main()
