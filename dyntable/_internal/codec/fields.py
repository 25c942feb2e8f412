"""Encoders and decoders chosen once per field annotation (compiled per model class)."""

from __future__ import annotations

import enum
import math
import types
import typing
import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Context, Decimal
from typing import Any, Protocol

from dyntable._internal.codec.containers import (
    SizedEncoder,
    dict_any_encoder,
    dict_str_encoder,
    list_int_encoder,
    list_str_encoder,
    set_encoder,
    set_str_encoder,
)
from dyntable._internal.codec.formats import converter
from dyntable._internal.codec.limits import av_bound, check_decimal, number_text, utf8_text
from dyntable._internal.codec.pydantic_loaded import is_model_class
from dyntable._internal.codec.values import b_value, datetime_text, from_av, parse_datetime, to_av
from dyntable._internal.schema.field_formats import annotated_rule
from dyntable.errors import InvalidValueError

__all__ = [
    "Decoder",
    "Encoder",
    "FieldKind",
    "field_kind",
    "kind_tag",
    "make_decoder",
    "make_encoder",
    "sized_encoder",
]

AV = dict[str, Any]
Decoder = Callable[[AV], Any]


class Encoder(Protocol):
    """``enc(value, level=0) -> av | None`` (``None``: leave the attribute out)."""

    def __call__(self, v: Any, level: int = 0, /) -> AV | None: ...

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


def _literal_tag(values: tuple[Any, ...]) -> str:
    if values and all(type(v) is str for v in values):
        return "str"
    if values and all(type(v) is int for v in values):
        return "int"
    return "other"


def _enum_tag(cls: type[enum.Enum]) -> str:
    values = tuple(m.value for m in cls)
    tag = _literal_tag(values)
    if tag == "int" and not all(-(10**38) < v < 10**38 for v in values):
        return "other"
    return "enum_" + tag if tag != "other" else tag


def _container_tag(kind: FieldKind) -> str:
    origin, args = kind.origin, kind.args
    if kind.is_set:
        return "set_str" if args == (str,) else "set"
    if origin is list and len(args) == 1 and args[0] in (str, int):
        return "list_str" if args[0] is str else "list_int"
    if origin is dict and len(args) == 2 and args[0] is str:
        if args[1] is str:
            return "dict_str"
        if args[1] is Any:
            return "dict_any"
    return "other"


def kind_tag(annotation: Any) -> str:
    """The codec's name for how values of ``annotation`` are encoded and decoded.

    One of ``str bool int float decimal datetime bytes list_str list_int set_str set
    dict_str dict_any enum_str enum_int model other``. ``Literal`` of strings is ``str``,
    of ints ``int``; ``Enum`` subclasses are ``enum_str`` / ``enum_int`` by their values.
    """
    kind = field_kind(annotation)
    base = kind.base
    simple = _SIMPLE.get(base) if isinstance(base, type) else None
    if simple is not None:
        return simple
    if kind.origin is typing.Literal:
        return _literal_tag(kind.args)
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return _enum_tag(base)
    if is_model_class(base):
        return "model"
    if kind.is_set or kind.origin is not None:
        return _container_tag(kind)
    return "other"


_SIMPLE: dict[type, str] = {
    str: "str", bool: "bool", int: "int", float: "float", Decimal: "decimal",
    datetime: "datetime", bytes: "bytes",
}
_CONTAINERS: dict[str, Callable[[str], SizedEncoder]] = {
    "list_str": list_str_encoder,
    "list_int": list_int_encoder,
    "set_str": set_str_encoder,
    "set": set_encoder,
    "dict_str": dict_str_encoder,
    "dict_any": dict_any_encoder,
}


def _unsized(enc: SizedEncoder) -> Encoder:
    def plain(v: Any, level: int = 0) -> AV | None:
        r = enc(v, level)
        return None if r is None else r[0]
    return plain


def make_encoder(annotation: Any, path: str, *, ttl: bool = False) -> Encoder:
    """An encoder for values of ``annotation``; returns ``None`` to leave the attribute out.

    The encoder takes the value and, optionally, the number of maps and lists around it
    (``level``, 0 for an attribute; see :data:`~dyntable._internal.codec.limits.MAX_CONTAINERS`).
    """
    if ttl:
        return _ttl_encoder(path)
    rule = annotated_rule(annotation) if typing.get_args(annotation) else None
    if rule is not None:  # a Format or TypeHook carried by the annotation itself
        return converter(path, annotation, rule).encode
    tag = kind_tag(annotation)
    container = _CONTAINERS.get(tag)
    if container is not None:
        return _unsized(container(path))
    if tag in ("str", "enum_str"):
        return lambda v, level=0: {"S": v} if type(v) is str and v.isascii() \
            else to_av(v, path, level)
    if tag == "bool":
        return lambda v, level=0: {"BOOL": v} if type(v) is bool else to_av(v, path, level)
    if tag in ("int", "float"):
        t = int if tag == "int" else float
        return lambda v, level=0: {"N": number_text(v, path)} if type(v) is t \
            else to_av(v, path, level)
    if tag == "decimal":
        return lambda v, level=0: {"N": check_decimal(v, path)} if type(v) is Decimal \
            else to_av(v, path, level)
    if tag == "datetime":
        return lambda v, level=0: {"S": datetime_text(v, path)} if isinstance(v, datetime) \
            else to_av(v, path, level)
    return lambda v, level=0: to_av(v, path, level)


def sized_encoder(annotation: Any, path: str, *, ttl: bool = False) -> SizedEncoder:
    """Like :func:`make_encoder`, returning ``(av, size bound)`` (for item encoders)."""
    if not ttl:
        container = _CONTAINERS.get(kind_tag(annotation))
        if container is not None:
            return container(path)
    plain = make_encoder(annotation, path, ttl=ttl)

    def enc(v: Any, level: int = 0) -> tuple[AV, int] | None:
        av = plain(v, level)
        return None if av is None else (av, av_bound(av))
    return enc


def _ttl_encoder(path: str) -> Encoder:
    def enc(v: Any, level: int = 0) -> AV:
        if isinstance(v, datetime):
            if v.tzinfo is None:
                datetime_text(v, path)  # raises the naive-datetime error
            return {"N": str(int(v.timestamp()))}
        if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
            if type(v) is not int and not _finite(v):
                raise InvalidValueError(
                    f"TTL field {path} is {v}: a TTL must be a finite number of epoch "
                    "seconds (or a datetime); leave it None for an item that never expires"
                )
            if not -_TTL_LIMIT < v < _TTL_LIMIT:  # before int(): 1E+999999999 is finite
                raise InvalidValueError(
                    f"TTL field {path} is out of range: epoch seconds hold at most 38 digits"
                )
            return {"N": str(int(v))}
        raise InvalidValueError(f"TTL field {path} must be a datetime or epoch seconds")
    return enc


_TTL_LIMIT = 10**38


def _finite(v: float | Decimal) -> bool:
    return v.is_finite() if isinstance(v, Decimal) else math.isfinite(v)


def _guard(fast: Decoder) -> Decoder:
    def dec(av: AV) -> Any:
        try:
            return fast(av)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return from_av(av)  # let model validation report the mismatch
    return dec


_DECODERS: dict[str, Decoder] = {
    "str": lambda av: av["S"],
    "enum_str": lambda av: av["S"],
    "bool": lambda av: av["BOOL"],
    "int": lambda av: int(av["N"]),
    "enum_int": lambda av: int(av["N"]),
    "float": lambda av: float(av["N"]),
    "decimal": lambda av: Decimal(av["N"]),
    "datetime": lambda av: parse_datetime(av["S"]),
    "bytes": lambda av: b_value(av["B"]),
    "list_str": lambda av: [x["S"] for x in av["L"]],
    "list_int": lambda av: [int(x["N"]) for x in av["L"]],
    "set_str": lambda av: set(av["SS"]),
    "dict_str": lambda av: {k: x["S"] for k, x in av["M"].items()},
}


def make_decoder(annotation: Any, *, ttl: bool = False) -> Decoder:
    """A decoder from an AttributeValue to a value that validates as ``annotation``."""
    if ttl:
        if field_kind(annotation).base is datetime:
            return _guard(lambda av: datetime.fromtimestamp(int(Decimal(av["N"])), _UTC))
        return _guard(lambda av: int(Decimal(av["N"])))
    fast = _DECODERS.get(kind_tag(annotation))
    return from_av if fast is None else _guard(fast)


_EXACT = Context(prec=64)  # more than DynamoDB's 38 digits: normalising never rounds


def decimal_key_text(value: Decimal) -> str:
    """The one text of a Decimal inside a key: plain notation, no trailing zeros.

    ``Decimal("1.50")``, ``Decimal("1.5")`` and ``Decimal("15E-1")`` all give ``"1.5"``;
    ``Decimal("1E+2")`` gives ``"100"``. DynamoDB stores numbers normalised, so an object
    read back holds ``Decimal("1.5")``: its key must be the same text as the one written.
    """
    text = number_text(value)  # DynamoDB's limits: 38 digits, exponent range, no NaN
    if "E" not in text and not ("." in text and text[-1] == "0") and text != "-0":
        return text  # already plain and without trailing zeros
    if value == 0:
        return "0"
    return format(value.normalize(_EXACT), "f")


def key_text(value: Any, spec: str = "") -> str:
    """The text of a value inside a key template (``spec``: a format spec such as ``08d``)."""
    t = type(value)
    if t is str:
        return value if value.isascii() else utf8_text(value)
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
    if isinstance(value, Decimal):
        return decimal_key_text(value)
    if isinstance(value, (int, float)):
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
