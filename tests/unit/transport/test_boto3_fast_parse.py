"""Boto3Transport's fast response parsing: the same results as botocore's parser.

The offline tests answer botocore from a ``before-send`` handler (botocore's own event: no
socket, the rest of its pipeline runs: retries, CRC32 check, parsing), once through a
transport with ``fast_parse`` and once without, and compare. The integration test pages
through a table with a binary sort key on DynamoDB Local.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from dyntable import Key, Model, Table
from dyntable.client import Client
from dyntable.errors import ConditionalCheckFailedError, TransactionCanceledError
from dyntable.transport.boto3 import FAST_PARSE_OPERATIONS, Boto3Transport, RetryConfig

ENDPOINT = "http://127.0.0.1:9"  # never connected to: every answer comes from the stub
B1, B2 = b"\x00\xffbin", b"\x01second"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class _Raw:
    """The raw stream of a canned HTTP response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


Answer = tuple[int, dict[str, str], bytes]


def _stubbed(fast: bool, answer: Callable[[str], Answer], attempts: int = 1) -> Boto3Transport:
    from botocore.awsrequest import AWSResponse

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    transport = Boto3Transport(endpoint_url=ENDPOINT, region="us-east-1", fast_parse=fast,
                               retry=RetryConfig(max_attempts=attempts))

    def send(request: Any, **_: Any) -> Any:
        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        status, headers, body = answer(operation)
        all_headers: Any = {"x-amzn-requestid": "req-1", **headers}
        return AWSResponse(request.url, status, all_headers, _Raw(body))

    transport.client.meta.events.register("before-send.dynamodb", send)
    return transport


def _both(operation: str, body: dict[str, Any], params: dict[str, Any] | None = None,
          ) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = json.dumps(body).encode()
    headers = {"x-amz-crc32": str(zlib.crc32(raw))}
    results = []
    for fast in (True, False):
        transport = _stubbed(fast, lambda _op: (200, headers, raw))
        results.append(transport.send(operation, params or {"TableName": "t"}))
    return results[0], results[1]


KEY = {"PK": {"S": "P#1"}, "SK": {"B": b64(B1)}}
ITEM = {
    **KEY,
    "blob": {"B": b64(B2)},
    "blobs": {"BS": [b64(B1), b64(B2)]},
    "nested": {"M": {"inner": {"L": [{"B": b64(B1)}, {"N": "1.5"}, {"NULL": True}]}}},
    "flag": {"BOOL": True},
    "names": {"SS": ["a", "b"]},
    "B": {"S": "an attribute named B"},
    "text": {"S": 'a string with "B": inside'},
}
CAPACITY = {"TableName": "t", "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.5}}

CASES: dict[str, dict[str, Any]] = {
    "GetItem": {"Item": ITEM, "ConsumedCapacity": CAPACITY},
    "PutItem": {},
    "UpdateItem": {"Attributes": ITEM},
    "DeleteItem": {"Attributes": KEY, "ItemCollectionMetrics": {
        "ItemCollectionKey": {"PK": {"S": "P#1"}}, "SizeEstimateRangeGB": [0.0, 1.0]}},
    "Query": {"Items": [ITEM, KEY], "Count": 2, "ScannedCount": 2, "LastEvaluatedKey": KEY},
    "Scan": {"Items": [], "Count": 0, "ScannedCount": 5},
    "BatchGetItem": {"Responses": {"t": [ITEM]},
                     "UnprocessedKeys": {"t": {"Keys": [KEY], "ConsistentRead": True}}},
    "BatchWriteItem": {"UnprocessedItems": {"t": [{"PutRequest": {"Item": ITEM}},
                                                  {"DeleteRequest": {"Key": KEY}}]}},
    "TransactGetItems": {"Responses": [{"Item": ITEM}, {}]},
    "TransactWriteItems": {"ConsumedCapacity": [CAPACITY]},
    "ExecuteStatement": {"Items": [ITEM], "NextToken": "tok", "LastEvaluatedKey": KEY},
}


PARAMS: dict[str, dict[str, Any]] = {
    "BatchGetItem": {"RequestItems": {"t": {"Keys": [KEY]}}},
    "BatchWriteItem": {"RequestItems": {"t": [{"DeleteRequest": {"Key": KEY}}]}},
    "TransactGetItems": {"TransactItems": [{"Get": {"TableName": "t", "Key": KEY}}]},
    "TransactWriteItems": {"TransactItems": [{"Delete": {"TableName": "t", "Key": KEY}}]},
    "ExecuteStatement": {"Statement": "SELECT * FROM t"},
}


def test_every_data_plane_operation_is_covered() -> None:
    assert set(CASES) == FAST_PARSE_OPERATIONS


@pytest.mark.parametrize("operation", sorted(CASES))
def test_fast_parse_equals_botocore(operation: str) -> None:
    fast, slow = _both(operation, CASES[operation], PARAMS.get(operation))
    assert fast == slow
    assert fast["ResponseMetadata"]["RequestId"] == "req-1"
    assert fast["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert fast["ResponseMetadata"]["RetryAttempts"] == 0
    assert "x-amz-crc32" in fast["ResponseMetadata"]["HTTPHeaders"]


def test_binary_values_are_bytes_so_they_can_be_sent_back() -> None:
    fast, _slow = _both("Query", CASES["Query"])
    assert fast["LastEvaluatedKey"]["SK"] == {"B": B1}
    item = fast["Items"][0]
    assert item["blob"] == {"B": B2}
    assert item["blobs"] == {"BS": [B1, B2]}
    assert item["nested"]["M"]["inner"]["L"][0] == {"B": B1}
    assert item["B"] == {"S": "an attribute named B"}


def test_the_fast_path_is_taken() -> None:
    # botocore's parser drops members its model does not know; json.loads keeps them. If
    # botocore stops emitting ``before-parse`` with a customized response, this fails.
    fast, slow = _both("GetItem", {"Item": KEY, "NotInTheModel": 1})
    assert fast.get("NotInTheModel") == 1
    assert "NotInTheModel" not in slow


def test_control_plane_keeps_botocore_parsing() -> None:
    body = {"Table": {"TableName": "t", "CreationDateTime": 1764200000.5}}
    fast, slow = _both("DescribeTable", body)
    assert fast == slow
    assert isinstance(fast["Table"]["CreationDateTime"], datetime)


def test_errors_keep_botocore_parsing() -> None:
    body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                       "message": "The conditional request failed", "Item": KEY}).encode()
    for fast in (True, False):
        transport = _stubbed(fast, lambda _op: (400, {}, body))
        with pytest.raises(ConditionalCheckFailedError, match="conditional request failed"):
            transport.send("PutItem", {"TableName": "t", "Item": KEY})


def test_transaction_cancellation_reasons_are_parsed_by_botocore() -> None:
    body = json.dumps({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific "
                   "reasons [ConditionalCheckFailed, None]",
        "CancellationReasons": [{"Code": "ConditionalCheckFailed", "Item": KEY},
                                {"Code": "None"}],
    }).encode()
    transport = _stubbed(True, lambda _op: (400, {}, body))
    with pytest.raises(TransactionCanceledError) as info:
        transport.send("TransactWriteItems", PARAMS["TransactWriteItems"])
    reasons = info.value.response["CancellationReasons"]
    assert reasons[0]["Item"]["SK"] == {"B": B1}  # botocore's blob parsing


def test_crc32_mismatch_is_retried_as_botocore_does() -> None:
    body = json.dumps({"Item": KEY}).encode()
    results = []
    for fast in (True, False):
        calls: list[str] = []

        def answer(op: str, calls: list[str] = calls) -> Answer:
            calls.append(op)
            return 200, {"x-amz-crc32": "1"}, body

        transport = _stubbed(fast, answer, attempts=3)
        results.append(transport.send("GetItem", {"TableName": "t", "Key": KEY}))
        assert len(calls) == 3  # every attempt failed the checksum
    assert results[0] == results[1]
    assert results[0]["ResponseMetadata"]["RetryAttempts"] == 2


def test_a_body_that_is_not_json_falls_back_to_botocore() -> None:
    for fast in (True, False):
        transport = _stubbed(fast, lambda _op: (200, {}, b"not json"))
        assert "Item" not in transport.send("GetItem", {"TableName": "t", "Key": KEY})


def test_fast_parse_is_off_for_a_client_passed_in() -> None:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=ENDPOINT, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    assert not Boto3Transport(client).fast_parse
    assert Boto3Transport(endpoint_url=ENDPOINT, region="us-east-1").fast_parse
    assert not Boto3Transport(endpoint_url=ENDPOINT, region="us-east-1",
                              fast_parse=False).fast_parse


# -- DynamoDB Local: a binary sort key across pages ---------------------------------------

binary_table = Table("fastparse", pk="PK", sk="SK", attribute_types={"SK": "B"})


class Blob(Model, table=binary_table, entity="blob"):
    owner: str
    digest: bytes
    payload: bytes
    parts: set[bytes] = set()

    primary = Key(pk="OWNER#{owner}", sk="{digest}")


@pytest.fixture
def binary_clients(dynamodb_endpoint: str, unique_table_name: str) -> Iterator[
        tuple[Client, Client]]:
    def client(fast: bool) -> Client:
        transport = Boto3Transport(endpoint_url=dynamodb_endpoint, region="us-east-1",
                                   fast_parse=fast)
        return binary_table.connect(transport=transport, table_name=unique_table_name)

    fast, slow = client(True), client(False)
    fast.create_table()
    try:
        yield fast, slow
    finally:
        fast.delete_table(wait=False)
        fast.close()
        slow.close()


@pytest.mark.integration
def test_binary_sort_key_pages_on_dynamodb_local(binary_clients: tuple[Client, Client]) -> None:
    fast, slow = binary_clients
    blobs = [Blob(owner="ada", digest=bytes([i, 0, 255 - i]), payload=b"\x00" * i + b"\xfe",
                  parts={bytes([i]), b"\x00"}) for i in range(23)]
    with fast.batch_writer() as bw:
        for blob in blobs:
            bw.put(blob)
    expected = sorted(blobs, key=lambda b: b.digest)

    # Lazily across pages of 5: each LastEvaluatedKey (binary) is sent back as bytes.
    assert list(fast.query(Blob.primary, owner="ada").page_size(5)) == expected

    # Cursors made from a binary LastEvaluatedKey resume where they stopped.
    got: list[Blob] = []
    cursor = None
    while True:
        page = fast.query(Blob.primary, owner="ada").limit(4).page(cursor)
        got += page.items
        cursor = page.cursor
        if cursor is None:
            break
    assert got == expected

    # The raw pages equal botocore's parse of the same answers.
    params: dict[str, Any] = {
        "TableName": fast.table_name, "KeyConditionExpression": "PK = :p",
        "ExpressionAttributeValues": {":p": {"S": "OWNER#ada"}}, "Limit": 7,
    }
    start = None
    pages = 0
    while True:
        request = dict(params, **({"ExclusiveStartKey": start} if start else {}))
        a = fast.send("Query", request)
        b = slow.send("Query", request)
        for r in (a, b):
            r["ResponseMetadata"].pop("RequestId")
            r["ResponseMetadata"].pop("HTTPHeaders")
        assert a == b
        pages += 1
        start = a.get("LastEvaluatedKey")
        if not start:
            break
        assert isinstance(start["SK"]["B"], bytes)
    assert pages == 4

    one = expected[7]
    assert fast.get(Blob, owner="ada", digest=one.digest) == one
    result = fast.batch_get([Blob.primary(owner="ada", digest=b.digest) for b in blobs])
    assert result.of(Blob) == blobs and not result.missing
