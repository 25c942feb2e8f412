"""The default transport: a botocore DynamoDB client, created once and reused.

Fast parsing: botocore's response parser walks every attribute of every item against the
service model, which is most of the CPU time of a large query. For successful data-plane
calls the transport reads the body with ``json.loads`` instead, through botocore's public
``before-parse`` event on its own client: the handler hands botocore the parsed body as its
"customized response" and an empty JSON body to parse, so botocore still adds
``ResponseMetadata`` (RequestId, HTTPStatusCode, HTTPHeaders, RetryAttempts), checks the
``x-amz-crc32`` header against the raw body and retries as usual. Errors and control-plane
calls keep botocore's parser. Binary values (``B`` / ``BS``) become bytes as botocore makes
them, so keys and items can be sent back through boto3 unchanged; bodies without binary
values skip that step.

DynamoDB Streams calls (``DescribeStream``, ``GetShardIterator``, ``GetRecords``,
``ListStreams``) go to a ``dynamodbstreams`` client made on first use from the same
session (or, for a client passed in, its credentials), region and botocore ``Config``
(retries, timeouts, pool size), at the DynamoDB client's endpoint when that is not an AWS
regional one (DynamoDB Local serves both APIs on one port), else at the Streams endpoint
botocore resolves.

Timeouts: botocore has no total request timeout. ``read_timeout`` applies to each socket
read, so a server that trickles bytes can hold a call indefinitely; use
:class:`~dyntable.transport.http.HttpTransport` (``request_timeout``) where that matters.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from typing import TYPE_CHECKING, Any

from dyntable._internal.transport.boto3_outcomes import CallState, Stopped, observe
from dyntable._internal.transport.boto3_outcomes import state as call_state
from dyntable._internal.transport.jsonproto import STREAM_OPERATIONS, streams_endpoint
from dyntable.errors import ServiceError, TransportError, service_error
from dyntable.transport.base import Params, Response, TransportBase

if TYPE_CHECKING:
    import boto3

__all__ = ["FAST_PARSE_OPERATIONS", "Boto3Transport", "RetryConfig", "enable_fast_parse",
           "parse_body"]

#: Operations whose successful responses are read with ``json.loads`` (see module doc).
FAST_PARSE_OPERATIONS = frozenset(
    {
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
        "BatchWriteItem", "TransactGetItems", "TransactWriteItems", "ExecuteStatement",
    }
)
# Every binary AttributeValue in a body matches; false positives only cost time.
_BINARY_TAG = re.compile(rb'"BS?"\s*:')
_EMPTY_BODY = b"{}"

# Operation name -> botocore client method name, resolved once.
_METHODS: dict[str, str] = {}


def _method_name(operation: str) -> str:
    name = _METHODS.get(operation)
    if name is None:
        name = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
        _METHODS[operation] = name
    return name


def _binary_values(obj: dict[str, Any]) -> dict[str, Any]:
    """``json.loads`` object hook: ``{"B": text}`` / ``{"BS": [text]}`` -> bytes."""
    if len(obj) == 1:
        b = obj.get("B")
        if type(b) is str:
            return {"B": base64.b64decode(b)}
        bs = obj.get("BS")
        if type(bs) is list and all(type(x) is str for x in bs):
            return {"BS": [base64.b64decode(x) for x in bs]}
    return obj


def parse_body(body: bytes) -> dict[str, Any]:
    """A DynamoDB JSON response body as botocore's parser returns it (without metadata)."""
    if not body:
        return {}
    if _BINARY_TAG.search(body):
        parsed: dict[str, Any] = json.loads(body, object_hook=_binary_values)
    else:
        parsed = json.loads(body)
    return parsed


def _before_parse(
    operation_model: Any, response_dict: dict[str, Any], customized_response_dict: Any,
    **_: Any,
) -> None:
    """botocore ``before-parse`` handler: read a successful data-plane body directly."""
    status = response_dict.get("status_code")
    body = response_dict.get("body")
    if (
        operation_model.name not in FAST_PARSE_OPERATIONS
        or type(status) is not int or not 200 <= status < 300
        or type(body) is not bytes or customized_response_dict is None
    ):
        return
    try:
        parsed = parse_body(body)
    except (ValueError, binascii.Error):
        return  # botocore's parser reads it (and reports what is wrong)
    if type(parsed) is not dict or "ResponseMetadata" in parsed:
        return
    customized_response_dict.update(parsed)
    response_dict["body"] = _EMPTY_BODY


def enable_fast_parse(client: Any) -> None:
    """Read successful data-plane responses of ``client`` with ``json.loads`` (module doc).

    Only this client's events are touched; other clients of its session keep botocore's
    parser.
    """
    client.meta.events.register("before-parse.dynamodb", _before_parse,
                                unique_id="dyntable-fast-parse")


class RetryConfig:
    """botocore retry settings: ``mode`` is ``standard`` (default) or ``adaptive``."""

    def __init__(self, mode: str = "standard", max_attempts: int = 4) -> None:
        if mode not in ("standard", "adaptive", "legacy"):
            raise ValueError(f"retry mode must be standard, adaptive or legacy, not {mode!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.mode = mode
        self.max_attempts = max_attempts

    def as_botocore(self) -> dict[str, Any]:
        """The ``retries`` dict for ``botocore.config.Config``."""
        return {"mode": self.mode, "total_max_attempts": self.max_attempts}


class Boto3Transport(TransportBase):
    """Sends calls through a boto3 DynamoDB client.

    Args:
        client: an existing boto3 DynamoDB client (used as is).
        session: a boto3 session to create the client from.
        endpoint_url: e.g. ``http://localhost:8000`` for DynamoDB Local.
        region: AWS region (default: the usual boto3 chain).
        retry: botocore retry settings (default: standard mode, 4 attempts).
        connect_timeout / read_timeout: seconds to connect, and to wait for each socket read
            (botocore has no limit on a call as a whole; see the module doc).
        max_pool_connections: HTTP connection pool size (raise it for threaded bulk loads).
        validate_params: botocore parameter validation; off by default because
            dyntable builds and checks every request itself.
        hooks: callables receiving a :class:`~dyntable.transport.base.CallEvent` per call.
        fast_parse: read successful data-plane responses with ``json.loads`` instead of
            botocore's parser (same result, several times faster on large pages; see the
            module doc). Applies to the client the transport creates; a ``client`` passed
            in is used as is.
        streams_endpoint_url: where DynamoDB Streams calls go (default: see the module
            doc). Set it for a Streams VPC endpoint.

    The client is created when the transport is, never per call: in Lambda, create the
    transport (or ``table.connect()``) at module level, outside the handler.
    """

    name = "boto3"

    def __init__(
        self,
        client: Any = None,
        *,
        session: boto3.Session | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        retry: RetryConfig | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_pool_connections: int = 32,
        validate_params: bool = False,
        hooks: list[Any] | None = None,
        fast_parse: bool = True,
        streams_endpoint_url: str | None = None,
    ) -> None:
        super().__init__(hooks)
        self.retry = retry or RetryConfig()
        self.fast_parse = False
        self.streams_endpoint_url = streams_endpoint_url
        self._session: Any = None
        self._streams: Any = None
        if client is None:
            self._session = session
            client = self._make_client(
                session,
                endpoint_url,
                region,
                connect_timeout,
                read_timeout,
                max_pool_connections,
                validate_params,
            )
            if fast_parse:
                enable_fast_parse(client)
                self.fast_parse = True
        self.client = client
        observe(client)
        self._lock = threading.Lock()
        self._bound: dict[str, Any] = {}
        from botocore.exceptions import BotoCoreError, ClientError

        self._client_error = ClientError
        self._botocore_error = BotoCoreError

    def _make_client(
        self,
        session: Any,
        endpoint_url: str | None,
        region: str | None,
        connect_timeout: float,
        read_timeout: float,
        max_pool_connections: int,
        validate_params: bool,
    ) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            retries=self.retry.as_botocore(),  # type: ignore[arg-type]
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
            parameter_validation=validate_params,
            tcp_keepalive=True,
        )
        session = self._session = session or boto3.session.Session()
        if region is None and session.region_name is None:
            region = "us-east-1" if endpoint_url else None
        return session.client(
            "dynamodb", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def _method(self, operation: str) -> Any:
        method = self._bound.get(operation)
        if method is None:
            client = self.streams_client if operation in STREAM_OPERATIONS else self.client
            method = getattr(client, _method_name(operation))
            self._bound[operation] = method
        return method

    @property
    def streams_client(self) -> Any:
        """The ``dynamodbstreams`` client for DynamoDB Streams calls (made on first use)."""
        if self._streams is None:
            with self._lock:
                if self._streams is None:
                    self._streams = self._make_streams_client()
        return self._streams

    def _make_streams_client(self) -> Any:
        meta = self.client.meta
        region = meta.region_name
        endpoint = self.streams_endpoint_url
        if endpoint is None and meta.endpoint_url:
            # A regional AWS DynamoDB host: botocore resolves the Streams host itself.
            custom = streams_endpoint(meta.endpoint_url, region) == meta.endpoint_url
            endpoint = meta.endpoint_url if custom else None
        options = {"region_name": region, "endpoint_url": endpoint, "config": meta.config}
        if self._session is not None:
            return self._session.client("dynamodbstreams", **options)
        return _session_like(self.client).create_client("dynamodbstreams", **options)

    def send(self, operation: str, params: Params) -> Response:
        """Send one call; botocore's retry handler retries throttling and 5xx.

        A write attempt that may have been applied is resent only when
        :func:`~dyntable.transport.base.resend_allowed`; errors carry ``maybe_applied``
        (see :mod:`dyntable._internal.transport.boto3_outcomes`).
        """
        method = self._method(operation)
        with self.timed(operation, params) as event:
            call = CallState()
            token = call_state.set(call)
            try:
                response: Response = method(**params)
            except self._client_error as exc:
                meta = exc.response.get("ResponseMetadata", {})
                event.attempts = int(meta.get("RetryAttempts", 0)) + 1
                raise self._service_error(operation, dict(exc.response), call.ambiguous) from None
            except Stopped as stop:
                raise self._stopped(operation, stop) from stop.exception
            except self._botocore_error as exc:
                err = TransportError(f"{operation}: {exc}")
                err.maybe_applied = call.ambiguous
                raise err from exc
            finally:
                call_state.reset(token)
            ok_meta: Any = response.get("ResponseMetadata")
            if ok_meta:
                event.attempts = int(ok_meta.get("RetryAttempts", 0)) + 1
            event.consumed_capacity = response.get("ConsumedCapacity")
            return response

    @staticmethod
    def _service_error(operation: str, response: dict[str, Any], ambiguous: bool
                       ) -> ServiceError:
        err = response.get("Error", {})
        meta = response.get("ResponseMetadata", {})
        mapped = service_error(
            str(err.get("Code", "")),
            str(err.get("Message", "")),
            operation=operation,
            status=meta.get("HTTPStatusCode"),
            response=response,
        )
        mapped.maybe_applied = ambiguous
        return mapped

    def _stopped(self, operation: str, stop: Stopped) -> ServiceError | TransportError:
        """The error for an ambiguous attempt that was not resent (it may have applied)."""
        err: ServiceError | TransportError
        if stop.exception is not None:
            err = TransportError(f"{operation}: {stop.exception}")
        else:
            http_response, parsed = stop.response
            parsed = dict(parsed or {})
            parsed.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = \
                http_response.status_code
            if "Error" not in parsed:  # a success whose body failed its CRC32
                err = TransportError(f"{operation}: response CRC32 mismatch")
            else:
                err = self._service_error(operation, parsed, True)
        err.maybe_applied = True
        return err

    def close(self) -> None:
        """Close the clients' connection pools."""
        for client in (self.client, self._streams):
            close = getattr(client, "close", None)
            if close is not None:
                close()


def _session_like(client: Any) -> Any:
    """A botocore session that signs with ``client``'s credentials (refreshable ones stay
    refreshable), or with the default chain when they cannot be read."""
    import botocore.session
    from botocore.credentials import CredentialProvider

    session = botocore.session.Session()
    getter = getattr(client, "_get_credentials", None)  # botocore has no public accessor
    credentials = getter() if callable(getter) else None
    if credentials is not None:

        class _SameAsClient(CredentialProvider):
            METHOD = "dyntable-dynamodb-client"

            def load(self) -> Any:
                return credentials

        resolver = session.get_component("credential_provider")
        resolver.insert_before("env", _SameAsClient())
    return session
