"""The Streams-API consumers end to end on DynamoDB Local.

Every test runs three times: the sync ``StreamConsumer`` over the default transport
(``shop.connect(endpoint_url=...)``, HttpTransport) and over Boto3Transport, and the
``AsyncStreamConsumer`` over an ``AsyncClient`` with AsyncHttpTransport (each ``run`` in
``asyncio.run``, each consumer with a client of its own). Items are written with a sync
client; lease-store flows run with the driver of the variant under test.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import pytest

from dyntable._internal.operations.flow import Flow
from dyntable.async_client import AsyncClient
from dyntable.client import Client
from dyntable.streams import (
    AsyncStreamConsumer,
    LeaseLostError,
    LeaseStore,
    Router,
    StreamConsumer,
    StreamEvent,
)
from dyntable.streams.checkpoints import LEASE_TABLE
from dyntable.streams.source import list_shards_flow, stream_arn_flow
from dyntable.transport.aio_http import AsyncHttpTransport
from dyntable.transport.boto3 import Boto3Transport
from dyntable.transport.http import HttpTransport
from tests.models import Customer, Order, Product, shop

pytestmark = pytest.mark.integration

PLACED = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
R = TypeVar("R")


class Consumer(Protocol):
    """What the tests call on a consumer (the sync consumer's face)."""

    def run(self, *, max_records: int | None = None, until_idle: float | None = None
            ) -> int: ...

    def stop(self) -> None: ...

    @property
    def owned_shards(self) -> list[str]: ...


class AsyncRunner:
    """An AsyncStreamConsumer with the sync consumer's face: each run in ``asyncio.run``
    (a loop per run, as a Lambda handler or a script would), ``stop()`` from any thread."""

    def __init__(self, consumer: AsyncStreamConsumer) -> None:
        self.consumer = consumer

    def run(self, *, max_records: int | None = None, until_idle: float | None = None) -> int:
        return asyncio.run(self.consumer.run(max_records=max_records, until_idle=until_idle))

    def stop(self) -> None:
        self.consumer.stop()

    @property
    def owned_shards(self) -> list[str]:
        return self.consumer.owned_shards


class Streams:
    """A table with a stream, a sync client writing to it, and consumers of the variant."""

    def __init__(self, kind: str, endpoint: str, db: Client) -> None:
        self.kind = kind
        self.endpoint = endpoint
        self.db = db
        self.async_clients: list[AsyncClient] = []

    @property
    def lease_table(self) -> str:
        return f"{self.db.table_name}-leases"

    def async_client(self) -> AsyncClient:
        client = AsyncClient(shop, transport=AsyncHttpTransport(
            endpoint_url=self.endpoint, region="us-east-1"), table_name=self.db.table_name)
        self.async_clients.append(client)
        return client

    def consumer(self, router: Router, **options: Any) -> Consumer:
        options.setdefault("lease_table", self.lease_table)
        options.setdefault("poll_interval", 0.05)
        if self.kind == "async":
            return AsyncRunner(AsyncStreamConsumer(self.async_client(), router, **options))
        return StreamConsumer(self.db, router, **options)

    def run(self, flow: Flow[R]) -> R:
        """Run a flow with this variant's driver."""
        if self.kind == "async":
            client = self.async_client()
            return asyncio.run(client.run(flow))
        return self.db.run(flow)

    def close(self) -> None:
        for client in self.async_clients:
            asyncio.run(client.close())


@pytest.fixture(params=["http", "boto3", "async"])
def s(request: pytest.FixtureRequest, dynamodb_endpoint: str,
      unique_table_name: str) -> Iterator[Streams]:
    if request.param == "boto3":
        client = shop.connect(transport=Boto3Transport(endpoint_url=dynamodb_endpoint,
                                                       region="us-east-1"),
                              table_name=unique_table_name)
    else:  # the default transport, as a user connects
        client = shop.connect(endpoint_url=dynamodb_endpoint, table_name=unique_table_name)
        assert isinstance(client.transport, HttpTransport)
    client.create_table()
    streams = Streams(str(request.param), dynamodb_endpoint, client)
    yield streams
    streams.close()
    client.delete_table(wait=False)
    leases = Client(LEASE_TABLE, transport=client.transport, table_name=streams.lease_table)
    if leases.table_exists():
        leases.delete_table(wait=False)
    client.close()


class Log:
    """A router that records every event as (kind, entity, key, summary)."""

    def __init__(self) -> None:
        self.router = Router(shop)
        self.events: list[tuple[str, str, Any]] = []
        self.router.on_any()(self.add)

    def add(self, event: StreamEvent[Any]) -> None:
        obj = event.new_or_none or event.old_or_none
        summary = getattr(obj, "status", None) or getattr(obj, "name", None) or \
            getattr(obj, "title", None)
        self.events.append((event.kind, str(event.entity), summary))


def write_history(db: Client) -> None:
    db.put(Customer(username="ada", email="ada@x.io", name="Ada"))
    db.update(Customer, username="ada").set(name="Ada L.").execute()
    order = Order(username="ada", order_id="o-1", status="PLACED", placed_at=PLACED,
                  total=Decimal("12.50"))
    db.put(order)
    db.update(order).set(status="SHIPPED").execute()
    db.put(Product(sku="p1", title="Lamp", price=Decimal("20")))
    db.delete(Order, username="ada", order_id="o-1", placed_at=PLACED)


EXPECTED = [
    ("insert", "customer", "Ada"),
    ("modify", "customer", "Ada L."),
    ("insert", "order", "PLACED"),
    ("modify", "order", "SHIPPED"),
    ("insert", "product", "Lamp"),
    ("remove", "order", "SHIPPED"),
]


def test_typed_events_in_order(s: Streams) -> None:
    write_history(s.db)
    log = Log()
    delivered = s.consumer(log.router).run(until_idle=0.5)
    assert delivered == len(EXPECTED)
    assert log.events == EXPECTED


def test_modify_handler_sees_old_and_new(s: Streams) -> None:
    write_history(s.db)
    router = Router(shop)
    changes: list[tuple[frozenset[str], str, str]] = []

    @router.on_modify(Order)
    def on_order(event: StreamEvent[Order]) -> None:
        changes.append((event.changed_fields, event.old.status, event.new.status))

    s.consumer(router).run(until_idle=0.5)
    assert changes == [(frozenset({"status"}), "PLACED", "SHIPPED")]


def test_restart_resumes_from_the_checkpoint(s: Streams) -> None:
    write_history(s.db)
    first = Log()
    assert s.consumer(first.router, group="g").run(max_records=2) == 2
    second = Log()
    assert s.consumer(second.router, group="g").run(until_idle=0.5) == 4
    assert first.events + second.events == EXPECTED
    s.db.put(Product(sku="p2", title="Desk", price=Decimal("90")))
    third = Log()
    s.consumer(third.router, group="g").run(until_idle=0.5)
    assert third.events == [("insert", "product", "Desk")]
    other_group = Log()
    s.consumer(other_group.router, group="h").run(until_idle=0.5)
    assert len(other_group.events) == len(EXPECTED) + 1


def test_handler_error_keeps_the_failed_record_for_the_next_run(s: Streams) -> None:
    write_history(s.db)
    router = Router(shop)
    seen: list[str] = []
    fail = {"on": True}

    @router.on_any()
    def flaky(event: StreamEvent[Any]) -> None:
        if event.kind == "insert" and event.entity == "order" and fail["on"]:
            raise RuntimeError("downstream unavailable")
        seen.append(f"{event.kind}:{event.entity}")

    with pytest.raises(RuntimeError):
        s.consumer(router).run(until_idle=0.5)
    assert seen == ["insert:customer", "modify:customer"]
    fail["on"] = False
    s.consumer(router).run(until_idle=0.5)
    assert seen[2:] == ["insert:order", "modify:order", "insert:product", "remove:order"]


def test_one_owner_per_shard_until_the_lease_expires(s: Streams) -> None:
    write_history(s.db)
    a = s.consumer(Log().router, owner="a", lease_duration=30)
    b_log = Log()
    b = s.consumer(b_log.router, owner="b", lease_duration=30)
    runner = threading.Thread(target=a.run)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while not a.owned_shards and time.monotonic() < deadline:
            time.sleep(0.05)
        assert a.owned_shards
        assert b.run(until_idle=0.5) == 0
        assert b.owned_shards == [] and b_log.events == []
    finally:
        a.stop()
        runner.join(timeout=30)
    assert not runner.is_alive()
    s.db.put(Product(sku="p3", title="Chair", price=Decimal("40")))
    b.run(until_idle=0.5)
    assert b_log.events == [("insert", "product", "Chair")]


def test_a_dead_consumers_lease_is_taken_only_after_expiry(s: Streams) -> None:
    write_history(s.db)
    arn = s.run(stream_arn_flow(s.db.table_name))
    store = LeaseStore(s.lease_table, "default", arn)
    s.run(store.ensure_table_flow())
    assert s.run(store.all_flow()) == {}
    _status, shards = s.run(list_shards_flow(arn))
    shard_id = shards[0].shard_id
    dead = s.run(store.acquire_flow(shard_id, None, "dead", duration=1.5))
    assert dead is not None and dead.owner == "dead"
    assert s.run(store.acquire_flow(shard_id, s.run(store.get_flow(shard_id)), "b",
                                    duration=30)) is None
    log = Log()
    b = s.consumer(log.router, owner="b")
    assert b.run(until_idle=0.3) == 0
    while s.run(store.get_flow(shard_id)).lease_until > time.time():  # type: ignore[union-attr]
        time.sleep(0.1)
    assert b.run(until_idle=0.5) == len(EXPECTED)
    with pytest.raises(LeaseLostError):
        s.run(store.renew_flow(dead, 30))
    stolen = s.run(store.get_flow(shard_id))
    assert stolen is not None and stolen.checkpoint is not None and stolen.owner is None


def test_lease_store_refuses_double_ownership(s: Streams) -> None:
    store = LeaseStore(s.lease_table, "g", "arn:stream")
    s.run(store.ensure_table_flow())
    first = s.run(store.acquire_flow("shard-1", None, "a", duration=30))
    assert first is not None
    assert s.run(store.acquire_flow("shard-1", None, "b", duration=30)) is None
    current = s.run(store.get_flow("shard-1"))
    assert s.run(store.acquire_flow("shard-1", current, "b", duration=30)) is None
    renewed = s.run(store.renew_flow(first, 30))
    s.run(store.release_flow(renewed))
    taken = s.run(store.acquire_flow("shard-1", s.run(store.get_flow("shard-1")), "b",
                                     duration=30))
    assert taken is not None and taken.owner == "b"


def test_stream_calls_go_through_the_clients_transport(s: Streams) -> None:
    write_history(s.db)
    seen: list[str] = []
    consumer = s.consumer(Log().router)
    transport = consumer.consumer.db.transport if isinstance(consumer, AsyncRunner) \
        else s.db.transport
    assert isinstance(transport, (HttpTransport, Boto3Transport, AsyncHttpTransport))
    transport.add_hook(lambda event: seen.append(event.operation))
    consumer.run(until_idle=0.3)
    assert {"DescribeStream", "GetShardIterator", "GetRecords", "PutItem"} <= set(seen)


@pytest.mark.parametrize("s", ["async"], indirect=True)
def test_async_handlers_are_awaited_in_order(s: Streams) -> None:
    write_history(s.db)
    router = Router(shop)
    seen: list[str] = []

    @router.on_any()
    async def slow(event: StreamEvent[Any]) -> None:
        await asyncio.sleep(0.01)  # the next record waits for this one
        seen.append(f"{event.kind}:{event.entity}")

    @router.on_any()
    def plain(event: StreamEvent[Any]) -> None:
        seen.append("plain")

    assert s.consumer(router).run(until_idle=0.5) == len(EXPECTED)
    assert seen[::2] == [f"{kind}:{entity}" for kind, entity, _ in EXPECTED]
    assert seen[1::2] == ["plain"] * len(EXPECTED)


@pytest.mark.parametrize("s", ["async"], indirect=True)
def test_a_cancelled_async_consumer_checkpoints_and_releases(s: Streams) -> None:
    """Cancelling the task in a handler: the records handled before it are checkpointed,
    the leases are released, and the next consumer starts at the cancelled record."""
    write_history(s.db)
    router = Router(shop)
    seen: list[str] = []
    entered = asyncio.Event()

    @router.on_any()
    async def blocks_on_the_third(event: StreamEvent[Any]) -> None:
        if len(seen) == 2:
            entered.set()
            await asyncio.sleep(60)
        seen.append(f"{event.kind}:{event.entity}")

    async def cancel_in_handler() -> None:
        consumer = AsyncStreamConsumer(s.async_client(), router, owner="a",
                                       lease_table=s.lease_table, poll_interval=0.05)
        task = asyncio.create_task(consumer.run())
        await asyncio.wait_for(entered.wait(), 20)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert consumer.owned_shards == []

    asyncio.run(cancel_in_handler())
    assert seen == ["insert:customer", "modify:customer"]
    rest = Log()
    assert s.consumer(rest.router, owner="b").run(until_idle=0.5) == len(EXPECTED) - 2
    assert rest.events == EXPECTED[2:]


_WITHOUT_BOTO3 = textwrap.dedent("""
    import asyncio
    import sys
    sys.modules["boto3"] = None      # any import of boto3 / botocore now fails
    sys.modules["botocore"] = None
    from tests.models import Customer, shop
    from dyntable.streams import AsyncStreamConsumer, Router, StreamConsumer
    endpoint, table, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    db = shop.connect(endpoint_url=endpoint, table_name=table)
    db.create_table()
    try:
        db.put(Customer(username="ada", email="ada@x.io", name="Ada"))
        router = Router(shop)
        names = []
        router.on_insert(Customer)(lambda event: names.append(event.new.name))
        if kind == "sync":
            consumer = StreamConsumer(db, router, lease_table=table + "-leases",
                                      poll_interval=0.05)
            assert consumer.run(until_idle=0.3) == 1, names
            transport = db.transport
        else:
            async def main():
                adb = await shop.connect_async(endpoint_url=endpoint, table_name=table)
                async with adb:
                    consumer = AsyncStreamConsumer(adb, router, lease_table=table + "-leases",
                                                   poll_interval=0.05)
                    assert await consumer.run(until_idle=0.3) == 1, names
                return adb.transport
            transport = asyncio.run(main())
        assert names == ["Ada"], names
        print("delivered without boto3:", type(transport).__name__)
    finally:
        from dyntable.client import Client
        from dyntable.streams.checkpoints import LEASE_TABLE
        leases = Client(LEASE_TABLE, transport=db.transport, table_name=table + "-leases")
        if leases.table_exists():
            leases.delete_table(wait=False)
        db.delete_table(wait=False)
""")


@pytest.mark.parametrize(("kind", "transport"), [("sync", "HttpTransport"),
                                                 ("async", "AsyncHttpTransport")])
def test_default_transport_consumer_never_needs_boto3(dynamodb_endpoint: str,
                                                      unique_table_name: str, kind: str,
                                                      transport: str) -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1", "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", _WITHOUT_BOTO3, dynamodb_endpoint,
                           unique_table_name, kind], env=env, cwd=root, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert f"delivered without boto3: {transport}" in done.stdout
