"""Storage formats and type hooks: how a field's value is written to and read from DynamoDB.

A field stores dyntable's own encoding unless its annotation says otherwise::

    created: Annotated[datetime, Format.EPOCH_SECONDS]          # N, epoch seconds
    price: Annotated[Money, TypeHook(encode=str, decode=Money.parse)]

or the table registers a hook for a Python type (``Table(..., type_hooks={Money: hook})``).
The codec compiles these into each model's encoder and decoder (see
:mod:`dyntable._internal.codec.formats`); the declaration is checked when the model class
is created (see :mod:`dyntable._internal.schema.field_formats`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dyntable.errors import DeclarationError

__all__ = ["Format", "TypeHook"]

T = TypeVar("T")


class Format(enum.Enum):
    """A field's storage format, given in its ``Annotated`` metadata.

    Attributes:
        EPOCH_SECONDS: a ``datetime`` stored as N, seconds since 1970-01-01 UTC: an integer
            when the value has no sub-second part, else a decimal number with up to six
            fraction digits (nothing is lost). Reads back as an aware UTC datetime.
        EPOCH_MILLIS: a ``datetime`` stored as N, milliseconds since the epoch (an integer
            unless the value has sub-millisecond microseconds, then a decimal number).
        PYNAMODB: a ``datetime`` stored as PynamoDB's ``UTCDateTimeAttribute`` string,
            ``%Y-%m-%dT%H:%M:%S.%f+0000``, always in UTC.
        ISO_OFFSET: a ``datetime`` stored as ISO 8601 text keeping the value's own UTC
            offset (``2026-11-30T10:00:00+01:00``); reads back with that fixed offset.
        BOOL_AS_NUMBER: a ``bool`` stored as N ``1`` / ``0``.
        JSON: any JSON-able value (dict, list, nested pydantic model...) stored as one S
            attribute holding JSON text; read back by parsing it, then validated as usual.
    """

    EPOCH_SECONDS = "epoch_seconds"
    EPOCH_MILLIS = "epoch_millis"
    PYNAMODB = "pynamodb"
    ISO_OFFSET = "iso_offset"
    BOOL_AS_NUMBER = "bool_as_number"
    JSON = "json"

    def __repr__(self) -> str:
        return f"Format.{self.name}"


@dataclass(frozen=True)
class TypeHook(Generic[T]):
    """A custom conversion between a Python value and what is stored.

    ``encode(value)`` returns a plain value DynamoDB can hold (``str``, ``int``,
    ``Decimal``, ``float``, ``bytes``, ``bool``, a list or dict of those, a set of strings,
    numbers or bytes), which dyntable writes as its AttributeValue; returning ``None`` or
    an empty set leaves the attribute out. ``decode(stored)`` receives the plain stored
    value (``str``, ``int`` / ``Decimal``, ``bytes``, ``bool``, list, dict, set) and
    returns the field's value, which pydantic then validates.

    Give it per field (``Annotated[Money, TypeHook(...)]``) or per Python type for every
    model of a table (``Table(..., type_hooks={Money: TypeHook(...)})``); the field's own
    hook or format wins.

    Args:
        encode: value -> stored plain value.
        decode: stored plain value -> value.
    """

    encode: Callable[[T], Any]
    decode: Callable[[Any], T]

    def __post_init__(self) -> None:
        if not callable(self.encode) or not callable(self.decode):
            raise DeclarationError("TypeHook(encode=..., decode=...) takes two callables")
