"""``AsyncCachedTransport``: the read cache with DAX semantics, for asyncio code.

The same cache as :class:`~dyntable.transport.cache.CachedTransport` (same options,
semantics, staleness rules and counters: read that module's docs), over an
:class:`~dyntable.transport.base.AsyncTransport`. Both drive the plans of
:mod:`dyntable._internal.transport.cache_core`; this one awaits the inner calls, and the
store's when the store is an asyncio one
(:class:`~dyntable.transport.redis_cache.AsyncRedisCacheStore`)::

    transport = AsyncCachedTransport(AsyncHttpTransport(region="eu-west-1"))
    db = await shop.connect_async(transport=transport)

Safe to share between tasks (and threads): no lock is held across an await. A write whose
inner call fails or is cancelled leaves its item uncached, and its error (``maybe_applied``
included) reaches the caller as it came.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from dyntable._internal.transport.cache_core import CacheCore
from dyntable._internal.transport.cache_store import Pause, StoreOp
from dyntable.transport.aio_base import AsyncTransportBase
from dyntable.transport.base import AsyncTransport, Params, Response

__all__ = ["AsyncCachedTransport"]


class AsyncCachedTransport(CacheCore[AsyncTransport], AsyncTransportBase):
    """A read cache with DAX semantics over an asyncio transport ``inner``.

    Args:
        inner: the :class:`~dyntable.transport.base.AsyncTransport` that reaches DynamoDB.
        store: an :class:`~dyntable._internal.transport.cache_store.AsyncCacheStore` (e.g.
            :class:`~dyntable.transport.redis_cache.AsyncRedisCacheStore`) or the in-process
            :class:`~dyntable.transport.cache.MemoryCacheStore` (the default).
        item_ttl / query_ttl / max_items / max_queries / evict_queries_on_write /
            stampede_wait / clock / hooks: as for
            :class:`~dyntable.transport.cache.CachedTransport`.
    """

    def __init__(self, inner: AsyncTransport, **options: Any) -> None:
        super().__init__(inner, **options)
        self._awaits_store = inspect.iscoroutinefunction(getattr(self.store, "get_items", None))

    async def send(self, operation: str, params: Params) -> Response:
        """Answer ``operation`` from the cache when it can, else through ``inner``."""
        with self.timed(operation, params) as event:
            plan = self.plan(operation, params, event.extra)
            store, awaits_store = self.store, self._awaits_store
            try:
                step = next(plan)
                while True:
                    try:
                        if type(step) is StoreOp:
                            answer = getattr(store, step.name)(*step.args)
                            if awaits_store:
                                answer = await answer
                        elif type(step) is Pause:
                            await asyncio.sleep(step.seconds)
                            answer = None
                        else:
                            answer = await self.inner.send(*step)
                    except BaseException as exc:
                        step = plan.throw(exc)
                    else:
                        step = plan.send(answer)
            except StopIteration as done:
                response: Response = done.value
            event.consumed_capacity = response.get("ConsumedCapacity")
            return response

    def clear(self) -> None:
        """Drop every cached entry of an in-process store (``await aclear()`` for any store)."""
        if self._awaits_store:
            raise TypeError("this cache's store is an asyncio store: use await aclear()")
        self.store.clear()

    async def aclear(self) -> None:
        """Drop every cached entry (counters are kept); with a shared store, for everyone."""
        result = self.store.clear()
        if self._awaits_store:
            await result

    async def close(self) -> None:
        """Close the inner transport (and the store, when it has connections to close)."""
        await self.inner.close()
        closer = getattr(self.store, "aclose", None)
        if closer is not None:
            await closer()
