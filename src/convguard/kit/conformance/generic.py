"""Queries with no profile: parameters named by their interpolation, judged by expected rows.

A query without a ``profile`` has no roles and no oracle. Its parameters are named by what they
interpolate (``${from}`` -> ``from``, ``${input.from}`` -> ``input.from``,
``${Prisma.join(tenantIds)}`` -> ``tenantIds``, ``:ids`` -> ``ids``, ``$1`` -> ``$1``), or by the
name ``[query.params]`` gives the interpolation text; a scenario must give every one. Values bind
as the application passes them: an unquoted YAML timestamp (or ``!date "..."``, or
``{"$date": "..."}`` in JSON) is a JavaScript ``Date``, a quoted string a string, numbers,
booleans, null and lists as themselves. The scenario's ``expected`` rows judge the result
(:mod:`convguard.kit.scenario.rows`).

Example:
    >>> parameter_name("Prisma.join(tenantIds)"), parameter_name("input.from"), parameter_name(":to")
    ('tenantIds', 'input.from', 'to')
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from convguard._errors import BindingError, ScenarioError
from convguard.kit.scenario.rows import DateText, date_object

if TYPE_CHECKING:
    from convguard._model import ExtractedQuery
    from convguard._schema import Schema
    from convguard.kit.conformance.profile_kit import ProfileKit

_JOIN_CALL = re.compile(r"^Prisma\s*\.\s*join\s*\((.*)\)\s*$", re.DOTALL)


# Parameters -------------------------------------------------------------------------------------

def parameter_name(expression: str) -> str:
    """The name a scenario gives an interpolation's value (without ``[query.params]``).

    The interpolation's own text, whitespace removed; ``Prisma.join(x[, separator])`` is ``x``
    (a list); a ``.sql`` file's ``:name`` is ``name``.

    Example:
        >>> parameter_name("Prisma.join( scope.tenantIds , ',')"), parameter_name("$2")
        ('scope.tenantIds', '$2')
    """
    text = expression.strip()
    join = _JOIN_CALL.match(text)
    if join:
        text = join.group(1).split(",")[0]
    text = re.sub(r"\s+", "", text)
    return text[1:] if text.startswith(":") else text


def configured_name(expression: str, renames: Mapping[str, str]) -> str:
    """The parameter's name: ``[query.params]`` (keyed by the interpolation text), else its own.

    Example:
        >>> configured_name("input.from", {"input.from": "from"}), configured_name("to", {})
        ('from', 'to')
    """
    text = expression.strip()
    return renames.get(text) or renames.get(text.lstrip(":")) or parameter_name(text)


@dataclass(frozen=True)
class QueryParameter:
    """One named parameter of a query: where it is interpolated and whether it is a list."""

    name: str
    expression: str
    is_list: bool
    path: str
    line: int

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


def query_parameters(query: ExtractedQuery, renames: Mapping[str, str]) -> tuple[QueryParameter,
                                                                                  ...]:
    """The query's parameters by name, in order of first interpolation (a name used twice once).

    Example:
        >>> from convguard.extract import extract_source
        >>> q = extract_source("q.sql", "SELECT 1 WHERE a IN (:ids) AND b < :to AND c < :to"
        ...                    ).queries[0]
        >>> [(p.name, p.is_list) for p in query_parameters(q, {})]
        [('ids', False), ('to', False)]
    """
    found: dict[str, QueryParameter] = {}
    for placeholder in sorted(query.placeholders, key=lambda p: p.index):
        name = configured_name(placeholder.expression, renames)
        if name not in found:
            found[name] = QueryParameter(
                name, placeholder.expression.strip(), placeholder.kind == "list",
                placeholder.host_span.path, placeholder.host_span.start_position.line)
    return tuple(found.values())


def js_parameter(value: Any, what: str) -> Any:
    """A scenario value as the JavaScript value the application passes (see the module doc).

    Example:
        >>> js_parameter(DateText("2026-01-01T00:00:00Z"), "from")
        datetime.datetime(2026, 1, 1, 0, 0)
        >>> js_parameter({"$date": "2026-01-01T05:00:00+05:00"}, "from")
        datetime.datetime(2026, 1, 1, 0, 0)
        >>> js_parameter("2026-01-01T00:00:00Z", "label"), js_parameter([1, "a"], "xs")
        ('2026-01-01T00:00:00Z', [1, 'a'])
    """
    from convguard._dataset import parse_timestamp

    text = value if isinstance(value, DateText) else date_object(value)
    if text is not None:
        try:
            return parse_timestamp(text)
        except ValueError as error:
            raise BindingError(f"{what}: {error}",
                               hint='write an ISO 8601 timestamp, e.g. 2026-01-10T09:30:00Z') \
                from None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (list, tuple)):
        return [js_parameter(item, what) for item in value]
    if isinstance(value, Mapping):
        return {key: js_parameter(item, what) for key, item in value.items()}
    return value


def check_scenario_params(parameters: Sequence[QueryParameter], query_label: str,
                          ) -> Callable[[Mapping[str, Any]], None]:
    """The scenario check: every parameter of the query is given, a list one as a list."""

    def check(params: Mapping[str, Any]) -> None:
        for parameter in parameters:
            if parameter.name not in params:
                close = difflib.get_close_matches(parameter.name, [str(n) for n in params], n=1)
                raise ScenarioError(
                    f"parameter {parameter.name!r} is not given (the query {query_label} "
                    f"interpolates ${{{parameter.expression}}} at {parameter.location})",
                    hint=(f"params has {close[0]!r}: did you mean {parameter.name!r}? " if close
                          else "") +
                         f"add {parameter.name}: <value> under params (every parameter must be "
                         "given; [query.params] in the configuration may rename it)")
            value = params[parameter.name]
            if parameter.is_list and not isinstance(value, list):
                raise ScenarioError(
                    f"parameter {parameter.name!r} is a list (Prisma.join), not {value!r}",
                    hint=f"write {parameter.name}: [{value if value is not None else '...'}]")
            if parameter.is_list and not value:
                raise ScenarioError(
                    f"parameter {parameter.name!r} is an empty list; Prisma.join needs at "
                    "least one value", hint="give at least one value")
            try:
                js_parameter(value, parameter.name)
            except BindingError as error:
                raise ScenarioError(error.message, hint=error.hint) from None

    return check


def bound_values(parameters: Sequence[QueryParameter],
                 params: Mapping[str, Any]) -> dict[str, Any]:
    """Interpolation text -> JavaScript value, for :func:`convguard.kit.conformance.binding.bind_query`."""
    values: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.name not in params:
            raise BindingError(f"no value for parameter {parameter.name!r}",
                               path=parameter.path, line=parameter.line,
                               hint=f"give {parameter.name} a value")
        values[parameter.expression] = js_parameter(params[parameter.name], parameter.name)
    return values


# The generic kit ------------------------------------------------------------------------------

def generic_kit(query: ExtractedQuery, schema: Schema, renames: Mapping[str, str],
                *, read_columns: frozenset[tuple[str, str]] | None = None,
                combinations: int = 1,
                combination_kit: Callable[[int], ProfileKit] | None = None) -> ProfileKit:
    """The conformance hooks of a query without a profile: bind by name, judge by rows.

    ``combinations`` counts the call site's combinations of SQL fragments and
    ``combination_kit(N)`` is the kit of the ``N``-th: a scenario saying ``combination: N`` is
    validated by its contract (its parameters, the columns it reads).
    """
    from convguard.kit.conformance.profile_kit import ProfileKit
    from convguard.kit.scenario.files import ScenarioContract

    parameters = query_parameters(query, renames)

    def role_values(params: Mapping[str, Any], dataset: Any) -> Mapping[str, Any]:
        return bound_values(parameters, params)

    def oracle(dataset: Any, params: Mapping[str, Any]) -> Any:
        raise ScenarioError("a query without a profile has no oracle",
                            hint="give the scenario expected rows ([] for no row)")

    return ProfileKit(
        profile=None,
        schema=lambda: schema,
        contract=ScenarioContract(
            # Names the query does not use are allowed (a scenario may outlive a filter); a
            # misspelt one shows up as a parameter not given, with the close match in the hint.
            check_params=check_scenario_params(parameters, query.label),
            expected_as_rows=True,
            read_columns=read_columns,
            combinations=combinations,
            combination_contract=(lambda number: combination_kit(number).contract)
            if combination_kit is not None else None,
            call_site=query.label,
        ),
        role_values=role_values,
        normalise=lambda rows: rows,
        expected=lambda expected: expected,
        oracle=oracle,
        cells=lambda _result: {},
        row_label="row",
        builtin_scenarios=None,
    )


__all__ = [
    "QueryParameter", "bound_values", "check_scenario_params", "configured_name", "generic_kit",
    "js_parameter", "parameter_name", "query_parameters",
]
