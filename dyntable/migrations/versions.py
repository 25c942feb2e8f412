"""Model schema versions for migrations: eager upgrades and the codec hook's behaviour.

The registry lives in :mod:`dyntable._internal.schema.versions` (below the codec). This module adds:

* :func:`upgrade_migration`: a data migration that rewrites every item of a model stored
  with an older schema version through the model's upgrade chain (the eager alternative to
  upgrading lazily on read);

The codec itself writes ``_v`` on encode and runs the upgrade chain on decode (lazy
upgrades, as items are read).
"""

from __future__ import annotations

from typing import Any, TypeVar

from dyntable._internal.schema.versions import (
    VERSION_ATTRIBUTE,
    check_chain,
    register_upgrade,
    upgrade,
    upgrade_values,
)
from dyntable.migrations.data import Migration
from dyntable.migrations.errors import MigrationError
from dyntable.schema.model import Model

__all__ = [
    "VERSION_ATTRIBUTE",
    "register_upgrade",
    "upgrade",
    "upgrade_migration",
    "upgrade_values",
]

M = TypeVar("M", bound=Model)
AV = dict[str, Any]


def upgrade_migration(model: type[Model], mid: str) -> Migration:
    """A data migration rewriting ``model``'s older items to its current schema version.

    Items already at the current version are left alone; ``down`` is not possible.
    """
    spec = model.__dyntable__
    current = spec.schema_version
    if current is None:
        raise MigrationError(f"{model.__name__} declares no schema_version")
    missing = check_chain(spec)
    if missing:
        raise MigrationError(f"{model.__name__}: no @upgrade from version(s) {missing}")

    def up(values: dict[str, Any]) -> dict[str, Any] | None:
        stored = int(values.get(VERSION_ATTRIBUTE) or 1)
        if stored >= current:
            return None
        values = upgrade_values(spec, values, stored)
        values[VERSION_ATTRIBUTE] = current
        return values

    return Migration(mid, f"upgrade {model.__name__} items to schema version {current}",
                     (spec.entity,), up)
