"""Ambiguous 500s (the write was applied, the answer lost) on versioned single-item writes.

The transport retries; the retry fails its version condition because the first attempt was
applied. dyntable compares the stored item with the write's outcome and reports success,
while a real conflict is still a VersionConflictError.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest

from dyntable.client import Client
from dyntable.errors import VersionConflictError
from dyntable.operations.tables import create_table_params
from dyntable.testing.fault_proxy import Decision, FaultProxy
from dyntable.transport.base import Transport
from dyntable.transport.boto3 import Boto3Transport, RetryConfig
from dyntable.transport.http import HttpTransport
from tests.models import Product, shop

pytestmark = pytest.mark.integration


@pytest.fixture
def direct(dynamodb_endpoint: str) -> Iterator[Client]:
    db = shop.connect(transport=Boto3Transport(endpoint_url=dynamodb_endpoint,
                                               region="us-east-1"),
                      table_name=f"ambiguous-{uuid.uuid4().hex[:10]}")
    params = create_table_params(shop)
    params["TableName"] = db.table_name
    params.pop("StreamSpecification", None)
    db.send("CreateTable", params)
    db.wait_until_active()
    yield db
    db.delete_table(wait=False)
    db.close()


def _through(proxy: FaultProxy, kind: str, table: str) -> Client:
    transport: Transport = (
        HttpTransport(endpoint_url=proxy.endpoint_url, region="us-east-1", max_attempts=6)
        if kind == "http" else
        Boto3Transport(endpoint_url=proxy.endpoint_url, region="us-east-1",
                       retry=RetryConfig(max_attempts=6))
    )
    return shop.connect(transport=transport, table_name=table)


class _FirstAttemptFails:
    """Every other request (each write's first attempt) is applied, then answered 500."""

    def __init__(self) -> None:
        self.calls = 0

    def decide(self, operation: str, entries: int) -> Decision:
        self.calls += 1
        return Decision("http500_after") if self.calls % 2 else Decision()


@pytest.mark.parametrize("kind", ["http", "boto3"])
def test_versioned_put_and_update_survive_a_500_after_apply(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    with FaultProxy(dynamodb_endpoint, rate=1.0, seed=1, kinds=("http500_after",)) as proxy:
        proxy._dealer = _FirstAttemptFails()  # type: ignore[assignment]
        db = _through(proxy, kind, direct.table_name)
        product = Product(sku="w1", title="Widget", price=Decimal("1.50"))
        db.put(product)  # attempt 1 applied + 500; attempt 2 fails its condition
        assert product.version == 1
        assert db.transport.retries >= 1  # type: ignore[attr-defined]
        stored = direct.get(Product, sku="w1", consistent=True)
        assert stored is not None and stored.version == 1

        updated = db.update(stored).set(title="Widget 2").execute()
        assert (updated.version, updated.title) == (2, "Widget 2")
        db.delete(updated)
        assert proxy.injected["http500_after"] == 3, proxy.summary()
        db.close()
    assert direct.get(Product, sku="w1", consistent=True) is None


def test_a_real_conflict_is_still_reported(direct: Client) -> None:
    product = Product(sku="c1", title="A", price=Decimal(1))
    direct.put(product)
    stale = Product(sku="c1", title="B", price=Decimal(1), version=0)
    with pytest.raises(VersionConflictError):
        direct.put(stale)
    copy = direct.get(Product, sku="c1", consistent=True)
    assert copy is not None
    stale_copy = copy.model_copy()
    direct.update(copy).set(title="C").execute()
    with pytest.raises(VersionConflictError):
        direct.update(stale_copy).set(title="D").execute()
    final = direct.get(Product, sku="c1", consistent=True)
    assert final is not None and (final.title, final.version) == ("C", 2)
