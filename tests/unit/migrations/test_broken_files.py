"""A migration file that cannot be loaded is reported with its error; the others still load."""

from __future__ import annotations

from pathlib import Path

import pytest

from dyntable.migrations.data import load_migrations, new_migration, scan_migrations
from dyntable.migrations.errors import MigrationError

GOOD = '''"""Lower-case e-mails."""
ENTITIES = ["customer"]

def up(item):
    return item
'''


def _files(root: Path) -> None:
    (root / "0001_good.py").write_text(GOOD)
    (root / "0002_syntax.py").write_text("ENTITIES = ['customer']\ndef up(item)\n")
    (root / "0003_no_up.py").write_text("ENTITIES = ['customer']\n")
    new_migration(root, "unfinished")  # 0004: the template names no entity yet
    (root / "0005_also_good.py").write_text(GOOD)


def test_scan_loads_the_good_files_and_reports_each_broken_one(tmp_path: Path) -> None:
    _files(tmp_path)
    loaded, broken = scan_migrations(tmp_path)
    assert [m.id for m in loaded] == ["0001_good", "0005_also_good"]
    errors = {b.id: b.error for b in broken}
    assert list(errors) == ["0002_syntax", "0003_no_up", "0004_unfinished"]
    assert "0002_syntax.py failed to import: SyntaxError" in errors["0002_syntax"]
    assert "0003_no_up.py: define up(item)" in errors["0003_no_up"]
    assert "declare ENTITIES" in errors["0004_unfinished"]
    assert broken[0].path == tmp_path / "0002_syntax.py"


def test_duplicate_numbers_are_broken_files_too(tmp_path: Path) -> None:
    (tmp_path / "0001_good.py").write_text(GOOD)
    (tmp_path / "0002_a.py").write_text(GOOD)
    (tmp_path / "0002_b.py").write_text(GOOD)
    loaded, broken = scan_migrations(tmp_path)
    assert [m.id for m in loaded] == ["0001_good"]
    assert {b.id: b.error for b in broken} == {
        "0002_a": "shares number 0002 with 0002_b.py; renumber one",
        "0002_b": "shares number 0002 with 0002_a.py; renumber one",
    }


def test_running_still_refuses_while_a_file_is_broken(tmp_path: Path) -> None:
    _files(tmp_path)
    with pytest.raises(MigrationError, match=r"^3 migration files cannot be loaded: .*"
                                             r"0002_syntax\.py failed to import.*0003_no_up"):
        load_migrations(tmp_path)
