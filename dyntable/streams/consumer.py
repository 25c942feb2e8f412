"""``StreamConsumer``: reads a table's stream through the Streams API, outside Lambda.

It lists the shards of the table's latest stream, leases the ones it may read (parents
before children), reads each from its checkpoint (or ``TRIM_HORIZON`` / ``LATEST`` the
first time), hands the records to a :class:`~dyntable.streams.router.Router` in order, and
checkpoints after the handlers return: delivery is at least once. When a handler raises,
the records before it are checkpointed, the leases are released and ``run`` re-raises;
running again retries from the failed record.

The reading, leasing and checkpointing are the flows of :mod:`dyntable.streams.polling`,
run by the sync client; :class:`~dyntable.streams.async_consumer.AsyncStreamConsumer` runs
the same flows with the asyncio client.
"""

from __future__ import annotations

import threading
from inspect import iscoroutinefunction
from typing import TYPE_CHECKING, TypeVar

from dyntable.errors import InvalidRequestError
from dyntable.streams.polling import ConsumerBase, StartPosition, options_of

if TYPE_CHECKING:
    from dyntable._internal.operations.flow import Flow
    from dyntable.client import Client
    from dyntable.streams.router import Router
    from dyntable.streams.source import StreamsAPI
    from dyntable.transport.base import Transport

__all__ = ["StreamConsumer"]

R = TypeVar("R")


class StreamConsumer(ConsumerBase):
    """Delivers a table's stream records to a router, with leases and checkpoints.

    Args:
        db: a client of the table whose stream is read; its transport sends the Streams
            calls and reaches the lease table.
        router: where typed events go. Its handlers must be plain functions: coroutine
            handlers need :class:`~dyntable.streams.async_consumer.AsyncStreamConsumer`.
        streams: send the Streams calls elsewhere than ``db``'s transport: another
            transport, or an object with ``describe_stream``, ``get_shard_iterator`` and
            ``get_records`` methods (e.g. boto3's ``dynamodbstreams`` client).
        group: consumer group name; each group has its own checkpoints.
        lease_table: physical name of the lease/checkpoint table (created on demand).
        owner: this consumer's id in leases (default: a random one).
        start: where a shard without checkpoint is read from.
        lease_duration: seconds a lease lasts without renewal.
        batch_size: GetRecords ``Limit`` (at most 1000).
        poll_interval / max_poll_interval: back-off bounds (seconds) while the stream is idle.
        refresh_interval: seconds between shard listings.
        max_shards: most shards this consumer leases at once (``None``: no limit); how
            several consumers split a stream.
    """

    def __init__(
        self,
        db: Client,
        router: Router,
        *,
        streams: Transport | StreamsAPI | None = None,
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
        if iscoroutinefunction(getattr(db, "run", None)):
            raise InvalidRequestError("StreamConsumer takes a Client; an AsyncClient goes "
                                      "with AsyncStreamConsumer")
        self.db = db
        self._driver = db
        if streams is not None:
            from dyntable.client import Client
            from dyntable.streams.source import streams_transport

            self._driver = Client(db.table, transport=streams_transport(db.transport, streams),
                                 table_name=db.table_name)
        self._stop = threading.Event()

    # -- control -----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand (thread-safe; interrupts an
        idle wait at once)."""
        self._stop.set()

    def _run(self, flow: Flow[R]) -> R:
        return self._driver.run(flow, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def run(self, *, max_records: int | None = None, until_idle: float | None = None) -> int:
        """Consume until :meth:`stop`, ``max_records`` delivered, or ``until_idle`` seconds
        without a record. Releases its leases on return; returns the records delivered.

        Raises:
            InvalidRequestError: the router has coroutine handlers (nothing is read), or
                the table has no stream.
            Exception: what a handler raised (the records before it are checkpointed).
        """
        self.router.refuse_async_handlers("StreamConsumer")
        self._stop.clear()
        poller = self.poller
        self._run(poller.setup_flow())
        poller.begin(max_records=max_records, until_idle=until_idle,
                     stopped=self._stop.is_set)
        handle = self.router.handle
        try:
            while (batch := self._run(poller.next_batch_flow())) is not None:
                handled = 0
                try:
                    for raw in batch.records:
                        handle(raw)
                        handled += 1
                finally:
                    self._run(poller.commit_flow(batch, handled))
        finally:
            self._run(poller.release_flow())
        return poller.delivered
