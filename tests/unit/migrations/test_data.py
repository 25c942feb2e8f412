"""Migration files, segment ranges and stream tagging (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dyntable.migrations.data import load_migrations, migration_write, new_migration
from dyntable.migrations.errors import MigrationError
from dyntable.migrations.segments import parse_segments

BODY = '''"""Lower-case e-mails."""
ENTITIES = ["customer"]

def up(item):
    item["email"] = item["email"].lower()
    return item
'''


def test_new_numbers_files_and_load_reads_metadata(tmp_path: Path) -> None:
    first = new_migration(tmp_path, "Backfill e-mail index")
    second = new_migration(tmp_path, "second one")
    assert first.name == "0001_backfill_e_mail_index.py"
    assert second.name == "0002_second_one.py"
    with pytest.raises(MigrationError, match="ENTITIES"):
        load_migrations(tmp_path)  # the template names no entity yet
    first.write_text(BODY)
    second.write_text(BODY.replace("Lower-case", "Again") + "\nMARK_WRITES = False\n")
    loaded = load_migrations(tmp_path)
    assert [m.id for m in loaded] == ["0001_backfill_e_mail_index", "0002_second_one"]
    assert loaded[0].description == "Lower-case e-mails."
    assert loaded[0].entities == ("customer",)
    assert loaded[0].down is None and loaded[0].mark_writes
    assert not loaded[1].mark_writes
    assert loaded[0].up({"email": "A@B"}) == {"email": "a@b"}


def test_broken_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "0001_bad.py").write_text("ENTITIES = ['x']\nraise RuntimeError('boom')\n")
    with pytest.raises(MigrationError, match=r"0001_bad\.py failed to import: RuntimeError"):
        load_migrations(tmp_path)
    with pytest.raises(MigrationError, match="does not exist"):
        load_migrations(tmp_path / "nope")


def test_segment_ranges() -> None:
    assert parse_segments(None, 4) == [0, 1, 2, 3]
    assert parse_segments("0-3,8, 10-11", 64) == [0, 1, 2, 3, 8, 10, 11]
    for bad in ("5-2", "0-64", "x", "-1"):
        with pytest.raises(MigrationError):
            parse_segments(bad, 64)
    with pytest.raises(MigrationError):
        parse_segments(None, 0)


def test_migration_write_tells_migration_records_apart() -> None:
    tagged = {"_migration": {"S": "0001_x"}}
    assert migration_write({}, tagged) == "0001_x"
    assert migration_write(tagged, tagged) is None  # an application update kept the tag
    assert migration_write(tagged, {}) is None  # an application put dropped it
    assert migration_write(tagged, {"_migration": {"S": "0001_x:down"}}) == "0001_x:down"
