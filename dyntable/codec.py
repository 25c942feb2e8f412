"""Python values <-> DynamoDB AttributeValues; per-model codecs compiled once per class."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

if TYPE_CHECKING:
    from dyntable._internal.codec.items import ItemCodec, codec_for, entity_of, extra_attributes
    from dyntable._internal.codec.limits import MAX_ITEM_SIZE, item_size

__all__ = ["MAX_ITEM_SIZE", "ItemCodec", "codec_for", "entity_of", "extra_attributes",
           "item_size"]

_LAZY = {
    "MAX_ITEM_SIZE": "dyntable._internal.codec.limits",
    "ItemCodec": "dyntable._internal.codec.items",
    "codec_for": "dyntable._internal.codec.items",
    "entity_of": "dyntable._internal.codec.items",
    "extra_attributes": "dyntable._internal.codec.items",
    "item_size": "dyntable._internal.codec.limits",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
