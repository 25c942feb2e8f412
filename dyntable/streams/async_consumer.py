"""``AsyncStreamConsumer``: :class:`~dyntable.streams.consumer.StreamConsumer` for asyncio.

The same flows (:mod:`dyntable.streams.polling`) run with the asyncio client, so leases,
checkpoints, at-least-once delivery, resuming from a checkpoint, lease expiry and
stealing, and graceful stop behave exactly as with the sync consumer::

    db = await shop.connect_async()
    consumer = AsyncStreamConsumer(db, router, group="mailer")
    await consumer.run()            # until consumer.stop()

Handlers may be plain functions or coroutine functions; a handler's awaitable result is
awaited before the next record is handled.
"""

from __future__ import annotations

import asyncio
import contextlib
from inspect import iscoroutinefunction
from typing import TYPE_CHECKING, TypeVar

from dyntable.errors import InvalidRequestError
from dyntable.streams.polling import ConsumerBase, StartPosition, options_of

if TYPE_CHECKING:
    from dyntable._internal.operations.flow import Flow
    from dyntable.async_client import AsyncClient
    from dyntable.streams.router import Router

__all__ = ["AsyncStreamConsumer"]

R = TypeVar("R")


class AsyncStreamConsumer(ConsumerBase):
    """Delivers a table's stream records to a router from asyncio code.

    Args:
        db: an :class:`~dyntable.async_client.AsyncClient` of the table whose stream is
            read; its transport sends the Streams calls and reaches the lease table.
        router: where typed events go; handlers may be coroutine functions.

    The other arguments are :class:`~dyntable.streams.consumer.StreamConsumer`'s (``group``,
    ``lease_table``, ``owner``, ``start``, ``lease_duration``, ``batch_size``,
    ``poll_interval``, ``max_poll_interval``, ``refresh_interval``, ``max_shards``), with
    the same meaning. To fake the Streams API in tests, give ``db`` an
    :class:`~dyntable.transport.aio_mock.AsyncMockTransport`.
    """

    def __init__(
        self,
        db: AsyncClient,
        router: Router,
        *,
        group: str = "default",
        lease_table: str = "dyntable-stream-leases",
        owner: str | None = None,
        start: StartPosition = "TRIM_HORIZON",
        lease_duration: float = 30.0,
        batch_size: int = 1000,
        poll_interval: float = 0.2,
        max_poll_interval: float = 5.0,
        refresh_interval: float = 10.0,
        max_shards: int | None = None,
    ) -> None:
        super().__init__(db.table_name, router, options_of(
            owner, group=group, lease_table=lease_table, start=start,
            lease_duration=lease_duration, batch_size=batch_size, poll_interval=poll_interval,
            max_poll_interval=max_poll_interval, refresh_interval=refresh_interval,
            max_shards=max_shards))
        if not iscoroutinefunction(getattr(db, "run", None)):
            raise InvalidRequestError("AsyncStreamConsumer takes an AsyncClient (await "
                                      "shop.connect_async()); a Client goes with StreamConsumer")
        self.db = db
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    # -- control -----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand; interrupts an idle wait at
        once. May be called from the loop (another task, a signal handler) or from another
        thread."""
        self._stopping = True
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the run is over
                loop.call_soon_threadsafe(wake.set)

    def _stopped(self) -> bool:
        return self._stopping

    async def _sleep(self, seconds: float) -> None:
        wake = self._wake
        if self._stopping or wake is None:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)

    async def _run(self, flow: Flow[R]) -> R:
        return await self.db.run(flow, sleep=self._sleep)

    async def run(self, *, max_records: int | None = None,
                  until_idle: float | None = None) -> int:
        """Consume until :meth:`stop`, ``max_records`` delivered, or ``until_idle`` seconds
        without a record. Releases its leases on return (cancellation included); returns
        the records delivered.

        Raises:
            InvalidRequestError: the table has no stream.
            Exception: what a handler raised (the records before it are checkpointed).
        """
        self._stopping = False
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        try:
            return await self._consume(max_records, until_idle)
        finally:
            self._loop = self._wake = None

    async def _consume(self, max_records: int | None, until_idle: float | None) -> int:
        poller = self.poller
        await self._run(poller.setup_flow())
        poller.begin(max_records=max_records, until_idle=until_idle, stopped=self._stopped)
        handle = self.router.handle_async
        try:
            while (batch := await self._run(poller.next_batch_flow())) is not None:
                handled = 0
                try:
                    for raw in batch.records:
                        await handle(raw)
                        handled += 1
                finally:
                    await self._run(poller.commit_flow(batch, handled))
        finally:
            await self._run(poller.release_flow())
        return poller.delivered
