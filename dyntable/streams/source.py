"""The DynamoDB Streams API behind a small interface, and shard lineage.

:class:`StreamsAPI` is the three calls a consumer needs; :class:`TransportStreams` sends
them through a dyntable transport (the client's own, by default), so they use its
endpoint, region, credentials, retries and hooks, whatever the transport: every transport
routes the Streams operations (see ``docs/transports.md``). Errors are the shared ones of
:mod:`dyntable.errors` (``ExpiredIteratorError``, ``TrimmedDataError``...). Tests can drive
a consumer with any object of the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from dyntable.streams.records import sequence_key

if TYPE_CHECKING:
    from dyntable.transport.base import Transport

__all__ = ["Shard", "StreamsAPI", "TransportStreams", "lineage_order", "list_shards"]

IteratorType = Literal["TRIM_HORIZON", "LATEST", "AFTER_SEQUENCE_NUMBER", "AT_SEQUENCE_NUMBER"]


class StreamsAPI(Protocol):
    """The DynamoDB Streams calls a consumer makes (the API's parameter and response shapes)."""

    def describe_stream(self, **params: Any) -> dict[str, Any]:
        """DescribeStream (``StreamArn``, ``ExclusiveStartShardId``, ``Limit``)."""
        ...

    def get_shard_iterator(self, **params: Any) -> dict[str, Any]:
        """GetShardIterator (``StreamArn``, ``ShardId``, ``ShardIteratorType``,
        ``SequenceNumber``)."""
        ...

    def get_records(self, **params: Any) -> dict[str, Any]:
        """GetRecords (``ShardIterator``, ``Limit``)."""
        ...


class TransportStreams:
    """:class:`StreamsAPI` over a dyntable transport.

    Args:
        transport: the transport the calls go through (e.g. ``db.transport``).

    Raises (from each call): :class:`~dyntable.errors.ServiceError` subclasses
    (``ExpiredIteratorError``, ``TrimmedDataError``, ``TableNotFoundError``...) and
    :class:`~dyntable.errors.TransportError`, as the transport maps them.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def describe_stream(self, **params: Any) -> dict[str, Any]:
        """DescribeStream."""
        return self.transport.send("DescribeStream", params)

    def get_shard_iterator(self, **params: Any) -> dict[str, Any]:
        """GetShardIterator."""
        return self.transport.send("GetShardIterator", params)

    def get_records(self, **params: Any) -> dict[str, Any]:
        """GetRecords."""
        return self.transport.send("GetRecords", params)

    def list_streams(self, **params: Any) -> dict[str, Any]:
        """ListStreams (``TableName``, ``ExclusiveStartStreamArn``, ``Limit``)."""
        return self.transport.send("ListStreams", params)


@dataclass(frozen=True)
class Shard:
    """One shard of a stream: closed when it has an ending sequence number."""

    shard_id: str
    parent_id: str | None
    start: str
    end: str | None = None

    @property
    def closed(self) -> bool:
        """True when the shard takes no new records (it may still have unread ones)."""
        return self.end is not None


def _shard(raw: dict[str, Any]) -> Shard:
    seq = raw.get("SequenceNumberRange") or {}
    return Shard(raw["ShardId"], raw.get("ParentShardId"),
                 seq.get("StartingSequenceNumber", "0"), seq.get("EndingSequenceNumber"))


def list_shards(api: StreamsAPI, stream_arn: str) -> tuple[str, list[Shard]]:
    """The stream's status and every shard (DescribeStream, following its pagination)."""
    shards: list[Shard] = []
    params: dict[str, Any] = {"StreamArn": stream_arn}
    status = ""
    while True:
        desc = api.describe_stream(**params)["StreamDescription"]
        status = desc.get("StreamStatus", status)
        shards += [_shard(s) for s in desc.get("Shards") or []]
        last = desc.get("LastEvaluatedShardId")
        if not last:
            return status, shards
        params["ExclusiveStartShardId"] = last


def lineage_order(shards: Iterable[Shard]) -> list[Shard]:
    """Shards ordered so that every parent comes before its children.

    A parent that is no longer listed (trimmed after 24 hours) does not hold its children
    back. Siblings are ordered by starting sequence number (compared as numbers).
    """
    by_id = {s.shard_id: s for s in shards}
    ordered: list[Shard] = []
    placed: set[str] = set()

    def place(shard: Shard) -> None:
        if shard.shard_id in placed:
            return
        placed.add(shard.shard_id)
        parent = by_id.get(shard.parent_id or "")
        if parent is not None:
            place(parent)
        ordered.append(shard)

    for shard in sorted(by_id.values(), key=lambda s: sequence_key(s.start)):
        place(shard)
    return ordered
