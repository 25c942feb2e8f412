"""The Streams call flows (shard listing with pagination, iterators, records, the stream of
a table), lineage order, errors, and the older call-per-method shape over the send path."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
from botocore.stub import Stubber

from dyntable._internal.operations.flow import Flow, Request
from dyntable.errors import (
    ExpiredIteratorError,
    InvalidRequestError,
    ServiceError,
    ThrottlingError,
    TrimmedDataError,
)
from dyntable.streams.source import (
    Shard,
    TransportStreams,
    get_records_flow,
    lineage_order,
    list_shards_flow,
    shard_iterator_flow,
    stream_arn_flow,
)
from dyntable.transport.boto3 import Boto3Transport
from dyntable.transport.mock import MockTransport

R = TypeVar("R")


def _shard(sid: str, start: str, parent: str | None = None,
           end: str | None = None) -> dict[str, Any]:
    rng = {"StartingSequenceNumber": start}
    if end:
        rng["EndingSequenceNumber"] = end
    raw: dict[str, Any] = {"ShardId": sid, "SequenceNumberRange": rng}
    if parent:
        raw["ParentShardId"] = parent
    return raw


def _drive(flow: Flow[R], answers: list[dict[str, Any]]) -> tuple[R, list[Request]]:
    """Run ``flow`` answering its requests from ``answers``, in order."""
    sent: list[Request] = []
    try:
        step = next(flow)
        while True:
            assert isinstance(step, Request)
            sent.append(step)
            step = flow.send(answers[len(sent) - 1])
    except StopIteration as stop:
        result: R = stop.value
        return result, sent


def test_list_shards_follows_pagination() -> None:
    answers = [
        {"StreamDescription": {"StreamStatus": "ENABLED", "LastEvaluatedShardId": "a",
                               "Shards": [_shard("a", "1", end="5")]}},
        {"StreamDescription": {"StreamStatus": "ENABLED",
                               "Shards": [_shard("b", "6", parent="a")]}},
    ]
    (status, shards), sent = _drive(list_shards_flow("arn"), answers)
    assert status == "ENABLED"
    assert [s.shard_id for s in shards] == ["a", "b"]
    assert shards[0].closed and not shards[1].closed
    assert [(r.operation, r.params) for r in sent] == [
        ("DescribeStream", {"StreamArn": "arn"}),
        ("DescribeStream", {"StreamArn": "arn", "ExclusiveStartShardId": "a"}),
    ]


def test_iterator_and_records_flows() -> None:
    it, sent = _drive(shard_iterator_flow("arn", "a", "AFTER_SEQUENCE_NUMBER", "12"),
                      [{"ShardIterator": "it-1"}])
    assert it == "it-1"
    assert sent[0].params == {"StreamArn": "arn", "ShardId": "a",
                              "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                              "SequenceNumber": "12"}
    (records, following), sent = _drive(get_records_flow("it-1", 7),
                                        [{"Records": [{"x": 1}], "NextShardIterator": "it-2"}])
    assert (records, following) == ([{"x": 1}], "it-2")
    assert sent[0].params == {"ShardIterator": "it-1", "Limit": 7}
    (records, following), _ = _drive(get_records_flow("it-2", 7), [{"Records": []}])
    assert (records, following) == ([], None)  # a closed shard read to its end


def test_stream_arn_needs_a_stream() -> None:
    with_stream = {"Table": {"LatestStreamArn": "arn:s",
                             "StreamSpecification": {"StreamEnabled": True}}}
    assert _drive(stream_arn_flow("t"), [with_stream])[0] == "arn:s"
    with pytest.raises(InvalidRequestError, match="no stream"):
        _drive(stream_arn_flow("t"), [{"Table": {"TableName": "t"}}])


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


def test_transport_streams_sends_each_call_through_the_send_path() -> None:
    answers: dict[str, dict[str, Any]] = {
        "DescribeStream": {"StreamDescription": {"StreamStatus": "ENABLED", "Shards": []}},
        "GetShardIterator": {"ShardIterator": "it-1"},
        "GetRecords": {"Records": [], "NextShardIterator": "it-2"},
        "ListStreams": {"Streams": []},
    }
    transport = MockTransport(lambda operation, params: answers[operation])
    streams = TransportStreams(transport)
    assert streams.describe_stream(StreamArn="arn:s")["StreamDescription"]["Shards"] == []
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
