"""Errors of the migrations layer (all :class:`~dyntable.errors.DyntableError`)."""

from __future__ import annotations

from dyntable.errors import DyntableError

__all__ = ["AppLoadError", "LockHeldError", "MigrationError", "SchemaSyncError"]


class MigrationError(DyntableError):
    """A data migration cannot run, or a migration function failed on an item."""


class LockHeldError(MigrationError):
    """Another worker holds the migration (live segment leases of another run)."""


class SchemaSyncError(DyntableError):
    """The live table cannot be brought to the declaration (or only destructively)."""


class AppLoadError(DyntableError):
    """``--app module:attribute`` does not name an importable :class:`~dyntable.Table`."""
