"""Batch writes and gets against DynamoDB Local: everything written, read, or reported."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.operations.retry import Backoff
from dyntable.client import Client
from dyntable.errors import BatchWriteError, InvalidRequestError, ItemTooLargeError
from dyntable.testing.faults import FaultyTransport
from dyntable.ttl import expires_at
from tests.models import Customer, Order, Product, shop

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def order(i: int, user: str = "ada") -> Order:
    return Order(username=user, order_id=f"o{i:05d}", status="PLACED",
                 placed_at=T0 + timedelta(minutes=i), total=Decimal(i))


def product(i: int) -> Product:
    return Product(sku=f"sku{i:05d}", title=f"P{i}", price=Decimal("1.25"), stock=i)


def test_mixed_entities_are_all_written_and_read_back(db: Client) -> None:
    customers = [Customer(username=f"u{i}", email=f"u{i}@x.io", name=f"U{i}") for i in range(40)]
    orders = [order(i) for i in range(60)]
    products = [product(i) for i in range(30)]
    with db.batch_writer() as bw:
        for obj in [*customers, *orders, *products]:
            bw.put(obj)
    assert bw.stats.items == 130 and bw.stats.requests >= 6
    assert db.scan(Customer).count() == 40
    assert db.query(Order.primary, username="ada").count() == 60
    assert all(c.version == 1 for c in customers)
    assert db.get(Customer, username="u7") == customers[7]

    result = db.batch_get([*orders[::-1], *products, *customers, Product.primary(sku="nope")])
    assert result.items == [*orders[::-1], *products, *customers]
    assert result.missing == [Product.primary(sku="nope")]


def test_deletes_by_instance_and_by_key(db: Client) -> None:
    products = [product(i) for i in range(50)]
    with db.batch_writer() as bw:
        for p in products:
            bw.put(p)
    with db.batch_writer() as bw:
        for p in products[:20]:
            bw.delete(p)
        for p in products[20:30]:
            bw.delete(Product, sku=p.sku)
    left = sorted(p.sku for p in db.scan(Product))
    assert left == [p.sku for p in products[30:]]


def test_concurrent_load_writes_every_item_once(db: Client) -> None:
    orders = [order(i, user=f"user{i % 7}") for i in range(3000)]
    with db.batch_writer(concurrency=4, max_pending=200) as bw:
        for o in orders:
            bw.put(o)
    assert bw.stats.items == 3000
    stored = sorted((o.username, o.order_id) for o in db.scan(Order))
    assert stored == sorted((o.username, o.order_id) for o in orders)


def test_exception_in_block_writes_what_was_given(db: Client) -> None:
    with pytest.raises(RuntimeError), db.batch_writer() as bw:
        for i in range(30):
            bw.put(product(i))
        raise RuntimeError("stop")
    assert db.scan(Product).count() == 30


def test_duplicate_and_oversized_items_are_refused_before_sending(db: Client) -> None:
    with db.batch_writer() as bw:
        bw.put(product(1))
        with pytest.raises(InvalidRequestError, match="PRODUCT#sku00001"):
            bw.put(product(1))
        with pytest.raises(ItemTooLargeError):
            bw.put(Product(sku="big", title="x" * 410_000, price=Decimal(1)))
    assert [p.sku for p in db.scan(Product)] == ["sku00001"]


def test_batch_get_dedupes_and_respects_hide_expired(make_client: Any) -> None:
    db = make_client()
    hiding = make_client(hide_expired=True)
    past = expires_at(datetime.now(timezone.utc) - timedelta(hours=1))
    expired = order(1).model_copy(update={"expires_at": past})
    live = order(2)
    with db.batch_writer() as bw:
        bw.put(expired)
        bw.put(live)
    assert db.batch_get([expired, live, expired]).items == [expired, live]
    hidden = hiding.batch_get([expired, live], consistent=True)
    assert hidden.items == [live] and hidden.missing == [expired]


@pytest.mark.sync_only("FaultyTransport wraps the sync transport")
def test_items_not_written_by_the_deadline_are_exactly_reported(db: Client) -> None:
    faulty = FaultyTransport(db.transport, rate=0.5, seed=11, kinds=("partial",))
    flaky = shop.connect(transport=faulty, table_name=db.table_name)
    products = [product(i) for i in range(200)]
    handed: list[Product] = []
    with pytest.raises(BatchWriteError) as info:
        # deadline=0: no retries; the first chunk left partly unwritten stops the writer
        with flaky.batch_writer(deadline=0.0, backoff=Backoff(0.001, 0.001)) as bw:
            for p in products:
                handed.append(p)
                bw.put(p)
    print("injected:", faulty.summary(), "handed in:", len(handed))
    unwritten = {a.target.sku for a in info.value.unprocessed}
    stored = {p.sku for p in db.scan(Product)}
    assert unwritten and stored
    assert stored | unwritten == {p.sku for p in handed}
    assert not stored & unwritten
    assert all(p.version == (0 if p.sku in unwritten else 1) for p in handed)
