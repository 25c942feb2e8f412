"""HTTP/1.1 over pooled keep-alive sockets: just what the DynamoDB JSON protocol needs.

A :class:`Pool` hands out :class:`Connection` objects to one endpoint (TLS for https,
with the CA bundle botocore would use); a connection writes one request and reads one
response (``Content-Length``, chunked, or up to EOF). HTTP proxies are not supported.

Timeouts: ``connect_timeout`` bounds the TCP connect (and TLS handshake), ``read_timeout``
each blocking send or receive. An optional *deadline* (a :func:`time.monotonic` instant)
bounds the whole exchange: before every blocking call the socket timeout is cut to the
time left, so a server trickling one byte at a time cannot hold a request past it; when
it passes, :class:`RequestTimeoutError` is raised. DNS resolution is not bounded by either.

The parts that do no I/O (reading a response head, how its body is framed, keep-alive, the
TLS context, the connect timeout left before a deadline) are shared with the asyncio
connections of :mod:`dyntable._internal.transport.aio_wire`.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections import deque
from contextlib import suppress
from typing import TYPE_CHECKING

from dyntable.transport.credentials import Endpoint

if TYPE_CHECKING:
    import ssl

__all__ = [
    "CHUNKED",
    "MAX_HEAD",
    "TO_EOF",
    "Connection",
    "Pool",
    "RequestTimeoutError",
    "WireError",
    "body_size",
    "ca_bundle",
    "connect_wait",
    "keeps_alive",
    "parse_head",
    "parse_int",
    "time_left",
    "tls_context",
]

_RECV = 65536
#: The longest response head accepted.
MAX_HEAD = 65536
#: :func:`body_size` of a chunked body.
CHUNKED = -1
#: :func:`body_size` of a body that ends when the server closes the connection.
TO_EOF = -2


class WireError(OSError):
    """The server closed the connection or answered something that is not HTTP/1.1."""


class RequestTimeoutError(TimeoutError):
    """The exchange did not finish (connect, send, whole response) before its deadline."""


def time_left(deadline: float) -> float:
    """Seconds left before ``deadline`` (a :func:`time.monotonic` instant).

    Raises:
        RequestTimeoutError: the deadline has passed.
    """
    left = deadline - time.monotonic()
    if left <= 0:
        raise RequestTimeoutError("request timeout: no complete response before the deadline")
    return left


class Connection:
    """One keep-alive connection: writes a request, reads one response.

    Args:
        sock: a connected socket.
        read_timeout: seconds each blocking send or receive may wait (default: the
            socket's current timeout).
    """

    __slots__ = ("_armed", "_cut", "_deadline", "buf", "read_timeout", "sent", "sock")

    def __init__(self, sock: socket.socket, read_timeout: float | None = None) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.read_timeout = sock.gettimeout() if read_timeout is None else read_timeout
        self._armed = self.read_timeout  # the timeout the socket has now
        self._deadline: float | None = None
        self._cut = False  # the armed timeout is the time left before the deadline
        #: True once the last request was handed to the kernel in full (see ``exchange``).
        self.sent = False

    def close(self) -> None:
        """Close the socket (errors ignored)."""
        with suppress(OSError):
            self.sock.close()

    def usable(self) -> bool:
        """True unless the server closed (or wrote on) this idle connection."""
        if self.buf:
            return False
        pending = getattr(self.sock, "pending", None)
        if pending is not None and pending():
            return False
        return not _readable(self.sock)

    def exchange(
        self, request: bytes, deadline: float | None = None
    ) -> tuple[int, dict[str, str], bytes | bytearray, bool]:
        """Send ``request``; return ``(status, headers, body, keep_alive)``.

        Raises:
            RequestTimeoutError: ``deadline`` (a :func:`time.monotonic` instant) passed
                before the whole response was read.
            OSError: the connection failed, or a read waited longer than ``read_timeout``.
        """
        self._deadline = deadline
        try:
            return self._exchange(request)
        except TimeoutError as exc:
            if self._cut and not isinstance(exc, RequestTimeoutError):
                raise RequestTimeoutError(
                    "request timeout: no complete response before the deadline"
                ) from exc
            raise

    def _arm(self) -> None:
        """Set the socket timeout for the next blocking call: ``read_timeout``, cut to the
        time left before the deadline (the socket is touched only when the value changes)."""
        wanted = self.read_timeout
        deadline = self._deadline
        cut = False
        if deadline is not None:
            left = time_left(deadline)
            if wanted is None or left < wanted:
                wanted, cut = left, True
        self._cut = cut
        if wanted != self._armed:
            self.sock.settimeout(wanted)
            self._armed = wanted

    def _exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes | bytearray, bool]:
        self.sent = False
        self._arm()
        self.sock.sendall(request)
        # From here on the server may hold the whole request: a failure can leave it applied.
        self.sent = True
        status, headers, version = self._read_head()
        while 100 <= status < 200:
            status, headers, version = self._read_head()
        keep = keeps_alive(version, headers)
        size = body_size(status, headers)
        body: bytes | bytearray
        if size >= 0:
            body = self._read_exact(size) if size else b""
        elif size == CHUNKED:
            body = self._read_chunked()
        else:
            body, keep = self._read_to_eof(), False
        return status, headers, body, keep and not self.buf

    def _recv(self) -> None:
        self._arm()
        chunk = self.sock.recv(_RECV)
        if not chunk:
            raise WireError("connection closed by the server")
        self.buf += chunk

    def _read_head(self) -> tuple[int, dict[str, str], str]:
        end = self.buf.find(b"\r\n\r\n")
        while end < 0:
            if len(self.buf) > MAX_HEAD:
                raise WireError("response head too large")
            self._recv()
            end = self.buf.find(b"\r\n\r\n")
        head = parse_head(self.buf[:end])
        del self.buf[: end + 4]
        return head

    def _read_exact(self, size: int) -> bytes | bytearray:
        buf = self.buf
        have = len(buf)
        if have >= size:
            if have == size:
                self.buf = bytearray()
                return buf
            out = buf[:size]
            del buf[:size]
            return out
        out = bytearray(size)
        out[:have] = buf
        self.buf = bytearray()
        with memoryview(out) as view:
            while have < size:
                self._arm()
                got = self.sock.recv_into(view[have:])
                if not got:
                    raise WireError("connection closed in the middle of a response")
                have += got
        return out

    def _readline(self) -> bytes:
        end = self.buf.find(b"\r\n")
        while end < 0:
            self._recv()
            end = self.buf.find(b"\r\n")
        line = bytes(self.buf[:end])
        del self.buf[: end + 2]
        return line

    def _read_chunked(self) -> bytearray:
        out = bytearray()
        while True:
            size = parse_int(self._readline().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._readline():
                    pass
                return out
            out += self._read_exact(size)
            self._readline()

    def _read_to_eof(self) -> bytearray:
        while True:
            self._arm()
            chunk = self.sock.recv(_RECV)
            if not chunk:
                out, self.buf = self.buf, bytearray()
                return out
            self.buf += chunk


def _readable(sock: socket.socket) -> bool:
    """True when ``sock`` has data or EOF waiting (an error counts as readable)."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])  # pragma: no cover - Windows
    except (OSError, ValueError):
        return True


def parse_int(text: str | bytes | bytearray, base: int = 10) -> int:
    """A number in a response (status, length, chunk size).

    Raises:
        WireError: it is not one.
    """
    try:
        return int(text, base)
    except ValueError:
        raise WireError("malformed HTTP response") from None


def parse_head(head: bytes | bytearray) -> tuple[int, dict[str, str], str]:
    """``(status, headers, version)`` of a response head (without its closing blank line).

    Header names are lower-cased; repeated headers are joined with ``", "``.

    Raises:
        WireError: it is not an HTTP response head.
    """
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/"):
        raise WireError("not an HTTP response")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return parse_int(rest[:3]), headers, version


def body_size(status: int, headers: dict[str, str]) -> int:
    """How the body of an answer is framed: its length, :data:`CHUNKED` or :data:`TO_EOF`.

    Raises:
        WireError: a malformed ``Content-Length``.
    """
    if status in (204, 304):
        return 0
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return CHUNKED
    if "content-length" in headers:
        return parse_int(headers["content-length"])
    return TO_EOF


def keeps_alive(version: str, headers: dict[str, str]) -> bool:
    """Whether the connection may be reused after this answer (HTTP/1.1 keep-alive)."""
    return version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"


def tls_context() -> ssl.SSLContext:
    """A client TLS context verifying servers against :func:`ca_bundle`."""
    import ssl

    return ssl.create_default_context(cafile=ca_bundle())


def connect_wait(connect_timeout: float, deadline: float | None) -> tuple[float, bool]:
    """``(timeout, cut)``: the connect timeout, cut to the time left before ``deadline``.

    Raises:
        RequestTimeoutError: the deadline has passed.
    """
    if deadline is not None:
        left = time_left(deadline)
        if left < connect_timeout:
            return left, True
    return connect_timeout, False


def ca_bundle() -> str | None:
    """The CA file botocore would use: ``AWS_CA_BUNDLE``, certifi, botocore's own bundle."""
    configured = os.environ.get("AWS_CA_BUNDLE")
    if configured:
        return configured
    try:
        import certifi

        return str(certifi.where())
    except ImportError:  # pragma: no cover - depends on the environment
        pass
    from importlib.util import find_spec

    spec = find_spec("botocore")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(location, "cacert.pem")
        if os.path.exists(path):
            return path
    return None  # pragma: no cover - the system store


class Pool:
    """A LIFO pool of idle keep-alive connections to one endpoint (thread-safe)."""

    def __init__(
        self, endpoint: Endpoint, connect_timeout: float, read_timeout: float, maxsize: int
    ) -> None:
        self.endpoint = endpoint
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.maxsize = maxsize
        self._idle: deque[Connection] = deque()
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def get(self, deadline: float | None = None) -> Connection:
        """An idle connection still open, else a new one (connected before ``deadline``).

        Raises:
            RequestTimeoutError: ``deadline`` passed before a new connection was made.
            OSError: the connection failed.
        """
        idle = self._idle
        while idle:
            try:
                conn = idle.pop()
            except IndexError:
                break
            if conn.usable():
                return conn
            conn.close()
        return self._connect(deadline)

    def put(self, conn: Connection) -> None:
        """Keep ``conn`` for reuse (closed instead when the pool is full)."""
        if len(self._idle) < self.maxsize:
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:
                break

    def _connect(self, deadline: float | None = None) -> Connection:
        ep = self.endpoint
        timeout, cut = self._connect_wait(deadline)
        try:
            sock = socket.create_connection((ep.host, ep.port), timeout=timeout)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                if ep.scheme == "https":
                    if deadline is not None:
                        timeout, cut = self._connect_wait(deadline)
                        sock.settimeout(timeout)
                    sock = self._context().wrap_socket(sock, server_hostname=ep.host)
                sock.settimeout(self.read_timeout)
            except BaseException:
                sock.close()
                raise
        except TimeoutError as exc:
            if cut and not isinstance(exc, RequestTimeoutError):
                raise RequestTimeoutError(
                    "request timeout: not connected before the deadline"
                ) from exc
            raise
        return Connection(sock, self.read_timeout)

    def _connect_wait(self, deadline: float | None) -> tuple[float, bool]:
        return connect_wait(self.connect_timeout, deadline)

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            with self._lock:
                if self._ssl is None:
                    self._ssl = tls_context()
        return self._ssl

