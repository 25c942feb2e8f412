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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dyntable.transport.base import TABLE_OPERATIONS, Hook, Params, Response, TransportBase
from dyntable.transport.cache_keys import (
    NO_PROJECTION,
    EntryKey,
    ItemKey,
    batch_writes,
    canonical,
    copy_data,
    copy_item_response,
    is_select,
    key_id,
    key_of,
    new_item,
    projection_of,
    query_tags,
    strip_response,
    transact_writes,
)
from dyntable.transport.cache_store import LRU, CacheStats, QueryIndex

__all__ = ["CacheStats", "CachedTransport"]

_BUCKETS = 4096
_PARTIQL_WRITES = frozenset({"BatchExecuteStatement", "ExecuteTransaction"})


class CachedTransport(TransportBase):
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

    name = "cache"

    def __init__(
        self,
        inner: Any,
        *,
        item_ttl: float = 300.0,
        query_ttl: float = 300.0,
        max_items: int = 10_000,
        max_queries: int = 1_000,
        evict_queries_on_write: bool = False,
        clock: Callable[[], float] = time.monotonic,
        hooks: list[Hook] | None = None,
    ) -> None:
        super().__init__(hooks)
        self.inner = inner
        self.item_ttl = float(item_ttl)
        self.query_ttl = float(query_ttl)
        self.evict_queries_on_write = evict_queries_on_write
        self.clock = clock
        self._lock = threading.Lock()
        self._query_index = QueryIndex()
        self._items = LRU(max_items, self._forget_item)
        self._queries = LRU(max_queries, self._query_index.forget)
        self._projections: dict[ItemKey, set[str]] = {}
        self._key_attrs: dict[str, frozenset[str]] = {}
        self._epochs = [0] * _BUCKETS
        self._query_epoch = 0
        self._counts = {"hits": 0, "misses": 0, "invalidations": 0, "bypasses": 0}

    # -- public helpers --------------------------------------------------------------------

    @property
    def stats(self) -> CacheStats:
        """A snapshot of the counters."""
        with self._lock:
            return CacheStats(
                evictions=self._items.evictions + self._queries.evictions,
                expirations=self._items.expirations + self._queries.expirations,
                items=len(self._items.data),
                queries=len(self._queries.data),
                **self._counts,
            )

    def key_attributes(self, table: str) -> frozenset[str] | None:
        """The primary key attribute names learned for ``table``, if any yet."""
        return self._key_attrs.get(table)

    def learn_key_attributes(self, table: str, names: Iterable[str]) -> None:
        """Tell the cache ``table``'s primary key attributes (normally learned from requests)."""
        self._key_attrs[table] = frozenset(names)

    def clear(self) -> None:
        """Drop every cached entry (counters are kept)."""
        with self._lock:
            self._items.clear()
            self._queries.clear()
            self._bump_all()

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()

    # -- dispatch ----------------------------------------------------------------------------

    def send(self, operation: str, params: Params) -> Response:
        """Answer ``operation`` from the cache when it can, else through ``inner``."""
        handler = _HANDLERS.get(operation)
        with self.timed(operation, params) as event:
            if handler is None:
                event.extra["cache"] = "bypass"
                response = self._pass(operation, params)
            else:
                response = handler(self, params, event.extra)
            event.consumed_capacity = response.get("ConsumedCapacity")
            return response

    def _pass(self, operation: str, params: Params) -> Response:
        response: Response = self.inner.send(operation, params)
        if operation in TABLE_OPERATIONS:
            self._after_table_operation(operation, params, response)
        elif operation in _PARTIQL_WRITES or (
            operation == "ExecuteStatement" and not is_select(params.get("Statement"))
        ):
            self.clear()
        return response

    def _after_table_operation(self, operation: str, params: Params, response: Response) -> None:
        desc = response.get("Table") or response.get("TableDescription") or {}
        table = desc.get("TableName") or params.get("TableName")
        schema = desc.get("KeySchema") or params.get("KeySchema")
        if isinstance(table, str) and schema:
            self.learn_key_attributes(table, (k["AttributeName"] for k in schema))
        if operation in ("DeleteTable", "UpdateTable") and isinstance(table, str):
            self._drop_table(table)

    def _drop_table(self, table: str) -> None:
        with self._lock:
            for key in [k for k in self._items.data if k[0] == table]:
                self._items.pop(key)
            for key in self._query_index.of_table(table):
                self._queries.pop(key)
            self._bump_all()

    # -- item cache --------------------------------------------------------------------------

    def _get_item(self, params: Params, extra: dict[str, Any]) -> Response:
        table, key = params.get("TableName"), params.get("Key")
        if params.get("ConsistentRead") or not isinstance(table, str) or not key:
            return self._bypass("GetItem", params, extra)
        self._key_attrs.setdefault(table, frozenset(key))
        ikey = (table, key_id(key))
        entry_key = (*ikey, projection_of(params))
        with self._lock:
            found, value = self._items.get(entry_key, self.clock())
            if found:
                self._counts["hits"] += 1
                extra["cache"] = "hit"
                return copy_item_response(value)
            self._counts["misses"] += 1
            epoch = self._epochs[hash(ikey) % _BUCKETS]
        extra["cache"] = "miss"
        response: Response = self.inner.send("GetItem", params)
        stored = {"Item": response["Item"]} if response.get("Item") else {}
        with self._lock:
            if self._epochs[hash(ikey) % _BUCKETS] == epoch:
                self._store_item(entry_key, copy_data(stored))
        return response

    def _store_item(self, entry_key: EntryKey, value: Response) -> None:
        self._items.put(entry_key, value, self.clock() + self.item_ttl)
        ikey = (entry_key[0], entry_key[1])
        self._projections.setdefault(ikey, set()).add(entry_key[2])

    def _forget_item(self, entry_key: EntryKey) -> None:
        ikey = (entry_key[0], entry_key[1])
        projections = self._projections.get(ikey)
        if projections is not None:
            projections.discard(entry_key[2])
            if not projections:
                del self._projections[ikey]

    def _batch_get(self, params: Params, extra: dict[str, Any]) -> Response:
        request = params.get("RequestItems") or {}
        responses: dict[str, list[Any]] = {}
        outgoing: dict[str, Any] = {}
        pending: list[tuple[str, EntryKey, int]] = []
        with self._lock:
            now = self.clock()
            for table, spec in request.items():
                if spec.get("ConsistentRead"):
                    self._counts["bypasses"] += 1
                    outgoing[table] = spec
                    continue
                missing = self._batch_lookup(table, spec, now, responses, pending)
                if missing:
                    outgoing[table] = {**spec, "Keys": missing}
        extra["cache"] = "miss" if outgoing else "hit"
        if not outgoing:
            return {"Responses": responses, "UnprocessedKeys": {}}
        response: Response = self.inner.send("BatchGetItem", {**params, "RequestItems": outgoing})
        self._batch_store(response, pending)
        for table, items in (response.get("Responses") or {}).items():
            responses.setdefault(table, []).extend(items)
        merged = {k: v for k, v in response.items() if k != "Responses"}
        merged["Responses"] = responses
        merged.setdefault("UnprocessedKeys", {})
        return merged

    def _batch_lookup(
        self,
        table: str,
        spec: Mapping[str, Any],
        now: float,
        responses: dict[str, list[Any]],
        pending: list[tuple[str, EntryKey, int]],
    ) -> list[Any]:
        keys = spec.get("Keys") or []
        if keys:
            self._key_attrs.setdefault(table, frozenset(keys[0]))
        projection = projection_of(spec)
        missing = []
        for key in keys:
            ikey = (table, key_id(key))
            found, value = self._items.get((*ikey, projection), now)
            if found:
                self._counts["hits"] += 1
                if value:
                    responses.setdefault(table, []).append(copy_item_response(value)["Item"])
                continue
            self._counts["misses"] += 1
            missing.append(key)
            pending.append((table, (*ikey, projection), self._epochs[hash(ikey) % _BUCKETS]))
        return missing

    def _batch_store(
        self, response: Response, pending: list[tuple[str, EntryKey, int]]
    ) -> None:
        found: dict[tuple[str, str], Any] = {}
        for table, items in (response.get("Responses") or {}).items():
            attrs = self._key_attrs.get(table) or frozenset()
            for item in items:
                key = {a: item[a] for a in attrs if a in item}
                found[(table, key_id(key))] = item
        unprocessed: set[ItemKey] = set()
        for table, spec in (response.get("UnprocessedKeys") or {}).items():
            unprocessed.update((table, key_id(k)) for k in spec.get("Keys") or [])
        with self._lock:
            for _table, entry_key, epoch in pending:
                ikey = (entry_key[0], entry_key[1])
                if ikey in unprocessed or self._epochs[hash(ikey) % _BUCKETS] != epoch:
                    continue
                item = found.get(ikey)
                self._store_item(entry_key, {"Item": copy_data(item)} if item else {})

    # -- query cache -------------------------------------------------------------------------

    def _query(self, operation: str, params: Params, extra: dict[str, Any]) -> Response:
        table = params.get("TableName")
        if params.get("ConsistentRead") or not isinstance(table, str):
            return self._bypass(operation, params, extra)
        try:
            qkey = canonical(
                [operation, {k: v for k, v in params.items() if k != "ReturnConsumedCapacity"}]
            )
        except TypeError:
            return self._bypass(operation, params, extra)
        with self._lock:
            found, value = self._queries.get(qkey, self.clock())
            if found:
                self._counts["hits"] += 1
                extra["cache"] = "hit"
                return copy_data(value)  # type: ignore[no-any-return]
            self._counts["misses"] += 1
            epoch = self._query_epoch
        extra["cache"] = "miss"
        response: Response = self.inner.send(operation, params)
        tags = query_tags(operation, table, params)
        with self._lock:
            if self._query_epoch == epoch:
                self._queries.put(qkey, strip_response(response), self.clock() + self.query_ttl)
                self._query_index.add(qkey, tags, by_partition=self.evict_queries_on_write)
        return response

    # -- writes ------------------------------------------------------------------------------

    def _write_item(self, operation: str, params: Params, extra: dict[str, Any]) -> Response:
        extra["cache"] = "write"
        table = params.get("TableName")
        if not isinstance(table, str):
            return self._pass(operation, params)
        key = params.get("Key")
        if key:
            self._key_attrs.setdefault(table, frozenset(key))
        else:
            key = key_of(params.get("Item") or {}, self._key_attrs.get(table))
        ikey = (table, key_id(key)) if key else None
        images: list[Mapping[str, Any]] = [params.get("Item") or key or {}]
        mine = self._begin_write([ikey] if ikey else [], images, table)
        try:
            response: Response = self.inner.send(operation, params)
        except BaseException:
            self._end_write({}, mine, [table])
            raise
        new = new_item(operation, params, response)
        results: dict[ItemKey, Any] = {}
        if ikey is not None:
            results[ikey] = {"Item": copy_data(new)} if new else ({} if new == {} else None)
        images.append(response.get("Attributes") or {})
        self._end_write(results, mine, [table], images)
        return response

    def _begin_write(
        self, ikeys: list[ItemKey], images: list[Mapping[str, Any]], table: str
    ) -> dict[ItemKey, int]:
        """Drop the written items' entries; return the epochs this write set."""
        mine: dict[ItemKey, int] = {}
        with self._lock:
            for ikey in ikeys:
                cached = self._drop_item(ikey)
                if cached:
                    images.append(cached)
                bucket = hash(ikey) % _BUCKETS
                self._epochs[bucket] += 1
                mine[ikey] = self._epochs[bucket]
            self._evict_partitions(table, images)
        return mine

    def _end_write(
        self,
        results: Mapping[ItemKey, Any],
        mine: Mapping[ItemKey, int],
        tables: Iterable[str],
        images: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        """Store what the write made known (unless another write started meanwhile)."""
        with self._lock:
            for ikey, epoch in mine.items():
                bucket = hash(ikey) % _BUCKETS
                value = results.get(ikey)
                if self._epochs[bucket] == epoch and value is not None:
                    self._store_item((*ikey, NO_PROJECTION), value)
                else:
                    self._drop_item(ikey)
                self._epochs[bucket] += 1
            for table in tables:
                self._evict_partitions(table, images)

    def _drop_item(self, ikey: ItemKey) -> Any:
        """Drop every projection of an item; return the full cached item, if it was held."""
        full = self._items.data.get((*ikey, NO_PROJECTION))
        for projection in list(self._projections.get(ikey, ())):
            if self._items.pop((*ikey, projection)):
                self._counts["invalidations"] += 1
        return full[1].get("Item") if full else None

    def _evict_partitions(self, table: str, images: Iterable[Mapping[str, Any]]) -> None:
        if not self.evict_queries_on_write:
            return
        for qkey in self._query_index.touched(table, images):
            if self._queries.pop(qkey):
                self._counts["invalidations"] += 1
        self._query_epoch += 1

    def _batch_write(self, params: Params, extra: dict[str, Any]) -> Response:
        extra["cache"] = "write"
        writes = list(batch_writes(params.get("RequestItems") or {}, self._key_attrs))

        def written(response: Response) -> dict[ItemKey, Any]:
            left = {(t, key_id(k)) for t, k, _ in batch_writes(
                response.get("UnprocessedItems") or {}, self._key_attrs) if k}
            return {
                (t, key_id(k)): ({"Item": copy_data(item)} if item else {})
                for t, k, item in writes
                if k and (t, key_id(k)) not in left
            }

        return self._write_many("BatchWriteItem", params, writes, written)

    def _transact_write(self, params: Params, extra: dict[str, Any]) -> Response:
        extra["cache"] = "write"
        actions = list(transact_writes(params.get("TransactItems") or [], self._key_attrs))

        def written(_response: Response) -> dict[ItemKey, Any]:
            return {
                (table, key_id(key)): {"Item": copy_data(item)} if item else {}
                for table, key, item, action in actions
                if key and action in ("Put", "Delete")
            }

        writes = [(table, key, item) for table, key, item, _ in actions]
        return self._write_many("TransactWriteItems", params, writes, written)

    def _write_many(
        self,
        operation: str,
        params: Params,
        writes: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]],
        written: Callable[[Response], dict[ItemKey, Any]],
    ) -> Response:
        """A multi-item write: drop the items' entries, send, store what is then known."""
        tables = {t for t, _, _ in writes}
        mine: dict[ItemKey, int] = {}
        for table in tables:
            images: list[Mapping[str, Any]] = [
                item or key or {} for t, key, item in writes if t == table
            ]
            keys = [(t, key_id(k)) for t, k, _ in writes if t == table and k]
            mine.update(self._begin_write(keys, images, table))
        try:
            response: Response = self.inner.send(operation, params)
        except BaseException:
            self._end_write({}, mine, tables)
            raise
        self._end_write(written(response), mine, tables)
        return response

    # -- bypass ------------------------------------------------------------------------------

    def _bypass(self, operation: str, params: Params, extra: dict[str, Any]) -> Response:
        with self._lock:
            self._counts["bypasses"] += 1
        extra["cache"] = "bypass"
        response: Response = self.inner.send(operation, params)
        return response

    def _bump_all(self) -> None:
        self._epochs = [e + 1 for e in self._epochs]
        self._query_epoch += 1


Handler = Callable[[CachedTransport, Params, dict[str, Any]], Response]

_HANDLERS: dict[str, Handler] = {
    "GetItem": CachedTransport._get_item,
    "BatchGetItem": CachedTransport._batch_get,
    "Query": lambda self, p, e: self._query("Query", p, e),
    "Scan": lambda self, p, e: self._query("Scan", p, e),
    "PutItem": lambda self, p, e: self._write_item("PutItem", p, e),
    "UpdateItem": lambda self, p, e: self._write_item("UpdateItem", p, e),
    "DeleteItem": lambda self, p, e: self._write_item("DeleteItem", p, e),
    "BatchWriteItem": CachedTransport._batch_write,
    "TransactWriteItems": CachedTransport._transact_write,
    "TransactGetItems": lambda self, p, e: self._bypass("TransactGetItems", p, e),
}
