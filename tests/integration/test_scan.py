"""Scans with filters, and parallel scans from several threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from dyntable import F
from dyntable.client import Client
from tests.models import Customer, Product

pytestmark = pytest.mark.integration


@pytest.fixture
def products(db: Client) -> Client:
    for i in range(120):
        db.put(Product(sku=f"p{i:03d}", title="t", price=Decimal(i), stock=i % 7))
    db.put(Customer(username="ada", email="a@x", name="Ada"))
    return db


def test_scan_keeps_the_models_items_and_filters(products: Client) -> None:
    assert len(products.scan(Product).all()) == 120
    assert [c.username for c in products.scan(Customer)] == ["ada"]
    low = products.scan(Product).where(F.stock == 0).all()
    assert sorted(p.sku for p in low) == [f"p{i:03d}" for i in range(0, 120, 7)]
    assert products.scan(Product).where(F.stock == 0).count() == len(low)
    assert len(products.scan(Product).where(F.stock > 3).limit(10).all()) == 10


def test_dynamodb_local_honours_segments(products: Client) -> None:
    sizes = [len(products.scan(Product).segment(i, 4).all()) for i in range(4)]
    assert sum(sizes) == 120
    assert sum(1 for s in sizes if s > 0) >= 2  # items really are split between segments


def test_parallel_scan_from_threads(products: Client) -> None:
    total = 5

    def segment(i: int) -> list[str]:
        return [p.sku for p in products.scan(Product).segment(i, total).page_size(9)]

    with ThreadPoolExecutor(total) as pool:
        parts = list(pool.map(segment, range(total)))
    union = [sku for part in parts for sku in part]
    assert len(union) == len(set(union)) == 120
    assert set(union) == {p.sku for p in products.scan(Product)}
