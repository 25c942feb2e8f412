"""Shard leases and checkpoints, kept in a small DynamoDB table of their own.

One item per (consumer group, stream, shard) holds the owner, the lease expiry, the last
processed sequence number and whether the shard is finished. Every change is a conditional
write on the item's version, so two consumers can never both own a shard: a lease is taken
only when it is free, expired, or already ours, and a consumer that loses a race learns it
from the failed condition. Expiry uses wall-clock time (epoch seconds): consumers must run
with synchronised clocks (NTP), and leases should last well beyond any clock skew.

:class:`LeaseStore` does no I/O: each method returns a flow (the item flows of
:mod:`dyntable._internal.operations.item_flows`, a query, the table flows) that either client runs::

    lease = db.run(store.acquire_flow("shard-1", None, owner="a", duration=30))
    lease = await adb.run(store.acquire_flow("shard-1", None, owner="a", duration=30))
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from dyntable._internal.operations.flow import Flow, gather
from dyntable._internal.operations.item_flows import get_flow, put_flow
from dyntable._internal.operations.query import QueryBuilder
from dyntable._internal.operations.reads import ReadContext
from dyntable._internal.operations.tables import (
    create_table_flow,
    table_exists_flow,
    wait_active_flow,
)
from dyntable.errors import DyntableError, ResourceInUseError, VersionConflictError
from dyntable.schema.keys import Key
from dyntable.schema.model import Model, Version
from dyntable.schema.table import TableSchema

__all__ = ["LEASE_TABLE", "SHARD_END", "Lease", "LeaseLostError", "LeaseStore"]

#: Declaration of the lease table (its physical name is chosen by :class:`LeaseStore`).
LEASE_TABLE = TableSchema("dyntable-stream-leases", pk="PK", sk="SK")

#: Checkpoint value of a shard read to its end.
SHARD_END = "SHARD_END"


class Lease(Model, table=LEASE_TABLE, entity="stream_lease"):
    """A consumer group's lease and checkpoint on one shard."""

    group: str
    stream_arn: str
    shard_id: str
    owner: str | None = None
    lease_until: float = 0.0
    checkpoint: str | None = None
    finished: bool = False
    version: Annotated[int, Version] = 0

    primary = Key(pk="LEASE#{group}#{stream_arn}", sk="SHARD#{shard_id}")

    def held_by(self, owner: str, now: float) -> bool:
        """True when ``owner`` holds this lease and it has not expired."""
        return self.owner == owner and self.lease_until > now

    def free(self, now: float) -> bool:
        """True when nobody holds the lease, or its holder let it expire."""
        return self.owner is None or self.lease_until <= now


class LeaseLostError(DyntableError):
    """Another consumer took a shard's lease (ours had expired); stop reading that shard."""

    def __init__(self, message: str, *, shard_id: str) -> None:
        super().__init__(message)
        self.shard_id = shard_id


class LeaseStore:
    """Reads and conditionally writes leases in the lease table, as flows (no I/O).

    Args:
        table_name: physical name of the lease table.
        group: the consumer group; groups keep separate checkpoints on one stream.
        stream_arn: the stream whose shards are leased.
        clock: wall-clock time in epoch seconds (lease expiry).
    """

    def __init__(self, table_name: str, group: str, stream_arn: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.table_name = table_name
        self.group = group
        self.stream_arn = stream_arn
        self.clock = clock

    def ensure_table_flow(self) -> Flow[None]:
        """Create the lease table when it does not exist (a race with another consumer is
        ok); return once it is ACTIVE."""
        if (yield from table_exists_flow(self.table_name)):
            yield from wait_active_flow(self.table_name)
            return
        try:
            yield from create_table_flow(LEASE_TABLE, self.table_name)
        except ResourceInUseError:
            yield from wait_active_flow(self.table_name)

    def all_flow(self) -> Flow[dict[str, Lease]]:
        """Every lease of this group and stream, by shard id (consistent read)."""
        context = ReadContext(LEASE_TABLE, self.table_name, b"dyntable-leases", False)
        query = QueryBuilder(context, Lease.primary,
                             {"group": self.group, "stream_arn": self.stream_arn})
        pages: list[Any] = yield from gather(query.consistent().pages_flow())
        return {lease.shard_id: lease for page in pages for lease in page.items}

    def get_flow(self, shard_id: str) -> Flow[Lease | None]:
        """The lease of one shard, or ``None`` (consistent read)."""
        key = {"group": self.group, "stream_arn": self.stream_arn, "shard_id": shard_id}
        lease: Lease | None = yield from get_flow(LEASE_TABLE, self.table_name, Lease, key,
                                                  consistent=True)
        return lease

    def _write(self, lease: Lease) -> Flow[Lease | None]:
        try:
            yield from put_flow(LEASE_TABLE, self.table_name, lease)
        except VersionConflictError:
            return None
        return lease

    def acquire_flow(self, shard_id: str, current: Lease | None, owner: str, duration: float,
                     now: float | None = None) -> Flow[Lease | None]:
        """Take the shard's lease for ``duration`` seconds; ``None`` when someone else holds it.

        ``current`` is the lease as last read (``None``: no lease item yet).
        """
        now = self.clock() if now is None else now
        if current is None:
            lease = Lease(group=self.group, stream_arn=self.stream_arn, shard_id=shard_id,
                          owner=owner, lease_until=now + duration)
            return (yield from self._write(lease))
        if current.finished or not (current.free(now) or current.owner == owner):
            return None
        return (yield from self._write(current.model_copy(update={
            "owner": owner, "lease_until": now + duration})))

    def renew_flow(self, lease: Lease, duration: float) -> Flow[Lease]:
        """Extend our lease; LeaseLostError when another consumer took it."""
        return (yield from self._must(lease.model_copy(update={
            "lease_until": self.clock() + duration})))

    def checkpoint_flow(self, lease: Lease, sequence_number: str, duration: float,
                        *, finished: bool = False) -> Flow[Lease]:
        """Record ``sequence_number`` as processed (and renew); LeaseLostError if lost."""
        return (yield from self._must(lease.model_copy(update={
            "checkpoint": sequence_number, "finished": finished,
            "lease_until": self.clock() + duration,
        })))

    def release_flow(self, lease: Lease) -> Flow[None]:
        """Give the lease up (on graceful stop) so another consumer can take it at once."""
        yield from self._write(lease.model_copy(update={"owner": None, "lease_until": 0.0}))

    def _must(self, lease: Lease) -> Flow[Lease]:
        written = yield from self._write(lease)
        if written is None:
            raise LeaseLostError(
                f"lease on shard {lease.shard_id} of group {self.group!r} was taken by "
                "another consumer", shard_id=lease.shard_id)
        return written
