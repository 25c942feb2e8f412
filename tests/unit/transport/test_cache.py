"""CachedTransport: hits, misses, TTL, LRU, write-through, bypass, partition eviction, threads.

The semantic tests run over both drivers of the cache's plans: ``sync`` (CachedTransport
over MockTransport) and ``async`` (AsyncCachedTransport over AsyncMockTransport, each call
run with ``asyncio.run``; see :class:`AsyncAsSync`). Thread tests are sync only; their
asyncio twins (tasks) are in test_aio_cache.py.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import pytest

from dyntable._internal.transport.cache_core import CacheCore
from dyntable.errors import ConditionalCheckFailedError, ThrottlingError, TransportError
from dyntable.transport.aio_cache import AsyncCachedTransport
from dyntable.transport.aio_mock import AsyncMockTransport
from dyntable.transport.base import CallEvent, Hook, not_idempotent, resend_allowed
from dyntable.transport.cache import CachedTransport, CacheStats, MemoryCacheStore
from dyntable.transport.mock import MockRecorder, MockTransport
from tests.unit.transport.cache_backend import (
    Clock,
    FakeDynamo,
    T,
    item,
    key,
    maybe_applied_error,
)


class Cache(Protocol):
    """What the tests use of a cache transport, sync or driven through asyncio.run."""

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]: ...

    @property
    def stats(self) -> CacheStats: ...

    def key_attributes(self, table: str) -> frozenset[str] | None: ...

    def learn_key_attributes(self, table: str, names: Iterable[str]) -> None: ...

    def add_hook(self, hook: Hook) -> None: ...


class AsyncAsSync:
    """An :class:`AsyncCachedTransport` called like a sync one: each call runs in its own
    ``asyncio.run`` (so one transport also serves many loops, one after the other)."""

    def __init__(self, cache: AsyncCachedTransport) -> None:
        self.aio = cache

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return asyncio.run(self.aio.send(operation, params))

    @property
    def stats(self) -> CacheStats:
        return self.aio.stats

    def key_attributes(self, table: str) -> frozenset[str] | None:
        return self.aio.key_attributes(table)

    def learn_key_attributes(self, table: str, names: Iterable[str]) -> None:
        self.aio.learn_key_attributes(table, names)

    def add_hook(self, hook: Hook) -> None:
        self.aio.add_hook(hook)


MakeCache = Callable[..., Cache]


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which driver runs the cache's plans."""
    return str(request.param)


#: For tests about threads: the sync transport only.
sync_only = pytest.mark.parametrize("kind", ["sync"])


@pytest.fixture
def backend() -> FakeDynamo:
    return FakeDynamo()


@pytest.fixture
def inner(backend: FakeDynamo, kind: str) -> MockRecorder:
    return MockTransport(backend) if kind == "sync" else AsyncMockTransport(backend)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_cache(inner: MockRecorder, kind: str) -> MakeCache:
    """``make_cache(**options)``: a cache of this test's kind over ``inner``."""

    def make(**options: Any) -> Cache:
        if isinstance(inner, MockTransport):
            return CachedTransport(inner, **options)
        assert isinstance(inner, AsyncMockTransport)
        return AsyncAsSync(AsyncCachedTransport(inner, **options))

    return make


@pytest.fixture
def cache(make_cache: MakeCache, clock: Clock) -> Cache:
    return make_cache(clock=clock)


def sent(inner: MockRecorder, operation: str) -> int:
    return inner.operations().count(operation)


def get(cache: Cache, pk: str, sk: str = "A", **extra: Any) -> dict[str, Any]:
    """GetItem through the cache (``extra``: more request parameters)."""
    return cache.send("GetItem", {"TableName": T, "Key": key(pk, sk), **extra})


def query(cache: Cache, pk: str, **extra: Any) -> dict[str, Any]:
    return cache.send("Query", {
        "TableName": T, "KeyConditionExpression": "#n0 = :v0",
        "ExpressionAttributeNames": {"#n0": "PK"},
        "ExpressionAttributeValues": {":v0": {"S": pk}}, **extra})


# -- item cache --------------------------------------------------------------------------


def test_get_miss_then_hit(cache: Cache, inner: MockRecorder,
                           backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    first = get(cache, "a")
    second = get(cache, "a")
    assert first["Item"] == second["Item"] == item("a", name="Ada")
    assert sent(inner, "GetItem") == 1
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.items) == (1, 1, 1)
    assert stats.hit_ratio == 0.5


def test_cached_responses_are_copies(cache: Cache, backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    get(cache, "a")["Item"]["name"]["S"] = "mutated"
    hit = get(cache, "a")
    hit["Item"]["name"]["S"] = "mutated again"
    assert get(cache, "a")["Item"]["name"] == {"S": "Ada"}


def test_not_found_is_cached_too(cache: Cache, inner: MockRecorder) -> None:
    assert get(cache, "nobody") == {}
    assert get(cache, "nobody") == {}
    assert sent(inner, "GetItem") == 1
    assert cache.stats.hits == 1


def test_ttl_expiry(cache: Cache, inner: MockRecorder, clock: Clock,
                    backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    get(cache, "a")
    clock.now += 299.0
    get(cache, "a")
    assert sent(inner, "GetItem") == 1
    backend.items[(T, "a", "A")] = item("a", name="Changed elsewhere")
    clock.now += 1.0
    assert get(cache, "a")["Item"]["name"] == {"S": "Changed elsewhere"}
    assert sent(inner, "GetItem") == 2
    assert cache.stats.expirations == 1


def test_lru_eviction(make_cache: MakeCache, inner: MockRecorder, clock: Clock) -> None:
    cache = make_cache(max_items=2, clock=clock)
    for pk in ("a", "b", "a", "c"):  # "a" is used again, so "b" is the least recent
        get(cache, pk)
    assert sent(inner, "GetItem") == 3
    get(cache, "a")
    assert sent(inner, "GetItem") == 3
    get(cache, "b")
    assert sent(inner, "GetItem") == 4
    stats = cache.stats
    assert stats.evictions == 2
    assert stats.items == 2


def test_projection_is_part_of_the_key(cache: Cache, inner: MockRecorder) -> None:
    proj: dict[str, Any] = {"ProjectionExpression": "#n0",
                            "ExpressionAttributeNames": {"#n0": "name"}}
    get(cache, "a")
    get(cache, "a", **proj)
    get(cache, "a", **proj)
    assert sent(inner, "GetItem") == 2


def test_consistent_reads_bypass(cache: Cache, inner: MockRecorder) -> None:
    get(cache, "a")
    get(cache, "a", ConsistentRead=True)
    get(cache, "a", ConsistentRead=True)
    cache.send("TransactGetItems", {"TransactItems": [{"Get": {"TableName": T,
                                                               "Key": key("a")}}]})
    assert sent(inner, "GetItem") == 3
    assert sent(inner, "TransactGetItems") == 1
    assert cache.stats.bypasses == 3


# -- write-through -----------------------------------------------------------------------


def test_put_writes_through(cache: Cache, inner: MockRecorder) -> None:
    get(cache, "a")  # negative entry; also teaches the key attributes
    cache.send("PutItem", {"TableName": T, "Item": item("a", name="Ada")})
    assert get(cache, "a")["Item"] == item("a", name="Ada")
    cache.send("PutItem", {"TableName": T, "Item": item("b", name="Bob")})
    assert get(cache, "b")["Item"] == item("b", name="Bob")
    assert sent(inner, "GetItem") == 1


def test_put_with_unknown_key_attributes_caches_nothing(
    cache: Cache, inner: MockRecorder
) -> None:
    cache.send("PutItem", {"TableName": T, "Item": item("a", name="Ada")})
    assert cache.stats.items == 0
    assert cache.key_attributes(T) is None
    cache.send("DescribeTable", {"TableName": T})
    assert cache.key_attributes(T) == frozenset({"PK", "SK"})
    cache.send("PutItem", {"TableName": T, "Item": item("a", name="Ada")})
    assert get(cache, "a")["Item"] == item("a", name="Ada")
    assert sent(inner, "GetItem") == 0


def test_update_all_new_stores_other_updates_evict(
    cache: Cache, inner: MockRecorder, backend: FakeDynamo
) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    get(cache, "a")
    update = {"TableName": T, "Key": key("a"), "UpdateExpression": "SET #n0 = :v0",
              "ExpressionAttributeNames": {"#n0": "name"}}
    cache.send("UpdateItem", {**update, "ExpressionAttributeValues": {":v0": {"S": "Ada L."}},
                              "ReturnValues": "ALL_NEW"})
    assert get(cache, "a")["Item"]["name"] == {"S": "Ada L."}
    assert sent(inner, "GetItem") == 1
    cache.send("UpdateItem", {**update, "ExpressionAttributeValues": {":v0": {"S": "Ada K."}}})
    assert get(cache, "a")["Item"]["name"] == {"S": "Ada K."}
    assert sent(inner, "GetItem") == 2
    assert cache.stats.invalidations == 2


def test_delete_caches_absence(cache: Cache, inner: MockRecorder,
                               backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    get(cache, "a")
    cache.send("DeleteItem", {"TableName": T, "Key": key("a")})
    assert get(cache, "a") == {}
    assert sent(inner, "GetItem") == 1


def test_failed_write_evicts(cache: Cache, inner: MockRecorder,
                             backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    get(cache, "a")
    backend.fail_next = ConditionalCheckFailedError("no", code="ConditionalCheckFailedException")
    with pytest.raises(ConditionalCheckFailedError):
        cache.send("PutItem", {"TableName": T, "Item": item("a", name="X")})
    assert get(cache, "a")["Item"]["name"] == {"S": "Ada"}
    assert sent(inner, "GetItem") == 2


def test_batch_get_serves_hits_and_sends_misses(
    cache: Cache, inner: MockRecorder, backend: FakeDynamo
) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    backend.items[(T, "b", "A")] = item("b", name="Bob")
    get(cache, "a")
    resp = cache.send("BatchGetItem", {"RequestItems": {T: {"Keys": [key("a"), key("b"),
                                                                     key("zz")]}}})
    assert sorted(i["name"]["S"] for i in resp["Responses"][T]) == ["Ada", "Bob"]
    batch = [c for c in inner.sent if c.operation == "BatchGetItem"]
    assert batch[0].params["RequestItems"][T]["Keys"] == [key("b"), key("zz")]
    again = cache.send("BatchGetItem", {"RequestItems": {T: {"Keys": [key("b"), key("zz")]}}})
    assert [i["name"]["S"] for i in again["Responses"][T]] == ["Bob"]
    assert sent(inner, "BatchGetItem") == 1
    assert get(cache, "zz") == {}
    assert sent(inner, "GetItem") == 1


def test_batch_write_and_transaction_write_through(
    cache: Cache, inner: MockRecorder, backend: FakeDynamo
) -> None:
    backend.items[(T, "c", "A")] = item("c", name="Cy")
    backend.items[(T, "d", "A")] = item("d", name="Di")
    for pk in ("a", "b", "c", "d"):
        get(cache, pk)
    cache.send("BatchWriteItem", {"RequestItems": {T: [
        {"PutRequest": {"Item": item("a", name="Ada")}},
        {"DeleteRequest": {"Key": key("c")}}]}})
    cache.send("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": T, "Item": item("b", name="Bob")}},
        {"Update": {"TableName": T, "Key": key("d"), "UpdateExpression": "SET #n = :v",
                    "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": {":v": {"S": "Dee"}}}}]})
    assert get(cache, "a")["Item"]["name"] == {"S": "Ada"}
    assert get(cache, "b")["Item"]["name"] == {"S": "Bob"}
    assert get(cache, "c") == {}
    assert sent(inner, "GetItem") == 4
    assert get(cache, "d")["Item"]["name"] == {"S": "Dee"}  # update: evicted, read again
    assert sent(inner, "GetItem") == 5


def test_table_operations_pass_through_and_delete_table_drops(
    cache: Cache, inner: MockRecorder
) -> None:
    get(cache, "a")
    query(cache, "a")
    cache.send("DeleteTable", {"TableName": T})
    assert (cache.stats.items, cache.stats.queries) == (0, 0)
    assert inner.operations()[-1] == "DeleteTable"


# -- query cache -------------------------------------------------------------------------


def test_query_cache_hit_and_stale_like_dax(
    cache: Cache, inner: MockRecorder, backend: FakeDynamo
) -> None:
    backend.items[(T, "a", "1")] = item("a", "1")
    first = query(cache, "a")
    again = query(cache, "a", ReturnConsumedCapacity="TOTAL")
    assert again["Items"] == first["Items"]
    assert "ConsumedCapacity" not in again
    cache.send("PutItem", {"TableName": T, "Item": item("a", "2")})
    stale = query(cache, "a")
    assert len(stale["Items"]) == 1  # DAX semantics: writes do not evict queries
    assert sent(inner, "Query") == 1
    query(cache, "a", ConsistentRead=True)
    assert sent(inner, "Query") == 2


def test_evict_queries_on_write(make_cache: MakeCache, inner: MockRecorder, clock: Clock,
                                backend: FakeDynamo) -> None:
    cache = make_cache(clock=clock, evict_queries_on_write=True)
    backend.items[(T, "a", "1")] = item("a", "1")
    query(cache, "a")
    query(cache, "b")
    cache.send("Scan", {"TableName": T})
    cache.send("PutItem", {"TableName": T, "Item": item("a", "2")})
    assert len(query(cache, "a")["Items"]) == 2
    query(cache, "b")
    cache.send("Scan", {"TableName": T})
    assert sent(inner, "Query") == 3  # "a" again, "b" still cached
    assert sent(inner, "Scan") == 2
    cache.send("DeleteItem", {"TableName": T, "Key": key("b", "9")})
    query(cache, "b")
    assert sent(inner, "Query") == 4


def test_query_ttl(cache: Cache, inner: MockRecorder, clock: Clock) -> None:
    query(cache, "a")
    clock.now += 301
    query(cache, "a")
    assert sent(inner, "Query") == 2
    assert cache.stats.expirations == 1


def test_hooks_see_the_cache_outcome(cache: Cache) -> None:
    events: list[CallEvent] = []
    cache.add_hook(events.append)
    get(cache, "a")
    get(cache, "a")
    get(cache, "a", ConsistentRead=True)
    cache.send("PutItem", {"TableName": T, "Item": item("a")})
    assert [e.extra["cache"] for e in events] == ["miss", "hit", "bypass", "write"]
    assert all(e.transport == "cache" and e.table == T for e in events)


# -- ambiguous failures, errors and the lock ----------------------------------------------


WRITES_OF_A: dict[str, dict[str, Any]] = {
    "PutItem": {"TableName": T, "Item": item("a", name="New")},
    "UpdateItem": {"TableName": T, "Key": key("a"), "UpdateExpression": "SET #n0 = :v0",
                   "ExpressionAttributeNames": {"#n0": "name"},
                   "ExpressionAttributeValues": {":v0": {"S": "New"}},
                   "ReturnValues": "ALL_NEW"},
    "DeleteItem": {"TableName": T, "Key": key("a")},
    "BatchWriteItem": {"RequestItems": {T: [{"PutRequest": {"Item": item("a", name="New")}}]}},
    "TransactWriteItems": {"TransactItems": [{"Put": {"TableName": T,
                                                      "Item": item("a", name="New")}}]},
}


@pytest.mark.parametrize("failure", ["reset", "500"])
@pytest.mark.parametrize("operation", list(WRITES_OF_A))
def test_ambiguous_write_reaches_the_caller_unchanged_and_drops_the_item(
    cache: Cache, inner: MockRecorder, backend: FakeDynamo, operation: str, failure: str
) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    assert get(cache, "a")["Item"]["name"] == {"S": "Ada"}  # cached
    error = maybe_applied_error(failure)
    backend.lose_answer[operation] = error  # DynamoDB applied the write; the answer is lost
    with pytest.raises(type(error)) as raised:
        cache.send(operation, WRITES_OF_A[operation])
    assert raised.value is error and raised.value.maybe_applied is True
    assert sent(inner, operation) == 1  # the cache never resends by itself
    after = get(cache, "a")  # the old item is not served: read again from DynamoDB
    assert sent(inner, "GetItem") == 2
    assert after == ({} if operation == "DeleteItem" else {"Item": item("a", name="New")})
    assert cache.stats.invalidations == 1


def test_not_idempotent_reaches_the_inner_transport(cache: Cache, backend: FakeDynamo) -> None:
    seen: list[tuple[str, bool]] = []
    backend.observe = lambda operation: seen.append((operation, resend_allowed()))
    get(cache, "a")
    with not_idempotent():
        cache.send("PutItem", WRITES_OF_A["PutItem"])
        cache.send("TransactWriteItems", WRITES_OF_A["TransactWriteItems"])
        get(cache, "b")
    cache.send("UpdateItem", WRITES_OF_A["UpdateItem"])
    assert seen == [("GetItem", True), ("PutItem", False), ("TransactWriteItems", False),
                    ("GetItem", False), ("UpdateItem", True)]


@pytest.mark.parametrize("operation", ["GetItem", "Query", "BatchGetItem"])
def test_failed_read_caches_nothing(cache: Cache, inner: MockRecorder, backend: FakeDynamo,
                                    operation: str) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    read: dict[str, Callable[[], dict[str, Any]]] = {
        "GetItem": lambda: get(cache, "a"),
        "Query": lambda: query(cache, "a"),
        "BatchGetItem": lambda: cache.send("BatchGetItem", {"RequestItems": {
            T: {"Keys": [key("a")]}}}),
    }
    backend.fail_next = ThrottlingError("slow down", code="ThrottlingException")
    with pytest.raises(ThrottlingError):
        read[operation]()
    first, second = read[operation](), read[operation]()  # a miss, then a hit
    first.pop("ConsumedCapacity", None)  # what a hit leaves out
    assert first == second and sent(inner, operation) == 2
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)


class _Locks:
    """The cache's locks (its counters' and its in-process store's)."""

    def __init__(self, cache: Cache) -> None:
        target = cache.aio if isinstance(cache, AsyncAsSync) else cache
        assert isinstance(target, CacheCore) and isinstance(target.store, MemoryCacheStore)
        self.locks = [target._lock, target.store._lock]

    def locked(self) -> bool:
        return any(lock.locked() for lock in self.locks)


def _lock_of(cache: Cache) -> _Locks:
    return _Locks(cache)


def test_the_lock_is_free_during_every_inner_call(make_cache: MakeCache,
                                                  backend: FakeDynamo) -> None:
    cache = make_cache(evict_queries_on_write=True)
    lock = _lock_of(cache)
    calls: list[tuple[str, bool]] = []
    backend.observe = lambda operation: calls.append((operation, lock.locked()))
    cache.send("DescribeTable", {"TableName": T})
    get(cache, "a")
    get(cache, "a", ConsistentRead=True)
    cache.send("BatchGetItem", {"RequestItems": {T: {"Keys": [key("b")]}}})
    query(cache, "a")
    cache.send("Scan", {"TableName": T})
    for operation, params in WRITES_OF_A.items():
        cache.send(operation, params)
    cache.send("TransactGetItems", {"TransactItems": [{"Get": {"TableName": T,
                                                               "Key": key("a")}}]})
    cache.send("ExecuteStatement", {"Statement": f'DELETE FROM "{T}" WHERE PK = ?'})
    backend.fail_next = maybe_applied_error("reset")
    with pytest.raises(TransportError):
        cache.send("PutItem", WRITES_OF_A["PutItem"])
    assert len(calls) == 14
    assert [op for op, locked in calls if locked] == []


# -- threads -----------------------------------------------------------------------------


@sync_only
def test_many_threads_no_corruption(inner: MockTransport, backend: FakeDynamo) -> None:
    cache = CachedTransport(inner, max_items=6)
    backend.jitter = 0.001
    pks = [f"k{i}" for i in range(10)]
    errors: list[BaseException] = []
    gets = [0]
    count_lock = threading.Lock()

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for n in range(150):
                pk = rnd.choice(pks)
                if rnd.random() < 0.3:
                    cache.send("PutItem", {"TableName": T,
                                           "Item": item(pk, v=f"{seed}-{n}")})
                else:
                    got = get(cache, pk)
                    if got:
                        assert got["Item"]["PK"] == {"S": pk}
                    with count_lock:
                        gets[0] += 1
        except BaseException as exc:
            errors.append(exc)

    get(cache, "k0")  # learn the key attributes first
    threads = [threading.Thread(target=work, args=(s,)) for s in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stats = cache.stats
    assert stats.hits + stats.misses == gets[0] + 1
    assert stats.items <= 6
    for pk in pks:  # every entry still cached agrees with the backend
        cached = get(cache, pk)
        stored = backend.items.get((T, pk, "A"))
        assert cached == ({"Item": stored} if stored else {})


def test_client_reads_through_the_cache(backend: FakeDynamo) -> None:
    from tests.models import Customer, shop

    inner = MockTransport(backend)
    db = shop.connect(transport=CachedTransport(inner), table_name=T)
    ada = Customer(username="ada", email="ada@x.io", name="Ada")
    db.put(ada)
    assert db.get(Customer, username="ada") == ada  # miss: read from the backend
    assert db.get(Customer, username="ada") == ada  # hit
    ada.name = "Ada L."
    db.put(ada)  # write-through: the key attributes were learned from GetItem
    got = db.get(Customer, username="ada")
    assert got is not None and got.name == "Ada L." and got.version == 2
    assert inner.operations() == ["PutItem", "GetItem", "PutItem"]


class Gated:
    """Wraps the backend so a test can hold one call before or after it reaches it."""

    def __init__(self, backend: FakeDynamo) -> None:
        self.backend = backend
        self.gates: dict[tuple[str, str], tuple[threading.Event, threading.Event]] = {}

    def gate(self, operation: str, when: str) -> tuple[threading.Event, threading.Event]:
        pair = (threading.Event(), threading.Event())  # (arrived, release)
        self.gates[(operation, when)] = pair
        return pair

    def _hold(self, operation: str, when: str) -> None:
        pair = self.gates.pop((operation, when), None)
        if pair is not None:
            pair[0].set()
            assert pair[1].wait(5)

    def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self._hold(operation, "before")
        response = self.backend(operation, params)
        self._hold(operation, "after")
        return response


def _thread(fn: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn(*args)))
    thread.start()
    return thread, out


@pytest.fixture
def gated(backend: FakeDynamo) -> tuple[Gated, CachedTransport]:
    backend.items[(T, "a", "A")] = item("a", v="1")
    gates = Gated(backend)
    cache = CachedTransport(MockTransport(gates))
    cache.learn_key_attributes(T, ["PK", "SK"])
    return gates, cache


def put_v(cache: Cache, value: str) -> dict[str, Any]:
    return cache.send("PutItem", {"TableName": T, "Item": item("a", v=value)})


def test_read_that_saw_the_old_item_does_not_cache_it(
    gated: tuple[Gated, CachedTransport]
) -> None:
    gates, cache = gated
    arrived, release = gates.gate("GetItem", "after")
    reader, result = _thread(get, cache, "a")
    assert arrived.wait(5)  # the read has the old item in hand
    put_v(cache, "2")
    release.set()
    reader.join()
    assert result[0]["Item"]["v"] == {"S": "1"}
    assert get(cache, "a")["Item"]["v"] == {"S": "2"}


def test_read_started_during_a_write_does_not_cache_the_old_item(
    gated: tuple[Gated, CachedTransport]
) -> None:
    gates, cache = gated
    w_arrived, w_release = gates.gate("PutItem", "before")
    writer, _ = _thread(put_v, cache, "2")
    assert w_arrived.wait(5)
    r_arrived, r_release = gates.gate("GetItem", "after")
    reader, result = _thread(get, cache, "a")
    assert r_arrived.wait(5)
    w_release.set()
    writer.join()
    r_release.set()
    reader.join()
    assert result[0]["Item"]["v"] == {"S": "1"}
    assert get(cache, "a")["Item"]["v"] == {"S": "2"}


def test_overlapping_writes_leave_no_stale_item(gated: tuple[Gated, CachedTransport],
                                                backend: FakeDynamo) -> None:
    gates, cache = gated
    arrived, release = gates.gate("PutItem", "after")
    first, _ = _thread(put_v, cache, "2")
    assert arrived.wait(5)  # "2" is stored by DynamoDB, its write not finished here
    put_v(cache, "3")
    release.set()
    first.join()
    assert backend.items[(T, "a", "A")]["v"] == {"S": "3"}
    assert get(cache, "a")["Item"]["v"] == {"S": "3"}


def test_read_during_a_failed_write_does_not_cache_the_old_item(
    gated: tuple[Gated, CachedTransport], backend: FakeDynamo
) -> None:
    gates, cache = gated
    backend.lose_answer["PutItem"] = maybe_applied_error("reset")
    w_arrived, w_release = gates.gate("PutItem", "before")
    failures: list[BaseException] = []

    def write() -> None:
        try:
            put_v(cache, "2")
        except TransportError as exc:
            failures.append(exc)

    writer, _ = _thread(write)
    assert w_arrived.wait(5)
    r_arrived, r_release = gates.gate("GetItem", "after")
    reader, result = _thread(get, cache, "a")
    assert r_arrived.wait(5)  # the read has the old item in hand
    w_release.set()  # applied, then the answer is lost
    writer.join()
    r_release.set()
    reader.join()
    assert len(failures) == 1 and getattr(failures[0], "maybe_applied", False)
    assert result[0]["Item"]["v"] == {"S": "1"}
    assert get(cache, "a")["Item"]["v"] == {"S": "2"}


def test_a_projection_read_during_a_write_is_dropped_when_the_write_ends(
    gated: tuple[Gated, CachedTransport]
) -> None:
    gates, cache = gated
    proj: dict[str, Any] = {"ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "v"}}
    w_arrived, w_release = gates.gate("PutItem", "before")
    writer, _ = _thread(put_v, cache, "2")
    assert w_arrived.wait(5)
    assert get(cache, "a", **proj)["Item"]["v"] == {"S": "1"}  # read while the write is out
    w_release.set()
    writer.join()
    assert get(cache, "a", **proj)["Item"]["v"] == {"S": "2"}


def test_store_and_in_process_sizes_do_not_mix() -> None:
    store = MemoryCacheStore(max_items=5)
    with pytest.raises(ValueError, match="max_items"):
        CachedTransport(MockTransport(FakeDynamo()), store=store, max_items=10)
    cache = CachedTransport(MockTransport(FakeDynamo()), store=store)
    assert cache.store is store and not store.shared
