"""A headless Chromium for checking rendered pages (the design view's browser test).

:func:`chromium_path` finds Debian's ``chromium`` (or Chrome) on this machine; when it is
missing and the process runs as root with ``CI`` set, it is installed with apt-get, as
:mod:`dyntable.testing.install` does for Java. Otherwise :class:`MissingDependencyError`
says how to get it. ``$DYNTABLE_CHROMIUM`` names a browser executable explicitly.

:class:`HeadlessChromium` drives the browser through its own command line only
(``--dump-dom`` and ``--screenshot``): no driver, no download. Every run uses a fresh
profile and resolves no host name, so a page that needs the network shows it.

This module imports only the standard library (and :mod:`dyntable.testing.install`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dyntable.testing.install import (
    LocalServerError,
    MissingDependencyError,
    output_tail,
    tool_path,
)

__all__ = [
    "APT_PACKAGE",
    "BrowserError",
    "HeadlessChromium",
    "MissingDependencyError",
    "chromium_path",
    "find_chromium",
]

APT_PACKAGE = "chromium"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class BrowserError(LocalServerError):
    """The headless browser failed to render a page."""


def find_chromium() -> str | None:
    """``$DYNTABLE_CHROMIUM``, else the first of chromium / chrome on PATH, else ``None``."""
    explicit = os.environ.get("DYNTABLE_CHROMIUM", "").strip()
    if explicit:
        return shutil.which(explicit) or (explicit if os.access(explicit, os.X_OK) else None)
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_path() -> str:
    """The browser executable, installed with apt-get first when allowed (root and CI).

    Raises:
        MissingDependencyError: no browser, and not allowed to install one.
    """
    return tool_path("chromium", find_chromium, APT_PACKAGE, (
        f"no headless browser: install Debian's {APT_PACKAGE} (apt-get install {APT_PACKAGE}) "
        "or set DYNTABLE_CHROMIUM to a Chromium/Chrome executable"))


@dataclass(frozen=True)
class HeadlessChromium:
    """Render local pages with a headless Chromium (``chromium --headless``).

    Args:
        path: the browser executable (see :func:`chromium_path`).
        width / height: the window size in CSS pixels.
        timeout: seconds before a run is abandoned.
    """

    path: str
    width: int = 1280
    height: int = 900
    timeout: float = 90.0

    def dump_dom(self, page: Path, *, budget_ms: int = 2000) -> str:
        """The page's DOM after its scripts ran (``--dump-dom``), as HTML text."""
        return self._run(page, ["--dump-dom", f"--virtual-time-budget={budget_ms}"])

    def screenshot(self, page: Path, out: Path, *, height: int | None = None,
                   budget_ms: int = 2000) -> Path:
        """Save a PNG of the page (``height`` overrides the window height) to ``out``."""
        out.parent.mkdir(parents=True, exist_ok=True)
        size = f"--window-size={self.width},{height or self.height}"
        self._run(page, [f"--screenshot={out}", size, "--hide-scrollbars",
                         f"--virtual-time-budget={budget_ms}"])
        if not out.is_file():
            raise BrowserError(f"chromium wrote no screenshot to {out}")
        return out

    def _run(self, page: Path, extra: list[str]) -> str:
        with tempfile.TemporaryDirectory(prefix="dyntable-chromium-") as profile:
            command = [
                self.path, "--headless", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
                "--disable-dev-shm-usage", "--mute-audio",
                # the page must work offline: no host name resolves
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={profile}", f"--window-size={self.width},{self.height}",
            ]
            if os.geteuid() == 0:  # Chromium refuses to run as root inside its sandbox
                command.append("--no-sandbox")
            command += [*extra, page.resolve().as_uri()]
            try:
                result = subprocess.run(command, capture_output=True, text=True,
                                        timeout=self.timeout, check=False)
            except subprocess.TimeoutExpired as exc:
                raise BrowserError(f"chromium timed out after {exc.timeout:.0f}s "
                                   f"rendering {page}") from exc
        if result.returncode != 0:
            raise BrowserError(f"chromium failed ({result.returncode}) on {page}:\n"
                               + output_tail(result.stderr))
        return result.stdout
