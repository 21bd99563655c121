"""Profiles: what a family of queries must compute, as plugins the core discovers.

A :class:`Profile` carries everything convguard knows about one family of queries: its roles (the
inputs), its result shape, its rules, its oracle, its packaged scenarios, its dataset strategies,
its metamorphic relations, its synthetic data for benchmarks and its typed ``[query.options]``.
The core never imports a profile (``tests/test_import_boundaries.py`` enforces it). Profiles are
found two ways, both explicit:

- the entry-point group ``convguard.profiles`` (as pytest finds ``pytest11`` plugins and sqlglot
  its dialects): in a package's ``pyproject.toml``,
  ``[project.entry-points."convguard.profiles"]`` ``my-metric = "my_package.profile:PROFILE"``;
  convguard's own booking-conversion profile registers this way;
- a reference in the configuration, ``profile = "package.module:PROFILE"`` (the module is
  imported from ``sys.path`` or the configuration's folder).

Everything heavy (oracle, strategies, relations, synthetic data) is a callable the profile's module
defines with its imports inside, so discovering profiles stays cheap enough for ``convguard
check``.

Example:
    >>> toy = Profile(name="toy", description="a toy", roles=(Role("to", "timestamp", "end"),))
    >>> toy.role("to").kind, toy.scenario_roles
    ('timestamp', ('to',))
    >>> resolve_role(toy, "opts.to", {}).name
    'to'
    >>> get_profile("booking-conversion").role("to").kind
    'timestamp'
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from convguard._errors import BindingError, ConfigError

if TYPE_CHECKING:
    from convguard._dataset import Dataset
    from convguard._schema import Schema
    from convguard.rules._base import Rule

RoleKind = Literal["timestamp", "integer", "text", "text_list"]
ENTRY_POINT_GROUP = "convguard.profiles"


@dataclass(frozen=True)
class Role:
    """A named input of a profile's query.

    ``aliases`` are interpolation names that map to this role without configuration (compared
    without case, underscores or a trailing ``s``); ``default`` and ``bounds`` are the caller's
    defaulting and clamping rules; a ``derived`` role is computed from the others (a scenario
    never gives it).
    """

    name: str
    kind: RoleKind
    description: str
    aliases: tuple[str, ...] = ()
    default: Any = None
    bounds: tuple[int, int] | None = None
    derived: bool = False


@dataclass(frozen=True)
class ResultShape:
    """What a profile's query returns, normalised: ``rows`` keyed rows of ``fields`` numbers.

    ``normalise`` turns the query's rows into a result, ``expected`` a scenario's ``expected``
    table into one, and ``cells`` a result into ``{row: {field: value}}`` for reports. A result is
    any object with ``differences(other) -> [(row, field, mine, theirs)]``, ``problems`` and
    ``as_dict()``.
    """

    rows: tuple[str, ...]
    fields: tuple[str, ...]
    normalise: Callable[[Sequence[tuple[Any, ...]]], Any]
    expected: Callable[[Mapping[str, Mapping[str, int]]], Any]
    cells: Callable[[Any], Mapping[str, Mapping[str, Any]]]
    label: str = "row"


@dataclass(frozen=True)
class Profile:
    """A family of queries: roles, result shape, rules, oracle and test material.

    - ``params`` checks and resolves a scenario's ``params`` (raises
      :class:`convguard.ScenarioError` for a bad one); ``role_values`` turns them and the scenario's dataset into the value
      of every role.
    - ``oracle(dataset, params)`` computes the expected result in plain Python.
    - ``schema()`` is the profile's own data model (for a query bound to it when the application
      names none; without one the configuration's ``schema`` is needed); ``scenarios`` a folder
      of packaged scenario files.
    - ``rules``: its rules (codes start with ``rule_prefix``, unique across profiles).
    - ``options``: a frozen dataclass, the typed ``[query.options]`` table of a query bound to it.
    - ``strategies()`` a Hypothesis strategy of scenario documents, ``relations()`` its
      metamorphic relations, ``synthetic()`` its data generator for ``convguard bench`` (a
      :class:`SyntheticData`: the bench's unit of size and the counts it reports come from it).
    - ``semantics``: the path of the document that defines what the query must compute.
    """

    name: str
    description: str
    roles: tuple[Role, ...]
    result: ResultShape | None = None
    params: Callable[[Mapping[str, Any]], Any] | None = None
    role_values: Callable[[Mapping[str, Any], Dataset], Mapping[str, Any]] | None = None
    oracle: Callable[[Dataset, Mapping[str, Any]], Any] | None = None
    schema: Callable[[], Schema] | None = None
    rules: tuple[Rule, ...] = ()
    rule_prefix: str = ""
    options: type | None = None
    scenarios: str | None = None
    strategies: Callable[[], Any] | None = None
    relations: Callable[[], Sequence[Any]] | None = None
    synthetic: Callable[[], SyntheticData] | None = None
    semantics: str | None = None

    def builtin_schema(self) -> Schema | None:
        """The profile's own data model, built once (None: the profile has none).

        Example:
            >>> get_profile("booking-conversion").builtin_schema().has_table("AIDraft")
            True
        """
        if self.schema is None:
            return None
        key = (self.name, id(self.schema))
        if key not in _BUILTIN_SCHEMAS:
            _BUILTIN_SCHEMAS[key] = self.schema()
        return _BUILTIN_SCHEMAS[key]

    @property
    def scenario_roles(self) -> tuple[str, ...]:
        """The roles a scenario's ``params`` may give (every role that is not derived)."""
        return tuple(role.name for role in self.roles if not role.derived)

    def role(self, name: str) -> Role:
        for role in self.roles:
            if role.name == name:
                return role
        known = ", ".join(role.name for role in self.roles)
        raise ConfigError(f"profile {self.name!r} has no role {name!r} (known: {known})")

    def has_role(self, name: str) -> bool:
        return any(role.name == name for role in self.roles)

    def parse_options(self, table: Mapping[str, Any], *, path: str | None = None,
                      line: int | None = None) -> Any:
        """The typed ``[query.options]`` of a query bound to this profile (defaults filled in).

        Example:
            >>> get_profile("booking-conversion").parse_options({}).anchor_cte
            'draft_send_time'
            >>> try:
            ...     get_profile("booking-conversion").parse_options({"anchor": "x"})
            ... except ConfigError as error:
            ...     print(error.message)
            profile 'booking-conversion' has no option 'anchor'
        """
        if self.options is None:
            if table:
                raise ConfigError(f"profile {self.name!r} takes no [query.options]", path=path,
                                  line=line, hint="remove the [query.options] table")
            return None
        fields = {f.name: f for f in dataclasses.fields(self.options)}
        for key, value in table.items():
            if key not in fields:
                raise ConfigError(f"profile {self.name!r} has no option {key!r}", path=path,
                                  line=line, hint=f"options: {', '.join(fields) or 'none'}")
            wanted = fields[key].type
            kind = {"str": str, "int": int, "bool": bool, "float": float}.get(
                wanted if isinstance(wanted, str) else getattr(wanted, "__name__", ""))
            if kind is not None and (not isinstance(value, kind)
                                     or (kind is int and isinstance(value, bool))):
                raise ConfigError(f"option {key!r} of profile {self.name!r} must be a "
                                  f"{kind.__name__}, not {type(value).__name__}", path=path,
                                  line=line)
        return self.options(**table)


_BUILTIN_SCHEMAS: dict[tuple[str, int], Schema] = {}


# Synthetic data for ``convguard bench`` ----------------------------------------------------------

class SeedProgress(Protocol):
    """The progress bar ``convguard bench`` hands a generator's ``seed``: ``start(steps)``, then
    ``advance()`` per step done, then ``finish()``."""

    def start(self, total: int) -> None: ...
    def advance(self) -> None: ...
    def finish(self) -> None: ...


class SeedReport(Protocol):
    """What a :class:`SyntheticData` generator seeded, and how fast.

    ``counts``: the rows the bench report shows, by a plural label, in the order shown, e.g.
    ``{"leads": 10000, "drafts": 25000, "messages": 50000}``; each label becomes a json key of
    the report (so not one of the report's own keys, such as ``query_ms``). ``rows``: every row
    seeded (tables ``counts`` leaves out too). ``scope``: what the report says after the counts
    (``"in 5 clients (all in scope)"``), or ``""``. The times are seconds: the inserts
    (``load_seconds``), keys and indexes, vacuum and analyze; ``seconds`` is their sum, and the
    rates are ``rows`` per second of the load and of the whole.
    """

    @property
    def counts(self) -> Mapping[str, int]: ...
    @property
    def scope(self) -> str: ...
    @property
    def rows(self) -> int: ...
    @property
    def load_seconds(self) -> float: ...
    @property
    def index_seconds(self) -> float: ...
    @property
    def analyze_seconds(self) -> float: ...
    @property
    def seconds(self) -> float: ...
    @property
    def rows_per_s(self) -> float: ...
    @property
    def load_rows_per_s(self) -> float: ...


class SyntheticData(Protocol):
    """A profile's data generator for ``convguard bench`` (what ``Profile.synthetic()`` returns).

    - ``unit``: the plural name of its unit of size (``"leads"``); ``--size``/``--sizes`` count
      it and the report says it (``seeding 10,000 leads``); ``default_size``: the size bench
      seeds when none is given.
    - ``timeline``: what the data's days are days of, ``dated``: the counted rows spread over
      them; the report reads ``range: the last 30 of 365 days of {timeline} (about 8% of the
      {dated})``.
    - ``spec(size, history_days=...)``: an object describing one size (it has ``history_days``);
      ``seed(connect, spec, progress=...)`` creates the tables in the empty database
      ``connect()`` opens (a psycopg connection, autocommit), fills them and returns a
      :class:`SeedReport`; ``params(spec, window_days=...)``: the scenario ``params`` of a run over
      the last ``window_days`` of the data.
    """

    @property
    def unit(self) -> str: ...
    @property
    def default_size(self) -> int: ...
    @property
    def timeline(self) -> str: ...
    @property
    def dated(self) -> str: ...

    def spec(self, size: int, *, history_days: int = ...) -> Any: ...

    def seed(self, connect: Callable[[], Any], spec: Any, *,
             progress: SeedProgress | None = None) -> SeedReport: ...

    def params(self, spec: Any, *, window_days: int) -> Mapping[str, Any]: ...


# Discovery ---------------------------------------------------------------------------------------

_DISCOVERED: dict[str, Profile] = {}
_REFERENCED: dict[str, Profile] = {}
_SCANNED: list[bool] = []


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name)


def _checked(value: Any, what: str) -> Profile:
    if not isinstance(value, Profile):
        raise ConfigError(f"{what} is not a convguard Profile (got {type(value).__name__})",
                          hint="point it at a convguard.profiles.Profile object")
    return value


def available_profiles() -> dict[str, Profile]:
    """Every profile registered under the ``convguard.profiles`` entry point, by name.

    A registration that cannot be loaded, is not a :class:`Profile`, is registered under another
    name than its own, or reuses another's rule codes is a ConfigError naming it.

    Example:
        >>> "booking-conversion" in available_profiles()
        True
    """
    if not _SCANNED:
        found: dict[str, Profile] = {}
        for point in _entry_points():
            what = f"entry point {point.name!r} = {point.value!r} (group {ENTRY_POINT_GROUP})"
            try:
                loaded = point.load()
            except Exception as error:  # noqa: BLE001 - any import failure of a plugin
                raise ConfigError(f"cannot load profile {what}: {type(error).__name__}: {error}",
                                  hint="reinstall the package that registers it, or uninstall "
                                       "it") from None
            profile = _checked(loaded, what)
            if profile.name != point.name:
                raise ConfigError(f"{what} holds profile {profile.name!r}",
                                  hint="register a profile under its own name")
            if point.name in found:
                continue  # the same distribution seen twice on sys.path
            found[point.name] = profile
        _check_rule_codes(found.values())
        _DISCOVERED.update(found)
        _SCANNED.append(True)
    return dict(_DISCOVERED)


def _check_rule_codes(profiles: Sequence[Profile] | Any) -> None:
    """Prefixes and uniqueness among profiles (:func:`convguard.rules.all_rules` checks them
    against convguard's own codes)."""
    owner: dict[str, str] = {}
    for profile in profiles:
        for rule in profile.rules:
            if profile.rule_prefix and not rule.code.startswith(profile.rule_prefix):
                raise ConfigError(f"rule {rule.code} of profile {profile.name!r} does not start "
                                  f"with the profile's prefix {profile.rule_prefix!r}")
            if rule.profile != profile.name:
                raise ConfigError(f"rule {rule.code} of profile {profile.name!r} is declared for "
                                  f"{rule.profile!r}", hint=f'use @rule(..., profile='
                                                            f'"{profile.name}")')
            if rule.code in owner:
                raise ConfigError(f"rule code {rule.code} of profile {profile.name!r} is "
                                  f"already used by {owner[rule.code]}",
                                  hint="give the profile's rules their own prefix")
            owner[rule.code] = profile.name


def load_reference(reference: str, *, base: str | None = None) -> Profile:
    """The profile a ``"package.module:ATTR"`` reference names (imported from ``sys.path``,
    else from ``base``, the configuration's folder)."""
    if reference in _REFERENCED:
        return _REFERENCED[reference]
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute or not re.fullmatch(r"[\w.]+", module_name + attribute):
        raise ConfigError(f"invalid profile reference {reference!r}",
                          hint='write profile = "package.module:PROFILE"')
    try:
        module = _import(module_name, base)
    except ImportError as error:
        raise ConfigError(f"cannot import the module of profile {reference!r}: {error}",
                          hint="install the package, or put the module under the "
                               "configuration's folder") from None
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise ConfigError(f"module {module_name!r} has no {attribute!r} (profile "
                              f"{reference!r})", hint="name the Profile object after the colon")
        value = getattr(value, part)
    profile = _checked(value, f"profile reference {reference!r}")
    _check_rule_codes([*available_profiles().values(), profile]
                      if profile.name not in available_profiles() else
                      list(available_profiles().values()))
    _REFERENCED[reference] = profile
    return profile


def _import(module_name: str, base: str | None) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        top = module_name.split(".")[0]
        if base is None or error.name not in {top, module_name} or not os.path.isdir(base):
            raise
    sys.path.insert(0, os.path.abspath(base))
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(os.path.abspath(base))


def get_profile(name: str, *, base: str | None = None) -> Profile:
    """A profile by registered name, or by ``"package.module:ATTR"`` reference.

    Example:
        >>> get_profile("convguard.profiles.booking_conversion:PROFILE").name
        'booking-conversion'
        >>> try:
        ...     get_profile("no_such_package.profile:PROFILE")
        ... except ConfigError as error:
        ...     print(error.message)
        cannot import the module of profile 'no_such_package.profile:PROFILE': \
No module named 'no_such_package'
    """
    if ":" in name:
        return load_reference(name, base=base)
    profiles = available_profiles()
    if name in profiles:
        return profiles[name]
    known = ", ".join(sorted(profiles)) or "none"
    raise ConfigError(f"unknown profile {name!r}",
                      hint=f"installed profiles: {known}; or profile = \"package.module:PROFILE\"")


# Roles of interpolations -------------------------------------------------------------------------

def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_MEMBER_TAIL = re.compile(r"([A-Za-z_$][\w$]*)\s*(?:\?\?.*)?$")
_JOIN_CALL = re.compile(r"^Prisma\.join\s*\((.*)\)\s*$", re.DOTALL)


def interpolation_name(expression: str) -> str:
    """The name an interpolation is known by: the last member of its expression.

    Example:
        >>> interpolation_name("Prisma.join(scope.clientIds)")
        'clientIds'
        >>> interpolation_name("opts.from")
        'from'
        >>> interpolation_name(":to")
        'to'
    """
    text = expression.strip().lstrip(":")
    join = _JOIN_CALL.match(text)
    if join:
        text = join.group(1).split(",")[0].strip()
    text = re.sub(r"\.(toISOString|valueOf|getTime)\(\)$", "", text)
    match = _MEMBER_TAIL.search(text)
    return match.group(1) if match else text


def resolve_role(profile: Profile, expression: str, params: Mapping[str, str]) -> Role | None:
    """The role an interpolation plays: by configuration first, else by its name.

    Example:
        >>> p = get_profile("booking-conversion")
        >>> resolve_role(p, "Prisma.join(scope.clientIds)", {}).name
        'client_ids'
        >>> resolve_role(p, "cutoff", {"cutoff": "maturity_cutoff"}).name
        'maturity_cutoff'
        >>> resolve_role(p, "somethingElse", {}) is None
        True
    """
    configured = params.get(expression.strip()) or params.get(expression.strip().lstrip(":"))
    if configured:
        if not profile.has_role(configured):
            known = ", ".join(role.name for role in profile.roles)
            raise BindingError(
                f"the configuration maps {expression!r} to unknown role {configured!r}",
                hint=f"use one of: {known}",
            )
        return profile.role(configured)
    name = _fold(interpolation_name(expression))
    for role in profile.roles:
        candidates = {_fold(role.name), *(_fold(alias) for alias in role.aliases)}
        if name in candidates or name.rstrip("s") in {c.rstrip("s") for c in candidates}:
            return role
    return None


__all__ = [
    "ENTRY_POINT_GROUP", "Profile", "ResultShape", "Role", "SeedProgress", "SeedReport",
    "SyntheticData", "available_profiles", "get_profile", "interpolation_name", "load_reference",
    "resolve_role",
]
