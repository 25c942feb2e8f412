"""Single-item operations as flows: get, put, delete and update, from request to object.

The requests are compiled by :mod:`dyntable._internal.operations.items`; each flow sends its request
through :func:`~dyntable._internal.operations.send.send` and turns the answer into what the caller
gets (a model object, the old item, the updated item). Both clients run these flows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dyntable._internal.codec.items import ItemCodec, codec_for
from dyntable._internal.operations import items as ops
from dyntable._internal.operations import stamps
from dyntable._internal.operations.flow import Flow
from dyntable._internal.operations.send import send
from dyntable._internal.operations.targets import Target, resolve
from dyntable._internal.operations.unique import stored_values, touched_uniques
from dyntable._internal.operations.update_actions import UpdateActions
from dyntable._internal.schema.receipts import remember
from dyntable.errors import InvalidRequestError, ItemNotFoundError
from dyntable.expressions.conditions import Condition
from dyntable.expressions.paths import F, Path
from dyntable.ttl import item_expired

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["UpdateBuilderBase", "delete_flow", "get_flow", "put_flow"]

M = TypeVar("M", bound="Model")


def get_flow(
    table: TableSchema,
    table_name: str,
    target: Any,
    key: Mapping[str, Any],
    *,
    consistent: bool = False,
    project: Sequence[str | Path] | None = None,
    hide_expired: bool = False,
) -> Flow[Any]:
    """The item named by ``target`` (and ``key`` fields), decoded, or ``None``."""
    item = resolve(target, key, table, what="get()")
    codec = item.codec
    paths = [F[p] if isinstance(p, str) else p for p in project] if project else None
    req = ops.get_request(codec, table_name, item.key, consistent=consistent, project=paths)
    response = yield from send(req)
    raw = response.get("Item")
    if not raw:
        return None
    obj = codec.decode_partial(raw) if paths else codec.decode(raw)
    if hide_expired and item_expired(obj):
        return None
    return obj


def put_flow(
    table: TableSchema,
    table_name: str,
    obj: M,
    *,
    condition: Condition | None = None,
    if_absent: bool = False,
    return_old: bool = False,
) -> Flow[M | None]:
    """Write ``obj``; on success its version (and write receipts) are those stored."""
    if not ops.is_model(obj):
        raise InvalidRequestError(f"put() takes a model instance, not {type(obj).__name__}")
    ops.require_table(type(obj), table)
    codec = codec_for(type(obj))
    if codec.spec.unique_fields:
        if return_old:
            raise InvalidRequestError(
                f"{codec.model.__name__} has Unique fields, written in a transaction, which "
                "cannot return the old item: read it first")
        tx = _transaction(table, table_name)
        tx.put(obj, condition=condition, if_absent=if_absent)
        yield from tx.commit_flow()
        return None
    req = ops.put_request(codec, table_name, obj, condition=condition, if_absent=if_absent,
                          return_old=return_old)
    response = yield from send(req)
    stamps.apply(obj, req.stamps)
    if req.new_version is not None:
        name = codec.spec.version_field
        assert name is not None
        obj.__dict__[name] = req.new_version
        remember(obj, req.new_version, req.receipts)
    if return_old:
        old = response.get("Attributes")
        return codec.decode(old) if old else None
    return None


def delete_flow(
    table: TableSchema,
    table_name: str,
    target: Any,
    key: Mapping[str, Any],
    *,
    condition: Condition | None = None,
    return_old: bool = False,
) -> Flow[Any]:
    """Delete by instance (its version is checked), key, or model and key fields."""
    item = resolve(target, key, table, what="delete()")
    if item.codec.spec.unique_fields:
        # the stored values name the guard items to delete: read them (the write is
        # conditioned on them, so a concurrent change fails it rather than leak a guard)
        stored = yield from _read(item, table_name)
        if stored is None:
            return None
        tx = _transaction(table, table_name)
        tx.delete_known(item, condition=condition, old_uniques=stored_values(stored))
        yield from tx.commit_flow()
        return stored if return_old else None
    req = ops.delete_request(item.codec, table_name, item.key, condition=condition,
                             expected_version=item.version, return_old=return_old)
    response = yield from send(req)
    if return_old:
        old = response.get("Attributes")
        return item.codec.decode(old) if old else None
    return None


class UpdateBuilderBase(UpdateActions, Generic[M]):
    """Collects update actions for one item (no I/O); the clients' builders run it.

    From an instance, the instance's version is checked (when the model has one) and its
    field values are known, so index keys can be rewritten without giving them.
    """

    def __init__(self, table: TableSchema, table_name: str, target: Any,
                 key: Mapping[str, Any], *, upsert: bool = False) -> None:
        what = "upsert()" if upsert else "update()"
        item: Target[M] = resolve(target, key, table, what=what)
        if upsert and item.instance is not None:
            raise InvalidRequestError(
                "upsert() takes a key (Model, key fields or Model.primary(...)), not an "
                "instance: to write an object use put(), to change a stored one update()"
            )
        self._table = table
        self._table_name = table_name
        self._item = item
        self._codec: ItemCodec[M] = item.codec
        self.spec = ops.UpdateSpec(upsert=upsert)
        if item.instance is not None:
            self.spec.known = dict(item.instance.__dict__)
            self.spec.expected_version = item.version

    def request(self) -> ops.Request:
        """The compiled UpdateItem request with its context."""
        return ops.update_request(self._codec, self._table_name, self._item.fields, self.spec)

    def params(self) -> dict[str, Any]:
        """The UpdateItem parameters (compile only)."""
        return self.request().params

    def update_flow(self) -> Flow[M]:
        """Send the update; return the item as stored afterwards (the instance given, if
        any, is refreshed from it)."""
        codec = self._codec
        if codec.spec.unique_fields and touched_uniques(codec, self.spec.actions):
            obj: M = yield from self._unique_update_flow()
        else:
            response = yield from send(self.request())
            obj = codec.decode(response["Attributes"])
        target = self._item.instance
        if target is not None:
            for k, v in obj.__dict__.items():
                target.__dict__[k] = v
            name = self._codec.spec.version_field
            if name is not None:
                remember(target, obj.__dict__[name], _receipts_of(obj))
        return obj


    def _unique_update_flow(self) -> Flow[M]:
        """An update changing Unique fields: read their stored values, write the item and
        the guards in one transaction, read the item back."""
        item = self._item
        stored = yield from _read(item, self._table_name)
        if stored is None and not self.spec.upsert:
            raise ItemNotFoundError(
                f"update of {item.model.__name__} key={item.key}: no such item (put it first, "
                "or use upsert)", code="ConditionalCheckFailedException",
                operation="UpdateItem", table=self._table_name, key=item.key)
        from dyntable._internal.operations.transactions import TxUpdate

        update: TxUpdate[M] = TxUpdate(item)
        update.spec = replace(self.spec, return_values="NONE")
        update.old_uniques = (stored_values(stored) if stored is not None else
                              dict.fromkeys(item.codec.spec.unique_fields))
        tx = _transaction(self._table, self._table_name)
        tx.add_update(item, update)
        yield from tx.commit_flow()
        after: M | None = yield from _read(item, self._table_name)
        assert after is not None
        return after


def _transaction(table: TableSchema, table_name: str) -> Any:
    from dyntable._internal.operations.transactions import TransactionBuilder

    return TransactionBuilder(table, table_name)


def _read(item: Target[Any], table_name: str) -> Flow[Any]:
    """The item, read consistently (``None`` when absent)."""
    req = ops.get_request(item.codec, table_name, item.key, consistent=True)
    response = yield from send(req)
    raw = response.get("Item")
    return item.codec.decode(raw) if raw else None


def _receipts_of(obj: Any) -> Any:
    from dyntable._internal.schema.receipts import recall

    name = type(obj).__dyntable__.version_field
    return recall(obj, obj.__dict__[name]) if name else None
