"""AsyncCachedTransport with tasks: races, cancellation, the lock across awaits, contexts.

The cache's semantics over both drivers are tested in test_cache.py (parametrized); here
are the asyncio twins of its thread tests, and what only asyncio has (cancellation, a
task's context). Each test runs its own ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from dyntable.errors import TransportError
from dyntable.transport.aio_cache import AsyncCachedTransport
from dyntable.transport.aio_mock import AsyncMockTransport
from dyntable.transport.base import CallEvent, not_idempotent, resend_allowed
from tests.unit.transport.cache_backend import FakeDynamo, T, item, key, maybe_applied_error

R = TypeVar("R")


def run(coro: Coroutine[Any, Any, R]) -> R:
    """Run ``coro`` with a "did not hang" bound."""

    async def bounded() -> R:
        return await asyncio.wait_for(coro, 10)

    return asyncio.run(bounded())


class AsyncGates:
    """An async backend whose calls a test can hold before or after they reach the fake."""

    def __init__(self, backend: FakeDynamo) -> None:
        self.backend = backend
        self.gates: dict[tuple[str, str], tuple[asyncio.Event, asyncio.Event]] = {}

    def gate(self, operation: str, when: str) -> tuple[asyncio.Event, asyncio.Event]:
        pair = (asyncio.Event(), asyncio.Event())  # (arrived, release)
        self.gates[(operation, when)] = pair
        return pair

    async def _hold(self, operation: str, when: str) -> None:
        pair = self.gates.pop((operation, when), None)
        if pair is not None:
            pair[0].set()
            await pair[1].wait()

    async def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        await self._hold(operation, "before")
        response = self.backend(operation, params)
        await self._hold(operation, "after")
        return response


@pytest.fixture
def backend() -> FakeDynamo:
    backend = FakeDynamo()
    backend.items[(T, "a", "A")] = item("a", v="1")
    return backend


@pytest.fixture
def gates(backend: FakeDynamo) -> AsyncGates:
    return AsyncGates(backend)


@pytest.fixture
def cache(gates: AsyncGates) -> AsyncCachedTransport:
    cache = AsyncCachedTransport(AsyncMockTransport(gates))
    cache.learn_key_attributes(T, ["PK", "SK"])
    return cache


async def get(cache: AsyncCachedTransport, pk: str = "a") -> dict[str, Any]:
    return await cache.send("GetItem", {"TableName": T, "Key": key(pk)})


async def put_v(cache: AsyncCachedTransport, value: str) -> dict[str, Any]:
    return await cache.send("PutItem", {"TableName": T, "Item": item("a", v=value)})


def v(response: dict[str, Any]) -> str:
    return str(response["Item"]["v"]["S"])


# -- races between tasks (the asyncio twins of test_cache.py's thread tests) ---------------


def test_read_that_saw_the_old_item_does_not_cache_it(
    cache: AsyncCachedTransport, gates: AsyncGates
) -> None:
    async def scenario() -> tuple[str, str]:
        arrived, release = gates.gate("GetItem", "after")
        reader = asyncio.create_task(get(cache))
        await arrived.wait()  # the read has the old item in hand
        await put_v(cache, "2")
        release.set()
        return v(await reader), v(await get(cache))

    assert run(scenario()) == ("1", "2")


def test_read_started_during_a_write_does_not_cache_the_old_item(
    cache: AsyncCachedTransport, gates: AsyncGates
) -> None:
    async def scenario() -> tuple[str, str]:
        w_arrived, w_release = gates.gate("PutItem", "before")
        writer = asyncio.create_task(put_v(cache, "2"))
        await w_arrived.wait()
        r_arrived, r_release = gates.gate("GetItem", "after")
        reader = asyncio.create_task(get(cache))
        await r_arrived.wait()
        w_release.set()
        await writer
        r_release.set()
        return v(await reader), v(await get(cache))

    assert run(scenario()) == ("1", "2")


def test_overlapping_writes_leave_no_stale_item(
    cache: AsyncCachedTransport, gates: AsyncGates, backend: FakeDynamo
) -> None:
    async def scenario() -> str:
        arrived, release = gates.gate("PutItem", "after")
        first = asyncio.create_task(put_v(cache, "2"))
        await arrived.wait()  # "2" is stored by DynamoDB, its write not finished here
        await put_v(cache, "3")
        release.set()
        await first
        return v(await get(cache))

    assert run(scenario()) == "3"
    assert backend.items[(T, "a", "A")]["v"] == {"S": "3"}


def test_read_during_a_failed_write_does_not_cache_the_old_item(
    cache: AsyncCachedTransport, gates: AsyncGates, backend: FakeDynamo
) -> None:
    error = maybe_applied_error("reset")
    backend.lose_answer["PutItem"] = error  # applied, then the answer is lost

    async def scenario() -> tuple[object, str, str]:
        w_arrived, w_release = gates.gate("PutItem", "before")
        writer = asyncio.create_task(put_v(cache, "2"))
        await w_arrived.wait()
        r_arrived, r_release = gates.gate("GetItem", "after")
        reader = asyncio.create_task(get(cache))
        await r_arrived.wait()  # the read has the old item in hand
        w_release.set()
        failure = (await asyncio.gather(writer, return_exceptions=True))[0]
        r_release.set()
        return failure, v(await reader), v(await get(cache))

    failure, seen, after = run(scenario())
    assert failure is error and error.maybe_applied
    assert (seen, after) == ("1", "2")


# -- cancellation --------------------------------------------------------------------------


def test_cancelled_write_leaves_the_item_uncached(
    cache: AsyncCachedTransport, gates: AsyncGates
) -> None:
    async def scenario() -> tuple[str, str]:
        assert v(await get(cache)) == "1"  # cached
        w_arrived, w_release = gates.gate("PutItem", "before")
        applied, _never = gates.gate("PutItem", "after")
        writer = asyncio.create_task(put_v(cache, "2"))
        await w_arrived.wait()
        r_arrived, r_release = gates.gate("GetItem", "after")
        reader = asyncio.create_task(get(cache))
        await r_arrived.wait()  # the read has the old item in hand
        w_release.set()
        await applied.wait()  # DynamoDB applied the write; the caller gives up waiting
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer
        r_release.set()
        return v(await reader), v(await get(cache))

    assert run(scenario()) == ("1", "2")
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.invalidations) == (0, 3, 1)


def test_cancelled_read_caches_nothing(cache: AsyncCachedTransport, gates: AsyncGates,
                                       backend: FakeDynamo) -> None:
    async def scenario() -> str:
        arrived, _release = gates.gate("GetItem", "after")
        reader = asyncio.create_task(get(cache))
        await arrived.wait()
        backend.items[(T, "a", "A")] = item("a", v="2")  # changed elsewhere meanwhile
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        return v(await get(cache))

    assert run(scenario()) == "2"
    assert cache.stats.items == 1


# -- the lock and other tasks ----------------------------------------------------------------


def test_other_tasks_are_served_while_a_call_is_awaited(
    cache: AsyncCachedTransport, gates: AsyncGates, backend: FakeDynamo
) -> None:
    backend.items[(T, "b", "A")] = item("b", v="b1")

    async def scenario() -> list[str]:
        await get(cache, "b")  # cached
        served = []
        for operation in ("GetItem", "PutItem"):
            arrived, release = gates.gate(operation, "before")
            slow = asyncio.create_task(get(cache) if operation == "GetItem"
                                       else put_v(cache, "2"))
            await arrived.wait()  # suspended inside the inner transport
            assert not cache._lock.locked()
            served.append(v(await get(cache, "b")))  # a hit, while the call is pending
            release.set()
            await slow
        return served

    assert run(scenario()) == ["b1", "b1"]
    assert cache.stats.hits == 2


def test_many_tasks_no_corruption() -> None:
    backend = FakeDynamo()
    rnd = random.Random(7)

    async def jittery(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(rnd.random() * 0.001)
        response = backend(operation, params)
        await asyncio.sleep(rnd.random() * 0.001)
        return response

    cache = AsyncCachedTransport(AsyncMockTransport(jittery), max_items=6)
    pks = [f"k{i}" for i in range(10)]
    gets = [0]

    async def work(seed: int) -> None:
        mine = random.Random(seed)
        for n in range(100):
            pk = mine.choice(pks)
            if mine.random() < 0.3:
                await cache.send("PutItem", {"TableName": T, "Item": item(pk, v=f"{seed}-{n}")})
            else:
                got = await get(cache, pk)
                if got:
                    assert got["Item"]["PK"] == {"S": pk}
                gets[0] += 1

    async def scenario() -> None:
        await get(cache, "k0")  # learn the key attributes first
        await asyncio.gather(*(work(s) for s in range(16)))
        stats = cache.stats
        assert stats.hits + stats.misses == gets[0] + 1
        assert stats.items <= 6
        for pk in pks:  # every entry still cached agrees with the backend
            stored = backend.items.get((T, pk, "A"))
            assert await get(cache, pk) == ({"Item": stored} if stored else {})

    run(scenario())


def test_not_idempotent_follows_each_task(cache: AsyncCachedTransport, gates: AsyncGates,
                                          backend: FakeDynamo) -> None:
    seen: list[tuple[str, bool]] = []
    backend.observe = lambda operation: seen.append((operation, resend_allowed()))

    async def careful() -> None:
        with not_idempotent():
            await cache.send("DeleteItem", {"TableName": T, "Key": key("a")})

    async def scenario() -> None:
        arrived, release = gates.gate("DeleteItem", "before")
        first = asyncio.create_task(careful())
        await arrived.wait()  # the careful write is pending while another task writes
        await put_v(cache, "2")
        release.set()
        await first

    run(scenario())
    assert seen == [("PutItem", True), ("DeleteItem", False)]


def test_hooks_counters_and_close(backend: FakeDynamo) -> None:
    events: list[CallEvent] = []
    inner = AsyncMockTransport(backend)
    cache = AsyncCachedTransport(inner, hooks=[events.append])

    async def scenario() -> None:
        await get(cache)
        await get(cache)
        backend.fail_next = TransportError("refused")
        with pytest.raises(TransportError):
            await cache.send("GetItem", {"TableName": T, "Key": key("b")})
        async with cache:
            pass

    run(scenario())
    assert [(e.transport, e.extra["cache"], e.error) for e in events] == [
        ("cache", "miss", None), ("cache", "hit", None), ("cache", "miss", "TransportError")]
    assert cache.calls == 3 and inner.calls == 2
    assert inner.closed


def test_async_client_reads_through_the_cache(backend: FakeDynamo) -> None:
    from tests.models import Customer, shop

    inner = AsyncMockTransport(backend)

    async def scenario() -> None:
        db = await shop.connect_async(transport=AsyncCachedTransport(inner), table_name=T)
        ada = Customer(username="ada", email="ada@x.io", name="Ada")
        await db.put(ada)
        assert await db.get(Customer, username="ada") == ada  # miss: read from the backend
        assert await db.get(Customer, username="ada") == ada  # hit
        ada.name = "Ada L."
        await db.put(ada)  # write-through: the key attributes were learned from GetItem
        got = await db.get(Customer, username="ada")
        assert got is not None and got.name == "Ada L." and got.version == 2

    run(scenario())
    assert inner.operations() == ["PutItem", "GetItem", "PutItem"]
