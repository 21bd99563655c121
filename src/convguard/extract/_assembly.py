"""Statements as Prisma code assembles them: fragment trees, their combinations, opaque stand-ins.

The TypeScript extractor describes what reaches a ``$queryRaw``/``$executeRaw`` call as a small
tree of :data:`Node` values: host text (:class:`Text`), bound values (:class:`Value`), SQL convguard
cannot see (:class:`Opaque`), text it inserts itself (:class:`Literal`, e.g. ``Prisma.join``'s
default ``,``), sequences (:class:`Seq`), run-time choices (:class:`Choice`: a ternary, an
``if``/``else``, a ``??``) and joined arrays whose elements may be optional (:class:`Join`).

:func:`expand` turns a tree into the statements it can produce, each a tuple of leaves plus the
choices that led to it. Past ``limit`` combinations it keeps a *covering* subset: every option of
every choice appears in at least one statement (so a defect inside any branch is still seen), and
:func:`count` says how many there were in all.

Example:
    >>> where = Choice((Text(0, 3), Text(10, 13)), "filter (line 2)")
    >>> tree = Seq((Text(20, 30), where, Value("limit", "value", 40, 48)))
    >>> [(len(leaves), labels) for leaves, labels in expand(tree, 8)]
    [(3, ('filter (line 2): branch 1 of 2',)), (3, ('filter (line 2): branch 2 of 2',))]
    >>> count(Seq((where, where, where)))
    8
    >>> len(expand(Seq((where, where, where)), 4))
    4
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from convguard._model import PlaceholderKind

#: Fragments spliced inside fragments deeper than this are refused (a clear error, no recursion).
MAX_FRAGMENT_DEPTH = 64
#: Combinations assembled per call site by default; past it, a covering subset and one note.
MAX_VARIANTS = 16
#: Neutral texts tried in place of an opaque fragment, in order (none names a column or table).
STAND_INS = ("", "TRUE", "SELECT 1", "(SELECT)")


@dataclass(frozen=True, slots=True)
class Text:
    """Host text ``start..end``; ``quote`` is the JS string quote around it (``""``: a template)."""

    start: int
    end: int
    quote: str = ""


@dataclass(frozen=True, slots=True)
class Value:
    """A bound value: ``$n`` (``kind`` ``list`` for ``Prisma.join`` of values)."""

    expression: str
    kind: PlaceholderKind
    start: int
    end: int
    ambiguous: bool = False  # could be a fragment from elsewhere: opaque if ``$n`` cannot parse


@dataclass(frozen=True, slots=True)
class Opaque:
    """SQL convguard cannot see (a fragment parameter, an import): a neutral stand-in."""

    expression: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Literal:
    """Text convguard inserts (a default separator), positioned at host offset ``at``."""

    text: str
    at: int


@dataclass(frozen=True, slots=True)
class Seq:
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    """One of ``options`` runs; ``label`` names the decision (``filter (line 12)``)."""

    options: tuple[Node, ...]
    label: str


@dataclass(frozen=True, slots=True)
class Join:
    """``Prisma.join(elements, separator, prefix, suffix)`` of fragments; an optional element is
    one pushed under a condition. A combination with no element is left out (Prisma throws)."""

    elements: tuple[tuple[Node, bool], ...]
    separator: Node
    prefix: Node
    suffix: Node
    label: str


Node = Text | Value | Opaque | Literal | Seq | Choice | Join
Leaf = Text | Value | Opaque | Literal
Variant = tuple[tuple[Leaf, ...], tuple[str, ...]]

EMPTY = Seq(())


def count(node: Node, memo: dict[int, int] | None = None) -> int:
    """How many statements ``node`` can produce (exact, however large).

    A tree may share subtrees (a name used twice, accumulating assignments): ``memo`` (by node
    identity) keeps the cost linear in the number of distinct nodes.
    """
    if isinstance(node, (Text, Value, Opaque, Literal)):
        return 1
    memo = {} if memo is None else memo
    known = memo.get(id(node))
    if known is not None:
        return known
    if isinstance(node, Seq):
        total = 1
        for part in node.parts:
            total *= count(part, memo)
    elif isinstance(node, Choice):
        total = sum(count(option, memo) for option in node.options)
    else:
        total, all_optional = 1, True
        for element, optional in node.elements:
            total *= count(element, memo) + (1 if optional else 0)
            all_optional = all_optional and optional
        total -= 1 if all_optional else 0
        total = max(total, 0) * count(node.separator, memo) * count(node.prefix, memo) \
            * count(node.suffix, memo)
    memo[id(node)] = total
    return total


def expand(node: Node, limit: int = MAX_VARIANTS,
           memo: dict[int, list[Variant]] | None = None) -> list[Variant]:
    """The statements ``node`` produces: at most ``limit``, covering every option when bounded.

    ``memo`` (by node identity) expands a shared subtree once.
    """
    if isinstance(node, (Text, Value, Opaque, Literal)):
        return [((node,), ())]
    memo = {} if memo is None else memo
    known = memo.get(id(node))
    if known is not None:
        return known
    if isinstance(node, Seq):
        result = _product([expand(part, limit, memo) for part in node.parts], limit)
    elif isinstance(node, Choice):
        result = _expand_choice(node, limit, memo)
    else:
        result = _expand_join(node, limit, memo)
    memo[id(node)] = result
    return result


def _expand_join(node: Join, limit: int, memo: dict[int, list[Variant]]) -> list[Variant]:
    lists: list[list[Variant | None]] = []
    for number, (element, optional) in enumerate(node.elements, start=1):
        options: list[Variant | None] = list(expand(element, limit, memo))
        if optional:
            options = [(leaves, (f"{node.label}: element {number} pushed", *labels))
                       for leaves, labels in expand(element, limit, memo)]
            options.append(None)
        lists.append(options)
    separators = expand(node.separator, limit, memo)
    prefixes, suffixes = expand(node.prefix, limit, memo), expand(node.suffix, limit, memo)
    results: list[Variant] = []
    for picked in _product_indexes([len(options) for options in lists], limit + 1):
        chosen = [lists[i][j] for i, j in enumerate(picked)]
        present = [variant for variant in chosen if variant is not None]
        if not present:
            continue
        skipped = tuple(f"{node.label}: element {i + 1} not pushed"
                        for i, variant in enumerate(chosen) if variant is None)
        separator = separators[len(results) % len(separators)]
        prefix, suffix = prefixes[0], suffixes[0]
        leaves: list[Leaf] = list(prefix[0])
        labels: list[str] = []
        for position, (element_leaves, element_labels) in enumerate(present):
            if position:
                leaves.extend(separator[0])
            leaves.extend(element_leaves)
            labels.extend(element_labels)
        leaves.extend(suffix[0])
        results.append((tuple(leaves), tuple(labels) + skipped))
        if len(results) >= limit:
            break
    return results


def _expand_choice(node: Choice, limit: int, memo: dict[int, list[Variant]]) -> list[Variant]:
    """Round-robin over the options, so that each contributes before any contributes twice;
    options are expanded only when their turn comes (a choice may have hundreds)."""
    size = len(node.options)
    lists: dict[int, list[Variant]] = {}
    results: list[Variant] = []
    round_ = 0
    while len(results) < limit:
        added = False
        for number, option in enumerate(node.options):
            variants = lists.get(number)
            if variants is None:
                variants = lists[number] = expand(option, limit, memo)
            if round_ < len(variants):
                leaves, labels = variants[round_]
                results.append((leaves, (f"{node.label}: branch {number + 1} of {size}",
                                         *labels)))
                added = True
                if len(results) >= limit:
                    break
        if not added:
            break
        round_ += 1
    return results


def _product(lists: list[list[Variant]], limit: int) -> list[Variant]:
    if all(len(options) == 1 for options in lists):
        return [(tuple(leaf for options in lists for leaf in options[0][0]),
                 tuple(label for options in lists for label in options[0][1]))]
    results = []
    for picked in _product_indexes([len(options) for options in lists], limit):
        chosen = [lists[i][j] for i, j in enumerate(picked)]
        results.append((tuple(leaf for leaves, _ in chosen for leaf in leaves),
                        tuple(label for _, labels in chosen for label in labels)))
    return results


def _product_indexes(sizes: list[int], limit: int) -> list[tuple[int, ...]]:
    """Index tuples of the product of ``sizes``: all of them when at most ``limit``; else first
    the diagonal (tuple ``k`` picks option ``k mod size`` everywhere, so every option of every
    factor appears), then the product in order, up to ``limit``.

    Example:
        >>> _product_indexes([2, 3], 10)
        [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
        >>> _product_indexes([2, 3, 2], 4)
        [(0, 0, 0), (1, 1, 1), (0, 2, 0), (0, 0, 1)]
    """
    if any(size == 0 for size in sizes):
        return []
    total = 1
    for size in sizes:
        total *= size
    if total <= limit:
        return list(itertools.product(*(range(size) for size in sizes)))
    picked: dict[tuple[int, ...], None] = {}
    for k in range(max(sizes, default=1)):
        picked[tuple(k % size for size in sizes)] = None
    for combination in itertools.product(*(range(size) for size in sizes)):
        if len(picked) >= limit:
            break
        picked.setdefault(combination, None)
    return list(picked)[:max(limit, max(sizes, default=1))]


__all__ = ["EMPTY", "MAX_FRAGMENT_DEPTH", "MAX_VARIANTS", "STAND_INS", "Choice", "Join", "Leaf",
           "Literal", "Node", "Opaque", "Seq", "Text", "Value", "Variant", "count", "expand"]
