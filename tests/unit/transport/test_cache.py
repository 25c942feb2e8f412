"""CachedTransport: hits, misses, TTL, LRU, write-through, bypass, partition eviction, threads."""

from __future__ import annotations

import random
import re
import threading
import time
from typing import Any

import pytest

from dyntable.errors import ConditionalCheckFailedError
from dyntable.transport.base import CallEvent
from dyntable.transport.cache import CachedTransport
from dyntable.transport.mock import MockTransport

T = "tbl"


def key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def item(pk: str, sk: str = "A", **attrs: str) -> dict[str, Any]:
    return {**key(pk, sk), **{k: {"S": v} for k, v in attrs.items()}}


class FakeDynamo:
    """A tiny in-memory backend: just enough DynamoDB for the cache's requests."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.fail_next: Exception | None = None
        self.jitter = 0.0  # seconds of random delay after each answer (to interleave threads)

    @staticmethod
    def _id(table: str, k: dict[str, Any]) -> tuple[str, str, str]:
        return table, k["PK"]["S"], k["SK"]["S"]

    def __call__(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        with self.lock:
            response: dict[str, Any] = getattr(self, "op_" + operation)(params)
        if self.jitter:
            time.sleep(random.random() * self.jitter)
        return response

    def op_GetItem(self, p: dict[str, Any]) -> dict[str, Any]:
        found = self.items.get(self._id(p["TableName"], p["Key"]))
        return {"Item": dict(found)} if found else {}

    def op_PutItem(self, p: dict[str, Any]) -> dict[str, Any]:
        ident = self._id(p["TableName"], p["Item"])
        old = self.items.get(ident)
        self.items[ident] = dict(p["Item"])
        return {"Attributes": old} if old and p.get("ReturnValues") == "ALL_OLD" else {}

    def op_DeleteItem(self, p: dict[str, Any]) -> dict[str, Any]:
        self.items.pop(self._id(p["TableName"], p["Key"]), None)
        return {}

    def op_UpdateItem(self, p: dict[str, Any]) -> dict[str, Any]:
        ident = self._id(p["TableName"], p["Key"])
        current = dict(self.items.get(ident) or p["Key"])
        names, values = p.get("ExpressionAttributeNames", {}), p["ExpressionAttributeValues"]
        for name, value in re.findall(r"(#\w+) = (:\w+)", p["UpdateExpression"]):
            current[names[name]] = values[value]
        self.items[ident] = current
        return {"Attributes": dict(current)} if p.get("ReturnValues") == "ALL_NEW" else {}

    def op_Query(self, p: dict[str, Any]) -> dict[str, Any]:
        (name, value), = re.findall(r"(#\w+) = (:\w+)", p["KeyConditionExpression"])
        attr = p["ExpressionAttributeNames"][name]
        want = p["ExpressionAttributeValues"][value]
        items = [dict(i) for (t, _, _), i in sorted(self.items.items())
                 if t == p["TableName"] and i.get(attr) == want]
        return {"Items": items, "Count": len(items), "ScannedCount": len(items),
                "ConsumedCapacity": {"TableName": p["TableName"], "CapacityUnits": 0.5}}

    def op_Scan(self, p: dict[str, Any]) -> dict[str, Any]:
        items = [dict(i) for (t, _, _), i in sorted(self.items.items()) if t == p["TableName"]]
        return {"Items": items, "Count": len(items), "ScannedCount": len(items)}

    def op_BatchGetItem(self, p: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, list[Any]] = {}
        for table, spec in p["RequestItems"].items():
            for k in spec["Keys"]:
                found = self.items.get(self._id(table, k))
                if found:
                    out.setdefault(table, []).append(dict(found))
        return {"Responses": out, "UnprocessedKeys": {}}

    def op_BatchWriteItem(self, p: dict[str, Any]) -> dict[str, Any]:
        for table, actions in p["RequestItems"].items():
            for a in actions:
                if "PutRequest" in a:
                    self.op_PutItem({"TableName": table, "Item": a["PutRequest"]["Item"]})
                else:
                    self.op_DeleteItem({"TableName": table, "Key": a["DeleteRequest"]["Key"]})
        return {"UnprocessedItems": {}}

    def op_TransactWriteItems(self, p: dict[str, Any]) -> dict[str, Any]:
        for action in p["TransactItems"]:
            for kind, spec in action.items():
                getattr(self, f"op_{kind}Item")(spec)
        return {}

    def op_TransactGetItems(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"Responses": [self.op_GetItem(a["Get"]) for a in p["TransactItems"]]}

    def op_DescribeTable(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"Table": {"TableName": p["TableName"], "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"}]}}

    def op_DeleteTable(self, p: dict[str, Any]) -> dict[str, Any]:
        return {}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def backend() -> FakeDynamo:
    return FakeDynamo()


@pytest.fixture
def inner(backend: FakeDynamo) -> MockTransport:
    return MockTransport(backend)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(inner: MockTransport, clock: Clock) -> CachedTransport:
    return CachedTransport(inner, clock=clock)


def sent(inner: MockTransport, operation: str) -> int:
    return inner.operations().count(operation)


def get(cache: CachedTransport, pk: str, sk: str = "A", **extra: Any) -> dict[str, Any]:
    """GetItem through the cache (``extra``: more request parameters)."""
    return cache.send("GetItem", {"TableName": T, "Key": key(pk, sk), **extra})


def query(cache: CachedTransport, pk: str, **extra: Any) -> dict[str, Any]:
    return cache.send("Query", {
        "TableName": T, "KeyConditionExpression": "#n0 = :v0",
        "ExpressionAttributeNames": {"#n0": "PK"},
        "ExpressionAttributeValues": {":v0": {"S": pk}}, **extra})


# -- item cache --------------------------------------------------------------------------


def test_get_miss_then_hit(cache: CachedTransport, inner: MockTransport,
                           backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    first = get(cache, "a")
    second = get(cache, "a")
    assert first["Item"] == second["Item"] == item("a", name="Ada")
    assert sent(inner, "GetItem") == 1
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.items) == (1, 1, 1)
    assert stats.hit_ratio == 0.5


def test_cached_responses_are_copies(cache: CachedTransport, backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    get(cache, "a")["Item"]["name"]["S"] = "mutated"
    hit = get(cache, "a")
    hit["Item"]["name"]["S"] = "mutated again"
    assert get(cache, "a")["Item"]["name"] == {"S": "Ada"}


def test_not_found_is_cached_too(cache: CachedTransport, inner: MockTransport) -> None:
    assert get(cache, "nobody") == {}
    assert get(cache, "nobody") == {}
    assert sent(inner, "GetItem") == 1
    assert cache.stats.hits == 1


def test_ttl_expiry(cache: CachedTransport, inner: MockTransport, clock: Clock,
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


def test_lru_eviction(inner: MockTransport, clock: Clock) -> None:
    cache = CachedTransport(inner, max_items=2, clock=clock)
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


def test_projection_is_part_of_the_key(cache: CachedTransport, inner: MockTransport) -> None:
    proj: dict[str, Any] = {"ProjectionExpression": "#n0",
                            "ExpressionAttributeNames": {"#n0": "name"}}
    get(cache, "a")
    get(cache, "a", **proj)
    get(cache, "a", **proj)
    assert sent(inner, "GetItem") == 2


def test_consistent_reads_bypass(cache: CachedTransport, inner: MockTransport) -> None:
    get(cache, "a")
    get(cache, "a", ConsistentRead=True)
    get(cache, "a", ConsistentRead=True)
    cache.send("TransactGetItems", {"TransactItems": [{"Get": {"TableName": T,
                                                               "Key": key("a")}}]})
    assert sent(inner, "GetItem") == 3
    assert sent(inner, "TransactGetItems") == 1
    assert cache.stats.bypasses == 3


# -- write-through -----------------------------------------------------------------------


def test_put_writes_through(cache: CachedTransport, inner: MockTransport) -> None:
    get(cache, "a")  # negative entry; also teaches the key attributes
    cache.send("PutItem", {"TableName": T, "Item": item("a", name="Ada")})
    assert get(cache, "a")["Item"] == item("a", name="Ada")
    cache.send("PutItem", {"TableName": T, "Item": item("b", name="Bob")})
    assert get(cache, "b")["Item"] == item("b", name="Bob")
    assert sent(inner, "GetItem") == 1


def test_put_with_unknown_key_attributes_caches_nothing(
    cache: CachedTransport, inner: MockTransport
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
    cache: CachedTransport, inner: MockTransport, backend: FakeDynamo
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


def test_delete_caches_absence(cache: CachedTransport, inner: MockTransport,
                               backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    get(cache, "a")
    cache.send("DeleteItem", {"TableName": T, "Key": key("a")})
    assert get(cache, "a") == {}
    assert sent(inner, "GetItem") == 1


def test_failed_write_evicts(cache: CachedTransport, inner: MockTransport,
                             backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", name="Ada")
    get(cache, "a")
    backend.fail_next = ConditionalCheckFailedError("no", code="ConditionalCheckFailedException")
    with pytest.raises(ConditionalCheckFailedError):
        cache.send("PutItem", {"TableName": T, "Item": item("a", name="X")})
    assert get(cache, "a")["Item"]["name"] == {"S": "Ada"}
    assert sent(inner, "GetItem") == 2


def test_batch_get_serves_hits_and_sends_misses(
    cache: CachedTransport, inner: MockTransport, backend: FakeDynamo
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
    cache: CachedTransport, inner: MockTransport, backend: FakeDynamo
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
    cache: CachedTransport, inner: MockTransport
) -> None:
    get(cache, "a")
    query(cache, "a")
    cache.send("DeleteTable", {"TableName": T})
    assert (cache.stats.items, cache.stats.queries) == (0, 0)
    assert inner.operations()[-1] == "DeleteTable"


# -- query cache -------------------------------------------------------------------------


def test_query_cache_hit_and_stale_like_dax(
    cache: CachedTransport, inner: MockTransport, backend: FakeDynamo
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


def test_evict_queries_on_write(inner: MockTransport, clock: Clock,
                                backend: FakeDynamo) -> None:
    cache = CachedTransport(inner, clock=clock, evict_queries_on_write=True)
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


def test_query_ttl(cache: CachedTransport, inner: MockTransport, clock: Clock) -> None:
    query(cache, "a")
    clock.now += 301
    query(cache, "a")
    assert sent(inner, "Query") == 2
    assert cache.stats.expirations == 1


def test_hooks_see_the_cache_outcome(cache: CachedTransport) -> None:
    events: list[CallEvent] = []
    cache.add_hook(events.append)
    get(cache, "a")
    get(cache, "a")
    get(cache, "a", ConsistentRead=True)
    cache.send("PutItem", {"TableName": T, "Item": item("a")})
    assert [e.extra["cache"] for e in events] == ["miss", "hit", "bypass", "write"]
    assert all(e.transport == "cache" and e.table == T for e in events)


# -- threads -----------------------------------------------------------------------------


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


def put_v(cache: CachedTransport, value: str) -> dict[str, Any]:
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
