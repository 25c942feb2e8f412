"""Collections: one query over a partition returning typed items of several entities."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable.codec.items import codec_for, entity_of
from dyntable.errors import DecodeError

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import Table

__all__ = ["Collection", "decode_item"]

M = TypeVar("M", bound="Model")


def decode_item(table: Table, item: dict[str, Any]) -> Model | None:
    """Decode an item by its entity attribute; ``None`` when the entity is unknown."""
    entity = entity_of(item, table.entity_attribute)
    if entity is None:
        return None
    model = table.model_for(entity)
    if model is None:
        return None
    return codec_for(model).decode(item)


@dataclass
class Collection:
    """Items of one partition, typed and grouped by entity.

    ``unknown`` holds raw items whose entity is missing or not registered on the table;
    ``errors`` holds items of known entities that failed to decode. Nothing is dropped.
    """

    items: list[Model] = field(default_factory=list)
    by_entity: dict[str, list[Model]] = field(default_factory=lambda: defaultdict(list))
    unknown: list[dict[str, Any]] = field(default_factory=list)
    errors: list[DecodeError] = field(default_factory=list)

    def add(self, table: Table, raw: dict[str, Any]) -> None:
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
