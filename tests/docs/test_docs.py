"""The README quickstart and every docs page's examples run, against DynamoDB Local."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.docs.runner import python_blocks, run_page

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md"))

pytestmark = pytest.mark.integration


@pytest.fixture
def transport_name() -> str:
    """Docs examples run once, over the default (boto3) transport."""
    return "boto3"


@pytest.fixture
def local_env(dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point boto3's default chain at the test DynamoDB Local."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODBSTREAMS", dynamodb_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield dynamodb_endpoint


def test_readme_quickstart_runs(local_env: str) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = python_blocks(quickstart)
    assert len(blocks) == 1, "the README quickstart is one python block"
    namespace: dict[str, Any] = {"__name__": "readme"}
    line = text.count("\n", 0, text.index(blocks[0][1]))
    code = compile("\n" * line + blocks[0][1], "README.md", "exec", dont_inherit=True)
    exec(code, namespace)
    assert namespace["ada"].username == "ada"
    assert [o.order_id for o in namespace["recent"]] == ["o1"]
    assert namespace["everything"].unknown == []


def test_readme_has_exactly_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    commands = [b for b in section.split("```bash\n")[1:]]
    assert len(commands) == 2
    assert "dyntable demo" in commands[0]
    assert commands[1].strip().startswith("python3 -m venv .venv") and "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].split("```")[0].strip() in ci, ".ci/run must call the README test command"


@pytest.mark.with_stream
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_docs_page_examples_run(page: Path, local_env: str, make_client: Any) -> None:
    text = page.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    if "`db`" in text or "db." in text:
        namespace["db"] = make_client()
    ran = run_page(page, namespace)
    if "```python" in text:
        assert ran > 0
