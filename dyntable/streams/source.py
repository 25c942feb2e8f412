"""The DynamoDB Streams API behind a small interface, and shard lineage.

:class:`StreamsAPI` is the three calls a consumer needs; :class:`Boto3Streams` sends them
through boto3's ``dynamodbstreams`` client (DynamoDB Local serves that API on its DynamoDB
endpoint). Tests can drive a consumer with any object of the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from dyntable.errors import ServiceError, TransportError, service_error
from dyntable.streams.records import ExpiredIteratorError, TrimmedDataError, sequence_key

if TYPE_CHECKING:
    from dyntable.client import Client

__all__ = ["Boto3Streams", "Shard", "StreamsAPI", "lineage_order", "list_shards"]

IteratorType = Literal["TRIM_HORIZON", "LATEST", "AFTER_SEQUENCE_NUMBER", "AT_SEQUENCE_NUMBER"]

_ERRORS: dict[str, type[ServiceError]] = {
    "ExpiredIteratorException": ExpiredIteratorError,
    "TrimmedDataAccessException": TrimmedDataError,
}


class StreamsAPI(Protocol):
    """The DynamoDB Streams calls a consumer makes (boto3 parameter and response shapes)."""

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


class Boto3Streams:
    """:class:`StreamsAPI` over a boto3 ``dynamodbstreams`` client, with dyntable errors.

    Args:
        client: an existing ``dynamodbstreams`` client (used as is).
        endpoint_url / region: for the client made when none is given.
    """

    def __init__(self, client: Any = None, *, endpoint_url: str | None = None,
                 region: str | None = None) -> None:
        if client is None:
            import boto3

            if region is None and endpoint_url is not None:
                region = boto3.session.Session().region_name or "us-east-1"
            client = boto3.client("dynamodbstreams", endpoint_url=endpoint_url,
                                  region_name=region)
        self.client = client
        from botocore.exceptions import BotoCoreError, ClientError

        self._client_error = ClientError
        self._botocore_error = BotoCoreError

    @classmethod
    def for_client(cls, db: Client) -> Boto3Streams:
        """Streams client on the same endpoint and region as ``db``'s boto3 transport."""
        inner = getattr(db.transport, "client", None)
        meta = getattr(inner, "meta", None)
        if meta is None:
            return cls()
        return cls(endpoint_url=meta.endpoint_url, region=meta.region_name)

    def _call(self, operation: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self.client, method)(**params)
        except self._client_error as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            message = str(err.get("Message", ""))
            cls = _ERRORS.get(code)
            if cls is not None:
                raise cls(message, code=code, operation=operation) from None
            raise service_error(code, message, operation=operation,
                                response=exc.response) from None
        except self._botocore_error as exc:
            raise TransportError(f"{operation}: {exc}") from exc
        return response

    def describe_stream(self, **params: Any) -> dict[str, Any]:
        """DescribeStream."""
        return self._call("DescribeStream", "describe_stream", params)

    def get_shard_iterator(self, **params: Any) -> dict[str, Any]:
        """GetShardIterator."""
        return self._call("GetShardIterator", "get_shard_iterator", params)

    def get_records(self, **params: Any) -> dict[str, Any]:
        """GetRecords."""
        return self._call("GetRecords", "get_records", params)


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
