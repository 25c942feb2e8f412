"""Migrations: schema diff and sync, versioned data migrations, model versions, export.

Public names load on first use (the CLI imports what it runs)::

    from dyntable.migrations import Migrator, load_migrations, diff_live, sync_table
"""

from __future__ import annotations

from dyntable._lazy import lazy_exports

_LAZY = {
    "AppLoadError": ".errors", "LockHeldError": ".errors", "MigrationError": ".errors",
    "SchemaSyncError": ".errors", "load_app": ".app", "Migration": ".data",
    "load_migrations": ".data", "migration_write": ".data", "new_migration": ".data",
    "Change": ".diff", "TableDiff": ".diff", "diff_live": ".diff", "diff_table": ".diff",
    "table_resource": ".export", "template": ".export", "to_yaml": ".export",
    "MigrationReport": ".report", "Migrator": ".runner", "sync_table": ".sync",
    "upgrade": ".versions", "upgrade_migration": ".versions",
}

__all__ = [
    "AppLoadError",
    "Change",
    "LockHeldError",
    "Migration",
    "MigrationError",
    "MigrationReport",
    "Migrator",
    "SchemaSyncError",
    "TableDiff",
    "diff_live",
    "diff_table",
    "load_app",
    "load_migrations",
    "migration_write",
    "new_migration",
    "sync_table",
    "table_resource",
    "template",
    "to_yaml",
    "upgrade",
    "upgrade_migration",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
