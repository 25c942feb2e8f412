"""``dyntable migrate status`` lists every migration even when one file is unfinished."""

from __future__ import annotations

from pathlib import Path

import pytest

from dyntable.client import Client

click_testing = pytest.importorskip("click.testing")

from dyntable.cli.main import main  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.one_transport]

GOOD = '''"""Lower-case e-mails."""
ENTITIES = ["customer"]

def up(item):
    return None
'''


def _status(db: Client, endpoint: str, directory: Path) -> tuple[int, str, str]:
    result = click_testing.CliRunner().invoke(main, [
        "migrate", "status", "--app", "tests.models:shop", "--endpoint-url", endpoint,
        "--region", "us-east-1", "--table-name", db.table_name, "--dir", str(directory),
    ])
    return result.exit_code, result.stdout, result.stderr


def test_status_lists_the_good_migrations_and_the_broken_file(
    db: Client, dynamodb_endpoint: str, tmp_path: Path
) -> None:
    (tmp_path / "0001_lower_emails.py").write_text(GOOD)
    code, out, err = _status(db, dynamodb_endpoint, tmp_path)
    assert code == 0 and "0001_lower_emails" in out and "pending" in out

    (tmp_path / "0002_half_written.py").write_text("ENTITIES = ['customer']\ndef up(item\n")
    (tmp_path / "0003_later.py").write_text(GOOD.replace("Lower-case", "Later"))
    code, out, err = _status(db, dynamodb_endpoint, tmp_path)
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("0001_lower_emails") and "pending" in lines[0]
    assert lines[1].startswith("0002_half_written") and "broken" in lines[1]
    assert "0002_half_written.py failed to import: SyntaxError" in lines[1]
    assert lines[2].startswith("0003_later") and "Later e-mails." in lines[2]
    assert "1 migration file(s) cannot be loaded" in err
    assert "Traceback" not in out + err
