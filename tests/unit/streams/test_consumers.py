"""StreamConsumer and AsyncStreamConsumer over mock transports answering from the in-memory
fake (no network): one set of flows, two drivers, the same requests; coroutine handlers;
stopping an idle consumer; the ``streams=`` seam of the sync consumer."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from dyntable.async_client import AsyncClient
from dyntable.errors import InvalidRequestError
from dyntable.streams import AsyncStreamConsumer, Router, StreamConsumer, StreamEvent
from dyntable.transport.aio_mock import AsyncMockTransport
from dyntable.transport.mock import MockTransport
from tests.models import Customer, shop
from tests.unit.streams.fake_streams import FakeStreams, seq


def _fake() -> FakeStreams:
    fake = FakeStreams()
    fake.add_shard("parent", 1, closed=True)
    fake.add_shard("child", 10, parent="parent")
    for i in (1, 2):
        fake.write("parent", i, Customer(username=f"u{i}", email="e@x.io", name=f"U{i}"))
    fake.write("child", 10, Customer(username="u10", email="e@x.io", name="U10"))
    return fake


def _names(router: Router) -> list[str]:
    names: list[str] = []
    router.on_insert(Customer)(lambda event: names.append(event.new.name))
    return names


OPTIONS: dict[str, Any] = {"lease_table": "leases", "owner": "me", "poll_interval": 0.01}


def test_both_consumers_send_the_same_requests_and_deliver_the_same_records() -> None:
    sync_fake, async_fake = _fake(), _fake()
    sync_router, async_router = Router(shop), Router(shop)
    sync_names, async_names = _names(sync_router), _names(async_router)

    sync_consumer = StreamConsumer(shop.connect(transport=MockTransport(sync_fake)),
                                   sync_router, **OPTIONS)
    assert sync_consumer.run(max_records=3) == 3

    async def main() -> int:
        db = await shop.connect_async(transport=AsyncMockTransport(async_fake))
        return await AsyncStreamConsumer(db, async_router, **OPTIONS).run(max_records=3)

    assert asyncio.run(main()) == 3
    assert sync_names == async_names == ["U1", "U2", "U10"]
    assert sync_fake.operations() == async_fake.operations()
    assert "GetRecords" in sync_fake.operations()
    for fake in (sync_fake, async_fake):
        child = fake.lease("child")
        assert child is not None and child["checkpoint"] == {"S": seq(10)}
        assert "owner" not in child  # released on return


def test_the_async_consumer_awaits_coroutine_handlers_in_order() -> None:
    router = Router(shop)
    seen: list[str] = []

    @router.on_insert(Customer)
    async def slow(event: StreamEvent[Customer]) -> None:
        await asyncio.sleep(0.01)
        seen.append(event.new.name)

    @router.on_any()
    def plain(event: StreamEvent[Any]) -> None:
        seen.append("plain")

    async def main() -> int:
        db = await shop.connect_async(transport=AsyncMockTransport(_fake()))
        return await AsyncStreamConsumer(db, router, **OPTIONS).run(until_idle=0.05)

    assert asyncio.run(main()) == 3
    assert seen == ["U1", "plain", "U2", "plain", "U10", "plain"]


def test_the_sync_consumer_refuses_coroutine_handlers_before_sending_anything() -> None:
    router = Router(shop)

    @router.on_insert(Customer)
    async def welcome(event: StreamEvent[Customer]) -> None:
        """Never run."""

    transport = MockTransport(_fake())
    consumer = StreamConsumer(shop.connect(transport=transport), router, **OPTIONS)
    with pytest.raises(InvalidRequestError, match=r"welcome.*AsyncStreamConsumer"):
        consumer.run(until_idle=0.05)
    assert transport.sent == []


def test_a_sync_handler_returning_an_awaitable_is_refused_not_dropped() -> None:
    router = Router(shop)

    async def later(name: str) -> None:
        """Never run."""

    router.on_insert(Customer)(lambda event: later(event.new.name))
    fake = _fake()
    consumer = StreamConsumer(shop.connect(transport=MockTransport(fake)), router, **OPTIONS)
    with pytest.raises(InvalidRequestError, match="awaitable"):
        consumer.run(until_idle=0.05)
    parent = fake.lease("parent")
    assert parent is not None and "checkpoint" not in parent and "owner" not in parent


def test_stop_interrupts_an_idle_wait_of_the_sync_consumer() -> None:
    fake = _fake()
    consumer = StreamConsumer(shop.connect(transport=MockTransport(fake)), Router(shop),
                              **{**OPTIONS, "poll_interval": 60.0, "max_poll_interval": 60.0})
    done: list[int] = []
    runner = threading.Thread(target=lambda: done.append(consumer.run()))
    runner.start()
    deadline = time.monotonic() + 10
    while consumer.owned_shards != ["child"] and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # in its 60 s wait by now
    consumer.stop()
    runner.join(timeout=10)
    assert not runner.is_alive() and done == [3]


def test_stop_interrupts_an_idle_wait_of_the_async_consumer() -> None:
    async def main() -> tuple[int, list[str]]:
        db = await shop.connect_async(transport=AsyncMockTransport(_fake()))
        consumer = AsyncStreamConsumer(db, Router(shop), **{
            **OPTIONS, "poll_interval": 60.0, "max_poll_interval": 60.0})
        task = asyncio.create_task(consumer.run())
        while consumer.owned_shards != ["child"]:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # in its 60 s wait by now
        consumer.stop()
        delivered = await asyncio.wait_for(task, 10)
        return delivered, consumer.owned_shards

    assert asyncio.run(main()) == (3, [])


def test_stop_from_another_thread_reaches_the_async_consumer() -> None:
    async def main(consumer: AsyncStreamConsumer) -> int:
        return await consumer.run()

    consumer = AsyncStreamConsumer(
        AsyncClient(shop, transport=AsyncMockTransport(_fake())), Router(shop),
        **{**OPTIONS, "poll_interval": 60.0, "max_poll_interval": 60.0})
    done: list[int] = []
    runner = threading.Thread(target=lambda: done.append(asyncio.run(main(consumer))))
    runner.start()
    deadline = time.monotonic() + 10
    while consumer.owned_shards != ["child"] and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    consumer.stop()
    runner.join(timeout=10)
    assert not runner.is_alive() and done == [3]


class LegacyStreams:
    """The old ``streams=`` shape: one method per Streams call, answering from the fake."""

    def __init__(self, fake: FakeStreams) -> None:
        self.fake = fake

    def describe_stream(self, **params: Any) -> dict[str, Any]:
        return self.fake("DescribeStream", params)

    def get_shard_iterator(self, **params: Any) -> dict[str, Any]:
        return self.fake("GetShardIterator", params)

    def get_records(self, **params: Any) -> dict[str, Any]:
        return self.fake("GetRecords", params)


def test_streams_seam_sends_only_the_streams_calls_elsewhere() -> None:
    fake = _fake()
    table_side = MockTransport(fake)
    router = Router(shop)
    names = _names(router)
    consumer = StreamConsumer(shop.connect(transport=table_side), router,
                              streams=LegacyStreams(fake), **OPTIONS)
    assert consumer.run(max_records=3) == 3
    assert names == ["U1", "U2", "U10"]
    assert {"DescribeTable", "PutItem", "Query"} <= set(table_side.operations())
    assert not {"DescribeStream", "GetShardIterator", "GetRecords"} & \
        set(table_side.operations())
    assert {"DescribeStream", "GetShardIterator", "GetRecords"} <= set(fake.operations())

    other = MockTransport(_fake())  # a transport for the Streams calls works the same
    db = shop.connect(transport=MockTransport(fake))
    assert StreamConsumer(db, Router(shop), streams=other, **{**OPTIONS, "group": "g2"}
                          ).run(max_records=3) == 3
    assert "GetRecords" in other.operations()


def test_each_consumer_takes_its_own_kind_of_client() -> None:
    sync_db = shop.connect(transport=MockTransport())
    async_db = AsyncClient(shop, transport=AsyncMockTransport())
    with pytest.raises(InvalidRequestError, match="AsyncStreamConsumer"):
        StreamConsumer(async_db, Router(shop))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="connect_async"):
        AsyncStreamConsumer(sync_db, Router(shop))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="batch_size"):
        AsyncStreamConsumer(async_db, Router(shop), batch_size=1001)
    with pytest.raises(InvalidRequestError, match="TRIM_HORIZON"):
        StreamConsumer(sync_db, Router(shop), start="AT_SEQUENCE_NUMBER")  # type: ignore[arg-type]
