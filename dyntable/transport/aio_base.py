"""The base of asyncio transports: hooks, counters and ``async with``.

:class:`AsyncTransportBase` gives an async transport what
:class:`~dyntable.transport.base.TransportBase` gives a sync one (``hooks``, ``add_hook``,
``calls``, ``retries``, :meth:`~AsyncTransportBase.timed`), by holding one: the
bookkeeping is the same object, only ``close`` and the context manager are async.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TypeVar

from dyntable.transport.base import CallEvent, Hook, Params, TransportBase

__all__ = ["AsyncTransportBase"]

_T = TypeVar("_T", bound="AsyncTransportBase")


class AsyncTransportBase:
    """Hooks and per-operation counters for async transports; ``async with`` closes.

    Args:
        hooks: callables receiving a :class:`~dyntable.transport.base.CallEvent` per call.
    """

    name = "transport"

    def __init__(self, hooks: list[Hook] | None = None) -> None:
        self._meter = TransportBase(hooks)
        self._meter.name = self.name

    @property
    def hooks(self) -> list[Hook]:
        """The hooks called after every call."""
        return self._meter.hooks

    @property
    def calls(self) -> int:
        """Calls sent so far."""
        return self._meter.calls

    @property
    def retries(self) -> int:
        """Retries made so far (attempts after the first of each call)."""
        return self._meter.retries

    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(event)`` after every call this transport sends."""
        self._meter.add_hook(hook)

    def emit(self, event: CallEvent) -> None:
        """Count the call and pass ``event`` to the hooks."""
        self._meter.emit(event)

    def timed(self, operation: str, params: Params) -> AbstractContextManager[CallEvent]:
        """Time a call; the body fills ``attempts`` / ``consumed_capacity`` / ``error``."""
        return self._meter.timed(operation, params)

    async def close(self) -> None:
        """Release connections (nothing by default)."""

    async def __aenter__(self: _T) -> _T:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
