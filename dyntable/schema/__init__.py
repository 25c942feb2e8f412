"""Declarations: tables, indexes, models and key templates (names loaded on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

if TYPE_CHECKING:
    from dyntable.schema.keys import Key
    from dyntable.schema.model import TTL, Model, Version
    from dyntable.schema.table import GSI, LSI, Table

__all__ = ["GSI", "LSI", "TTL", "Key", "Model", "Table", "Version"]

_LAZY = {
    "GSI": ".table",
    "LSI": ".table",
    "TTL": ".model",
    "Key": ".keys",
    "Model": ".model",
    "Table": ".table",
    "Version": ".model",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
