"""DynamoDB's JSON 1.0 protocol: request encoding, response decoding and error mapping.

Responses get the shape boto3's client returns, with two documented differences:

* ``B`` / ``BS`` values stay base64 text (the codec accepts both); nothing walks items.
* the timestamps botocore converts in the control-plane answers dyntable uses
  (``CreateTable`` / ``UpdateTable`` / ``DeleteTable`` / ``DescribeTable`` and continuous
  backups) become timezone-aware UTC datetimes (botocore uses the local zone; the
  instants compare equal). Other operations' timestamps stay epoch numbers.

On requests, a ``str`` given for a ``B`` value is sent as is, so it must already be
base64 (as this protocol returns binary values); bytes are base64-encoded.

DynamoDB Streams speaks the same protocol under its own target prefix
(:data:`STREAMS_TARGET_PREFIX`), signed for the ``dynamodb`` service, on its own host
(:func:`streams_endpoint`). Its answers keep the JSON shapes: ``GetRecords`` gives
``ApproximateCreationDateTime`` as epoch seconds and binary values as base64 text, as a
Lambda trigger does.
"""

from __future__ import annotations

import json
import zlib
from binascii import b2a_base64
from datetime import datetime, timezone
from typing import Any

from dyntable._internal.gc_pause import LARGE_BODY, gc_paused
from dyntable.errors import InvalidRequestError, ServiceError, TransportError, service_error
from dyntable.transport.base import Params

__all__ = [
    "CONTENT_TYPE",
    "MODELED_ERRORS",
    "STREAMS_TARGET_PREFIX",
    "STREAM_OPERATIONS",
    "TARGET_PREFIX",
    "crc_ok",
    "decode_response",
    "encode_request",
    "error_from",
    "parse_error",
    "response_metadata",
    "streams_endpoint",
]

TARGET_PREFIX = "DynamoDB_20120810."
STREAMS_TARGET_PREFIX = "DynamoDBStreams_20120810."
#: The DynamoDB Streams API: sent with :data:`STREAMS_TARGET_PREFIX` to the Streams endpoint.
STREAM_OPERATIONS = frozenset({"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"})
CONTENT_TYPE = "application/x-amz-json-1.0"
_MESSAGE_ONLY = ("message",)
#: Errors the DynamoDB and DynamoDB Streams service models declare -> their members. Those
#: members are copied from the body into the error response (botocore's modeled-error
#: parse), and a 429 with one of these codes is left to the code's own retry rule.
MODELED_ERRORS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        (
            "BackupInUseException",
            "BackupNotFoundException",
            "ContinuousBackupsUnavailableException",
            "DuplicateItemException",
            "ExpiredIteratorException",
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
            "TrimmedDataAccessException",
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


# --- endpoints -----------------------------------------------------------------------------


def streams_endpoint(dynamodb_url: str, region: str) -> str:
    """The DynamoDB Streams endpoint that goes with a DynamoDB endpoint URL.

    AWS's regional DynamoDB hosts (``https://dynamodb.<region>.<suffix>``, their FIPS
    ``dynamodb-fips`` and dual-stack forms) do not serve the Streams API; each has a
    Streams host (``streams.dynamodb.<region>.amazonaws.com``,
    ``streams.dynamodb-fips...``, dual-stack ``streams-dynamodb[-fips].<region>.api.aws``,
    as in botocore's endpoint rules). Any other URL (DynamoDB Local, which serves both APIs
    on one port, a proxy, a test server) is returned unchanged.
    """
    scheme, sep, rest = dynamodb_url.partition("://")
    if not sep or scheme.lower() != "https":
        return dynamodb_url
    authority, slash, path = rest.partition("/")
    host, colon, port = authority.partition(":")
    host = host.lower()
    for name, fips in (("dynamodb", False), ("dynamodb-fips", True)):
        head = f"{name}.{region}."
        if host.startswith(head) and len(host) > len(head):
            suffix = host[len(head):]
            # Every AWS partition's dual-stack DNS suffix starts with "api.".
            if suffix.startswith("api."):
                streams = "streams-dynamodb-fips" if fips else "streams-dynamodb"
            else:
                streams = "streams.dynamodb-fips" if fips else "streams.dynamodb"
            return f"{scheme}://{streams}.{region}.{suffix}{colon}{port}{slash}{path}"
    return dynamodb_url


# --- requests ------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b2a_base64(value, newline=False).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"a {type(value).__name__} cannot be sent in a DynamoDB request")


_ENCODER = json.JSONEncoder(default=_json_default, separators=(",", ":"), allow_nan=False)


def encode_request(params: Params) -> bytes:
    """The JSON body of a request (bytes base64-encoded, sets as lists, no NaN).

    Raises:
        InvalidRequestError: a value that JSON cannot carry.
    """
    try:
        return _ENCODER.encode(params).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"request cannot be encoded as JSON: {exc}") from None


# --- responses -----------------------------------------------------------------------------

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


def decode_response(operation: str, body: bytes | bytearray) -> dict[str, Any]:
    """The parsed body of a successful answer, with control-plane timestamps converted.

    Raises:
        TransportError: the body is not a JSON object.
    """
    try:
        if len(body) >= LARGE_BODY:
            with gc_paused():
                parsed = json.loads(body)
        else:
            parsed = json.loads(body) if body else {}
    except ValueError:
        raise TransportError(f"{operation}: the response is not JSON") from None
    if not isinstance(parsed, dict):
        raise TransportError(f"{operation}: the response is not a JSON object")
    if operation in _TIMESTAMPS:
        _convert_timestamps(operation, parsed)
    return parsed


def crc_ok(headers: dict[str, str], body: bytes | bytearray) -> bool:
    """True when the body matches the ``x-amz-crc32`` header (or there is none)."""
    expected = headers.get("x-amz-crc32")
    if expected is None:
        return True
    try:
        return zlib.crc32(body) & 0xFFFFFFFF == int(expected)
    except ValueError:
        return False


def response_metadata(status: int, headers: dict[str, str], attempts: int) -> dict[str, Any]:
    """``ResponseMetadata`` as botocore builds it."""
    return {
        "RequestId": headers.get("x-amzn-requestid", ""),
        "HTTPStatusCode": status,
        "HTTPHeaders": headers,
        "RetryAttempts": attempts - 1,
    }


def parse_error(status: int, raw: bytes | bytearray) -> tuple[str, str, dict[str, Any]]:
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


def error_from(
    operation: str, status: int, error: tuple[str, str, dict[str, Any]], meta: dict[str, Any]
) -> ServiceError:
    """The dyntable error for a parsed error answer (modeled members copied from the body)."""
    code, message, body = error
    response: dict[str, Any] = {"Error": {"Message": message, "Code": code}}
    response["ResponseMetadata"] = meta
    for member in MODELED_ERRORS.get(code, ()):
        if body.get(member) is not None:
            response[member] = body[member]
    return service_error(code, message, operation=operation, status=status, response=response)
