"""Run the integration suite over the async client: a sync facade over ``AsyncClient``.

The suite is written against the sync client's API. :class:`Facade` wraps an
:class:`~dyntable.async_client.AsyncClient` (and what it returns: queries, scans, update
builders, transactions, batch writers) so that every call runs the async driver on a
background event loop: ``db.get(...)`` awaits ``AsyncClient.get``, ``for o in db.query(...)``
iterates the ``AsyncQuery``, ``with db.batch_writer() as bw`` enters the
``AsyncBatchWriter`` with ``async with``. Nothing of the async code path is bypassed; only
the calling convention changes.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread; :meth:`run` waits for a coroutine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="dyntable-async",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Awaitable[T]) -> T:
        async def wrapper() -> T:
            return await coro

        future = asyncio.run_coroutine_threadsafe(wrapper(), self.loop)
        return future.result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def _wrappable(value: Any) -> bool:
    module = type(value).__module__
    return module in ("dyntable.async_client", "dyntable.async_batch_writer")


class Facade:
    """The sync face of an async dyntable object (see the module doc)."""

    __slots__ = ("_loop", "_target")

    def __init__(self, target: Any, loop: LoopThread) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_loop", loop)

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, Coroutine) or inspect.isawaitable(value):
            value = self._loop.run(value)
        return Facade(value, self._loop) if _wrappable(value) else value

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if callable(value) and not isinstance(value, type):
            def call(*args: Any, **kwargs: Any) -> Any:
                return self._wrap(value(*args, **kwargs))

            return call
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __iter__(self) -> Iterator[Any]:
        agen = self._target.__aiter__()
        try:
            while True:
                try:
                    item = self._loop.run(agen.__anext__())
                except StopAsyncIteration:
                    return
                yield item
        finally:
            self._loop.run(agen.aclose())

    def __enter__(self) -> Any:
        return self._wrap(self._target.__aenter__())

    def __exit__(self, *exc: Any) -> Any:
        return self._loop.run(self._target.__aexit__(*exc))

    def __len__(self) -> int:
        return len(self._target)

    def __repr__(self) -> str:
        return f"Facade({self._target!r})"


_SHARED: LoopThread | None = None
_SHARED_LOCK = threading.Lock()


def shared_loop() -> LoopThread:
    """The one background loop the tests' async clients run on (made on first use)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = LoopThread()
        return _SHARED


def async_client(table: Any, url: str, table_name: str, **transport_options: Any) -> Any:
    """A sync facade over an ``AsyncClient`` of ``table`` through ``AsyncHttpTransport``."""
    from dyntable.async_client import AsyncClient
    from dyntable.transport.aio_http import AsyncHttpTransport

    transport = AsyncHttpTransport(endpoint_url=url, region="us-east-1", **transport_options)
    return Facade(AsyncClient(table, transport=transport, table_name=table_name),
                  shared_loop())


def connect(table: Any, transport: Any, table_name: str, **options: Any) -> Any:
    """A client of ``table`` over ``transport``: the sync client for a sync transport, a
    facade over an ``AsyncClient`` for an async one (``async def send``)."""
    if inspect.iscoroutinefunction(getattr(transport, "send", None)):
        from dyntable.async_client import AsyncClient

        return Facade(AsyncClient(table, transport=transport, table_name=table_name,
                                  **options), shared_loop())
    return table.connect(transport=transport, table_name=table_name, **options)


def async_http(url: str, **options: Any) -> Any:
    """An ``AsyncHttpTransport`` to ``url`` (region us-east-1)."""
    from dyntable.transport.aio_http import AsyncHttpTransport

    return AsyncHttpTransport(endpoint_url=url, region="us-east-1", **options)
