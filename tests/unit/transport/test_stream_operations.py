"""DynamoDB Streams calls through every transport: boto3's streams client, and the
wrapping transports passing them through unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from dyntable.errors import InvalidRequestError
from dyntable.streams.source import TransportStreams
from dyntable.testing.faults import FaultyTransport
from dyntable.transport.boto3 import Boto3Transport, RetryConfig
from dyntable.transport.cache import CachedTransport
from dyntable.transport.dax import DaxTransport
from dyntable.transport.mock import MockTransport
from dyntable.transport.routing import RoutingTransport
from tests.unit.transport.test_dax import FakeDaxClient

STREAM_OPERATIONS = ["DescribeStream", "GetShardIterator", "GetRecords", "ListStreams"]
RECORDS = {"Records": [{"eventName": "INSERT"}], "NextShardIterator": "it-2"}


@pytest.fixture(autouse=True)
def _no_configured_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB",
                 "AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "AWS_USE_FIPS_ENDPOINT",
                 "AWS_USE_DUALSTACK_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


# --- Boto3Transport --------------------------------------------------------------------------


class Captured:
    """A botocore ``before-send`` handler: records each request and answers it locally."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def __call__(self, request: Any, **_kw: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        self.requests.append(request)
        body = b'{"Records": [], "NextShardIterator": "it-2"}'
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"

        class Raw:
            def stream(self, **_kw: Any) -> Any:
                yield body

        return AWSResponse(request.url, 200, headers, Raw())


def capture(transport: Boto3Transport) -> Captured:
    captured = Captured()
    transport.streams_client.meta.events.register("before-send", captured)
    return captured


def test_boto3_streams_client_shares_endpoint_region_and_config() -> None:
    transport = Boto3Transport(endpoint_url="http://127.0.0.1:8765", region="eu-west-2",
                               connect_timeout=1.5, read_timeout=7.0,
                               retry=RetryConfig(max_attempts=2), max_pool_connections=5)
    streams = transport.streams_client
    assert streams is transport.streams_client  # made once
    assert streams.meta.service_model.service_name == "dynamodbstreams"
    assert streams.meta.endpoint_url == "http://127.0.0.1:8765"
    assert streams.meta.region_name == "eu-west-2"
    config = streams.meta.config
    assert (config.connect_timeout, config.read_timeout) == (1.5, 7.0)
    assert config.max_pool_connections == 5
    assert config.retries["total_max_attempts"] == 2
    events: list[Any] = []
    transport.add_hook(events.append)
    captured = capture(transport)
    response = TransportStreams(transport).get_records(ShardIterator="it")
    assert response["NextShardIterator"] == "it-2"
    (request,) = captured.requests
    assert request.url.startswith("http://127.0.0.1:8765")
    assert request.headers["X-Amz-Target"] == b"DynamoDBStreams_20120810.GetRecords"
    assert [e.operation for e in events] == ["GetRecords"]


def test_boto3_without_endpoint_uses_the_regional_streams_host() -> None:
    transport = Boto3Transport(region="eu-west-1")
    assert transport.client.meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
    captured = capture(transport)
    TransportStreams(transport).get_records(ShardIterator="it")
    assert captured.requests[0].url.startswith("https://streams.dynamodb.eu-west-1.amazonaws.com")


def test_boto3_given_client_streams_sign_with_its_credentials() -> None:
    import boto3

    client = boto3.client("dynamodb", region_name="ap-south-1", endpoint_url="http://local:1",
                          aws_access_key_id="AKIDGIVEN", aws_secret_access_key="s")
    transport = Boto3Transport(client)
    captured = capture(transport)
    TransportStreams(transport).get_records(ShardIterator="it")
    (request,) = captured.requests
    assert request.url.startswith("http://local:1")
    auth = request.headers["Authorization"].decode()
    assert "Credential=AKIDGIVEN/" in auth
    assert "/ap-south-1/dynamodb/aws4_request" in auth


def test_boto3_streams_endpoint_url_overrides() -> None:
    transport = Boto3Transport(region="eu-west-1", streams_endpoint_url="http://streams.vpce:1")
    assert transport.streams_client.meta.endpoint_url == "http://streams.vpce:1"


# --- wrapping transports ---------------------------------------------------------------------


def recording() -> MockTransport:
    return MockTransport(lambda operation, params: dict(RECORDS, operation=operation))


@pytest.mark.parametrize("operation", STREAM_OPERATIONS)
def test_cache_never_caches_stream_calls(operation: str) -> None:
    inner = recording()
    cached = CachedTransport(inner)
    params = {"ShardIterator": "it", "StreamArn": "arn:s"}
    first = cached.send(operation, params)
    second = cached.send(operation, params)
    assert first == second == dict(RECORDS, operation=operation)
    assert inner.operations() == [operation, operation]
    assert cached.stats.hits == 0


@pytest.mark.parametrize("operation", STREAM_OPERATIONS)
def test_routing_mock_and_faults_pass_stream_calls_through(operation: str) -> None:
    inner = recording()
    other = recording()
    routed = RoutingTransport(inner, {"GetItem": other})
    faulty = FaultyTransport(routed, rate=1.0, seed=1)
    params = {"StreamArn": "arn:s"}
    assert faulty.send(operation, params) == dict(RECORDS, operation=operation)
    assert [(c.operation, c.params) for c in inner.sent] == [(operation, params)]
    assert other.sent == [] and sum(faulty.injected.values()) == 0


@pytest.mark.parametrize("operation", STREAM_OPERATIONS)
def test_dax_sends_stream_calls_to_its_fallback(operation: str) -> None:
    fallback = recording()
    fake = FakeDaxClient()
    dax = DaxTransport("dax://cluster.example:8111", region="us-east-1", client=fake,
                       fallback=fallback)
    assert dax.send(operation, {"StreamArn": "arn:s"})["operation"] == operation
    assert fallback.operations() == [operation]
    assert fake.calls == []
    alone = DaxTransport("dax://cluster.example:8111", region="us-east-1", client=fake)
    with pytest.raises(InvalidRequestError, match="DynamoDB Streams"):
        alone.send(operation, {"StreamArn": "arn:s"})
