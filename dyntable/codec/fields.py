"""Encoders and decoders chosen once per field annotation (compiled per model class)."""

from __future__ import annotations

import enum
import types
import typing
import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from dyntable.codec.limits import check_decimal, number_text
from dyntable.codec.values import b_value, datetime_text, from_av, parse_datetime, to_av
from dyntable.errors import InvalidValueError

__all__ = ["Decoder", "Encoder", "FieldKind", "field_kind", "make_decoder", "make_encoder"]

AV = dict[str, Any]
Encoder = Callable[[Any], "AV | None"]
Decoder = Callable[[AV], Any]
_UTC = timezone.utc
_SET_ORIGINS = (set, frozenset)


class FieldKind:
    """The shape of an annotation: its base type, whether optional, whether a set."""

    __slots__ = ("args", "base", "is_set", "optional", "origin")

    def __init__(self, base: Any, optional: bool, origin: Any, args: tuple[Any, ...]) -> None:
        self.base = base
        self.optional = optional
        self.origin = origin
        self.args = args
        self.is_set = origin in _SET_ORIGINS or base in _SET_ORIGINS


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def field_kind(annotation: Any) -> FieldKind:
    """Analyse an annotation: ``int | None`` -> base ``int``, optional."""
    annotation = _strip_annotated(annotation)
    origin = typing.get_origin(annotation)
    optional = False
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) != len(typing.get_args(annotation))
        if len(args) == 1:
            annotation = _strip_annotated(args[0])
            origin = typing.get_origin(annotation)
        else:
            return FieldKind(Any, optional, None, tuple(args))
    return FieldKind(annotation, optional, origin, typing.get_args(annotation))


def make_encoder(annotation: Any, path: str, *, ttl: bool = False) -> Encoder:
    """An encoder for values of ``annotation``; returns ``None`` to leave the attribute out."""
    kind = field_kind(annotation)
    base = kind.base
    if ttl:
        return _ttl_encoder(path)
    if kind.is_set:
        def enc_set(v: Any) -> AV | None:
            if not v:
                return None
            return to_av(v, path)
        return enc_set
    if base is str:
        return lambda v: {"S": v} if type(v) is str else to_av(v, path)
    if base is bool:
        return lambda v: {"BOOL": v} if type(v) is bool else to_av(v, path)
    if base is int:
        return lambda v: {"N": number_text(v, path)} if type(v) is int else to_av(v, path)
    if base is float:
        return lambda v: {"N": number_text(v, path)} if type(v) is float else to_av(v, path)
    if base is Decimal:
        return lambda v: {"N": check_decimal(v, path)} if type(v) is Decimal else to_av(v, path)
    if base is datetime:
        return lambda v: {"S": datetime_text(v, path)} if isinstance(v, datetime) \
            else to_av(v, path)
    return lambda v: to_av(v, path)


def _ttl_encoder(path: str) -> Encoder:
    def enc(v: Any) -> AV:
        if isinstance(v, datetime):
            if v.tzinfo is None:
                datetime_text(v, path)  # raises the naive-datetime error
            return {"N": str(int(v.timestamp()))}
        if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
            return {"N": str(int(v))}
        raise InvalidValueError(f"TTL field {path} must be a datetime or epoch seconds")
    return enc


def _guard(fast: Decoder) -> Decoder:
    def dec(av: AV) -> Any:
        try:
            return fast(av)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return from_av(av)  # let model validation report the mismatch
    return dec


def make_decoder(annotation: Any, *, ttl: bool = False) -> Decoder:
    """A decoder from an AttributeValue to a value that validates as ``annotation``."""
    kind = field_kind(annotation)
    base = kind.base
    if ttl:
        if base is datetime:
            return _guard(lambda av: datetime.fromtimestamp(int(Decimal(av["N"])), _UTC))
        return _guard(lambda av: int(Decimal(av["N"])))
    if base is str:
        return _guard(lambda av: av["S"])
    if base is bool:
        return _guard(lambda av: av["BOOL"])
    if base is int:
        return _guard(lambda av: int(av["N"]))
    if base is float:
        return _guard(lambda av: float(av["N"]))
    if base is Decimal:
        return _guard(lambda av: Decimal(av["N"]))
    if base is datetime:
        return _guard(lambda av: parse_datetime(av["S"]))
    if base is bytes:
        return _guard(lambda av: b_value(av["B"]))
    return from_av


def key_text(value: Any, spec: str = "") -> str:
    """The text of a value inside a key template (``spec``: a format spec such as ``08d``)."""
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if spec:
        try:
            return format(value, spec)
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(f"cannot format {value!r} with {spec!r}: {exc}") from None
    if t is int:
        return str(value)
    if isinstance(value, enum.Enum):
        return key_text(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return number_text(value)
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return str(value)
    raise InvalidValueError(f"{type(value).__name__} value {value!r} cannot be part of a key")
