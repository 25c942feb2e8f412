"""An in-process read cache with DAX's semantics, layered over any transport.

``CachedTransport(inner)`` answers eventually consistent reads from memory and sends
everything else to ``inner``:

* **Item cache** (GetItem, BatchGetItem): keyed by table + primary key + projection.
  Items that do not exist are cached too (negative entries), as DAX does.
* **Query cache** (Query, Scan): keyed by the whole request (canonical JSON of its
  parameters, ``ReturnConsumedCapacity`` aside).
* **Write-through**: PutItem / UpdateItem / DeleteItem / BatchWriteItem /
  TransactWriteItems go to ``inner`` first; then every cached projection of the written
  item is dropped and, when the full new item is known (PutItem, a batch put, a
  transaction put, UpdateItem with ``ReturnValues="ALL_NEW"``), it is stored; a delete
  stores a negative entry.
* **Bypass**: ``ConsistentRead=True`` reads and TransactGetItems always go to ``inner``
  and are not cached. Table operations pass through (a DeleteTable or UpdateTable drops
  the table's entries).

How the key of a PutItem is found: the transport knows nothing of models, so it learns
each table's primary key attribute names from the requests it sees (the ``Key`` of
GetItem / UpdateItem / DeleteItem / BatchGetItem / BatchWriteItem deletes) and from
CreateTable / DescribeTable answers (``KeySchema``). Until it knows them for a table, it
has nothing cached for that table either (a cached read would have taught it), so a
PutItem then has nothing to update.

Where answers can be stale (read this before caching a table):

1. Writes that do not go through *this* transport object (other processes, other Lambda
   instances, TTL deletions, PartiQL, the console) are not seen: items, negative entries
   and queries stay as cached for up to ``item_ttl`` / ``query_ttl`` seconds.
2. The query cache is not invalidated by writes (as on DAX): a Query or Scan can return
   results up to ``query_ttl`` old even after a write through this transport.
   ``evict_queries_on_write=True`` drops the cached queries whose key condition names a
   written item's attribute value (its table partition, and index partitions when the
   full item, new or old, is known), and every cached Scan of the table. Queries on the
   *old* index partition of an item whose index key changed stay stale unless the old
   item was known (``ReturnValues="ALL_OLD"``, or it was in the item cache).
3. After a write whose new item is not known (UpdateItem without ``ALL_NEW``,
   TransactWriteItems updates, unprocessed batch items, failed writes), the entry is
   dropped; the next eventually consistent read goes to DynamoDB, may hit a replica that
   has not yet applied the write, and then caches that for ``item_ttl``.
4. Cached items are the items as written: numbers keep the text they were sent with
   (``"1.50"``, where DynamoDB would answer ``"1.5"``).
5. ``ExecuteStatement`` / ``BatchExecuteStatement`` / ``ExecuteTransaction`` (PartiQL)
   pass through uncached; a PartiQL write clears the whole cache (its item is unknown).

DynamoDB Streams calls (``DescribeStream``, ``GetShardIterator``, ``GetRecords``,
``ListStreams``) pass through to ``inner`` unchanged and are never cached.

Where entries live: a *store*. By default :class:`MemoryCacheStore`, inside this process
(``max_items`` / ``max_queries`` size it). ``store=RedisCacheStore(...)``
(:mod:`dyntable.transport.redis_cache`) shares one cache between processes and Lambda
instances: writes through any of them evict the item for all, and the rules above that
speak of "this transport" then speak of every transport sharing the store. Which store to
choose, and how it compares with DAX: docs/transports.md.

Thread-safe; calls to ``inner`` and to a shared store are made outside any lock, and a
write racing a read never lets the read cache what it saw before the write (each item has
a write generation; a read's fill lands only if it is unchanged: see
:mod:`dyntable._internal.transport.cache_store`).

The logic lives in :mod:`dyntable._internal.transport.cache_core` as plans that do no I/O;
``CachedTransport`` runs their steps with plain calls, and
:class:`~dyntable.transport.aio_cache.AsyncCachedTransport` (the same cache over an
:class:`~dyntable.transport.base.AsyncTransport`) awaits them.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from dyntable._internal.transport.cache_core import CacheCore
from dyntable._internal.transport.cache_store import (
    CacheStats,
    CacheStore,
    MemoryCacheStore,
    Pause,
    StoreOp,
)
from dyntable.transport.base import Params, Response, Transport, TransportBase

__all__ = ["CacheStats", "CacheStore", "CachedTransport", "MemoryCacheStore"]


class CachedTransport(CacheCore[Transport], TransportBase):
    """A read cache with DAX semantics over ``inner`` (see the module docs for staleness).

    Args:
        inner: the transport that reaches DynamoDB (boto3, HTTP, ...).
        item_ttl: seconds an item-cache entry (found or not found) is served.
        query_ttl: seconds a Query / Scan answer is served.
        max_items: item-cache entries kept by the default in-process store (least recently
            used dropped first; 10,000 when not given).
        max_queries: query-cache entries kept by the default in-process store (1,000).
        evict_queries_on_write: drop the cached queries of a partition when an item of
            it is written through this transport (DAX does not).
        store: where entries live: a :class:`CacheStore` such as
            :class:`~dyntable.transport.redis_cache.RedisCacheStore` (shared between
            processes); the in-process :class:`MemoryCacheStore` when not given.
        stampede_wait: with a shared store, seconds a read of an entry that another reader
            is already filling waits for that reader's answer before reading DynamoDB
            itself (0 turns stampede protection off).
        clock: monotonic seconds for the in-process store (tests inject a fake).
        hooks: callables receiving a :class:`~dyntable.transport.base.CallEvent` per call;
            ``event.extra["cache"]`` is ``hit``, ``miss``, ``bypass`` or ``write``.
    """

    def __init__(self, inner: Transport, **options: Any) -> None:
        super().__init__(inner, **options)
        if inspect.iscoroutinefunction(getattr(self.store, "get_items", None)):
            raise TypeError(f"{type(self.store).__name__} is an asyncio store: use it with "
                            "AsyncCachedTransport")

    def send(self, operation: str, params: Params) -> Response:
        """Answer ``operation`` from the cache when it can, else through ``inner``."""
        with self.timed(operation, params) as event:
            plan = self.plan(operation, params, event.extra)
            store = self.store
            try:
                step = next(plan)
                while True:
                    try:
                        if type(step) is StoreOp:
                            answer = getattr(store, step.name)(*step.args)
                        elif type(step) is Pause:
                            time.sleep(step.seconds)
                            answer = None
                        else:
                            answer = self.inner.send(*step)
                    except BaseException as exc:
                        step = plan.throw(exc)
                    else:
                        step = plan.send(answer)
            except StopIteration as done:
                response: Response = done.value
            event.consumed_capacity = response.get("ConsumedCapacity")
            return response

    def clear(self) -> None:
        """Drop every cached entry (counters are kept); with a shared store, for everyone."""
        self.store.clear()

    def close(self) -> None:
        """Close the inner transport (and the store, when it has connections to close)."""
        self.inner.close()
        closer = getattr(self.store, "close", None)
        if closer is not None:
            closer()
