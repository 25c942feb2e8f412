"""Finding, installing and running the headless browser (dyntable/testing/browser.py), with a
stand-in executable that records how it was called."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dyntable.testing import install
from dyntable.testing.browser import (
    BrowserError,
    HeadlessChromium,
    MissingDependencyError,
    chromium_path,
    find_chromium,
)


def _fake(tmp_path: Path, body: str) -> Path:
    exe = tmp_path / "fake-chromium"
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(0o755)
    return exe


@pytest.fixture
def no_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("DYNTABLE_CHROMIUM", raising=False)


def test_an_explicit_browser_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = _fake(tmp_path, "exit 0")
    monkeypatch.setenv("DYNTABLE_CHROMIUM", str(exe))
    assert find_chromium() == str(exe)
    assert chromium_path() == str(exe)


@pytest.mark.usefixtures("no_browser")
def test_without_a_browser_outside_ci_the_error_says_how_to_get_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(MissingDependencyError, match="apt-get install chromium"):
        chromium_path()


@pytest.mark.usefixtures("no_browser")
def test_on_ci_as_root_it_is_installed_with_apt(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[str] = []
    exe = _fake(tmp_path, "exit 0")

    def apt_install(package: str) -> None:
        installed.append(package)
        monkeypatch.setenv("DYNTABLE_CHROMIUM", str(exe))

    monkeypatch.setattr(install, "_may_auto_install", lambda: True)
    monkeypatch.setattr(install, "_apt_install", apt_install)
    assert chromium_path() == str(exe)
    assert installed == ["chromium"]


def test_runs_are_headless_offline_and_isolated(tmp_path: Path) -> None:
    log = tmp_path / "args"
    exe = _fake(tmp_path, f'printf "%s\\n" "$@" > {log}; echo "<html>dumped</html>"')
    page = tmp_path / "page.html"
    page.write_text("<p>x</p>")
    chromium = HeadlessChromium(str(exe), width=800, height=600)
    assert chromium.dump_dom(page).strip() == "<html>dumped</html>"
    args = log.read_text().splitlines()
    assert "--headless" in args and "--dump-dom" in args
    assert "--host-resolver-rules=MAP * ~NOTFOUND" in args  # nothing resolves: offline
    assert "--window-size=800,600" in args
    assert any(a.startswith("--user-data-dir=") for a in args)
    assert ("--no-sandbox" in args) is (os.geteuid() == 0)
    assert args[-1] == page.resolve().as_uri()
    with pytest.raises(BrowserError, match="wrote no screenshot"):
        chromium.screenshot(page, tmp_path / "shot.png")
    failing = HeadlessChromium(str(_fake(tmp_path, "echo broken >&2; exit 3")))
    with pytest.raises(BrowserError, match="failed \\(3\\)"):
        failing.dump_dom(page)
