"""The Redis cache store shared by separate processes, against DynamoDB Local and redis-server.

The rule these tests prove (docs/transports.md, "A cache shared across processes"): once a
write through any process sharing the store has been answered to its caller, no read
through any of them returns the item as it was before that write.

* two processes: a write on one is read by the other at once (item write-through, "not
  found" after a delete, evicted updates, partition-evicted queries);
* four processes, 10,000 interleaved reads and writes on a few hot items, with reads slowed
  at random so that fills race writes: every read is at least as new as every write
  acknowledged before the read began (each item carries a counter only ever incremented);
* redis-server killed with SIGKILL mid-run and started again: no request fails, no
  acknowledged write is lost, the rule holds after the restart, and each process logs its
  outage.

Workers are separate processes (``spawn``) over ``HttpTransport``; they share counters with
the test through ``multiprocessing`` values. Bounded in time, no timing assertions.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import random
import time
import uuid
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized, SynchronizedArray
from typing import Any

import pytest

from dyntable.errors import ConditionalCheckFailedError
from dyntable.testing.redis_server import RedisServer
from dyntable.transport.base import Params, Response
from dyntable.transport.cache import CachedTransport
from dyntable.transport.http import HttpTransport
from dyntable.transport.redis_cache import RedisCacheStore

pytestmark = pytest.mark.integration
CTX = mp.get_context("spawn")
KEYS = 8
JOIN_TIMEOUT = 240


def _key(i: int) -> dict[str, Any]:
    return {"PK": {"S": f"ITEM#{i}"}, "SK": {"S": "A"}}


def _http(endpoint: str) -> HttpTransport:
    return HttpTransport(endpoint_url=endpoint, region="us-east-1")


class Slow:
    """An inner transport whose read answers are held a random while (fills race writes)."""

    def __init__(self, inner: HttpTransport, rnd: random.Random) -> None:
        self.inner = inner
        self.rnd = rnd
        self.reads = 0

    def send(self, operation: str, params: Params) -> Response:
        response = self.inner.send(operation, params)
        if operation in ("GetItem", "BatchGetItem"):
            self.reads += 1
            if self.rnd.random() < 0.3:
                time.sleep(self.rnd.random() * 0.004)
        return response

    def close(self) -> None:
        self.inner.close()


def _cache(endpoint: str, redis_url: str, stage: str, rnd: random.Random) -> CachedTransport:
    store = RedisCacheStore(redis_url, stage=stage, backoff=0.05, backoff_max=0.2)
    return CachedTransport(Slow(_http(endpoint), rnd), store=store,
                           evict_queries_on_write=True)


@pytest.fixture
def table(dynamodb_endpoint: str, unique_table_name: str) -> Iterator[str]:
    http = _http(dynamodb_endpoint)
    http.send("CreateTable", {
        "TableName": unique_table_name,
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"},
                      {"AttributeName": "SK", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"},
                                 {"AttributeName": "SK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST"})
    for i in range(KEYS):
        http.send("PutItem", {"TableName": unique_table_name,
                              "Item": {**_key(i), "n": {"N": "0"}}})
    try:
        yield unique_table_name
    finally:
        http.send("DeleteTable", {"TableName": unique_table_name})
        http.close()


def _run(workers: list[Any]) -> None:
    for w in workers:
        w.start()
    for w in workers:
        w.join(JOIN_TIMEOUT)
    alive = [w for w in workers if w.is_alive()]
    for w in alive:
        w.kill()
    assert not alive, f"{len(alive)} worker(s) did not finish within {JOIN_TIMEOUT}s"


# -- two processes -------------------------------------------------------------------------


def _serve(conn: Connection, endpoint: str, redis_url: str, stage: str) -> None:
    """Answer ``(operation, params)`` through a cache; reply ``(answer, DynamoDB reads)``."""
    cache = _cache(endpoint, redis_url, stage, random.Random(0))
    inner = cache.inner
    assert isinstance(inner, Slow)
    while True:
        request = conn.recv()
        if request is None:
            break
        answer = cache.send(*request)
        answer.pop("ResponseMetadata", None)
        conn.send((answer, inner.reads))
    cache.close()


class Remote:
    """A cache in another process, called like a function."""

    def __init__(self, endpoint: str, redis_url: str, stage: str) -> None:
        self.conn, child = CTX.Pipe()
        self.process = CTX.Process(target=_serve, args=(child, endpoint, redis_url, stage))
        self.process.start()

    def __call__(self, operation: str, **params: Any) -> tuple[dict[str, Any], int]:
        self.conn.send((operation, params))
        if not self.conn.poll(60):
            raise TimeoutError(f"{operation} got no answer from the worker")
        answer: tuple[dict[str, Any], int] = self.conn.recv()
        return answer

    def close(self) -> None:
        self.conn.send(None)
        self.process.join(30)


def test_two_processes_see_each_others_writes(dynamodb_endpoint: str, redis_url: str,
                                              table: str) -> None:
    stage = f"p{uuid.uuid4().hex[:8]}"
    one, two = (Remote(dynamodb_endpoint, redis_url, stage) for _ in range(2))
    try:
        got, reads = two("GetItem", TableName=table, Key=_key(0))
        assert got["Item"]["n"] == {"N": "0"} and reads == 1
        got, reads = one("GetItem", TableName=table, Key=_key(0))
        assert got["Item"]["n"] == {"N": "0"} and reads == 0  # filled by the other process

        one("PutItem", TableName=table, Item={**_key(0), "n": {"N": "1"}})
        got, reads = two("GetItem", TableName=table, Key=_key(0))
        assert got["Item"]["n"] == {"N": "1"} and reads == 1  # write-through: a hit

        one("UpdateItem", TableName=table, Key=_key(0), UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}})
        got, reads = two("GetItem", TableName=table, Key=_key(0))
        assert got["Item"]["n"] == {"N": "2"} and reads == 2  # evicted: read again

        one("DeleteItem", TableName=table, Key=_key(0))
        got, reads = two("GetItem", TableName=table, Key=_key(0))
        assert "Item" not in got and reads == 2  # "not found", cached by the delete

        query = {"TableName": table, "KeyConditionExpression": "PK = :pk",
                 "ExpressionAttributeValues": {":pk": {"S": "ITEM#1"}}}
        assert two("Query", **query)[0]["Count"] == 1
        one("PutItem", TableName=table, Item={"PK": {"S": "ITEM#1"}, "SK": {"S": "B"}})
        assert two("Query", **query)[0]["Count"] == 2  # the partition's queries dropped
    finally:
        one.close()
        two.close()


# -- four processes, interleaved -----------------------------------------------------------


def _mix(endpoint: str, redis_url: str, stage: str, table: str, seed: int, ops: int,
         acked: SynchronizedArray[int], out: Any, done: Synchronized[int]) -> None:
    """Reads and writes on a few items; checks every read against the writes acknowledged
    before it began. Puts ``(seed, report)`` on ``out``."""
    rnd = random.Random(seed)
    cache = _cache(endpoint, redis_url, stage, rnd)
    cache.learn_key_attributes(table, ["PK", "SK"])
    report: dict[str, Any] = {"violations": [], "errors": [], "reads": 0, "writes": 0,
                              "conflicts": 0}

    def ack(i: int, n: int) -> None:
        with acked.get_lock():
            acked[i] = max(acked[i], n)

    proj = {"ProjectionExpression": "#n, PK, SK", "ExpressionAttributeNames": {"#n": "n"}}
    for _ in range(ops):
        i = min(int(rnd.paretovariate(1.2)) - 1, KEYS - 1)  # a few hot items
        try:
            if rnd.random() < 0.3:
                report["writes"] += 1
                ack(i, _write(cache, table, i, rnd, report))
            else:
                report["reads"] += 1
                floor = acked[i]
                choice = rnd.random()
                if choice < 0.6:
                    got = cache.send("GetItem", {"TableName": table, "Key": _key(i)})["Item"]
                elif choice < 0.8:
                    got = cache.send("GetItem", {"TableName": table, "Key": _key(i),
                                                 **proj})["Item"]
                else:
                    answer = cache.send("BatchGetItem", {"RequestItems": {
                        table: {"Keys": [_key(i)]}}})
                    got = answer["Responses"][table][0]
                if int(got["n"]["N"]) < floor:
                    report["violations"].append((i, int(got["n"]["N"]), floor))
        except Exception as exc:
            report["errors"].append(f"{type(exc).__name__}: {exc}")
        with done.get_lock():
            done.value += 1
    store = cache.store
    assert isinstance(store, RedisCacheStore)
    report["stats"] = cache.stats
    report["outages"] = store.outages
    cache.close()
    out.put((seed, report))


def _write(cache: CachedTransport, table: str, i: int, rnd: random.Random,
           report: dict[str, Any]) -> int:
    """Increment item ``i``'s counter one of three ways; return the counter written."""
    how = rnd.random()
    if how < 0.4:  # the new item known: write-through
        answer = cache.send("UpdateItem", {
            "TableName": table, "Key": _key(i), "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "ALL_NEW"})
        return int(answer["Attributes"]["n"]["N"])
    if how < 0.7:  # the new item unknown: evicted
        answer = cache.send("UpdateItem", {
            "TableName": table, "Key": _key(i), "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "UPDATED_NEW"})
        return int(answer["Attributes"]["n"]["N"])
    for _ in range(50):  # a conditional put of the next value (fails when raced)
        current = cache.send("GetItem", {"TableName": table, "Key": _key(i),
                                         "ConsistentRead": True})["Item"]
        n = int(current["n"]["N"]) + 1
        try:
            cache.send("PutItem", {"TableName": table, "Item": {**_key(i), "n": {"N": str(n)}},
                                   "ConditionExpression": "n = :old",
                                   "ExpressionAttributeValues": {":old": current["n"]}})
        except ConditionalCheckFailedError:
            report["conflicts"] += 1
            continue
        return n
    raise AssertionError("50 conditional puts in a row lost the race")


def _start_mix(dynamodb_endpoint: str, redis_url: str, table: str, processes: int,
               ops: int) -> tuple[list[Any], Any, SynchronizedArray[int], Synchronized[int]]:
    stage = f"m{uuid.uuid4().hex[:8]}"
    acked = CTX.Array("q", KEYS)
    done = CTX.Value("q", 0)
    out = CTX.Queue()
    workers = [CTX.Process(target=_mix, args=(dynamodb_endpoint, redis_url, stage, table,
                                              seed, ops, acked, out, done))
               for seed in range(processes)]
    return workers, out, acked, done


def _reports(out: Any, processes: int) -> list[dict[str, Any]]:
    return [out.get(timeout=60)[1] for _ in range(processes)]


def _stored(endpoint: str, table: str) -> list[int]:
    http = _http(endpoint)
    try:
        return [int(http.send("GetItem", {"TableName": table, "Key": _key(i),
                                          "ConsistentRead": True})["Item"]["n"]["N"])
                for i in range(KEYS)]
    finally:
        http.close()


def test_four_processes_never_read_an_item_older_than_an_acknowledged_write(
    dynamodb_endpoint: str, redis_url: str, table: str
) -> None:
    workers, out, acked, _done = _start_mix(dynamodb_endpoint, redis_url, table, 4, 2500)
    _run(workers)
    reports = _reports(out, 4)
    assert [r["errors"] for r in reports] == [[]] * 4
    assert [r["violations"] for r in reports] == [[]] * 4
    assert sum(r["reads"] + r["writes"] for r in reports) == 10_000
    hits = sum(r["stats"].hits for r in reports)
    assert hits > 1000  # the cache served a good part of the reads
    assert _stored(dynamodb_endpoint, table) == acked[:]  # every write acknowledged


def test_killing_redis_mid_run_loses_no_write_and_fails_no_request(
    dynamodb_endpoint: str, table: str, redis_url: str
) -> None:
    """Its own redis-server, to kill (``redis_url``: skipped where none can be had)."""
    with RedisServer() as server:
        workers, out, acked, done = _start_mix(dynamodb_endpoint, server.url, table, 2, 1500)
        for w in workers:
            w.start()
        deadline = time.monotonic() + JOIN_TIMEOUT
        while done.value < 600 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()
        killed_at = done.value
        while done.value < killed_at + 200 and time.monotonic() < deadline:
            time.sleep(0.01)  # requests go on without Redis
        server.start()  # same port, empty (no persistence)
        for w in workers:
            w.join(max(1.0, deadline - time.monotonic()))
        alive = [w for w in workers if w.is_alive()]
        for w in alive:
            w.kill()
        assert not alive, "workers did not finish"
    reports = _reports(out, 2)
    assert [r["errors"] for r in reports] == [[], []]  # no request failed
    assert [r["violations"] for r in reports] == [[], []]  # the rule held throughout
    assert _stored(dynamodb_endpoint, table) == acked[:]  # no write lost
    for r in reports:
        assert r["stats"].store_errors > 0  # each felt the outage, fell through, counted it
        assert r["outages"] >= 1
        assert r["stats"].hits > 0


def test_outage_is_logged_once_per_process(caplog: pytest.LogCaptureFixture,
                                           redis_url: str) -> None:
    """What each worker above logs: one warning per outage, one line on recovery."""
    caplog.set_level(logging.WARNING, logger="dyntable.cache")
    from dyntable.transport.mock import MockTransport
    from tests.unit.transport.cache_backend import FakeDynamo, T, item, key

    backend = FakeDynamo()
    backend.items[(T, "a", "A")] = item("a")
    with RedisServer() as server:
        cache = CachedTransport(MockTransport(backend), store=RedisCacheStore(
            server.url, backoff=0.01, backoff_max=0.05))
        cache.send("GetItem", {"TableName": T, "Key": key("a")})
        server.kill()
        for _ in range(50):
            assert cache.send("GetItem", {"TableName": T, "Key": key("a")})["Item"]
        server.start()
        time.sleep(0.1)
        for _ in range(3):
            cache.send("GetItem", {"TableName": T, "Key": key("a")})
        cache.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "dyntable.cache"]
    assert len(lines) == 2, lines
    assert "unreachable" in lines[0] and "reachable again" in lines[1]
    assert cache.stats.hits >= 1
