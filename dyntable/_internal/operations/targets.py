"""Naming one item: the one resolver for "an instance, or a model with key fields".

Every operation that names an item (get, delete, update, batch get, transact get,
transactions, batch writers) resolves what it was given here:

- a model instance: its primary key (and, for writes, its version);
- an :class:`~dyntable.schema.keys.ItemKey` (``Customer.primary(username="ada")``);
- a model class and the primary key's fields as keywords (``get(Customer, username=...)``).

The model must belong to the client's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dyntable._internal.codec.items import ItemCodec, codec_for
from dyntable._internal.operations.items import is_model, require_table
from dyntable.errors import InvalidRequestError
from dyntable.schema.keys import ItemKey

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["Target", "resolve"]

M = TypeVar("M", bound="Model")
AV = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Target(Generic[M]):
    """One item, resolved.

    Attributes:
        model / codec: the model class and its codec.
        fields: the primary key's field values.
        key: the primary key (wire form).
        instance: the object given, when one was (its version and field values are known).
    """

    model: type[M]
    codec: ItemCodec[M]
    fields: dict[str, Any]
    key: dict[str, AV]
    instance: M | None = None

    @property
    def version(self) -> int | None:
        """The instance's version (``None``: no instance, or a model without version)."""
        name = self.codec.spec.version_field
        if self.instance is None or name is None:
            return None
        return int(getattr(self.instance, name) or 0)


def resolve(target: Any, key_fields: Mapping[str, Any], table: TableSchema,
            *, what: str = "this call") -> Target[Any]:
    """Resolve an instance, an :class:`ItemKey` or a model class with key fields.

    Raises:
        InvalidRequestError: not one of those, key fields given with an instance or a key,
            a model of another table, or a key that is not a primary key.
        KeyTemplateError: unknown, missing or unusable key fields.
    """
    if is_model(target):
        if key_fields:
            raise InvalidRequestError(f"{what} takes an instance or key fields, not both")
        model: type[Any] = type(target)
        require_table(model, table)
        codec = codec_for(model)
        fields = {f: getattr(target, f) for f in codec.spec.primary.fields}
        return Target(model, codec, fields, codec.key_of(target), target)
    if isinstance(target, ItemKey):
        if key_fields:
            raise InvalidRequestError(f"{what} takes a key or key fields, not both")
        model = target.model
        require_table(model, table)
        if target.key.index is not None:
            raise InvalidRequestError(
                f"{target!r} is a key of index {target.key.index!r}; an item is named by its "
                f"primary key ({model.__name__}.{model.__dyntable__.primary.name}(...))"
            )
        fields = dict(target.fields)
    elif isinstance(target, type):
        model = target
        require_table(model, table)
        fields = dict(key_fields)
    else:
        raise InvalidRequestError(
            f"{what} takes a model instance, a key such as Customer.primary(username=...), "
            f"or a model class with key fields; not {target!r}"
        )
    codec = codec_for(model)
    return Target(model, codec, fields, codec.key(fields))
