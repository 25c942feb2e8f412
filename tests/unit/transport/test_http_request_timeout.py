"""HttpTransport's total request timeout: a server trickling bytes cannot hold a call.

The read timeout applies to each ``recv``; a server sending one byte at a time never
trips it. ``request_timeout`` bounds one attempt as a whole.
"""

from __future__ import annotations

import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from dyntable._internal.transport.wire import RequestTimeoutError
from dyntable.errors import TransportError
from dyntable.transport.base import CallEvent
from dyntable.transport.http import HttpTransport
from tests.unit.transport.test_http_transport import CREDS

BODY = b'{"Count": 0, "Items": [], "ScannedCount": 0}'
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
    b"x-amz-crc32: %d\r\nContent-Length: %d\r\n\r\n%s"
    % (zlib.crc32(BODY) & 0xFFFFFFFF, len(BODY), BODY)
)


class Trickler:
    """A loopback server that answers each request one byte every ``pause`` seconds.

    The whole (valid) answer takes ``len(ANSWER) * pause`` seconds, well past the request
    timeouts the tests set and well under any read timeout: without a total timeout the
    call would succeed, late.
    """

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.accepted = 0
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                for i in range(len(ANSWER)):
                    if self.stop.wait(self.pause):
                        return
                    conn.sendall(ANSWER[i:i + 1])
            except OSError:  # the client gave up and closed
                return


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    server = Trickler(pause=0.02)  # the full answer would take about 4 s
    server.thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.thread.join(5)
        server.listener.close()


def transport(url: str, events: list[CallEvent], **options: Any) -> HttpTransport:
    return HttpTransport(endpoint_url=url, region="us-east-1", credentials=CREDS,
                         read_timeout=2.0, sleep=lambda _s: None, rand=lambda: 0.5,
                         hooks=[events.append], **options)


def test_a_trickling_server_is_cut_off_at_the_request_timeout(trickler: Trickler) -> None:
    events: list[CallEvent] = []
    started = time.monotonic()
    with transport(trickler.url, events, request_timeout=0.3, max_attempts=2) as t:
        with pytest.raises(TransportError, match=r"request_timeout=0\.3 s") as caught:
            t.send("Scan", {"TableName": "t"})
    assert time.monotonic() - started < 30  # generous: only proves it did not hang
    assert isinstance(caught.value.__cause__, RequestTimeoutError)
    assert isinstance(caught.value.__cause__, TimeoutError)
    # Retried like a read timeout, on a new connection each time.
    assert events[0].attempts == 2
    assert events[0].error == "TransportError"
    assert trickler.accepted == 2


def test_the_response_arrives_when_the_budget_allows(trickler: Trickler) -> None:
    trickler.pause = 0.001
    events: list[CallEvent] = []
    with transport(trickler.url, events, request_timeout=20, max_attempts=1) as t:
        assert t.send("Scan", {"TableName": "t"})["Count"] == 0
    with transport(trickler.url, events, request_timeout=None, max_attempts=1) as t:
        assert t.send("Scan", {"TableName": "t"})["Count"] == 0


def test_request_timeout_is_validated() -> None:
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="request_timeout"):
            HttpTransport(region="us-east-1", credentials=CREDS, request_timeout=bad)
