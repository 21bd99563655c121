"""The generated checks of ``convguard test``: differential examples, then metamorphic relations.

:class:`GeneratedChecks` runs after the scenarios, on the same server: generated datasets against
the profile's oracle (:mod:`convguard.kit.property.differential`), then the relations
(:mod:`convguard.kit.property.metamorphic`). It sits above both so that neither imports the
other's caller.

Example:
    >>> checks = GeneratedChecks([], examples=0)
    >>> checks.passed, checks.relation_sources
    (True, 0)
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from convguard._errors import ScenarioError
from convguard.kit.conformance.runner import QueryPlan, ScenarioResult
from convguard.kit.property.differential import (
    DEFAULT_EXAMPLES,
    DEFAULT_FAILURES_DIR,
    GeneratedResult,
    run_generated,
)
from convguard.kit.property.metamorphic import default_sources, run_relations
from convguard.kit.property import documents

if TYPE_CHECKING:
    from convguard.kit.conformance.runner import Workbench

HYPOTHESIS_MISSING = ("generated examples are skipped because hypothesis is not installed "
                      "(pip install 'convguard[property]')")


def generated_dict(result: GeneratedResult) -> dict[str, Any]:
    data = {field.name: getattr(result, field.name) for field in dataclasses.fields(result)
            if field.name != "result"}
    data["elapsed_ms"] = round(result.elapsed_ms, 3)
    data["example_ms"] = round(result.example_ms, 3)
    data["diff"] = [{"bucket": row, "field": name, "expected": expected, "actual": actual}
                    for row, name, expected, actual in (result.result.diff if result.result
                                                        else ())]
    return data


class GeneratedChecks:
    """Generated examples and metamorphic relations for ``convguard test``, after the scenarios.

    Call it with the workbench and the scenario results (``run_plans(..., after=checks)``); then
    read :attr:`passed`, :meth:`format_text` and :meth:`merge_json`. A plan that already fails a
    scenario is not run again on generated data: its scenario failures say more, and a broken
    query would only write regression files nobody asked for.
    """

    def __init__(self, plans: Sequence[QueryPlan], *, examples: int = DEFAULT_EXAMPLES,
                 seed: int = 0, failures_dir: str = DEFAULT_FAILURES_DIR,
                 relation_sources: int | None = None) -> None:
        self.plans = list(plans)
        self.examples = examples
        self.seed = seed
        self.failures_dir = failures_dir
        self.relation_sources = (default_sources(examples) if relation_sources is None
                                 else relation_sources)
        self.generated: list[GeneratedResult] = []
        self.relations: list[Any] = []
        self.skipped: list[str] = []
        self.elapsed_s = 0.0
        self.unavailable = False

    def __call__(self, workbench: Workbench, results: Sequence[ScenarioResult]) -> None:
        started = time.perf_counter()
        if self.examples <= 0:
            return
        if not documents.hypothesis_available():
            self.unavailable = True
            return
        failing = {r.query_location + r.driver for r in results if not r.passed}
        unique: dict[tuple[str, str], QueryPlan] = {}
        for plan in self.plans:
            unique.setdefault((plan.location, plan.driver), plan)
        runnable = []
        for plan in unique.values():
            if plan.location + plan.driver in failing:
                self.skipped.append(f"{plan.location}: fails its scenarios")
            elif plan.kit.profile is None:
                self.skipped.append(f"{plan.location}: no profile (generated datasets and "
                                    "relations need a profile's data generator)")
            elif plan.kit.profile.strategies is None:
                self.skipped.append(f"{plan.location}: profile {plan.kit.profile.name!r} has no "
                                    "dataset strategies")
            else:
                runnable.append(plan)
        if runnable:
            try:
                self.generated = run_generated(runnable, workbench, examples=self.examples,
                                               seed=self.seed, failures_dir=self.failures_dir)
                if self.relation_sources > 0:
                    self.relations = run_relations(runnable, workbench,
                                                   examples=self.relation_sources,
                                                   seed=self.seed,
                                                   failures_dir=self.failures_dir)
            except ScenarioError as error:  # e.g. a configured schema with more NOT NULL columns
                self.generated, self.relations = [], []
                self.skipped.append(f"the generated datasets do not fit the schema: "
                                    f"{error.message}")
        self.elapsed_s = time.perf_counter() - started

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.generated) and all(r.passed for r in self.relations)

    def summary(self) -> str:
        if self.unavailable:
            return f"convguard test: {HYPOTHESIS_MISSING}"
        differ = sum(not r.passed for r in self.generated)
        violated = sum(not r.passed for r in self.relations)
        queries = len(self.generated)
        names = len({r.relation for r in self.relations})
        agree = queries - differ
        sources = self.relation_sources
        text = (f"convguard test: generated {self.examples} datasets x {queries} "
                f"quer{'y' if queries == 1 else 'ies'}: {agree} quer{'y agrees' if agree == 1 else 'ies agree'} "
                f"with the oracle, {differ} differ; {names} relations x {sources} "
                f"source{'' if sources == 1 else 's'}: {len(self.relations) - violated} hold, "
                f"{violated} violated (seed {self.seed}, {self.elapsed_s:.1f} s): "
                f"{'conforms' if self.passed else 'does not conform'}")
        if self.skipped:
            text += "\n  not generated: " + "; ".join(self.skipped)
        return text

    def format_text(self) -> str:
        """Failures (with their written files and bucket diffs), then the summary line."""
        from convguard.kit.conformance.report import bucket_table, format_result

        blocks = []
        for result in self.generated:
            if result.passed:
                continue
            lines = [f"FAIL generated {result.query_location} [{result.driver}]: {result.message}",
                     f"  written: {result.scenario_path}"]
            if result.result is not None and not result.result.passed:
                lines.extend("  " + line for line in format_result(result.result).splitlines()[1:])
            blocks.append("\n".join(lines))
        for relation in self.relations:
            if relation.passed:
                continue
            lines = [(f"FAIL relation {relation.relation} on {relation.query_location} "
                      f"[{relation.driver}]: {relation.message}")]
            if relation.table is not None:
                lines.append(f"  exp = {relation.left}, act = {relation.right} (* = differs):")
                lines.extend("  " + line for line in bucket_table(relation.table))
            if relation.scenario_path:
                lines.append(f"  written: {relation.scenario_path}")
            blocks.append("\n".join(lines))
        blocks.append(self.summary())
        return "\n" + "\n\n".join(blocks) + "\n"

    def as_dict(self) -> dict[str, Any]:
        if self.unavailable:
            return {"skipped": HYPOTHESIS_MISSING}
        return {
            "examples": self.examples, "seed": self.seed, "passed": self.passed,
            "relation_sources": self.relation_sources, "elapsed_s": round(self.elapsed_s, 3),
            "not_generated": list(self.skipped),
            "queries": [generated_dict(r) for r in self.generated],
            "relations": [r.as_dict() for r in self.relations],
        }

    def merge_json(self, text: str) -> str:
        """``convguard test --format json``'s document with a ``generated`` member."""
        document = json.loads(text)
        document["generated"] = self.as_dict()
        if not self.passed and document.get("conforms"):
            document["conforms"] = False
        return json.dumps(document, indent=2, default=str) + "\n"


__all__ = ["HYPOTHESIS_MISSING", "GeneratedChecks", "generated_dict"]
