"""HTTP/1.1 over asyncio: the async twin of :mod:`dyntable._internal.transport.wire`.

An :class:`AsyncConnection` is an :class:`asyncio.BufferedProtocol` on one keep-alive
connection: it writes one request and parses the answer as the bytes arrive (head, then a
``Content-Length``, chunked or to-EOF body) with wire's parsing helpers, so an answer that
arrives in one segment costs one callback and one wake-up. The loop reads into the
connection's own buffer (a plain protocol would get a fresh 256 KiB ``recv`` per read), and
once a long body's length is known, straight into the body. An :class:`AsyncPool` hands
them out LIFO for one endpoint (TLS with the CA bundle wire uses). HTTP proxies are not
supported.

Loops: a connection belongs to the event loop that opened it, and a pool serves one loop at
a time. Used from another loop (a Lambda handler calling ``asyncio.run`` per invocation),
the pool drops the previous loop's idle connections and opens new ones in the new loop.
When a loop shuts down through ``asyncio.run`` (anything that calls
``loop.shutdown_asyncgens()``: ``asyncio.Runner``, uvloop, pytest-asyncio), the pool closes
its idle connections in that loop first, so no connection is left to a closed loop (which
could no longer close it: Python would warn ``unclosed transport`` when collecting it). A
loop closed by hand without ``shutdown_asyncgens()`` should ``await transport.close()``
first. Several loops at once (threads each running one) should not share a pool: each
would keep dropping the other's idle connections.

Timeouts, as in wire: ``connect_timeout`` bounds the connect and TLS handshake,
``read_timeout`` each wait for bytes, and an optional *deadline* (a :func:`time.monotonic`
instant) the whole exchange: past it,
:class:`~dyntable._internal.transport.wire.RequestTimeoutError`.
Both are loop timers on the connection, not a task per request.

``sent``: true once the whole request was handed to the kernel (the transport's write
buffer is empty; for TLS, once it was handed to the TLS layer, which errs on the side of
"may have been applied").
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncGenerator
from contextlib import suppress
from typing import TYPE_CHECKING, cast

from dyntable._internal.transport.wire import (
    CHUNKED,
    MAX_HEAD,
    TO_EOF,
    RequestTimeoutError,
    WireError,
    body_size,
    connect_wait,
    keeps_alive,
    parse_head,
    parse_int,
    tls_context,
)
from dyntable.transport.credentials import Endpoint

if TYPE_CHECKING:
    import ssl

__all__ = ["AsyncConnection", "AsyncPool", "Exchange"]

#: ``(status, headers, body, keep_alive)`` of one answer.
Exchange = tuple[int, dict[str, str], bytes | bytearray, bool]
_SLACK = 0.001  # timers may fire this early
_READ = 65536  # the connection's read buffer
_EMPTY = bytearray()  # never written to


class AsyncConnection(asyncio.BufferedProtocol):
    """One keep-alive connection in one event loop: writes a request, parses one answer.

    Args:
        loop: the loop the connection is opened in.
        read_timeout: seconds each wait for bytes may last.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self.loop = loop
        self.read_timeout = read_timeout
        self.transport: asyncio.Transport | None = None
        #: True once the last request was handed over in full (see the module doc).
        self.sent = False
        #: True once the connection is closed, or was closed by the server.
        self.closed = False
        self._buf = bytearray()  # received, not parsed yet
        self._read = memoryview(bytearray(_READ))
        self._body: memoryview | None = None  # a body being read in place, and its bytes
        self._body_bytes = _EMPTY
        self._have = 0
        self._waiter: asyncio.Future[Exchange] | None = None
        self._stray = False  # bytes arrived while nothing was asked
        self._paused = False  # the transport holds unsent bytes
        self._head: tuple[int, dict[str, str], str] | None = None
        self._size = 0
        self._chunked = bytearray()
        self._trailer = False
        self._deadline: float | None = None
        self._last = 0.0  # time.monotonic() of the last bytes received
        self._timer: asyncio.TimerHandle | None = None

    # -- protocol callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport; ask to be told whenever unsent bytes are buffered."""
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=0)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def pause_writing(self) -> None:
        """The transport buffered part of the request."""
        self._paused = True

    def resume_writing(self) -> None:
        """The transport handed its buffer to the kernel."""
        self._paused = False
        if self._waiter is not None:
            self.sent = True

    def get_buffer(self, sizehint: int) -> memoryview:
        """Where the loop writes what it reads: the rest of a body read in place, else the
        connection's read buffer."""
        body = self._body
        if body is not None:
            return body[self._have:]
        return self._read

    def buffer_updated(self, nbytes: int) -> None:
        """Parse what arrived; answer the waiting request once its answer is complete."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._stray = True
            return
        self._last = time.monotonic()
        if self._body is not None:
            self._have += nbytes
            if self._have == len(self._body_bytes):
                body, self._body, self._body_bytes = self._body_bytes, None, _EMPTY
                waiter.set_result(self._answer(body))
            return
        self._buf += self._read[:nbytes]
        try:
            answer = self._parse()
        except WireError as exc:
            waiter.set_exception(exc)
            return
        if answer is not None:
            waiter.set_result(answer)

    def eof_received(self) -> bool:
        """The server closed its side: that ends a to-EOF body, and fails anything else."""
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._head is not None and self._size == TO_EOF:
                status, headers, _ = self._head
                body, self._buf = self._buf, bytearray()
                waiter.set_result((status, headers, body, False))
            else:
                waiter.set_exception(WireError("connection closed by the server"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail the waiting request, if any."""
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if isinstance(exc, OSError):
                waiter.set_exception(exc)
            else:
                waiter.set_exception(WireError("connection closed by the server"))

    # -- use ----------------------------------------------------------------------------

    def usable(self) -> bool:
        """True unless the connection was closed (or the server wrote on it while idle)."""
        transport = self.transport
        return not (self.closed or self._stray or transport is None or transport.is_closing())

    async def exchange(self, request: bytes, deadline: float | None = None) -> Exchange:
        """Send ``request``; return ``(status, headers, body, keep_alive)``.

        Raises:
            RequestTimeoutError: ``deadline`` (a :func:`time.monotonic` instant) passed
                before the whole answer was read.
            OSError: the connection failed, or no byte came for ``read_timeout`` seconds.
        """
        self.sent = False
        transport = self.transport
        if transport is None or not self.usable():
            raise WireError("connection closed by the server")
        waiter: asyncio.Future[Exchange] = self.loop.create_future()
        self._waiter = waiter
        self._head = None
        self._body = None
        self._deadline = deadline
        self._last = time.monotonic()
        transport.write(request)
        if not (self._paused or transport.is_closing()):
            self.sent = True
        self._arm()
        try:
            return await waiter
        finally:
            self._waiter = None
            timer = self._timer
            if timer is not None:
                timer.cancel()
                self._timer = None

    def close(self) -> None:
        """Drop the connection at once (without a TLS close_notify).

        From outside its loop (another loop, another thread) the connection's loop is asked
        to do it. When that loop is closed already, nothing can close it properly any more
        (see the module doc).
        """
        self.closed = True
        transport, self.transport = self.transport, None
        if transport is None or transport.is_closing():
            return
        loop = self.loop
        if loop.is_closed():
            with suppress(RuntimeError):
                transport.abort()
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            transport.abort()
        else:
            loop.call_soon_threadsafe(transport.abort)

    # -- timers -------------------------------------------------------------------------

    def _arm(self) -> None:
        """Wake up at the read timeout after the last bytes, or at the deadline."""
        when = self._last + self.read_timeout
        deadline = self._deadline
        if deadline is not None and deadline < when:
            when = deadline
        self._timer = self.loop.call_later(max(0.0, when - time.monotonic()), self._expire)

    def _expire(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        now = time.monotonic() + _SLACK
        deadline = self._deadline
        if deadline is not None and now >= deadline:
            waiter.set_exception(
                RequestTimeoutError("request timeout: no complete response before the deadline")
            )
        elif now - self._last >= self.read_timeout:
            waiter.set_exception(TimeoutError("timed out"))
        else:
            self._arm()

    # -- parsing ------------------------------------------------------------------------

    def _parse(self) -> Exchange | None:
        """The whole answer once it is in the buffer, else ``None``."""
        buf = self._buf
        while self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    raise WireError("response head too large")
                return None
            head = parse_head(buf[:end])
            del buf[: end + 4]
            if not 100 <= head[0] < 200:
                self._head = head
                self._size = body_size(head[0], head[1])
                self._chunked = bytearray()
                self._trailer = False
        size = self._size
        body: bytes | bytearray
        if size >= 0:
            have = len(buf)
            if have < size:
                # The rest is read in place, straight into the body.
                self._body_bytes = bytearray(size)
                self._body_bytes[:have] = buf
                self._body = memoryview(self._body_bytes)
                self._have = have
                buf.clear()
                return None
            if have == size:
                body, self._buf = buf, bytearray()
            else:
                body = buf[:size]
                del buf[:size]
        elif size == CHUNKED:
            chunked = self._dechunk()
            if chunked is None:
                return None
            body = chunked
        else:
            return None  # to EOF: eof_received completes it
        return self._answer(body)

    def _answer(self, body: bytes | bytearray) -> Exchange:
        assert self._head is not None
        status, headers, version = self._head
        return status, headers, body, keeps_alive(version, headers) and not self._buf

    def _dechunk(self) -> bytearray | None:
        """Move the complete chunks in the buffer to the body; the body once it is whole."""
        buf = self._buf
        out = self._chunked
        while True:
            if self._trailer:
                if buf[:2] == b"\r\n":
                    del buf[:2]
                    return out
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return None
                del buf[: end + 4]
                return out
            eol = buf.find(b"\r\n")
            if eol < 0:
                return None
            size = parse_int(bytes(buf[:eol]).split(b";", 1)[0].strip(), 16)
            if size == 0:
                del buf[: eol + 2]
                self._trailer = True
                continue
            end = eol + 2 + size
            if len(buf) < end + 2:
                return None
            out += buf[eol + 2 : end]
            del buf[: end + 2]


class AsyncPool:
    """A LIFO pool of idle keep-alive connections to one endpoint, for one loop at a time.

    Args:
        endpoint: where to connect.
        connect_timeout: seconds to connect (TLS handshake included).
        read_timeout: seconds each wait for bytes may last.
        maxsize: idle connections kept for reuse; more may be open at once, the extras are
            closed after use.
    """

    def __init__(
        self, endpoint: Endpoint, connect_timeout: float, read_timeout: float, maxsize: int
    ) -> None:
        self.endpoint = endpoint
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.maxsize = maxsize
        self._idle: list[AsyncConnection] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncGenerator[None, None] | None = None
        self._ssl: ssl.SSLContext | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop whose connections the pool holds (``None`` before the first use)."""
        return self._loop

    async def get(self, deadline: float | None = None) -> AsyncConnection:
        """An idle connection still open, else a new one (connected before ``deadline``).

        Raises:
            RequestTimeoutError: ``deadline`` passed before a new connection was made.
            OSError: the connection failed.
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            await self._adopt(loop)
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return await self._connect(loop, deadline)

    def put(self, conn: AsyncConnection) -> None:
        """Keep ``conn`` for reuse (closed instead when the pool is full, or when it belongs
        to another loop than the pool's)."""
        if conn.loop is self._loop and len(self._idle) < self.maxsize and conn.usable():
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    async def aclose(self) -> None:
        """Close every idle connection and forget the loop (the next use adopts one)."""
        guard, self._guard = self._guard, None
        self._loop = None
        self.close()
        if guard is not None:
            await guard.aclose()

    async def _adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve ``loop`` from now on: drop the idle connections of the previous one, and
        be told when ``loop`` shuts down."""
        previous = self._guard
        self._loop = loop
        self.close()
        self._guard = guard = self._watch(loop)
        if previous is not None:
            await previous.aclose()
        # A started async generator is closed by loop.shutdown_asyncgens() (asyncio.run
        # does it before closing the loop): its finally block closes the idle connections.
        await guard.__anext__()

    async def _watch(self, loop: asyncio.AbstractEventLoop) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            if self._loop is loop:
                self._loop = None
                self._guard = None
                self.close()

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, deadline: float | None
    ) -> AsyncConnection:
        ep = self.endpoint
        tls = None
        if ep.scheme == "https":
            tls = self._ssl
            if tls is None:
                # Reading the CA bundle takes milliseconds: not in the loop.
                tls = self._ssl = await asyncio.to_thread(tls_context)
        timeout, cut = connect_wait(self.connect_timeout, deadline)
        read_timeout = self.read_timeout

        def protocol() -> AsyncConnection:
            return AsyncConnection(loop, read_timeout)

        opening = loop.create_connection(
            protocol, ep.host, ep.port, ssl=tls, server_hostname=ep.host if tls else None
        )
        try:
            _, conn = await asyncio.wait_for(opening, timeout)
        except asyncio.TimeoutError as exc:  # TimeoutError since Python 3.11
            if cut:
                raise RequestTimeoutError(
                    "request timeout: not connected before the deadline"
                ) from exc
            raise TimeoutError(f"timed out connecting to {ep.host_header}") from exc
        return conn
