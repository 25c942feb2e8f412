"""``DaxTransport``: item operations through Amazon DAX (amazon-dax-client).

``amazondax`` is imported only when a ``DaxTransport`` is created without a ``client``
(install the extra: ``pip install 'dyntable[dax]'``).

What DAX does and does not do, and how dyntable deals with it:

* DAX serves GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan, BatchGetItem,
  BatchWriteItem, TransactGetItems and TransactWriteItems. Everything else (CreateTable,
  DescribeTable, UpdateTimeToLive, PartiQL, and the DynamoDB Streams calls, which DAX does
  not serve either) goes to the ``fallback`` DynamoDB transport; without one, such a call
  raises :class:`~dyntable.errors.InvalidRequestError` before anything is sent.
* Strongly consistent reads (``ConsistentRead=True``) and TransactGetItems are passed
  through DAX to DynamoDB by DAX itself: correct, but not cached, and they cost what they
  cost on DynamoDB plus the DAX hop.
* DAX's query cache is not invalidated by writes: an eventually consistent Query or Scan
  can be up to the cluster's query TTL old (see ``docs/transports.md``).
* DAX has no paginators; dyntable paginates itself with ``ExclusiveStartKey``.
* Errors: the DAX client raises botocore-style ``ClientError`` subclasses carrying
  ``.response``; they are mapped through :func:`dyntable.errors.service_error`
  (DAX-only codes first translated by :data:`DAX_ERROR_CODES`). Connection failures
  (its connection / end-of-stream / no-route / decoder codes, socket errors, timeouts)
  become :class:`~dyntable.errors.TransportError`.
"""

from __future__ import annotations

from typing import Any

from dyntable.errors import (
    ConditionalCheckFailedError,
    DyntableError,
    InvalidRequestError,
    TransportError,
    service_error,
)
from dyntable.transport.base import Hook, Params, Response, Transport, TransportBase

__all__ = ["DAX_ERROR_CODES", "DAX_OPERATIONS", "DaxTransport"]

#: Operations a DAX cluster serves (the DAX client's method for each).
DAX_OPERATIONS: dict[str, str] = {
    "GetItem": "get_item",
    "PutItem": "put_item",
    "UpdateItem": "update_item",
    "DeleteItem": "delete_item",
    "Query": "query",
    "Scan": "scan",
    "BatchGetItem": "batch_get_item",
    "BatchWriteItem": "batch_write_item",
    "TransactGetItems": "transact_get_items",
    "TransactWriteItems": "transact_write_items",
}

#: DAX error codes that differ from DynamoDB's -> the DynamoDB code dyntable maps.
DAX_ERROR_CODES: dict[str, str] = {
    "InternalServerErrorException": "InternalServerError",
    "RequestLimitExceededException": "RequestLimitExceeded",
    "IllegalArgumentException": "ValidationException",
    "NotImplementedException": "ValidationException",
}

#: DAX client codes that mean "no answer" (connection level), not a service error.
_CONNECTION_CODES = frozenset(
    {"ConnectionException", "EndOfStreamException", "NoRouteException", "DecoderException",
     "MalformedResultException"}
)
_SCHEMES = ("dax://", "daxs://")


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    code: Any = None
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
    code = code or getattr(exc, "code", None) or ""
    if isinstance(code, (tuple, list)):  # the DAX client reports some codes as a tuple
        code = next((c for c in code if c != "ValidationException"), code[0] if code else "")
    return str(code)


def map_dax_error(operation: str, exc: BaseException) -> DyntableError:
    """The dyntable error for an exception raised by the DAX client."""
    code = _error_code(exc)
    if code in _CONNECTION_CODES or isinstance(exc, (OSError, TimeoutError)):
        err = TransportError(f"{operation} via DAX: {code or type(exc).__name__}: {exc}")
        # The DAX client retries by itself and does not say whether a request was sent.
        err.maybe_applied = True
        return err
    response = getattr(exc, "response", None)
    if not isinstance(response, dict) or not code:
        if type(exc).__name__ == "ParamValidationError":
            return InvalidRequestError(f"{operation}: the DAX client rejected the request: {exc}")
        return TransportError(f"{operation} via DAX: {type(exc).__name__}: {exc}")
    response = dict(response)
    reasons = getattr(exc, "cancellation_reasons", None)
    if reasons and "CancellationReasons" not in response:
        response["CancellationReasons"] = list(reasons)
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    status = meta.get("HTTPStatusCode") or getattr(exc, "http_status", None)
    mapped = service_error(
        DAX_ERROR_CODES.get(code, code),
        str(error.get("Message", "")),
        operation=operation,
        status=status if isinstance(status, int) else None,
        response=response,
    )
    if isinstance(mapped, ConditionalCheckFailedError) and "Item" not in response:
        mapped.item_returned = False
    if isinstance(status, int) and status >= 500:
        mapped.maybe_applied = True  # the DAX client's own retries may have applied it
    return mapped


class DaxTransport(TransportBase):
    """Sends item operations to a DAX cluster and table operations to ``fallback``.

    Args:
        endpoint_url: the cluster endpoint, ``dax://...`` (or ``daxs://...`` for TLS).
        region: the cluster's region.
        fallback: a DynamoDB transport (e.g. ``Boto3Transport``) for the operations DAX
            does not serve; required for ``create_table`` / ``describe_table``... and for
            reading the table's stream (``StreamConsumer``).
        client: an existing ``AmazonDaxClient`` (or an object with its methods), used as
            is; ``endpoint_url`` and ``region`` are then only informative.
        hooks: callables receiving a :class:`~dyntable.transport.base.CallEvent` per call.

    Raises:
        ImportError: amazon-dax-client is not installed (and no ``client`` was given).
        InvalidRequestError: the endpoint is not a ``dax://`` / ``daxs://`` URL.
        TransportError: the cluster cannot be reached when the client starts.

    Create it once (in Lambda, at module level): the DAX client keeps a connection pool and
    background cluster-discovery threads; ``close()`` stops them.
    """

    name = "dax"

    def __init__(
        self,
        endpoint_url: str,
        *,
        region: str,
        fallback: Transport | None = None,
        client: Any = None,
        hooks: list[Hook] | None = None,
    ) -> None:
        super().__init__(hooks)
        if not endpoint_url.startswith(_SCHEMES):
            raise InvalidRequestError(
                f"DAX endpoint must start with dax:// or daxs:// (TLS), not {endpoint_url!r}"
            )
        self.endpoint_url = endpoint_url
        self.region = region
        self.fallback = fallback
        self.client = client if client is not None else _connect(endpoint_url, region)
        self._methods: dict[str, Any] = {}

    def send(self, operation: str, params: Params) -> Response:
        """Send an item operation to DAX, anything else to ``fallback``."""
        method_name = DAX_OPERATIONS.get(operation)
        if method_name is None:
            return self._fallback(operation).send(operation, params)
        method = self._methods.get(operation)
        if method is None:
            method = self._methods[operation] = getattr(self.client, method_name)
        with self.timed(operation, params) as event:
            try:
                response: Response = method(**params)
            except DyntableError:
                raise
            except Exception as exc:
                raise map_dax_error(operation, exc) from exc
            event.consumed_capacity = response.get("ConsumedCapacity")
            return response

    def _fallback(self, operation: str) -> Transport:
        if self.fallback is None:
            raise InvalidRequestError(
                f"DAX does not serve {operation}: create the DaxTransport with "
                "fallback=Boto3Transport(...) (a DynamoDB transport) for table operations "
                "and DynamoDB Streams"
            )
        return self.fallback

    def close(self) -> None:
        """Close the DAX client (and the fallback transport)."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()
        if self.fallback is not None:
            self.fallback.close()


def _connect(endpoint_url: str, region: str) -> Any:
    try:
        from amazondax import AmazonDaxClient
    except ImportError as exc:
        raise ImportError(
            "DaxTransport needs amazon-dax-client: pip install 'dyntable[dax]'"
        ) from exc
    try:
        return AmazonDaxClient(endpoint_url=endpoint_url, region_name=region)
    except Exception as exc:
        raise TransportError(f"cannot connect to DAX at {endpoint_url}: {exc}") from exc
