"""``AsyncTransportAdapter``: any sync transport, awaited, each call in a worker thread.

So asyncio code can use what only a sync transport has: botocore's features through
:class:`~dyntable.transport.boto3.Boto3Transport` (adaptive retries, proxies, its
credential and endpoint handling), DAX through :class:`~dyntable.transport.dax.DaxTransport`,
a read cache through :class:`~dyntable.transport.cache.CachedTransport`::

    transport = AsyncTransportAdapter(Boto3Transport(region="eu-west-1"))
    db = await shop.connect_async(transport=transport)

Each call runs through :func:`asyncio.to_thread`, which copies the caller's context into
the thread, so a call made inside :func:`~dyntable.transport.base.not_idempotent` is not
resent by the wrapped transport either. Threads come from the running loop's default
executor: at most ``min(32, CPUs + 4)`` calls at once unless the loop is given a bigger one
(``loop.set_default_executor``). A cancelled call still runs to its end in its thread.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from dyntable.transport.base import Params, Response, Transport

__all__ = ["AsyncTransportAdapter"]

_T = TypeVar("_T", bound="AsyncTransportAdapter")


class AsyncTransportAdapter:
    """Runs a sync :class:`~dyntable.transport.base.Transport` from asyncio code.

    Args:
        transport: the transport to run; its hooks and counters see every call.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __repr__(self) -> str:
        return f"AsyncTransportAdapter({self.transport!r})"

    async def send(self, operation: str, params: Params) -> Response:
        """Send the call with the wrapped transport, in a worker thread."""
        return await asyncio.to_thread(self.transport.send, operation, params)

    async def close(self) -> None:
        """Close the wrapped transport (in a worker thread: closing may block)."""
        await asyncio.to_thread(self.transport.close)

    async def __aenter__(self: _T) -> _T:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
