"""The cache's logic without I/O, shared by the sync and the asyncio cache transports.

:class:`CacheCore` holds the caches and everything done around a call to the inner
transport: lookups, write generations, evictions, inserts, counters and the lock. Each
operation is a *plan*: a generator that yields the one inner call it needs as
``(operation, params)`` and receives its answer (or has its error thrown in)::

    plan = core.plan(operation, params, extra)
    call = next(plan)                  # StopIteration(response): answered from memory
    response = inner.send(*call)       # or: await inner.send(*call)
    plan.send(response)                # StopIteration(response): the caller's answer

:class:`~dyntable.transport.cache.CachedTransport` drives plans with ``inner.send``,
:class:`~dyntable.transport.aio_cache.AsyncCachedTransport` with ``await inner.send``;
nothing else differs. A plan never yields while it holds the lock, so the lock is never
held across a call to the inner transport (nor across an ``await``).

A write's plan drops the item's entries and bumps its write generation before it yields,
and, whatever comes back (an answer, an error, a cancellation), settles the entries after:
a failed write leaves the item uncached. Errors are re-raised as they came (``maybe_applied``
and all); plans never retry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, Generic, TypeVar

from dyntable._internal.transport.cache_keys import (
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
from dyntable._internal.transport.cache_store import LRU, CacheStats, QueryIndex
from dyntable.transport.base import TABLE_OPERATIONS, Hook, Params, Response

__all__ = ["CacheCore", "Call", "Plan"]

#: What a plan asks the driver to send: ``(operation, params)``.
Call = tuple[str, Params]
#: A plan: yields the inner call it needs, receives its answer, returns the caller's answer.
Plan = Generator[Call, Response, Response]

Inner = TypeVar("Inner")  # the inner transport's type

_BUCKETS = 4096
_PARTIQL_WRITES = frozenset({"BatchExecuteStatement", "ExecuteTransaction"})

Write = tuple[str, dict[str, Any] | None, dict[str, Any] | None]  # table, key, new item


class CacheCore(Generic[Inner]):
    """Caches, bookkeeping and per-operation plans of a DAX-semantics cache (no I/O).

    A mixin over the inner transport's type ``Inner``: the transport class puts it before its
    transport base, which receives ``hooks``. Arguments are
    :class:`~dyntable.transport.cache.CachedTransport`'s.
    """

    name = "cache"

    def __init__(
        self,
        inner: Inner,
        *,
        item_ttl: float = 300.0,
        query_ttl: float = 300.0,
        max_items: int = 10_000,
        max_queries: int = 1_000,
        evict_queries_on_write: bool = False,
        clock: Callable[[], float] = time.monotonic,
        hooks: list[Hook] | None = None,
    ) -> None:
        super().__init__(hooks)  # type: ignore[call-arg]  # the transport base, next in the MRO
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

    # -- plans -------------------------------------------------------------------------------

    def plan(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        """The plan answering ``operation``; sets ``extra["cache"]`` to the outcome
        (``hit``, ``miss``, ``bypass`` or ``write``)."""
        planner = _PLANNERS.get(operation)
        if planner is None:
            extra["cache"] = "bypass"
            return self._pass(operation, params)
        return planner(self, operation, params, extra)

    def _pass(self, operation: str, params: Params) -> Plan:
        response = yield operation, params
        if operation in TABLE_OPERATIONS:
            self._after_table_operation(operation, params, response)
        elif operation in _PARTIQL_WRITES or (
            operation == "ExecuteStatement" and not is_select(params.get("Statement"))
        ):
            self.clear()
        return response

    def _bypass(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        with self._lock:
            self._counts["bypasses"] += 1
        extra["cache"] = "bypass"
        response = yield operation, params
        return response

    def _get_item(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        table, key = params.get("TableName"), params.get("Key")
        if params.get("ConsistentRead") or not isinstance(table, str) or not key:
            return (yield from self._bypass(operation, params, extra))
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
        response = yield operation, params
        stored = {"Item": response["Item"]} if response.get("Item") else {}
        with self._lock:
            if self._epochs[hash(ikey) % _BUCKETS] == epoch:
                self._store_item(entry_key, copy_data(stored))
        return response

    def _batch_get(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        request = params.get("RequestItems") or {}
        responses: dict[str, list[Any]] = {}
        outgoing: dict[str, Any] = {}
        pending: list[tuple[EntryKey, int]] = []
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
        response = yield operation, {**params, "RequestItems": outgoing}
        self._batch_store(response, pending)
        for table, items in (response.get("Responses") or {}).items():
            responses.setdefault(table, []).extend(items)
        merged = {k: v for k, v in response.items() if k != "Responses"}
        merged["Responses"] = responses
        merged.setdefault("UnprocessedKeys", {})
        return merged

    def _query(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        table = params.get("TableName")
        if params.get("ConsistentRead") or not isinstance(table, str):
            return (yield from self._bypass(operation, params, extra))
        try:
            qkey = canonical(
                [operation, {k: v for k, v in params.items() if k != "ReturnConsumedCapacity"}]
            )
        except TypeError:
            return (yield from self._bypass(operation, params, extra))
        with self._lock:
            found, value = self._queries.get(qkey, self.clock())
            if found:
                self._counts["hits"] += 1
                extra["cache"] = "hit"
                return copy_data(value)  # type: ignore[no-any-return]
            self._counts["misses"] += 1
            epoch = self._query_epoch
        extra["cache"] = "miss"
        response = yield operation, params
        tags = query_tags(operation, table, params)
        with self._lock:
            if self._query_epoch == epoch:
                self._queries.put(qkey, strip_response(response), self.clock() + self.query_ttl)
                self._query_index.add(qkey, tags, by_partition=self.evict_queries_on_write)
        return response

    def _write_item(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        extra["cache"] = "write"
        table = params.get("TableName")
        if not isinstance(table, str):
            return (yield from self._pass(operation, params))
        key = params.get("Key")
        if key:
            self._key_attrs.setdefault(table, frozenset(key))
        else:
            key = key_of(params.get("Item") or {}, self._key_attrs.get(table))
        ikey = (table, key_id(key)) if key else None
        images: list[Mapping[str, Any]] = [params.get("Item") or key or {}]
        mine = self._begin_write([ikey] if ikey else [], images, table)
        try:
            response = yield operation, params
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

    def _batch_write(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
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

        return (yield from self._write_many(operation, params, writes, written))

    def _transact_write(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        extra["cache"] = "write"
        actions = list(transact_writes(params.get("TransactItems") or [], self._key_attrs))

        def written(_response: Response) -> dict[ItemKey, Any]:
            return {
                (table, key_id(key)): {"Item": copy_data(item)} if item else {}
                for table, key, item, action in actions
                if key and action in ("Put", "Delete")
            }

        writes = [(table, key, item) for table, key, item, _ in actions]
        return (yield from self._write_many(operation, params, writes, written))

    def _write_many(
        self,
        operation: str,
        params: Params,
        writes: list[Write],
        written: Callable[[Response], dict[ItemKey, Any]],
    ) -> Plan:
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
            response = yield operation, params
        except BaseException:
            self._end_write({}, mine, tables)
            raise
        self._end_write(written(response), mine, tables)
        return response

    # -- bookkeeping (each takes the lock itself; none yields) -------------------------------

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

    def _batch_lookup(
        self,
        table: str,
        spec: Mapping[str, Any],
        now: float,
        responses: dict[str, list[Any]],
        pending: list[tuple[EntryKey, int]],
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
            pending.append(((*ikey, projection), self._epochs[hash(ikey) % _BUCKETS]))
        return missing

    def _batch_store(self, response: Response, pending: list[tuple[EntryKey, int]]) -> None:
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
            for entry_key, epoch in pending:
                ikey = (entry_key[0], entry_key[1])
                if ikey in unprocessed or self._epochs[hash(ikey) % _BUCKETS] != epoch:
                    continue
                item = found.get(ikey)
                self._store_item(entry_key, {"Item": copy_data(item)} if item else {})

    def _begin_write(
        self, ikeys: list[ItemKey], images: list[Mapping[str, Any]], table: str
    ) -> dict[ItemKey, int]:
        """Drop the written items' entries; return the write generations this write set."""
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

    def _bump_all(self) -> None:
        self._epochs = [e + 1 for e in self._epochs]
        self._query_epoch += 1


Planner = Callable[[CacheCore[Any], str, Params, dict[str, Any]], Plan]

_PLANNERS: dict[str, Planner] = {
    "GetItem": CacheCore._get_item,
    "BatchGetItem": CacheCore._batch_get,
    "Query": CacheCore._query,
    "Scan": CacheCore._query,
    "PutItem": CacheCore._write_item,
    "UpdateItem": CacheCore._write_item,
    "DeleteItem": CacheCore._write_item,
    "BatchWriteItem": CacheCore._batch_write,
    "TransactWriteItems": CacheCore._transact_write,
    "TransactGetItems": CacheCore._bypass,
}
