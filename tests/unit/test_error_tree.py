"""The error tree drawn in dyntable.errors' docstring and in docs/errors.md is the real one."""

from __future__ import annotations

import re
from pathlib import Path

from dyntable import errors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
_LINE = re.compile(r"^(?P<indent>[│ ├└─]*)(?P<name>[A-Z]\w+)")


def _tree(text: str) -> list[tuple[int, str]]:
    """``(depth, class name)`` per line of a drawn tree starting at DyntableError."""
    all_lines = text.splitlines()
    start = next(i for i, line in enumerate(all_lines) if line.strip() == "DyntableError")
    margin = len(all_lines[start]) - len(all_lines[start].lstrip())
    lines = []
    for line in all_lines[start:]:
        if not line.strip() or line.strip() == "```":
            break
        lines.append(line[margin:])
    out = []
    for line in lines:
        m = _LINE.match(line)
        assert m, f"not a tree line: {line!r}"
        out.append((len(m.group("indent")) // 4, m.group("name")))
    return out


def _check(tree: list[tuple[int, str]]) -> None:
    parents: list[type[BaseException]] = []
    for depth, name in tree:
        cls = getattr(errors, name)
        del parents[depth:]
        if parents:
            assert issubclass(cls, parents[-1]), f"{name} is not a {parents[-1].__name__}"
        parents.append(cls)


def test_the_docstring_tree_matches_the_classes() -> None:
    tree = _tree(errors.__doc__ or "")
    _check(tree)
    drawn = {name for _, name in tree}
    classes = {n for n in errors.__all__ if isinstance(getattr(errors, n), type)
               and issubclass(getattr(errors, n), errors.DyntableError)}
    assert classes - {"CancellationReason"} == drawn


def test_the_docs_page_draws_the_same_tree() -> None:
    assert _tree(DOCS.read_text(encoding="utf-8")) == _tree(errors.__doc__ or "")
