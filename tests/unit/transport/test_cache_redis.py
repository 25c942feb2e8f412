"""The Redis cache store on a real redis-server: sharing, races, stampedes, wire format, TLS,
AUTH, fail-open.

Each test is one process; several ``CachedTransport`` objects over one
:class:`FakeDynamo` and one Redis stand for several processes or Lambda instances (the
multi-process proofs are in tests/integration/test_redis_cache_processes.py). Tests use a
fresh ``stage`` each, so they share the session's redis-server. ``kind`` runs a test over
the sync store and over the asyncio one (driven on a background event loop).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from dyntable._internal.transport.cache_redis import decode, encode
from dyntable.testing.redis_server import RedisServer
from dyntable.transport.aio_cache import AsyncCachedTransport
from dyntable.transport.aio_mock import AsyncMockTransport
from dyntable.transport.cache import CachedTransport, CacheStats
from dyntable.transport.mock import MockRecorder, MockTransport
from dyntable.transport.redis_cache import AsyncRedisCacheStore, RedisCacheStore
from tests.async_facade import LoopThread
from tests.unit.transport.cache_backend import FakeDynamo, T, item, key
from tests.unit.transport.test_cache import Gated, _thread


class OnLoop:
    """An AsyncCachedTransport called like a sync one, on one background event loop."""

    def __init__(self, cache: AsyncCachedTransport, loop: LoopThread) -> None:
        self.aio = cache
        self.loop = loop

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.loop.run(self.aio.send(operation, params))

    @property
    def stats(self) -> CacheStats:
        return self.aio.stats

    def clear(self) -> None:
        self.loop.run(self.aio.aclear())

    def close(self) -> None:
        self.loop.run(self.aio.close())


Cache = CachedTransport | OnLoop


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stage() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def backend() -> FakeDynamo:
    return FakeDynamo()


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


MakeCache = Callable[..., tuple[Cache, MockRecorder]]


@pytest.fixture
def make_cache(kind: str, redis_url: str, stage: str, backend: FakeDynamo,
               loop: LoopThread) -> Iterator[MakeCache]:
    """``make_cache(**options)``: a new transport (a new "process") sharing the store."""
    made: list[Cache] = []

    def make(*, url: str | None = None, store_options: dict[str, Any] | None = None,
             over: Any = None, **options: Any) -> tuple[Cache, MockRecorder]:
        store_kw = {"stage": stage, **(store_options or {})}
        target = over if over is not None else backend
        cache: Cache
        if kind == "sync":
            inner: MockRecorder = MockTransport(target)
            store = RedisCacheStore(url or redis_url, **store_kw)
            cache = CachedTransport(cast(Any, inner), store=store, **options)
            cache.learn_key_attributes(T, ["PK", "SK"])
        else:
            inner = AsyncMockTransport(target)
            aio = AsyncCachedTransport(inner, store=AsyncRedisCacheStore(url or redis_url,
                                                                         **store_kw), **options)
            aio.learn_key_attributes(T, ["PK", "SK"])
            cache = OnLoop(aio, loop)
        made.append(cache)
        return cache, inner

    yield make
    for cache in made:
        cache.close()


def get(cache: Cache, pk: str, **extra: Any) -> dict[str, Any]:
    return cache.send("GetItem", {"TableName": T, "Key": key(pk), **extra})


def put(cache: Cache, pk: str, **attrs: str) -> dict[str, Any]:
    return cache.send("PutItem", {"TableName": T, "Item": item(pk, **attrs)})


def query(cache: Cache, pk: str) -> dict[str, Any]:
    return cache.send("Query", {
        "TableName": T, "KeyConditionExpression": "#n0 = :v0",
        "ExpressionAttributeNames": {"#n0": "PK"},
        "ExpressionAttributeValues": {":v0": {"S": pk}}})


def sent(inner: MockRecorder, operation: str) -> int:
    return inner.operations().count(operation)


# -- sharing -------------------------------------------------------------------------------


def test_a_write_through_one_transport_is_read_by_another(
    make_cache: MakeCache, backend: FakeDynamo
) -> None:
    backend.items[(T, "a", "A")] = item("a", v="1")
    one, one_inner = make_cache()
    two, two_inner = make_cache()
    assert get(two, "a")["Item"]["v"] == {"S": "1"}  # miss: two fills the shared entry
    assert get(one, "a")["Item"]["v"] == {"S": "1"}  # hit for one
    assert sent(one_inner, "GetItem") == 0
    put(one, "a", v="2")  # write-through: the shared entry now holds the new item
    assert get(two, "a")["Item"]["v"] == {"S": "2"}
    assert sent(two_inner, "GetItem") == 1
    one.send("UpdateItem", {"TableName": T, "Key": key("a"), "UpdateExpression": "SET #v = :v",
                            "ExpressionAttributeNames": {"#v": "v"},
                            "ExpressionAttributeValues": {":v": {"S": "3"}}})
    assert get(two, "a")["Item"]["v"] == {"S": "3"}  # new item unknown: evicted, read again
    assert sent(two_inner, "GetItem") == 2
    one.send("DeleteItem", {"TableName": T, "Key": key("a")})
    assert get(two, "a") == {}  # the delete cached "not found" for everyone
    assert sent(two_inner, "GetItem") == 2
    assert two.stats.hits == 2 and one.stats.invalidations >= 1


def test_batch_get_and_projections_are_shared(make_cache: MakeCache,
                                              backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", v="1", w="x")
    one, one_inner = make_cache()
    two, two_inner = make_cache()
    proj = {"ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "v"}}
    batch = {"RequestItems": {T: {"Keys": [key("a"), key("b")]}}}
    assert len(one.send("BatchGetItem", batch)["Responses"][T]) == 1
    assert len(two.send("BatchGetItem", batch)["Responses"][T]) == 1
    get(one, "a", **proj)
    get(two, "a", **proj)
    assert sent(two_inner, "BatchGetItem") == 0 and sent(two_inner, "GetItem") == 0
    put(one, "a", v="2")  # drops every projection of the item, everywhere
    get(two, "a", **proj)
    assert sent(two_inner, "GetItem") == 1
    assert sent(one_inner, "BatchGetItem") == 1


def test_queries_stale_like_dax_unless_evicted_by_partition(
    make_cache: MakeCache, backend: FakeDynamo
) -> None:
    backend.items[(T, "a", "1")] = item("a", "1")
    backend.items[(T, "b", "1")] = item("b", "1")
    like_dax, dax_inner = make_cache()
    query(like_dax, "a")
    put(like_dax, "a", v="new")  # writes a/A: the cached query of partition "a" stays
    assert query(like_dax, "a")["Count"] == 1
    assert sent(dax_inner, "Query") == 1

    backend.items.pop((T, "a", "A"))
    reader, reader_inner = make_cache(evict_queries_on_write=True,
                                      store_options={"stage": "evicting"})
    writer, _ = make_cache(evict_queries_on_write=True, store_options={"stage": "evicting"})
    reader.clear()
    query(reader, "a")
    query(reader, "b")
    reader.send("Scan", {"TableName": T})
    put(writer, "a", v="new")  # another process writes into partition "a"
    assert query(reader, "a")["Count"] == 2
    query(reader, "b")  # partition "b" untouched: still cached
    reader.send("Scan", {"TableName": T})  # every scan of the table is dropped
    assert sent(reader_inner, "Query") == 3 and sent(reader_inner, "Scan") == 2


def test_stage_and_prefix_keep_caches_apart(make_cache: MakeCache, backend: FakeDynamo,
                                            stage: str) -> None:
    backend.items[(T, "a", "A")] = item("a", v="1")
    prod, _ = make_cache()
    dev, dev_inner = make_cache(store_options={"stage": stage + "dev"})
    other_app, other_inner = make_cache(store_options={"key_prefix": "otherapp"})
    get(prod, "a")
    get(dev, "a")
    get(other_app, "a")
    assert sent(dev_inner, "GetItem") == 1 and sent(other_inner, "GetItem") == 1
    dev.clear()  # clears its own prefix and stage only
    get(prod, "a")
    assert prod.stats.hits == 1
    with pytest.raises(ValueError, match="stage"):
        RedisCacheStore("redis://127.0.0.1:1", stage="prod*")


def test_a_table_drop_reaches_every_process(make_cache: MakeCache, backend: FakeDynamo) -> None:
    backend.items[(T, "a", "A")] = item("a", v="1")
    one, _ = make_cache()
    two, two_inner = make_cache()
    get(two, "a")
    one.send("DeleteTable", {"TableName": T})
    get(two, "a")
    assert sent(two_inner, "GetItem") == 2


def test_a_writer_that_never_read_the_table_learns_its_key_first(
    redis_url: str, stage: str, backend: FakeDynamo
) -> None:
    backend.items[(T, "a", "A")] = item("a", v="1")
    reader = CachedTransport(MockTransport(backend), store=RedisCacheStore(redis_url,
                                                                           stage=stage))
    writer_inner = MockTransport(backend)
    writer = CachedTransport(writer_inner, store=RedisCacheStore(redis_url, stage=stage))
    with reader, writer:
        get(reader, "a")  # cached by a process that learned the key from its GetItem
        assert writer.key_attributes(T) is None
        put(writer, "a", v="2")  # knows no key attributes yet: asks DynamoDB first
        assert writer_inner.operations() == ["DescribeTable", "PutItem"]
        assert get(reader, "a")["Item"]["v"] == {"S": "2"}


# -- races: no stale item re-inserted --------------------------------------------------------


@pytest.fixture
def gated(redis_url: str, stage: str, backend: FakeDynamo
          ) -> Iterator[tuple[Gated, CachedTransport, CachedTransport]]:
    """A reader whose DynamoDB calls a test can hold, and a writer, sharing one store."""
    backend.items[(T, "a", "A")] = item("a", v="1")
    gates = Gated(backend)
    reader = CachedTransport(MockTransport(gates), store=RedisCacheStore(redis_url, stage=stage))
    writer = CachedTransport(MockTransport(gates), store=RedisCacheStore(redis_url, stage=stage))
    for cache in (reader, writer):
        cache.learn_key_attributes(T, ["PK", "SK"])
    yield gates, reader, writer
    reader.close()
    writer.close()


def test_a_slow_reader_cannot_put_back_what_a_write_replaced(
    gated: tuple[Gated, CachedTransport, CachedTransport]
) -> None:
    gates, reader, writer = gated
    arrived, release = gates.gate("GetItem", "after")
    slow, result = _thread(get, reader, "a")
    assert arrived.wait(5)  # the reader has the old item in hand
    writer.send("UpdateItem", {"TableName": T, "Key": key("a"), "UpdateExpression": "SET #v = :v",
                               "ExpressionAttributeNames": {"#v": "v"},
                               "ExpressionAttributeValues": {":v": {"S": "2"}}})
    release.set()
    slow.join()
    assert result[0]["Item"]["v"] == {"S": "1"}  # what it read, handed to its caller
    assert get(writer, "a")["Item"]["v"] == {"S": "2"}  # but not cached for anyone
    assert get(reader, "a")["Item"]["v"] == {"S": "2"}


def test_a_read_during_another_process_write_does_not_cache(
    gated: tuple[Gated, CachedTransport, CachedTransport]
) -> None:
    gates, reader, writer = gated
    w_arrived, w_release = gates.gate("PutItem", "before")
    writing, _ = _thread(lambda: put(writer, "a", v="2"))
    assert w_arrived.wait(5)  # the write marker is set; DynamoDB has not got the write
    assert get(reader, "a")["Item"]["v"] == {"S": "1"}  # read, but refused to fill
    w_release.set()
    writing.join()
    before = reads(reader)
    assert get(reader, "a")["Item"]["v"] == {"S": "2"}  # the write-through entry
    assert reads(reader) == before


def reads(cache: CachedTransport) -> int:
    """GetItem calls the cache sent to DynamoDB."""
    inner = cache.inner
    assert isinstance(inner, MockTransport)
    return inner.operations().count("GetItem")


def test_overlapping_writes_from_two_processes_leave_no_stale_item(
    gated: tuple[Gated, CachedTransport, CachedTransport], backend: FakeDynamo
) -> None:
    gates, first, second = gated
    arrived, release = gates.gate("PutItem", "after")
    slow, _ = _thread(lambda: put(first, "a", v="2"))
    assert arrived.wait(5)  # "2" is in DynamoDB; its write has not ended
    put(second, "a", v="3")
    release.set()
    slow.join()
    assert backend.items[(T, "a", "A")]["v"] == {"S": "3"}
    assert get(first, "a")["Item"]["v"] == {"S": "3"}
    assert get(second, "a")["Item"]["v"] == {"S": "3"}


# -- stampede ------------------------------------------------------------------------------


def test_a_hot_miss_reads_dynamodb_once(redis_url: str, stage: str,
                                        backend: FakeDynamo) -> None:
    backend.items[(T, "hot", "A")] = item("hot", v="1")
    gates = Gated(backend)
    inner = MockTransport(gates)
    caches = [CachedTransport(inner, store=RedisCacheStore(redis_url, stage=stage),
                              stampede_wait=5.0) for _ in range(6)]
    arrived, release = gates.gate("GetItem", "after")
    first, _ = _thread(get, caches[0], "hot")
    assert arrived.wait(5)  # the first reader holds the fill lease, its answer in flight
    others = [_thread(get, cache, "hot") for cache in caches[1:]]
    deadline = time.monotonic() + 5
    while sum(c.stats.waits for c in caches) < 5 and time.monotonic() < deadline:
        time.sleep(0.005)
    release.set()
    first.join()
    for thread, out in others:
        thread.join()
        assert out[0]["Item"]["v"] == {"S": "1"}
    assert inner.operations() == ["GetItem"]  # one DynamoDB read for six readers
    assert sum(c.stats.waits for c in caches) == 5
    assert sum(c.stats.hits for c in caches) == 5
    for cache in caches:
        cache.close()


# -- what is stored --------------------------------------------------------------------------


def test_values_are_wire_json_never_pickles(make_cache: MakeCache, backend: FakeDynamo,
                                            redis_url: str, stage: str) -> None:
    backend.items[(T, "a", "A")] = {**item("a"), "bin": {"B": b"\x00\xff"},
                                    "bs": {"BS": [b"\x01"]}, "m": {"M": {"$b": {"S": "x"}}}}
    cache, inner = make_cache()
    first = get(cache, "a")
    assert get(cache, "a") == first  # bytes come back as bytes
    client = redis.Redis.from_url(redis_url)
    try:
        keys = client.keys(f"dyntable:{stage}:{T}:i:*")
        assert len(keys) == 1
        raw = client.hget(keys[0], "v")
        assert isinstance(raw, bytes) and raw[:1] == b"b"
        assert json.loads(raw[1:])["bin"] == {"B": {"$b": "AP8="}}
        assert decode(raw) == first["Item"]
        client.hset(keys[0], "v", b"\x80\x04\x95pickle")  # something that is not ours
        assert get(cache, "a") == first  # not read: a miss answered by DynamoDB
        assert cache.stats.store_errors == 1 and sent(inner, "GetItem") == 2
    finally:
        client.close()
    assert encode({"S": "é"}) == b'j{"S":"\xc3\xa9"}'


def test_answers_over_the_size_limit_are_not_stored(make_cache: MakeCache,
                                                    backend: FakeDynamo) -> None:
    backend.items[(T, "big", "A")] = item("big", blob="x" * 2000)
    backend.items[(T, "small", "A")] = item("small")
    cache, inner = make_cache(store_options={"max_value_bytes": 1000})
    for _ in range(2):
        get(cache, "big")
        get(cache, "small")
    assert sent(inner, "GetItem") == 3


# -- fail open -------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_no_redis_fails_open_with_one_log_line(make_cache: MakeCache, backend: FakeDynamo,
                                               caplog: pytest.LogCaptureFixture) -> None:
    backend.items[(T, "a", "A")] = item("a", v="1")
    caplog.set_level(logging.WARNING, logger="dyntable.cache")
    cache, inner = make_cache(url=f"redis://127.0.0.1:{_closed_port()}/0",
                              store_options={"backoff": 0.2})
    for n in range(20):
        assert get(cache, "a")["Item"]["v"] == {"S": str(n + 1)}
        put(cache, "a", v=str(n + 2))
    assert query(cache, "a")["Count"] == 1
    assert sent(inner, "GetItem") == 20 and sent(inner, "PutItem") == 20
    stats = cache.stats
    assert stats.hits == 0 and stats.misses == 21 and stats.store_errors >= 20
    lines = [r for r in caplog.records if r.name == "dyntable.cache"]
    assert len(lines) == 1 and "unreachable" in lines[0].getMessage()
    assert "ConnectionError" in lines[0].getMessage()


class CuttableProxy:
    """A TCP forwarder to Redis that a test can cut (connections dropped, new ones closed)."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.cut = threading.Event()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def sever(self) -> None:
        self.cut.set()
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def close(self) -> None:
        self.sever()
        self.server.close()


def test_evictions_missed_during_a_partition_are_replayed(
    make_cache: MakeCache, backend: FakeDynamo, redis_url: str,
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dyntable.cache")
    port = int(redis_url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    proxy = CuttableProxy(port)
    try:
        backend.items[(T, "a", "A")] = item("a", v="1")
        cut_off, _ = make_cache(url=f"redis://127.0.0.1:{proxy.port}/0",
                                store_options={"backoff": 0.05})
        other, _ = make_cache()
        assert get(other, "a")["Item"]["v"] == {"S": "1"}  # cached in Redis
        assert get(cut_off, "a")["Item"]["v"] == {"S": "1"}  # a hit through the proxy
        proxy.sever()
        put(cut_off, "a", v="2")  # DynamoDB has it; the eviction cannot reach Redis
        assert backend.items[(T, "a", "A")]["v"] == {"S": "2"}
        assert get(other, "a")["Item"]["v"] == {"S": "1"}  # stale while partitioned
        proxy.cut.clear()
        time.sleep(0.3)  # past the backoff
        get(cut_off, "zz")  # the next call replays the eviction before anything else
        assert get(other, "a")["Item"]["v"] == {"S": "2"}
        messages = [r.getMessage() for r in caplog.records if r.name == "dyntable.cache"]
        assert len(messages) == 2
        assert "unreachable" in messages[0] and "reachable again" in messages[1]
    finally:
        proxy.close()


def test_a_write_in_backoff_still_evicts_from_a_restarted_redis(
    make_cache: MakeCache, backend: FakeDynamo
) -> None:
    """Redis restarts empty; the reader is back first and fills the item again while the
    writer still backs off: the writer's acknowledged write must still reach the new Redis
    (before the fix it was only remembered, and the reader served the older item)."""
    backend.items[(T, "a", "A")] = item("a", v="1")
    with RedisServer() as server:
        writer, _ = make_cache(url=server.url, store_options={"backoff": 60.0,
                                                              "backoff_max": 60.0})
        reader, inner = make_cache(url=server.url, store_options={"backoff": 0.01,
                                                                  "backoff_max": 0.01})
        assert get(writer, "a")["Item"]["v"] == {"S": "1"}
        assert get(reader, "a")["Item"]["v"] == {"S": "1"}  # both connected: a hit
        server.kill()
        get(writer, "a")  # the writer backs off for a minute
        get(reader, "a")
        server.start()  # same port, empty
        time.sleep(0.05)
        assert get(reader, "a")["Item"]["v"] == {"S": "1"}  # back: a miss, filled again
        assert get(reader, "a")["Item"]["v"] == {"S": "1"}
        reads = sent(inner, "GetItem")
        put(writer, "a", v="2")  # answered while the writer is still backing off
        assert get(reader, "a")["Item"]["v"] == {"S": "2"}
        assert sent(inner, "GetItem") == reads + 1  # evicted (no value: no begin marker)
        assert get(writer, "zz") == {}  # still backing off for reads: no Redis call


def test_a_fill_begun_before_a_write_in_backoff_is_refused(stage: str,
                                                          backend: FakeDynamo) -> None:
    """The same restart, with the reader's DynamoDB read racing the backing-off writer's
    write: the read's fill comes after the write was answered and must be refused."""
    backend.items[(T, "a", "A")] = item("a", v="1")
    gates = Gated(backend)
    with RedisServer() as server:
        writer = CachedTransport(MockTransport(gates), store=RedisCacheStore(
            server.url, stage=stage, backoff=60.0, backoff_max=60.0))
        reader = CachedTransport(MockTransport(gates), store=RedisCacheStore(
            server.url, stage=stage, backoff=0.01, backoff_max=0.01))
        try:
            for cache in (reader, writer):
                cache.learn_key_attributes(T, ["PK", "SK"])
            get(writer, "a")
            server.kill()
            get(writer, "a")  # the writer backs off for a minute
            server.start()  # same port, empty
            arrived, release = gates.gate("GetItem", "after")
            slow, result = _thread(get, reader, "a")  # a token from the new Redis
            assert arrived.wait(5)  # the reader has the old item in hand
            put(writer, "a", v="2")  # answered while the writer backs off
            release.set()
            slow.join()
            assert result[0]["Item"]["v"] == {"S": "1"}  # what it read, to its caller
            assert get(reader, "a")["Item"]["v"] == {"S": "2"}  # never put back
        finally:
            reader.close()
            writer.close()


# -- AUTH and TLS ----------------------------------------------------------------------------


def test_password_and_acl_user(backend: FakeDynamo, stage: str, redis_url: str) -> None:
    """(``redis_url``: skipped, saying why, where no redis-server can be had.)"""
    backend.items[(T, "a", "A")] = item("a", v="1")
    users = {"app": "on >app-secret ~dyntable:* &* +@all"}
    with RedisServer(password="default-secret", users=users) as server:
        stores = {
            "password": RedisCacheStore(server.url, stage=stage, password="default-secret"),
            "acl user": RedisCacheStore(server.url.replace("redis://", "redis://app:app-secret@"),
                                        stage=stage),
            "wrong": RedisCacheStore(server.url, stage=stage, username="app", password="nope"),
        }
        for name, store in stores.items():
            inner = MockTransport(backend)
            with CachedTransport(inner, store=store) as cache:
                get(cache, "a")
                get(cache, "a")
                ok = name != "wrong"
                assert (cache.stats.hits, cache.stats.store_errors > 0) == (
                    (2 if name == "acl user" else 1, False) if ok else (0, True)), name


def _self_signed(directory: Path) -> tuple[str, str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key_ = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key_.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key_, hashes.SHA256()))
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key_.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return str(cert_file), str(key_file), str(cert_file)


def test_tls_with_a_ca_bundle(backend: FakeDynamo, stage: str, tmp_path: Path,
                              loop: LoopThread, redis_url: str) -> None:
    backend.items[(T, "a", "A")] = item("a", v="1")
    tls = _self_signed(tmp_path)
    with RedisServer(tls=tls, password="s3cret") as server:
        verified = RedisCacheStore(server.tls_url, stage=stage, password="s3cret",
                                   ssl_ca_certs=tls[2])
        with CachedTransport(MockTransport(backend), store=verified) as cache:
            get(cache, "a")
            assert get(cache, "a")["Item"]["v"] == {"S": "1"}
            assert cache.stats.hits == 1 and cache.stats.store_errors == 0
        also_tls = AsyncRedisCacheStore(server.url, ssl=True, stage=stage, password="s3cret",
                                        ssl_ca_certs=tls[2])
        assert also_tls.url == server.url.replace("redis://", "rediss://")
        unknown_ca = RedisCacheStore(server.tls_url, stage=stage, password="s3cret")
        with CachedTransport(MockTransport(backend), store=unknown_ca) as cache:
            assert get(cache, "a")["Item"]["v"] == {"S": "1"}  # certificate refused: DynamoDB
            assert cache.stats.hits == 0 and cache.stats.store_errors == 1
        aio = AsyncCachedTransport(AsyncMockTransport(backend), store=AsyncRedisCacheStore(
            server.tls_url, stage=stage, password="s3cret", ssl_ca_certs=tls[2]))
        assert loop.run(aio.send("GetItem", {"TableName": T, "Key": key("a")}))["Item"]
        assert aio.stats.hits == 1
        loop.run(aio.close())


# -- asyncio specifics -------------------------------------------------------------------------


def test_async_store_follows_the_running_loop(redis_url: str, stage: str,
                                              backend: FakeDynamo) -> None:
    import asyncio

    backend.items[(T, "a", "A")] = item("a", v="1")
    cache = AsyncCachedTransport(AsyncMockTransport(backend),
                                 store=AsyncRedisCacheStore(redis_url, stage=stage))

    async def read() -> dict[str, Any]:
        return await cache.send("GetItem", {"TableName": T, "Key": key("a")})

    for _ in range(3):  # three event loops, one after the other
        assert asyncio.run(read())["Item"]["v"] == {"S": "1"}
    assert (cache.stats.hits, cache.stats.misses, cache.stats.store_errors) == (2, 1, 0)
    with pytest.raises(TypeError, match="aclear"):
        cache.clear()
    asyncio.run(cache.close())
    with pytest.raises(TypeError, match="AsyncCachedTransport"):
        CachedTransport(MockTransport(backend), store=AsyncRedisCacheStore(redis_url))


def test_a_writer_that_cannot_describe_the_table_drops_its_entries(
    redis_url: str, stage: str, backend: FakeDynamo
) -> None:
    from dyntable.errors import ServiceError

    backend.items[(T, "a", "A")] = item("a", v="1")
    reader = CachedTransport(MockTransport(backend), store=RedisCacheStore(redis_url,
                                                                           stage=stage))
    writer_inner = MockTransport(backend)
    writer = CachedTransport(writer_inner, store=RedisCacheStore(redis_url, stage=stage))
    with reader, writer:
        get(reader, "a")
        backend.fail_next = ServiceError("not allowed", code="AccessDeniedException")
        put(writer, "a", v="2")  # the write itself goes through
        assert writer_inner.operations() == ["DescribeTable", "PutItem"]
        assert get(reader, "a")["Item"]["v"] == {"S": "2"}  # the table's entries were dropped
