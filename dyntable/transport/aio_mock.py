"""``AsyncMockTransport``: :class:`~dyntable.transport.mock.MockTransport` for asyncio code.

The handler may be a plain function or a coroutine function; either way it decides what
each call returns or raises, and every call is recorded in ``sent``::

    async def handler(operation, params):
        return {"Item": {...}} if operation == "GetItem" else {}

    transport = AsyncMockTransport(handler)
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from dyntable.transport.aio_base import AsyncTransportBase
from dyntable.transport.base import Hook, Params, Response
from dyntable.transport.mock import MockRecorder, empty_response

__all__ = ["AsyncMockHandler", "AsyncMockTransport"]

#: Returns the response, or an awaitable of it (a coroutine function will do).
AsyncMockHandler = Callable[[str, Params], "Response | Awaitable[Response]"]


class AsyncMockTransport(MockRecorder, AsyncTransportBase):
    """Calls ``handler(operation, params)`` (awaiting it when it is a coroutine) for every
    request and records it.

    Args:
        handler: returns (or is a coroutine function returning) the response dict, or
            raises a dyntable error; default: ``{}``.
        hooks: callables receiving a :class:`~dyntable.transport.base.CallEvent` per call.
    """

    name = "mock"

    def __init__(self, handler: AsyncMockHandler | None = None, *,
                 hooks: list[Hook] | None = None) -> None:
        AsyncTransportBase.__init__(self, hooks)
        MockRecorder.__init__(self)
        self.handler: AsyncMockHandler = handler or empty_response

    async def send(self, operation: str, params: Params) -> Response:
        """Record the call and return the handler's answer."""
        self.record(operation, params)
        with self.timed(operation, params) as event:
            answer = self.handler(operation, params)
            response = await answer if inspect.isawaitable(answer) else answer
            event.consumed_capacity = response.get("ConsumedCapacity")
            return response

    async def close(self) -> None:
        """Mark the transport closed (``closed`` becomes True)."""
        self.closed = True
