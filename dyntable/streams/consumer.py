"""``StreamConsumer``: reads a table's stream through the Streams API, outside Lambda.

It lists the shards of the table's latest stream, leases the ones it may read (parents
before children), reads each from its checkpoint (or ``TRIM_HORIZON`` / ``LATEST`` the
first time), hands the records to a :class:`~dyntable.streams.router.Router` in order, and
checkpoints after the handlers return: delivery is at least once. When a handler raises,
the records before it are checkpointed, the leases are released and ``run`` re-raises;
running again retries from the failed record.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dyntable.errors import ExpiredIteratorError, InvalidRequestError, TrimmedDataError
from dyntable.streams.checkpoints import SHARD_END, Lease, LeaseLostError, LeaseStore
from dyntable.streams.source import (
    Shard,
    StreamsAPI,
    TransportStreams,
    lineage_order,
    list_shards,
)

if TYPE_CHECKING:
    from dyntable.client import Client
    from dyntable.streams.router import Router

__all__ = ["StreamConsumer"]

log = logging.getLogger("dyntable.streams")
StartPosition = Literal["TRIM_HORIZON", "LATEST"]


@dataclass
class _Reader:
    shard: Shard
    lease: Lease
    iterator: str | None = None


class StreamConsumer:
    """Delivers a table's stream records to a router, with leases and checkpoints.

    Args:
        db: a client of the table whose stream is read (its DescribeTable gives the stream,
            and its transport reaches the lease table).
        router: where typed events go.
        streams: the Streams API (default: ``db``'s transport, so its endpoint, region,
            credentials, retries and hooks; see :class:`~.source.TransportStreams`).
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
        streams: StreamsAPI | None = None,
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
        if start not in ("TRIM_HORIZON", "LATEST"):
            raise InvalidRequestError(f"start must be TRIM_HORIZON or LATEST, not {start!r}")
        if not 1 <= batch_size <= 1000:
            raise InvalidRequestError("batch_size must be between 1 and 1000")
        self.db = db
        self.router = router
        self.streams: StreamsAPI = streams or TransportStreams(db.transport)
        self.group = group
        self.lease_table = lease_table
        self.owner = owner or f"consumer-{uuid.uuid4().hex[:12]}"
        self.start = start
        self.lease_duration = lease_duration
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.refresh_interval = refresh_interval
        self.max_shards = max_shards
        self.stream_arn: str | None = None
        self.leases: LeaseStore | None = None
        self._readers: dict[str, _Reader] = {}
        self._stop = threading.Event()
        self._next_refresh = 0.0

    # -- control -----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand (thread-safe)."""
        self._stop.set()

    @property
    def owned_shards(self) -> list[str]:
        """Ids of the shards this consumer holds leases on."""
        return list(self._readers)

    def run(self, *, max_records: int | None = None, until_idle: float | None = None) -> int:
        """Consume until :meth:`stop`, ``max_records`` delivered, or ``until_idle`` seconds
        without a record. Releases its leases on return; returns the records delivered."""
        self._stop.clear()
        store = self._setup()
        delivered = 0
        idle_since = time.monotonic()
        delay = self.poll_interval
        try:
            while not self._stop.is_set():
                self._refresh(store)
                left = None if max_records is None else max_records - delivered
                got = self._poll_all(store, left)
                delivered += got
                if max_records is not None and delivered >= max_records:
                    break
                if got:
                    idle_since, delay = time.monotonic(), self.poll_interval
                    continue
                if until_idle is not None and time.monotonic() - idle_since >= until_idle:
                    break
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_poll_interval)
        finally:
            self._release_all(store)
        return delivered

    # -- shards and leases -------------------------------------------------------------

    def _setup(self) -> LeaseStore:
        if self.leases is None:
            desc = self.db.describe_table()
            arn = desc.get("LatestStreamArn")
            if not arn or not (desc.get("StreamSpecification") or {}).get("StreamEnabled"):
                raise InvalidRequestError(f"table {self.db.table_name!r} has no stream enabled")
            self.stream_arn = arn
            self.leases = LeaseStore(self.db.transport, self.lease_table, self.group, arn)
            self.leases.ensure_table()
        return self.leases

    def _refresh(self, store: LeaseStore) -> None:
        now = time.monotonic()
        if now < self._next_refresh and self._readers:
            return
        self._next_refresh = now + self.refresh_interval
        assert self.stream_arn is not None
        _status, shards = list_shards(self.streams, self.stream_arn)
        listed = {s.shard_id for s in shards}
        leases = store.all()
        for shard in lineage_order(shards):
            if self.max_shards is not None and len(self._readers) >= self.max_shards:
                return
            if shard.shard_id in self._readers:
                continue
            parent = leases.get(shard.parent_id or "")
            if shard.parent_id in listed and not (parent and parent.finished):
                continue
            lease = store.acquire(shard.shard_id, leases.get(shard.shard_id), self.owner,
                                  self.lease_duration)
            if lease is not None:
                log.info("consumer %s leased shard %s", self.owner, shard.shard_id)
                self._readers[shard.shard_id] = _Reader(shard, lease)

    def _release_all(self, store: LeaseStore) -> None:
        for reader in self._readers.values():
            store.release(reader.lease)
        self._readers.clear()
        self._next_refresh = 0.0

    # -- reading -------------------------------------------------------------------------

    def _poll_all(self, store: LeaseStore, left: int | None) -> int:
        got = 0
        for reader in list(self._readers.values()):
            if left is not None and got >= left:
                break
            try:
                got += self._poll(store, reader, None if left is None else left - got)
            except LeaseLostError:
                log.warning("consumer %s lost shard %s", self.owner, reader.shard.shard_id)
                del self._readers[reader.shard.shard_id]
        return got

    def _iterator(self, reader: _Reader) -> str:
        params: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": reader.shard.shard_id}
        checkpoint = reader.lease.checkpoint
        if checkpoint and checkpoint != SHARD_END:
            params.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=checkpoint)
        else:
            params["ShardIteratorType"] = self.start
        try:
            return str(self.streams.get_shard_iterator(**params)["ShardIterator"])
        except TrimmedDataError:
            log.warning("shard %s: checkpoint is past the stream's retention; records were "
                        "lost, reading from TRIM_HORIZON", reader.shard.shard_id)
            params = {"StreamArn": self.stream_arn, "ShardId": reader.shard.shard_id,
                      "ShardIteratorType": "TRIM_HORIZON"}
            return str(self.streams.get_shard_iterator(**params)["ShardIterator"])

    def _poll(self, store: LeaseStore, reader: _Reader, left: int | None) -> int:
        if reader.lease.lease_until - time.time() < self.lease_duration / 2:
            reader.lease = store.renew(reader.lease, self.lease_duration)
        if reader.iterator is None:
            reader.iterator = self._iterator(reader)
        try:
            resp = self.streams.get_records(ShardIterator=reader.iterator, Limit=self.batch_size)
        except ExpiredIteratorError:
            reader.iterator = None
            return 0
        records = resp.get("Records") or []
        truncated = left is not None and len(records) > left
        if truncated:
            records = records[:left]
        handled = self._deliver(store, reader, records)
        next_iterator = resp.get("NextShardIterator")
        if truncated:
            reader.iterator = None
        elif next_iterator is None:
            self._finish(store, reader)
        else:
            reader.iterator = next_iterator
        return handled

    def _deliver(self, store: LeaseStore, reader: _Reader, records: list[Any]) -> int:
        last: str | None = None
        try:
            for raw in records:
                self.router.handle(raw)
                last = raw["dynamodb"]["SequenceNumber"]
        finally:
            if last is not None:
                reader.lease = store.checkpoint(reader.lease, last, self.lease_duration)
        return len(records)

    def _finish(self, store: LeaseStore, reader: _Reader) -> None:
        checkpoint = reader.lease.checkpoint or SHARD_END
        store.checkpoint(reader.lease, checkpoint, self.lease_duration, finished=True)
        log.info("consumer %s finished shard %s", self.owner, reader.shard.shard_id)
        del self._readers[reader.shard.shard_id]
        self._next_refresh = 0.0
