"""``AsyncCachedTransport``: the read cache with DAX semantics, for asyncio code.

The same cache as :class:`~dyntable.transport.cache.CachedTransport` (same options,
semantics, staleness rules and counters: read that module's docs), over an
:class:`~dyntable.transport.base.AsyncTransport`. Both drive the plans of
:mod:`dyntable._internal.transport.cache_core`; this one awaits the inner calls::

    transport = AsyncCachedTransport(AsyncHttpTransport(region="eu-west-1"))
    db = await shop.connect_async(transport=transport)

Safe to share between tasks (and threads): the cache's lock is taken only between awaits,
never across one. A write whose inner call fails or is cancelled leaves its item uncached,
and its error (``maybe_applied`` included) reaches the caller as it came.
"""

from __future__ import annotations

from dyntable._internal.transport.cache_core import CacheCore
from dyntable.transport.aio_base import AsyncTransportBase
from dyntable.transport.base import AsyncTransport, Params, Response

__all__ = ["AsyncCachedTransport"]


class AsyncCachedTransport(CacheCore[AsyncTransport], AsyncTransportBase):
    """A read cache with DAX semantics over an asyncio transport ``inner``.

    Args:
        inner: the :class:`~dyntable.transport.base.AsyncTransport` that reaches DynamoDB.
        item_ttl / query_ttl / max_items / max_queries / evict_queries_on_write / clock /
            hooks: as for :class:`~dyntable.transport.cache.CachedTransport`.
    """

    async def send(self, operation: str, params: Params) -> Response:
        """Answer ``operation`` from the cache when it can, else through ``inner``."""
        with self.timed(operation, params) as event:
            plan = self.plan(operation, params, event.extra)
            try:
                call = next(plan)
                while True:
                    try:
                        answer = await self.inner.send(*call)
                    except BaseException as exc:
                        call = plan.throw(exc)
                    else:
                        call = plan.send(answer)
            except StopIteration as done:
                response: Response = done.value
            event.consumed_capacity = response.get("ConsumedCapacity")
            return response

    async def close(self) -> None:
        """Close the inner transport."""
        await self.inner.close()
