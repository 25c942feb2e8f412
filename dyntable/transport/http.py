"""A direct HTTP transport: DynamoDB's JSON 1.0 protocol and dyntable's own SigV4.

botocore stays off the hot path: a request is one ``json`` encode, one signature
(:mod:`dyntable.transport.sigv4`), one write on a pooled keep-alive socket, and one
``json`` decode of the answer. Importing this module imports neither boto3 nor botocore;
botocore is loaded only when credentials or the region must come from its configuration
chain (see :mod:`dyntable.transport.credentials`).

Responses have the shape boto3's client returns, with two documented differences:

* ``B`` / ``BS`` values stay base64 text (the codec accepts both); nothing walks items.
* the timestamps botocore converts in the control-plane answers dyntable uses
  (``CreateTable`` / ``UpdateTable`` / ``DeleteTable`` / ``DescribeTable`` and continuous
  backups) become timezone-aware UTC datetimes (botocore uses the local zone; the
  instants compare equal). Other operations' timestamps stay epoch numbers.

On requests, a ``str`` given for a ``B`` value is sent as is, so it must already be
base64 (as this transport returns binary values); bytes are base64-encoded.

Retries follow botocore's ``standard`` mode (``botocore/retries/standard.py``): throttling
codes, 429, 500/502/503/504, transient codes, connection errors and timeouts, and a bad
``x-amz-crc32`` are retried with full-jitter exponential backoff (base 1 s when
throttled, 25 ms otherwise, capped at 20 s, raised to ``x-amz-retry-after`` within 5 s),
under a per-transport retry quota (500 tokens; a retry costs 5 when throttled, 14
otherwise; a success refunds the last cost, or 1 without retries). ``adaptive`` and
``legacy`` modes are refused: use :class:`~dyntable.transport.boto3.Boto3Transport` for
client-side rate limiting. A bad CRC32 on a success that cannot be retried any more
raises :class:`~dyntable.errors.TransportError` (botocore would return the body).

HTTP proxies are not supported (use the boto3 transport behind a proxy).
"""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time
import zlib
from binascii import b2a_base64
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dyntable.errors import ConfigurationError, InvalidRequestError, TransportError, service_error
from dyntable.transport.base import Hook, Params, Response, TransportBase
from dyntable.transport.credentials import (
    Endpoint,
    configured_endpoint_url,
    credentials_provider,
    resolve_endpoint,
    resolve_region,
)
from dyntable.transport.sigv4 import JsonSigner, SigningCredentials

if TYPE_CHECKING:
    import ssl

__all__ = ["HttpTransport"]

_TARGET_PREFIX = "DynamoDB_20120810."
_CONTENT_TYPE = "application/x-amz-json-1.0"
_USER_AGENT = "dyntable-http/0.1"
_RECV = 65536
_MAX_HEAD = 65536

# --- retry policy (botocore/retries/standard.py, botocore 1.44) -----------------------------

_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
_TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
_MESSAGE_ONLY = ("message",)
#: Errors the DynamoDB service model declares -> their members. Those members are copied
#: from the body into the error response (botocore's modeled-error parse), and a 429 with
#: one of these codes is left to the code's own retry rule.
_MODELED_ERRORS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        (
            "BackupInUseException",
            "BackupNotFoundException",
            "ContinuousBackupsUnavailableException",
            "DuplicateItemException",
            "ExportConflictException",
            "ExportNotFoundException",
            "GlobalTableAlreadyExistsException",
            "GlobalTableNotFoundException",
            "ImportConflictException",
            "ImportNotFoundException",
            "IndexNotFoundException",
            "InternalServerError",
            "InvalidExportTimeException",
            "InvalidRestoreTimeException",
            "ItemCollectionSizeLimitExceededException",
            "LimitExceededException",
            "PointInTimeRecoveryUnavailableException",
            "PolicyNotFoundException",
            "ReplicaAlreadyExistsException",
            "ReplicaNotFoundException",
            "ReplicatedWriteConflictException",
            "ResourceInUseException",
            "ResourceNotFoundException",
            "TableAlreadyExistsException",
            "TableInUseException",
            "TableNotFoundException",
            "TransactionConflictException",
        ),
        _MESSAGE_ONLY,
    ),
    "ConditionalCheckFailedException": ("message", "Item"),
    "IdempotentParameterMismatchException": ("Message",),
    "ProvisionedThroughputExceededException": ("message", "ThrottlingReasons"),
    "RequestLimitExceeded": ("message", "ThrottlingReasons"),
    "ThrottlingException": ("message", "throttlingReasons"),
    "TransactionCanceledException": ("Message", "CancellationReasons"),
    "TransactionInProgressException": ("Message",),
}
#: Modeled as retryable (not throttling) in the service model.
_MODELED_TRANSIENT = frozenset({"ReplicatedWriteConflictException"})

_THROTTLED = 1
_TRANSIENT = 2
_THROTTLING_BASE = 1.0
_TRANSIENT_BASE = 0.025  # DynamoDB's non-throttling base scale
_MAX_BACKOFF = 20.0
_RETRY_AFTER_EXTRA = 5.0
_QUOTA_CAPACITY = 500
_RETRY_COST = 14
_THROTTLING_RETRY_COST = 5
_NO_RETRY_INCREMENT = 1


def _classify(status: int, code: str) -> int:
    """``_THROTTLED``, ``_TRANSIENT`` or 0 (not retryable) for an error answer."""
    if code in _THROTTLING_CODES or (status == 429 and code not in _MODELED_ERRORS):
        return _THROTTLED
    if code in _TRANSIENT_CODES or status in _TRANSIENT_STATUS or code in _MODELED_TRANSIENT:
        return _TRANSIENT
    return 0


class _RetryQuota:
    """botocore's retry quota: a token bucket shared by every call of one transport."""

    def __init__(self, capacity: int = _QUOTA_CAPACITY) -> None:
        self.capacity = capacity
        self.available = capacity
        self._lock = threading.Lock()

    def acquire(self, amount: int) -> bool:
        with self._lock:
            if amount > self.available:
                return False
            self.available -= amount
            return True

    def release(self, amount: int) -> None:
        if self.available == self.capacity:
            return
        with self._lock:
            self.available = min(self.capacity, self.available + amount)


def _retry_after(headers: dict[str, str]) -> float | None:
    raw = headers.get("x-amz-retry-after")
    if raw is None:
        return None
    try:
        value = int(raw) / 1000.0
    except (ValueError, OverflowError):
        return None
    return value if value >= 0 else None


def _backoff(attempt: int, kind: int, rand: float, headers: dict[str, str]) -> float:
    """Full-jitter delay after failed attempt ``attempt`` (1-based)."""
    base = _THROTTLING_BASE if kind == _THROTTLED else _TRANSIENT_BASE
    delay = rand * min(base * 2.0 ** (attempt - 1), _MAX_BACKOFF)
    after = _retry_after(headers)
    if after is not None:
        delay = max(delay, min(after, delay + _RETRY_AFTER_EXTRA))
    return delay


# --- request encoding ----------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b2a_base64(value, newline=False).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"a {type(value).__name__} cannot be sent in a DynamoDB request")


_ENCODER = json.JSONEncoder(default=_json_default, separators=(",", ":"), allow_nan=False)


def _encode(params: Params) -> bytes:
    try:
        return _ENCODER.encode(params).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"request cannot be encoded as JSON: {exc}") from None


# --- response decoding ---------------------------------------------------------------------

_TABLE_TIMESTAMPS = (
    "CreationDateTime",
    "ProvisionedThroughput.LastIncreaseDateTime",
    "ProvisionedThroughput.LastDecreaseDateTime",
    "BillingModeSummary.LastUpdateToPayPerRequestDateTime",
    "GlobalSecondaryIndexes[].ProvisionedThroughput.LastIncreaseDateTime",
    "GlobalSecondaryIndexes[].ProvisionedThroughput.LastDecreaseDateTime",
    "Replicas[].ReplicaInaccessibleDateTime",
    "Replicas[].ReplicaTableClassSummary.LastUpdateDateTime",
    "RestoreSummary.RestoreDateTime",
    "SSEDescription.InaccessibleEncryptionDateTime",
    "ArchivalSummary.ArchivalDateTime",
    "TableClassSummary.LastUpdateDateTime",
)
_PITR_TIMESTAMPS = (
    "PointInTimeRecoveryDescription.EarliestRestorableDateTime",
    "PointInTimeRecoveryDescription.LatestRestorableDateTime",
)
#: Operation -> (root key, timestamp paths under it).
_TIMESTAMPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "CreateTable": ("TableDescription", _TABLE_TIMESTAMPS),
    "UpdateTable": ("TableDescription", _TABLE_TIMESTAMPS),
    "DeleteTable": ("TableDescription", _TABLE_TIMESTAMPS),
    "DescribeTable": ("Table", _TABLE_TIMESTAMPS),
    "DescribeContinuousBackups": ("ContinuousBackupsDescription", _PITR_TIMESTAMPS),
    "UpdateContinuousBackups": ("ContinuousBackupsDescription", _PITR_TIMESTAMPS),
}


def _convert(node: Any, path: list[str]) -> None:
    """Replace epoch numbers at ``path`` (``[]`` marks a list) under ``node`` by datetimes."""
    if not path or not isinstance(node, dict):
        return
    name, rest = path[0], path[1:]
    is_list = name.endswith("[]")
    value = node.get(name[:-2] if is_list else name)
    if value is None:
        return
    if is_list:
        for child in value if isinstance(value, list) else ():
            _convert(child, rest)
    elif rest:
        _convert(value, rest)
    elif isinstance(value, (int, float)):
        node[name] = datetime.fromtimestamp(value, timezone.utc)


def _convert_timestamps(operation: str, parsed: dict[str, Any]) -> None:
    spec = _TIMESTAMPS.get(operation)
    if spec is None:
        return
    root = parsed.get(spec[0])
    for path in spec[1]:
        _convert(root, path.split("."))


def _crc_ok(headers: dict[str, str], body: bytes | bytearray) -> bool:
    expected = headers.get("x-amz-crc32")
    if expected is None:
        return True
    try:
        return zlib.crc32(body) & 0xFFFFFFFF == int(expected)
    except ValueError:
        return False


def _metadata(status: int, headers: dict[str, str], attempts: int) -> dict[str, Any]:
    return {
        "RequestId": headers.get("x-amzn-requestid", ""),
        "HTTPStatusCode": status,
        "HTTPHeaders": headers,
        "RetryAttempts": attempts - 1,
    }


def _error_body(status: int, raw: bytes | bytearray) -> tuple[str, str, dict[str, Any]]:
    """``(code, message, body)`` of an error answer, as botocore's JSON parser reads it."""
    stripped = bytes(raw).strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        from http import HTTPStatus

        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        return str(status), phrase, {}
    try:
        body = json.loads(stripped) if stripped else {}
    except ValueError:
        body = {"message": stripped.decode("utf-8", "replace")}
    if not isinstance(body, dict):
        body = {}
    message = body.get("message", body.get("Message", ""))
    code = str(body.get("__type", str(status)))
    code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    return code, str(message), body


# --- HTTP/1.1 over pooled sockets ----------------------------------------------------------


class _WireError(OSError):
    """The server closed the connection or answered something that is not HTTP/1.1."""


class _Connection:
    """One keep-alive connection: writes a request, reads one response."""

    __slots__ = ("buf", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def close(self) -> None:
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

    def exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes | bytearray, bool]:
        """Send ``request``; return ``(status, headers, body, keep_alive)``."""
        self.sock.sendall(request)
        status, headers, version = self._read_head()
        while 100 <= status < 200:
            status, headers, version = self._read_head()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if status in (204, 304):
            body: bytes | bytearray = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exact(_int(headers["content-length"]))
        else:
            body, keep = self._read_to_eof(), False
        return status, headers, body, keep and not self.buf

    def _recv(self) -> None:
        chunk = self.sock.recv(_RECV)
        if not chunk:
            raise _WireError("connection closed by the server")
        self.buf += chunk

    def _read_head(self) -> tuple[int, dict[str, str], str]:
        end = self.buf.find(b"\r\n\r\n")
        while end < 0:
            if len(self.buf) > _MAX_HEAD:
                raise _WireError("response head too large")
            self._recv()
            end = self.buf.find(b"\r\n\r\n")
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        del self.buf[: end + 4]
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/"):
            raise _WireError("not an HTTP response")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return _int(rest[:3]), headers, version

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
                got = self.sock.recv_into(view[have:])
                if not got:
                    raise _WireError("connection closed in the middle of a response")
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
            size = _int(self._readline().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._readline():
                    pass
                return out
            out += self._read_exact(size)
            self._readline()

    def _read_to_eof(self) -> bytearray:
        while True:
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


def _int(text: str | bytes, base: int = 10) -> int:
    try:
        return int(text, base)
    except ValueError:
        raise _WireError("malformed HTTP response") from None


def _ca_bundle() -> str | None:
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


class _Pool:
    """A LIFO pool of idle keep-alive connections to one endpoint (thread-safe)."""

    def __init__(
        self, endpoint: Endpoint, connect_timeout: float, read_timeout: float, maxsize: int
    ) -> None:
        self.endpoint = endpoint
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.maxsize = maxsize
        self._idle: deque[_Connection] = deque()
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def get(self) -> _Connection:
        idle = self._idle
        while idle:
            try:
                conn = idle.pop()
            except IndexError:
                break
            if conn.usable():
                return conn
            conn.close()
        return self._connect()

    def put(self, conn: _Connection) -> None:
        if len(self._idle) < self.maxsize:
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:
                break

    def _connect(self) -> _Connection:
        ep = self.endpoint
        sock = socket.create_connection((ep.host, ep.port), timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if ep.scheme == "https":
                sock = self._context().wrap_socket(sock, server_hostname=ep.host)
            sock.settimeout(self.read_timeout)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            with self._lock:
                if self._ssl is None:
                    import ssl

                    self._ssl = ssl.create_default_context(cafile=_ca_bundle())
        return self._ssl


# --- the transport -------------------------------------------------------------------------


class _Attempt:
    """What one attempt produced: an answer (status, headers, body) or a socket error."""

    __slots__ = ("_parsed", "body", "error", "headers", "status")

    def __init__(
        self,
        status: int = 0,
        headers: dict[str, str] | None = None,
        body: bytes | bytearray = b"",
        error: OSError | None = None,
    ) -> None:
        self.status = status
        self.headers = headers if headers is not None else {}
        self.body = body
        self.error = error
        self._parsed: tuple[str, str, dict[str, Any]] | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer whose CRC32 matches."""
        return self.error is None and self.status < 300 and _crc_ok(self.headers, self.body)

    def service_error(self) -> tuple[str, str, dict[str, Any]]:
        """``(code, message, body)`` of an error answer (parsed once)."""
        if self._parsed is None:
            self._parsed = _error_body(self.status, self.body)
        return self._parsed

    def retry_kind(self) -> int:
        """How botocore's standard mode sees this failed attempt."""
        if self.error is not None:
            return _TRANSIENT
        kind = _classify(self.status, self.service_error()[0]) if self.status >= 300 else 0
        if not kind and not _crc_ok(self.headers, self.body):
            return _TRANSIENT
        return kind


class HttpTransport(TransportBase):
    """Sends DynamoDB calls over HTTP/1.1 with dyntable's own SigV4 (no botocore per call).

    Args:
        endpoint_url: e.g. ``http://localhost:8000`` for DynamoDB Local (default: the
            regional endpoint, see :mod:`dyntable.transport.credentials`).
        region: signing region (default: ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, then
            botocore's config, then ``us-east-1`` with an endpoint URL).
        credentials: ``None`` (environment, then botocore's chain), a
            :class:`~dyntable.transport.credentials.Credentials`, botocore/boto3
            credentials (refreshable ones are re-read per request) or a callable.
        max_attempts: total attempts per call, first one included (DynamoDB default 4).
        retry_mode: only ``"standard"`` (botocore's semantics).
        connect_timeout / read_timeout: seconds.
        max_pool_connections: idle keep-alive connections kept for reuse (under load more
            may be open at once; the extras are closed after use, as in botocore's pool).
        hooks: callables receiving a :class:`~dyntable.transport.base.CallEvent` per call.
        use_fips / use_dualstack: FIPS / dual-stack endpoint (default: the
            ``AWS_USE_FIPS_ENDPOINT`` / ``AWS_USE_DUALSTACK_ENDPOINT`` variables).
        sleep: called with each backoff delay (tests inject a fake).
        rand: returns a float in [0, 1) for the backoff jitter (tests inject a fake).

    Raises:
        ValueError: bad retry settings, no region, or an unusable endpoint.

    Thread-safe; create one per process (in Lambda, at module level) and reuse it.
    """

    name = "http"

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        credentials: Any = None,
        max_attempts: int = 4,
        retry_mode: str = "standard",
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_pool_connections: int = 10,
        hooks: list[Hook] | None = None,
        use_fips: bool | None = None,
        use_dualstack: bool | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(hooks)
        if retry_mode != "standard":
            raise ValueError(
                f"HttpTransport supports retry_mode='standard' only, not {retry_mode!r}; "
                "use Boto3Transport for botocore's adaptive or legacy modes"
            )
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.region = resolve_region(region, endpoint_url=endpoint_url or configured_endpoint_url())
        self.endpoint_url = resolve_endpoint(
            self.region, endpoint_url, use_fips=use_fips, use_dualstack=use_dualstack
        )
        endpoint = Endpoint(self.endpoint_url)
        self._credentials = credentials_provider(credentials)
        self._signer = JsonSigner(endpoint.host_header, self.region)
        self._pool = _Pool(endpoint, connect_timeout, read_timeout, max_pool_connections)
        self._quota = _RetryQuota()
        self._sleep = sleep
        self._rand = rand
        self._prefix = (
            f"POST / HTTP/1.1\r\nHost: {endpoint.host_header}\r\nUser-Agent: {_USER_AGENT}\r\n"
            f"Accept-Encoding: identity\r\nContent-Type: {_CONTENT_TYPE}\r\nX-Amz-Target: "
        )
        self._targets: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"HttpTransport(endpoint_url={self.endpoint_url!r}, region={self.region!r})"

    def send(self, operation: str, params: Params) -> Response:
        """Send one call; retry as botocore's standard mode would; return the response."""
        with self.timed(operation, params) as event:
            target = self._targets.get(operation) or self._target(operation)
            body = _encode(params)
            attempt = 0
            acquired = 0
            while True:
                attempt += 1
                event.attempts = attempt
                result = self._attempt(target, body)
                if result.ok:
                    self._quota.release(acquired or _NO_RETRY_INCREMENT)
                    response = self._success(operation, result, attempt)
                    event.consumed_capacity = response.get("ConsumedCapacity")
                    return response
                kind = result.retry_kind()
                if kind and attempt < self.max_attempts:
                    cost = _THROTTLING_RETRY_COST if kind == _THROTTLED else _RETRY_COST
                    if self._quota.acquire(cost):
                        acquired = cost
                        self._sleep(_backoff(attempt, kind, self._random(), result.headers))
                        continue
                    raise self._failure(operation, result, attempt, quota_reached=True)
                raise self._failure(operation, result, attempt)

    def close(self) -> None:
        """Close the idle pooled connections (a later call opens new ones)."""
        self._pool.close()

    # -- one attempt --------------------------------------------------------------------

    def _target(self, operation: str) -> str:
        if not (operation.isascii() and operation.isalnum()):
            raise InvalidRequestError(f"not a DynamoDB operation name: {operation!r}")
        target = _TARGET_PREFIX + operation
        self._targets[operation] = target
        return target

    def _credentials_now(self) -> SigningCredentials:
        try:
            return self._credentials()
        except Exception as exc:
            raise ConfigurationError(f"cannot load AWS credentials: {exc}") from exc

    def _attempt(self, target: str, body: bytes) -> _Attempt:
        creds = self._credentials_now()
        date, auth = self._signer.sign(target, body, creds)
        token = f"X-Amz-Security-Token: {creds.token}\r\n" if creds.token else ""
        head = (
            f"{self._prefix}{target}\r\nX-Amz-Date: {date}\r\n{token}Authorization: {auth}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        request = head.encode() + body
        try:
            conn = self._pool.get()
        except OSError as exc:
            return _Attempt(error=exc)
        try:
            status, headers, raw, keep = conn.exchange(request)
        except OSError as exc:
            conn.close()
            return _Attempt(error=exc)
        except BaseException:
            conn.close()
            raise
        if keep:
            self._pool.put(conn)
        else:
            conn.close()
        return _Attempt(status, headers, raw)

    def _random(self) -> float:
        if self._rand is None:
            import random

            self._rand = random.random
        return self._rand()

    # -- outcomes -----------------------------------------------------------------------

    def _metadata(self, result: _Attempt, attempt: int) -> dict[str, Any]:
        meta = _metadata(result.status, result.headers, attempt)
        if attempt >= self.max_attempts:
            meta["MaxAttemptsReached"] = True
        return meta

    def _success(self, operation: str, result: _Attempt, attempt: int) -> Response:
        try:
            parsed = json.loads(result.body) if result.body else {}
        except ValueError:
            raise TransportError(f"{operation}: the response is not JSON") from None
        if not isinstance(parsed, dict):
            raise TransportError(f"{operation}: the response is not a JSON object")
        if operation in _TIMESTAMPS:
            _convert_timestamps(operation, parsed)
        parsed["ResponseMetadata"] = self._metadata(result, attempt)
        return parsed

    def _failure(
        self, operation: str, result: _Attempt, attempt: int, *, quota_reached: bool = False
    ) -> Exception:
        tries = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
        if result.error is not None:
            err = TransportError(
                f"{operation}: {type(result.error).__name__}: {result.error} ({tries})"
            )
            err.__cause__ = result.error
            return err
        if result.status < 300:
            return TransportError(f"{operation}: response CRC32 mismatch ({tries})")
        code, message, body = result.service_error()
        meta = self._metadata(result, attempt)
        if quota_reached:
            meta["RetryQuotaReached"] = True
        response: dict[str, Any] = {"Error": {"Message": message, "Code": code}}
        response["ResponseMetadata"] = meta
        for member in _MODELED_ERRORS.get(code, ()):
            if body.get(member) is not None:
                response[member] = body[member]
        return service_error(
            code, message, operation=operation, status=result.status, response=response
        )
