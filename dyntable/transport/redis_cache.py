"""A cache store in Redis (ElastiCache for Redis or Valkey, Redis OSS 7), shared by processes.

Give it to :class:`~dyntable.transport.cache.CachedTransport` (sync) or, as
:class:`AsyncRedisCacheStore`, to :class:`~dyntable.transport.aio_cache.AsyncCachedTransport`;
every process, thread or Lambda instance using the same Redis, ``key_prefix`` and ``stage``
shares one cache with DAX's semantics::

    store = RedisCacheStore("rediss://cache.example.com:6379/0", stage="prod",
                            username="app", password=secret)
    db = shop.connect(transport=CachedTransport(Boto3Transport(), store=store))

What sharing guarantees (the rule, proved by tests/integration/test_redis_cache_processes.py):
once a write made through any transport sharing the store has been answered (its end, which
drops or replaces the item's entry in Redis, is done before the caller gets the answer), no
eventually consistent read through any of them returns the item as it was before that
write. Each item entry carries a generation; a read's fill lands only if the generation is
the one its lookup saw, and every write changes it before it is sent (to a write marker
that refuses fills) and after it is answered. Queries follow DAX (stale up to
``query_ttl``) unless ``evict_queries_on_write=True``, which drops, for every process, the
cached queries of the partitions a write touches.

Fails open: when Redis is down, slow (``timeout``) or refuses connections, reads and writes
go to DynamoDB as if nothing were cached; ``stats.store_errors`` counts it, one warning is
logged per outage, and Redis is tried again with backoff (``backoff`` doubling up to
``backoff_max`` seconds). A write's end is tried even while backing off (another process
may be filling the item in a Redis that came back). Evictions that could not reach Redis
are replayed before the store serves anything again.

Needs ``pip install 'dyntable[redis]'`` (redis-py), imported on first use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dyntable._internal.transport.cache_keys import EntryKey, ItemKey, Tag
from dyntable._internal.transport.cache_redis import (
    SCRIPT,
    Batch,
    Health,
    RedisOps,
    ScriptCall,
)
from dyntable._internal.transport.cache_store import Eviction, Fill, Lookup, WriteGroup
from dyntable.errors import DyntableError

if TYPE_CHECKING:
    import asyncio

__all__ = ["AsyncRedisCacheStore", "RedisCacheStore"]

_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()
_SWEEP_BATCH = 500


def _redis() -> Any:
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DyntableError("the Redis cache store needs redis-py: pip install "
                            "'dyntable[redis]'") from exc
    return redis


def _failures() -> tuple[type[BaseException], ...]:
    import asyncio  # its TimeoutError is not OSError's before Python 3.11

    return (_redis().exceptions.RedisError, OSError, asyncio.TimeoutError)


class _Settings:
    """Connection settings and the pure operations, shared by both stores."""

    shared = True

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        key_prefix: str = "dyntable",
        stage: str = "default",
        username: str | None = None,
        password: str | None = None,
        ssl: bool | None = None,
        ssl_ca_certs: str | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        ssl_cert_reqs: str = "required",
        ssl_check_hostname: bool | None = None,
        timeout: float = 0.5,
        connect_timeout: float = 0.5,
        max_connections: int | None = None,
        generation_ttl: float = 60.0,
        max_value_bytes: int = 1 << 20,
        backoff: float = 0.05,
        backoff_max: float = 5.0,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        if url is None and client is None:
            raise ValueError("give a Redis URL (redis://host:port/db or rediss://...) or a "
                             "client")
        if url is not None and ssl and url.startswith("redis://"):
            url = "rediss://" + url[len("redis://"):]
        self.url = url
        self._given = client
        self._options: dict[str, Any] = {
            "socket_timeout": timeout, "socket_connect_timeout": connect_timeout,
            **({"username": username} if username is not None else {}),
            **({"password": password} if password is not None else {}),
            **({"max_connections": max_connections} if max_connections else {}),
        }
        if url is not None and url.startswith("rediss://"):
            self._options["ssl_cert_reqs"] = ssl_cert_reqs
            for name, value in (("ssl_ca_certs", ssl_ca_certs), ("ssl_certfile", ssl_certfile),
                                ("ssl_keyfile", ssl_keyfile),
                                ("ssl_check_hostname", ssl_check_hostname)):
                if value is not None:
                    self._options[name] = value
        self._options.update(client_options or {})
        self.health = Health(self._describe(), backoff, backoff_max)
        self.ops = RedisOps(key_prefix, stage, self.health, generation_ttl=generation_ttl,
                            max_value_bytes=max_value_bytes)

    def _describe(self) -> str:
        if self.url is None:
            return "Redis (given client)"
        parts = urlsplit(self.url)  # never the credentials
        return f"Redis at {parts.scheme}://{parts.hostname}:{parts.port or 6379}"

    def _client_options(self, redis: Any) -> dict[str, Any]:
        from redis.backoff import NoBackoff

        # No retries inside redis-py: the store fails open at once and backs off itself.
        retry_class = redis.asyncio.retry.Retry if self._async else redis.retry.Retry
        return {"retry": retry_class(NoBackoff(), 0), **self._options}

    _async = False

    def counters(self) -> dict[str, int]:
        """Invalidations made and store calls that failed or were skipped (no I/O)."""
        with self.health.lock:
            return {"invalidations": self.health.invalidations,
                    "store_errors": self.health.errors}

    @property
    def outages(self) -> int:
        """How many times Redis became unreachable."""
        return self.health.outages

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.health.name} {self.ops.ns}>"


def _script_calls(calls: list[ScriptCall]) -> Iterator[tuple[Any, ...]]:
    for keys, args in calls:
        yield (_SHA, len(keys), *keys, *args)


def _raise_errors(answers: list[Any]) -> None:
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer


class RedisCacheStore(_Settings):
    """A :class:`~dyntable._internal.transport.cache_store.CacheStore` in Redis (sync).

    Args:
        url: ``redis://[user:password@]host:port/db``, or ``rediss://...`` for TLS
            (ElastiCache in-transit encryption).
        client: a ready ``redis.Redis`` client instead of ``url`` (left open on close).
        key_prefix: first part of every key.
        stage: second part of every key (``dev``, ``prod``...): stages sharing one Redis
            never see each other's entries; the table name comes next.
        username / password: Redis AUTH (ACL user, or password only); override the URL's.
        ssl: use TLS even with a ``redis://`` URL.
        ssl_ca_certs / ssl_certfile / ssl_keyfile / ssl_cert_reqs / ssl_check_hostname:
            TLS settings (CA bundle, client certificate, ``"required"`` verification).
        timeout / connect_timeout: seconds before a Redis call counts as failed (and the
            read or write goes on to DynamoDB alone).
        max_connections: size of the connection pool.
        generation_ttl: seconds an item's generation or a write marker is kept in Redis.
        max_value_bytes: answers larger than this (encoded) are not cached.
        backoff / backoff_max: seconds before Redis is tried again after a failure
            (doubling up to ``backoff_max``).
        client_options: more keyword arguments for ``redis.Redis.from_url``.
    """

    def __init__(self, url: str | None = None, **options: Any) -> None:
        super().__init__(url, **options)
        self._client: Any = options.get("client")

    def _conn(self) -> Any:
        if self._client is None:
            redis = _redis()
            self._client = redis.Redis.from_url(self.url, **self._client_options(redis))
        return self._client

    def close(self) -> None:
        """Close the connections this store opened (a given client is left open)."""
        if self._given is None and self._client is not None:
            client, self._client = self._client, None
            client.close()

    # -- running batches ---------------------------------------------------------------------

    def _do(self, batch: Batch, *, always: bool = False) -> Any:
        """Run ``batch``; while Redis backs off, skip it (``always``: try it anyway)."""
        health = self.health
        if not always and not health.may_try():
            return _give_up(batch)
        try:
            if health.pending:
                self._replay()
            result = self._run(batch)
            while isinstance(result, Batch):
                batch = result
                result = self._run(batch)
        except _failures() as exc:
            health.failed(exc)
            return _give_up(batch)
        health.succeeded()
        return result

    def _replay(self) -> None:
        pending = self.health.take_pending()
        try:
            self._run(self.ops.replay(pending))
        except BaseException:
            self.health.restore(pending)
            raise

    def _run(self, batch: Batch) -> Any:
        answers = self._send(batch.calls) if batch.calls else []
        for pattern in batch.sweep:
            self._sweep(pattern)
        return batch.parse(answers)

    def _send(self, calls: list[ScriptCall]) -> list[Any]:
        client = self._conn()
        no_script = _redis().exceptions.NoScriptError
        for attempt in (1, 2):
            if len(calls) == 1:
                try:
                    return [client.evalsha(*next(_script_calls(calls)))]
                except no_script:
                    if attempt == 2:
                        raise
            else:
                pipe = client.pipeline(transaction=False)
                for args in _script_calls(calls):
                    pipe.evalsha(*args)
                answers: list[Any] = pipe.execute(raise_on_error=False)
                if not any(isinstance(a, no_script) for a in answers) or attempt == 2:
                    _raise_errors(answers)
                    return answers
            client.script_load(SCRIPT)
        raise AssertionError("unreachable")  # pragma: no cover

    def _sweep(self, pattern: str) -> None:
        client = self._conn()
        keys: list[Any] = []
        for key in client.scan_iter(match=pattern, count=_SWEEP_BATCH):
            keys.append(key)
            if len(keys) >= _SWEEP_BATCH:
                client.unlink(*keys)
                keys = []
        if keys:
            client.unlink(*keys)

    # -- the store methods -------------------------------------------------------------------

    def get_items(self, keys: Sequence[EntryKey], lease: float = 0.0) -> list[Lookup]:
        """See :meth:`~dyntable._internal.transport.cache_store.CacheStore.get_items`."""
        return self._do(self.ops.get_items(keys, lease))  # type: ignore[no-any-return]

    def fill_items(self, fills: Sequence[Fill], ttl: float) -> None:
        """See :meth:`~dyntable._internal.transport.cache_store.CacheStore.fill_items`."""
        self._do(self.ops.fill_items(fills, ttl))

    def begin_write(self, groups: Sequence[WriteGroup], evict_queries: bool
                    ) -> tuple[dict[ItemKey, Any], list[Mapping[str, Any]]]:
        """See :meth:`~dyntable._internal.transport.cache_store.CacheStore.begin_write`."""
        return self._do(self.ops.begin_write(groups, evict_queries))  # type: ignore[no-any-return]

    def end_write(self, results: Mapping[ItemKey, Any], marks: Mapping[ItemKey, Any],
                  ttl: float, evictions: Sequence[Eviction] | None) -> None:
        """See :meth:`~dyntable._internal.transport.cache_store.CacheStore.end_write`."""
        self._do(self.ops.end_write(results, marks, ttl, evictions), always=True)

    def get_query(self, table: str, qkey: str, lease: float = 0.0) -> Lookup:
        """See :meth:`~dyntable._internal.transport.cache_store.CacheStore.get_query`."""
        return self._do(self.ops.get_query(table, qkey, lease))  # type: ignore[no-any-return]

    def fill_query(self, table: str, qkey: str, value: Any, tags: list[Tag], token: Any,
                   ttl: float, by_partition: bool) -> None:
        """See :meth:`~dyntable._internal.transport.cache_store.CacheStore.fill_query`."""
        self._do(self.ops.fill_query(table, qkey, value, tags, token, ttl, by_partition))

    def drop_table(self, table: str) -> None:
        """Drop every entry of ``table`` (for every process sharing the store)."""
        self._do(self.ops.drop_table(table))

    def clear(self) -> None:
        """Drop every entry under this store's ``key_prefix`` and ``stage``."""
        self._do(self.ops.clear())


def _give_up(batch: Batch) -> Any:
    if batch.on_fail is not None:
        batch.on_fail()
    return batch.fallback


class AsyncRedisCacheStore(_Settings):
    """:class:`RedisCacheStore` for asyncio (``redis.asyncio``), for
    :class:`~dyntable.transport.aio_cache.AsyncCachedTransport`.

    Same arguments and behaviour. Its connections belong to the event loop that first uses
    them; used from another loop later, it opens new ones (the old ones are dropped).
    """

    _async = True

    def __init__(self, url: str | None = None, **options: Any) -> None:
        super().__init__(url, **options)
        self._client: Any = options.get("client")
        self._loop: asyncio.AbstractEventLoop | None = None

    def _conn(self) -> Any:
        import asyncio

        if self._given is not None:
            return self._given
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            if self._client is not None:
                _abandon(self._client)
            redis = _redis()
            self._client = redis.asyncio.Redis.from_url(self.url,
                                                        **self._client_options(redis))
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the connections this store opened (a given client is left open)."""
        import asyncio

        if self._given is None and self._client is not None:
            client, self._client = self._client, None
            if self._loop is asyncio.get_running_loop():
                await client.aclose()
            else:
                _abandon(client)

    async def _do(self, batch: Batch, *, always: bool = False) -> Any:
        """Run ``batch``; while Redis backs off, skip it (``always``: try it anyway)."""
        health = self.health
        if not always and not health.may_try():
            return _give_up(batch)
        try:
            if health.pending:
                await self._replay()
            result = await self._run(batch)
            while isinstance(result, Batch):
                batch = result
                result = await self._run(batch)
        except _failures() as exc:
            health.failed(exc)
            return _give_up(batch)
        health.succeeded()
        return result

    async def _replay(self) -> None:
        pending = self.health.take_pending()
        try:
            await self._run(self.ops.replay(pending))
        except BaseException:
            self.health.restore(pending)
            raise

    async def _run(self, batch: Batch) -> Any:
        answers = await self._send(batch.calls) if batch.calls else []
        for pattern in batch.sweep:
            await self._sweep(pattern)
        return batch.parse(answers)

    async def _send(self, calls: list[ScriptCall]) -> list[Any]:
        client = self._conn()
        no_script = _redis().exceptions.NoScriptError
        for attempt in (1, 2):
            if len(calls) == 1:
                try:
                    return [await client.evalsha(*next(_script_calls(calls)))]
                except no_script:
                    if attempt == 2:
                        raise
            else:
                pipe = client.pipeline(transaction=False)
                for args in _script_calls(calls):
                    pipe.evalsha(*args)
                answers: list[Any] = await pipe.execute(raise_on_error=False)
                if not any(isinstance(a, no_script) for a in answers) or attempt == 2:
                    _raise_errors(answers)
                    return answers
            await client.script_load(SCRIPT)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _sweep(self, pattern: str) -> None:
        client = self._conn()
        keys: list[Any] = []
        async for key in client.scan_iter(match=pattern, count=_SWEEP_BATCH):
            keys.append(key)
            if len(keys) >= _SWEEP_BATCH:
                await client.unlink(*keys)
                keys = []
        if keys:
            await client.unlink(*keys)

    async def get_items(self, keys: Sequence[EntryKey], lease: float = 0.0) -> list[Lookup]:
        """See :meth:`RedisCacheStore.get_items`."""
        return await self._do(self.ops.get_items(keys, lease))  # type: ignore[no-any-return]

    async def fill_items(self, fills: Sequence[Fill], ttl: float) -> None:
        """See :meth:`RedisCacheStore.fill_items`."""
        await self._do(self.ops.fill_items(fills, ttl))

    async def begin_write(self, groups: Sequence[WriteGroup], evict_queries: bool
                          ) -> tuple[dict[ItemKey, Any], list[Mapping[str, Any]]]:
        """See :meth:`RedisCacheStore.begin_write`."""
        return await self._do(  # type: ignore[no-any-return]
            self.ops.begin_write(groups, evict_queries))

    async def end_write(self, results: Mapping[ItemKey, Any], marks: Mapping[ItemKey, Any],
                        ttl: float, evictions: Sequence[Eviction] | None) -> None:
        """See :meth:`RedisCacheStore.end_write`."""
        await self._do(self.ops.end_write(results, marks, ttl, evictions), always=True)

    async def get_query(self, table: str, qkey: str, lease: float = 0.0) -> Lookup:
        """See :meth:`RedisCacheStore.get_query`."""
        return await self._do(self.ops.get_query(table, qkey, lease))  # type: ignore[no-any-return]

    async def fill_query(self, table: str, qkey: str, value: Any, tags: list[Tag], token: Any,
                         ttl: float, by_partition: bool) -> None:
        """See :meth:`RedisCacheStore.fill_query`."""
        await self._do(self.ops.fill_query(table, qkey, value, tags, token, ttl, by_partition))

    async def drop_table(self, table: str) -> None:
        """See :meth:`RedisCacheStore.drop_table`."""
        await self._do(self.ops.drop_table(table))

    async def clear(self) -> None:
        """See :meth:`RedisCacheStore.clear`."""
        await self._do(self.ops.clear())


def _abandon(client: Any) -> None:
    """Close the sockets of an asyncio client whose event loop is gone (no await possible)."""
    pool = getattr(client, "connection_pool", None)
    for conn in [*getattr(pool, "_available_connections", ()),
                 *getattr(pool, "_in_use_connections", ())]:
        writer = getattr(conn, "_writer", None)
        if writer is None:
            continue
        transport = writer.transport
        sock = getattr(transport, "_sock", None)  # the loop is closed: close the socket itself
        if sock is not None:
            sock.close()
            transport._sock = None
        transport._closing = True  # what the writer checks when it is collected
        conn._reader = conn._writer = None
