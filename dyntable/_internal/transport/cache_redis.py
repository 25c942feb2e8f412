"""The Redis cache store without I/O: key names, the Lua script, the wire format, fail-open.

:class:`RedisOps` turns each :class:`~dyntable._internal.transport.cache_store.CacheStore`
method into a :class:`Batch`: script calls to send in one round trip, how to read their
answers, and what to answer when Redis cannot be reached. The sync and asyncio stores of
:mod:`dyntable.transport.redis_cache` only send batches.

Layout (``ns`` is ``<key_prefix>:<stage>:``; ``{...}`` is a cluster hash tag, so each
script touches one slot)::

    ns T:i:{<key digest>}          hash: g = generation, l = fill lease (ms since epoch),
                                   v = full item, v:<projection digest> = projected item
    ns T:q:{T}:<request digest>    string: a query / scan answer
    ns T:qg:{T}                    string: the table's query generation
    ns T:ql:{T}:<request digest>   string: the fill lease of a query
    ns T:qp:{T}:<partition digest> set: cached queries naming that partition key value
    ns T:qs:{T}                    set: cached scans of the table

The consistency rule (proved by tests/integration/test_redis_cache_processes.py): a fill
lands only while the item's generation is the one its lookup saw; a write sets a *write
marker* generation (``w...``, which refuses fills) before it is sent and a fresh
generation after it is answered, storing the new item only when no other write marked the
item meanwhile. So no reader, in any process, can put back an item older than a write
whose end reached Redis. Writes whose begin or end could not reach Redis are remembered
(up to :data:`PENDING_LIMIT` items) and their entries dropped before this store serves
anything again.

Values are the wire AttributeValues as compact JSON (binary values as base64 under a
``{"$b": ...}`` marker), never pickles: reading the cache cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from base64 import b64decode, b64encode
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dyntable._internal.transport.cache_keys import (
    NO_PROJECTION,
    EntryKey,
    ItemKey,
    Tag,
    canonical,
)
from dyntable._internal.transport.cache_store import Eviction, Fill, Lookup, WriteGroup

__all__ = [
    "PENDING_LIMIT",
    "SCRIPT",
    "Batch",
    "Health",
    "RedisOps",
    "decode",
    "encode",
]

log = logging.getLogger("dyntable.cache")

#: Writes whose eviction could not reach Redis that are remembered one by one; beyond it,
#: the whole namespace is dropped once Redis answers again.
PENDING_LIMIT = 10_000
_PARTITION_TYPES = ("S", "N", "B")
_NAME_OK = re.compile(r"^[A-Za-z0-9_.\-]+$")

SCRIPT = """
local op = ARGV[1]
local function values(key)
  local n = 0
  for _, f in ipairs(redis.call('HKEYS', key)) do
    if string.sub(f, 1, 1) == 'v' then n = n + 1 end
  end
  return n
end
if op == 'get' then
  local r = redis.call('HMGET', KEYS[1], ARGV[2], 'g', 'l')
  if r[1] then return {1, r[1]} end
  local g = r[2]
  if not g then
    g = ARGV[3]
    redis.call('HSET', KEYS[1], 'g', g)
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
  end
  if string.sub(g, 1, 1) == 'w' then return {0, false} end
  local lease = tonumber(ARGV[5])
  if lease > 0 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if r[3] and tonumber(r[3]) > now then return {2, g} end
    redis.call('HSET', KEYS[1], 'l', now + lease)
  end
  return {0, g}
elseif op == 'fill' then
  if redis.call('HGET', KEYS[1], 'g') ~= ARGV[3] then return 0 end
  if values(KEYS[1]) == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
  redis.call('HDEL', KEYS[1], 'l')
  return 1
elseif op == 'begin' then
  local old = false
  if ARGV[4] == '1' then old = redis.call('HGET', KEYS[1], 'v') end
  local n = values(KEYS[1])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'g', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {n, old}
elseif op == 'end' then
  local g = redis.call('HGET', KEYS[1], 'g')
  local n = values(KEYS[1])
  redis.call('DEL', KEYS[1])
  if g == ARGV[2] and ARGV[4] ~= '' then
    redis.call('HSET', KEYS[1], 'g', ARGV[3], 'v', ARGV[4])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    return n
  end
  local nxt = ARGV[3]
  if g and g ~= ARGV[2] and string.sub(g, 1, 1) == 'w' then nxt = 'w' .. nxt end
  redis.call('HSET', KEYS[1], 'g', nxt)
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  return n
elseif op == 'qget' then
  local v = redis.call('GET', KEYS[1])
  if v then return {1, v} end
  local g = redis.call('GET', KEYS[2])
  if not g then
    g = ARGV[2]
    redis.call('SET', KEYS[2], g, 'PX', ARGV[3])
  end
  local lease = tonumber(ARGV[4])
  if lease > 0 and not redis.call('SET', KEYS[3], '1', 'NX', 'PX', lease) then
    return {2, g}
  end
  return {0, g}
elseif op == 'qfill' then
  redis.call('DEL', KEYS[3])
  if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
  local ttl = tonumber(ARGV[4])
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ttl)
  for i = 4, #KEYS do
    redis.call('SADD', KEYS[i], KEYS[1])
    if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
  end
  return 1
elseif op == 'qevict' then
  local n = 0
  for i = 2, #KEYS do
    for _, q in ipairs(redis.call('SMEMBERS', KEYS[i])) do n = n + redis.call('DEL', q) end
    redis.call('DEL', KEYS[i])
  end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return n
end
return redis.error_reply('dyntable cache: unknown op ' .. tostring(op))
"""

#: One script call: ``(keys, args)``; ``args[0]`` names the operation.
ScriptCall = tuple[list[str], list[Any]]


# -- wire format ---------------------------------------------------------------------------


def _bytes_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b": b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot cache a value holding {type(value).__name__}")


def _bytes_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and type(obj.get("$b")) is str:  # never an AttributeValue map
        return b64decode(obj["$b"])
    return obj


def encode(value: Any) -> bytes:
    """Compact JSON of wire data: ``j`` + JSON, or ``b`` + JSON with binary values marked."""
    try:
        return b"j" + json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    except TypeError:
        return b"b" + json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                                 default=_bytes_default).encode()


def decode(data: bytes) -> Any:
    """Read what :func:`encode` wrote (``ValueError`` for anything else)."""
    tag = data[:1]
    if tag == b"j":
        return json.loads(data[1:])
    if tag == b"b":
        return json.loads(data[1:], object_hook=_bytes_hook)
    raise ValueError("not a dyntable cache value")


def encode_item_entry(entry: Mapping[str, Any]) -> bytes:
    """An item-cache entry: ``-`` for "no such item", else the encoded item."""
    item = entry.get("Item")
    return encode(item) if item else b"-"


def decode_item_entry(data: bytes) -> dict[str, Any]:
    """Read :func:`encode_item_entry`'s output back to ``{"Item": ...}`` or ``{}``."""
    if data == b"-":
        return {}
    item = decode(data)
    if not isinstance(item, dict):
        raise ValueError("not a cached item")
    return {"Item": item}


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _token() -> str:
    return os.urandom(9).hex()


def check_name(what: str, value: str) -> str:
    """``key_prefix`` and ``stage`` are plain names (no glob or hash-tag characters)."""
    if not _NAME_OK.match(value):
        raise ValueError(f"{what} {value!r}: use letters, digits, '_', '.' and '-' only")
    return value


# -- batches -------------------------------------------------------------------------------


@dataclass
class Batch:
    """Script calls sent in one round trip, or a namespace sweep (``sweep``: key patterns).

    ``parse(answers)`` gives the store method's result, or a further :class:`Batch`
    (whose result is then the method's). ``fallback`` is the result when Redis cannot be
    reached; ``on_fail`` records what must be undone once it can.
    """

    calls: list[ScriptCall]
    parse: Callable[[list[Any]], Any]
    fallback: Any = None
    on_fail: Callable[[], None] | None = None
    sweep: list[str] = field(default_factory=list)


@dataclass
class Pending:
    """Evictions that could not reach Redis, replayed before the store serves again."""

    items: dict[str, None] = field(default_factory=dict)
    tables: set[str] = field(default_factory=set)  # their cached queries
    whole_tables: set[str] = field(default_factory=set)
    everything: bool = False

    def __bool__(self) -> bool:
        return bool(self.items or self.tables or self.whole_tables or self.everything)


class Health:
    """Fail-open state shared by a store's calls: outage, backoff, counters, pending drops.

    Thread-safe. After a failure, calls skip Redis (answering as if it held nothing) until
    the backoff delay has passed; then one call tries it again. The delay doubles up to
    ``backoff_max``. One warning is logged when Redis becomes unreachable, one line when
    it answers again.
    """

    def __init__(self, name: str, backoff: float = 0.05, backoff_max: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.clock = clock
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.retry_at = 0.0
        self.delay = backoff
        self.errors = 0
        self.invalidations = 0
        self.outages = 0
        self.pending = Pending()

    def may_try(self) -> bool:
        """May a call go to Redis now? (While down: one call per backoff period.)"""
        if self.down_since is None:
            return True
        with self.lock:
            now = self.clock()
            if now >= self.retry_at:
                self.retry_at = now + self.delay
                return True
            self.errors += 1
            return False

    def failed(self, exc: BaseException) -> None:
        """Count a failed call and back off (logging once per outage)."""
        with self.lock:
            self.errors += 1
            now = self.clock()
            if self.down_since is None:
                self.down_since = now
                self.delay = self.backoff
                self.outages += 1
                log.warning("dyntable cache: %s unreachable (%s: %s); reads and writes go "
                            "to DynamoDB, retrying with backoff", self.name,
                            type(exc).__name__, exc)
            else:
                self.delay = min(self.delay * 2, self.backoff_max)
            self.retry_at = now + self.delay

    def succeeded(self) -> None:
        """Note a call that reached Redis."""
        if self.down_since is None:
            return
        with self.lock:
            if self.down_since is not None:
                log.warning("dyntable cache: %s reachable again after %.1fs", self.name,
                            self.clock() - self.down_since)
                self.down_since = None
                self.delay = self.backoff

    def remember(self, keys: Sequence[str] = (), tables: Sequence[str] = (),
                 whole_tables: Sequence[str] = (), everything: bool = False) -> None:
        """Remember entries to drop once Redis answers again: items (by Redis key), the
        queries of ``tables``, every entry of ``whole_tables``, or ``everything``."""
        with self.lock:
            pending = self.pending
            pending.tables.update(tables)
            pending.whole_tables.update(whole_tables)
            pending.everything = pending.everything or everything
            for key in keys:
                pending.items[key] = None
            if len(pending.items) > PENDING_LIMIT:
                pending.items.clear()
                pending.everything = True

    def take_pending(self) -> Pending:
        """Hand over the pending drops (put them back with :meth:`restore` on failure)."""
        with self.lock:
            taken, self.pending = self.pending, Pending()
            return taken

    def restore(self, pending: Pending) -> None:
        """Put back drops that could not be done."""
        self.remember(list(pending.items), list(pending.tables), list(pending.whole_tables),
                      pending.everything)

    def count_invalidations(self, n: int) -> None:
        """Count entries a write dropped."""
        with self.lock:
            self.invalidations += n

    def count_error(self) -> None:
        """Count a store answer that could not be used (e.g. an unreadable value)."""
        with self.lock:
            self.errors += 1


# -- operations ----------------------------------------------------------------------------


class RedisOps:
    """Builds the :class:`Batch` of each store method (keys, arguments, answer parsing).

    Args:
        key_prefix: first part of every key (e.g. the application's name).
        stage: second part (``dev``, ``prod``...): stages sharing one Redis never mix.
        health: the store's fail-open state (for pending drops and counters).
        generation_ttl: seconds a generation or write marker outlives its entries.
        max_value_bytes: answers larger than this (encoded) are not cached.
    """

    def __init__(self, key_prefix: str, stage: str, health: Health, *,
                 generation_ttl: float = 60.0, max_value_bytes: int = 1 << 20) -> None:
        self.ns = f"{check_name('key_prefix', key_prefix)}:{check_name('stage', stage)}:"
        self.health = health
        self.generation_ms = max(1, int(generation_ttl * 1000))
        self.max_value_bytes = max_value_bytes

    # -- key names ---------------------------------------------------------------------------

    def item_key(self, ikey: ItemKey) -> str:
        """The hash holding every projection of one item."""
        return f"{self.ns}{ikey[0]}:i:{{{_digest(canonical(ikey[1]))}}}"

    @staticmethod
    def field(projection: str) -> str:
        """The hash field of one projection (``v`` for the whole item)."""
        return "v" if projection == NO_PROJECTION else f"v:{_digest(projection)[:16]}"

    def _q(self, table: str, kind: str, rest: str = "") -> str:
        return f"{self.ns}{table}:{kind}:{{{table}}}" + (f":{rest}" if rest else "")

    def partition_keys(self, table: str, images: Sequence[Mapping[str, Any]]) -> list[str]:
        """The partition sets an item image may be named by (its S / N / B values), and
        the table's scan set."""
        out = {self._q(table, "qs")}
        for image in images:
            for name, value in image.items():
                if isinstance(value, Mapping) and len(value) == 1 and \
                        next(iter(value)) in _PARTITION_TYPES:
                    out.add(self._q(table, "qp", _digest(f"{name}\x00{canonical(value)}")))
        return sorted(out)

    def _tag_keys(self, tags: list[Tag]) -> list[str]:
        out = []
        for table, name, value in tags:
            out.append(self._q(table, "qp", _digest(f"{name}\x00{value}")) if name
                       else self._q(table, "qs"))
        return out

    def table_patterns(self, table: str) -> list[str]:
        """SCAN patterns of every key of ``table``."""
        return [f"{self.ns}{table}:*"]

    # -- items -------------------------------------------------------------------------------

    def get_items(self, keys: Sequence[EntryKey], lease: float) -> Batch:
        lease_ms = str(int(lease * 1000))
        calls: list[ScriptCall] = [
            ([self.item_key((k[0], k[1]))],
             ["get", self.field(k[2]), _token(), self.generation_ms, lease_ms])
            for k in keys
        ]

        def parse(answers: list[Any]) -> list[Lookup]:
            out = []
            for state, value in answers:
                if state == 1:
                    try:
                        out.append(Lookup(True, decode_item_entry(value)))
                    except ValueError:
                        self.health.count_error()
                        out.append(Lookup(False))
                else:
                    out.append(Lookup(False, None, value, state == 2))
            return out

        return Batch(calls, parse, fallback=[Lookup(False)] * len(keys))

    def fill_items(self, fills: Sequence[Fill], ttl: float) -> Batch:
        ttl_ms = max(1, int(ttl * 1000))
        calls: list[ScriptCall] = []
        for entry_key, value, token in fills:
            data = encode_item_entry(value)
            if len(data) <= self.max_value_bytes:
                calls.append(([self.item_key((entry_key[0], entry_key[1]))],
                              ["fill", self.field(entry_key[2]), token, data, ttl_ms]))
        return Batch(calls, lambda _answers: None)

    def begin_write(self, groups: Sequence[WriteGroup], evict_queries: bool) -> Batch:
        marks: dict[ItemKey, Any] = {}
        calls: list[ScriptCall] = []
        redis_keys: list[str] = []
        for _table, ikeys, _images in groups:
            for ikey in ikeys:
                marks[ikey] = "w" + _token()
                redis_keys.append(self.item_key(ikey))
                calls.append(([redis_keys[-1]], ["begin", marks[ikey], self.generation_ms,
                                                 "1" if evict_queries else "0"]))
        tables = [g[0] for g in groups]

        def parse(answers: list[Any]) -> Any:
            old: list[Mapping[str, Any]] = []
            dropped = 0
            for n, data in answers:
                dropped += int(n)
                if data:
                    try:
                        entry = decode_item_entry(data)
                    except ValueError:
                        continue
                    if entry:
                        old.append(entry["Item"])
            self.health.count_invalidations(dropped)
            if not evict_queries:
                return marks, old
            evictions = [(table, [*images, *old]) for table, _ikeys, images in groups]
            follow = self._evict(evictions)
            count = follow.parse
            follow.parse = lambda answers: (count(answers), (marks, old))[1]
            follow.fallback = (marks, old)
            follow.on_fail = lambda: self.health.remember(tables=tables)
            return follow

        def on_fail() -> None:
            self.health.remember(redis_keys, tables if evict_queries else ())

        return Batch(calls, parse, fallback=({ikey: None for ikey in marks}, []),
                     on_fail=on_fail)

    def end_write(self, results: Mapping[ItemKey, Any], marks: Mapping[ItemKey, Any],
                  ttl: float, evictions: Sequence[Eviction] | None) -> Batch:
        ttl_ms = max(1, int(ttl * 1000))
        calls: list[ScriptCall] = []
        redis_keys: list[str] = []
        for ikey, mark in marks.items():
            value = results.get(ikey)
            data = encode_item_entry(value) if value is not None else b""
            if len(data) > self.max_value_bytes:
                data = b""
            redis_keys.append(self.item_key(ikey))
            calls.append(([redis_keys[-1]], ["end", mark or "", _token(), data, ttl_ms,
                                             self.generation_ms]))
        if evictions:
            calls.extend(self._evict(evictions).calls)

        def parse(answers: list[Any]) -> None:
            self.health.count_invalidations(sum(int(n) for n in answers))

        def on_fail() -> None:
            self.health.remember(redis_keys, [t for t, _ in evictions or ()])

        return Batch(calls, parse, on_fail=on_fail)

    def _evict(self, evictions: Sequence[Eviction]) -> Batch:
        calls: list[ScriptCall] = [
            ([self._q(table, "qg"), *self.partition_keys(table, images)],
             ["qevict", _token(), self.generation_ms])
            for table, images in evictions
        ]

        def parse(answers: list[Any]) -> None:
            self.health.count_invalidations(sum(int(n) for n in answers))

        return Batch(calls, parse)

    # -- queries -----------------------------------------------------------------------------

    def get_query(self, table: str, qkey: str, lease: float) -> Batch:
        digest = _digest(qkey)
        call: ScriptCall = (
            [self._q(table, "q", digest), self._q(table, "qg"), self._q(table, "ql", digest)],
            ["qget", _token(), self.generation_ms, str(int(lease * 1000))])

        def parse(answers: list[Any]) -> Lookup:
            state, value = answers[0]
            if state == 1:
                try:
                    return Lookup(True, decode(value))
                except ValueError:
                    self.health.count_error()
                    return Lookup(False)
            return Lookup(False, None, value, state == 2)

        return Batch([call], parse, fallback=Lookup(False))

    def fill_query(self, table: str, qkey: str, value: Any, tags: list[Tag], token: Any,
                   ttl: float, by_partition: bool) -> Batch:
        digest = _digest(qkey)
        try:
            data = encode(value)
        except (TypeError, ValueError):
            return Batch([], lambda _a: None)
        if len(data) > self.max_value_bytes:
            return Batch([], lambda _a: None)
        keys = [self._q(table, "q", digest), self._q(table, "qg"), self._q(table, "ql", digest)]
        if by_partition:
            keys += self._tag_keys(tags)
        call: ScriptCall = (keys, ["qfill", token, data, max(1, int(ttl * 1000))])
        return Batch([call], lambda _a: None)

    # -- whole tables ------------------------------------------------------------------------

    def drop_table(self, table: str) -> Batch:
        return Batch([], lambda _a: None, sweep=self.table_patterns(table),
                     on_fail=lambda: self.health.remember(whole_tables=[table]))

    def clear(self) -> Batch:
        return Batch([], lambda _a: None, sweep=[f"{self.ns}*"],
                     on_fail=lambda: self.health.remember(everything=True))

    def replay(self, pending: Pending) -> Batch:
        """Drop what failed writes could not: items (fresh generations), a table's
        queries, whole tables, or everything."""
        if pending.everything:
            return Batch([], lambda _a: None, sweep=[f"{self.ns}*"])
        calls: list[ScriptCall] = [([key], ["end", "", _token(), b"", 1, self.generation_ms])
                                   for key in pending.items]
        sweep = [f"{self.ns}{table}:q*" for table in sorted(pending.tables)]
        for table in sorted(pending.whole_tables):
            sweep += self.table_patterns(table)
        return Batch(calls, lambda _a: None, sweep=sweep)
