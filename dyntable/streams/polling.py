"""The stream consumer's state and flows, shared by the sync and the asyncio consumer.

:class:`Poller` does no I/O. Each step of consuming is a flow
(:mod:`dyntable._internal.operations.flow`) that a consumer runs with its client; the
consumer calls the handlers between flows::

    setup_flow()        DescribeTable (the stream), the lease table (created on demand)
    next_batch_flow()   shard listing and leases when due, lease renewal, iterators,
                        GetRecords round-robin over the leased shards, the idle back-off
                        (Sleep steps); returns the next :class:`Batch` of records, or None
                        when the run is over (stopped, max_records, until_idle)
    ...the consumer hands the batch's records to the router, in order...
    commit_flow(batch, handled)   checkpoint the records handled, advance the shard
    release_flow()      give the leases up (on every return, errors included)

Records are handed out by the flow's result rather than emitted mid-flow, so a handler
that raises, or a cancelled task, never leaves a flow half-run: the consumer checkpoints
what was handled and releases its leases with flows of their own.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dyntable._internal.operations.flow import Flow, Sleep
from dyntable.errors import ExpiredIteratorError, InvalidRequestError, TrimmedDataError
from dyntable.streams.checkpoints import SHARD_END, Lease, LeaseLostError, LeaseStore
from dyntable.streams.source import (
    Shard,
    get_records_flow,
    lineage_order,
    list_shards_flow,
    shard_iterator_flow,
    stream_arn_flow,
)

if TYPE_CHECKING:
    from dyntable.streams.router import Router

__all__ = ["Batch", "ConsumerBase", "ConsumerOptions", "Poller", "ShardReader",
           "StartPosition"]

log = logging.getLogger("dyntable.streams")
StartPosition = Literal["TRIM_HORIZON", "LATEST"]


@dataclass(frozen=True)
class ConsumerOptions:
    """A consumer's settings (the consumers' keyword arguments; see ``StreamConsumer``)."""

    group: str = "default"
    lease_table: str = "dyntable-stream-leases"
    owner: str = field(default_factory=lambda: f"consumer-{uuid.uuid4().hex[:12]}")
    start: StartPosition = "TRIM_HORIZON"
    lease_duration: float = 30.0
    batch_size: int = 1000
    poll_interval: float = 0.2
    max_poll_interval: float = 5.0
    refresh_interval: float = 10.0
    max_shards: int | None = None

    def __post_init__(self) -> None:
        if self.start not in ("TRIM_HORIZON", "LATEST"):
            raise InvalidRequestError(
                f"start must be TRIM_HORIZON or LATEST, not {self.start!r}")
        if not 1 <= self.batch_size <= 1000:
            raise InvalidRequestError("batch_size must be between 1 and 1000")


@dataclass
class ShardReader:
    """A leased shard being read: its lease and current iterator."""

    shard: Shard
    lease: Lease
    iterator: str | None = None


@dataclass
class Batch:
    """Records read from one shard, to be handled in order, then committed.

    Attributes:
        reader: the shard they come from.
        records: the raw records (GetRecords shape).
        next_iterator: where the shard goes on (``None``: the shard ended with them).
        truncated: records past ``max_records`` were dropped (read again next run).
    """

    reader: ShardReader
    records: list[dict[str, Any]]
    next_iterator: str | None
    truncated: bool = False


class Poller:
    """The state of one consumer and the flows that move it on (no I/O).

    Args:
        table_name: the table whose stream is read.
        options: the consumer's settings.
        clock: wall-clock time (epoch seconds; lease expiry).
        monotonic: a monotonic clock (refresh and idle timing).
    """

    def __init__(self, table_name: str, options: ConsumerOptions, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.table_name = table_name
        self.options = options
        self.clock = clock
        self.monotonic = monotonic
        self.stream_arn: str | None = None
        self.store: LeaseStore | None = None
        self.readers: OrderedDict[str, ShardReader] = OrderedDict()
        self.delivered = 0
        self._next_refresh = 0.0
        self._max_records: int | None = None
        self._until_idle: float | None = None
        self._stopped: Callable[[], bool] = lambda: False
        self._idle_since = 0.0
        self._delay = options.poll_interval

    # -- a run -------------------------------------------------------------------------

    def setup_flow(self) -> Flow[LeaseStore]:
        """Find the stream and make sure the lease table exists (once per poller)."""
        if self.store is None:
            arn = yield from stream_arn_flow(self.table_name)
            store = LeaseStore(self.options.lease_table, self.options.group, arn,
                               clock=self.clock)
            yield from store.ensure_table_flow()
            self.stream_arn, self.store = arn, store
        return self.store

    def begin(self, *, max_records: int | None, until_idle: float | None,
              stopped: Callable[[], bool]) -> None:
        """Start a run: it ends once ``stopped()``, after ``max_records`` records, or after
        ``until_idle`` seconds without one."""
        self.delivered = 0
        self._max_records = max_records
        self._until_idle = until_idle
        self._stopped = stopped
        self._idle_since = self.monotonic()
        self._delay = self.options.poll_interval

    def _over(self) -> bool:
        done = self._max_records is not None and self.delivered >= self._max_records
        return done or self._stopped()

    def next_batch_flow(self) -> Flow[Batch | None]:
        """The next records to handle, or ``None`` when the run is over.

        Polls the leased shards in turn (each shard once per pass, so none starves the
        others); after a pass without records, waits (a Sleep step, doubling from
        ``poll_interval`` up to ``max_poll_interval``) unless ``until_idle`` has passed.
        """
        while not self._over():
            yield from self._refresh()
            for shard_id in list(self.readers):
                reader = self.readers.get(shard_id)
                if reader is None:
                    continue
                self.readers.move_to_end(shard_id)  # the next pass starts after it
                batch = yield from self._poll(reader)
                if batch is not None:
                    return batch
            if self._until_idle is not None and \
                    self.monotonic() - self._idle_since >= self._until_idle:
                return None
            yield Sleep(self._delay)
            self._delay = min(self._delay * 2, self.options.max_poll_interval)
        return None

    def commit_flow(self, batch: Batch, handled: int) -> Flow[None]:
        """Checkpoint the first ``handled`` records of ``batch`` (all of them unless a
        handler failed); when all were handled, move the shard on (finishing it at its
        end)."""
        reader = batch.reader
        complete = handled == len(batch.records)
        self.delivered += handled
        if handled:
            self._idle_since, self._delay = self.monotonic(), self.options.poll_interval
        try:
            if complete and not batch.truncated and batch.next_iterator is None:
                yield from self._finish(reader, batch.records[-1]["dynamodb"]["SequenceNumber"])
                return
            if handled:
                last = batch.records[handled - 1]["dynamodb"]["SequenceNumber"]
                reader.lease = yield from self._store.checkpoint_flow(
                    reader.lease, last, self.options.lease_duration)
        except LeaseLostError:
            self._lost(reader)
            return
        if complete:
            reader.iterator = None if batch.truncated else batch.next_iterator

    def release_flow(self) -> Flow[None]:
        """Release every lease held (after a run, whatever ended it)."""
        readers = list(self.readers.values())
        self.readers.clear()
        self._next_refresh = 0.0
        for reader in readers:
            yield from self._store.release_flow(reader.lease)

    # -- shards and leases -------------------------------------------------------------

    @property
    def _store(self) -> LeaseStore:
        if self.store is None:
            raise InvalidRequestError("the consumer is not set up: run setup_flow() first")
        return self.store

    def _refresh(self) -> Flow[None]:
        now = self.monotonic()
        if now < self._next_refresh and self.readers:
            return
        self._next_refresh = now + self.options.refresh_interval
        store = self._store
        _status, shards = yield from list_shards_flow(store.stream_arn)
        listed = {s.shard_id for s in shards}
        leases = yield from store.all_flow()
        opts = self.options
        for shard in lineage_order(shards):
            if opts.max_shards is not None and len(self.readers) >= opts.max_shards:
                return
            if shard.shard_id in self.readers:
                continue
            parent = leases.get(shard.parent_id or "")
            if shard.parent_id in listed and not (parent and parent.finished):
                continue  # parents first: a child waits until its parent is finished
            lease = yield from store.acquire_flow(shard.shard_id, leases.get(shard.shard_id),
                                                  opts.owner, opts.lease_duration)
            if lease is not None:
                log.info("consumer %s leased shard %s", opts.owner, shard.shard_id)
                self.readers[shard.shard_id] = ShardReader(shard, lease)

    def _lost(self, reader: ShardReader) -> None:
        log.warning("consumer %s lost shard %s", self.options.owner, reader.shard.shard_id)
        self.readers.pop(reader.shard.shard_id, None)

    def _finish(self, reader: ShardReader, last: str | None) -> Flow[None]:
        checkpoint = last or reader.lease.checkpoint or SHARD_END
        yield from self._store.checkpoint_flow(reader.lease, checkpoint,
                                               self.options.lease_duration, finished=True)
        log.info("consumer %s finished shard %s", self.options.owner, reader.shard.shard_id)
        self.readers.pop(reader.shard.shard_id, None)
        self._next_refresh = 0.0  # its children may be read now

    # -- reading -------------------------------------------------------------------------

    def _iterator(self, reader: ShardReader) -> Flow[str]:
        arn, shard_id = self._store.stream_arn, reader.shard.shard_id
        checkpoint = reader.lease.checkpoint
        if not checkpoint or checkpoint == SHARD_END:
            return (yield from shard_iterator_flow(arn, shard_id, self.options.start))
        try:
            return (yield from shard_iterator_flow(arn, shard_id, "AFTER_SEQUENCE_NUMBER",
                                                   checkpoint))
        except TrimmedDataError:
            log.warning("shard %s: checkpoint is past the stream's retention; records were "
                        "lost, reading from TRIM_HORIZON", shard_id)
            return (yield from shard_iterator_flow(arn, shard_id, "TRIM_HORIZON"))

    def _poll(self, reader: ShardReader) -> Flow[Batch | None]:
        """Read once from ``reader``: a batch when there are records to handle."""
        opts = self.options
        try:
            if reader.lease.lease_until - self.clock() < opts.lease_duration / 2:
                reader.lease = yield from self._store.renew_flow(reader.lease,
                                                                 opts.lease_duration)
            if reader.iterator is None:
                reader.iterator = yield from self._iterator(reader)
            try:
                records, following = yield from get_records_flow(reader.iterator,
                                                                 opts.batch_size)
            except ExpiredIteratorError:
                reader.iterator = None
                return None
            left = None if self._max_records is None else self._max_records - self.delivered
            truncated = left is not None and len(records) > left
            if truncated:
                records = records[:left]
            if records:
                return Batch(reader, records, following, truncated)
            if following is None:
                yield from self._finish(reader, None)
            else:
                reader.iterator = following
        except LeaseLostError:
            self._lost(reader)
        return None


class ConsumerBase:
    """What both consumers share: settings, router, poller, and the read-only views.

    Args:
        table_name: the table whose stream is read.
        router: where typed events go.
        options: the consumer's settings.
    """

    def __init__(self, table_name: str, router: Router, options: ConsumerOptions) -> None:
        self.options = options
        self.router = router
        self.poller = Poller(table_name, options)

    @property
    def owner(self) -> str:
        """This consumer's id in leases."""
        return self.options.owner

    @property
    def stream_arn(self) -> str | None:
        """The stream read (known once a run has started)."""
        return self.poller.stream_arn

    @property
    def leases(self) -> LeaseStore | None:
        """The lease store (known once a run has started)."""
        return self.poller.store

    @property
    def owned_shards(self) -> list[str]:
        """Ids of the shards this consumer holds leases on."""
        return list(self.poller.readers)


def options_of(owner: str | None, **settings: Any) -> ConsumerOptions:
    """The settings from a consumer's keyword arguments (a random owner when none)."""
    if owner:
        settings["owner"] = owner
    return ConsumerOptions(**settings)
