"""Raw DynamoDB Streams records, normalised from both shapes they arrive in.

A Lambda trigger delivers records as JSON: ``userIdentity.type`` / ``principalId`` in lower
camel case, ``ApproximateCreationDateTime`` as epoch seconds and binary values as base64
text. The Streams API through boto3 (``GetRecords``) gives ``Type`` / ``PrincipalId``, a
``datetime`` and ``bytes``. :func:`parse_record` accepts both and returns one
:class:`StreamRecord`; decoding images into models is :mod:`dyntable.streams.events`' job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

# The Streams API errors are the shared ones of dyntable.errors (every transport maps
# ExpiredIteratorException / TrimmedDataAccessException to them); re-exported here.
from dyntable.errors import DecodeError, ExpiredIteratorError, TrimmedDataError

__all__ = [
    "EVENT_NAMES",
    "LOCAL_TTL_EVENT_NAME",
    "TTL_PRINCIPAL",
    "ExpiredIteratorError",
    "MissingImageError",
    "StreamRecord",
    "StreamRecordError",
    "TrimmedDataError",
    "parse_record",
    "sequence_key",
]

EventName = Literal["INSERT", "MODIFY", "REMOVE"]
#: The event names DynamoDB documents.
EVENT_NAMES: tuple[EventName, ...] = ("INSERT", "MODIFY", "REMOVE")
#: ``userIdentity.principalId`` of deletions made by DynamoDB's TTL process.
TTL_PRINCIPAL = "dynamodb.amazonaws.com"
#: The ``eventName`` of DynamoDB Local's TTL deletions (its SDK's word for an operation
#: type it has no name for); read as ``REMOVE`` when the record carries no new image.
LOCAL_TTL_EVENT_NAME = "UNKNOWN_TO_SDK_VERSION"

AV = dict[str, Any]
Image = dict[str, AV]


class StreamRecordError(DecodeError):
    """A stream record is malformed, or its image does not fit its model.

    Attributes:
        event_id: the record's ``eventID``, when it has one.
        sequence_number: the record's ``SequenceNumber``, when it has one.
    """

    def __init__(
        self,
        message: str,
        *,
        event_id: str | None = None,
        sequence_number: str | None = None,
        model: str | None = None,
        key: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, model=model, key=key)
        self.event_id = event_id
        self.sequence_number = sequence_number


class MissingImageError(StreamRecordError):
    """An image was asked for that the stream's view type does not carry."""


def sequence_key(sequence_number: str) -> int:
    """A sequence number as an int: they are 21-40 digit strings and compare as numbers."""
    if not sequence_number.isdigit():
        raise ValueError(f"not a stream sequence number: {sequence_number!r}")
    return int(sequence_number)


@dataclass(frozen=True)
class StreamRecord:
    """One stream record, normalised.

    Attributes:
        event_name: ``INSERT`` / ``MODIFY`` / ``REMOVE``. DynamoDB Local names its TTL
            deletions ``UNKNOWN_TO_SDK_VERSION``; such a record without a new image is a
            ``REMOVE`` (the name as received is in ``raw_event_name``). Any other name, or
            none, is refused by :func:`parse_record`.
        raw_event_name: ``eventName`` exactly as received.
        event_id: ``eventID``.
        sequence_number: ``dynamodb.SequenceNumber`` (compare with :func:`sequence_key`).
        keys / new_image / old_image: AttributeValue maps (``None`` when absent).
        view_type: ``StreamViewType`` (``KEYS_ONLY``, ``NEW_IMAGE``, ``OLD_IMAGE``,
            ``NEW_AND_OLD_IMAGES``), when given.
        created_at: ``ApproximateCreationDateTime`` as an aware datetime.
        size_bytes: ``SizeBytes``.
        identity_type / principal_id: ``userIdentity`` (``Service`` /
            ``dynamodb.amazonaws.com`` for TTL deletions).
        source_arn: ``eventSourceARN`` (Lambda only).
        region: ``awsRegion``.
    """

    event_name: EventName
    raw_event_name: str
    event_id: str
    sequence_number: str
    keys: Image
    new_image: Image | None = None
    old_image: Image | None = None
    view_type: str | None = None
    created_at: datetime | None = None
    size_bytes: int | None = None
    identity_type: str | None = None
    principal_id: str | None = None
    source_arn: str | None = None
    region: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_ttl_expiry(self) -> bool:
        """True for a deletion made by DynamoDB's TTL process (a ``Service`` identity)."""
        return (
            self.event_name == "REMOVE"
            and (self.identity_type or "").lower() == "service"
            and self.principal_id == TTL_PRINCIPAL
        )

    @property
    def sequence(self) -> int:
        """The sequence number as an int."""
        return sequence_key(self.sequence_number)


def _fail(raw: Mapping[str, Any], message: str) -> StreamRecordError:
    body = raw.get("dynamodb")
    seq = body.get("SequenceNumber") if isinstance(body, Mapping) else None
    event_id = raw.get("eventID")
    return StreamRecordError(
        f"stream record {seq or '?'} (eventID {event_id or '?'}): {message}",
        event_id=event_id if isinstance(event_id, str) else None,
        sequence_number=seq if isinstance(seq, str) else None,
    )


def _image(raw: Mapping[str, Any], body: Mapping[str, Any], name: str) -> Image | None:
    image = body.get(name)
    if image is None:
        return None
    if not isinstance(image, Mapping) or not all(isinstance(v, Mapping) for v in image.values()):
        raise _fail(raw, f"dynamodb.{name} is not a map of AttributeValues")
    return {k: dict(v) for k, v in image.items()}


def _created_at(raw: Mapping[str, Any], value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    raise _fail(raw, f"ApproximateCreationDateTime {type(value).__name__} is not a time")


def _event_name(raw: Mapping[str, Any], new: Image | None) -> tuple[EventName, str]:
    """``(event_name, raw_event_name)``; a missing or unknown name is an error, never a guess."""
    name = raw.get("eventName")
    if name in EVENT_NAMES:
        return name, name
    if name == LOCAL_TTL_EVENT_NAME and new is None:
        return "REMOVE", name
    what = "has no eventName" if name is None else f"has eventName {name!r}"
    raise _fail(raw, f"{what}, not one of {', '.join(EVENT_NAMES)}: what happened to the "
                     "item cannot be told, so the record is not handled")


def _identity(raw: Mapping[str, Any]) -> tuple[str | None, str | None]:
    who = raw.get("userIdentity")
    if not isinstance(who, Mapping):
        return None, None
    kind = who.get("type", who.get("Type"))
    principal = who.get("principalId", who.get("PrincipalId"))
    return (kind if isinstance(kind, str) else None,
            principal if isinstance(principal, str) else None)


def parse_record(raw: Mapping[str, Any]) -> StreamRecord:
    """Normalise one record (Lambda JSON or boto3 ``GetRecords`` shape).

    Raises:
        StreamRecordError: the record lacks ``dynamodb``, ``SequenceNumber`` or ``Keys``, its
            images are not AttributeValue maps, its source is not DynamoDB, or its
            ``eventName`` is missing or not ``INSERT`` / ``MODIFY`` / ``REMOVE`` (DynamoDB
            Local's TTL deletions aside, see :data:`LOCAL_TTL_EVENT_NAME`).
    """
    if not isinstance(raw, Mapping):
        raise StreamRecordError(f"a stream record is a mapping, not {type(raw).__name__}")
    source = raw.get("eventSource", "aws:dynamodb")
    if source != "aws:dynamodb":
        raise _fail(raw, f"eventSource is {source!r}, not 'aws:dynamodb'")
    body = raw.get("dynamodb")
    if not isinstance(body, Mapping):
        raise _fail(raw, "no 'dynamodb' section")
    seq = body.get("SequenceNumber")
    if not isinstance(seq, str) or not seq.isdigit():
        raise _fail(raw, f"SequenceNumber {seq!r} is not a digit string")
    keys = _image(raw, body, "Keys")
    if not keys:
        raise _fail(raw, "no Keys")
    new, old = _image(raw, body, "NewImage"), _image(raw, body, "OldImage")
    event_name, raw_name = _event_name(raw, new)
    identity_type, principal = _identity(raw)
    size = body.get("SizeBytes")
    return StreamRecord(
        event_name=event_name,
        raw_event_name=raw_name,
        event_id=str(raw.get("eventID", "")),
        sequence_number=seq,
        keys=keys,
        new_image=new,
        old_image=old,
        view_type=body.get("StreamViewType"),
        created_at=_created_at(raw, body.get("ApproximateCreationDateTime")),
        size_bytes=int(size) if isinstance(size, (int, float)) else None,
        identity_type=identity_type,
        principal_id=principal,
        source_arn=raw.get("eventSourceARN"),
        region=raw.get("awsRegion"),
        raw=raw,
    )
