"""Batch deadlines end to end: a normal run on DynamoDB Local, and a dead endpoint.

The dead endpoint is a closed loopback port: every request is refused, the transport's
own retries give up, and the batch must report every item after about one ``deadline``
however many items there are (before, each chunk of 25 waited a whole deadline).
``pytest.mark.timeout`` makes a regression fail rather than hang.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.operations.retry import Backoff
from dyntable.client import Client
from dyntable.errors import BatchGetError, BatchWriteError, TransportError
from dyntable.transport.base import Transport
from tests.models import Product, shop

pytestmark = pytest.mark.integration
QUICK = Backoff(base=0.01, cap=0.2)


def product(i: int) -> Product:
    return Product(sku=f"sku{i:05d}", title=f"P{i}", price=Decimal("2.50"), stock=i)


@pytest.mark.timeout(300)
def test_a_normal_run_writes_and_reads_every_item_within_its_deadline(db: Client) -> None:
    products = [product(i) for i in range(1000)]
    with db.batch_writer(deadline=2, concurrency=4, max_pending=200) as bw:
        for p in products:
            bw.put(p)
    assert bw.stats.items == 1000
    assert all(p.version == 1 for p in products)
    assert sorted(p.sku for p in db.scan(Product)) == [p.sku for p in products]
    result = db.batch_get([Product.primary(sku=p.sku) for p in products], deadline=2)
    assert result.items == products and result.missing == []


# -- a dead endpoint -------------------------------------------------------------------------


class Recording:
    """A transport wrapper that remembers the first key of every request it sends."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.first_keys: list[str] = []
        self._lock = threading.Lock()

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        (entries,) = params["RequestItems"].values()
        first = entries["Keys"][0] if operation == "BatchGetItem" else \
            entries[0]["PutRequest"]["Item"]
        with self._lock:
            self.first_keys.append(first["PK"]["S"])
        return self.inner.send(operation, params)

    def close(self) -> None:
        self.inner.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there any more: connections are refused


def _http(url: str) -> Transport:
    from dyntable.transport.credentials import Credentials
    from dyntable.transport.http import HttpTransport

    return HttpTransport(endpoint_url=url, region="us-east-1",
                         credentials=Credentials("AKIDTEST", "secret"), max_attempts=2,
                         connect_timeout=0.5, read_timeout=1.0)


def _boto3(url: str) -> Transport:
    import boto3

    from dyntable.transport.boto3 import Boto3Transport, RetryConfig

    session = boto3.Session(aws_access_key_id="AKIDTEST", aws_secret_access_key="secret",
                            region_name="us-east-1")
    return Boto3Transport(session=session, endpoint_url=url, region="us-east-1",
                          retry=RetryConfig(max_attempts=2), connect_timeout=0.5,
                          read_timeout=1.0)


@pytest.fixture(params=[_http, _boto3], ids=["http", "boto3"])
def dead(request: pytest.FixtureRequest) -> Iterator[tuple[Client, Recording]]:
    make: Callable[[str], Transport] = request.param
    recording = Recording(make(f"http://127.0.0.1:{_closed_port()}"))
    client = shop.connect(transport=recording, table_name="unreachable")
    yield client, recording
    client.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_dead_endpoint_reports_every_item_after_about_one_deadline(
    dead: tuple[Client, Recording], concurrency: int
) -> None:
    db, recording = dead
    products = [product(i) for i in range(1000)]
    handed: list[Product] = []
    with pytest.raises(BatchWriteError) as info:
        # max_pending holds every item: with 4 threads all 1,000 are handed in at once
        with db.batch_writer(deadline=2, concurrency=concurrency, max_pending=1000,
                             backoff=QUICK) as bw:
            for p in products:
                handed.append(p)
                bw.put(p)
    err = info.value
    assert [a.target for a in err.unprocessed] == handed
    assert len(handed) == (25 if concurrency == 1 else 1000)
    assert all(p.version == 0 for p in products)
    assert isinstance(err.__cause__, TransportError)
    # only the chunks in flight when the deadline passed were tried
    assert len(set(recording.first_keys)) <= concurrency


@pytest.mark.timeout(60)
def test_a_dead_endpoint_fails_a_batch_get_after_about_one_deadline(
    dead: tuple[Client, Recording],
) -> None:
    db, recording = dead
    keys = [Product.primary(sku=f"sku{i:05d}") for i in range(1000)]
    with pytest.raises(BatchGetError) as info:
        db.batch_get(keys, deadline=2)
    assert info.value.unprocessed == keys
    assert isinstance(info.value.__cause__, TransportError)
    assert set(recording.first_keys) == {"PRODUCT#sku00000"}
