"""Shard listing (pagination), lineage order, the Streams API over a transport, errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from dyntable.errors import ExpiredIteratorError, ServiceError, ThrottlingError, TrimmedDataError
from dyntable.streams.source import Shard, TransportStreams, lineage_order, list_shards
from dyntable.transport.boto3 import Boto3Transport
from dyntable.transport.mock import MockTransport


def _shard(sid: str, start: str, parent: str | None = None,
           end: str | None = None) -> dict[str, Any]:
    rng = {"StartingSequenceNumber": start}
    if end:
        rng["EndingSequenceNumber"] = end
    raw: dict[str, Any] = {"ShardId": sid, "SequenceNumberRange": rng}
    if parent:
        raw["ParentShardId"] = parent
    return raw


class PagedAPI:
    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.calls: list[dict[str, Any]] = []

    def describe_stream(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        i = len(self.calls) - 1
        desc: dict[str, Any] = {"StreamStatus": "ENABLED", "Shards": self.pages[i]}
        if i + 1 < len(self.pages):
            desc["LastEvaluatedShardId"] = self.pages[i][-1]["ShardId"]
        return {"StreamDescription": desc}

    def get_shard_iterator(self, **params: Any) -> dict[str, Any]:
        raise NotImplementedError

    def get_records(self, **params: Any) -> dict[str, Any]:
        raise NotImplementedError


def test_list_shards_follows_pagination() -> None:
    api = PagedAPI([[_shard("a", "1", end="5")], [_shard("b", "6", parent="a")]])
    status, shards = list_shards(api, "arn")
    assert status == "ENABLED"
    assert [s.shard_id for s in shards] == ["a", "b"]
    assert shards[0].closed and not shards[1].closed
    assert api.calls == [{"StreamArn": "arn"}, {"StreamArn": "arn", "ExclusiveStartShardId": "a"}]


def test_lineage_puts_parents_first_and_compares_numbers() -> None:
    big = "1" + "0" * 22  # numerically after "9"*21, before it as a string
    shards = [
        Shard("child", "parent", big),
        Shard("orphan", "trimmed-away", "5"),
        Shard("parent", None, "9" * 21, end="9" * 22),
        Shard("grandchild", "child", "2" + "0" * 22),
    ]
    order = [s.shard_id for s in lineage_order(shards)]
    assert order == ["orphan", "parent", "child", "grandchild"]


def _stubbed() -> tuple[TransportStreams, Stubber]:
    transport = Boto3Transport(region="us-east-1", endpoint_url="http://127.0.0.1:1")
    return TransportStreams(transport), Stubber(transport.streams_client)


@pytest.mark.parametrize(("code", "error"), [
    ("ExpiredIteratorException", ExpiredIteratorError),
    ("TrimmedDataAccessException", TrimmedDataError),
    ("LimitExceededException", ThrottlingError),
])
def test_streams_errors_are_typed(code: str, error: type[Exception]) -> None:
    streams, stub = _stubbed()
    stub.add_client_error("get_records", service_error_code=code, service_message="nope")
    with stub, pytest.raises(error) as caught:
        streams.get_records(ShardIterator="it")
    assert isinstance(caught.value, ServiceError)
    assert caught.value.operation == "GetRecords"


def test_stream_errors_are_the_shared_classes() -> None:
    """records.py re-exports the error classes of dyntable.errors: one class per code."""
    from dyntable import errors
    from dyntable.streams import records

    assert records.ExpiredIteratorError is errors.ExpiredIteratorError
    assert records.TrimmedDataError is errors.TrimmedDataError
    assert errors.SERVICE_ERRORS["ExpiredIteratorException"] is errors.ExpiredIteratorError
    assert errors.SERVICE_ERRORS["TrimmedDataAccessException"] is errors.TrimmedDataError


def test_transport_streams_sends_each_call_through_the_transport() -> None:
    answers: dict[str, dict[str, Any]] = {
        "DescribeStream": {"StreamDescription": {"StreamStatus": "ENABLED", "Shards": []}},
        "GetShardIterator": {"ShardIterator": "it-1"},
        "GetRecords": {"Records": [], "NextShardIterator": "it-2"},
        "ListStreams": {"Streams": []},
    }
    transport = MockTransport(lambda operation, params: answers[operation])
    streams = TransportStreams(transport)
    assert list_shards(streams, "arn:s") == ("ENABLED", [])
    assert streams.get_shard_iterator(StreamArn="arn:s", ShardId="a",
                                      ShardIteratorType="LATEST")["ShardIterator"] == "it-1"
    assert streams.get_records(ShardIterator="it-1", Limit=5)["NextShardIterator"] == "it-2"
    assert streams.list_streams(TableName="t") == {"Streams": []}
    assert [(c.operation, c.params) for c in transport.sent] == [
        ("DescribeStream", {"StreamArn": "arn:s"}),
        ("GetShardIterator", {"StreamArn": "arn:s", "ShardId": "a",
                              "ShardIteratorType": "LATEST"}),
        ("GetRecords", {"ShardIterator": "it-1", "Limit": 5}),
        ("ListStreams", {"TableName": "t"}),
    ]
