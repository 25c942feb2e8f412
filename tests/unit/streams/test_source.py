"""Shard listing (pagination), lineage order and Streams API error mapping."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from dyntable.errors import ThrottlingError
from dyntable.streams.records import ExpiredIteratorError, TrimmedDataError
from dyntable.streams.source import Boto3Streams, Shard, lineage_order, list_shards


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


def _stubbed() -> tuple[Boto3Streams, Stubber]:
    import boto3

    client = boto3.client("dynamodbstreams", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    return Boto3Streams(client), Stubber(client)


@pytest.mark.parametrize(("code", "error"), [
    ("ExpiredIteratorException", ExpiredIteratorError),
    ("TrimmedDataAccessException", TrimmedDataError),
    ("LimitExceededException", ThrottlingError),
])
def test_streams_errors_are_typed(code: str, error: type[Exception]) -> None:
    streams, stub = _stubbed()
    stub.add_client_error("get_records", service_error_code=code, service_message="nope")
    with stub, pytest.raises(error):
        streams.get_records(ShardIterator="it")
