"""Column lineage: which schema columns an expression's value comes from.

A column reference is resolved through table aliases, subqueries and CTEs (with their column
lists) down to ``(table, column)`` of a :class:`~convguard._schema.Schema`; an expression's lineage
is the union of its value's columns, with the aggregates applied on the way (``MIN(o."paidAt")``
is ``Order.paidAt`` under ``min``) and the derived tables crossed (``via``). A reference that
cannot be resolved is an explicit :class:`Unresolved`, never a guess; references into tables the
schema does not know are kept apart (``unknown``) so that no rule claims anything about them.

Identifiers follow PostgreSQL: quoted ones keep their case, unquoted ones fold to lower case.
The tree is only read, never changed.

Example:
    >>> from convguard._parse import parse_sql
    >>> from convguard import Column, Schema, Table
    >>> shop = Schema((
    ...     Table("Customer", (Column("id", "text", nullable=False, primary_key=True),)),
    ...     Table("Order", (Column("id", "text", nullable=False, primary_key=True),
    ...                     Column("customerId", "text", references=("Customer", "id")),
    ...                     Column("paidAt", "timestamp(3)")))))
    >>> parsed = parse_sql('''WITH s AS (SELECT o."customerId" AS id, MIN(o."paidAt") AS at
    ...     FROM "Order" o GROUP BY 1) SELECT s.at, c.id AS "orderId" FROM s JOIN "Customer" c
    ...     ON c.id = s.id''')
    >>> result = lineage(parsed.tree, shop)
    >>> at, order = parsed.tree.expressions
    >>> sorted(result.of(at).columns), sorted(result.of(at).aggregates)
    ([('Order', 'paidAt')], ['min'])
    >>> sorted(result.of(order).columns), same_entity(result.of(order), ("Order", "id"), shop)
    ([('Customer', 'id')], False)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from sqlglot import exp

from convguard._schema import Schema, Table

ColumnRef = tuple[str, str]


@dataclass(frozen=True)
class Lineage:
    """Where a value comes from.

    ``columns``: schema columns the value is computed from (conditions of ``CASE``, ``FILTER`` and
    window clauses select a value but do not produce it, so they are not part of it);
    ``aggregates``: lower-case names of the aggregates applied on the way; ``direct``: the value
    *is* the column (only aliases, parentheses and casts on the way); ``via``: the derived tables
    crossed, as ``(CTE or subquery name, output column)``; ``unknown``: references into tables the
    schema does not describe, as ``(table, column)``; ``origin``: for a value passed on unchanged,
    the nearest place it was computed: a schema column, or the derived table output that computed
    it (``("draft_send_time", "sentAt")`` for a reference to that CTE's ``MIN(...)``).
    """

    columns: frozenset[ColumnRef] = frozenset()
    aggregates: frozenset[str] = frozenset()
    direct: bool = False
    via: frozenset[ColumnRef] = frozenset()
    unknown: frozenset[tuple[str | None, str]] = frozenset()
    origin: ColumnRef | None = None

    @property
    def is_constant(self) -> bool:
        return not self.columns and not self.unknown

    def through(self, derived: str, column: str) -> Lineage:
        origin = self.origin if self.origin is not None else (derived, column)
        return Lineage(self.columns, self.aggregates, self.direct,
                       self.via | {(derived, column)}, self.unknown, origin)


class Unresolved(NamedTuple):
    """A reference that cannot be resolved, and why (as PostgreSQL would say it)."""

    reason: str
    reference: str
    node: exp.Expression | None = None
    hint: str | None = None


Result = Lineage | Unresolved
CONSTANT = Lineage()


def merge(results: Iterable[Result], *, aggregate: str | None = None, direct: bool = False) -> Result:
    """The lineage of a value computed from several parts (the first unresolved part wins)."""
    columns: set[ColumnRef] = set()
    aggregates: set[str] = set()
    via: set[ColumnRef] = set()
    unknown: set[tuple[str | None, str]] = set()
    for result in results:
        if isinstance(result, Unresolved):
            return result
        columns |= result.columns
        aggregates |= result.aggregates
        via |= result.via
        unknown |= result.unknown
    if aggregate:
        aggregates.add(aggregate)
    return Lineage(frozenset(columns), frozenset(aggregates), direct, frozenset(via),
                   frozenset(unknown))


def same_entity(result: Result | None, target: ColumnRef, schema: Schema) -> bool:
    """Whether a value is the key ``target``: the column itself or a foreign key pointing at it.

    Example:
        >>> from convguard import Column, Schema, Table
        >>> shop = Schema((
        ...     Table("Customer", (Column("id", "text", primary_key=True),)),
        ...     Table("Order", (Column("customerId", "text", references=("Customer", "id")),))))
        >>> same_entity(Lineage(frozenset({("Order", "customerId")}), direct=True),
        ...             ("Customer", "id"), shop)
        True
    """
    if not isinstance(result, Lineage) or not result.columns or result.unknown:
        return False
    for table_name, column_name in result.columns:
        if (table_name, column_name) == target:
            continue
        table = schema.find_table(table_name)
        if table is None or not table.has_column(column_name):
            return False
        if table.column(column_name).references != target:
            return False
    return True


def identifier_name(identifier: exp.Expression | str | None) -> str:
    """An identifier as PostgreSQL stores it: quoted keeps case, unquoted folds to lower."""
    if identifier is None:
        return ""
    if isinstance(identifier, str):
        return identifier.lower()
    if isinstance(identifier, exp.Identifier):
        return identifier.this if identifier.quoted else identifier.this.lower()
    return identifier.name.lower()


class _Source:
    """A FROM item as a column reference sees it."""

    __slots__ = ("alias_columns", "kind", "name", "node", "outputs", "side", "table")

    def __init__(self, kind: str, name: str, *, table: Table | None = None,
                 outputs: dict[str, Result] | None = None, node: exp.Expression | None = None,
                 side: str | None = None) -> None:
        self.kind = kind  # "table" | "derived" | "opaque"
        self.name = name
        self.table = table
        self.outputs = outputs  # derived: output column -> lineage (None: not knowable)
        self.node = node
        self.side = side
        self.alias_columns: dict[str, str] = {}

    def copy_for(self, node: exp.Expression, side: str | None) -> _Source:
        clone = _Source(self.kind, self.name, table=self.table, outputs=self.outputs, node=node,
                        side=side)
        clone.alias_columns = dict(self.alias_columns)
        return clone

    def has(self, column: str) -> bool | None:
        """True/False, or None when the source's columns are not known."""
        if self.kind == "table":
            assert self.table is not None
            return self.table.has_column(self.alias_columns.get(column, column))
        if self.kind == "derived" and self.outputs is not None:
            return column in self.outputs
        return None

    def resolve(self, column: str, node: exp.Expression | None) -> Result:
        if self.kind == "table":
            assert self.table is not None
            real = self.alias_columns.get(column, column)
            if self.table.has_column(real):
                return Lineage(frozenset({(self.table.name, real)}), direct=True,
                               origin=(self.table.name, real))
            missing = _missing_column(self.table.name, real, self.table.column_names, node)
            mapped = self.table.mapped_field(real)
            if mapped is not None:
                missing = Unresolved(missing.reason, missing.reference, node,
                                     _mapped_hint("field", real, mapped.name))
            return missing
        if self.kind == "derived" and self.outputs is not None:
            if column in self.outputs:
                found = self.outputs[column]
                return found.through(self.name, column) if isinstance(found, Lineage) else found
            return _missing_column(self.name, column, tuple(self.outputs), node)
        return Lineage(unknown=frozenset({(self.name, column)}), direct=True)

    def columns(self) -> list[tuple[str, Result]] | None:
        if self.kind == "table":
            assert self.table is not None
            renamed = {real: alias for alias, real in self.alias_columns.items()}
            return [(renamed.get(name, name), self.resolve(renamed.get(name, name), None))
                    for name in self.table.column_names]
        if self.kind == "derived" and self.outputs is not None:
            return [(name, self.resolve(name, None)) for name in self.outputs]
        return None


def _missing_column(table: str, column: str, known: Iterable[str], node: exp.Expression | None
                    ) -> Unresolved:
    hint = None
    folded = [name for name in known if name.lower() == column.lower() and name != column]
    if folded:
        # a name with capitals was quoted (unquoted ones arrive folded): the case is just wrong
        hint = _case_hint(column, folded[0])
    return Unresolved(f'column "{column}" does not exist in "{table}"', column, node, hint)


def _mapped_hint(kind: str, prisma_name: str, real: str) -> str:
    """The hint for a Prisma name where SQL needs the database's (``@map``/``@@map``)."""
    attribute = "@map" if kind == "field" else "@@map"
    return (f'the Prisma {kind} {prisma_name} is stored as "{real}" ({attribute}); SQL names '
            f'the database\'s: write "{real}"')


def _case_hint(written: str, real: str) -> str:
    """How to write ``real`` when ``written`` differs from it only in case. A name with capitals
    was quoted (unquoted ones arrive folded), so its case is simply wrong."""
    if written == written.lower():
        return f'unquoted identifiers fold to lower case: write "{real}"'
    return f'quoted identifiers keep their case: write "{real}"'


class _Scope:
    __slots__ = ("merged", "natural", "outputs", "parent", "qualified_only", "select", "sources")

    def __init__(self, parent: _Scope | None, select: exp.Expression) -> None:
        self.parent = parent
        self.sources: dict[str, _Source] = {}
        # OLD/NEW in RETURNING (PostgreSQL 18): reachable by qualifier only, as in PostgreSQL,
        # so an unqualified name still means the target table's column.
        self.qualified_only: dict[str, _Source] = {}
        self.select = select
        self.outputs: dict[str, exp.Expression] = {}
        self.merged: set[str] = set()  # JOIN ... USING columns: one column, not ambiguous
        self.natural = False


class QueryLineage:
    """Lineage of every column reference of one statement, and of any expression in it.

    Built once by :func:`lineage` and read-only afterwards (only its memo of expression lineage
    grows). Lookups are by node identity, so ask about nodes of the tree it was built from.
    ``unresolved`` lists the references that resolve to nothing; ``schema_tables`` the schema
    tables the statement reads.
    """

    __slots__ = (
        "_expressions",
        "_outputs",
        "references",
        "schema",
        "schema_tables",
        "sources",
        "tree",
        "unresolved",
    )

    def __init__(self, tree: exp.Expression | None, schema: Schema,
                 references: dict[int, Result], sources: dict[int, _Source],
                 outputs: dict[int, list[tuple[str, Result]]]) -> None:
        self.tree = tree
        self.schema = schema
        self.references = references
        self.sources = sources
        self.unresolved: tuple[Unresolved, ...] = ()
        self.schema_tables: frozenset[str] = frozenset()
        self._expressions: dict[int, Result] = {}
        self._outputs = outputs

    def __repr__(self) -> str:
        return (f"QueryLineage({len(self.references)} references, "
                f"{len(self.unresolved)} unresolved)")

    def of(self, node: exp.Expression) -> Result:
        """The lineage of an expression of the tree.

        Example:
            >>> from convguard._parse import parse_sql
            >>> from convguard import Column, Schema, Table
            >>> shop = Schema((Table("Order", (Column("id", "text", primary_key=True),)),))
            >>> tree = parse_sql('SELECT COUNT(DISTINCT o.id) FROM "Order" o').tree
            >>> sorted(lineage(tree, shop).of(tree.expressions[0]).aggregates)
            ['count']
        """
        key = id(node)
        found = self._expressions.get(key)
        if found is None:
            found = self._compute(node)
            self._expressions[key] = found
        return found

    def source_of(self, column: exp.Column) -> tuple[str, str, str | None] | None:
        """``(kind, name, join side)`` of the FROM item a column reference reads from."""
        source = self.sources.get(id(column))
        if source is None:
            return None
        return source.kind, source.name, source.side

    def outputs(self, query: exp.Expression) -> list[tuple[str, Result]]:
        """The output columns of a SELECT (or set operation) of the tree, with their lineage."""
        return self._outputs.get(id(query), [])

    def _compute(self, node: exp.Expression) -> Result:
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                return CONSTANT
            return self.references.get(id(node), CONSTANT)
        if isinstance(node, (exp.Alias, exp.Paren, exp.Cast, exp.TryCast, exp.Distinct)):
            parts = [node.this] if not isinstance(node, exp.Distinct) else node.expressions
            if len(parts) == 1:
                return self.of(parts[0])
            return merge(self.of(part) for part in parts)
        if isinstance(node, exp.Case):
            values = [branch.args.get("true") for branch in node.args.get("ifs") or []]
            values.append(node.args.get("default"))
            return merge(self.of(value) for value in values if value is not None)
        if isinstance(node, exp.If):
            values = [node.args.get("true"), node.args.get("false")]
            return merge(self.of(value) for value in values if value is not None)
        if isinstance(node, exp.Window):
            return self.of(node.this)
        if isinstance(node, exp.Filter):
            return self.of(node.this)
        if isinstance(node, exp.AggFunc):
            parts = [child for child in _children(node) if not isinstance(child, exp.Star)]
            return merge((self.of(part) for part in parts), aggregate=node.key)
        if isinstance(node, (exp.Subquery, exp.Select, exp.SetOperation)):
            query = node.this if isinstance(node, exp.Subquery) else node
            outputs = self._outputs.get(id(query))
            return outputs[0][1] if outputs else CONSTANT
        if isinstance(node, (exp.Exists, exp.In)):
            return merge(self.of(child) for child in _children(node)
                         if not isinstance(child, (exp.Select, exp.SetOperation)))
        return merge(self.of(child) for child in _children(node))


# Keywords PostgreSQL reads as values, which sqlglot may leave as bare column references.
_SQL_VALUE_KEYWORDS = frozenset({
    "current_user", "session_user", "current_role", "user", "current_catalog", "current_schema",
    "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp",
    "system_user",
    # `SET col = DEFAULT`: sqlglot reads the keyword as a column; PostgreSQL has rejected it
    # unquoted anywhere else (a reserved word)
    "default",
})


def _names_a_source(scope: _Scope | None, name: str) -> bool:
    while scope is not None:
        if name in scope.sources:
            return True
        scope = scope.parent
    return False


# Nodes that hold no column reference: not worth walking into.
_LEAVES = frozenset({exp.Literal, exp.Identifier, exp.DataType, exp.Var, exp.Null, exp.Boolean,
                     exp.Parameter, exp.Star, exp.TableAlias, exp.Interval})


def _children(node: exp.Expression) -> Iterator[exp.Expression]:
    return node.iter_expressions()


class _Resolver:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.references: dict[int, Result] = {}
        self.sources: dict[int, _Source] = {}
        self.unresolved: list[Unresolved] = []
        self.schema_tables: set[str] = set()
        self.outputs: dict[int, list[tuple[str, Result]]] = {}
        self.lineage: QueryLineage | None = None

    # -- statements -------------------------------------------------------------------------
    def statement(self, tree: exp.Expression) -> None:
        if isinstance(tree, (exp.Select, exp.SetOperation, exp.Subquery)):
            self.query(tree, {}, None)
        elif isinstance(tree, (exp.Insert, exp.Update, exp.Delete)):
            self.modification(tree, {}, None)
        else:
            for query in tree.find_all(exp.Select):
                if not isinstance(query.parent, (exp.Select, exp.SetOperation, exp.Subquery)):
                    self.query(query, {}, None)

    def modification(self, tree: exp.Expression, ctes: dict[str, _Source],
                     parent: _Scope | None) -> list[tuple[str, Result]] | None:
        """An INSERT, UPDATE or DELETE (also as a CTE body): its references, and the outputs of
        its RETURNING (None without one, or when they are not knowable)."""
        ctes = self.with_clause(tree, ctes, parent)
        scope = _Scope(parent, tree)
        if isinstance(tree, exp.Insert):
            target_item = tree.this
            listed: list[exp.Expression] = []
            if isinstance(target_item, exp.Schema):
                listed = list(target_item.expressions)
                target_item = target_item.this
            target = self.target(scope, target_item, ctes, parent)
            for identifier in listed:
                self.target_column(target, identifier)
            query = tree.args.get("expression")
            if isinstance(query, (exp.Select, exp.SetOperation, exp.Subquery)):
                self.query(query, ctes, parent)  # INSERT ... SELECT cannot see the target
            conflict = tree.args.get("conflict")
            if isinstance(conflict, exp.OnConflict):
                self.on_conflict(conflict, target, scope, ctes)
        else:
            target = self.target(scope, tree.this, ctes, parent)
            for item in tree.args.get("using") or ():
                self.add_source(scope, item, ctes, parent)
            from_ = tree.args.get("from_")
            if from_ is not None:
                self.add_source(scope, from_.this, ctes, parent)
            if isinstance(tree, exp.Update):
                self.assignments(tree.expressions, target, scope, ctes)
            for key, value in tree.args.items():
                if key not in ("this", "using", "from_", "with_", "expressions", "returning"):
                    self.expressions(value, scope, ctes)
        returning = tree.args.get("returning")
        if not isinstance(returning, exp.Returning):
            return None
        if target is not None:
            for version in ("old", "new"):  # PostgreSQL 18: RETURNING old.col, new.col
                scope.qualified_only.setdefault(version, target.copy_for(target.node or tree,
                                                                           None))
        self.expressions(returning.expressions, scope, ctes)
        outputs: list[tuple[str, Result]] = []
        assert self.lineage is not None
        for projection in returning.expressions:
            if isinstance(projection, exp.Star) or (
                    isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)):
                columns = target.columns() if target is not None and \
                    len(scope.sources) == 1 else None
                if columns is None:
                    return None
                outputs.extend(columns)
                continue
            outputs.append((output_name(projection), self.lineage.of(projection)))
        return outputs

    def target(self, scope: _Scope, item: exp.Expression | None, ctes: dict[str, _Source],
               parent: _Scope | None) -> _Source | None:
        """The table an INSERT, UPDATE or DELETE writes, as the first source of its scope."""
        if not isinstance(item, exp.Expression):
            return None
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier) \
                and not item.args.get("db") and identifier_name(item.this) in ctes:
            # PostgreSQL writes a table, never a CTE: with the name shadowed, claim nothing
            alias_node = item.args.get("alias")
            name = identifier_name(alias_node.this) if isinstance(alias_node, exp.TableAlias) \
                and alias_node.this is not None else identifier_name(item.this)
            scope.sources[name] = _Source("opaque", name, node=item)
            return scope.sources[name]
        self.add_source(scope, item, ctes, parent)
        return next(iter(scope.sources.values()), None)

    def target_column(self, target: _Source | None, node: exp.Expression,
                      hint: str | None = None) -> None:
        """A column the statement writes (INSERT's column list, a SET target, a conflict column):
        a column of the target table itself, whatever else is in FROM. Unchecked unless the
        target is a schema table (a CTE name or an unknown table proves nothing)."""
        if target is None or target.kind != "table" or target.table is None:
            return
        name = identifier_name(node.this if isinstance(node, exp.Column) else node)
        result = target.resolve(name, node)
        if isinstance(node, exp.Column):
            self.references[id(node)] = result
            self.sources[id(node)] = target
        if isinstance(result, Unresolved):
            hint = result.hint or hint or f'use a column of "{target.table.name}", the table ' \
                'written; quote camelCase names'
            result = Unresolved(result.reason, result.reference, result.node, hint)
            if isinstance(node, exp.Column):
                self.references[id(node)] = result
            self.unresolved.append(result)

    def assignments(self, assignments: list[exp.Expression], target: _Source | None,
                    scope: _Scope, ctes: dict[str, _Source]) -> None:
        """``SET col = value, (a, b) = (...)``: the targets are columns of the target table, the
        values are read in the statement's scope."""
        for assignment in assignments:
            if not isinstance(assignment, exp.EQ):
                self.expressions(assignment, scope, ctes)
                continue
            written = assignment.this
            for column in written.expressions if isinstance(written, exp.Tuple) else [written]:
                if not isinstance(column, exp.Column):
                    self.expressions(column, scope, ctes)
                elif column.args.get("table") is not None:
                    # `SET t.col`: PostgreSQL reads the first name as the column (t's field col)
                    first = column.parts[0]
                    if isinstance(first, exp.Identifier):
                        self.target_column(target, first, "a SET target names a column of the "
                                           "target table, without a table qualifier")
                else:
                    self.target_column(target, column)
            self.expressions(assignment.expression, scope, ctes)

    def on_conflict(self, conflict: exp.OnConflict, target: _Source | None, scope: _Scope,
                    ctes: dict[str, _Source]) -> None:
        """``ON CONFLICT (cols) [WHERE ...] DO UPDATE SET ... [WHERE ...]``: the conflict columns
        and SET targets are the target table's; in the DO UPDATE part ``EXCLUDED`` (the proposed
        row) is a source beside the target, so an unqualified name both have is ambiguous, as
        PostgreSQL says."""
        for key in conflict.args.get("conflict_keys") or []:
            inner = key.this if isinstance(key, exp.Ordered) else key
            if isinstance(inner, exp.Column) and inner.args.get("table") is None:
                self.target_column(target, inner)
            else:
                self.expressions(inner, scope, ctes)
        self.expressions(conflict.args.get("index_predicate"), scope, ctes)
        update = _Scope(scope.parent, conflict)
        update.sources = dict(scope.sources)
        if target is not None:
            update.sources.setdefault("excluded", target.copy_for(target.node or conflict, None))
        self.assignments(conflict.expressions, target, update, ctes)
        self.expressions(conflict.args.get("where"), update, ctes)

    def with_clause(self, node: exp.Expression, ctes: dict[str, _Source],
                    parent: _Scope | None) -> dict[str, _Source]:
        with_ = node.args.get("with_")
        if with_ is None:
            return ctes
        ctes = dict(ctes)
        recursive = bool(with_.args.get("recursive"))
        for cte in with_.expressions:
            name = identifier_name(cte.args["alias"].this)
            body = cte.this
            if recursive and isinstance(body, exp.SetOperation):
                seed = self.query(body.this, ctes, parent)
                ctes[name] = self.derived(name, seed, cte.args["alias"], cte)
            if isinstance(body, (exp.Insert, exp.Update, exp.Delete)):
                outputs = self.modification(body, ctes, parent)
            else:
                outputs = self.query(body, ctes, parent)
            ctes[name] = self.derived(name, outputs, cte.args["alias"], cte)
        return ctes

    def derived(self, name: str, outputs: list[tuple[str, Result]] | None,
                alias: exp.Expression | None, node: exp.Expression) -> _Source:
        if outputs is None:
            return _Source("derived", name, outputs=None, node=node)
        renamed = [identifier_name(column) for column in (alias.args.get("columns") or [])] \
            if alias is not None else []
        mapping: dict[str, Result] = {}
        for position, (output, result) in enumerate(outputs):
            key = renamed[position] if position < len(renamed) else output
            mapping.setdefault(key, result)
        return _Source("derived", name, outputs=mapping, node=node)

    def query(self, node: exp.Expression, ctes: dict[str, _Source], parent: _Scope | None
              ) -> list[tuple[str, Result]] | None:
        if isinstance(node, exp.Subquery):
            return self.query(node.this, ctes, parent)
        if isinstance(node, exp.SetOperation):
            # `a UNION b UNION c ...` nests to the left, as deep as it has branches: walk the
            # chain in a loop (thousands of branches would overflow the stack in recursion), in
            # the order the recursion took: WITH clauses outside in, then branches left to right.
            chain = [node]
            while isinstance(chain[-1].this, exp.SetOperation):
                chain.append(chain[-1].this)
            scoped = []
            for operation in chain:
                ctes = self.with_clause(operation, ctes, parent)
                scoped.append(ctes)
            outputs: list[tuple[str, Result]] | None = self.query(chain[-1].this, scoped[-1],
                                                                   parent)
            for operation, operation_ctes in zip(reversed(chain), reversed(scoped), strict=True):
                left = outputs
                right = self.query(operation.expression, operation_ctes, parent)
                outputs = None
                if left is not None and right is not None:
                    outputs = [(name, merge([result, right[i][1]]) if i < len(right) else result)
                               for i, (name, result) in enumerate(left)]
                self.outputs[id(operation)] = outputs or []
                self.clauses(operation, _Scope(parent, operation), operation_ctes,
                             skip=("this", "expression", "with_"))
            return outputs
        if not isinstance(node, exp.Select):
            if isinstance(node, exp.Values):
                return None
            return None
        ctes = self.with_clause(node, ctes, parent)
        scope = _Scope(parent, node)
        from_ = node.args.get("from_")
        if from_ is not None:
            self.add_source(scope, from_.this, ctes, parent)
        for join in node.args.get("joins") or []:
            side = join.args.get("side")
            scope.natural |= str(join.args.get("method") or "").upper() == "NATURAL"
            self.add_source(scope, join.this, ctes, parent, side=side.upper() if side else None,
                            lateral_scope=scope)
        for projection in node.expressions:
            if isinstance(projection, exp.Alias):
                scope.outputs.setdefault(identifier_name(projection.args["alias"]), projection.this)
        for join in node.args.get("joins") or []:
            self.expressions(join.args.get("on"), scope, ctes)
            for using in join.args.get("using") or []:
                self.using(using, scope)
        self.expressions(node.expressions, scope, ctes)
        self.clauses(node, scope, ctes, skip=("expressions", "from_", "joins", "with_"))
        outputs = self.projections(node, scope)
        self.outputs[id(node)] = outputs or []
        return outputs

    def clauses(self, node: exp.Expression, scope: _Scope, ctes: dict[str, _Source],
                skip: tuple[str, ...]) -> None:
        for key, value in node.args.items():
            if key in skip:
                continue
            self.expressions(value, scope, ctes, clause=key)

    def using(self, identifier: exp.Expression, scope: _Scope) -> None:
        name = identifier_name(identifier)
        scope.merged.add(name)
        if not any(source.has(name) for source in scope.sources.values()):
            self.unresolved.append(Unresolved(
                f'column "{name}" specified in USING clause does not exist', name, identifier))

    # -- sources ----------------------------------------------------------------------------
    def add_source(self, scope: _Scope, item: exp.Expression, ctes: dict[str, _Source],
                   parent: _Scope | None, *, side: str | None = None,
                   lateral_scope: _Scope | None = None) -> None:
        alias_node = item.args.get("alias") if isinstance(item, exp.Expression) else None
        alias = identifier_name(alias_node.this) if isinstance(alias_node, exp.TableAlias) \
            and alias_node.this is not None else ""
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
            name = identifier_name(item.this)
            schema_name = identifier_name(item.args.get("db")) if item.args.get("db") else ""
            if not schema_name and name in ctes:
                source = ctes[name].copy_for(item, side)
            else:
                source = self.table_source(item, name, schema_name, side)
            if isinstance(alias_node, exp.TableAlias):
                self.rename(source, alias_node)
            scope.sources[alias or name] = source
            return
        if isinstance(item, exp.Subquery):
            outputs = self.query(item.this, ctes, parent)
            source = self.derived(alias, outputs, alias_node, item)
            source.side = side
            scope.sources[alias] = source
            return
        if isinstance(item, exp.Lateral) and isinstance(item.this, exp.Subquery):
            alias_node = item.args.get("alias")
            alias = identifier_name(alias_node.this) if alias_node is not None else ""
            outputs = self.query(item.this.this, ctes, lateral_scope or parent)
            source = self.derived(alias, outputs, alias_node, item)
            source.side = side
            scope.sources[alias] = source
            return
        # functions, VALUES, UNNEST...: their values are not schema columns
        self.expressions(list(_children(item)), lateral_scope or parent or _Scope(None, item), ctes)
        source = _Source("opaque", alias or item.key, node=item, side=side)
        if alias:
            scope.sources[alias] = source
        else:
            scope.sources[f"<{len(scope.sources)}>"] = source

    def table_source(self, item: exp.Table, name: str, schema_name: str, side: str | None
                     ) -> _Source:
        if schema_name and schema_name != "public":
            return _Source("opaque", name, node=item, side=side)
        for table in self.schema.tables:
            if table.name == name:
                self.schema_tables.add(table.name)
                return _Source("table", table.name, table=table, node=item, side=side)
        mapped = self.schema.mapped_model(name)
        if mapped is not None:
            # PostgreSQL has no such relation (42P01): the model's table is named otherwise
            self.schema_tables.add(mapped.name)
            self.unresolved.append(Unresolved(
                f'relation "{name}" does not exist', name, item.this,
                _mapped_hint("model", name, mapped.name)))
            return _Source("opaque", name, node=item, side=side)
        folded = [table.name for table in self.schema.tables if table.name.lower() == name.lower()]
        if folded:
            self.schema_tables.add(folded[0])
            self.unresolved.append(Unresolved(
                f'relation "{name}" does not exist', name, item.this,
                _case_hint(name, folded[0])))
        return _Source("opaque", name, node=item, side=side)

    def rename(self, source: _Source, alias: exp.TableAlias) -> None:
        columns = [identifier_name(column) for column in alias.args.get("columns") or []]
        if not columns:
            return
        if source.kind == "table" and source.table is not None:
            source.alias_columns = dict(zip(columns, source.table.column_names))
        elif source.kind == "derived" and source.outputs is not None:
            items = list(source.outputs.items())
            renamed = {columns[i] if i < len(columns) else name: result
                       for i, (name, result) in enumerate(items)}
            source.outputs = renamed

    # -- expressions ------------------------------------------------------------------------
    def expressions(self, value: object, scope: _Scope, ctes: dict[str, _Source],
                    clause: str | None = None) -> None:
        if isinstance(value, list):
            for item in value:
                self.expressions(item, scope, ctes, clause)
            return
        if not isinstance(value, exp.Expression):
            return
        stack = [value]
        pop, extend = stack.pop, stack.extend
        while stack:
            node = pop()
            kind = type(node)
            if kind in _LEAVES:
                continue
            if kind is exp.Column:
                self.resolve(node, scope, clause)  # type: ignore[arg-type]
            elif isinstance(node, (exp.Select, exp.SetOperation)):
                self.query(node, ctes, scope)
            else:
                extend(node.iter_expressions())

    def resolve(self, column: exp.Column, scope: _Scope, clause: str | None = None) -> None:
        if isinstance(column.this, exp.Star):
            return
        name = identifier_name(column.this)
        qualifier = column.args.get("table")
        result: Result | None = None
        source: _Source | None = None
        if qualifier is not None:
            alias = identifier_name(qualifier)
            current: _Scope | None = scope
            while current is not None and source is None:
                source = current.sources.get(alias) or current.qualified_only.get(alias)
                current = current.parent
            if source is None:
                result = Unresolved(f'missing FROM-clause entry for table "{alias}"',
                                    column.sql(dialect="postgres"), column)
            else:
                result = source.resolve(name, column)
        else:
            if clause == "order" and name in scope.outputs:
                result = self.output_reference(scope, name)
            current = scope
            while result is None and current is not None:
                known = [s for s in current.sources.values() if s.has(name)]
                opaque = [s for s in current.sources.values() if s.has(name) is None]
                if len(known) == 1 and not opaque:
                    source = known[0]
                    result = source.resolve(name, column)
                elif len(known) > 1 and (name in current.merged or current.natural):
                    result = merge(s.resolve(name, column) for s in known)
                elif len(known) > 1:
                    result = Unresolved(f'column reference "{name}" is ambiguous', name, column)
                elif opaque:
                    source = opaque[0] if len(opaque) == 1 else None
                    result = Lineage(unknown=frozenset({(None, name)}), direct=True)
                elif clause == "group" and current is scope and name in scope.outputs:
                    result = self.output_reference(scope, name)
                current = current.parent
            if result is None and not column.this.quoted and name in _SQL_VALUE_KEYWORDS:
                result = CONSTANT
            if result is None and _names_a_source(scope, name):
                result = Lineage(unknown=frozenset({(name, "*")}))  # a whole-row reference
            if result is None:
                result = Unresolved(f'column "{name}" does not exist', name, column)
        if isinstance(result, Unresolved) and result.node is None:
            result = Unresolved(result.reason, result.reference, column, result.hint)
        self.references[id(column)] = result
        if source is not None:
            self.sources[id(column)] = source
        if isinstance(result, Unresolved):
            self.unresolved.append(result)

    def output_reference(self, scope: _Scope, name: str) -> Result:
        """An ORDER BY / GROUP BY reference to an output column: resolved from its expression."""
        expression = scope.outputs[name]
        columns = [self.references.get(id(c)) for c in expression.find_all(exp.Column)]
        return merge(c for c in columns if c is not None)

    def projections(self, select: exp.Select, scope: _Scope) -> list[tuple[str, Result]] | None:
        assert self.lineage is not None
        outputs: list[tuple[str, Result]] = []
        for projection in select.expressions:
            if isinstance(projection, exp.Star) or (
                    isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)):
                qualifier = projection.args.get("table") if isinstance(projection, exp.Column) \
                    else None
                chosen = [scope.sources.get(identifier_name(qualifier))] if qualifier is not None \
                    else list(scope.sources.values())
                for source in chosen:
                    columns = source.columns() if source is not None else None
                    if columns is None:
                        return None
                    outputs.extend(columns)
                continue
            outputs.append((output_name(projection), self.lineage.of(projection)))
        return outputs


def output_name(projection: exp.Expression) -> str:
    """The name PostgreSQL gives an output column (``?column?`` when it has none)."""
    if isinstance(projection, exp.Alias):
        return identifier_name(projection.args["alias"])
    if isinstance(projection, exp.Column):
        return identifier_name(projection.this)
    if isinstance(projection, (exp.Cast, exp.TryCast, exp.Paren)):
        return output_name(projection.this)
    if isinstance(projection, exp.Anonymous):
        return projection.name.lower()
    if isinstance(projection, exp.Func):
        return projection.sql_name().lower()
    return "?column?"


def lineage(tree: exp.Expression | None, schema: Schema) -> QueryLineage:
    """Resolve every column reference of a statement against ``schema``.

    Example:
        >>> from convguard._parse import parse_sql
        >>> from convguard import Column, Schema, Table
        >>> shop = Schema((Table("Order", (Column("id", "text", primary_key=True),)),))
        >>> tree = parse_sql('SELECT x.nope FROM "Order" x').tree
        >>> lineage(tree, shop).unresolved[0].reason
        'column "nope" does not exist in "Order"'
    """
    resolver = _Resolver(schema)
    result = QueryLineage(tree, schema, resolver.references, resolver.sources, resolver.outputs)
    resolver.lineage = result
    if tree is not None:
        resolver.statement(tree)
    result.unresolved = tuple(resolver.unresolved)
    result.schema_tables = frozenset(resolver.schema_tables)
    return result


__all__ = ["CONSTANT", "Lineage", "QueryLineage", "Unresolved", "identifier_name", "lineage",
           "merge", "output_name", "same_entity"]
