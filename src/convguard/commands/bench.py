"""``convguard bench``: how fast a query is on a synthetic tenant mix at scale, and which index
would make it faster.

``convguard bench [PATH[::FUNCTION]]... [--size N | --sizes N,N,...] [--no-advise]
[--history-days N] [--window-days N] [--timeout DURATION] [--driver node-postgres|typed] [--dsn URL]
[--provider NAME] [--format text|json] [--config FILE]``

- No PATH: the configuration's queries whose profile has a data generator
  (:class:`convguard.profiles.SyntheticData`), planned (bound) as ``convguard test`` plans them.
- ``--size`` (alias ``--leads``) or ``--sizes``: sizes in the generator's ``unit`` (the
  booking-conversion profile's is leads), default its ``default_size``; each size is seeded in
  its own throwaway database, and the report shows the counts the generator seeded, under its
  own labels.
- ``--history-days`` (default 365): how many days the data spans; ``--window-days`` (default
  30): the query's range, the last days before ``to``. Their ratio is the share of the data the
  query must judge.
- ``--timeout`` (default ``15min``): each run of a query (timed, EXPLAIN ANALYZE, index advice)
  is bounded by it, as its statement timeout and by a client-side deadline one second later that
  cancels the query from convguard's own connection (terminates it if the cancel does not land),
  so a query that lifts its statement timeout is stopped too.
- Exit 0: measured; 2: could not run, a query failed or ran past ``--timeout`` (a message naming
  the query and a hint, never a traceback).

Example:
    >>> parse_sizes("10000,100000"), parse_sizes("1e6"), parse_sizes("50k", unit="orders")
    ((10000, 100000), (1000000,), (50000,))
    >>> parse_sizes("ten", unit="orders")
    Traceback (most recent call last):
    ...
    convguard._errors.InputError: invalid size 'ten' (hint: give sizes in orders, such as 10000,100000 or 1e6)
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from convguard._errors import ConfigError, ConvguardError, InputError
from convguard.kit.bench.benchmark import (
    DEFAULT_WINDOW_DAYS,
    MIN_GAIN_RATIO,
    BenchResult,
    IndexAdvice,
    SizeResult,
)
from convguard.kit.bench.data import DEFAULT_HISTORY_DAYS, MAX_HISTORY_DAYS

__all__ = ["MAX_SIZE", "format_json", "format_text", "parse_sizes", "run_bench_command"]

#: The largest size bench seeds, in any generator's unit.
MAX_SIZE = 50_000_000
# The planner never reads scenarios here; plan_queries only needs to be told not to look for any.
_NO_SCENARIOS = ("(bench: synthetic data)",)


def parse_sizes(text: str | int | None, default: int | None = None, *,
                unit: str = "units") -> tuple[int, ...]:
    """``"10000,100000"`` (also ``1e6``, ``50k``, ``2M``, ``1_000_000``) -> sizes in ``unit``
    (the data generator's); ``default`` when ``text`` gives none."""
    if text is None or text == "":
        if default is None:
            raise InputError("no size given", hint=f"give a size in {unit}, e.g. --size 10000")
        return (default,)
    if isinstance(text, int):
        values = [text]
    else:
        values = []
        for part in str(text).split(","):
            token = part.strip().lower().replace("_", "")
            match = re.fullmatch(r"(\d+(?:\.\d+)?(?:e\d+)?)([km]?)", token)
            if not match:
                raise InputError(f"invalid size {part.strip()!r}",
                                 hint=f"give sizes in {unit}, such as 10000,100000 or 1e6")
            number = float(match.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2)]
            values.append(int(number))
    for value in values:
        if not 1 <= value <= MAX_SIZE:
            raise InputError(f"size {value:,} is out of range",
                             hint=f"give 1 to {MAX_SIZE:,} {unit}")
    return tuple(sorted(set(values)))


def run_bench_command(args: Any, out: TextIO) -> int:
    """The ``convguard bench`` command; returns the exit code (errors print, never raise)."""
    from convguard.commands.test import plan_queries, server_choice

    output_format = getattr(args, "format", None) or "text"
    err = getattr(args, "err", None) or sys.stderr
    try:
        planned = plan_queries(list(getattr(args, "paths", None) or ()),
                               config_path=getattr(args, "config", None),
                               driver=getattr(args, "driver", None), scenarios=_NO_SCENARIOS,
                               profile=getattr(args, "profile", None))
        plans = [item.plan for item in planned]
        from convguard.kit.bench.benchmark import synthetic_of

        if not getattr(args, "paths", None):
            configured = plans
            plans = [plan for plan in plans if plan.kit.profile is not None
                     and plan.kit.profile.synthetic is not None]
            for plan in configured if not plans else ():
                synthetic_of(plan)  # raises: names the query and why it has no generator
            if not plans:
                raise ConfigError("no configured query has a profile bench can generate data for",
                                  hint="declare a [[query]] with a profile that has synthetic "
                                       "data")
        generator = synthetic_of(plans[0]) if plans else None
        unit = generator.unit if generator is not None else "units"
        given = next((value for value in (getattr(args, name, None)
                                          for name in ("sizes", "size", "leads"))
                      if value is not None), None)  # `--size 0` is given, and out of range
        sizes = parse_sizes(given, generator.default_size if generator is not None else None,
                            unit=unit)
        provider, dsn = server_choice(getattr(args, "dsn", None), getattr(args, "provider", None),
                                      planned[0].config if planned else None)
        history_days = _days(getattr(args, "history_days", None), DEFAULT_HISTORY_DAYS,
                             "--history-days", MAX_HISTORY_DAYS)
        window_days = _days(getattr(args, "window_days", None), DEFAULT_WINDOW_DAYS,
                            "--window-days", history_days)
        from convguard.kit.bench.benchmark import SAFETY_TIMEOUT, check_timeout

        timeout = check_timeout(str(getattr(args, "timeout", None) or SAFETY_TIMEOUT))
        results = _run(plans, provider, dsn, sizes, advise=getattr(args, "advise", True),
                       timeout=timeout,
                       allow_superuser=bool(getattr(args, "allow_superuser", False)),
                       err=err, history_days=history_days, window_days=window_days)
    except ConvguardError as error:
        _print_error(error, err)
        if output_format == "json":
            out.write(json.dumps({"error": error.message, "hint": error.hint,
                                  "path": error.path}, indent=2) + "\n")
        return 2
    if output_format == "json":
        out.write(format_json(results))
    else:
        out.write(format_text(results))
    return 0


def _days(value: int | None, default: int, option: str, most: int) -> int:
    """A day count option, checked (``--window-days`` at most the history)."""
    days = default if value is None else value
    if not 1 <= days <= most:
        raise InputError(f"{option} {days} is out of range", hint=f"give 1 to {most:,} days"
                         + (" (at most --history-days)" if option == "--window-days" else ""))
    return days


def _run(plans: Sequence[Any], provider: str, dsn: str | None, sizes: Sequence[int], *,
         advise: bool, err: TextIO, history_days: int = DEFAULT_HISTORY_DAYS,
         window_days: int = DEFAULT_WINDOW_DAYS,
         allow_superuser: bool = False, timeout: str | None = None) -> list[BenchResult]:
    from convguard.kit.bench.benchmark import SAFETY_TIMEOUT, run_bench
    from convguard.kit.server import start_server

    tty = _isatty(err)

    def status(message: str) -> None:
        if tty:
            err.write(f"\r\033[K{message[:150]}")
            err.flush()

    try:
        with start_server(provider, dsn=dsn, allow_superuser=allow_superuser) as server:
            return run_bench(plans, server, sizes, advise_indexes=advise, progress=tty,
                             history_days=history_days, window_days=window_days, status=status,
                             timeout=timeout or SAFETY_TIMEOUT)
    finally:
        if tty:
            err.write("\r\033[K")
            err.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _print_error(error: ConvguardError, err: TextIO) -> None:
    from convguard._ci_log import format_error

    err.write(format_error(error))


# Output ------------------------------------------------------------------------------------------

def format_json(results: Sequence[BenchResult]) -> str:
    """One JSON object for one query, ``{"queries": [...]}`` for several."""
    documents = [result.as_dict() for result in results]
    payload: Any = documents[0] if len(documents) == 1 else {"queries": documents}
    return json.dumps(payload, indent=2, default=str) + "\n"


def format_text(results: Sequence[BenchResult]) -> str:
    return "\n".join(_text(result) for result in results)


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _text(result: BenchResult) -> str:
    largest = result.largest
    seed = largest.seed
    lines = [f"{result.query} ({result.driver})"]
    counts = ", ".join(f"{count:,} {label}" for label, count in seed.counts.items())
    lines.append(f"  data: {counts or f'{largest.size:,} {result.unit}'}"
                 + (f" {seed.scope}" if seed.scope else ""))
    lines.append(
        f"  range: the last {result.window_days} of {result.history_days} days of "
        f"{result.timeline} (about {min(1.0, result.window_days / result.history_days):.0%} of "
        f"the {result.dated})")
    lines.append(
        f"  seeding: {seed.rows:,} rows loaded at {seed.load_rows_per_s:,.0f} rows/s "
        f"({seed.load_seconds:.1f} s), keys and indexes {seed.index_seconds:.1f} s, "
        f"vacuum+analyze {seed.analyze_seconds:.1f} s")
    runs = " / ".join(_ms(run) for run in largest.timing.runs_ms)
    lines.append(f"  query: median {_ms(largest.query_ms)} (runs {runs}), "
                 f"{len(largest.timing.rows)} result rows")
    if result.budget_ms and result.goal_ms:
        verdict = "within" if largest.query_ms <= result.goal_ms else "OVER"
        lines.append(f"  budget: statement timeout {_ms(result.budget_ms)}; goal a quarter of it, "
                     f"{_ms(result.goal_ms)}: {verdict}")
    if len(result.sizes) > 1:
        lines.append("")
        lines.append(_size_table(result.sizes))
        if result.slope is not None:
            lines.append(f"  growth: log-log slope {result.slope:.2f} "
                         f"({_growth_word(result.slope)})")
    lines.append("")
    lines.append(f"  costliest plan nodes at {largest.size:,} {result.unit} (exclusive time, all "
                 "loops):")
    for node in largest.plan_top:
        estimate = ""
        if node.estimated_rows and node.rows and max(node.rows / node.estimated_rows,
                                                     node.estimated_rows / node.rows) >= 10:
            estimate = f", estimated {node.estimated_rows:,.0f}"
        lines.append(f"    {_ms(node.exclusive_ms):>10} {node.share:6.1%}  {node.label()}"
                     f"  (rows {node.rows:,.0f}{estimate} x {node.loops:,} loops)")
        if node.detail:
            lines.append(f"{'':23}{node.detail}")
    if result.advice:
        lines.append("")
        helpful = result.helpful_advice
        if helpful:
            lines.append("  index advice (measured on the bench's throwaway database, then "
                         "dropped):")
            for advice in helpful:
                on_top = (f" [with {len(advice.given)} kept index"
                          f"{'es' if len(advice.given) > 1 else ''} in place]"
                          if advice.given else "")
                lines.append(f"    {advice.gain_ratio:6.1%} faster ({_ms(advice.before_ms)} -> "
                             f"{_ms(advice.after_ms)}, faster in {advice.wins} of "
                             f"{advice.pairs} paired runs){on_top}: {advice.index_sql};")
            if result.combined is not None:
                combined = result.combined
                verdict = ""
                if result.goal_ms:
                    verdict = (", within the goal" if combined.after_ms <= result.goal_ms
                               else ", still over the goal")
                lines.append(f"    the {combined.index_sql.count(';') + 1} kept together: "
                             f"{_ms(combined.before_ms)} -> {_ms(combined.after_ms)} "
                             f"({combined.gain_ratio:.1%} faster{verdict}):")
                for index_sql in combined.index_sql.split(";\n"):
                    lines.append(f"      {index_sql};")
        else:
            lines.append(f"  index advice: none of {len(result.advice)} candidate indexes cut the "
                         f"median by more than {MIN_GAIN_RATIO:.0%}")
        shown: set[tuple[str, str]] = set()
        for advice in (advice for advice in result.advice if not advice.helps):
            verdict = _verdict(advice)
            if not advice.used and (advice.index_sql, verdict) in shown:
                continue  # an unused index is unused again in a later round: say it once
            shown.add((advice.index_sql, verdict))
            on_top = f" [with {len(advice.given)} kept]" if advice.given else ""
            lines.append(f"    tried, {verdict}{on_top}: {advice.index_sql}")
    return "\n".join(lines) + "\n"


def _verdict(advice: IndexAdvice) -> str:
    if not advice.used:
        return "not used by the plan"
    if advice.gain_ratio < 0:
        return f"{-advice.gain_ratio:.1%} slower ({_ms(advice.before_ms)} -> {_ms(advice.after_ms)})"
    return (f"{advice.gain_ratio:.1%} faster in {advice.wins} of {advice.pairs} runs "
            f"({_ms(advice.before_ms)} -> {_ms(advice.after_ms)}), not a clear gain")


def _size_table(sizes: Sequence[SizeResult]) -> str:
    """One row per size: the size in its unit, then the generator's other counts."""
    unit = sizes[0].unit
    labels = [label for label in sizes[0].seed.counts if label != unit]
    header = "  " + " ".join(f"{label:>12}" for label in (unit, *labels)) \
        + f" {'seed rows/s':>12} {'query':>12} {'x prev':>7}"
    rows = [header]
    previous: SizeResult | None = None
    for size in sizes:
        ratio = f"{size.query_ms / previous.query_ms:7.1f}" if previous and previous.query_ms \
            else f"{'':7}"
        counts = " ".join(f"{size.seed.counts.get(label, 0):>12,}" for label in labels)
        rows.append(f"  {size.size:>12,} {counts}{' ' if counts else ''}"
                    f"{size.seed.load_rows_per_s:>12,.0f} {_ms(size.query_ms):>12} {ratio}")
        previous = size
    return "\n".join(rows)


def _growth_word(slope: float) -> str:
    if slope < 0.8:
        return "sublinear"
    if slope <= 1.2:
        return "about linear"
    if slope <= 1.6:
        return "superlinear"
    return "quadratic or worse"
