"""A scripted loopback HTTP/1.1 server on asyncio, for the async transport's tests.

It runs its own event loop in a background thread, so it outlives the loops of the code
under test (several ``asyncio.run`` calls in one test). Each request gets the next scripted
answer (or ``default``); the server records what it received and which connections the
client closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PREFIX = "com.amazonaws.dynamodb.v20120810#"


@dataclass
class Answer:
    """One scripted answer.

    Attributes:
        crc: True: a correct ``x-amz-crc32``; an int: that value; False: none.
        delay: seconds to wait before answering.
        trickle: seconds between bytes of the answer (0: all at once).
        pieces: write the answer in this many parts, with a short pause between them.
        close: say ``Connection: close``, then close.
        drop: close after answering, without saying so.
        reset: close the connection instead of answering.
        chunked: send the body with chunked transfer encoding.
    """

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    crc: bool | int = True
    delay: float = 0.0
    trickle: float = 0.0
    pieces: int = 1
    close: bool = False
    drop: bool = False
    reset: bool = False
    chunked: bool = False

    def render(self, request_id: str) -> bytes:
        """The bytes of this answer."""
        lines = [f"HTTP/1.1 {self.status} X", "Content-Type: application/x-amz-json-1.0",
                 f"x-amzn-RequestId: {request_id}"]
        if self.crc is True:
            lines.append(f"x-amz-crc32: {zlib.crc32(self.body) & 0xFFFFFFFF}")
        elif self.crc is not False:
            lines.append(f"x-amz-crc32: {self.crc}")
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.close:
            lines.append("Connection: close")
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
            half = len(self.body) // 2
            parts = [p for p in (self.body[:half], self.body[half:]) if p]
            body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts)
            body += b"0\r\nx-trailer: 1\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(self.body)}")
            body = self.body
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def ok(payload: dict[str, Any], **kw: Any) -> Answer:
    """A 200 with ``payload`` as its JSON body."""
    return Answer(200, json.dumps(payload).encode(), **kw)


def error(status: int, code: str, message: str = "boom", **fields: Any) -> Answer:
    """A DynamoDB error answer."""
    body = {"__type": PREFIX + code, "message": message, **fields}
    return Answer(status, json.dumps(body).encode())


@dataclass
class Received:
    """One request the server read."""

    headers: dict[str, str]
    body: bytes
    client_port: int

    def json(self) -> Any:
        return json.loads(self.body)


class AioServer:
    """The server (see the module doc). Use as a context manager."""

    def __init__(self) -> None:
        self.script: deque[Answer] = deque()
        self.default: Answer | None = None
        self.received: list[Received] = []
        self.accepted = 0
        #: Client ports of connections the client closed (EOF or reset) while idle.
        self.closed_by_client: list[int] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.url = ""

    def __enter__(self) -> AioServer:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._serve, "127.0.0.1", 0))
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def add(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def requests_json(self) -> list[Any]:
        return [r.json() for r in self.received]

    def ports(self) -> list[int]:
        return [r.client_port for r in self.received]

    def _next(self) -> Answer:
        if self.script:
            return self.script.popleft()
        assert self.default is not None, "the server ran out of scripted answers"
        return self.default

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        port = writer.get_extra_info("peername")[1]
        try:
            while await self._one(reader, writer, port):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed_by_client.append(port)
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   port: int) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
        body = await reader.readexactly(int(headers.get("Content-Length", "0")))
        self.received.append(Received(headers, body, port))
        answer = self._next()
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.reset:
            return False
        data = answer.render(f"req-{len(self.received)}")
        if answer.trickle:
            for i in range(len(data)):
                writer.write(data[i:i + 1])
                await writer.drain()
                await asyncio.sleep(answer.trickle)
        else:
            step = -(-len(data) // answer.pieces)
            for start in range(0, len(data), step):
                writer.write(data[start:start + step])
                await writer.drain()
                if answer.pieces > 1:
                    await asyncio.sleep(0.01)
        return not (answer.close or answer.drop)


@contextlib.contextmanager
def serving() -> Iterator[AioServer]:
    """An :class:`AioServer`, started and stopped."""
    with AioServer() as server:
        yield server
