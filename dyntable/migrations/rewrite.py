"""One item through a migration: what changes and the conditional UpdateItem (no I/O).

The write never clobbers a concurrent application write. Its condition is:

* the item still exists and (up) does not yet carry the migration's id in
  :data:`~dyntable.migrations.data.APPLIED_ATTRIBUTE` / (down) still carries it; and
* when the entity's model has a version field: the version read (the write bumps it, so an
  application holding an older copy gets a version conflict instead of undoing the
  migration); otherwise every attribute read still has the value read (the full previous
  value), falling back to the changed attributes when that condition would exceed
  DynamoDB's expression limit.

A failed condition returns the current item (``ReturnValuesOnConditionCheckFailure``), which
the runner migrates again.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dyntable._internal.codec.identity import identity
from dyntable._internal.codec.values import from_av, to_av
from dyntable.errors import ExpressionError, InvalidValueError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition, all_of
from dyntable.expressions.paths import attr
from dyntable.expressions.updates import Action
from dyntable.migrations.data import APPLIED_ATTRIBUTE, WRITER_ATTRIBUTE, Migration
from dyntable.migrations.errors import MigrationError
from dyntable.schema.table import TableSchema

__all__ = ["Direction", "Rewrite", "rewrite_item"]

Direction = Literal["up", "down"]
AV = dict[str, Any]
_MARKERS = (APPLIED_ATTRIBUTE, WRITER_ATTRIBUTE)


@dataclass
class Rewrite:
    """The outcome for one item.

    ``status``: ``write`` (``params`` is the UpdateItem), ``unchanged`` (the function left
    it), or ``done`` (already migrated in this direction). ``changes`` maps each changed
    attribute to ``(old, new)`` plain values (``None``: absent).
    """

    status: Literal["write", "unchanged", "done"]
    key: dict[str, AV]
    params: dict[str, Any] | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def _applied(item: Mapping[str, Any]) -> set[str]:
    av = item.get(APPLIED_ATTRIBUTE)
    return set(av.get("SS", ())) if isinstance(av, Mapping) else set()


def _version_field(table: TableSchema, item: Mapping[str, Any]) -> str | None:
    model = identity(table).model_of(item)
    return model.__dyntable__.version_field if model is not None else None


def _call(migration: Migration, direction: Direction, values: dict[str, Any],
          key: dict[str, AV]) -> dict[str, Any] | None:
    fn = migration.up if direction == "up" else migration.down
    if fn is None:
        raise MigrationError(f"migration {migration.id} has no down(); it cannot be reverted")
    try:
        result = fn(copy.deepcopy(values))
    except Exception as exc:
        raise MigrationError(
            f"migration {migration.id} {direction}() failed on item {_plain(key)}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if result is not None and not isinstance(result, dict):
        raise MigrationError(
            f"migration {migration.id} {direction}() returned {type(result).__name__} for item "
            f"{_plain(key)}; return a dict or None"
        )
    return result


def _plain(key: Mapping[str, AV]) -> dict[str, Any]:
    return {k: from_av(v) for k, v in key.items()}


def _diff(values: dict[str, Any], result: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name, new in result.items():
        if name in _MARKERS:
            continue
        if new is None or (isinstance(new, (set, frozenset)) and not new):
            if name in values:
                changes[name] = (values[name], None)
        elif name not in values or to_av(values[name], name) != to_av(new, name):
            changes[name] = (values.get(name), new)
    for name, old in values.items():
        if name not in result:
            changes[name] = (old, None)
    return changes


def rewrite_item(
    migration: Migration,
    item: Mapping[str, AV],
    *,
    direction: Direction,
    table: TableSchema,
    table_name: str,
) -> Rewrite:
    """Run ``migration``'s ``up`` / ``down`` on a stored item; the write to make, if any."""
    key_attrs = [table.pk] + ([table.sk] if table.sk else [])
    key = {a: item[a] for a in key_attrs if a in item}
    applied = migration.id in _applied(item)
    if applied == (direction == "up"):
        return Rewrite("done", key)
    values = {k: from_av(v) for k, v in item.items() if k not in _MARKERS}
    result = _call(migration, direction, values, key)
    if result is None:
        return Rewrite("unchanged", key)
    try:
        changes = _diff(values, result)
    except InvalidValueError as exc:
        raise MigrationError(
            f"migration {migration.id} {direction}() made item {_plain(key)} unstorable: {exc}"
        ) from None
    bad = sorted(set(changes) & set(key_attrs))
    if bad:
        raise MigrationError(
            f"migration {migration.id} {direction}() changed key attribute(s) {bad} of item "
            f"{_plain(key)}; write a new item instead"
        )
    version = _version_field(table, item)
    if version is not None and version in changes:
        raise MigrationError(
            f"migration {migration.id} {direction}() changed version attribute {version!r} of "
            f"item {_plain(key)}; the runner bumps it"
        )
    if not changes:
        return Rewrite("unchanged", key)
    try:
        params = _update_params(migration, direction, table, table_name, key, values, changes,
                                version)
    except InvalidValueError as exc:
        raise MigrationError(
            f"migration {migration.id} {direction}() made item {_plain(key)} unstorable: {exc}"
        ) from None
    return Rewrite("write", key, params, changes)


def _actions(migration: Migration, direction: Direction, changes: dict[str, tuple[Any, Any]],
             values: dict[str, Any], version: str | None) -> list[Action]:
    actions = [
        Action("REMOVE", attr(name)) if new is None
        else Action("SET", attr(name), to_av(new, name))
        for name, (_old, new) in changes.items()
    ]
    marker = Action("ADD" if direction == "up" else "DELETE", attr(APPLIED_ATTRIBUTE),
                    {migration.id})
    actions.append(marker)
    if migration.mark_writes:
        tag = migration.id if direction == "up" else f"{migration.id}:down"
        actions.append(Action("SET", attr(WRITER_ATTRIBUTE), {"S": tag}))
    if version is not None:
        old = int(values.get(version) or 0)
        actions.append(Action("SET", attr(version), {"N": str(old + 1)}))
    return actions


def _guard(table: TableSchema, direction: Direction, migration: Migration,
           values: dict[str, Any], names: list[str]) -> Condition | None:
    marker = attr(APPLIED_ATTRIBUTE).contains(migration.id)
    conds: list[Condition | None] = [
        attr(table.pk).exists(),
        ~marker if direction == "up" else marker,
    ]
    for name in names:
        conds.append(attr(name).not_exists() if name not in values
                     else attr(name) == values[name])
    return all_of(*conds)


def _update_params(migration: Migration, direction: Direction, table: TableSchema, table_name: str,
                   key: dict[str, AV], values: dict[str, Any],
                   changes: dict[str, tuple[Any, Any]], version: str | None) -> dict[str, Any]:
    key_attrs = set(key)
    if version is not None:
        candidates = [[version]]
    else:
        every = [n for n in values if n not in key_attrs]
        candidates = [every, [n for n in changes if n not in key_attrs]]
    actions = _actions(migration, direction, changes, values, version)
    last: ExpressionError | None = None
    for names in candidates:
        compiler = Compiler()
        params: dict[str, Any] = {"TableName": table_name, "Key": key}
        try:
            params["UpdateExpression"] = compiler.update(actions)
            cond = _guard(table, direction, migration, values, names)
            if cond is not None:
                params["ConditionExpression"] = compiler.condition(cond)
        except ExpressionError as exc:
            last = exc
            continue
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        params.update(compiler.params())
        return params
    raise MigrationError(
        f"migration {migration.id}: cannot write item {_plain(key)}: {last}"
    )
