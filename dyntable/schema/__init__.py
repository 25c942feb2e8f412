"""Declarations: tables, indexes, models and key templates (names loaded on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

if TYPE_CHECKING:
    from dyntable.schema.keys import ItemKey, Key, ModelKey
    from dyntable.schema.model import TTL, Model, Version
    from dyntable.schema.table import GSI, LSI, TableSchema

__all__ = ["GSI", "LSI", "TTL", "ItemKey", "Key", "Model", "ModelKey", "TableSchema", "Version"]

_LAZY = {
    "GSI": ".table",
    "LSI": ".table",
    "TTL": ".model",
    "ItemKey": ".keys",
    "Key": ".keys",
    "ModelKey": ".keys",
    "Model": ".model",
    "TableSchema": ".table",
    "Version": ".model",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
