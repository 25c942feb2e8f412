"""cfn-lint (the ``dev`` extra) over a template's text: every finding as one line."""

from __future__ import annotations

import pytest


def cfn_lint(text: str) -> list[str]:
    """Findings of cfn-lint for the YAML ``text`` (errors, warnings and informational)."""
    api = pytest.importorskip(
        "cfnlint.api", reason="cfn-lint is not installed (it is in the dev extra)")
    return [str(m) for m in api.lint(text)]
