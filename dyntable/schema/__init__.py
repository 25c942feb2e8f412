"""Declarations: tables, indexes, models and key templates."""

from dyntable.schema.keys import Key
from dyntable.schema.model import TTL, Model, Version
from dyntable.schema.table import GSI, LSI, Table

__all__ = ["GSI", "LSI", "TTL", "Key", "Model", "Table", "Version"]
