"""How the booking-conversion queries scale: ``convguard bench`` at several sizes, as a table.

Run as ``python benchmarks/bench_scale.py [--sizes 10000,100000,1000000] [--no-advise]
[--json FILE] [PATH[::FUNCTION]...]`` from a checkout (it puts ``src`` on ``sys.path`` itself).
With no PATH it benches the queries declared in ``convguard.toml`` (the sample action and the
reference query), each size seeded once in its own throwaway database of an embedded server.

Prints, per query: leads, drafts and messages seeded, the load rate (rows/s of the
``INSERT ... SELECT generate_series`` phase; target >= 500,000), the whole seeding time (keys,
indexes, foreign keys, vacuum and analyze included), the query's median of three runs, its growth
against the previous size, and the costliest plan node; then the index advice measured at the
largest size. ``--json FILE`` also writes every figure (the ``convguard bench --format json``
document of each query).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from convguard._errors import ConvguardError
from convguard.kit.bench.benchmark import BenchResult, run_bench
from convguard.commands.bench import parse_sizes
from convguard.commands.test import plan_queries
from convguard.kit.server import start_server

DEFAULT_SIZES = "10000,100000,1000000"
LOAD_TARGET = 500_000


def table(result: BenchResult) -> str:
    header = (f"{'leads':>10} {'drafts':>10} {'messages':>10} {'load rows/s':>12} {'seed s':>7} "
              f"{'query ms':>9} {'x prev':>7}  costliest node (exclusive ms)")
    lines = [f"{result.query} ({result.driver})", header]
    previous = None
    for size in result.sizes:
        seed = size.seed
        growth = f"{size.query_ms / previous:7.1f}" if previous else f"{'':>7}"
        top = size.plan_top[0] if size.plan_top else None
        node = f"{top.label()} ({top.exclusive_ms:,.0f})" if top else ""
        lines.append(f"{seed.leads:>10,} {seed.drafts:>10,} {seed.messages:>10,} "
                     f"{seed.load_rows_per_s:>12,.0f} {seed.seconds:>7.1f} "
                     f"{size.query_ms:>9,.0f} {growth}  {node}")
        previous = size.query_ms
    if result.slope is not None:
        lines.append(f"log-log slope {result.slope:.2f} (1.0 = linear)")
    if result.goal_ms:
        verdict = "within" if result.largest.query_ms <= result.goal_ms else "over"
        lines.append(f"goal at {result.largest.size:,} {result.unit}: <= {result.goal_ms:,.0f} ms "
                     f"(a quarter of the {result.budget_ms:,.0f} ms statement timeout): {verdict}")
    for advice in result.advice:
        mark = "ADVISED" if advice.helps else ("unused " if not advice.used else "no     ")
        lines.append(f"  {mark} {advice.gain_ratio:+7.1%}  {advice.before_ms:>8,.0f} -> "
                     f"{advice.after_ms:>8,.0f} ms  ({advice.wins}/{advice.pairs} pairs faster)  "
                     f"{advice.index_sql}")
    if result.combined is not None:
        combined = result.combined
        lines.append(f"  together {combined.gain_ratio:+7.1%}  {combined.before_ms:>8,.0f} -> "
                     f"{combined.after_ms:>8,.0f} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", metavar="PATH[::FUNCTION]")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"lead counts (default {DEFAULT_SIZES})")
    parser.add_argument("--no-advise", dest="advise", action="store_false",
                        help="skip the index candidates (much faster)")
    parser.add_argument("--provider", default="embedded")
    parser.add_argument("--dsn", default=None)
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--history-days", type=int, default=365,
                        help="days of sends the data spans (default 365; 90: the stress case)")
    parser.add_argument("--window-days", type=int, default=30, help="the query's range (default 30)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        sizes = parse_sizes(args.sizes, unit="leads")
        plans = [item.plan for item in plan_queries(args.paths, scenarios=["(synthetic)"])]
        provider = "url" if args.dsn else args.provider
        with start_server(provider, dsn=args.dsn) as server:
            results = run_bench(plans, server, sizes, advise_indexes=args.advise,
                                history_days=args.history_days, window_days=args.window_days,
                                progress=sys.stderr.isatty())
    except ConvguardError as error:
        print(f"bench_scale: {error}", file=sys.stderr)
        return 2
    for result in results:
        print(table(result))
        print()
    loads = [size.seed.load_rows_per_s for size in results[0].sizes]
    print(f"load rate at the largest size: {loads[-1]:,.0f} rows/s "
          f"(target >= {LOAD_TARGET:,}); whole run {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps([result.as_dict() for result in results], indent=2,
                                              default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
