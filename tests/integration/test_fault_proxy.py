"""HTTP-level faults between each real transport and DynamoDB Local: nothing lost or doubled.

A :class:`~dyntable.testing.fault_proxy.FaultProxy` answers some requests itself
(throttling, HTTP 500), applies some and then fails them anyway (500 after forwarding,
connection reset), and forwards only part of some batches (UnprocessedItems /
UnprocessedKeys), so the transports' own retry loops, CRC32 checks and the library's batch
and transaction retries all run. Every check reads DynamoDB Local directly, not through
the proxy.

``DYNTABLE_FAULT_RATE`` (default 0.1; the batch-get test, which makes only ~50 requests,
uses at least 0.3 unless the rate is 0) and ``DYNTABLE_FAULT_SEED`` (default 1234) set the
injection; each test prints ``proxy.summary()``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from dyntable._internal.operations.tables import create_table_params
from dyntable.client import Client
from dyntable.errors import DyntableError
from dyntable.testing.fault_proxy import FaultProxy
from dyntable.testing.faults import fault_rate, fault_seed
from dyntable.transport.aio_base import AsyncTransportBase
from dyntable.transport.base import Transport, TransportBase
from dyntable.transport.boto3 import Boto3Transport, RetryConfig
from dyntable.transport.http import HttpTransport
from tests.async_facade import async_http, connect
from tests.models import Customer, Order, Product, shop

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RATE = fault_rate(0.1)
SEED = fault_seed(1234)
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
#: Faults the transport retries by itself (``partial`` is a success with leftovers).
RETRIED_BY_TRANSPORT = ("throttle", "http500", "http500_after", "reset")
ALL_KINDS = (*RETRIED_BY_TRANSPORT, "partial")

TRANSPORTS: dict[str, Callable[[str], Transport]] = {
    "boto3": lambda url: Boto3Transport(endpoint_url=url, region="us-east-1",
                                        retry=RetryConfig(max_attempts=10)),
    "http": lambda url: HttpTransport(endpoint_url=url, region="us-east-1", max_attempts=10),
    # the async client over AsyncHttpTransport (tests/async_facade.py)
    "async": lambda url: async_http(url, max_attempts=10),
}


@pytest.fixture(params=sorted(TRANSPORTS))
def transport_factory(request: pytest.FixtureRequest) -> Callable[[str], Transport]:
    """Builds the transport under test against a given endpoint."""
    return TRANSPORTS[str(request.param)]


@pytest.fixture
def direct(dynamodb_endpoint: str, unique_table_name: str) -> Iterator[Client]:
    """A client straight to DynamoDB Local on a fresh table (deleted afterwards)."""
    client = shop.connect(transport=HttpTransport(endpoint_url=dynamodb_endpoint,
                                                  region="us-east-1"),
                          table_name=unique_table_name)
    params = create_table_params(shop)
    params["TableName"] = unique_table_name
    params.pop("StreamSpecification", None)  # a stream makes DynamoDB Local's writes 10x+ slower
    client.send("CreateTable", params)
    client.wait_until_active()
    try:
        yield client
    finally:
        client.delete_table(wait=False)
        client.close()


@contextmanager
def proxied(direct: Client, endpoint: str, factory: Callable[[str], Transport],
            rate: float) -> Iterator[tuple[Client, FaultProxy]]:
    """A client on the same table through a fault proxy to ``endpoint``."""
    with FaultProxy(endpoint, rate=rate, seed=SEED) as proxy:
        client = connect(shop, factory(proxy.endpoint_url), direct.table_name)
        try:
            yield client, proxy
        finally:
            client.close()
            print(f"\n{type(client.transport).__name__}: injected {proxy.summary()}")


def assert_injected(proxy: FaultProxy, kinds: tuple[str, ...], transport: Transport) -> None:
    """Every kind was injected (rate > 0), and the transport retried each failed attempt."""
    if proxy.rate == 0:
        assert sum(proxy.injected.values()) == 0
        return
    missing = [k for k in kinds if not proxy.injected[k]]
    assert not missing, f"never injected {missing}: {proxy.summary()}"
    assert set(proxy.injected) <= set(kinds)
    assert proxy.upstream_errors == 0
    assert isinstance(transport, (TransportBase, AsyncTransportBase))
    failed_attempts = sum(proxy.injected[k] for k in RETRIED_BY_TRANSPORT)
    assert transport.retries == failed_attempts, proxy.summary()


def order(i: int, username: str | None = None) -> Order:
    return Order(username=username or f"user{i % 50}", order_id=f"o{i:06d}",
                 status="PLACED", placed_at=T0 + timedelta(seconds=i),
                 total=Decimal(i) / 100)


def order_key(o: Order) -> tuple[str, str]:
    return o.username, o.order_id


def test_ten_thousand_item_batch_write_writes_each_item_once(
    direct: Client, dynamodb_endpoint: str, transport_factory: Callable[[str], Transport]
) -> None:
    orders = [order(i) for i in range(10_000)]
    with proxied(direct, dynamodb_endpoint, transport_factory, RATE) as (db, proxy):
        with db.batch_writer(concurrency=4) as bw:
            for o in orders:
                bw.put(o)
        print("writer:", bw.stats.as_dict())
        assert_injected(proxy, ALL_KINDS, db.transport)
    stored = list(direct.scan(Order))
    assert len(stored) == len(orders)
    assert sorted(stored, key=order_key) == sorted(orders, key=order_key)
    assert bw.stats.items == len(orders)
    assert bw.stats.error_retries == 0  # the transports retried every fault themselves
    assert (bw.stats.unprocessed_retries > 0) == (proxy.injected["partial"] > 0)


def test_five_thousand_key_batch_get_returns_each_item_once(
    direct: Client, dynamodb_endpoint: str, transport_factory: Callable[[str], Transport]
) -> None:
    products = [Product(sku=f"sku{i:05d}", title=f"P{i}", price=Decimal(i), stock=i)
                for i in range(4963)]
    with direct.batch_writer(concurrency=4) as bw:
        for p in products:
            bw.put(p)
    absent = [Product.primary(sku=f"absent{i:02d}") for i in range(37)]
    keys: list[object] = [*products]
    for n, k in enumerate(absent):  # spread the absent keys over the chunks
        keys.insert(n * 135, k)
    assert len(keys) == 5000
    rate = max(RATE, 0.3) if RATE else 0.0
    with proxied(direct, dynamodb_endpoint, transport_factory, rate) as (db, proxy):
        result = db.batch_get(keys)
        print("get:", result.stats.as_dict())
        assert_injected(proxy, ALL_KINDS, db.transport)
    assert result.items == products  # each exactly once, in request order
    assert result.missing == absent
    assert result.stats.items == 5000
    assert (result.stats.unprocessed_retries > 0) == (proxy.injected["partial"] > 0)


def test_burst_of_200_transactions_applies_each_reported_success_exactly_once(
    direct: Client, dynamodb_endpoint: str, transport_factory: Callable[[str], Transport]
) -> None:
    customers = [f"cust{c}" for c in range(5)]
    for name in customers:
        direct.put(Customer(username=name, email=f"{name}@x.io", name=name))
    outcome: dict[int, DyntableError | None] = {}
    lock = threading.Lock()

    def worker(db: Client, first: int) -> None:
        for i in range(first, 200, 4):
            username = customers[i % len(customers)]
            try:
                with db.transaction(token=str(uuid.uuid4()), max_retries=10) as tx:
                    tx.put(order(i, username), if_absent=True)
                    tx.update(Customer, username=username).add(order_count=1)
            except DyntableError as exc:
                with lock:
                    outcome[i] = exc
            else:
                with lock:
                    outcome[i] = None

    with proxied(direct, dynamodb_endpoint, transport_factory, RATE) as (db, proxy):
        threads = [threading.Thread(target=worker, args=(db, t)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        failed = {i: exc for i, exc in outcome.items() if exc is not None}
        print("failed transactions:", {i: repr(e) for i, e in failed.items()})
        assert sorted(outcome) == list(range(200))
        assert_injected(proxy, RETRIED_BY_TRANSPORT, db.transport)

    stored = {o.order_id: o for o in direct.scan(Order)}
    applied = {i for i in range(200) if f"o{i:06d}" in stored}
    succeeded = {i for i, exc in outcome.items() if exc is None}
    assert applied == succeeded, f"applied but reported failed: {sorted(applied - succeeded)}"
    for name in customers:
        stored_customer = direct.get(Customer, username=name, consistent=True)
        assert stored_customer is not None
        mine = [i for i in succeeded if customers[i % len(customers)] == name]
        assert stored_customer.order_count == len(mine), name
    assert len(succeeded) >= 190, failed
