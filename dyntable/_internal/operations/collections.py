"""Collections: one query over a partition returning typed items of several entities."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable._internal.codec.identity import identity
from dyntable._internal.codec.items import codec_for
from dyntable._internal.operations.flow import Flow, Request, gather
from dyntable._internal.operations.items import require_table
from dyntable._internal.operations.pages import RawPage, pages
from dyntable.errors import DecodeError, InvalidRequestError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition, Encoded

if TYPE_CHECKING:
    from dyntable.schema.keys import ModelKey
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["Collection", "collection_flow", "collection_request", "decode_item"]

M = TypeVar("M", bound="Model")


def decode_item(table: TableSchema, item: Mapping[str, Any]) -> Model | None:
    """Decode an item as the model it belongs to (by its entity attribute, else by its key;
    see :mod:`~dyntable._internal.codec.identity`); ``None`` when it matches no model."""
    model = identity(table).model_of(item)
    if model is None:
        return None
    return codec_for(model).decode(item)


@dataclass
class Collection:
    """Items of one partition, typed and grouped by entity.

    ``unknown`` holds raw items that match no model of the table (an entity that is not
    registered, or no entity attribute and a key no model's templates fit);
    ``errors`` holds items of known entities that failed to decode. Nothing is dropped.
    """

    items: list[Model] = field(default_factory=list)
    by_entity: dict[str, list[Model]] = field(default_factory=lambda: defaultdict(list))
    unknown: list[dict[str, Any]] = field(default_factory=list)
    errors: list[DecodeError] = field(default_factory=list)

    def add(self, table: TableSchema, raw: dict[str, Any]) -> None:
        """Decode one raw item into the collection."""
        try:
            obj = decode_item(table, raw)
        except DecodeError as exc:
            self.errors.append(exc)
            return
        if obj is None:
            self.unknown.append(raw)
            return
        self.items.append(obj)
        self.by_entity[type(obj).__dyntable__.entity].append(obj)

    def of(self, model: type[M]) -> list[M]:
        """The items of one model, in key order."""
        return list(self.by_entity.get(model.__dyntable__.entity, []))  # type: ignore[arg-type]

    def __getitem__(self, model: type[M]) -> list[M]:
        return self.of(model)

    def __iter__(self) -> Iterator[Model]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def collection_request(
    table: TableSchema,
    table_name: str,
    key: ModelKey[Any] | None = None,
    fields: Mapping[str, Any] | None = None,
    *,
    pk: str | None = None,
    index: str | None = None,
    sk_prefix: str | None = None,
    consistent: bool = False,
) -> Request:
    """The Query of one partition: named by a model key and its partition fields
    (``Customer.primary, username="ada"``), or, for power users, by the raw partition key
    value (``pk="CUSTOMER#ada"``, string partition keys)."""
    from dyntable.expressions.paths import attr

    if key is not None:
        if pk is not None or index is not None:
            raise InvalidRequestError("collection() takes a model key or pk=/index=, not both")
        require_table(key.model, table)
        spec = key.spec
        codec = codec_for(key.model)
        given = dict(fields or {})
        unknown = [f for f in given if f not in spec.pk_fields]
        missing = [f for f in spec.pk_fields if given.get(f) is None]
        if unknown or missing:
            raise InvalidRequestError(
                f"collection({key.model.__name__}.{spec.name}, ...) takes the partition "
                f"fields {list(spec.pk_fields)}; unknown {unknown}, missing {missing}"
            )
        values = {f: codec.coerce(f, v) for f, v in given.items()}
        index = spec.index
        pk_attrs, sk_attrs = spec.pk_attrs, spec.sk_attrs
        if spec.native:
            parts: list[Condition] = [attr(a) == Encoded(codec.encode_field(a, values[a]))
                                      for a in pk_attrs]
        else:
            parts = [attr(pk_attrs[0]) == Encoded(codec.key_part(spec, 0, values))]
    else:
        if fields:
            raise InvalidRequestError("collection(pk=...) takes no model fields")
        if not isinstance(pk, str) or not pk:
            raise InvalidRequestError(
                "collection() takes a model key and its partition fields "
                "(collection(Customer.primary, username='ada')) or pk='<partition key>'"
            )
        pk_attrs, sk_attrs = table.index_key_attrs(index)
        parts = [attr(pk_attrs[0]) == Encoded({"S": pk})]
    if sk_prefix is not None:
        if not sk_attrs:
            raise InvalidRequestError("sk_prefix needs a sort key")
        parts.append(attr(sk_attrs[0]).begins_with(Encoded({"S": sk_prefix})))
    compiler = Compiler()
    condition = parts[0]
    for p in parts[1:]:
        condition = condition & p
    params: dict[str, Any] = {"TableName": table_name,
                              "KeyConditionExpression": compiler.key_condition(condition)}
    if index:
        params["IndexName"] = index
        if consistent and not table.index(index).is_local:
            raise InvalidRequestError(f"index {index!r} is a GSI: no consistent reads")
    if consistent:
        params["ConsistentRead"] = True
    params.update(compiler.params())
    return Request("Query", params)


def collection_flow(table: TableSchema, request: Request) -> Flow[Collection]:
    """Every item of the partition, decoded into a :class:`Collection`."""
    result = Collection()

    def decode(raw: list[dict[str, Any]]) -> list[None]:
        for item in raw:
            result.add(table, item)
        return []

    got: list[RawPage] = yield from gather(pages(request, decode=decode))
    del got
    return result
