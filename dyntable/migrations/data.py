"""Data migration files: ``migrations/0001_backfill_email.py`` and their loader.

A migration file is a module with::

    \"\"\"Lower-case every customer's e-mail.\"\"\"     # the description (or DESCRIPTION)

    ENTITIES = ["customer"]                       # entity names it applies to

    def up(item: dict) -> dict | None:            # plain values of every attribute
        item["email"] = item["email"].lower()
        return item                               # None: leave the item as it is

    def down(item: dict) -> dict | None: ...      # optional: undo up()

    MARK_WRITES = True                            # optional: tag writes with _migration

``up`` / ``down`` receive a copy of the item as plain Python values (``str``, ``int`` /
``Decimal``, ``bytes``, ``list``, ``dict``, ``set``, ``None``); an attribute missing from
the returned dict (or set to ``None``) is removed. Key attributes cannot change, and the
model's version attribute is managed by the runner.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dyntable.migrations.errors import MigrationError

__all__ = [
    "APPLIED_ATTRIBUTE",
    "WRITER_ATTRIBUTE",
    "BrokenMigration",
    "Migration",
    "find_migration",
    "load_migrations",
    "migration_write",
    "new_migration",
    "scan_migrations",
]

#: String set of the migration ids applied to an item (exactly-once marker).
APPLIED_ATTRIBUTE = "_mig"
#: The migration that wrote this image: ``"<id>"`` for up, ``"<id>:down"`` for down.
WRITER_ATTRIBUTE = "_migration"

ItemFunction = Callable[[dict[str, Any]], "dict[str, Any] | None"]
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.py$")


@dataclass(frozen=True)
class Migration:
    """One data migration.

    Attributes:
        id: the file stem, e.g. ``0001_backfill_email``; migrations run in id order.
        description: one line shown by ``migrate status``.
        entities: entity names whose items it transforms.
        up: transforms an item (plain values) or returns ``None`` to leave it.
        down: undoes ``up`` (``None``: the migration cannot be reverted).
        mark_writes: set :data:`WRITER_ATTRIBUTE` on every item it writes, so stream
            handlers can tell migration writes from application writes.
    """

    id: str
    description: str
    entities: tuple[str, ...]
    up: ItemFunction
    down: ItemFunction | None = None
    mark_writes: bool = True

    def __post_init__(self) -> None:
        if not self.id or "#" in self.id:
            raise MigrationError(f"migration id {self.id!r} must be non-empty, without '#'")
        if not self.entities or not all(isinstance(e, str) and e for e in self.entities):
            raise MigrationError(f"migration {self.id}: ENTITIES must name at least one entity")
        if not callable(self.up):
            raise MigrationError(f"migration {self.id}: up must be a function")


def find_migration(migrations: Sequence[Migration], name: str) -> Migration:
    """The migration named by its id, its number (``"3"``, ``"0003"``) or its id's prefix."""
    for m in migrations:
        if m.id == name or m.id.startswith(f"{name}_") or m.id[:4] == name.zfill(4):
            return m
    raise MigrationError(f"no migration {name!r} (known: {[m.id for m in migrations]})")


def _entities(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence):
        raise MigrationError(f"{where}: ENTITIES must be a list of entity names or models")
    names = []
    for v in value:
        spec = getattr(v, "__dyntable__", None)
        names.append(spec.entity if spec is not None else v)
    return tuple(names)


def _load_file(path: Path) -> Migration:
    mid = path.stem
    spec = importlib.util.spec_from_file_location(f"dyntable_migration_{mid}", path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"cannot load migration file {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise MigrationError(f"migration {path} failed to import: {type(exc).__name__}: {exc}") \
            from exc
    entities = getattr(module, "ENTITIES", None)
    if not entities:
        raise MigrationError(f"migration {path}: declare ENTITIES = [...] (entity names)")
    if not callable(getattr(module, "up", None)):
        raise MigrationError(f"migration {path}: define up(item), returning the new item "
                             "(plain values) or None to leave it unchanged")
    doc = (module.__doc__ or "").strip().splitlines()
    description = getattr(module, "DESCRIPTION", None) or (doc[0] if doc else "")
    return Migration(
        id=mid,
        description=str(description),
        entities=_entities(entities, str(path)),
        up=getattr(module, "up", None),  # type: ignore[arg-type]
        down=getattr(module, "down", None),
        mark_writes=bool(getattr(module, "MARK_WRITES", True)),
    )


@dataclass(frozen=True)
class BrokenMigration:
    """A migration file that cannot be loaded (unfinished, a syntax error, no ``up``...).

    Attributes:
        id: the file stem, e.g. ``0003_split_names``.
        path: the file.
        error: why it cannot be loaded.
    """

    id: str
    path: Path
    error: str


def scan_migrations(directory: str | Path) -> tuple[list[Migration], list[BrokenMigration]]:
    """Every ``NNNN_name.py`` file in ``directory``: the migrations that load, in id order,
    and the files that do not, each with its error (one broken file hides no other)."""
    root = Path(directory)
    if not root.is_dir():
        raise MigrationError(f"migrations directory {root} does not exist "
                             "(create one with 'dyntable migrate new NAME')")
    files = sorted(p for p in root.iterdir() if _FILE.match(p.name))
    by_number: dict[str, list[Path]] = {}
    for p in files:
        by_number.setdefault(p.name[:4], []).append(p)
    loaded: list[Migration] = []
    broken: list[BrokenMigration] = []
    for p in files:
        others = [q.name for q in by_number[p.name[:4]] if q != p]
        if others:
            broken.append(BrokenMigration(p.stem, p, f"shares number {p.name[:4]} with "
                                                     f"{', '.join(others)}; renumber one"))
            continue
        try:
            loaded.append(_load_file(p))
        except MigrationError as exc:
            broken.append(BrokenMigration(p.stem, p, str(exc)))
        except Exception as exc:  # e.g. a module attribute of an unexpected type
            broken.append(BrokenMigration(p.stem, p, f"migration {p}: {type(exc).__name__}: "
                                                     f"{exc}"))
    return loaded, broken


def load_migrations(directory: str | Path) -> list[Migration]:
    """Every ``NNNN_name.py`` migration in ``directory``, in id order.

    Raises:
        MigrationError: a file cannot be loaded (the message lists every such file;
            ``dyntable migrate status`` shows them beside the others).
    """
    loaded, broken = scan_migrations(directory)
    if broken:
        if len(broken) == 1:
            raise MigrationError(broken[0].error)
        raise MigrationError(f"{len(broken)} migration files cannot be loaded: "
                             + "; ".join(b.error for b in broken))
    return loaded


_TEMPLATE = '''"""{title}"""

from __future__ import annotations

from typing import Any

#: Entity names (or model classes) whose items this migration transforms.
ENTITIES: list[str] = []


def up(item: dict[str, Any]) -> dict[str, Any] | None:
    """Return the new item (plain values), or None to leave it unchanged."""
    return None


def down(item: dict[str, Any]) -> dict[str, Any] | None:
    """Undo up(); delete this function if the migration cannot be reverted."""
    return None
'''


def new_migration(directory: str | Path, name: str) -> Path:
    """Create ``directory/NNNN_name.py`` from a template (the next free number)."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise MigrationError(f"migration name {name!r} needs letters or digits")
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    used = [int(m.group(1)) for p in root.iterdir() if (m := _FILE.match(p.name))]
    path = root / f"{max(used, default=0) + 1:04d}_{slug}.py"
    path.write_text(_TEMPLATE.format(title=name.strip().replace('"', "'")))
    return path


def migration_write(old_image: dict[str, Any] | None, new_image: dict[str, Any] | None) \
        -> str | None:
    """For a stream record's images (wire form): the migration that wrote it, or ``None``.

    A record is a migration write when its new image carries a :data:`WRITER_ATTRIBUTE`
    different from the old image's (application writes leave the attribute as it was).
    """
    new = (new_image or {}).get(WRITER_ATTRIBUTE)
    old = (old_image or {}).get(WRITER_ATTRIBUTE)
    if not new or new == old:
        return None
    value = new.get("S") if isinstance(new, dict) else None
    return value if isinstance(value, str) else None
