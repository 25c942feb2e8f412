"""Run the python code blocks of a Markdown page, top to bottom, in one namespace.

A block preceded by the line ``<!-- no-run -->`` is shown but not executed. The namespace
starts with ``db`` (a client on a fresh ``shop`` table from ``tests/models.py``) when the
page asks for it; ``AWS_ENDPOINT_URL_DYNAMODB`` points boto3 at the test DynamoDB Local, so
``table.connect()`` in a page reaches it too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_BLOCK = re.compile(r"(<!-- no-run -->\s*\n)?```python\n(.*?)```", re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of every runnable python block."""
    out = []
    for m in _BLOCK.finditer(text):
        if m.group(1):
            continue
        line = text.count("\n", 0, m.start(2)) + 1
        out.append((line, m.group(2)))
    return out


def run_page(path: Path, namespace: dict[str, Any]) -> int:
    """Execute the page's blocks; return how many ran. Errors name the page and line."""
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    for line, source in blocks:
        padded = "\n" * (line - 1) + source
        code = compile(padded, str(path), "exec", dont_inherit=True)
        exec(code, namespace)
    return len(blocks)
