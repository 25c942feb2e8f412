"""A loopback HTTP proxy that injects DynamoDB faults below the transport.

:class:`FaultProxy` sits between a dyntable client and DynamoDB Local, so the transport's
own retry logic (botocore's, or :class:`~dyntable.transport.http.HttpTransport`'s) and its
CRC32 checks see real HTTP answers. With probability ``rate`` per request (seeded,
thread-safe) it injects one fault:

``throttle``
    a 400 ``ThrottlingException`` or ``ProvisionedThroughputExceededException``; nothing is
    forwarded.
``http500``
    a 500 ``InternalServerError``; nothing is forwarded.
``http500_after``
    the request is forwarded and applied, then a 500 is returned anyway: the ambiguous
    case (the client cannot know the write happened).
``partial``
    BatchWriteItem / BatchGetItem with two entries or more: a random non-empty, proper
    subset is forwarded; the rest is added to the real answer's ``UnprocessedItems`` /
    ``UnprocessedKeys`` (body rewritten, ``x-amz-crc32`` and ``Content-Length``
    recomputed).
``reset``
    the connection is closed without an answer. Reads are not forwarded; any other
    operation is forwarded first, so for writes this is the same ambiguity as
    ``http500_after``.

Kinds are dealt from a shuffled deck per set of applicable kinds (reshuffled when empty),
so every applicable kind shows up within a few faults while the order stays random.

Requests are otherwise passed through byte for byte, Host header included: the client signs
(SigV4) for the proxy's ``127.0.0.1:port``, and a ``partial`` fault changes the signed body.
DynamoDB Local does not verify signatures, so this is fine there; real DynamoDB would reject
such requests. Bodies are never logged. Both sides use HTTP/1.1 keep-alive: each client
connection gets its own upstream connection; a request whose reused upstream connection
turns out to be closed is re-sent once on a new one (as urllib3 does).
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from dyntable.transport.base import READ_OPERATIONS

__all__ = ["PROXY_KINDS", "Decision", "FaultProxy", "merge_unprocessed", "split_batch"]

#: Fault kinds of :class:`FaultProxy`.
PROXY_KINDS = ("throttle", "http500", "http500_after", "partial", "reset")
_BATCHES = {"BatchWriteItem": "UnprocessedItems", "BatchGetItem": "UnprocessedKeys"}
_THROTTLE_CODES = ("ThrottlingException", "ProvisionedThroughputExceededException")
_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "proxy-connection",
})
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Decision:
    """What the proxy does with one request.

    Attributes:
        kind: the fault kind, or ``None`` to pass the request through.
        held: for ``partial``: indexes (in request order, tables flattened) of the
            entries held back.
        code: for ``throttle``: the error code returned.
    """

    kind: str | None = None
    held: frozenset[int] = field(default_factory=frozenset)
    code: str = ""


class _Dealer:
    """The seeded source of decisions (not locked: :class:`FaultProxy` serialises calls)."""

    def __init__(self, rate: float, seed: int, kinds: Sequence[str]) -> None:
        self._rng = random.Random(seed)
        self._rate = rate
        self._kinds = tuple(kinds)
        self._decks: dict[tuple[str, ...], list[str]] = {}

    def applicable(self, operation: str, entries: int) -> tuple[str, ...]:
        """The kinds that can hit ``operation`` with ``entries`` batch entries."""
        partial_ok = operation in _BATCHES and entries >= 2
        return tuple(k for k in self._kinds if k != "partial" or partial_ok)

    def decide(self, operation: str, entries: int) -> Decision:
        """Draw the fate of one request."""
        kinds = self.applicable(operation, entries)
        if not kinds or self._rng.random() >= self._rate:
            return Decision()
        kind = self._deal(kinds)
        if kind == "partial":
            return Decision(kind, self._split(entries))
        if kind == "throttle":
            return Decision(kind, code=self._rng.choice(_THROTTLE_CODES))
        return Decision(kind)

    def _deal(self, kinds: tuple[str, ...]) -> str:
        deck = self._decks.setdefault(kinds, [])
        if not deck:
            deck.extend(kinds)
            self._rng.shuffle(deck)
        return deck.pop()

    def _split(self, n: int) -> frozenset[int]:
        held = {i for i in range(n) if self._rng.random() < 0.5}
        if not held:
            held.add(self._rng.randrange(n))
        elif len(held) == n:
            held.discard(self._rng.randrange(n))
        return frozenset(held)


# -- batch bodies ---------------------------------------------------------------------------


def _entries(operation: str, body: Any) -> list[tuple[str, Any]]:
    """``(table, entry)`` of a batch request, tables flattened in order."""
    items = body.get("RequestItems") if isinstance(body, dict) else None
    if operation not in _BATCHES or not isinstance(items, dict):
        return []
    if operation == "BatchWriteItem":
        return [(t, e) for t, reqs in items.items() for e in reqs]
    return [(t, k) for t, spec in items.items() for k in spec.get("Keys", [])]


def _regroup(operation: str, body: dict[str, Any], entries: list[tuple[str, Any]]
             ) -> dict[str, Any]:
    """``RequestItems`` holding only ``entries`` (other keys of each table kept)."""
    out: dict[str, Any] = {}
    for table, entry in entries:
        if operation == "BatchWriteItem":
            out.setdefault(table, []).append(entry)
        else:
            spec = body["RequestItems"][table]
            out.setdefault(table, {**spec, "Keys": []})["Keys"].append(entry)
    return out


def split_batch(operation: str, body: dict[str, Any], held: frozenset[int]
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(request to forward, RequestItems held back)`` of a batch request body."""
    entries = _entries(operation, body)
    sent = [e for i, e in enumerate(entries) if i not in held]
    kept = [e for i, e in enumerate(entries) if i in held]
    forward = {**body, "RequestItems": _regroup(operation, body, sent)}
    return forward, _regroup(operation, body, kept)


def merge_unprocessed(operation: str, response: dict[str, Any], held: dict[str, Any]
                      ) -> dict[str, Any]:
    """``response`` with the ``held`` RequestItems added to its unprocessed entries."""
    member = _BATCHES[operation]
    merged = dict(response.get(member) or {})
    for table, entries in held.items():
        before = merged.get(table)
        if operation == "BatchWriteItem":
            merged[table] = [*(before or []), *entries]
        else:
            keys = [*((before or {}).get("Keys") or []), *entries["Keys"]]
            merged[table] = {**entries, **(before or {}), "Keys": keys}
    return {**response, member: merged}


# -- answers --------------------------------------------------------------------------------


def _json_answer(body: bytes, headers: Sequence[tuple[str, str]] = ()) -> Headers:
    """``headers`` (upstream's, hop-by-hop removed) with CRC32 and length set for ``body``."""
    skip = {"content-length", "x-amz-crc32"}
    out = [(k, v) for k, v in headers if k.lower() not in skip]
    if not any(k.lower() == "content-type" for k, _ in out):
        out.append(("Content-Type", "application/x-amz-json-1.0"))
    out.append(("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF)))
    out.append(("Content-Length", str(len(body))))
    return out


def _error_body(code: str, message: str) -> bytes:
    """A DynamoDB JSON error body."""
    return json.dumps({"__type": _ERROR_PREFIX + code, "message": message}).encode()


class FaultProxy:
    """A threaded loopback reverse proxy to ``upstream`` that injects faults (module doc).

    Args:
        upstream: the DynamoDB endpoint, e.g. DynamoDB Local's ``http://127.0.0.1:8000``.
        rate: probability of a fault per request, 0 to 1.
        seed: seed of the RNG choosing which requests fail, how, and which batch entries
            are held back.
        kinds: the fault kinds to use (:data:`PROXY_KINDS`).
        timeout: seconds for connecting to and reading from ``upstream``.

    Use as a context manager (or ``start()`` / ``close()``); point a transport at
    ``endpoint_url``. ``injected`` counts faults per kind, ``requests`` the requests
    received, ``forwarded`` those sent upstream (in full or in part), ``upstream_errors``
    the requests answered 502 because ``upstream`` failed, ``history`` lists
    ``(operation, kind or None)`` per request in decision order.
    """

    def __init__(
        self,
        upstream: str,
        *,
        rate: float,
        seed: int,
        kinds: Sequence[str] = PROXY_KINDS,
        timeout: float = 30.0,
    ) -> None:
        unknown = set(kinds) - set(PROXY_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {PROXY_KINDS}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {rate}")
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream must be an http(s) URL, not {upstream!r}")
        self.upstream = upstream
        self.rate = rate
        self.seed = seed
        self.kinds = tuple(kinds)
        self.timeout = timeout
        self.injected: Counter[str] = Counter()
        self.requests = 0
        self.forwarded = 0
        self.upstream_errors = 0
        self.history: list[tuple[str, str | None]] = []
        self._dealer = _Dealer(rate, seed, self.kinds)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>`` (set once the proxy has started)."""
        if self._port is None:
            raise RuntimeError("the fault proxy is not started")
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> FaultProxy:
        """Listen on a free loopback port and serve in a background thread."""
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="dyntable-fault-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, drop open connections and wait for their threads."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def summary(self) -> str:
        """``rate=... seed=... requests=N forwarded=M throttle=a ...`` for test output."""
        kinds = " ".join(f"{k}={self.injected.get(k, 0)}" for k in self.kinds)
        return (f"rate={self.rate} seed={self.seed} requests={self.requests} "
                f"forwarded={self.forwarded} upstream_errors={self.upstream_errors} {kinds}")

    # -- bookkeeping (called by the handler threads) ------------------------------------

    def decide(self, operation: str, entries: int) -> Decision:
        """Draw the fate of one request and record it."""
        with self._lock:
            decision = self._dealer.decide(operation, entries)
            self.requests += 1
            self.history.append((operation, decision.kind))
            if decision.kind is not None:
                self.injected[decision.kind] += 1
        return decision

    def count(self, name: str) -> None:
        """Add one to ``forwarded`` or ``upstream_errors``."""
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


class _Server(ThreadingHTTPServer):
    """The listening socket; remembers open connections so ``close`` can drop them."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.open_lock:
            self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.open_lock:
            self.open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.open_lock:
            for sock in self.open:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client connections dropped mid-request are normal here: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    """One client connection: each request is decided, then forwarded or answered."""

    protocol_version = "HTTP/1.1"
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        with suppress(OSError):
            super().finish()
        if self._upstream is not None:
            self._upstream.close()

    def log_message(self, format: str, *args: Any) -> None:
        """No access log (and never a body)."""

    def do_POST(self) -> None:
        """Decide the fate of one request and carry it out."""
        if "content-length" not in {k.lower() for k in self.headers}:
            self._answer(411, "Length Required", [("Content-Length", "0")], b"")
            self.close_connection = True
            return
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
        body = _parse(raw) if operation in _BATCHES else None
        decision = self.server.proxy.decide(operation, len(_entries(operation, body)))
        self._carry_out(decision, operation, raw, body)

    def _carry_out(self, decision: Decision, operation: str, raw: bytes, body: Any) -> None:
        kind = decision.kind
        if kind == "throttle":
            self._error(400, "Bad Request", decision.code, "throttling")
        elif kind == "http500":
            self._error(500, "Internal Server Error", "InternalServerError", "http500")
        elif kind == "http500_after":
            if self._forward(raw) is not None:
                self._error(500, "Internal Server Error", "InternalServerError",
                            "http500 after the request was applied")
        elif kind == "reset":
            if operation not in READ_OPERATIONS:
                self._forward(raw)
            self._reset()
        elif kind == "partial":
            self._partial(operation, body, decision.held)
        else:
            self._relay(self._forward(raw))

    # -- forwarding ---------------------------------------------------------------------

    def _forward(self, raw: bytes, headers: Headers | None = None
                 ) -> tuple[int, str, Headers, bytes] | None:
        """Send the request upstream; ``None`` (and a 502 sent) when upstream failed."""
        sent = headers if headers is not None else [
            (k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        proxy = self.server.proxy
        for fresh in (self._upstream is None, True):
            try:
                conn = self._connection()
                conn.putrequest("POST", self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in sent:
                    conn.putheader(k, v)
                conn.endheaders(raw)
                resp = conn.getresponse()
                data = resp.read()
            except _STALE:
                self._drop_upstream()
                if fresh:
                    break
                continue
            except (OSError, http.client.HTTPException):
                self._drop_upstream()
                break
            proxy.count("forwarded")
            if resp.will_close:
                self._drop_upstream()
            return resp.status, resp.reason, _clean(resp.getheaders()), data
        proxy.count("upstream_errors")
        self._error(502, "Bad Gateway", "ServiceUnavailable", "upstream unreachable")
        return None

    def _connection(self) -> http.client.HTTPConnection:
        if self._upstream is None:
            parts = urlsplit(self.server.proxy.upstream)
            https = parts.scheme == "https"
            cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
            conn = cls(parts.hostname or "", parts.port, timeout=self.server.proxy.timeout)
            conn.connect()
            if conn.sock is not None:
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._upstream = conn
        return self._upstream

    def _drop_upstream(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    def _partial(self, operation: str, body: dict[str, Any], held: frozenset[int]) -> None:
        forward, kept = split_batch(operation, body, held)
        raw = json.dumps(forward, separators=(",", ":")).encode()
        headers = [(k, str(len(raw)) if k.lower() == "content-length" else v)
                   for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        answer = self._forward(raw, headers)
        if answer is None:
            return
        status, reason, out_headers, data = answer
        if status != 200:
            self._relay(answer)
            return
        merged = merge_unprocessed(operation, _parse(data), kept)
        new = json.dumps(merged, separators=(",", ":")).encode()
        self._answer(status, reason, _json_answer(new, out_headers), new)

    # -- answering ----------------------------------------------------------------------

    def _relay(self, answer: tuple[int, str, Headers, bytes] | None) -> None:
        if answer is not None:
            status, reason, headers, data = answer
            self._answer(status, reason, [*headers, ("Content-Length", str(len(data)))], data)

    def _error(self, status: int, reason: str, code: str, what: str) -> None:
        data = _error_body(code, f"injected by FaultProxy: {what}")
        headers = [("x-amzn-RequestId", f"fault-proxy-{self.server.proxy.requests}")]
        self._answer(status, reason, _json_answer(data, headers), data)

    def _answer(self, status: int, reason: str, headers: Headers, data: bytes) -> None:
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        with suppress(OSError):
            self.wfile.write(head.encode("latin-1") + b"\r\n" + data)

    def _reset(self) -> None:
        """Close the client connection without an answer (abortive close)."""
        with suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        self.close_connection = True


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _clean(headers: list[tuple[str, str]]) -> Headers:
    """Upstream response headers without hop-by-hop ones and without Content-Length."""
    return [(k, v) for k, v in headers
            if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"]
