"""Conformance reports: what failed, where, and by how much - as text or JSON.

A count failure prints the expected and actual counts of every row (bucket) that is not all zero,
marking each differing cell with ``*``; a row failure (a query without a profile) prints the
expected (``-``) and actual (``+``) rows that differ, missing or unexpected rows included, with
the same mark; a PostgreSQL failure prints its SQLSTATE and message.
Both name the scenario's file and the query's ``file:line``.

Example:
    >>> from convguard.kit.conformance.runner import ScenarioResult
    >>> cells = {"sms-EDITED": {"booked": 1, "pending": 0}, "sms-APPROVED": {"booked": 0, "pending": 0}}
    >>> failing = ScenarioResult(
    ...     query="q.sql:10", query_location="q.sql:10", scenario="s", scenario_path="s.yaml",
    ...     passed=False, check="counts", diff=(("sms-EDITED", "booked", 1, 0),),
    ...     row_label="bucket", expected_cells=cells,
    ...     actual_cells={**cells, "sms-EDITED": {"booked": 0, "pending": 0}})
    >>> print(format_result(failing))
    FAIL q.sql:10 with s.yaml (s) [node-postgres]
      counts differ from the scenario's expected counts (* = differs; exp = expected, act = actual):
      bucket      booked       pending
                  exp  act     exp  act
      sms-EDITED    1    0 *     0    0
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from convguard._ci_log import safe_path, safe_text
from convguard.kit.conformance.binding import sends_untyped
from convguard.kit.conformance.runner import ScenarioResult
from convguard.kit.scenario.rows import plain_value

#: Extra advice per SQLSTATE, added to PostgreSQL's own hint.
SQLSTATE_HINTS = {
    "25006": "the query tried to write; a conformance query must only read",
    "57014": "the query ran longer than its statement timeout ({timeout})",
    "57P01": "the query's own backend was terminated (pg_terminate_backend(pg_backend_pid())?); "
             "the other queries ran on a fresh connection",
}
#: Errors a typed driver hides and untyped text parameters (Prisma's adapter, node-postgres)
#: expose.
UNTYPED_SQLSTATES = {"42883", "42804", "42725", "42P18", "22007", "22008", "22P02"}
UNTYPED_HINT = ("{sender} sends every parameter as untyped text: PostgreSQL infers its type "
                "from the context; cast it (${{to}}{cast}) or compute the value in "
                "JavaScript and pass it as one parameter")


def _shown_rows(result: ScenarioResult) -> list[str]:
    actual = result.actual_cells or {}
    differing = {row for row, *_ in result.diff}
    rows = []
    for row, counts in result.expected_cells.items():
        values = list(counts.values()) + list(actual.get(row, {}).values())
        if row in differing or any(values):
            rows.append(row)
    return rows


def bucket_table(result: ScenarioResult) -> list[str]:
    """Expected and actual counts of the rows that are not all zero; ``*`` marks a difference."""
    expected = result.expected_cells
    actual = result.actual_cells or {}
    fields: list[str] = []
    for counts in expected.values():
        fields.extend(name for name in counts if name not in fields)
    rows = _shown_rows(result)
    differing = {(row, name) for row, name, *_ in result.diff}
    label_width = max([len(result.row_label), *map(len, rows)]) + 2
    widths = [max(len(name), 11) + 2 for name in fields]
    header = result.row_label.ljust(label_width) + "".join(
        name.ljust(width) for name, width in zip(fields, widths))
    sub = " " * label_width + "".join("exp  act".ljust(width) for width in widths)
    lines = [header.rstrip(), sub.rstrip()]
    for row in rows:
        line = row.ljust(label_width)
        for name, width in zip(fields, widths):
            mark = "*" if (row, name) in differing else ""
            cell = f"{expected.get(row, {}).get(name, 0)!s:>3}  {actual.get(row, {}).get(name, 0)!s:>3}"
            line += f"{cell} {mark}".ljust(width)
        lines.append(line.rstrip())
    if not rows:
        lines.append("(every count is zero)")
    return lines


def _sqlstate_hint(result: ScenarioResult) -> str | None:
    if result.sqlstate in SQLSTATE_HINTS:
        return SQLSTATE_HINTS[result.sqlstate].format(timeout=result.statement_timeout)
    if result.sqlstate in UNTYPED_SQLSTATES and sends_untyped(result.driver):
        return UNTYPED_HINT.format(
            sender="Prisma's adapter" if result.driver == "prisma" else "node-postgres",
            cast="::timestamp" if result.driver == "prisma" else "::timestamptz")
    return None


def combination_label(result: ScenarioResult) -> str:
    """`` (combination 2 of 3)`` for a scenario that runs another combination than the first of
    its call site's SQL fragments; empty for the first (the default).

    Example:
        >>> from convguard.kit.conformance.runner import ScenarioResult
        >>> one = dict(scenario="s", scenario_path="s.yaml", passed=True, check="passed")
        >>> combination_label(ScenarioResult("a.ts::f", "a.ts:3", combination=2, combinations=3,
        ...                                  **one))
        ' (combination 2 of 3)'
        >>> combination_label(ScenarioResult("a.ts::f", "a.ts:3", combinations=3, **one))
        ''
    """
    if result.combination == 1:
        return ""
    return f" (combination {result.combination} of {result.combinations})"


def format_result(result: ScenarioResult) -> str:
    """One result; a failure with its table or its SQLSTATE."""
    status = "PASS" if result.passed else "FAIL"
    head = (f"{status} {safe_path(result.query_location)}{combination_label(result)} with "
            f"{safe_path(result.scenario_path)} ({safe_text(result.scenario)}) [{result.driver}]")
    if result.passed:
        return head
    lines = [head]
    if result.check == "sqlstate":
        lines.append(f"  PostgreSQL rejected the query: SQLSTATE {result.sqlstate}: "
                     f"{safe_text(str(result.error))}")
        hint = _sqlstate_hint(result)
        if hint:
            lines.append(f"  hint: {hint}")
        return "\n".join(lines)
    if result.comparison is not None:  # expected rows of a query without a profile
        lines.extend("  " + line for line in result.comparison.format_lines())
        return "\n".join(lines)
    against = "the scenario's expected counts" if result.expected_source == "scenario" \
        else "the profile oracle's counts (the scenario has no expected)"
    if result.problems:
        lines.append("  the query returned rows the profile cannot read:")
        lines.extend(f"    - {problem}" for problem in result.problems)
    if result.diff:
        lines.append(f"  counts differ from {against} (* = differs; exp = expected, act = actual):")
    else:
        lines.append(f"  counts ({against}; exp = expected, act = actual):")
    lines.extend("  " + line for line in bucket_table(result))
    return "\n".join(lines)


def summary(results: Sequence[ScenarioResult], elapsed_s: float | None = None) -> str:
    """``convguard test: 68 passed, 0 failed (2 queries x 34 scenarios, node-postgres, 1.2 s)``."""
    failed = sum(not r.passed for r in results)
    queries = len({r.query for r in results})
    scenarios = len({r.scenario_path for r in results})
    drivers = ", ".join(sorted({r.driver for r in results}))
    extra = f", {elapsed_s:.1f} s" if elapsed_s is not None else ""
    verdict = "conforms" if failed == 0 else "does not conform"
    # "x" only when every query ran every scenario; with scenarios of its own per query, a
    # product overstated the runs (2 queries x 5 scenarios for 5 runs)
    times = "x" if len({(r.query, r.scenario_path) for r in results}) == queries * scenarios \
        else "over"
    return (f"convguard test: {len(results) - failed} passed, {failed} failed "
            f"({queries} quer{'y' if queries == 1 else 'ies'} {times} {scenarios} scenario"
            f"{'' if scenarios == 1 else 's'}, {drivers or 'no driver'}{extra}): {verdict}")


def drivers_block(results: Sequence[ScenarioResult]) -> str:
    """Which driver bound each query (``auto`` picks one per source file).

    Example:
        >>> from convguard.kit.conformance.runner import ScenarioResult
        >>> one = dict(scenario="s", scenario_path="s.yaml", passed=True, check="passed")
        >>> print(drivers_block([ScenarioResult("a.ts::f", "a.ts:3", driver="prisma", **one),
        ...                      ScenarioResult("q.sql:1", "q.sql:1", **one)]))
        bound by:
          a.ts:3   prisma (Prisma 7 with @prisma/adapter-pg: a Date as UTC text, no offset)
          q.sql:1  node-postgres (pg: a Date as local time with its offset)
    """
    seen: dict[str, str] = {}
    for result in results:
        seen.setdefault(result.query_location, result.driver)
    width = max(map(len, seen), default=0)
    lines = ["bound by:"]
    for location, driver in seen.items():
        lines.append(f"  {location.ljust(width)}  {driver} ({DRIVER_NOTES.get(driver, '')})"
                     .replace(" ()", ""))
    return "\n".join(lines)


#: One line per driver for the report: what it sends for a ``Date``.
DRIVER_NOTES = {
    "prisma": "Prisma 7 with @prisma/adapter-pg: a Date as UTC text, no offset",
    "node-postgres": "pg: a Date as local time with its offset",
    "typed": "psycopg's typed binding",
}


def format_text(results: Sequence[ScenarioResult], *, elapsed_s: float | None = None,
                verbose: bool = False) -> str:
    """Failures (and passes when ``verbose``), which driver bound each query, the summary."""
    blocks = [format_result(r) for r in results if verbose or not r.passed]
    if results:
        blocks.append(drivers_block(results))
    blocks.append(summary(results, elapsed_s))
    return "\n\n".join(blocks) + "\n"


def _plain(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return value


def result_dict(result: ScenarioResult) -> dict[str, Any]:
    """A JSON-ready result: query, scenario, check, SQLSTATE and the bucket diff."""
    data: dict[str, Any] = {
        "query": result.query,
        "query_location": result.query_location,
        "scenario": result.scenario,
        "scenario_path": result.scenario_path,
        "driver": result.driver,
        "passed": result.passed,
        "check": result.check,
        "expected_source": result.expected_source,
        "elapsed_ms": round(result.elapsed_ms, 3),
    }
    if result.combination != 1:
        data["combination"] = result.combination
        data["combinations"] = result.combinations
    if not result.passed:
        data["sqlstate"] = result.sqlstate
        data["error"] = result.error
        data["hint"] = _sqlstate_hint(result)
        data["diff"] = [{result.row_label: row, "field": name, "expected": plain_value(expected),
                         "actual": plain_value(actual)}
                        for row, name, expected, actual in result.diff]
        data["problems"] = list(result.problems)
        if result.comparison is not None:
            data["rows"] = result.comparison.as_dict()
            data["expected"] = _plain(result.expected)
            data["actual"] = {"columns": list(getattr(result.actual, "columns", ())),
                              "rows": [[plain_value(v) for v in row] for row in result.actual]} \
                if result.actual is not None else None
        else:
            data["expected"] = _plain(result.expected)
            data["actual"] = _plain(result.actual)
    return data


def format_json(results: Sequence[ScenarioResult], *, elapsed_s: float | None = None) -> str:
    failures = [result_dict(r) for r in results if not r.passed]
    document = {
        "conforms": not failures,
        "summary": {"passed": len(results) - len(failures), "failed": len(failures),
                    "total": len(results),
                    "elapsed_s": round(elapsed_s, 3) if elapsed_s is not None else None},
        "failures": failures,
        "results": [result_dict(r) for r in results],
    }
    return json.dumps(document, indent=2, default=str) + "\n"


def error_json(error: Any) -> str:
    """The JSON document of a run that could not happen (exit 2): ``error`` is the first error
    and ``errors`` lists every one (several when many scenario files cannot be used), each with
    ``type``, ``message``, ``path``, ``line``, ``hint`` and ``sqlstate``.

    Example:
        >>> from convguard import ScenarioError, ScenarioErrors
        >>> document = json.loads(error_json(ScenarioErrors([
        ...     ScenarioError("the file is empty", path="a.yaml", line=1, hint="write a name"),
        ...     ScenarioError("unknown key 'x'", path="b.yaml", line=3)])))
        >>> document["error"]["path"], [(e["path"], e["line"]) for e in document["errors"]]
        ('a.yaml', [('a.yaml', 1), ('b.yaml', 3)])
    """
    errors = [_error_dict(each) for each in getattr(error, "errors", None) or (error,)]
    return json.dumps({"conforms": None, "error": errors[0], "errors": errors},
                      indent=2) + "\n"


def _error_dict(error: Any) -> dict[str, Any]:
    return {"type": type(error).__name__, "message": getattr(error, "message", str(error)),
            "path": getattr(error, "path", None), "line": getattr(error, "line", None),
            "hint": getattr(error, "hint", None), "sqlstate": getattr(error, "sqlstate", None)}


__all__ = ["bucket_table", "combination_label", "error_json", "format_json", "format_result", "format_text",
           "result_dict", "summary"]
