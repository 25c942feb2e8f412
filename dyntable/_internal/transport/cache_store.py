"""The store boundary of :class:`~dyntable.transport.cache.CachedTransport`; the in-process store.

A cache store holds the entries and decides, atomically, whether a fill may land. The
cache's plans (:mod:`dyntable._internal.transport.cache_core`) talk to it only through
the methods of :class:`CacheStore` (sync) or :class:`AsyncCacheStore` (the same, awaited),
yielded as :class:`StoreOp` values to the driver, so the plans stay free of I/O.

The contract every store keeps (the in-process one here, Redis in
:mod:`dyntable._internal.transport.cache_redis`):

* Every item has a *generation*. A lookup that misses hands out the current one as its
  ``token``; :meth:`~CacheStore.fill_items` stores the value read from DynamoDB only while
  the generation is still that token.
* :meth:`~CacheStore.begin_write` drops every entry of the written items and changes their
  generation *before* the write is sent; :meth:`~CacheStore.end_write` stores the new item
  only if no other write changed the generation meanwhile (else drops the entries), and
  changes the generation again. So a read that started before or during a write never
  re-inserts what it saw, whoever did the write.
* Queries have one generation per table (changed by writes only when queries are evicted
  on write, and by :meth:`~CacheStore.drop_table` / :meth:`~CacheStore.clear`).

:class:`MemoryCacheStore` (an :class:`LRU` per cache, one lock) is the default store.
:class:`CacheStats` is the counters' snapshot.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from dyntable._internal.transport.cache_keys import (
    NO_PROJECTION,
    EntryKey,
    ItemKey,
    Tag,
    canonical,
    copy_data,
    copy_item_response,
)

__all__ = [
    "LRU",
    "AsyncCacheStore",
    "CacheStats",
    "CacheStore",
    "Fill",
    "Lookup",
    "MemoryCacheStore",
    "Pause",
    "QueryIndex",
    "StoreOp",
    "WriteGroup",
]

_BUCKETS = 4096


class Lookup(NamedTuple):
    """What a store answers for one entry.

    Attributes:
        found: the entry is held; ``value`` is a copy the caller may keep.
        value: the cached answer (``{"Item": ...}`` or ``{}`` for an item; a query answer).
        token: the generation to hand back to the fill (``None``: do not fill).
        wait: another reader is filling this entry: look again after a short pause.
    """

    found: bool
    value: Any = None
    token: Any = None
    wait: bool = False


#: ``(entry key, value read from DynamoDB, the lookup's token)``.
Fill = tuple[EntryKey, Any, Any]
#: ``(table, the written items, images whose partitions the write touches)``.
WriteGroup = tuple[str, Sequence[ItemKey], Sequence[Mapping[str, Any]]]
#: ``(table, item images)`` whose partitions' cached queries a write evicts.
Eviction = tuple[str, Sequence[Mapping[str, Any]]]


class StoreOp(NamedTuple):
    """A plan's request to the store: call ``name(*args)`` on it and send back the result."""

    name: str
    args: tuple[Any, ...]


class Pause(NamedTuple):
    """A plan's request to wait ``seconds`` (``time.sleep`` / ``asyncio.sleep``) before going on."""

    seconds: float


@dataclass(frozen=True)
class CacheStats:
    """Counters of a :class:`CachedTransport` (both caches together).

    Attributes:
        hits: reads answered from the cache.
        misses: cacheable reads sent to the inner transport.
        evictions: entries dropped because a cache was full (in-process store only; Redis
            evicts by its own ``maxmemory-policy``).
        expirations: entries found past their TTL (in-process store only; Redis expires
            entries by itself).
        invalidations: entries dropped because of a write through this transport.
        bypasses: reads that skip the cache (strongly consistent, transactional, PartiQL).
        items: item-cache entries now held (in-process store only).
        queries: query-cache entries now held (in-process store only).
        store_errors: store calls that failed or were skipped while the store was
            unreachable; each was answered by DynamoDB instead (shared stores only).
        waits: reads that paused because another reader was filling the same entry
            (stampede protection, shared stores only).
    """

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    expirations: int = 0
    invalidations: int = 0
    bypasses: int = 0
    items: int = 0
    queries: int = 0
    store_errors: int = 0
    waits: int = 0

    @property
    def hit_ratio(self) -> float:
        """Hits over cacheable reads (0.0 before any read)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class CacheStore(Protocol):
    """Where :class:`~dyntable.transport.cache.CachedTransport` keeps its entries.

    Keeps the generation contract in the module docs. Methods never raise for a backend
    outage (a shared store fails open: it answers a miss and stores nothing). Thread-safe.
    """

    #: True when other processes see the same entries (writes then always learn the
    #: table's key attributes first, so they can evict what another process cached).
    shared: bool

    def get_items(self, keys: Sequence[EntryKey], lease: float) -> list[Lookup]:
        """Look up item entries; ``lease`` > 0 asks for stampede protection (seconds)."""
        ...

    def fill_items(self, fills: Sequence[Fill], ttl: float) -> None:
        """Store values read from DynamoDB whose item generation is still their token."""
        ...

    def begin_write(
        self, groups: Sequence[WriteGroup], evict_queries: bool
    ) -> tuple[dict[ItemKey, Any], list[Mapping[str, Any]]]:
        """Drop the written items' entries and change their generations (and, when
        ``evict_queries``, drop the queries their images touch); return the write's marks
        and the full items that were cached (old images, for query eviction)."""
        ...

    def end_write(
        self,
        results: Mapping[ItemKey, Any],
        marks: Mapping[ItemKey, Any],
        ttl: float,
        evictions: Sequence[Eviction] | None,
    ) -> None:
        """Store each item's new entry (``results``; ``None`` = unknown: drop) if its
        generation is still the write's mark, else drop; evict touched queries."""
        ...

    def get_query(self, table: str, qkey: str, lease: float) -> Lookup:
        """Look up a query answer by its canonical request ``qkey``."""
        ...

    def fill_query(
        self, table: str, qkey: str, value: Any, tags: list[Tag], token: Any, ttl: float,
        by_partition: bool,
    ) -> None:
        """Store a query answer if the table's query generation is still ``token``."""
        ...

    def drop_table(self, table: str) -> None:
        """Drop every entry of ``table``."""
        ...

    def clear(self) -> None:
        """Drop every entry."""
        ...

    def counters(self) -> dict[str, int]:
        """The store's own counters (see :class:`CacheStats`); no I/O."""
        ...


class AsyncCacheStore(Protocol):
    """:class:`CacheStore` for asyncio code: the same methods, awaited (``counters`` is not)."""

    shared: bool

    async def get_items(self, keys: Sequence[EntryKey], lease: float) -> list[Lookup]:
        """See :meth:`CacheStore.get_items`."""
        ...

    async def fill_items(self, fills: Sequence[Fill], ttl: float) -> None:
        """See :meth:`CacheStore.fill_items`."""
        ...

    async def begin_write(
        self, groups: Sequence[WriteGroup], evict_queries: bool
    ) -> tuple[dict[ItemKey, Any], list[Mapping[str, Any]]]:
        """See :meth:`CacheStore.begin_write`."""
        ...

    async def end_write(
        self,
        results: Mapping[ItemKey, Any],
        marks: Mapping[ItemKey, Any],
        ttl: float,
        evictions: Sequence[Eviction] | None,
    ) -> None:
        """See :meth:`CacheStore.end_write`."""
        ...

    async def get_query(self, table: str, qkey: str, lease: float) -> Lookup:
        """See :meth:`CacheStore.get_query`."""
        ...

    async def fill_query(
        self, table: str, qkey: str, value: Any, tags: list[Tag], token: Any, ttl: float,
        by_partition: bool,
    ) -> None:
        """See :meth:`CacheStore.fill_query`."""
        ...

    async def drop_table(self, table: str) -> None:
        """See :meth:`CacheStore.drop_table`."""
        ...

    async def clear(self) -> None:
        """See :meth:`CacheStore.clear`."""
        ...

    def counters(self) -> dict[str, int]:
        """See :meth:`CacheStore.counters`."""
        ...


class LRU:
    """Entries ``key -> (expires_at, value)``; not thread-safe (the owner holds a lock)."""

    def __init__(self, capacity: int, on_remove: Callable[[Any], None] | None = None) -> None:
        if capacity < 1:
            raise ValueError("a cache needs room for at least one entry")
        self.capacity = capacity
        self.data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self.on_remove = on_remove
        self.evictions = 0
        self.expirations = 0

    def get(self, key: Any, now: float) -> tuple[bool, Any]:
        """``(True, value)`` for a live entry (now most recent), else ``(False, None)``."""
        entry = self.data.get(key)
        if entry is None:
            return False, None
        if entry[0] <= now:
            self.expirations += 1
            self.pop(key)
            return False, None
        self.data.move_to_end(key)
        return True, entry[1]

    def put(self, key: Any, value: Any, expires_at: float) -> None:
        """Store an entry, evicting the least recently used beyond the capacity."""
        self.data[key] = (expires_at, value)
        self.data.move_to_end(key)
        while len(self.data) > self.capacity:
            old, _ = self.data.popitem(last=False)
            self.evictions += 1
            if self.on_remove is not None:
                self.on_remove(old)

    def pop(self, key: Any) -> bool:
        """Drop an entry; True when it was held."""
        if self.data.pop(key, None) is None:
            return False
        if self.on_remove is not None:
            self.on_remove(key)
        return True

    def clear(self) -> None:
        """Drop every entry."""
        for key in list(self.data):
            self.pop(key)


class QueryIndex:
    """Which cached queries read which table and partition."""

    def __init__(self) -> None:
        self._tags: dict[str, list[Tag]] = {}
        self._partitions: dict[tuple[str, str], dict[str, set[str]]] = {}
        self._scans: dict[str, set[str]] = {}

    def add(self, qkey: str, tags: list[Tag], *, by_partition: bool) -> None:
        """Index a cached query by its :func:`~dyntable._internal.transport.cache_keys.query_tags`.

        ``by_partition`` also indexes it by the partitions (and the table, for a scan)
        it reads, so that :meth:`touched` finds it.
        """
        self._tags[qkey] = tags
        if not by_partition:
            return
        for table, name, value in tags:
            if name:
                by_value = self._partitions.setdefault((table, name), {})
                by_value.setdefault(value, set()).add(qkey)
            else:
                self._scans.setdefault(table, set()).add(qkey)

    def forget(self, qkey: str) -> None:
        """Remove a query that left the cache."""
        for table, name, value in self._tags.pop(qkey, ()):
            if not name:
                self._scans.get(table, set()).discard(qkey)
                continue
            queries = self._partitions.get((table, name), {}).get(value)
            if queries is not None:
                queries.discard(qkey)
                if not queries:
                    del self._partitions[(table, name)][value]

    def of_table(self, table: str) -> list[str]:
        """The cached queries on ``table``."""
        return [qkey for qkey, tags in self._tags.items() if tags[0][0] == table]

    def touched(self, table: str, images: Iterable[Mapping[str, Any]]) -> set[str]:
        """The queries a write of these item images may make stale: every scan of
        ``table`` and each query naming one of the images' attribute values."""
        doomed = set(self._scans.get(table, ()))
        for image in images:
            for name, value in image.items():
                by_value = self._partitions.get((table, name))
                if by_value:
                    doomed.update(by_value.get(canonical(value), ()))
        return doomed


class MemoryCacheStore:
    """The in-process store: two LRU caches, write generations per item bucket, one lock.

    The default store of :class:`~dyntable.transport.cache.CachedTransport` (whose
    ``max_items`` / ``max_queries`` / ``clock`` build it). Seen by one process only;
    usable from sync and asyncio transports alike (it never blocks on I/O).

    Args:
        max_items: item-cache entries kept (least recently used dropped first).
        max_queries: query-cache entries kept.
        clock: monotonic seconds (tests inject a fake).
    """

    shared = False

    def __init__(self, max_items: int = 10_000, max_queries: int = 1_000, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._query_index = QueryIndex()
        self._items = LRU(max_items, self._forget_item)
        self._queries = LRU(max_queries, self._query_index.forget)
        self._projections: dict[ItemKey, set[str]] = {}
        self._epochs = [0] * _BUCKETS
        self._query_epoch = 0
        self._invalidations = 0

    def counters(self) -> dict[str, int]:
        """Evictions, expirations, invalidations and the entries held."""
        with self._lock:
            return {
                "evictions": self._items.evictions + self._queries.evictions,
                "expirations": self._items.expirations + self._queries.expirations,
                "invalidations": self._invalidations,
                "items": len(self._items.data),
                "queries": len(self._queries.data),
            }

    # -- items -----------------------------------------------------------------------------

    def get_items(self, keys: Sequence[EntryKey], lease: float = 0.0) -> list[Lookup]:
        """Look up item entries (``lease`` is ignored: one process needs no stampede lock)."""
        out = []
        with self._lock:
            now = self.clock()
            for entry_key in keys:
                found, value = self._items.get(entry_key, now)
                if found:
                    out.append(Lookup(True, copy_item_response(value)))
                else:
                    ikey = (entry_key[0], entry_key[1])
                    out.append(Lookup(False, None, self._epochs[hash(ikey) % _BUCKETS]))
        return out

    def fill_items(self, fills: Sequence[Fill], ttl: float) -> None:
        """Store each value whose item generation is still its token."""
        with self._lock:
            expires = self.clock() + ttl
            for entry_key, value, token in fills:
                ikey = (entry_key[0], entry_key[1])
                if token is not None and self._epochs[hash(ikey) % _BUCKETS] == token:
                    self._store_item(entry_key, copy_data(value), expires)

    def begin_write(
        self, groups: Sequence[WriteGroup], evict_queries: bool
    ) -> tuple[dict[ItemKey, Any], list[Mapping[str, Any]]]:
        """Drop the written items' entries; return the generations this write set."""
        mine: dict[ItemKey, Any] = {}
        old: list[Mapping[str, Any]] = []
        with self._lock:
            for table, ikeys, images in groups:
                cached_images: list[Mapping[str, Any]] = []
                for ikey in ikeys:
                    cached = self._drop_item(ikey)
                    if cached:
                        cached_images.append(cached)
                    bucket = hash(ikey) % _BUCKETS
                    self._epochs[bucket] += 1
                    mine[ikey] = self._epochs[bucket]
                old.extend(cached_images)
                if evict_queries:
                    self._evict_partitions(table, [*images, *cached_images])
        return mine, old

    def end_write(
        self,
        results: Mapping[ItemKey, Any],
        marks: Mapping[ItemKey, Any],
        ttl: float,
        evictions: Sequence[Eviction] | None,
    ) -> None:
        """Store what the write made known (unless another write started meanwhile)."""
        with self._lock:
            expires = self.clock() + ttl
            for ikey, epoch in marks.items():
                bucket = hash(ikey) % _BUCKETS
                value = results.get(ikey)
                self._drop_item(ikey)  # also what a read filled while the write was out
                if self._epochs[bucket] == epoch and value is not None:
                    self._store_item((*ikey, NO_PROJECTION), value, expires)
                self._epochs[bucket] += 1
            for table, images in evictions or ():
                self._evict_partitions(table, images)

    def _store_item(self, entry_key: EntryKey, value: Any, expires: float) -> None:
        self._items.put(entry_key, value, expires)
        ikey = (entry_key[0], entry_key[1])
        self._projections.setdefault(ikey, set()).add(entry_key[2])

    def _forget_item(self, entry_key: EntryKey) -> None:
        ikey = (entry_key[0], entry_key[1])
        projections = self._projections.get(ikey)
        if projections is not None:
            projections.discard(entry_key[2])
            if not projections:
                del self._projections[ikey]

    def _drop_item(self, ikey: ItemKey) -> Any:
        """Drop every projection of an item; return the full cached item, if it was held."""
        full = self._items.data.get((*ikey, NO_PROJECTION))
        for projection in list(self._projections.get(ikey, ())):
            if self._items.pop((*ikey, projection)):
                self._invalidations += 1
        return full[1].get("Item") if full else None

    # -- queries ---------------------------------------------------------------------------

    def get_query(self, table: str, qkey: str, lease: float = 0.0) -> Lookup:
        """Look up a cached query answer."""
        with self._lock:
            found, value = self._queries.get(qkey, self.clock())
            if found:
                return Lookup(True, copy_data(value))
            return Lookup(False, None, self._query_epoch)

    def fill_query(
        self, table: str, qkey: str, value: Any, tags: list[Tag], token: Any, ttl: float,
        by_partition: bool,
    ) -> None:
        """Store a query answer unless a write or a clear came in between."""
        with self._lock:
            if self._query_epoch == token:
                self._queries.put(qkey, value, self.clock() + ttl)
                self._query_index.add(qkey, tags, by_partition=by_partition)

    def _evict_partitions(self, table: str, images: Iterable[Mapping[str, Any]]) -> None:
        for qkey in self._query_index.touched(table, images):
            if self._queries.pop(qkey):
                self._invalidations += 1
        self._query_epoch += 1

    # -- whole tables ----------------------------------------------------------------------

    def drop_table(self, table: str) -> None:
        """Drop the table's entries (and every generation: in-flight fills are refused)."""
        with self._lock:
            for key in [k for k in self._items.data if k[0] == table]:
                self._items.pop(key)
            for key in self._query_index.of_table(table):
                self._queries.pop(key)
            self._bump_all()

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._items.clear()
            self._queries.clear()
            self._bump_all()

    def _bump_all(self) -> None:
        self._epochs = [e + 1 for e in self._epochs]
        self._query_epoch += 1
