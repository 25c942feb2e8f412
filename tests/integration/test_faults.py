"""Fault injection between dyntable and DynamoDB Local: nothing lost, nothing duplicated.

``DYNTABLE_FAULT_RATE`` / ``DYNTABLE_FAULT_SEED`` change the injection rate and seed; each
test prints what it injected.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from dyntable._internal.operations.retry import Backoff
from dyntable.client import Client, Transaction
from dyntable.testing.faults import BotocoreFaults, FaultyTransport, fault_rate, fault_seed
from dyntable.transport.base import CallEvent
from dyntable.transport.boto3 import Boto3Transport
from tests.models import Customer, Order, Product, shop

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sync_only(
        "FaultyTransport wraps the sync transport; the async client meets "
        "faults in test_fault_proxy.py"),
]
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
QUICK = Backoff(base=0.005, cap=0.2)


def faulty_client(db: Client, **kw: object) -> tuple[Client, FaultyTransport]:
    faulty = FaultyTransport(db.transport, **kw)  # type: ignore[arg-type]
    return shop.connect(transport=faulty, table_name=db.table_name), faulty


def order(i: int) -> Order:
    return Order(username=f"user{i % 50}", order_id=f"o{i:06d}", status="PLACED",
                 placed_at=T0 + timedelta(seconds=i), total=Decimal(i) / 100)


def test_every_botocore_retry_is_counted_and_observable(db: Client) -> None:
    if not isinstance(db.transport, Boto3Transport):
        pytest.skip("before-send fault injection needs the boto3 transport")
    events: list[CallEvent] = []
    db.transport.add_hook(events.append)
    before = db.transport.retries
    failed = 0
    with BotocoreFaults(db.transport, rate=max(fault_rate(), 0.2), seed=fault_seed()) as bf:
        for i in range(20):
            try:
                db.put(Product(sku=f"p{i}", title="x", price=Decimal(1)))
            except Exception:  # all 4 attempts faulted: surfaced, counted below
                failed += 1
    print("injected:", dict(bf.injected), "attempts:", bf.attempts, "failed calls:", failed)
    injected = sum(bf.injected.values())
    assert injected > 0
    assert sum(e.attempts for e in events) == bf.attempts
    assert sum(e.retries for e in events) == db.transport.retries - before
    # botocore retries throttles itself; a 500 on a versioned put comes back to dyntable,
    # which reads the item at once (one GetItem) and resends the put itself
    puts = [e for e in events if e.operation == "PutItem"]
    reads = [e for e in events if e.operation == "GetItem"]
    assert sum(e.retries for e in events) + len(reads) + failed == injected
    assert len(puts) == 20 + len(reads)
    assert sum(1 for e in puts if e.error) == len(reads) + failed
    stored = {p.sku for p in db.scan(Product)}
    assert len(stored) == 20 - failed


@pytest.mark.slow
def test_ten_thousand_item_batch_write_loses_nothing(db: Client) -> None:
    flaky, faulty = faulty_client(db)
    orders = [order(i) for i in range(10_000)]
    with flaky.batch_writer(concurrency=4, max_pending=500, backoff=QUICK) as bw:
        for o in orders:
            bw.put(o)
    print("injected:", faulty.summary(), "writer:", bw.stats.as_dict())
    stored = [(o.username, o.order_id, o.total) for o in db.scan(Order)]
    assert len(stored) == len(set(stored)) == 10_000
    assert sorted(stored) == sorted((o.username, o.order_id, o.total) for o in orders)
    assert bw.stats.items == 10_000
    if faulty.injected["partial"]:
        assert bw.stats.unprocessed_retries > 0
    if faulty.injected["throttle"] or faulty.injected["error_after"]:
        assert bw.stats.error_retries > 0


@pytest.mark.slow
def test_five_thousand_key_batch_get_reads_everything(db: Client) -> None:
    products = [Product(sku=f"sku{i:05d}", title=f"P{i}", price=Decimal(i)) for i in range(5000)]
    with db.batch_writer(concurrency=4) as bw:
        for p in products:
            bw.put(p)
    flaky, faulty = faulty_client(db)
    absent = [Product.primary(sku=f"absent{i}") for i in range(37)]
    result = flaky.batch_get([*absent, *products], backoff=QUICK)
    print("injected:", faulty.summary(), "get:", result.stats.as_dict())
    assert result.items == products
    assert result.missing == absent
    if faulty.injected["partial"]:
        assert result.stats.unprocessed_retries > 0


@pytest.mark.slow
def test_burst_of_200_transactions_applies_each_exactly_once(db: Client) -> None:
    db.put(Customer(username="ada", email="ada@x.io", name="Ada"))
    db.put(Product(sku="w1", title="Widget", price=Decimal(3), stock=1000))
    flaky, faulty = faulty_client(db)
    errors: list[BaseException] = []

    def worker(start: int) -> None:
        try:
            for i in range(start, start + 50):
                with Transaction(flaky, max_retries=10, backoff=QUICK) as tx:
                    tx.put(order(i).model_copy(update={"username": "ada"}), if_absent=True)
                    tx.update(Customer, username="ada").add(order_count=1)
                    tx.update(Product, sku="w1").add(stock=-1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(0, 200, 50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("injected:", faulty.summary())
    assert not errors, errors
    orders = db.query(Order.primary, username="ada").all()
    assert sorted(o.order_id for o in orders) == [f"o{i:06d}" for i in range(200)]
    ada = db.get(Customer, username="ada", consistent=True)
    widget = db.get(Product, sku="w1", consistent=True)
    assert ada is not None and ada.order_count == 200 and ada.version == 201
    assert widget is not None and widget.stock == 800
