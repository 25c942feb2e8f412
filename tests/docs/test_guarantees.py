"""docs/guarantees.md names, for each promise, the tests that would catch its violation:
every test it names must exist (so renaming or deleting one fails here)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guarantees.md"
_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name.startswith("test_")}


def test_every_test_named_by_the_guarantees_exists() -> None:
    references = _REFERENCE.findall(PAGE.read_text(encoding="utf-8"))
    assert len(references) >= 30
    missing = []
    for file, name in references:
        path = ROOT / file
        if not path.is_file() or name not in _tests(path):
            missing.append(f"{file}::{name}")
    assert not missing, f"docs/guarantees.md names tests that do not exist: {missing}"


def test_every_promise_names_a_test() -> None:
    text = PAGE.read_text(encoding="utf-8")
    promises = text.split("## What dyntable cannot guarantee")[0]
    for block in re.split(r"\n(?=\*\*)", promises)[1:]:
        title = block.split("**")[1]
        assert _REFERENCE.search(block), f"promise without a named test: {title!r}"
