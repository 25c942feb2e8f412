"""HttpTransport against a scripted local HTTP server, and against DynamoDB Local.

The scripted server (stdlib ``http.server`` on 127.0.0.1, a free port) answers each POST
with the next scripted response and records what it received, so the tests check both
directions: what was sent (target, content type, signature, base64 binaries) and how
answers are mapped (errors, retries, CRC32, timeouts).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import socket
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import pytest

from dyntable.errors import (
    ConditionalCheckFailedError,
    InternalServerError,
    InvalidRequestError,
    ServiceValidationError,
    ThrottlingError,
    TransactionCanceledError,
    TransactionConflictError,
    TransportError,
)
from dyntable.transport.base import CallEvent
from dyntable.transport.credentials import (
    Credentials,
    Endpoint,
    credentials_provider,
    resolve_endpoint,
    resolve_region,
)
from dyntable.transport.http import HttpTransport

CREDS = Credentials("AKIDTEST", "secret-test-key")
TEMP = Credentials("ASIATEST", "secret-temp-key", "session-token-value")
PREFIX = "com.amazonaws.dynamodb.v20120810#"


# --- the scripted server -------------------------------------------------------------------


@dataclass
class Scripted:
    """One scripted answer."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    crc: bool | int = True  # True: correct x-amz-crc32; int: that value; False: none
    delay: float = 0.0
    close: bool = False  # send "Connection: close" and close
    drop: bool = False  # close after answering, without saying so


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int


class Server:
    """Holds the script and what was received; the handler reads and writes these."""

    def __init__(self) -> None:
        self.script: deque[Scripted] = deque()
        self.default: Scripted | None = None
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.scripted = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def add(self, *answers: Scripted) -> None:
        self.script.extend(answers)

    def next(self) -> Scripted:
        with self.lock:
            if self.script:
                return self.script.popleft()
        assert self.default is not None, "the server ran out of scripted answers"
        return self.default

    def requests_json(self) -> list[Any]:
        return [json.loads(r.body) for r in self.received]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes

    def do_POST(self) -> None:
        server: Server = self.server.scripted  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with server.lock:
            server.received.append(
                Received(self.path, dict(self.headers.items()), body, self.client_address[1])
            )
        answer = server.next()
        if answer.delay:
            time.sleep(answer.delay)
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-RequestId", f"req-{len(server.received)}")
        if answer.crc is True:
            self.send_header("x-amz-crc32", str(zlib.crc32(answer.body) & 0xFFFFFFFF))
        elif answer.crc is not False:
            self.send_header("x-amz-crc32", str(answer.crc))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if answer.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        try:
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
            self.close_connection = True
            return
        if answer.drop:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.events: list[CallEvent] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def make(server: Server, rec: Recorder, **kw: Any) -> HttpTransport:
    options: dict[str, Any] = {
        "endpoint_url": server.url,
        "region": "us-east-1",
        "credentials": CREDS,
        "sleep": rec.sleep,
        "rand": lambda: 0.5,
        "hooks": [rec.events.append],
        **kw,
    }
    return HttpTransport(**options)


def ok(payload: dict[str, Any], **kw: Any) -> Scripted:
    return Scripted(200, json.dumps(payload).encode(), **kw)


def error(status: int, code: str, message: str = "boom", **fields: Any) -> Scripted:
    return Scripted(
        status, json.dumps({"__type": PREFIX + code, "message": message, **fields}).encode()
    )


KEY = {"PK": {"S": "USER#1"}, "SK": {"S": "PROFILE"}}
PUT = {"TableName": "t", "Item": KEY}


# --- what is sent --------------------------------------------------------------------------


def test_request_has_target_content_type_and_valid_signature(server: Server, rec: Recorder) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotocoreCredentials

    server.add(ok({}))
    with make(server, rec, credentials=TEMP) as transport:
        transport.send("PutItem", PUT)
    (got,) = server.received
    assert got.path == "/"
    assert got.headers["X-Amz-Target"] == "DynamoDB_20120810.PutItem"
    assert got.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert got.headers["X-Amz-Security-Token"] == TEMP.token
    assert json.loads(got.body) == PUT

    # Re-sign what the server received with botocore at the same instant.
    stamp = got.headers["X-Amz-Date"]
    when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=got.body,
        headers={k: got.headers[k] for k in ("X-Amz-Target", "Content-Type")},
    )
    auth = SigV4Auth(BotocoreCredentials(*TEMP), "dynamodb", "us-east-1")
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        auth.add_auth(request)
    assert got.headers["Authorization"] == request.headers["Authorization"]
    assert got.headers["Host"] == server.url.removeprefix("http://")


def test_bytes_are_sent_as_base64(server: Server, rec: Recorder) -> None:
    server.add(ok({}))
    item = {**KEY, "b": {"B": b"\x00\x01\xff"}, "bs": {"BS": [b"x", bytearray(b"y")]}}
    with make(server, rec) as transport:
        transport.send("PutItem", {"TableName": "t", "Item": item})
    sent = server.requests_json()[0]["Item"]
    assert sent["b"] == {"B": base64.b64encode(b"\x00\x01\xff").decode()}
    assert sent["bs"] == {"BS": ["eA==", "eQ=="]}


def test_unencodable_params_are_refused_before_sending(server: Server, rec: Recorder) -> None:
    with make(server, rec) as transport:
        with pytest.raises(InvalidRequestError):
            transport.send("PutItem", {"TableName": "t", "Item": {"x": {"N": object()}}})
        with pytest.raises(InvalidRequestError):
            transport.send("PutItem", {"TableName": "t", "Item": {"x": {"N": float("nan")}}})
        with pytest.raises(InvalidRequestError):
            transport.send("Put Item\r\nX: y", PUT)
    assert server.received == []


def test_connection_is_reused(server: Server, rec: Recorder) -> None:
    server.add(ok({}), ok({}), ok({}, close=True), ok({}))
    with make(server, rec) as transport:
        for _ in range(4):
            transport.send("GetItem", {"TableName": "t", "Key": KEY})
    ports = [r.client_port for r in server.received]
    assert ports[0] == ports[1] == ports[2]  # keep-alive
    assert ports[3] != ports[2]  # the server said Connection: close


def test_concurrent_calls_share_the_pool(server: Server, rec: Recorder) -> None:
    server.default = ok({"Count": 0, "Items": []})
    errors: list[BaseException] = []
    with make(server, rec, max_pool_connections=2) as transport:

        def work() -> None:
            try:
                for _ in range(25):
                    transport.send("Query", {"TableName": "t"})
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(transport._pool._idle) <= 2
    assert errors == []
    assert len(server.received) == 200
    assert transport.calls == 200
    assert all(event.attempts == 1 for event in rec.events)


def test_credentials_provider_is_called_per_attempt(server: Server, rec: Recorder) -> None:
    issued = iter([CREDS, TEMP])
    server.add(error(500, "InternalServerError"), ok({}))
    with make(server, rec, credentials=lambda: next(issued)) as transport:
        transport.send("GetItem", {"TableName": "t", "Key": KEY})
    first, second = server.received
    assert "AKIDTEST/" in first.headers["Authorization"]
    assert "X-Amz-Security-Token" not in first.headers
    assert second.headers["X-Amz-Security-Token"] == TEMP.token


# --- answers -------------------------------------------------------------------------------


def test_success_shape(server: Server, rec: Recorder) -> None:
    capacity = {"TableName": "t", "CapacityUnits": 1.0}
    item = {**KEY, "b": {"B": "AAH/"}}
    server.add(ok({"Item": item, "ConsumedCapacity": capacity}))
    with make(server, rec) as transport:
        response = transport.send("GetItem", {"TableName": "t", "Key": KEY})
    assert response["Item"] == item  # binary stays base64 text
    meta = response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200
    assert meta["RequestId"] == "req-1"
    assert meta["RetryAttempts"] == 0
    assert meta["HTTPHeaders"]["x-amzn-requestid"] == "req-1"
    (event,) = rec.events
    assert (event.operation, event.table, event.attempts, event.error) == ("GetItem", "t", 1, None)
    assert event.consumed_capacity == capacity
    assert event.transport == "http"


def test_table_timestamps_become_datetimes(server: Server, rec: Recorder) -> None:
    table = {
        "TableName": "t",
        "CreationDateTime": 1764199866.212,
        "ProvisionedThroughput": {"LastIncreaseDateTime": 0, "ReadCapacityUnits": 0},
        "GlobalSecondaryIndexes": [{"ProvisionedThroughput": {"LastDecreaseDateTime": 10}}],
    }
    server.add(ok({"Table": table}))
    with make(server, rec) as transport:
        got = transport.send("DescribeTable", {"TableName": "t"})["Table"]
    utc = datetime.timezone.utc
    assert got["CreationDateTime"] == datetime.datetime.fromtimestamp(1764199866.212, utc)
    assert got["ProvisionedThroughput"]["LastIncreaseDateTime"] == datetime.datetime(
        1970, 1, 1, tzinfo=utc
    )
    gsi = got["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]
    assert gsi["LastDecreaseDateTime"].tzinfo is utc
    assert got["ProvisionedThroughput"]["ReadCapacityUnits"] == 0


def test_throttling_is_retried_then_succeeds(server: Server, rec: Recorder) -> None:
    server.add(error(400, "ProvisionedThroughputExceededException"), ok({"Count": 0, "Items": []}))
    with make(server, rec) as transport:
        response = transport.send("Query", {"TableName": "t"})
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert rec.events[0].attempts == 2
    assert rec.sleeps == [0.5]  # rand 0.5 * min(1 s * 2**0, 20 s)
    assert transport.retries == 1


def test_server_errors_until_max_attempts(server: Server, rec: Recorder) -> None:
    server.default = error(500, "InternalServerError", "oops")
    with make(server, rec) as transport, pytest.raises(InternalServerError) as caught:
        transport.send("PutItem", PUT)
    assert len(server.received) == 4
    assert rec.events[0].attempts == 4
    assert rec.events[0].error == "InternalServerError"
    assert rec.sleeps == pytest.approx([0.0125, 0.025, 0.05])  # 0.5 * 25 ms * 2**i
    err = caught.value
    assert (err.code, err.status, err.operation, err.message) == (
        "InternalServerError",
        500,
        "PutItem",
        "oops",
    )
    assert err.response["Error"] == {"Message": "oops", "Code": "InternalServerError"}
    assert err.response["ResponseMetadata"]["RetryAttempts"] == 3
    assert err.response["ResponseMetadata"]["MaxAttemptsReached"] is True


def test_html_503_maps_to_internal_server_error(server: Server, rec: Recorder) -> None:
    server.default = Scripted(503, b"<html><body>Service Unavailable</body></html>", crc=False)
    with (
        make(server, rec, max_attempts=2) as transport,
        pytest.raises(InternalServerError) as caught,
    ):
        transport.send("GetItem", {"TableName": "t", "Key": KEY})
    assert caught.value.code == "503"
    assert caught.value.message == "Service Unavailable"
    assert len(server.received) == 2


def test_max_attempts_one_means_no_retry(server: Server, rec: Recorder) -> None:
    server.add(error(400, "ThrottlingException"))
    with make(server, rec, max_attempts=1) as transport, pytest.raises(ThrottlingError):
        transport.send("GetItem", {"TableName": "t", "Key": KEY})
    assert len(server.received) == 1
    assert rec.sleeps == []


def test_conditional_check_failed_carries_item(server: Server, rec: Recorder) -> None:
    current = {**KEY, "version": {"N": "3"}, "b": {"B": "AAE="}}
    server.add(
        error(
            400, "ConditionalCheckFailedException", "The conditional request failed", Item=current
        )
    )
    with make(server, rec) as transport, pytest.raises(ConditionalCheckFailedError) as caught:
        transport.send("PutItem", {**PUT, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
    err = caught.value
    assert err.item == current
    assert err.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert err.response["message"] == "The conditional request failed"
    assert len(server.received) == 1


def test_transaction_canceled_reasons(server: Server, rec: Recorder) -> None:
    reasons = [
        {"Code": "None"},
        {
            "Code": "ConditionalCheckFailed",
            "Message": "The conditional request failed",
            "Item": KEY,
        },
    ]
    body = {
        "__type": PREFIX + "TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, ConditionalCheckFailed]",
        "CancellationReasons": reasons,
    }
    server.add(Scripted(400, json.dumps(body).encode()))
    with make(server, rec) as transport, pytest.raises(TransactionCanceledError) as caught:
        transport.send("TransactWriteItems", {"TransactItems": []})
    err = caught.value
    assert [r.code for r in err.reasons] == [None, "ConditionalCheckFailed"]
    assert err.reasons[1].item == KEY
    assert err.response["CancellationReasons"] == reasons
    assert err.message.startswith("Transaction cancelled")
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("TransactionConflictException", TransactionConflictError),
        ("ValidationException", ServiceValidationError),
    ],
)
def test_not_retried(server: Server, rec: Recorder, code: str, cls: type[Exception]) -> None:
    server.default = error(400, code)
    with make(server, rec) as transport, pytest.raises(cls):
        transport.send("UpdateItem", {"TableName": "t", "Key": KEY})
    assert len(server.received) == 1
    assert rec.events[0].attempts == 1


def test_unmodeled_error_has_no_modeled_fields(server: Server, rec: Recorder) -> None:
    server.add(error(400, "ValidationException", "bad", extra="x"))
    with make(server, rec) as transport, pytest.raises(ServiceValidationError) as caught:
        transport.send("PutItem", PUT)
    assert set(caught.value.response) == {"Error", "ResponseMetadata"}


def test_bad_crc32_is_retried(server: Server, rec: Recorder) -> None:
    server.add(ok({"Count": 1}, crc=12345), ok({"Count": 1}))
    with make(server, rec) as transport:
        response = transport.send("Query", {"TableName": "t"})
    assert response["Count"] == 1
    assert rec.events[0].attempts == 2
    assert rec.sleeps == [0.0125]  # transient base 25 ms


def test_bad_crc32_every_time_is_a_transport_error(server: Server, rec: Recorder) -> None:
    server.default = ok({"Count": 1}, crc=1)
    with (
        make(server, rec, max_attempts=3) as transport,
        pytest.raises(TransportError, match="CRC32"),
    ):
        transport.send("Query", {"TableName": "t"})
    assert len(server.received) == 3


def test_429_with_unknown_code_is_throttling(server: Server, rec: Recorder) -> None:
    server.add(error(429, "SomethingNew"), ok({}))
    with make(server, rec) as transport:
        transport.send("PutItem", PUT)
    assert rec.sleeps == [0.5]  # throttling base 1 s


def test_retry_after_header_raises_the_delay(server: Server, rec: Recorder) -> None:
    throttled = error(400, "ThrottlingException")
    throttled.headers["x-amz-retry-after"] = "3000"
    server.add(throttled, ok({}))
    with make(server, rec) as transport:
        transport.send("PutItem", PUT)
    assert rec.sleeps == [3.0]  # max(0.5, min(3.0, 0.5 + 5))


def test_retry_quota_limits_retries(server: Server, rec: Recorder) -> None:
    server.default = error(500, "InternalServerError")
    with make(server, rec, max_attempts=100) as transport:
        with pytest.raises(InternalServerError) as caught:
            transport.send("PutItem", PUT)
        # 500 tokens, 14 per transient retry: 35 retries, then the quota is spent.
        assert len(server.received) == 36
        assert caught.value.response["ResponseMetadata"]["RetryQuotaReached"] is True
        server.default = None
        server.add(ok({}))
        transport.send("PutItem", PUT)  # a success refunds a token


def test_read_timeout_is_a_transport_error(server: Server, rec: Recorder) -> None:
    server.default = Scripted(delay=0.5)
    with make(server, rec, read_timeout=0.1, max_attempts=2) as transport:
        with pytest.raises(TransportError, match="after 2 attempts"):
            transport.send("GetItem", {"TableName": "t", "Key": KEY})
    assert rec.events[0].attempts == 2
    assert rec.events[0].error == "TransportError"


def test_connection_refused_is_a_transport_error(rec: Recorder) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = HttpTransport(
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        credentials=CREDS,
        sleep=rec.sleep,
        rand=lambda: 0.5,
        hooks=[rec.events.append],
    )
    with pytest.raises(TransportError, match="after 4 attempts") as caught:
        transport.send("ListTables", {})
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert rec.events[0].attempts == 4
    assert len(rec.sleeps) == 3


def test_idle_connection_closed_by_server_is_not_reused(server: Server, rec: Recorder) -> None:
    server.add(ok({}, drop=True), ok({"TableNames": []}))
    with make(server, rec) as transport:
        transport.send("ListTables", {})
        time.sleep(0.05)  # the server's FIN arrives while the connection is idle
        assert transport.send("ListTables", {})["TableNames"] == []
    assert [e.attempts for e in rec.events] == [1, 1]  # detected before use, no retry
    assert rec.sleeps == []
    assert server.received[0].client_port != server.received[1].client_port


def test_chunked_response_is_read() -> None:
    payload = json.dumps({"Count": 2, "Items": [KEY, KEY]}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (payload[:10], payload[10:]))
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-amzn-RequestId: r1\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(answer)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with HttpTransport(
            endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1", credentials=CREDS
        ) as transport:
            response = transport.send("Query", {"TableName": "t"})
        thread.join(5)
    assert response["Count"] == 2
    assert response["ResponseMetadata"]["RequestId"] == "r1"


# --- configuration -------------------------------------------------------------------------


def test_retry_mode_and_attempts_are_validated() -> None:
    with pytest.raises(ValueError, match="standard"):
        HttpTransport(region="us-east-1", credentials=CREDS, retry_mode="adaptive")
    with pytest.raises(ValueError, match="max_attempts"):
        HttpTransport(region="us-east-1", credentials=CREDS, max_attempts=0)


def test_import_does_not_load_botocore() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from dyntable.transport.http import HttpTransport; "
        "t = HttpTransport(region='us-east-1', endpoint_url='http://127.0.0.1:1'); "
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("region", "fips", "dualstack", "url"),
    [
        ("us-east-1", False, False, "https://dynamodb.us-east-1.amazonaws.com"),
        ("eu-west-3", False, False, "https://dynamodb.eu-west-3.amazonaws.com"),
        ("cn-north-1", False, False, "https://dynamodb.cn-north-1.amazonaws.com.cn"),
        ("us-east-2", True, False, "https://dynamodb-fips.us-east-2.amazonaws.com"),
        ("ca-central-1", True, False, "https://dynamodb-fips.ca-central-1.amazonaws.com"),
        ("us-gov-west-1", True, False, "https://dynamodb.us-gov-west-1.amazonaws.com"),
        ("eu-west-1", False, True, "https://dynamodb.eu-west-1.api.aws"),
        ("us-west-2", True, True, "https://dynamodb-fips.us-west-2.api.aws"),
        ("local", False, False, "http://localhost:8000"),
    ],
)
def test_resolve_endpoint(
    monkeypatch: pytest.MonkeyPatch, region: str, fips: bool, dualstack: bool, url: str
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    assert resolve_endpoint(region, use_fips=fips, use_dualstack=dualstack) == url


def test_resolve_endpoint_refusals_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with pytest.raises(ValueError, match="FIPS"):
        resolve_endpoint("eu-west-1", use_fips=True)
    with pytest.raises(ValueError, match="FIPS"):
        resolve_endpoint("us-east-1", "http://localhost:8000", use_fips=True)
    assert resolve_endpoint("us-east-1", "http://x:1") == "http://x:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://env:2")
    assert resolve_endpoint("us-east-1") == "http://env:2"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert resolve_endpoint("us-east-1") == "https://dynamodb.us-east-1.amazonaws.com"
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    assert resolve_endpoint("us-west-1") == "https://dynamodb-fips.us-west-1.amazonaws.com"


def test_endpoint_parsing() -> None:
    assert Endpoint("https://dynamodb.us-east-1.amazonaws.com").host_header == (
        "dynamodb.us-east-1.amazonaws.com"
    )
    local = Endpoint("http://LOCALHOST:8000/")
    assert (local.host, local.port, local.host_header) == ("localhost", 8000, "localhost:8000")
    v6 = Endpoint("http://[::1]:8765")
    assert (v6.host, v6.port, v6.host_header) == ("::1", 8765, "[::1]:8765")
    assert Endpoint("https://h:443").host_header == "h"
    for bad in ("ftp://h", "h:80", "http://h/path", "http://:80", "http://h:x"):
        with pytest.raises(ValueError):
            Endpoint(bad)


def test_resolve_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-north-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert resolve_region() == "eu-north-1"
    assert resolve_region("ap-south-1") == "ap-south-1"
    monkeypatch.delenv("AWS_REGION")
    assert resolve_region() == "eu-west-1"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert resolve_region(endpoint_url="http://localhost:8000") == "us-east-1"
    with pytest.raises(ValueError, match="region"):
        resolve_region()
    monkeypatch.setenv("AWS_PROFILE", "missing")
    with pytest.raises(ValueError, match="AWS config"):
        resolve_region()


def test_credentials_from_env_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "envtoken")
    assert credentials_provider()() == Credentials("AKIDENV", "envsecret", "envtoken")


def test_botocore_refreshable_credentials_are_reread(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.credentials import RefreshableCredentials

    calls: list[int] = []

    def refresh() -> dict[str, str]:
        calls.append(1)
        # Already inside the refresh window: every read refreshes.
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
        return {
            "access_key": f"AK{len(calls)}",
            "secret_key": "s",
            "token": "t",
            "expiry_time": expiry.isoformat(),
        }

    creds = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    provider = credentials_provider(creds)
    first = provider()
    second = provider()
    assert first.access_key != second.access_key
    assert second.token == "t"


def test_botocore_chain_is_used_without_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    shared = tmp_path / "credentials"
    shared.write_text(
        "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = filesecret\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert credentials_provider()() == Credentials("AKIDFILE", "filesecret", None)


def test_missing_credentials_is_a_transport_error(
    monkeypatch: pytest.MonkeyPatch, server: Server, rec: Recorder
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with make(server, rec, credentials=None) as transport:
        with pytest.raises(TransportError, match="credentials"):
            transport.send("ListTables", {})
    assert server.received == []


# --- DynamoDB Local: HttpTransport and Boto3Transport give the same answers ----------------


@pytest.fixture(scope="module")
def endpoint(request: pytest.FixtureRequest) -> str:
    external = os.environ.get("DYNTABLE_TEST_ENDPOINT", "").strip()
    if external:
        return external
    try:
        value: str = request.getfixturevalue("dynamodb_endpoint")
    except pytest.FixtureLookupError:
        pytest.skip(
            "no DynamoDB endpoint: set DYNTABLE_TEST_ENDPOINT or install dyntable's pytest plugin"
        )
    return value


@pytest.fixture(scope="module")
def pair(endpoint: str) -> Iterator[tuple[Any, HttpTransport, str]]:
    from dyntable.transport.boto3 import Boto3Transport

    boto = Boto3Transport(endpoint_url=endpoint, region="us-east-1")
    http = HttpTransport(endpoint_url=endpoint, region="us-east-1")
    table = f"dyntable-http-{uuid.uuid4().hex[:12]}"
    http.send(
        "CreateTable",
        {
            "TableName": table,
            "KeySchema": [
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    try:
        yield boto, http, table
    finally:
        http.send("DeleteTable", {"TableName": table})
        http.close()
        boto.close()


def normalize(value: Any) -> Any:
    """boto3's answer as the JSON protocol carries it: bytes as base64, no metadata."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    return value


def both(
    pair: tuple[Any, HttpTransport, str], operation: str, params: dict[str, Any]
) -> tuple[Any, Any]:
    boto, http, _ = pair
    return normalize(boto.send(operation, params)), normalize(http.send(operation, params))


def item(pk: str, sk: str, **extra: Any) -> dict[str, Any]:
    return {
        "PK": {"S": pk},
        "SK": {"S": sk},
        "name": {"S": "Ada \u00e9"},
        "n": {"N": "12.5"},
        "bin": {"B": b"\x00\x01\xfe"},
        "bins": {"BS": [b"a", b"b"]},
        "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": False}]}}},
        **extra,
    }


@pytest.mark.integration
def test_put_get_round_trip(pair: tuple[Any, HttpTransport, str]) -> None:
    boto, http, table = pair
    put = {
        "TableName": table,
        "Item": item("P", "1"),
        "ReturnValues": "ALL_OLD",
        "ReturnConsumedCapacity": "TOTAL",
    }
    http.send("PutItem", put)
    boto_put, http_put = both(pair, "PutItem", put)
    assert boto_put == http_put
    assert http_put["Attributes"]["bin"] == {"B": "AAH+"}
    raw_boto, raw_http = boto.send("PutItem", put), http.send("PutItem", put)
    assert set(raw_boto["ResponseMetadata"]) == set(raw_http["ResponseMetadata"])
    get = {"TableName": table, "Key": {"PK": {"S": "P"}, "SK": {"S": "1"}}, "ConsistentRead": True}
    boto_get, http_get = both(pair, "GetItem", get)
    assert boto_get == http_get
    assert http_get["Item"]["name"] == {"S": "Ada \u00e9"}


@pytest.mark.integration
def test_query_and_batch_round_trip(pair: tuple[Any, HttpTransport, str]) -> None:
    table = pair[2]
    writes = [{"PutRequest": {"Item": item("Q", f"{i:03d}")}} for i in range(25)]
    boto_batch, http_batch = both(pair, "BatchWriteItem", {"RequestItems": {table: writes}})
    assert boto_batch == http_batch == {"UnprocessedItems": {}}
    query = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :p)",
        "ExpressionAttributeValues": {":pk": {"S": "Q"}, ":p": {"S": "0"}},
        "Limit": 10,
        "ReturnConsumedCapacity": "INDEXES",
    }
    boto_page, http_page = both(pair, "Query", query)
    assert boto_page == http_page
    assert http_page["Count"] == 10
    assert "LastEvaluatedKey" in http_page
    next_page = {**query, "ExclusiveStartKey": http_page["LastEvaluatedKey"]}
    boto_next, http_next = both(pair, "Query", next_page)
    assert boto_next == http_next
    assert http_next["Count"] == 10
    keys = [{"PK": {"S": "Q"}, "SK": {"S": f"{i:03d}"}} for i in range(5)]
    boto_get, http_get = both(pair, "BatchGetItem", {"RequestItems": {table: {"Keys": keys}}})

    def by_key(response: dict[str, Any]) -> list[Any]:
        return sorted(response["Responses"][table], key=lambda i: i["SK"]["S"])

    assert by_key(boto_get) == by_key(http_get)
    assert http_get["UnprocessedKeys"] == {}


@pytest.mark.integration
def test_transactions_round_trip(pair: tuple[Any, HttpTransport, str]) -> None:
    table = pair[2]
    write = {
        "TransactItems": [
            {"Put": {"TableName": table, "Item": item("T", "1")}},
            {
                "Update": {
                    "TableName": table,
                    "Key": {"PK": {"S": "T"}, "SK": {"S": "2"}},
                    "UpdateExpression": "ADD c :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    }
    assert both(pair, "TransactWriteItems", write)[0] == {}
    get = {
        "TransactItems": [
            {"Get": {"TableName": table, "Key": {"PK": {"S": "T"}, "SK": {"S": "1"}}}}
        ]
    }
    boto_get, http_get = both(pair, "TransactGetItems", get)
    assert boto_get == http_get
    assert http_get["Responses"][0]["Item"]["bin"] == {"B": "AAH+"}


@pytest.mark.integration
def test_errors_round_trip(pair: tuple[Any, HttpTransport, str]) -> None:
    boto, http, table = pair
    http.send("PutItem", {"TableName": table, "Item": item("E", "1")})
    failing = {
        "TableName": table,
        "Item": item("E", "1"),
        "ConditionExpression": "attribute_not_exists(PK)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    errors = []
    for transport in (boto, http):
        with pytest.raises(ConditionalCheckFailedError) as caught:
            transport.send("PutItem", failing)
        errors.append(caught.value)
    assert normalize(errors[0].item) == errors[1].item
    assert normalize(errors[0].response) == normalize(errors[1].response)

    cancel = {
        "TransactItems": [
            {"Put": {"TableName": table, "Item": item("E", "2")}},
            {
                "Put": {
                    "TableName": table,
                    "Item": item("E", "1"),
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
    }
    cancelled = []
    for transport in (boto, http):
        with pytest.raises(TransactionCanceledError) as caught_tx:
            transport.send("TransactWriteItems", cancel)
        cancelled.append(caught_tx.value)
    assert [r.code for r in cancelled[1].reasons] == [None, "ConditionalCheckFailed"]
    assert [(r.code, r.message) for r in cancelled[0].reasons] == [
        (r.code, r.message) for r in cancelled[1].reasons
    ]
    assert normalize(cancelled[0].reasons[1].item) == cancelled[1].reasons[1].item
    assert (cancelled[0].code, cancelled[0].message) == (cancelled[1].code, cancelled[1].message)

    for transport in (boto, http):
        with pytest.raises(ServiceValidationError):
            transport.send("GetItem", {"TableName": table, "Key": {"PK": {"S": "x"}}})


@pytest.mark.integration
def test_describe_table_round_trip(pair: tuple[Any, HttpTransport, str]) -> None:
    _, _, table = pair
    boto_desc, http_desc = both(pair, "DescribeTable", {"TableName": table})
    assert boto_desc == http_desc  # datetimes compare as instants (tzlocal vs UTC)
    assert isinstance(http_desc["Table"]["CreationDateTime"], datetime.datetime)
