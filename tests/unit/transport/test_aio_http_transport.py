"""AsyncHttpTransport against a scripted loopback asyncio server.

Each test drives its coroutines with ``asyncio.run`` (no pytest plugin), so loops start and
end as they would in an application; the server (tests/unit/transport/aio_server.py) runs
its own loop in a thread and outlives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import json
import socket
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar
from unittest import mock

import pytest

from dyntable._internal.transport.sigv4 import SigningCredentials
from dyntable._internal.transport.wire import RequestTimeoutError
from dyntable.errors import (
    ConditionalCheckFailedError,
    ConfigurationError,
    InternalServerError,
    InvalidRequestError,
    ServiceValidationError,
    TransactionCanceledError,
    TransportError,
)
from dyntable.transport.aio_http import AsyncHttpTransport
from dyntable.transport.base import CallEvent, not_idempotent, resend_allowed
from dyntable.transport.credentials import Credentials
from tests.unit.transport.aio_server import PREFIX, AioServer, Answer, error, ok, serving

CREDS = Credentials("AKIDTEST", "secret-test-key")
TEMP = Credentials("ASIATEST", "secret-temp-key", "session-token-value")
KEY = {"PK": {"S": "USER#1"}, "SK": {"S": "PROFILE"}}
PUT = {"TableName": "t", "Item": KEY}
GET = {"TableName": "t", "Key": KEY}
T = TypeVar("T")


@pytest.fixture
def server() -> Iterator[AioServer]:
    with serving() as srv:
        yield srv


class Recorder:
    """Backoff delays asked for (not slept) and the hook events."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.events: list[CallEvent] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def make(url: str, rec: Recorder, **kw: Any) -> AsyncHttpTransport:
    options: dict[str, Any] = {
        "endpoint_url": url,
        "region": "us-east-1",
        "credentials": CREDS,
        "sleep": rec.sleep,
        "rand": lambda: 0.5,
        "hooks": [rec.events.append],
        **kw,
    }
    return AsyncHttpTransport(**options)


def run(transport: AsyncHttpTransport, use: Callable[[AsyncHttpTransport], Awaitable[T]]) -> T:
    """``use(transport)`` in a fresh loop; the transport is closed at the end."""

    async def main() -> T:
        async with transport:
            return await use(transport)

    return asyncio.run(main())


def send(transport: AsyncHttpTransport, operation: str, params: dict[str, Any]) -> Any:
    return run(transport, lambda t: t.send(operation, params))


# --- what is sent --------------------------------------------------------------------------


def test_request_has_target_content_type_and_valid_signature(
    server: AioServer, rec: Recorder
) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotocoreCredentials

    server.add(ok({}))
    send(make(server.url, rec, credentials=TEMP), "PutItem", PUT)
    (got,) = server.received
    assert got.headers["X-Amz-Target"] == "DynamoDB_20120810.PutItem"
    assert got.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert got.headers["X-Amz-Security-Token"] == TEMP.token
    assert got.json() == PUT
    when = datetime.datetime.strptime(got.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    request = AWSRequest(method="POST", url=server.url + "/", data=got.body,
                         headers={k: got.headers[k] for k in ("X-Amz-Target", "Content-Type")})
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(BotocoreCredentials(*TEMP), "dynamodb", "us-east-1").add_auth(request)
    assert got.headers["Authorization"] == request.headers["Authorization"]
    assert got.headers["Host"] == server.url.removeprefix("http://")


def test_bad_requests_are_refused_before_sending(server: AioServer, rec: Recorder) -> None:
    async def use(t: AsyncHttpTransport) -> None:
        with pytest.raises(InvalidRequestError):
            await t.send("PutItem", {"TableName": "t", "Item": {"x": {"N": float("nan")}}})
        with pytest.raises(InvalidRequestError):
            await t.send("Put Item\r\nX: y", PUT)

    run(make(server.url, rec), use)
    assert server.received == []


def test_stream_calls_use_the_streams_target_and_their_own_endpoint(rec: Recorder) -> None:
    with serving() as main, serving() as streams:
        main.add(ok({"Item": KEY}))
        streams.add(ok({"StreamDescription": {}}), ok({"Records": []}))
        transport = make(main.url, rec, streams_endpoint_url=streams.url)

        async def use(t: AsyncHttpTransport) -> None:
            await t.send("DescribeStream", {"StreamArn": "arn:s"})
            await t.send("GetItem", GET)
            await t.send("GetRecords", {"ShardIterator": "it"})

        run(transport, use)
    assert [r.headers["X-Amz-Target"] for r in streams.received] == [
        "DynamoDBStreams_20120810.DescribeStream", "DynamoDBStreams_20120810.GetRecords"]
    assert [r.headers["X-Amz-Target"] for r in main.received] == ["DynamoDB_20120810.GetItem"]
    assert "/us-east-1/dynamodb/aws4_request" in streams.received[0].headers["Authorization"]


# --- answers -------------------------------------------------------------------------------


def test_success_shape_and_event(server: AioServer, rec: Recorder) -> None:
    capacity = {"TableName": "t", "CapacityUnits": 1.0}
    server.add(ok({"Item": KEY, "ConsumedCapacity": capacity}))
    response = send(make(server.url, rec), "GetItem", GET)
    assert response["Item"] == KEY
    meta = response["ResponseMetadata"]
    assert (meta["HTTPStatusCode"], meta["RequestId"], meta["RetryAttempts"]) == (200, "req-1", 0)
    (event,) = rec.events
    assert (event.operation, event.table, event.attempts, event.error) == ("GetItem", "t", 1, None)
    assert event.consumed_capacity == capacity
    assert event.transport == "async-http"


@pytest.mark.parametrize("answer", [
    ok({"Count": 1}, chunked=True),
    ok({"Count": 1, "Items": [KEY] * 50}, pieces=5),
    ok({"Count": 1}, chunked=True, pieces=7),
    ok({"Count": 1}, trickle=0.001),
], ids=["chunked", "in-pieces", "chunked-in-pieces", "trickled"])
def test_answers_are_read_however_they_arrive(
    server: AioServer, rec: Recorder, answer: Answer
) -> None:
    server.add(answer, ok({"Count": 2}))

    async def use(t: AsyncHttpTransport) -> list[Any]:
        return [await t.send("Query", {"TableName": "t"}) for _ in range(2)]

    first, second = run(make(server.url, rec), use)
    assert (first["Count"], second["Count"]) == (1, 2)
    assert server.ports()[0] == server.ports()[1]  # the connection stayed usable


def test_throttling_is_retried_then_succeeds(server: AioServer, rec: Recorder) -> None:
    server.add(error(400, "ProvisionedThroughputExceededException"), ok({"Count": 0}))
    transport = make(server.url, rec)
    response = send(transport, "Query", {"TableName": "t"})
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert rec.sleeps == [0.5]  # rand 0.5 * min(1 s * 2**0, 20 s)
    assert (rec.events[0].attempts, transport.retries, transport.calls) == (2, 1, 1)


def test_server_errors_until_max_attempts(server: AioServer, rec: Recorder) -> None:
    server.default = error(500, "InternalServerError", "oops")
    with pytest.raises(InternalServerError) as caught:
        send(make(server.url, rec), "PutItem", PUT)
    assert len(server.received) == 4
    assert rec.sleeps == pytest.approx([0.0125, 0.025, 0.05])  # 0.5 * 25 ms * 2**i
    err = caught.value
    assert (err.code, err.status, err.operation, err.message) == (
        "InternalServerError", 500, "PutItem", "oops")
    assert err.maybe_applied  # a 500 after the request was sent
    assert err.response["ResponseMetadata"]["MaxAttemptsReached"] is True


def test_errors_are_mapped_with_their_modeled_members(server: AioServer, rec: Recorder) -> None:
    current = {**KEY, "version": {"N": "3"}}
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": KEY}]
    cancel = {"__type": PREFIX + "TransactionCanceledException", "Message": "cancelled",
              "CancellationReasons": reasons}
    server.add(error(400, "ConditionalCheckFailedException", "failed", Item=current),
               Answer(400, json.dumps(cancel).encode()), error(400, "ValidationException"))

    async def use(t: AsyncHttpTransport) -> list[BaseException]:
        caught: list[BaseException] = []
        for operation in ("PutItem", "TransactWriteItems", "GetItem"):
            try:
                await t.send(operation, PUT)
            except BaseException as exc:
                caught.append(exc)
        return caught

    condition, cancelled, invalid = run(make(server.url, rec), use)
    assert isinstance(condition, ConditionalCheckFailedError)
    assert condition.item == current
    assert isinstance(cancelled, TransactionCanceledError)
    assert [r.code for r in cancelled.reasons] == [None, "ConditionalCheckFailed"]
    assert isinstance(invalid, ServiceValidationError)
    assert not (condition.maybe_applied or cancelled.maybe_applied or invalid.maybe_applied)
    assert len(server.received) == 3  # none of them retried


def test_bad_crc32_is_retried_and_a_transport_error_at_the_end(
    server: AioServer, rec: Recorder
) -> None:
    server.add(ok({"Count": 1}, crc=12345), ok({"Count": 1}))
    assert send(make(server.url, rec), "Query", {"TableName": "t"})["Count"] == 1
    assert rec.sleeps == [0.0125]
    server.default = ok({"Count": 1}, crc=1)
    with pytest.raises(TransportError, match="CRC32") as caught:
        send(make(server.url, rec, max_attempts=3), "Query", {"TableName": "t"})
    assert caught.value.maybe_applied  # a corrupt success may have been applied
    assert len(server.received) == 2 + 3


def test_retry_quota_limits_retries(server: AioServer, rec: Recorder) -> None:
    server.default = error(500, "InternalServerError")

    async def use(t: AsyncHttpTransport) -> None:
        with pytest.raises(InternalServerError) as caught:
            await t.send("PutItem", PUT)
        # 500 tokens, 14 per transient retry: 35 retries, then the quota is spent.
        assert len(server.received) == 36
        assert caught.value.response["ResponseMetadata"]["RetryQuotaReached"] is True
        server.default = None
        server.add(ok({}))
        await t.send("PutItem", PUT)

    run(make(server.url, rec, max_attempts=100), use)


def test_connection_refused_is_retried_and_never_maybe_applied(rec: Recorder) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransportError, match="after 4 attempts") as caught:
        with not_idempotent():  # nothing was sent: resending is safe
            send(make(f"http://127.0.0.1:{port}", rec), "PutItem", PUT)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert not caught.value.maybe_applied
    assert len(rec.sleeps) == 3


# --- timeouts ------------------------------------------------------------------------------


@pytest.fixture
def unanswered() -> Iterator[str]:
    """A URL whose connects hang: a listener whose accept queue is full (SYNs dropped)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filling = []
    for _ in range(4):
        sock = socket.socket()
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(("127.0.0.1", port))
        filling.append(sock)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for sock in filling:
            sock.close()
        listener.close()


def test_the_request_timeout_bounds_the_connect_and_nothing_was_sent(
    unanswered: str, rec: Recorder
) -> None:
    started = time.monotonic()
    with not_idempotent(), pytest.raises(TransportError, match="request_timeout") as caught:
        send(make(unanswered, rec, request_timeout=0.2, connect_timeout=30, max_attempts=2),
             "PutItem", PUT)
    assert time.monotonic() - started < 20  # generous: only proves it did not hang
    assert isinstance(caught.value.__cause__, RequestTimeoutError)
    assert rec.events[0].attempts == 2  # not sent: retried even when not idempotent
    assert not caught.value.maybe_applied


def test_the_connect_timeout_is_a_transport_error(unanswered: str, rec: Recorder) -> None:
    with pytest.raises(TransportError, match="timed out connecting") as caught:
        send(make(unanswered, rec, connect_timeout=0.2, max_attempts=1), "GetItem", GET)
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert not isinstance(caught.value.__cause__, RequestTimeoutError)


def test_a_trickling_server_is_cut_off_at_the_request_timeout(
    server: AioServer, rec: Recorder
) -> None:
    server.default = ok({"Count": 0}, trickle=0.02)  # the answer would take seconds
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"request_timeout=0\.3 s") as caught:
        send(make(server.url, rec, request_timeout=0.3, read_timeout=60, max_attempts=2),
             "Scan", {"TableName": "t"})
    assert time.monotonic() - started < 30  # generous: only proves it did not hang
    assert isinstance(caught.value.__cause__, RequestTimeoutError)
    assert caught.value.maybe_applied
    assert rec.events[0].attempts == 2
    assert server.accepted == 2  # the timed-out connection is not reused


def test_the_answer_arrives_when_the_budget_allows(server: AioServer, rec: Recorder) -> None:
    server.add(ok({"Count": 0}, trickle=0.001), ok({"Count": 0}, trickle=0.001))
    assert send(make(server.url, rec, request_timeout=20), "Scan", {})["Count"] == 0
    assert send(make(server.url, rec, request_timeout=None), "Scan", {})["Count"] == 0


def test_read_timeout_is_a_transport_error(server: AioServer, rec: Recorder) -> None:
    server.default = Answer(delay=0.5)
    with pytest.raises(TransportError, match="after 2 attempts") as caught:
        send(make(server.url, rec, read_timeout=0.1, max_attempts=2), "GetItem", GET)
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert not isinstance(caught.value.__cause__, RequestTimeoutError)


def test_timeouts_are_validated() -> None:
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="request_timeout"):
            AsyncHttpTransport(region="us-east-1", credentials=CREDS, request_timeout=bad)
    with pytest.raises(ValueError, match="standard"):
        AsyncHttpTransport(region="us-east-1", credentials=CREDS, retry_mode="adaptive")


# --- the pool ------------------------------------------------------------------------------


def test_connection_is_reused_until_the_server_says_close(
    server: AioServer, rec: Recorder
) -> None:
    server.add(ok({}), ok({}), ok({}, close=True), ok({}))

    async def use(t: AsyncHttpTransport) -> None:
        for _ in range(4):
            await t.send("GetItem", GET)

    run(make(server.url, rec), use)
    ports = server.ports()
    assert ports[0] == ports[1] == ports[2]
    assert ports[3] != ports[2]


def test_idle_connection_closed_by_the_server_is_not_reused(
    server: AioServer, rec: Recorder
) -> None:
    server.add(ok({}, drop=True), ok({"TableNames": []}))

    async def use(t: AsyncHttpTransport) -> None:
        await t.send("ListTables", {})
        await asyncio.sleep(0.05)  # the server's FIN arrives while the connection is idle
        await t.send("ListTables", {})

    run(make(server.url, rec), use)
    assert [e.attempts for e in rec.events] == [1, 1]  # seen before use: no retry
    assert server.ports()[0] != server.ports()[1]


def test_concurrent_tasks_share_a_bounded_pool(server: AioServer, rec: Recorder) -> None:
    server.default = ok({"Count": 0, "Items": []})
    transport = make(server.url, rec, max_pool_connections=2)

    async def use(t: AsyncHttpTransport) -> int:
        async def work() -> None:
            for _ in range(25):
                await t.send("Query", {"TableName": "t"})

        await asyncio.gather(*(work() for _ in range(8)))
        return len(t._main.pool._idle)

    assert run(transport, use) <= 2
    assert len(server.received) == transport.calls == 200
    assert all(event.attempts == 1 for event in rec.events)
    assert server.accepted <= 8  # one connection per concurrent call at most


def test_a_new_loop_gets_new_connections_and_the_old_ones_are_closed(
    server: AioServer, rec: Recorder
) -> None:
    # A Lambda handler running asyncio.run per invocation, with one transport kept at
    # module level: each loop's connections are its own, and none outlives its loop.
    server.default = ok({})
    transport = make(server.url, rec)

    async def invocation() -> list[int]:
        await asyncio.gather(*(transport.send("GetItem", GET) for _ in range(3)))
        await transport.send("GetItem", GET)  # reuses one of them
        pool = transport._main.pool
        assert pool.loop is asyncio.get_running_loop()
        return sorted(c.transport.get_extra_info("sockname")[1] for c in pool._idle
                      if c.transport is not None)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = asyncio.run(invocation())
        wait_until(lambda: sorted(server.closed_by_client) == first)  # closed with the loop
        second = asyncio.run(invocation())
        gc.collect()
    assert len(first) == 3
    assert not set(first) & set(server.ports()[4:])  # the second loop used new ones
    assert len(second) == 3
    assert server.accepted == 6
    run(transport, lambda t: asyncio.sleep(0))  # close() in a third loop
    wait_until(lambda: len(server.closed_by_client) == 6)


def test_close_then_use_again(server: AioServer, rec: Recorder) -> None:
    server.default = ok({})

    async def use(t: AsyncHttpTransport) -> None:
        await t.send("GetItem", GET)
        await t.close()
        await t.send("GetItem", GET)

    run(make(server.url, rec), use)
    assert server.accepted == 2
    wait_until(lambda: len(server.closed_by_client) == 2)


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


# --- ambiguous attempts --------------------------------------------------------------------


@pytest.mark.parametrize("answer", [error(500, "InternalServerError"), Answer(reset=True),
                                    ok({}, crc=7)], ids=["500", "no-answer", "bad-crc32"])
def test_an_attempt_that_may_have_been_applied_is_not_resent_when_not_idempotent(
    server: AioServer, rec: Recorder, answer: Answer
) -> None:
    server.add(answer)
    with not_idempotent(), pytest.raises((InternalServerError, TransportError)) as caught:
        send(make(server.url, rec), "UpdateItem", PUT)
    assert len(server.received) == 1
    err = caught.value
    assert isinstance(err, (InternalServerError, TransportError)) and err.maybe_applied


def test_throttles_are_resent_when_not_idempotent_and_never_maybe_applied(
    server: AioServer, rec: Recorder
) -> None:
    server.add(error(400, "ThrottlingException"), error(400, "ThrottlingException"),
               error(400, "ConditionalCheckFailedException"))
    with not_idempotent(), pytest.raises(ConditionalCheckFailedError) as caught:
        send(make(server.url, rec), "UpdateItem", PUT)
    assert len(server.received) == 3
    assert not caught.value.maybe_applied


def test_an_earlier_ambiguous_attempt_marks_the_final_error(
    server: AioServer, rec: Recorder
) -> None:
    server.add(error(500, "InternalServerError"), error(400, "ConditionalCheckFailedException"))
    with pytest.raises(ConditionalCheckFailedError) as caught:
        send(make(server.url, rec), "PutItem", PUT)
    assert caught.value.maybe_applied  # the 500 may have applied it: the condition then failed


def test_resend_allowed_is_per_task(server: AioServer, rec: Recorder) -> None:
    # Two tasks at once, one inside not_idempotent(): only the other one is resent.
    server.default = ok({})
    server.add(error(500, "InternalServerError"), error(500, "InternalServerError"))

    async def use(t: AsyncHttpTransport) -> list[Any]:
        gate = asyncio.Event()

        async def guarded() -> Any:
            with not_idempotent():
                assert not resend_allowed()
                await gate.wait()
                return await t.send("UpdateItem", {"TableName": "guarded"})

        async def free() -> Any:
            assert resend_allowed()
            gate.set()
            return await t.send("UpdateItem", {"TableName": "free"})

        return list(await asyncio.gather(guarded(), free(), return_exceptions=True))

    guarded, free = run(make(server.url, rec), use)
    assert isinstance(guarded, InternalServerError)
    assert guarded.maybe_applied
    assert "ResponseMetadata" in free  # resent after its 500
    tables = [r.json()["TableName"] for r in server.received]
    assert tables.count("guarded") == 1
    assert tables.count("free") == 2


# --- credentials and construction ----------------------------------------------------------


class ChainLike:
    """A provider that says it may block (as botocore's chain does before it is loaded)."""

    def __init__(self) -> None:
        self.threads: list[int] = []

    def may_block(self) -> bool:
        return True

    def __call__(self) -> SigningCredentials:
        self.threads.append(threading.get_ident())
        return CREDS


def test_a_provider_that_may_block_is_called_in_a_thread(
    server: AioServer, rec: Recorder
) -> None:
    server.default = ok({})
    chain = ChainLike()
    loop_threads: list[int] = []

    async def use(t: AsyncHttpTransport) -> None:
        loop_threads.append(threading.get_ident())
        await t.send("GetItem", GET)

    run(make(server.url, rec, credentials=chain), use)
    assert chain.threads and loop_threads[0] not in chain.threads
    static: list[int] = []

    def provider() -> SigningCredentials:
        static.append(threading.get_ident())
        return CREDS

    run(make(server.url, rec, credentials=provider), use)
    assert static == [loop_threads[1]]  # used in the loop


def test_botocore_chain_is_loaded_in_a_thread(
    monkeypatch: pytest.MonkeyPatch, server: AioServer, rec: Recorder
) -> None:
    from botocore.credentials import Credentials as BotocoreCredentials

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    threads: list[int] = []

    def load() -> BotocoreCredentials:  # botocore's chain: may reach IMDS, SSO...
        threads.append(threading.get_ident())
        return BotocoreCredentials("AKIDCHAIN", "chain-secret")

    monkeypatch.setattr("dyntable.transport.credentials._load_botocore_credentials", load)
    server.default = ok({})
    transport = make(server.url, rec, credentials=None)
    send(transport, "GetItem", GET)
    send(transport, "GetItem", GET)
    assert len(threads) == 1 and threads[0] != threading.get_ident()
    assert all("AKIDCHAIN/" in r.headers["Authorization"] for r in server.received)


def test_botocore_credentials_are_refreshed_in_a_thread(
    server: AioServer, rec: Recorder
) -> None:
    from botocore.credentials import RefreshableCredentials

    threads: list[int] = []

    def refresh() -> dict[str, str]:
        threads.append(threading.get_ident())
        # Already inside the refresh window: every use refreshes.
        expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
        return {"access_key": f"AK{len(threads)}", "secret_key": "s", "token": "t",
                "expiry_time": expiry.isoformat()}

    creds = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    threads.clear()
    server.default = ok({})
    send(make(server.url, rec, credentials=creds), "GetItem", GET)
    assert threads and threading.get_ident() not in threads
    assert "AK" in server.received[0].headers["Authorization"]


def test_missing_credentials_is_a_transport_error(
    monkeypatch: pytest.MonkeyPatch, server: AioServer, rec: Recorder
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(TransportError, match="credentials"):
        send(make(server.url, rec, credentials=None), "ListTables", {})
    assert server.received == []


def test_building_a_transport_creates_no_event_loop() -> None:
    refuse = mock.Mock(side_effect=AssertionError("an event loop was asked for"))
    with (
        mock.patch("asyncio.new_event_loop", refuse),
        mock.patch("asyncio.get_event_loop", refuse),
        mock.patch("asyncio.events.BaseDefaultEventLoopPolicy.new_event_loop", refuse),
        mock.patch("asyncio.events.BaseDefaultEventLoopPolicy.get_event_loop", refuse),
    ):
        transport = AsyncHttpTransport(region="us-east-1", endpoint_url="http://127.0.0.1:1",
                                       credentials=CREDS)
    assert transport._main.pool.loop is None
    assert not refuse.called


# --- TLS -----------------------------------------------------------------------------------


def test_https_uses_the_ca_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                  rec: Recorder) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    answer = ok({"TableNames": []})

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = [line for line in head.split(b"\r\n") if line.startswith(b"Content-Length")]
            await reader.readexactly(int(length[0].split(b":")[1]))
            writer.write(answer.render("tls-1"))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.transport.abort()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        url = f"https://localhost:{server.sockets[0].getsockname()[1]}"
        try:
            monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
            async with make(url, rec) as trusted:
                assert (await trusted.send("ListTables", {}))["TableNames"] == []
            monkeypatch.delenv("AWS_CA_BUNDLE")
            async with make(url, rec, max_attempts=1) as untrusting:
                with pytest.raises(TransportError) as caught:
                    await untrusting.send("ListTables", {})
            assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def _self_signed(directory: Any) -> tuple[str, str]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_real_aws_is_refused_under_motos_mock() -> None:
    moto = pytest.importorskip("moto")
    with moto.mock_aws(), pytest.raises(ConfigurationError, match="mock_aws is active"):
        AsyncHttpTransport(region="eu-west-1", credentials=CREDS)
