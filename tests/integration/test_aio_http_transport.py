"""AsyncHttpTransport against DynamoDB Local: raw calls give the sync transport's answers.

One transport serves the whole module and every test runs its own ``asyncio.run``, so each
test also checks that a transport kept across loops keeps working (new connections per
loop, as in a Lambda handler that runs a loop per invocation).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from dyntable.errors import (
    ConditionalCheckFailedError,
    TableNotFoundError,
    TransactionCanceledError,
)
from dyntable.transport.aio_http import AsyncHttpTransport
from dyntable.transport.http import HttpTransport

pytestmark = pytest.mark.integration
T = TypeVar("T")


class Pair:
    """The async transport under test and the sync one it is compared with."""

    def __init__(self, endpoint: str, table: str) -> None:
        self.aio = AsyncHttpTransport(endpoint_url=endpoint, region="us-east-1")
        self.sync = HttpTransport(endpoint_url=endpoint, region="us-east-1")
        self.table = table

    def run(self, use: Callable[[AsyncHttpTransport], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run(use(self.aio))

    def send(self, operation: str, params: dict[str, Any]) -> Any:
        return self.run(lambda t: t.send(operation, params))

    def both(self, operation: str, params: dict[str, Any]) -> tuple[Any, Any]:
        """``(async answer, sync answer)``, metadata left out."""
        return strip(self.send(operation, params)), strip(self.sync.send(operation, params))


def strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


@pytest.fixture(scope="module")
def pair(dynamodb_endpoint: str) -> Iterator[Pair]:
    pair = Pair(dynamodb_endpoint, f"dyntable-aio-{uuid.uuid4().hex[:10]}")
    created = pair.send("CreateTable", {
        "TableName": pair.table,
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"},
                      {"AttributeName": "SK", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"},
                                 {"AttributeName": "SK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    })
    assert created["TableDescription"]["TableName"] == pair.table
    try:
        yield pair
    finally:
        pair.send("DeleteTable", {"TableName": pair.table})
        pair.run(lambda t: t.close())
        pair.sync.close()


def item(pk: str, sk: str, **extra: Any) -> dict[str, Any]:
    return {
        "PK": {"S": pk}, "SK": {"S": sk}, "name": {"S": "Ada \u00e9"}, "n": {"N": "12.5"},
        "bin": {"B": b"\x00\x01\xfe"}, "bins": {"BS": [b"a", b"b"]},
        "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}]}}}, **extra,
    }


def test_put_and_get(pair: Pair) -> None:
    put = {"TableName": pair.table, "Item": item("P", "1"), "ReturnValues": "ALL_OLD",
           "ReturnConsumedCapacity": "TOTAL"}
    first = pair.send("PutItem", put)
    assert "Attributes" not in first
    assert first["ConsumedCapacity"]["TableName"] == pair.table
    aio_put, sync_put = pair.both("PutItem", put)
    assert aio_put == sync_put
    assert aio_put["Attributes"]["bin"] == {"B": base64.b64encode(b"\x00\x01\xfe").decode()}
    get = {"TableName": pair.table, "Key": {"PK": {"S": "P"}, "SK": {"S": "1"}},
           "ConsistentRead": True}
    aio_get, sync_get = pair.both("GetItem", get)
    assert aio_get == sync_get
    assert aio_get["Item"]["name"] == {"S": "Ada \u00e9"}


def test_batch_write_and_paged_query(pair: Pair) -> None:
    writes = [{"PutRequest": {"Item": item("Q", f"{i:03d}")}} for i in range(25)]
    answer = pair.send("BatchWriteItem", {"RequestItems": {pair.table: writes}})
    assert answer["UnprocessedItems"] == {}
    query = {"TableName": pair.table, "KeyConditionExpression": "PK = :pk",
             "ExpressionAttributeValues": {":pk": {"S": "Q"}}, "Limit": 10,
             "ConsistentRead": True}

    async def pages(t: AsyncHttpTransport) -> list[str]:
        keys: list[str] = []
        params = dict(query)
        while True:
            page = await t.send("Query", params)
            keys += [i["SK"]["S"] for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return keys
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    assert pair.run(pages) == [f"{i:03d}" for i in range(25)]
    aio_page, sync_page = pair.both("Query", query)
    assert aio_page == sync_page
    assert aio_page["Count"] == 10


def test_many_tasks_at_once(pair: Pair) -> None:
    async def burst(t: AsyncHttpTransport) -> list[Any]:
        puts = [t.send("PutItem", {"TableName": pair.table, "Item": item("C", f"{i:03d}")})
                for i in range(60)]
        await asyncio.gather(*puts)
        gets = [t.send("GetItem", {"TableName": pair.table, "ConsistentRead": True,
                                   "Key": {"PK": {"S": "C"}, "SK": {"S": f"{i:03d}"}}})
                for i in range(60)]
        return list(await asyncio.gather(*gets))

    answers = pair.run(burst)
    assert [a["Item"]["SK"]["S"] for a in answers] == [f"{i:03d}" for i in range(60)]
    assert len(pair.aio._main.pool._idle) <= pair.aio._main.pool.maxsize


def test_transactions_and_their_errors(pair: Pair) -> None:
    write = {"TransactItems": [
        {"Put": {"TableName": pair.table, "Item": item("T", "1")}},
        {"Update": {"TableName": pair.table, "Key": {"PK": {"S": "T"}, "SK": {"S": "2"}},
                    "UpdateExpression": "ADD c :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
    ]}
    assert strip(pair.send("TransactWriteItems", write)) == {}
    get = {"TransactItems": [
        {"Get": {"TableName": pair.table, "Key": {"PK": {"S": "T"}, "SK": {"S": "2"}}}}]}
    aio_get, sync_get = pair.both("TransactGetItems", get)
    assert aio_get == sync_get
    assert aio_get["Responses"][0]["Item"]["c"] == {"N": "1"}
    cancel = {"TransactItems": [
        {"Put": {"TableName": pair.table, "Item": item("T", "3")}},
        {"Put": {"TableName": pair.table, "Item": item("T", "1"),
                 "ConditionExpression": "attribute_not_exists(PK)",
                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
    ]}
    with pytest.raises(TransactionCanceledError) as caught:
        pair.send("TransactWriteItems", cancel)
    reasons = caught.value.reasons
    assert [r.code for r in reasons] == [None, "ConditionalCheckFailed"]
    assert reasons[1].item is not None and reasons[1].item["SK"] == {"S": "1"}
    assert not caught.value.maybe_applied
    failing = {"TableName": pair.table, "Item": item("T", "1"),
               "ConditionExpression": "attribute_not_exists(PK)",
               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    with pytest.raises(ConditionalCheckFailedError) as condition:
        pair.send("PutItem", failing)
    assert condition.value.item is not None and condition.value.item["name"] == {"S": "Ada \u00e9"}
    with pytest.raises(TableNotFoundError):
        pair.send("GetItem", {"TableName": "no-such-table-" + pair.table,
                              "Key": {"PK": {"S": "x"}, "SK": {"S": "y"}}})


def test_describe_table(pair: Pair) -> None:
    aio_desc, sync_desc = pair.both("DescribeTable", {"TableName": pair.table})
    assert aio_desc == sync_desc
    assert aio_desc["Table"]["StreamSpecification"]["StreamEnabled"] is True


def test_streams_calls(pair: Pair) -> None:
    marker = f"S-{uuid.uuid4().hex[:6]}"

    async def read(t: AsyncHttpTransport) -> list[dict[str, Any]]:
        await t.send("PutItem", {"TableName": pair.table, "Item": item(marker, "1")})
        await t.send("DeleteItem", {"TableName": pair.table,
                                    "Key": {"PK": {"S": marker}, "SK": {"S": "1"}}})
        streams = await t.send("ListStreams", {"TableName": pair.table})
        arn = streams["Streams"][0]["StreamArn"]
        shards = (await t.send("DescribeStream", {"StreamArn": arn}))["StreamDescription"]
        records: list[dict[str, Any]] = []
        for shard in shards["Shards"]:
            iterator = (await t.send("GetShardIterator", {
                "StreamArn": arn, "ShardId": shard["ShardId"],
                "ShardIteratorType": "TRIM_HORIZON"}))["ShardIterator"]
            for _ in range(20):  # bounded: an open shard always has a next iterator
                page = await t.send("GetRecords", {"ShardIterator": iterator, "Limit": 1000})
                records += page["Records"]
                iterator = page.get("NextShardIterator")
                if not iterator or not page["Records"]:
                    break
        return records

    records = [r for r in pair.run(read)
               if r["dynamodb"]["Keys"]["PK"] == {"S": marker}]
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert records[0]["dynamodb"]["NewImage"]["bin"] == {"B": "AAH+"}
