"""``--sample N``: the design view reads at most N items of a live table (DynamoDB Local)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from dyntable.cli.main import main
from dyntable.client import Client
from dyntable.design.model import build_design
from dyntable.design.samples import load_fixture, scan_sample
from tests.models import shop
from tests.unit.design.shop import SAMPLES

pytestmark = [pytest.mark.integration, pytest.mark.one_transport]


class _Recording:
    """Passes calls to a transport and keeps (operation, params, answer) of each."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.inner.send(operation, params)
        self.calls.append((operation, dict(params), answer))
        return answer

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def filled(db: Client) -> Client:
    for obj in load_fixture(SAMPLES, shop):
        assert not isinstance(obj, dict)
        db.put(obj)
    return db


def test_a_sample_is_one_scan_with_limit(filled: Client) -> None:
    recording = _Recording(filled.transport)
    db = shop.connect(transport=recording, table_name=filled.table_name)
    items = scan_sample(db, 5)
    assert len(items) == 5
    ((operation, params, answer),) = recording.calls
    assert (operation, params) == ("Scan", {"TableName": filled.table_name, "Limit": 5})
    assert answer["ScannedCount"] <= 5  # DynamoDB read no more than N items
    design = build_design(shop, items, source="live", examples=False, placeholders=False)
    assert len(design.items) == 5
    assert all(s.entity in shop.models and s.source == "live" for s in design.items)


def test_the_cli_samples_the_live_table(filled: Client, dynamodb_endpoint: str) -> None:
    result = CliRunner().invoke(main, [
        "design", "--app", "tests.models:shop", "--format", "json", "--sample", "4",
        "--endpoint-url", dynamodb_endpoint, "--region", "us-east-1",
        "--table-name", filled.table_name], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["items"]) == 4
    assert {i["source"] for i in data["items"]} == {"live"}
    assert all(i["entity"] in shop.models for i in data["items"])
