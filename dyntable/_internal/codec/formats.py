"""Converters of fields stored by a format, a type hook or a pydantic serializer.

A :class:`Converter` is built once per such field (see
:func:`~dyntable._internal.schema.field_formats.field_format` for which rule applies) and
called by the compiled item codec in place of the field's inline case; fields without one
are compiled exactly as before.

Policies:
    * Epoch formats store an integer when the value has no fraction of the unit, else a
      decimal number with the microseconds (nothing is lost); any stored number reads
      back, rounded to microseconds. Naive datetimes are refused, as everywhere.
    * Reading is lenient: a value stored in another form (e.g. ISO text in an epoch field,
      a BOOL in a BOOL_AS_NUMBER field) is decoded by its runtime type and left to pydantic
      validation, which accepts it or reports it.
    * A serializer field stores what the model's pydantic serializer returns for it in
      python mode, encoded by runtime type, and reads back by runtime type: the model's
      validators turn it back into the field's value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any, Protocol

from dyntable._internal.codec.containers import SizedAV
from dyntable._internal.codec.limits import av_bound
from dyntable._internal.codec.values import datetime_text, from_av, parse_datetime, to_av
from dyntable._internal.schema.field_formats import FieldFormat, field_format, serialized_fields
from dyntable.errors import InvalidValueError
from dyntable.schema.formats import Format, TypeHook

if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter

    from dyntable._internal.schema.spec import FieldSpec

__all__ = [
    "Converter",
    "ValueEncoder",
    "converter",
    "converters",
    "model_serializer",
    "submodel_converters",
    "validate_alone",
]

AV = dict[str, Any]
Serialize = Callable[[Mapping[str, Any]], dict[str, Any]]
_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_DECODE_ERRORS = (KeyError, TypeError, ValueError, ArithmeticError)


class ValueEncoder(Protocol):
    """``enc(value, level=0) -> av | None`` (``None``: leave the attribute out)."""

    def __call__(self, v: Any, level: int = 0, /) -> AV | None: ...


class Converter:
    """One field's own conversion, called by the compiled codec.

    ``encode(v, level)`` encodes what the item encoder holds for the field (the field
    value; for a serializer field, the serialized value) as an AttributeValue or ``None``
    (left out), ``sized`` adds an upper bound of its size; ``value(v)`` encodes a field
    value alone (conditions, updates); ``decode(av, level)`` gives the value to validate.
    ``serialize`` (serializer fields) dumps the model's serializer fields from its
    ``__dict__`` in one call.
    """

    __slots__ = ("decode", "encode", "serialize", "sized", "value")

    def __init__(
        self,
        encode: ValueEncoder,
        decode: Callable[[AV, int], Any],
        value: ValueEncoder | None = None,
        serialize: Serialize | None = None,
    ) -> None:
        self.encode: ValueEncoder = encode
        self.decode = decode
        self.value: ValueEncoder = value or encode
        self.serialize = serialize

        def sized(v: Any, level: int = 0) -> SizedAV | None:
            av = encode(v, level)
            return None if av is None else (av, av_bound(av))
        self.sized = sized


def _lenient(fast: Callable[[AV], Any]) -> Callable[[AV, int], Any]:
    """``fast(av)``; a value stored in another form is decoded by runtime type."""
    def decode(av: AV, level: int = 0) -> Any:
        try:
            return fast(av)
        except _DECODE_ERRORS:
            return from_av(av, level)
    return decode


# -- datetimes -------------------------------------------------------------------------


def _aware(v: Any, path: str, fmt: Format) -> datetime:
    if not isinstance(v, datetime):
        raise InvalidValueError(
            f"{path}: {fmt!r} stores datetimes, got {type(v).__name__} {v!r}"
        )
    if v.tzinfo is None or v.utcoffset() is None:
        datetime_text(v, path)  # raises the naive-datetime error
    return v


def _epoch_text(v: datetime, per_second: int, digits: int) -> str:
    """``v`` in units (``per_second`` a second) since the epoch: an integer, or a decimal
    number holding the microseconds (``digits`` fraction digits at most)."""
    delta = v - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    scale = 1_000_000 // per_second
    whole, part = divmod(abs(micros), scale)
    sign = "-" if micros < 0 else ""
    if not part:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{part:0{digits}d}".rstrip("0")


def _epoch(path: str, fmt: Format, per_second: int) -> Converter:
    scale = 1_000_000 // per_second
    digits = len(str(scale)) - 1

    def encode(v: Any, level: int = 0) -> AV:
        return {"N": _epoch_text(_aware(v, path, fmt), per_second, digits)}

    def decode(av: AV, level: int = 0) -> Any:
        try:
            text = av["N"]
            if text.isdigit():
                return _EPOCH + timedelta(microseconds=int(text) * scale)
            micros = (Decimal(text) * scale).to_integral_value(ROUND_HALF_EVEN)
            return _EPOCH + timedelta(microseconds=int(micros))
        except _DECODE_ERRORS:
            return from_av(av, level)  # another form: left to validation

    return Converter(encode, decode)


_PYNAMODB_TEXT = "%04d-%02d-%02dT%02d:%02d:%02d.%06d+0000"


def _pynamodb(path: str) -> Converter:
    def encode(v: Any, level: int = 0) -> AV:
        v = _aware(v, path, Format.PYNAMODB)
        if v.tzinfo is not _UTC:
            try:
                v = v.astimezone(_UTC)
            except OverflowError:
                raise InvalidValueError(
                    f"datetime {v.isoformat()} in {path} is outside years 1-9999 in UTC"
                ) from None
        return {"S": _PYNAMODB_TEXT % (v.year, v.month, v.day, v.hour, v.minute, v.second,
                                       v.microsecond)}

    return Converter(encode, _lenient(lambda av: parse_datetime(av["S"])))


def _iso_offset(path: str) -> Converter:
    def encode(v: Any, level: int = 0) -> AV:
        return {"S": _aware(v, path, Format.ISO_OFFSET).isoformat()}

    return Converter(encode, _lenient(lambda av: parse_datetime(av["S"])))


# -- booleans and JSON -----------------------------------------------------------------

_NUMBER_BOOL = {"1": True, "0": False}


def _bool_number(path: str) -> Converter:
    def encode(v: Any, level: int = 0) -> AV:
        if type(v) is not bool:
            raise InvalidValueError(
                f"{path}: Format.BOOL_AS_NUMBER stores bools, got {type(v).__name__} {v!r}"
            )
        return {"N": "1" if v else "0"}

    def decode(av: AV, level: int = 0) -> Any:
        try:
            return _NUMBER_BOOL[av["N"]]
        except _DECODE_ERRORS:
            return from_av(av, level)  # another form (e.g. BOOL): left to validation

    return Converter(encode, decode)


def _json(path: str, annotation: Any) -> Converter:
    adapters: list[TypeAdapter[Any]] = []

    def adapter() -> TypeAdapter[Any]:
        if not adapters:
            from pydantic import TypeAdapter

            adapters.append(TypeAdapter(annotation))
        return adapters[0]

    def encode(v: Any, level: int = 0) -> AV:
        try:
            text = adapter().dump_json(v, by_alias=True)
        except Exception as exc:  # pydantic's serialization errors vary
            raise InvalidValueError(f"{path}: Format.JSON cannot write {v!r}: {exc}") from None
        return {"S": text.decode("utf-8")}

    def decode(av: AV, level: int = 0) -> Any:
        text = av.get("S")
        if not isinstance(text, str):
            return from_av(av, level)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidValueError(
                f"{path}: stored text is not JSON (Format.JSON): {exc}"
            ) from None

    return Converter(encode, decode)


_FORMATS: dict[Format, Callable[[str, Any], Converter]] = {
    Format.EPOCH_SECONDS: lambda path, a: _epoch(path, Format.EPOCH_SECONDS, 1),
    Format.EPOCH_MILLIS: lambda path, a: _epoch(path, Format.EPOCH_MILLIS, 1000),
    Format.PYNAMODB: lambda path, a: _pynamodb(path),
    Format.ISO_OFFSET: lambda path, a: _iso_offset(path),
    Format.BOOL_AS_NUMBER: lambda path, a: _bool_number(path),
    Format.JSON: _json,
}


# -- type hooks ------------------------------------------------------------------------


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _hook(path: str, hook: TypeHook[Any]) -> Converter:
    to_stored, from_stored = hook.encode, hook.decode

    def encode(v: Any, level: int = 0) -> AV | None:
        try:
            stored = to_stored(v)
        except Exception as exc:  # the user's code: report it, naming the field
            raise InvalidValueError(
                f"{path}: type hook {_name(to_stored)} failed on {v!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if stored is None or (not stored and isinstance(stored, (set, frozenset))):
            return None  # left out, like a None value or an empty set field
        return to_av(stored, path, level)

    def decode(av: AV, level: int = 0) -> Any:
        stored = from_av(av, level)
        try:
            return from_stored(stored)
        except Exception as exc:  # the user's code: report it, naming the field
            raise InvalidValueError(
                f"{path}: type hook {_name(from_stored)} failed on stored {stored!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from None

    return Converter(encode, decode)


# -- pydantic serializers --------------------------------------------------------------


def model_serializer(model: type[BaseModel], names: frozenset[str]) -> Serialize:
    """``serialize(values)``: the python-mode dump of ``names`` from a model's ``__dict__``.

    The model's own serializer runs on a shell instance holding ``values`` (what
    ``model_construct`` builds), so a ``field_serializer`` sees ``self`` as usual.
    """
    include = set(names)
    new = model.__new__
    setattr_ = object.__setattr__
    where = model.__name__

    def serialize(values: Mapping[str, Any]) -> dict[str, Any]:
        shell = new(model)
        setattr_(shell, "__dict__", values)
        setattr_(shell, "__pydantic_fields_set__", set())
        setattr_(shell, "__pydantic_extra__", None)
        setattr_(shell, "__pydantic_private__", None)
        try:
            out: dict[str, Any] = model.__pydantic_serializer__.to_python(
                shell, include=include, by_alias=False
            )
        except Exception as exc:
            raise InvalidValueError(
                f"{where}: a pydantic serializer failed: {type(exc).__name__}: {exc}"
            ) from None
        return out

    return serialize


def validate_alone(model: type[BaseModel], name: str, value: Any) -> Any:
    """``value`` validated as field ``name`` by the model's own validation (its field
    validators included), without the other fields.

    Used for serializer fields, whose stored form only the model's validators turn back
    into the field's value (e.g. a decrypting ``field_validator``).
    """
    shell = model.model_construct()
    try:
        model.__pydantic_validator__.validate_assignment(shell, name, value)
    except ValueError:  # pydantic's ValidationError: reported by the caller
        raise
    except Exception as exc:  # a model validator that needs other fields
        raise InvalidValueError(
            f"{model.__name__}.{name}: validating the field alone failed "
            f"({type(exc).__name__}: {exc}); a model validator may need the other fields"
        ) from None
    return shell.__dict__[name]


def _serialized(name: str, serialize: Serialize) -> Converter:
    def encode(v: Any, level: int = 0) -> AV | None:
        if not v and isinstance(v, (set, frozenset)):
            return None  # as for set fields: an empty set is left out
        return to_av(v, name, level)

    def value(v: Any, level: int = 0) -> AV | None:
        stored = serialize({name: v}).get(name)
        return None if stored is None else encode(stored, level)

    return Converter(encode, from_av, value, serialize)


def converter(
    path: str, annotation: Any, rule: FieldFormat, serialize: Serialize | None = None
) -> Converter:
    """The converter of field ``path`` following ``rule`` (``serialize``: the model's, for
    a serializer field)."""
    if rule.serialized:
        assert serialize is not None
        return _serialized(path, serialize)
    if rule.format is not None:
        return _FORMATS[rule.format](path, annotation)
    assert rule.hook is not None
    return _hook(path, rule.hook)


def converters(
    model: type[BaseModel], fields: Mapping[str, FieldSpec],
    hooks: Mapping[type, TypeHook[Any]] | None,
) -> dict[str, Converter]:
    """Field name -> converter, for the fields of a table model that need one."""
    serialized = serialized_fields(model)
    serialize = model_serializer(model, serialized) if serialized else None
    out: dict[str, Converter] = {}
    for name, f in fields.items():
        rule = field_format(model, name, f.annotation, f.metadata, hooks=hooks,
                            serialized=serialized, own_encoding=f.is_ttl or f.is_version)
        if rule is not None:
            out[name] = converter(name, f.annotation, rule, serialize)
    return out


def submodel_converters(model: type[BaseModel]) -> dict[str, Converter]:
    """Field name -> converter, for the fields of a nested model (its own markers and
    serializers; the table's type hooks do not reach nested models)."""
    serialized = serialized_fields(model)
    serialize = model_serializer(model, serialized) if serialized else None
    out: dict[str, Converter] = {}
    for name, info in model.model_fields.items():
        rule = field_format(model, name, info.annotation, tuple(info.metadata),
                            serialized=serialized)
        if rule is not None:
            out[name] = converter(name, info.annotation, rule, serialize)
    return out
