"""CG004: every interpolation of a profile-bound query must play a role of the profile."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from convguard._errors import BindingError
from convguard.rules._base import Finding, RuleContext, rule

if TYPE_CHECKING:
    from convguard._config import Config, QueryConfig
    from convguard._lineage import QueryLineage
    from convguard._model import ExtractedQuery, Placeholder
    from convguard._parse import ParsedQuery
    from convguard.profiles import Profile


def bind_roles(profile: Profile, query: ExtractedQuery, query_config: QueryConfig
               ) -> tuple[dict[int, str], list[tuple[Placeholder, str]]]:
    """Roles by ``$n`` and the placeholders that map to none (with why)."""
    from convguard.profiles import resolve_role

    roles: dict[int, str] = {}
    problems: list[tuple[Placeholder, str]] = []
    for placeholder in query.placeholders:
        try:
            role = resolve_role(profile, placeholder.expression, query_config.params)
        except BindingError as error:
            problems.append((placeholder, error.message))
            continue
        if role is None:
            problems.append((placeholder, ""))
        else:
            roles[placeholder.index] = role.name
    return roles, problems


def config_location(config: Config, query_config: QueryConfig) -> str:
    if config.source is None:
        return "convguard.toml"
    name = os.path.basename(config.source)
    where = f"{name}:{query_config.line}" if query_config.line else name
    return where


@rule("CG004", "unmapped-interpolation", profile="*", needs_tree=False)
def unmapped_interpolation(query: ExtractedQuery, parsed: ParsedQuery, lineage: QueryLineage,
                           context: RuleContext) -> Iterator[Finding]:
    """An interpolation of a profile-bound query plays no role of the profile.

    ## What it does
    For a query bound to a profile by a `[[query]]` entry, maps every interpolation to a role of
    the profile: by `[query.params]` first, else by its name (`from`, `to`,
    `attributionWindowDays`, `Prisma.join(scope.clientIds)`...). An interpolation that maps to
    nothing is reported with the configuration line that fixes it.

    ## Why is this bad?
    The profile's rules reason about roles (`from`, `to`, the attribution window...): a value
    whose role is unknown cannot be checked, and the conformance kit cannot bind it.

    ## Example
    ```sql
    SELECT d.id FROM "AIDraft" d WHERE d."createdAt" >= :since_when
    ```

    ## Use instead
    ```sql
    SELECT d.id FROM "AIDraft" d WHERE d."createdAt" >= :from
    ```
    """
    binding = context.binding
    if binding is None:
        return
    problems = binding.unmapped
    location = config_location(binding.config, binding.query_config)
    known = ", ".join(role.name for role in binding.profile.roles)
    reported: set[str] = set()
    for placeholder, reason in problems:
        expression = placeholder.expression.strip()
        if expression in reported:
            continue
        reported.add(expression)
        key = expression.lstrip(":") if expression.startswith(":") else expression
        shown = expression if expression.startswith(":") else "${" + expression + "}"
        message = (f"interpolation {shown} maps to no role of profile {binding.profile.name!r}"
                   if not reason else f"interpolation {shown}: {reason}")
        fix = (f'add "{key}" = "<role>" under [query.params] ({location}); roles: {known}')
        yield Finding(0, 0, message, fix, host_span=placeholder.host_span)


__all__ = ["bind_roles", "config_location", "unmapped_interpolation"]
