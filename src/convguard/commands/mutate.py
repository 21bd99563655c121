"""``convguard mutate``: mutate the queries, run the whole suite on every mutant, report the score.

``convguard mutate [PATH[::FUNCTION]]... [--format text|json] [--min-score X] [--examples N]
[--seed N] [--operators CODE,...] [--scenarios DIR]... [--driver ...] [--dsn URL]
[--provider ...] [--config FILE] [-v]``

- No PATH: every ``[[query]]`` of the configuration that names a profile (as ``convguard test``).
- The suite is the query's own: static rules, its scenarios, the metamorphic relations on the
  scenario datasets, then ``--examples`` generated datasets (0 skips them) and the relations on
  generated sources. One server for everything; each scenario is seeded once for all mutants.
- Mutants recorded under ``[equivalent_mutants]`` (id -> reason) count as equivalent.
- Exit 0: ``score >= --min-score`` (default 1.0); 1: below it; 2: the run could not happen (no
  server, a bad scenario, the original query failing its own scenarios). Every scenario file
  is read first and each one that cannot be used is reported, as ``convguard test`` does.

Example:
    >>> import argparse, io
    >>> out = io.StringIO()
    >>> run_mutate_command(argparse.Namespace(paths=["/no/such.sql"], format="json"), out)
    2
    >>> '"error"' in out.getvalue()
    True
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from convguard._errors import ConvguardError


def _operators(value: Any) -> list[str] | None:
    if not value:
        return None
    if isinstance(value, str):
        value = [value]
    codes = [code.strip().upper() for item in value for code in str(item).split(",")]
    return [code for code in codes if code] or None


def run_mutate_command(args: Any, out: TextIO) -> int:
    """The ``convguard mutate`` command; returns the exit code (errors print, never raise)."""
    from convguard.commands.test import ScenarioCache, load_planned, plan_queries, server_choice
    from convguard.kit.mutation.mutate import (
        DEFAULT_EXAMPLES,
        DEFAULT_FAILURES_DIR,
        format_json,
        format_text,
        run_mutation,
    )
    from convguard.kit.conformance.runner import Workbench

    output_format = getattr(args, "format", None) or "text"
    min_score = getattr(args, "min_score", None)
    min_score = 1.0 if min_score is None else float(min_score)
    examples = getattr(args, "examples", None)
    examples = DEFAULT_EXAMPLES if examples is None else int(examples)
    try:
        planned = plan_queries(
            list(getattr(args, "paths", None) or ()), config_path=getattr(args, "config", None),
            driver=getattr(args, "driver", None),
            scenarios=list(getattr(args, "scenarios", None) or ()),
            profile=getattr(args, "profile", None))
        # loaded (and validated, every bad file reported) before any server starts
        scenarios = load_planned(planned, ScenarioCache())
        provider, dsn = server_choice(getattr(args, "dsn", None),
                                      getattr(args, "provider", None),
                                      planned[0].config if planned else None)
        with Workbench.start(provider, dsn=dsn, allow_superuser=bool(
                getattr(args, "allow_superuser", False))) as bench:
            result = run_mutation(
                planned, bench, scenarios=scenarios, examples=examples,
                seed=int(getattr(args, "seed", None) or 0),
                failures_dir=getattr(args, "failures_dir", None) or DEFAULT_FAILURES_DIR,
                operators=_operators(getattr(args, "operators", None)),
                exhaustive=bool(getattr(args, "exhaustive", False)))
    except ConvguardError as error:
        from convguard._ci_log import format_error

        sys.stderr.write(format_error(error))
        if output_format == "json":
            from convguard.kit.conformance.report import error_json

            out.write(error_json(error))
        return 2
    if output_format == "json":
        out.write(format_json(result))
    else:
        out.write(format_text(result, verbose=bool(getattr(args, "verbose", False))))
    return 0 if result.score >= min_score else 1


__all__ = ["run_mutate_command"]
