"""Shard leases and checkpoints, kept in a small DynamoDB table of their own.

One item per (consumer group, stream, shard) holds the owner, the lease expiry, the last
processed sequence number and whether the shard is finished. Every change is a conditional
write on the item's version, so two consumers can never both own a shard: a lease is taken
only when it is free, expired, or already ours, and a consumer that loses a race learns it
from the failed condition. Expiry uses wall-clock time (epoch seconds): consumers must run
with synchronised clocks (NTP), and leases should last well beyond any clock skew.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

from dyntable.client import Client
from dyntable.errors import DyntableError, ResourceInUseError, VersionConflictError
from dyntable.schema.keys import Key
from dyntable.schema.model import Model, Version
from dyntable.schema.table import TableSchema

if TYPE_CHECKING:
    from dyntable.transport.base import Transport

__all__ = ["LEASE_TABLE", "Lease", "LeaseLostError", "LeaseStore"]

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
    """Reads and conditionally writes leases in the lease table.

    Args:
        transport: the transport to reach the lease table (e.g. the data client's).
        table_name: physical name of the lease table.
        group: the consumer group; groups keep separate checkpoints on one stream.
        stream_arn: the stream whose shards are leased.
    """

    def __init__(self, transport: Transport, table_name: str, group: str,
                 stream_arn: str) -> None:
        self.client = Client(LEASE_TABLE, transport=transport, table_name=table_name)
        self.group = group
        self.stream_arn = stream_arn

    def ensure_table(self) -> None:
        """Create the lease table when it does not exist (a race with another consumer is ok)."""
        if self.client.table_exists():
            self.client.wait_until_active()
            return
        try:
            self.client.create_table()
        except ResourceInUseError:
            self.client.wait_until_active()

    def all(self) -> dict[str, Lease]:
        """Every lease of this group and stream, by shard id (consistent read)."""
        query = self.client.query(Lease.primary, group=self.group, stream_arn=self.stream_arn)
        return {lease.shard_id: lease for lease in query.consistent().all()}

    def get(self, shard_id: str) -> Lease | None:
        """The lease of one shard, or ``None``."""
        return self.client.get(Lease, group=self.group, stream_arn=self.stream_arn,
                               shard_id=shard_id, consistent=True)

    def _write(self, lease: Lease) -> Lease | None:
        try:
            self.client.put(lease)
        except VersionConflictError:
            return None
        return lease

    def acquire(self, shard_id: str, current: Lease | None, owner: str, duration: float,
                now: float | None = None) -> Lease | None:
        """Take the shard's lease for ``duration`` seconds; ``None`` when someone else holds it.

        ``current`` is the lease as last read (``None``: no lease item yet).
        """
        now = time.time() if now is None else now
        if current is None:
            lease = Lease(group=self.group, stream_arn=self.stream_arn, shard_id=shard_id,
                          owner=owner, lease_until=now + duration)
            return self._write(lease)
        if current.finished or not (current.free(now) or current.owner == owner):
            return None
        return self._write(current.model_copy(update={"owner": owner,
                                                      "lease_until": now + duration}))

    def renew(self, lease: Lease, duration: float) -> Lease:
        """Extend our lease; LeaseLostError when another consumer took it."""
        return self._must(lease.model_copy(update={"lease_until": time.time() + duration}))

    def checkpoint(self, lease: Lease, sequence_number: str, duration: float,
                   *, finished: bool = False) -> Lease:
        """Record ``sequence_number`` as processed (and renew); LeaseLostError if lost."""
        return self._must(lease.model_copy(update={
            "checkpoint": sequence_number, "finished": finished,
            "lease_until": time.time() + duration,
        }))

    def release(self, lease: Lease) -> None:
        """Give the lease up (on graceful stop) so another consumer can take it at once."""
        self._write(lease.model_copy(update={"owner": None, "lease_until": 0.0}))

    def _must(self, lease: Lease) -> Lease:
        written = self._write(lease)
        if written is None:
            raise LeaseLostError(
                f"lease on shard {lease.shard_id} of group {self.group!r} was taken by "
                "another consumer", shard_id=lease.shard_id)
        return written
