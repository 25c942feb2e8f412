"""A direct HTTP transport: DynamoDB's JSON 1.0 protocol and dyntable's own SigV4.

botocore stays off the hot path: a request is one ``json`` encode, one signature
(:mod:`dyntable._internal.transport.sigv4`), one write on a pooled keep-alive socket, and one
``json`` decode of the answer. Importing this module imports neither boto3 nor botocore;
botocore is loaded only when credentials or the region must come from its configuration
chain (see :mod:`dyntable.transport.credentials`).

The parts: :mod:`~dyntable._internal.transport.jsonproto` (request and response bodies, error
mapping; responses have the shape boto3's client returns, with the differences listed
there), :mod:`~dyntable._internal.transport.wire` (HTTP/1.1 and the connection pool) and
:mod:`~dyntable.transport.retries` (botocore's ``standard`` retry mode and quota).
``adaptive`` and ``legacy`` modes are refused: use
:class:`~dyntable.transport.boto3.Boto3Transport` for client-side rate limiting. A bad
CRC32 on a success that cannot be retried any more raises
:class:`~dyntable.errors.TransportError` (botocore would return the body).

DynamoDB Streams calls (``DescribeStream``, ``GetShardIterator``, ``GetRecords``,
``ListStreams``) go through the same transport, with the same credentials, region, retries
and hooks, to the Streams endpoint that goes with the DynamoDB one (see
:func:`~dyntable._internal.transport.jsonproto.streams_endpoint`; DynamoDB Local serves both on one
port), over a second connection pool when that is another host.

Timeouts: ``connect_timeout`` bounds connecting, ``read_timeout`` each socket read, and
``request_timeout`` one attempt as a whole (connect, send, and reading the response to its
last byte), so a server that trickles bytes cannot hold a call forever. An attempt that
runs out of either time fails like a read timeout: it is retried (it may have been applied),
and the last one raises :class:`~dyntable.errors.TransportError`.

HTTP proxies are not supported (use the boto3 transport behind a proxy).

Everything here but the socket I/O lives in :class:`HttpCore` and :class:`Call`
(configuration, routing, signing, retry decisions, ambiguity and error mapping); the
asyncio twin, :class:`~dyntable.transport.aio_http.AsyncHttpTransport`, is built on them.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from dyntable._internal.transport.jsonproto import (
    CONTENT_TYPE,
    STREAM_OPERATIONS,
    STREAMS_TARGET_PREFIX,
    TARGET_PREFIX,
    crc_ok,
    decode_response,
    encode_request,
    error_from,
    parse_error,
    response_metadata,
    streams_endpoint,
)
from dyntable._internal.transport.sigv4 import JsonSigner, SigningCredentials
from dyntable._internal.transport.wire import Pool, RequestTimeoutError
from dyntable.errors import (
    ConfigurationError,
    DyntableError,
    InvalidRequestError,
    ServiceError,
    TransportError,
)
from dyntable.transport.base import (
    CallEvent,
    Hook,
    Params,
    Response,
    TransportBase,
    resend_allowed,
)
from dyntable.transport.credentials import (
    Endpoint,
    configured_endpoint_url,
    credentials_provider,
    missing_credentials_error,
    resolve_endpoint,
    resolve_region,
)
from dyntable.transport.retries import (
    NO_RETRY_INCREMENT,
    TRANSIENT,
    RetryQuota,
    backoff,
    classify,
    retry_cost,
)

__all__ = ["Attempt", "Call", "HttpCore", "HttpTransport", "Route", "Target"]

_USER_AGENT = "dyntable-http/0.1"
PoolT = TypeVar("PoolT")


class Route(Generic[PoolT]):
    """One endpoint: its connection pool, signer and the fixed start of every request head."""

    __slots__ = ("pool", "prefix", "signer", "url")

    def __init__(self, endpoint: Endpoint, region: str, pool: PoolT) -> None:
        self.url = endpoint.url
        self.signer = JsonSigner(endpoint.host_header, region)
        self.pool = pool
        self.prefix = (
            f"POST / HTTP/1.1\r\nHost: {endpoint.host_header}\r\nUser-Agent: {_USER_AGENT}\r\n"
            f"Accept-Encoding: identity\r\nContent-Type: {CONTENT_TYPE}\r\nX-Amz-Target: "
        )

    def request(self, target: str, body: bytes, creds: SigningCredentials) -> bytes:
        """The whole signed HTTP request for ``target`` (an ``X-Amz-Target`` value)."""
        date, auth = self.signer.sign(target, body, creds)
        token = f"X-Amz-Security-Token: {creds.token}\r\n" if creds.token else ""
        head = (
            f"{self.prefix}{target}\r\nX-Amz-Date: {date}\r\n{token}"
            f"Authorization: {auth}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


class Target(Generic[PoolT]):
    """An operation's ``X-Amz-Target`` value and the endpoint it is sent to."""

    __slots__ = ("name", "route")

    def __init__(self, name: str, route: Route[PoolT]) -> None:
        self.name = name
        self.route = route


class Attempt:
    """What one attempt produced: an answer (status, headers, body) or a socket error."""

    __slots__ = ("_parsed", "body", "error", "headers", "sent", "status")

    def __init__(
        self,
        status: int = 0,
        headers: dict[str, str] | None = None,
        body: bytes | bytearray = b"",
        error: OSError | None = None,
        sent: bool = True,
    ) -> None:
        self.status = status
        self.headers = headers if headers is not None else {}
        self.body = body
        self.error = error
        self.sent = sent
        self._parsed: tuple[str, str, dict[str, Any]] | None = None

    @property
    def maybe_applied(self) -> bool:
        """This failed attempt may have been applied by DynamoDB: the request was sent in
        full and then got a 5xx, no answer, or a 2xx whose body failed its CRC32."""
        if self.error is not None:
            return self.sent
        return self.status >= 500 or self.status < 300

    @property
    def ok(self) -> bool:
        """A 2xx answer whose CRC32 matches."""
        return self.error is None and self.status < 300 and crc_ok(self.headers, self.body)

    def service_error(self) -> tuple[str, str, dict[str, Any]]:
        """``(code, message, body)`` of an error answer (parsed once)."""
        if self._parsed is None:
            self._parsed = parse_error(self.status, self.body)
        return self._parsed

    def retry_kind(self) -> int:
        """How botocore's standard mode sees this failed attempt."""
        if self.error is not None:
            return TRANSIENT
        kind = classify(self.status, self.service_error()[0]) if self.status >= 300 else 0
        if not kind and not crc_ok(self.headers, self.body):
            return TRANSIENT
        return kind


class HttpCore(Generic[PoolT]):
    """What the sync and async HTTP transports share: configuration, endpoints, routing,
    credentials and the outcome of attempts. No I/O: a subclass makes the pools
    (:meth:`_new_pool`) and sends the bytes.

    See :class:`HttpTransport` for the arguments.

    Raises:
        ValueError: bad retry or timeout settings, no region, or an unusable endpoint.
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None,
        region: str | None,
        credentials: Any,
        max_attempts: int,
        retry_mode: str,
        connect_timeout: float,
        read_timeout: float,
        request_timeout: float | None,
        max_pool_connections: int,
        use_fips: bool | None,
        use_dualstack: bool | None,
        streams_endpoint_url: str | None,
        rand: Callable[[], float] | None,
    ) -> None:
        kind = type(self).__name__
        if retry_mode != "standard":
            raise ValueError(
                f"{kind} supports retry_mode='standard' only, not {retry_mode!r}; "
                "use Boto3Transport for botocore's adaptive or legacy modes"
            )
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if request_timeout is not None and not request_timeout > 0:
            raise ValueError(f"request_timeout must be positive or None, not {request_timeout!r}")
        self.max_attempts = max_attempts
        self.request_timeout = request_timeout
        self.region = resolve_region(region, endpoint_url=endpoint_url or configured_endpoint_url())
        self.endpoint_url = resolve_endpoint(
            self.region, endpoint_url, use_fips=use_fips, use_dualstack=use_dualstack
        )
        self.streams_endpoint_url = streams_endpoint_url or streams_endpoint(
            self.endpoint_url, self.region
        )
        self._credentials = credentials_provider(credentials)
        pool_options = (connect_timeout, read_timeout, max_pool_connections)
        self._main = self._route(self.endpoint_url, *pool_options)
        self._streams = self._main
        if self.streams_endpoint_url != self.endpoint_url:
            self._streams = self._route(self.streams_endpoint_url, *pool_options)
        self._quota = RetryQuota()
        self._rand = rand
        self._targets: dict[str, Target[PoolT]] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(endpoint_url={self.endpoint_url!r}, region={self.region!r})"
        )

    def _new_pool(
        self, endpoint: Endpoint, connect_timeout: float, read_timeout: float, size: int
    ) -> PoolT:
        raise NotImplementedError  # pragma: no cover - each transport makes its pools

    def _route(
        self, url: str, connect_timeout: float, read_timeout: float, size: int
    ) -> Route[PoolT]:
        endpoint = Endpoint(url)
        pool = self._new_pool(endpoint, connect_timeout, read_timeout, size)
        return Route(endpoint, self.region, pool)

    def _target(self, operation: str) -> Target[PoolT]:
        """The target of ``operation`` (Streams operations go to the Streams endpoint)."""
        if not (operation.isascii() and operation.isalnum()):
            raise InvalidRequestError(f"not a DynamoDB operation name: {operation!r}")
        if operation in STREAM_OPERATIONS:
            target = Target(STREAMS_TARGET_PREFIX + operation, self._streams)
        else:
            target = Target(TARGET_PREFIX + operation, self._main)
        self._targets[operation] = target
        return target

    def _credentials_failed(self, exc: Exception) -> ConfigurationError:
        return missing_credentials_error(exc, self.endpoint_url)

    def _random(self) -> float:
        if self._rand is None:
            import random

            self._rand = random.random
        return self._rand()

    # -- outcomes -----------------------------------------------------------------------

    def _metadata(self, result: Attempt, attempt: int) -> dict[str, Any]:
        meta = response_metadata(result.status, result.headers, attempt)
        if attempt >= self.max_attempts:
            meta["MaxAttemptsReached"] = True
        return meta

    def _success(self, operation: str, result: Attempt, attempt: int) -> Response:
        parsed = decode_response(operation, result.body)
        parsed["ResponseMetadata"] = self._metadata(result, attempt)
        return parsed

    def _failure(
        self, operation: str, result: Attempt, attempt: int, ambiguous: bool, *,
        quota_reached: bool = False,
    ) -> Exception:
        err = self._error(operation, result, attempt, quota_reached)
        if ambiguous and isinstance(err, (ServiceError, TransportError)):
            err.maybe_applied = True
        return err

    def _error(
        self, operation: str, result: Attempt, attempt: int, quota_reached: bool
    ) -> Exception:
        tries = f"after {attempt} attempt{'s' if attempt > 1 else ''}"
        if result.error is not None:
            hint = ""
            if isinstance(result.error, RequestTimeoutError):
                hint = f"; request_timeout={self.request_timeout} s (raise it, or pass None)"
            err = TransportError(
                f"{operation}: {type(result.error).__name__}: {result.error} ({tries}{hint})"
            )
            err.__cause__ = result.error
            return err
        if result.status < 300:
            return TransportError(f"{operation}: response CRC32 mismatch ({tries})")
        meta = self._metadata(result, attempt)
        if quota_reached:
            meta["RetryQuotaReached"] = True
        return error_from(operation, result.status, result.service_error(), meta)


class Call:
    """The retry decisions of one call, without I/O: botocore's standard mode and the
    ambiguity rules (see :func:`~dyntable.transport.base.resend_allowed`).

    A driver loops: send one attempt, then return :meth:`succeeded` when the attempt is
    ``ok``, else wait :meth:`failed` seconds (it raises the error to give up with) and send
    the next one. ``attempt`` (and the event's ``attempts``) counts the attempt being made.
    """

    __slots__ = ("acquired", "ambiguous", "attempt", "core", "event", "operation")

    def __init__(self, core: HttpCore[Any], operation: str, event: CallEvent) -> None:
        self.core = core
        self.operation = operation
        self.event = event
        self.attempt = event.attempts = 1
        self.acquired = 0
        self.ambiguous = False

    def succeeded(self, result: Attempt) -> Response:
        """The response of an ``ok`` attempt (the retry quota gets its refund)."""
        core = self.core
        core._quota.release(self.acquired or NO_RETRY_INCREMENT)
        response = core._success(self.operation, result, self.attempt)
        self.event.consumed_capacity = response.get("ConsumedCapacity")
        return response

    def failed(self, result: Attempt) -> float:
        """Seconds to wait before the next attempt (which is counted from now on).

        Raises:
            ServiceError: the answer's error, when it is not retried (any more).
            TransportError: no usable answer, and no retry left.
        """
        core = self.core
        maybe_applied = result.maybe_applied
        self.ambiguous = self.ambiguous or maybe_applied
        kind = result.retry_kind()
        attempt = self.attempt
        if kind and attempt < core.max_attempts and (not maybe_applied or resend_allowed()):
            cost = retry_cost(kind)
            if core._quota.acquire(cost):
                self.acquired = cost
                self.attempt = self.event.attempts = attempt + 1
                return backoff(attempt, kind, core._random(), result.headers)
            raise core._failure(self.operation, result, attempt, self.ambiguous,
                                quota_reached=True)
        raise core._failure(self.operation, result, attempt, self.ambiguous)


class HttpTransport(HttpCore[Pool], TransportBase):
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
        connect_timeout / read_timeout: seconds to connect, and to wait for each read.
        request_timeout: seconds one attempt may take in all (connect, send, read the
            whole response); ``None`` for no limit. A timed-out attempt is retried like a
            read timeout. Retries and their backoff are not counted in it.
        max_pool_connections: idle keep-alive connections kept for reuse (under load more
            may be open at once; the extras are closed after use, as in botocore's pool).
            Per endpoint: Streams calls to another host have a pool of their own.
        hooks: callables receiving a :class:`~dyntable.transport.base.CallEvent` per call.
        use_fips / use_dualstack: FIPS / dual-stack endpoint (default: the
            ``AWS_USE_FIPS_ENDPOINT`` / ``AWS_USE_DUALSTACK_ENDPOINT`` variables).
        streams_endpoint_url: where DynamoDB Streams calls go (default: the Streams host
            that goes with the DynamoDB endpoint, e.g. ``streams.dynamodb.<region>...``,
            or the endpoint itself when it is not an AWS regional one, as for DynamoDB
            Local). Set it for a Streams VPC endpoint.
        sleep: called with each backoff delay (tests inject a fake).
        rand: returns a float in [0, 1) for the backoff jitter (tests inject a fake).

    Raises:
        ValueError: bad retry or timeout settings, no region, or an unusable endpoint.

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
        request_timeout: float | None = 120.0,
        max_pool_connections: int = 10,
        hooks: list[Hook] | None = None,
        use_fips: bool | None = None,
        use_dualstack: bool | None = None,
        streams_endpoint_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] | None = None,
    ) -> None:
        TransportBase.__init__(self, hooks)
        HttpCore.__init__(
            self, endpoint_url=endpoint_url, region=region, credentials=credentials,
            max_attempts=max_attempts, retry_mode=retry_mode, connect_timeout=connect_timeout,
            read_timeout=read_timeout, request_timeout=request_timeout,
            max_pool_connections=max_pool_connections, use_fips=use_fips,
            use_dualstack=use_dualstack, streams_endpoint_url=streams_endpoint_url, rand=rand,
        )
        self._pool = self._main.pool
        # Idle sockets are closed when the transport is garbage collected, not left to warn.
        weakref.finalize(self, self._pool.close)
        weakref.finalize(self, self._streams.pool.close)
        self._sleep = sleep

    def _new_pool(
        self, endpoint: Endpoint, connect_timeout: float, read_timeout: float, size: int
    ) -> Pool:
        return Pool(endpoint, connect_timeout, read_timeout, size)

    def send(self, operation: str, params: Params) -> Response:
        """Send one call; retry as botocore's standard mode would; return the response.

        A failed attempt that may have been applied (5xx, or no answer after the request
        was sent) is resent only when :func:`~dyntable.transport.base.resend_allowed`; the
        error finally raised has ``maybe_applied`` set when any attempt may have been
        applied.
        """
        with self.timed(operation, params) as event:
            target = self._targets.get(operation) or self._target(operation)
            body = encode_request(params)
            call = Call(self, operation, event)
            while True:
                result = self._attempt(target, body)
                if result.ok:
                    return call.succeeded(result)
                self._sleep(call.failed(result))

    def close(self) -> None:
        """Close the idle pooled connections (a later call opens new ones)."""
        self._pool.close()
        self._streams.pool.close()

    # -- one attempt --------------------------------------------------------------------

    def _credentials_now(self) -> SigningCredentials:
        try:
            return self._credentials()
        except DyntableError:  # the provider's own typed error (e.g. TenantNotSetError)
            raise
        except Exception as exc:
            raise self._credentials_failed(exc) from exc

    def _attempt(self, target: Target[Pool], body: bytes) -> Attempt:
        route = target.route
        request = route.request(target.name, body, self._credentials_now())
        limit = self.request_timeout
        deadline = None if limit is None else time.monotonic() + limit
        pool = route.pool
        try:
            conn = pool.get(deadline)
        except OSError as exc:
            return Attempt(error=exc, sent=False)
        try:
            status, headers, raw, keep = conn.exchange(request, deadline)
        except OSError as exc:
            conn.close()
            return Attempt(error=exc, sent=conn.sent)
        except BaseException:
            conn.close()
            raise
        if keep:
            pool.put(conn)
        else:
            conn.close()
        return Attempt(status, headers, raw)
