"""The stores behind :class:`~dyntable.transport.cache.CachedTransport`.

:class:`LRU` holds entries with an expiry time, :class:`QueryIndex` knows which cached
queries read which partition (to drop them on writes), :class:`CacheStats` is the
counters' snapshot. None of them locks: the transport holds one lock around them all.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dyntable._internal.transport.cache_keys import Tag, canonical

__all__ = ["LRU", "CacheStats", "QueryIndex"]


@dataclass(frozen=True)
class CacheStats:
    """Counters of a :class:`CachedTransport` (both caches together).

    Attributes:
        hits: reads answered from memory.
        misses: cacheable reads sent to the inner transport.
        evictions: entries dropped because a cache was full (least recently used first).
        expirations: entries found past their TTL.
        invalidations: entries dropped because of a write through this transport.
        bypasses: reads that skip the cache (strongly consistent, transactional, PartiQL).
        items: item-cache entries now held.
        queries: query-cache entries now held.
    """

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    expirations: int = 0
    invalidations: int = 0
    bypasses: int = 0
    items: int = 0
    queries: int = 0

    @property
    def hit_ratio(self) -> float:
        """Hits over cacheable reads (0.0 before any read)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


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
