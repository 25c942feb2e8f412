"""The table / migrate / export commands: listed, one-line errors, offline output."""

from __future__ import annotations

from pathlib import Path

import pytest

click_testing = pytest.importorskip("click.testing")
yaml = pytest.importorskip("yaml")

from dyntable.cli.main import main  # noqa: E402


def _run(*args: str) -> tuple[int, str]:
    result = click_testing.CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_help_lists_the_commands() -> None:
    code, out = _run("--help")
    assert code == 0
    for name in ("table", "migrate", "export"):
        assert f"  {name} " in out
    for group, subs in {"table": ("create", "diff", "sync"),
                        "migrate": ("new", "status", "up", "down"),
                        "export": ("sam", "cloudformation")}.items():
        code, out = _run(group, "--help")
        assert code == 0 and all(s in out for s in subs)
    code, out = _run("migrate", "up", "--help")
    for option in ("--endpoint-url", "--region", "--dry-run", "--segments", "--total-segments"):
        assert option in out


def test_errors_are_one_line_with_non_zero_exit() -> None:
    code, out = _run("table", "diff", "--app", "no_such_module_x:table")
    assert code == 1
    assert out.strip().count("\n") == 0 and "AppLoadError" in out and "Traceback" not in out
    code, out = _run("export", "sam", "--app", "tests.models:Customer")
    assert code == 1 and "not a dyntable Table" in out


def test_export_and_new(tmp_path: Path) -> None:
    code, out = _run("export", "cloudformation", "--app", "tests.models:shop")
    assert code == 0
    doc = yaml.safe_load(out)
    assert doc["Resources"]["ShopTable"]["Properties"]["TableName"] == "shop"
    code, out = _run("migrate", "new", "add thing", "--dir", str(tmp_path))
    assert code == 0 and (tmp_path / "0001_add_thing.py").exists()
