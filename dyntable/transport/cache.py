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

Thread-safe: one lock guards the caches; calls to ``inner`` are made outside it, and a
write racing a read never lets the read cache what it saw before the write.

The logic lives in :mod:`dyntable._internal.transport.cache_core` as plans that do no I/O;
``CachedTransport`` drives them with ``inner.send``, and
:class:`~dyntable.transport.aio_cache.AsyncCachedTransport` (the same cache over an
:class:`~dyntable.transport.base.AsyncTransport`) with ``await inner.send``.
"""

from __future__ import annotations

from dyntable._internal.transport.cache_core import CacheCore
from dyntable._internal.transport.cache_store import CacheStats
from dyntable.transport.base import Params, Response, Transport, TransportBase

__all__ = ["CacheStats", "CachedTransport"]


class CachedTransport(CacheCore[Transport], TransportBase):
    """A read cache with DAX semantics over ``inner`` (see the module docs for staleness).

    Args:
        inner: the transport that reaches DynamoDB (boto3, HTTP, ...).
        item_ttl: seconds an item-cache entry (found or not found) is served.
        query_ttl: seconds a Query / Scan answer is served.
        max_items: item-cache entries kept (least recently used dropped first).
        max_queries: query-cache entries kept.
        evict_queries_on_write: drop the cached queries of a partition when an item of
            it is written through this transport (DAX does not).
        clock: monotonic seconds (tests inject a fake).
        hooks: callables receiving a :class:`~dyntable.transport.base.CallEvent` per call;
            ``event.extra["cache"]`` is ``hit``, ``miss``, ``bypass`` or ``write``.
    """

    def send(self, operation: str, params: Params) -> Response:
        """Answer ``operation`` from the cache when it can, else through ``inner``."""
        with self.timed(operation, params) as event:
            plan = self.plan(operation, params, event.extra)
            try:
                call = next(plan)
                while True:
                    try:
                        answer = self.inner.send(*call)
                    except BaseException as exc:
                        call = plan.throw(exc)
                    else:
                        call = plan.send(answer)
            except StopIteration as done:
                response: Response = done.value
            event.consumed_capacity = response.get("ConsumedCapacity")
            return response

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()
