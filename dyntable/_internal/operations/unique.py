"""Unique values: the guard items that keep a ``Unique`` field's values distinct (no I/O).

Each value of a Unique field held by an item has a guard item, keyed by entity, field and
value under dyntable's reserved prefix (``_dyntable#unique#customer#email#ada@x``), that
names its owner (the item's primary key). Writes that give, change or drop such a value go
in one transaction with the item's write (OneTable's approach):

* a new value: put its guard, on condition that none exists (or this item owns it);
* a value dropped or changed: delete its old guard;
* the item's write is conditioned on the values its old guards stand for, so a writer that
  read an older value fails instead of leaking a guard.

The guards live in their own partitions and carry no model's entity: queries, collections
and stream routing of the owning entity never see them (:mod:`~dyntable._internal.codec.identity`
treats the reserved prefix as dyntable's own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dyntable._internal.codec.fields import key_text
from dyntable._internal.codec.identity import RESERVED_PREFIX
from dyntable._internal.operations.items import is_operand
from dyntable._internal.schema.remembered import remembered
from dyntable.errors import InvalidRequestError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition, Encoded, all_of
from dyntable.expressions.paths import F, attr
from dyntable.expressions.updates import Action

if TYPE_CHECKING:
    from dyntable._internal.codec.items import ItemCodec
    from dyntable.schema.model import Model

__all__ = ["GUARD_ENTITY", "Change", "changes", "guard_delete", "guard_put", "guard_template",
           "item_condition", "stored_values", "touched_uniques"]

AV = dict[str, Any]
#: The entity attribute value of guard items (no model may use it).
GUARD_ENTITY = "_dyntable_unique"
_SK = RESERVED_PREFIX + "unique"

#: (field, old value, new value) of one Unique field a write changes
Change = tuple[str, Any, Any]


def guard_template(entity: str, name: str) -> str:
    """The partition key text of the guard items of field ``name`` (for design views)."""
    return f"{_SK}#{entity}#{name}#{{value}}"


def guard_key(codec: ItemCodec[Any], name: str, value: Any) -> dict[str, AV]:
    """The primary key of the guard item of ``value`` of field ``name``."""
    table = codec.spec.table
    text = key_text(codec.coerce(name, value))
    key: dict[str, AV] = {table.pk: {"S": f"{_SK}#{codec.entity}#{name}#{text}"}}
    if table.sk:
        key[table.sk] = {"S": _SK}
    return key


def guard_put(codec: ItemCodec[Any], table_name: str, name: str, value: Any,
              owner: Mapping[str, AV]) -> dict[str, Any]:
    """The Put of a guard item: only where no guard exists, or this owner's."""
    key = guard_key(codec, name, value)
    item: dict[str, AV] = {**key, "owner": {"M": dict(owner)}, "field": {"S": name}}
    entity = codec.entity_attr
    if entity is not None:
        item[entity] = {"S": GUARD_ENTITY}
    pk = codec.spec.table.pk
    compiler = Compiler()
    mine = attr("owner") == Encoded({"M": dict(owner)})
    text = compiler.condition(attr(pk).not_exists() | mine)
    body = {"TableName": table_name, "Item": item, "ConditionExpression": text,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD", **compiler.params()}
    return {"Put": body}


def guard_delete(codec: ItemCodec[Any], table_name: str, name: str, value: Any
                 ) -> dict[str, Any]:
    """The Delete of a guard item (a missing guard is no error)."""
    return {"Delete": {"TableName": table_name, "Key": guard_key(codec, name, value)}}


def stored_values(obj: Model) -> dict[str, Any] | None:
    """The Unique values of the item ``obj`` was read from, if it was read by dyntable."""
    held = remembered(obj)
    return dict(held.uniques) if held is not None and held.uniques is not None else None


def changes(codec: ItemCodec[Any], old: Mapping[str, Any] | None, new: Mapping[str, Any]
            ) -> list[Change]:
    """The Unique fields whose value differs between ``old`` (``None``: unknown, as for an
    object built by hand) and ``new``."""
    out: list[Change] = []
    for name in codec.spec.unique_fields:
        if name not in new:
            continue
        before = None if old is None else old.get(name)
        after = new[name]
        if old is None or before != after:
            out.append((name, before, after))
    return out


def item_condition(codec: ItemCodec[Any], old: Mapping[str, Any] | None,
                   new: Mapping[str, Any], names: list[str]) -> Condition | None:
    """The condition on the item's write: its stored Unique values are still ``old`` (so
    the guards deleted are its own). With ``old`` unknown (a put of an object built by
    hand): the item is absent, or already holds the new values."""
    if not names:
        return None

    def holds(values: Mapping[str, Any]) -> Condition:
        parts = [F[n] == values[n] if values.get(n) is not None else F[n].not_exists()
                 for n in names]
        cond = all_of(*parts)
        assert cond is not None
        return cond

    if old is None:
        return attr(codec.spec.primary.pk_attr).not_exists() | holds(new)
    return holds(old)


def touched_uniques(codec: ItemCodec[Any], actions: list[Action]) -> dict[str, Any]:
    """The new values an update's actions give Unique fields (``None``: removed).

    Raises:
        InvalidRequestError: a Unique field is computed or changed inside (no plain value).
    """
    out: dict[str, Any] = {}
    unique = set(codec.spec.unique_fields)
    for a in actions:
        if a.path.raw or a.path.field not in unique:
            continue
        name = a.path.field
        if len(a.path.elements) == 1 and a.kind == "REMOVE":
            out[name] = None
        elif len(a.path.elements) == 1 and a.kind == "SET" and not is_operand(a.value):
            out[name] = codec.coerce(name, a.value) if a.value is not None else None
        else:
            raise InvalidRequestError(
                f"{codec.model.__name__}.{name} is Unique: set it to a plain value or remove "
                "it (its guard item is written from the value)")
    return out

