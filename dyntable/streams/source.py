"""The DynamoDB Streams calls a consumer makes, as flows, and shard lineage.

Each call is a :class:`~dyntable._internal.operations.flow.Request` sent through the one send path
(:func:`~dyntable._internal.operations.send.send`); whichever client runs the flow sends it through
its transport, so the calls use that transport's endpoint, region, credentials, retries
and hooks (every transport routes the Streams operations, see ``docs/transports.md``).
Errors are the shared ones of :mod:`dyntable.errors` (``ExpiredIteratorError``,
``TrimmedDataError``...). Tests fake the Streams API with a mock transport's handler.

:class:`StreamsAPI` and :class:`TransportStreams` are the older, call-per-method shape,
kept for code written against it (``StreamConsumer(streams=...)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from dyntable._internal.operations.flow import Flow, Request
from dyntable._internal.operations.send import send
from dyntable._internal.operations.tables import describe_flow
from dyntable.errors import InvalidRequestError
from dyntable.streams.records import sequence_key

if TYPE_CHECKING:
    from dyntable.client import Client
    from dyntable.transport.base import Params, Response, Transport

__all__ = [
    "Shard",
    "StreamsAPI",
    "TransportStreams",
    "get_records_flow",
    "lineage_order",
    "list_shards_flow",
    "shard_iterator_flow",
    "stream_arn_flow",
]

IteratorType = Literal["TRIM_HORIZON", "LATEST", "AFTER_SEQUENCE_NUMBER", "AT_SEQUENCE_NUMBER"]


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


# -- the calls, as flows ---------------------------------------------------------------------


def stream_arn_flow(table_name: str) -> Flow[str]:
    """The ARN of the table's latest stream (DescribeTable).

    Raises:
        InvalidRequestError: the table has no stream enabled.
    """
    desc = yield from describe_flow(table_name)
    arn = desc.get("LatestStreamArn")
    if not arn or not (desc.get("StreamSpecification") or {}).get("StreamEnabled"):
        raise InvalidRequestError(f"table {table_name!r} has no stream enabled")
    return str(arn)


def list_shards_flow(stream_arn: str) -> Flow[tuple[str, list[Shard]]]:
    """The stream's status and every shard (DescribeStream, following its pagination)."""
    shards: list[Shard] = []
    params: dict[str, Any] = {"StreamArn": stream_arn}
    status = ""
    while True:
        response = yield from send(Request("DescribeStream", dict(params)))
        desc = response["StreamDescription"]
        status = desc.get("StreamStatus", status)
        shards += [_shard(s) for s in desc.get("Shards") or []]
        last = desc.get("LastEvaluatedShardId")
        if not last:
            return status, shards
        params["ExclusiveStartShardId"] = last


def shard_iterator_flow(stream_arn: str, shard_id: str, iterator_type: IteratorType,
                        sequence_number: str | None = None) -> Flow[str]:
    """A shard iterator (GetShardIterator); ``sequence_number`` for the ``*_SEQUENCE_NUMBER``
    types."""
    params: dict[str, Any] = {"StreamArn": stream_arn, "ShardId": shard_id,
                              "ShardIteratorType": iterator_type}
    if sequence_number is not None:
        params["SequenceNumber"] = sequence_number
    response = yield from send(Request("GetShardIterator", params))
    return str(response["ShardIterator"])


def get_records_flow(iterator: str, limit: int) -> Flow[tuple[list[dict[str, Any]], str | None]]:
    """``(records, next iterator)`` from GetRecords; the next iterator is ``None`` once a
    closed shard is read to its end."""
    response = yield from send(Request("GetRecords", {"ShardIterator": iterator,
                                                      "Limit": limit}))
    records: list[dict[str, Any]] = response.get("Records") or []
    following = response.get("NextShardIterator")
    return records, str(following) if following else None


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


# -- the older call-per-method shape -----------------------------------------------------------

_METHODS = {"DescribeStream": "describe_stream", "GetShardIterator": "get_shard_iterator",
            "GetRecords": "get_records", "ListStreams": "list_streams"}


class StreamsAPI(Protocol):
    """The DynamoDB Streams calls as methods taking the API's parameters (the shape of
    boto3's ``dynamodbstreams`` client); ``StreamConsumer(streams=...)`` accepts one."""

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
    """:class:`StreamsAPI` over a dyntable transport, each call through the one send path.

    Args:
        transport: the transport the calls go through (e.g. ``db.transport``).

    Raises (from each call): :class:`~dyntable.errors.ServiceError` subclasses
    (``ExpiredIteratorError``, ``TrimmedDataError``, ``TableNotFoundError``...) and
    :class:`~dyntable.errors.TransportError`, as the transport maps them.
    """

    def __init__(self, transport: Transport) -> None:
        from dyntable.client import Client
        from dyntable.streams.checkpoints import LEASE_TABLE

        self.transport = transport
        # A client only to drive the send flow: raw calls name no table of the declaration.
        self._driver: Client = Client(LEASE_TABLE, transport=transport)

    def describe_stream(self, **params: Any) -> dict[str, Any]:
        """DescribeStream."""
        return self._driver.send("DescribeStream", params)

    def get_shard_iterator(self, **params: Any) -> dict[str, Any]:
        """GetShardIterator."""
        return self._driver.send("GetShardIterator", params)

    def get_records(self, **params: Any) -> dict[str, Any]:
        """GetRecords."""
        return self._driver.send("GetRecords", params)

    def list_streams(self, **params: Any) -> dict[str, Any]:
        """ListStreams (``TableName``, ``ExclusiveStartStreamArn``, ``Limit``)."""
        return self._driver.send("ListStreams", params)


class APITransport:
    """A :class:`StreamsAPI` object seen as a transport of the Streams operations.

    Args:
        api: the object whose methods answer the calls.
    """

    name = "streams-api"

    def __init__(self, api: StreamsAPI) -> None:
        self.api = api

    def send(self, operation: str, params: Params) -> Response:
        """Call the method of ``operation`` with ``params``."""
        method = _METHODS.get(operation)
        if method is None:
            raise InvalidRequestError(f"a Streams API object does not answer {operation}")
        answer: Response = getattr(self.api, method)(**params)
        return answer

    def close(self) -> None:
        """Nothing to release."""


def streams_transport(default: Transport, streams: Transport | StreamsAPI) -> Transport:
    """``default``, with the Streams operations sent to ``streams`` instead (a transport,
    or a :class:`StreamsAPI` object)."""
    from dyntable._internal.transport.jsonproto import STREAM_OPERATIONS
    from dyntable.transport.routing import RoutingTransport

    route = cast("Transport", streams) if hasattr(streams, "send") else \
        APITransport(streams)
    return RoutingTransport(default, dict.fromkeys(STREAM_OPERATIONS, route))
