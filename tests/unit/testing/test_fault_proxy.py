"""FaultProxy against a fake DynamoDB upstream: pass-through, rewrites, CRC32, seeding."""

from __future__ import annotations

import http.client
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dyntable.errors import InternalServerError, ThrottlingError
from dyntable.testing.fault_proxy import PROXY_KINDS, FaultProxy
from dyntable.transport.credentials import Credentials
from dyntable.transport.http import HttpTransport

CREDS = Credentials("AK", "SK")
Received = tuple[list[tuple[str, str]], bytes]


class _Upstream(BaseHTTPRequestHandler):
    """Answers like DynamoDB: batches echo what they got (first write left unprocessed)."""

    protocol_version = "HTTP/1.1"
    server: _FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.received.append((list(self.headers.items()), raw))
        operation = self.headers["X-Amz-Target"].rpartition(".")[2]
        body = json.dumps(_answer(operation, json.loads(raw))).encode()
        head = ("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                f"x-amzn-RequestId: req-1\r\nx-amz-crc32: {zlib.crc32(body)}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        self.wfile.write(head.encode() + body)  # one write: no Nagle / delayed-ACK stall


def _answer(operation: str, body: dict[str, Any]) -> dict[str, Any]:
    items = body.get("RequestItems", {})
    if operation == "BatchWriteItem" and items:
        first = next(iter(items))
        return {"UnprocessedItems": {first: items[first][:1]}}
    if operation == "BatchGetItem":
        return {"Responses": {t: list(spec["Keys"]) for t, spec in items.items()},
                "UnprocessedKeys": {}}
    return {"Echo": body}


class _FakeServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Upstream)
        self.received: list[Received] = []
        self.lock = threading.Lock()


@pytest.fixture
def upstream() -> Iterator[_FakeServer]:
    server = _FakeServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def url(server: _FakeServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def post(conn: http.client.HTTPConnection, operation: str, body: dict[str, Any] | bytes
         ) -> tuple[int, dict[str, str], bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", "/", raw, {"X-Amz-Target": f"DynamoDB_20120810.{operation}",
                                    "Content-Type": "application/x-amz-json-1.0",
                                    "Authorization": "AWS4-HMAC-SHA256 Credential=x"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


@contextmanager
def connect(proxy: FaultProxy) -> Iterator[http.client.HTTPConnection]:
    port = int(proxy.endpoint_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        yield conn
    finally:
        conn.close()


def crc_ok(headers: dict[str, str], data: bytes) -> bool:
    return int(headers["x-amz-crc32"]) == zlib.crc32(data) and \
        int(headers["content-length"]) == len(data)


def put(i: int) -> dict[str, Any]:
    return {"PutRequest": {"Item": {"PK": {"S": f"K{i}"}, "SK": {"S": "S"},
                                    "n": {"N": str(i)}}}}


def write_batch(n: int, tables: tuple[str, ...] = ("t1", "t2")) -> dict[str, Any]:
    return {"RequestItems": {t: [put(i) for i in range(j, n, len(tables))]
                             for j, t in enumerate(tables)},
            "ReturnConsumedCapacity": "TOTAL"}


def get_batch(n: int) -> dict[str, Any]:
    keys = [{"PK": {"S": f"K{i}"}, "SK": {"S": "S"}} for i in range(n)]
    return {"RequestItems": {"t1": {"Keys": keys, "ProjectionExpression": "#a",
                                    "ExpressionAttributeNames": {"#a": "a"}}}}


def test_rate_zero_passes_requests_and_answers_through_unchanged(
    upstream: _FakeServer,
) -> None:
    raw = json.dumps({"TableName": "t1", "Key": {"PK": {"S": "é"}}}).encode()
    with FaultProxy(url(upstream), rate=0.0, seed=1) as proxy:
        with connect(proxy) as conn:
            answers = [post(conn, op, raw) for op in ("GetItem", "PutItem", "BatchWriteItem")]
    assert [body for _, body in upstream.received] == [raw] * 3
    sent_headers = dict(upstream.received[0][0])
    assert sent_headers["Host"] == proxy.endpoint_url.removeprefix("http://")
    assert sent_headers["Authorization"] == "AWS4-HMAC-SHA256 Credential=x"
    assert sent_headers["Content-Length"] == str(len(raw))
    for status, headers, data in answers[:2]:
        assert status == 200 and crc_ok(headers, data)
        assert json.loads(data) == {"Echo": json.loads(raw)}
        assert headers["x-amzn-requestid"] == "req-1"
    assert proxy.requests == proxy.forwarded == 3
    assert sum(proxy.injected.values()) == 0
    assert proxy.history == [("GetItem", None), ("PutItem", None), ("BatchWriteItem", None)]


def test_partial_batch_write_forwards_a_subset_and_reports_the_rest(
    upstream: _FakeServer,
) -> None:
    request = write_batch(10)
    with FaultProxy(url(upstream), rate=1.0, seed=7, kinds=("partial",)) as proxy:
        with connect(proxy) as conn:
            status, headers, data = post(conn, "BatchWriteItem", request)
    assert status == 200 and crc_ok(headers, data)
    forwarded = json.loads(upstream.received[0][1])
    assert dict(upstream.received[0][0])["Content-Length"] == str(len(upstream.received[0][1]))
    assert forwarded["ReturnConsumedCapacity"] == "TOTAL"
    sent = [e for reqs in forwarded["RequestItems"].values() for e in reqs]
    unprocessed = json.loads(data)["UnprocessedItems"]
    held = [e for reqs in unprocessed.values() for e in reqs]
    everything = [e for reqs in request["RequestItems"].values() for e in reqs]
    assert 0 < len(sent) < 10
    # The upstream's own unprocessed entry (its first table's first entry) is kept too.
    upstream_left = _answer("BatchWriteItem", forwarded)["UnprocessedItems"]
    first_table, first = next(iter(upstream_left.items()))
    assert unprocessed[first_table][0] == first[0]
    assert sorted(map(json.dumps, everything)) == sorted(
        map(json.dumps, [e for e in sent if e not in first] + held))
    assert proxy.injected["partial"] == 1


def test_partial_batch_get_keeps_the_table_options_of_held_keys(upstream: _FakeServer) -> None:
    request = get_batch(20)
    with FaultProxy(url(upstream), rate=1.0, seed=3, kinds=("partial",)) as proxy:
        with connect(proxy) as conn:
            status, headers, data = post(conn, "BatchGetItem", request)
    assert status == 200 and crc_ok(headers, data)
    answer = json.loads(data)
    got = answer["Responses"]["t1"]
    held = answer["UnprocessedKeys"]["t1"]
    assert held["ProjectionExpression"] == "#a"
    assert held["ExpressionAttributeNames"] == {"#a": "a"}
    assert 0 < len(got) < 20
    everything = request["RequestItems"]["t1"]["Keys"]
    assert sorted(map(json.dumps, got + held["Keys"])) == sorted(map(json.dumps, everything))
    assert not [k for k in got if k in held["Keys"]]


def test_a_single_entry_batch_is_never_split(upstream: _FakeServer) -> None:
    with FaultProxy(url(upstream), rate=1.0, seed=3, kinds=("partial",)) as proxy:
        with connect(proxy) as conn:
            status, _, _ = post(conn, "BatchWriteItem", write_batch(1, ("t1",)))
    assert status == 200
    assert proxy.history == [("BatchWriteItem", None)]
    assert json.loads(upstream.received[0][1]) == write_batch(1, ("t1",))


@pytest.mark.parametrize(("kind", "status", "codes", "forwarded"), [
    ("throttle", 400, {"ThrottlingException", "ProvisionedThroughputExceededException"}, 0),
    ("http500", 500, {"InternalServerError"}, 0),
    ("http500_after", 500, {"InternalServerError"}, 1),
])
def test_error_faults(upstream: _FakeServer, kind: str, status: int, codes: set[str],
                      forwarded: int) -> None:
    with FaultProxy(url(upstream), rate=1.0, seed=1, kinds=(kind,)) as proxy:
        with connect(proxy) as conn:
            got, headers, data = post(conn, "PutItem", {"TableName": "t1"})
            again, _, _ = post(conn, "PutItem", {"TableName": "t1"})  # same connection still works
    assert (got, again) == (status, status)
    assert crc_ok(headers, data)
    assert json.loads(data)["__type"].rpartition("#")[2] in codes
    assert len(upstream.received) == proxy.forwarded == 2 * forwarded
    assert proxy.injected[kind] == 2


@pytest.mark.parametrize(("operation", "forwarded"), [("GetItem", 0), ("PutItem", 1)])
def test_reset_closes_without_an_answer(upstream: _FakeServer, operation: str,
                                        forwarded: int) -> None:
    with FaultProxy(url(upstream), rate=1.0, seed=1, kinds=("reset",)) as proxy:
        with connect(proxy) as conn:
            with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
                post(conn, operation, {"TableName": "t1"})
    assert len(upstream.received) == proxy.forwarded == forwarded


def run_sequence(upstream: _FakeServer, seed: int) -> tuple[list[Any], list[bytes]]:
    start = len(upstream.received)
    with FaultProxy(url(upstream), rate=0.5, seed=seed,
                    kinds=("throttle", "http500", "http500_after", "partial")) as proxy:
        with connect(proxy) as conn:
            for i in range(40):
                post(conn, "BatchGetItem" if i % 2 else "GetItem",
                     get_batch(10) if i % 2 else {"TableName": "t1"})
    return proxy.history, [body for _, body in upstream.received[start:]]


def test_the_seed_makes_the_injection_sequence_reproducible(upstream: _FakeServer) -> None:
    first = run_sequence(upstream, 42)
    assert run_sequence(upstream, 42) == first
    assert run_sequence(upstream, 43)[0] != first[0]
    kinds = {kind for _, kind in first[0]}
    assert kinds == {None, "throttle", "http500", "http500_after", "partial"}


def test_every_kind_is_dealt_within_one_round(upstream: _FakeServer) -> None:
    with FaultProxy(url(upstream), rate=1.0, seed=5) as proxy:
        for _ in range(len(PROXY_KINDS)):
            with connect(proxy) as conn:
                with suppress(http.client.RemoteDisconnected, ConnectionResetError):
                    post(conn, "BatchGetItem", get_batch(4))
    assert sorted(proxy.injected) == sorted(PROXY_KINDS)
    assert set(proxy.injected.values()) == {1}
    assert "partial=1" in proxy.summary() and "seed=5" in proxy.summary()


def test_http_transport_retries_faults_and_verifies_the_rewritten_crc(
    upstream: _FakeServer,
) -> None:
    with FaultProxy(url(upstream), rate=1.0, seed=1, kinds=("throttle",)) as proxy:
        transport = HttpTransport(endpoint_url=proxy.endpoint_url, region="us-east-1",
                                  credentials=CREDS, max_attempts=3,
                                  sleep=lambda _: None)
        with pytest.raises(ThrottlingError) as info:
            transport.send("PutItem", {"TableName": "t1"})
        transport.close()
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert proxy.injected["throttle"] == 3 and not upstream.received

    with FaultProxy(url(upstream), rate=1.0, seed=2, kinds=("partial",)) as proxy:
        transport = HttpTransport(endpoint_url=proxy.endpoint_url, region="us-east-1",
                                  credentials=CREDS, max_attempts=1)
        response = transport.send("BatchWriteItem", write_batch(6))
        transport.close()
    held = sum(len(v) for v in response["UnprocessedItems"].values())
    forwarded = json.loads(upstream.received[-1][1])["RequestItems"]
    assert held == 6 - sum(len(v) for v in forwarded.values()) + 1
    assert response["ResponseMetadata"]["RetryAttempts"] == 0


def test_http500_after_surfaces_as_internal_server_error(upstream: _FakeServer) -> None:
    with FaultProxy(url(upstream), rate=1.0, seed=1, kinds=("http500_after",)) as proxy:
        transport = HttpTransport(endpoint_url=proxy.endpoint_url, region="us-east-1",
                                  credentials=CREDS, max_attempts=2,
                                  sleep=lambda _: None)
        with pytest.raises(InternalServerError):
            transport.send("UpdateItem", {"TableName": "t1"})
        transport.close()
    assert len(upstream.received) == 2  # applied twice: the ambiguity the kind stands for


def test_an_unreachable_upstream_answers_502() -> None:
    with FaultProxy("http://127.0.0.1:9", rate=0.0, seed=1, timeout=2) as proxy:
        with connect(proxy) as conn:
            status, headers, data = post(conn, "GetItem", {"TableName": "t1"})
    assert status == 502 and crc_ok(headers, data)
    assert proxy.upstream_errors == 1 and proxy.forwarded == 0


@pytest.mark.parametrize("kwargs", [{"kinds": ("boom",)}, {"rate": 1.5}])
def test_bad_settings_are_refused(kwargs: dict[str, Any]) -> None:
    options: dict[str, Any] = {"rate": 0.1, "seed": 1, **kwargs}
    with pytest.raises(ValueError):
        FaultProxy("http://127.0.0.1:1", **options)
    with pytest.raises(ValueError):
        FaultProxy("ftp://x", rate=0.1, seed=1)
