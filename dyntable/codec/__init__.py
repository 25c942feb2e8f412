"""Python values <-> DynamoDB AttributeValues; per-model codecs compiled once per class."""

from dyntable.codec.items import ItemCodec, codec_for, entity_of
from dyntable.codec.limits import MAX_ITEM_SIZE, item_size

__all__ = ["MAX_ITEM_SIZE", "ItemCodec", "codec_for", "entity_of", "item_size"]
