"""The cache's logic without I/O, shared by the sync and the asyncio cache transports.

:class:`CacheCore` holds everything done around a call to the inner transport: lookups,
write generations, evictions, inserts and counters. Each operation is a *plan*: a generator
that yields what it needs done and receives the result (or has its error thrown in):

* ``(operation, params)``: send this call through the inner transport;
* :class:`~dyntable._internal.transport.cache_store.StoreOp`: call this method of the
  cache store (:mod:`~dyntable._internal.transport.cache_store`: in-process or Redis);
* :class:`~dyntable._internal.transport.cache_store.Pause`: sleep (stampede protection)::

    plan = core.plan(operation, params, extra)
    step = next(plan)                  # StopIteration(response): nothing left to do
    result = run(step)                 # inner.send / store method / sleep, maybe awaited
    step = plan.send(result)           # ... until StopIteration(response)

:class:`~dyntable.transport.cache.CachedTransport` runs the steps with plain calls,
:class:`~dyntable.transport.aio_cache.AsyncCachedTransport` awaits them; nothing else
differs. Plans hold no lock across a step.

A write's plan drops the item's entries and changes its generation (``begin_write``)
before it sends the write, and, whatever comes back (an answer, an error, a cancellation),
settles the entries after (``end_write``): a failed write leaves the item uncached. Errors
are re-raised as they came (``maybe_applied`` and all); plans never retry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from dyntable._internal.transport.cache_keys import (
    EntryKey,
    ItemKey,
    batch_writes,
    canonical,
    copy_data,
    is_select,
    key_id,
    key_of,
    new_item,
    projection_of,
    query_tags,
    strip_response,
    transact_writes,
)
from dyntable._internal.transport.cache_store import (
    CacheStats,
    Fill,
    Lookup,
    MemoryCacheStore,
    Pause,
    StoreOp,
)
from dyntable.transport.base import TABLE_OPERATIONS, Hook, Params, Response

__all__ = ["CacheCore", "Call", "Plan", "Step"]

#: An inner call a plan asks the driver to send: ``(operation, params)``.
Call = tuple[str, Params]
#: What a plan yields: an inner call, a store method call, or a pause.
Step = Call | StoreOp | Pause
#: A plan: yields steps, receives their results, returns the caller's answer.
Plan = Generator[Step, Any, Response]

Inner = TypeVar("Inner")  # the inner transport's type

_PARTIQL_WRITES = frozenset({"BatchExecuteStatement", "ExecuteTransaction"})
_FIRST_PAUSE = 0.002
_LONGEST_PAUSE = 0.02

Write = tuple[str, dict[str, Any] | None, dict[str, Any] | None]  # table, key, new item

log = logging.getLogger("dyntable.cache")


class CacheCore(Generic[Inner]):
    """Per-operation plans and counters of a DAX-semantics cache over a store (no I/O).

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
        max_items: int | None = None,
        max_queries: int | None = None,
        evict_queries_on_write: bool = False,
        store: Any = None,
        stampede_wait: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        hooks: list[Hook] | None = None,
    ) -> None:
        super().__init__(hooks)  # type: ignore[call-arg]  # the transport base, next in the MRO
        if store is None:
            store = MemoryCacheStore(10_000 if max_items is None else max_items,
                                     1_000 if max_queries is None else max_queries, clock=clock)
        elif max_items is not None or max_queries is not None:
            raise ValueError("max_items / max_queries size the default in-process store; "
                             "a store given with store= is sized by its own settings")
        self.inner = inner
        self.store = store
        self.item_ttl = float(item_ttl)
        self.query_ttl = float(query_ttl)
        self.evict_queries_on_write = evict_queries_on_write
        self.stampede_wait = float(stampede_wait) if store.shared else 0.0
        # Lookups in the in-process store are made in place (it never blocks on I/O).
        self._inline = isinstance(store, MemoryCacheStore)
        self.clock = clock
        self._lock = threading.Lock()
        self._key_attrs: dict[str, frozenset[str]] = {}
        self._counts = {"hits": 0, "misses": 0, "bypasses": 0, "waits": 0}

    # -- public helpers --------------------------------------------------------------------

    @property
    def stats(self) -> CacheStats:
        """A snapshot of the counters."""
        with self._lock:
            counts = dict(self._counts)
        return CacheStats(**counts, **self.store.counters())

    def key_attributes(self, table: str) -> frozenset[str] | None:
        """The primary key attribute names learned for ``table``, if any yet."""
        return self._key_attrs.get(table)

    def learn_key_attributes(self, table: str, names: Iterable[str]) -> None:
        """Tell the cache ``table``'s primary key attributes (normally learned from requests)."""
        self._key_attrs[table] = frozenset(names)

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

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
        response: Response = yield operation, params
        if operation in TABLE_OPERATIONS:
            yield from self._after_table_operation(operation, params, response)
        elif operation in _PARTIQL_WRITES or (
            operation == "ExecuteStatement" and not is_select(params.get("Statement"))
        ):
            yield StoreOp("clear", ())
        return response

    def _bypass(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        self._count("bypasses")
        extra["cache"] = "bypass"
        response: Response = yield operation, params
        return response

    def _look(self, op: StoreOp) -> Generator[Step, Any, Lookup]:
        """Look an entry up; while another reader holds its fill lease, wait (up to
        ``stampede_wait`` seconds) for that reader's answer to land."""
        waited, pause = 0.0, _FIRST_PAUSE
        while True:
            result = yield op
            look: Lookup = result[0] if op.name == "get_items" else result
            if look.found or not look.wait or waited >= self.stampede_wait:
                return look
            if not waited:
                self._count("waits")
            yield Pause(pause)
            waited += pause
            pause = min(pause * 2, _LONGEST_PAUSE)

    def _get_item(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        table, key = params.get("TableName"), params.get("Key")
        if params.get("ConsistentRead") or not isinstance(table, str) or not key:
            return (yield from self._bypass(operation, params, extra))
        self._key_attrs.setdefault(table, frozenset(key))
        entry_key = (table, key_id(key), projection_of(params))
        if self._inline:  # the in-process store: a plain call, no step (the hot path)
            look = self.store.get_items([entry_key], 0.0)[0]
        else:
            look = yield from self._look(StoreOp("get_items", ([entry_key], self.stampede_wait)))
        if look.found:
            self._count("hits")
            extra["cache"] = "hit"
            value: Response = look.value
            return value
        self._count("misses")
        extra["cache"] = "miss"
        response: Response = yield operation, params
        if look.token is not None:
            stored = {"Item": response["Item"]} if response.get("Item") else {}
            yield StoreOp("fill_items", ([(entry_key, stored, look.token)], self.item_ttl))
        return response

    def _batch_get(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        request = params.get("RequestItems") or {}
        responses: dict[str, list[Any]] = {}
        outgoing: dict[str, Any] = {}
        wanted: list[tuple[str, Mapping[str, Any], EntryKey]] = []
        for table, spec in request.items():
            if spec.get("ConsistentRead"):
                self._count("bypasses")
                outgoing[table] = spec
                continue
            keys = spec.get("Keys") or []
            if keys:
                self._key_attrs.setdefault(table, frozenset(keys[0]))
            projection = projection_of(spec)
            wanted.extend((table, k, (table, key_id(k), projection)) for k in keys)
        looks: list[Lookup] = []
        if wanted:
            looks = yield StoreOp("get_items", ([w[2] for w in wanted], 0.0))
        pending: list[tuple[EntryKey, Any]] = []
        missing: dict[str, list[Any]] = {}
        for (table, key, entry_key), look in zip(wanted, looks, strict=True):
            if look.found:
                if look.value:
                    responses.setdefault(table, []).append(look.value["Item"])
                continue
            missing.setdefault(table, []).append(key)
            pending.append((entry_key, look.token))
        self._count("hits", len(wanted) - len(pending))
        self._count("misses", len(pending))
        outgoing = {t: outgoing[t] if t in outgoing else {**request[t], "Keys": missing[t]}
                    for t in request if t in outgoing or t in missing}
        extra["cache"] = "miss" if outgoing else "hit"
        if not outgoing:
            return {"Responses": responses, "UnprocessedKeys": {}}
        response: Response = yield operation, {**params, "RequestItems": outgoing}
        fills = self._batch_fills(response, pending)
        if fills:
            yield StoreOp("fill_items", (fills, self.item_ttl))
        for table, items in (response.get("Responses") or {}).items():
            responses.setdefault(table, []).extend(items)
        merged = {k: v for k, v in response.items() if k != "Responses"}
        merged["Responses"] = responses
        merged.setdefault("UnprocessedKeys", {})
        return merged

    def _batch_fills(self, response: Response, pending: list[tuple[EntryKey, Any]]
                     ) -> list[Fill]:
        found: dict[tuple[str, Any], Any] = {}
        for table, items in (response.get("Responses") or {}).items():
            attrs = self._key_attrs.get(table) or frozenset()
            for item in items:
                key = {a: item[a] for a in attrs if a in item}
                found[(table, key_id(key))] = item
        unprocessed: set[ItemKey] = set()
        for table, spec in (response.get("UnprocessedKeys") or {}).items():
            unprocessed.update((table, key_id(k)) for k in spec.get("Keys") or [])
        fills: list[Fill] = []
        for entry_key, token in pending:
            ikey = (entry_key[0], entry_key[1])
            if ikey in unprocessed or token is None:
                continue
            item = found.get(ikey)
            fills.append((entry_key, {"Item": item} if item else {}, token))
        return fills

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
        if self._inline:
            look = self.store.get_query(table, qkey, 0.0)
        else:
            look = yield from self._look(StoreOp("get_query", (table, qkey, self.stampede_wait)))
        if look.found:
            self._count("hits")
            extra["cache"] = "hit"
            answer: Response = look.value
            return answer
        self._count("misses")
        extra["cache"] = "miss"
        response: Response = yield operation, params
        if look.token is not None:
            tags = query_tags(operation, table, params)
            yield StoreOp("fill_query", (table, qkey, strip_response(response), tags,
                                         look.token, self.query_ttl,
                                         self.evict_queries_on_write))
        return response

    def _learn_keys(self, tables: Iterable[str]) -> Generator[Step, Any, None]:
        """Before a write to a shared store: learn each table's key attributes (another
        process may have cached its items), with DescribeTable; if that fails, drop the
        table's entries instead."""
        if not self.store.shared:
            return
        for table in tables:
            if table in self._key_attrs:
                continue
            try:
                described = yield "DescribeTable", {"TableName": table}
            except Exception as exc:
                log.warning("dyntable cache: DescribeTable %s failed (%s); dropping the "
                            "table's cached entries before writing", table,
                            type(exc).__name__)
                yield StoreOp("drop_table", (table,))
                continue
            yield from self._after_table_operation("DescribeTable", {"TableName": table},
                                                   described)
            if table not in self._key_attrs:  # an answer without a key schema
                yield StoreOp("drop_table", (table,))

    def _write_item(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        extra["cache"] = "write"
        table = params.get("TableName")
        if not isinstance(table, str):
            return (yield from self._pass(operation, params))
        key = params.get("Key")
        if key:
            self._key_attrs.setdefault(table, frozenset(key))
        else:
            yield from self._learn_keys([table])
            key = key_of(params.get("Item") or {}, self._key_attrs.get(table))
        ikey = (table, key_id(key)) if key else None
        images: list[Mapping[str, Any]] = [params.get("Item") or key or {}]
        evict = self.evict_queries_on_write
        marks, old = yield StoreOp("begin_write", ([(table, [ikey] if ikey else [], images)],
                                                   evict))
        images.extend(old)
        try:
            response: Response = yield operation, params
        except GeneratorExit:
            raise
        except BaseException:
            yield StoreOp("end_write", ({}, marks, self.item_ttl,
                                        [(table, ())] if evict else None))
            raise
        new = new_item(operation, params, response)
        results: dict[ItemKey, Any] = {}
        if ikey is not None:
            results[ikey] = {"Item": copy_data(new)} if new else ({} if new == {} else None)
        images.append(response.get("Attributes") or {})
        yield StoreOp("end_write", (results, marks, self.item_ttl,
                                    [(table, images)] if evict else None))
        return response

    def _batch_write(self, operation: str, params: Params, extra: dict[str, Any]) -> Plan:
        extra["cache"] = "write"
        request = params.get("RequestItems") or {}
        yield from self._learn_keys(request)
        writes = list(batch_writes(request, self._key_attrs))

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
        transact = params.get("TransactItems") or []
        puts = {spec.get("TableName") for action in transact
                for kind, spec in action.items() if kind == "Put"}
        yield from self._learn_keys(t for t in puts if isinstance(t, str))
        actions = list(transact_writes(transact, self._key_attrs))

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
        tables = list(dict.fromkeys(t for t, _, _ in writes))
        groups = [
            (table,
             [(t, key_id(k)) for t, k, _ in writes if t == table and k],
             [item or key or {} for t, key, item in writes if t == table])
            for table in tables
        ]
        evict = self.evict_queries_on_write
        evictions: Sequence[tuple[str, Sequence[Mapping[str, Any]]]] | None = (
            [(t, ()) for t in tables] if evict else None)
        marks, _old = yield StoreOp("begin_write", (groups, evict))
        try:
            response: Response = yield operation, params
        except GeneratorExit:
            raise
        except BaseException:
            yield StoreOp("end_write", ({}, marks, self.item_ttl, evictions))
            raise
        yield StoreOp("end_write", (written(response), marks, self.item_ttl, evictions))
        return response

    def _after_table_operation(self, operation: str, params: Params, response: Response
                               ) -> Generator[Step, Any, None]:
        desc = response.get("Table") or response.get("TableDescription") or {}
        table = desc.get("TableName") or params.get("TableName")
        schema = desc.get("KeySchema") or params.get("KeySchema")
        if isinstance(table, str) and schema:
            self.learn_key_attributes(table, (k["AttributeName"] for k in schema))
        if operation in ("DeleteTable", "UpdateTable") and isinstance(table, str):
            yield StoreOp("drop_table", (table,))


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
