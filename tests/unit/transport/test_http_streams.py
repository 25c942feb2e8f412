"""DynamoDB Streams calls over HttpTransport: target prefix, signing, endpoint, errors."""

from __future__ import annotations

import datetime
import json
import socket
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from dyntable._internal.transport.jsonproto import streams_endpoint
from dyntable.errors import ExpiredIteratorError, ThrottlingError, TransportError, TrimmedDataError
from dyntable.streams.source import TransportStreams
from dyntable.transport.http import HttpTransport
from tests.unit.transport.test_http_transport import (
    CREDS,
    TEMP,
    Recorder,
    Server,
    error,
    make,
    ok,
)

STREAM_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("DescribeStream", {"StreamArn": "arn:s"}),
    ("GetShardIterator", {"StreamArn": "arn:s", "ShardId": "a", "ShardIteratorType": "LATEST"}),
    ("GetRecords", {"ShardIterator": "it", "Limit": 10}),
    ("ListStreams", {"TableName": "t"}),
]


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture(autouse=True)
def _no_configured_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_USE_FIPS_ENDPOINT",
                 "AWS_USE_DUALSTACK_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("operation", "params"), STREAM_CALLS)
def test_stream_calls_use_the_streams_target_and_dynamodb_signing(
    server: Server, rec: Recorder, operation: str, params: dict[str, Any]
) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotocoreCredentials

    server.add(ok({"answer": operation}))
    with make(server, rec, credentials=TEMP) as transport:
        response = transport.send(operation, params)
    assert response["answer"] == operation
    (got,) = server.received
    assert got.headers["X-Amz-Target"] == f"DynamoDBStreams_20120810.{operation}"
    assert json.loads(got.body) == params
    assert "/us-east-1/dynamodb/aws4_request" in got.headers["Authorization"]
    stamp = got.headers["X-Amz-Date"]
    when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
    request = AWSRequest(method="POST", url=server.url + "/", data=got.body,
                         headers={k: got.headers[k] for k in ("X-Amz-Target", "Content-Type")})
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(BotocoreCredentials(*TEMP), "dynamodb", "us-east-1").add_auth(request)
    assert got.headers["Authorization"] == request.headers["Authorization"]
    assert rec.events[0].operation == operation  # hooks see stream calls too


def test_a_dynamodb_call_keeps_its_own_target(server: Server, rec: Recorder) -> None:
    server.add(ok({}), ok({}))
    with make(server, rec) as transport:
        transport.send("GetRecords", {"ShardIterator": "it"})
        transport.send("GetItem", {"TableName": "t", "Key": {}})
    targets = [r.headers["X-Amz-Target"] for r in server.received]
    assert targets == ["DynamoDBStreams_20120810.GetRecords", "DynamoDB_20120810.GetItem"]
    # One endpoint (as DynamoDB Local): one pool, the connection is shared.
    assert server.received[0].client_port == server.received[1].client_port


@pytest.mark.parametrize(("code", "cls"), [
    ("ExpiredIteratorException", ExpiredIteratorError),
    ("TrimmedDataAccessException", TrimmedDataError),
])
def test_stream_errors_map_through_the_shared_table(
    server: Server, rec: Recorder, code: str, cls: type[Exception]
) -> None:
    server.add(error(400, code, "gone"))
    with make(server, rec) as transport, pytest.raises(cls):
        TransportStreams(transport).get_records(ShardIterator="it")
    assert len(server.received) == 1  # not retried


def test_stream_calls_are_retried_like_any_other(server: Server, rec: Recorder) -> None:
    server.add(error(400, "LimitExceededException"), error(500, "InternalServerError"),
               ok({"Records": []}))
    with make(server, rec) as transport:
        assert transport.send("GetRecords", {"ShardIterator": "it"})["Records"] == []
    assert rec.events[0].attempts == 3
    server.default = error(400, "LimitExceededException")
    with make(server, rec, max_attempts=2) as transport, pytest.raises(ThrottlingError):
        transport.send("GetRecords", {"ShardIterator": "it"})


class _Refused:
    """Stands in for ``socket.create_connection``: records where it was asked to connect."""

    def __init__(self) -> None:
        self.hosts: list[tuple[str, int]] = []

    def __call__(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        self.hosts.append(address)
        raise ConnectionRefusedError("no network in this test")


@pytest.mark.parametrize(("region", "fips", "dualstack", "dynamodb", "streams"), [
    ("eu-west-1", False, False, "dynamodb.eu-west-1.amazonaws.com",
     "streams.dynamodb.eu-west-1.amazonaws.com"),
    ("cn-north-1", False, False, "dynamodb.cn-north-1.amazonaws.com.cn",
     "streams.dynamodb.cn-north-1.amazonaws.com.cn"),
    ("us-east-2", True, False, "dynamodb-fips.us-east-2.amazonaws.com",
     "streams.dynamodb-fips.us-east-2.amazonaws.com"),
    ("us-gov-west-1", True, False, "dynamodb.us-gov-west-1.amazonaws.com",
     "streams.dynamodb.us-gov-west-1.amazonaws.com"),
    ("eu-west-1", False, True, "dynamodb.eu-west-1.api.aws",
     "streams-dynamodb.eu-west-1.api.aws"),
    ("us-west-2", True, True, "dynamodb-fips.us-west-2.api.aws",
     "streams-dynamodb-fips.us-west-2.api.aws"),
])
def test_without_endpoint_url_stream_calls_go_to_the_regional_streams_host(
    monkeypatch: pytest.MonkeyPatch, rec: Recorder, region: str, fips: bool, dualstack: bool,
    dynamodb: str, streams: str,
) -> None:
    refused = _Refused()
    monkeypatch.setattr("dyntable._internal.transport.wire.socket.create_connection", refused)
    transport = HttpTransport(region=region, credentials=CREDS, use_fips=fips,
                              use_dualstack=dualstack, max_attempts=1, sleep=rec.sleep)
    assert transport.streams_endpoint_url == f"https://{streams}"
    with pytest.raises(TransportError):
        TransportStreams(transport).get_records(ShardIterator="it")
    with pytest.raises(TransportError):
        transport.send("GetItem", {"TableName": "t", "Key": {}})
    assert refused.hosts == [(streams, 443), (dynamodb, 443)]


def test_streams_endpoint_rules() -> None:
    # A custom endpoint (DynamoDB Local, a proxy) serves Streams itself.
    for url in ("http://localhost:8000", "http://127.0.0.1:8765", "https://proxy.internal",
                "https://vpce-1.dynamodb.us-east-1.vpce.amazonaws.com"):
        assert streams_endpoint(url, "us-east-1") == url
    # An explicit regional DynamoDB URL gets its Streams host (that host does not serve it).
    assert (streams_endpoint("https://dynamodb.us-east-1.amazonaws.com/", "us-east-1")
            == "https://streams.dynamodb.us-east-1.amazonaws.com/")
    # A regional host of another region is left alone (its region is not the signing one).
    assert (streams_endpoint("https://dynamodb.eu-west-1.amazonaws.com", "us-east-1")
            == "https://dynamodb.eu-west-1.amazonaws.com")


def test_streams_endpoint_url_overrides(server: Server, rec: Recorder) -> None:
    server.add(ok({"Records": []}))
    transport = HttpTransport(region="eu-west-1", credentials=CREDS,
                              streams_endpoint_url=server.url, sleep=rec.sleep)
    assert transport.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
    with transport:
        assert transport.send("GetRecords", {"ShardIterator": "it"})["Records"] == []
    assert server.received[0].headers["Host"] == server.url.removeprefix("http://")
