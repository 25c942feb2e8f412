"""Python values <-> DynamoDB AttributeValues, by runtime type (for untyped data).

Per-model codecs (``items.py``) choose encoders by annotation once per class; this module
is their fallback for ``Any``, unions and the contents of ``dict`` / ``list`` fields.

Policies:
    * ``float`` is written with ``repr`` (the shortest text that reads back to the same
      float); NaN and infinity are refused.
    * ``datetime`` must be timezone-aware; it is stored in UTC as
      ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (fixed width, so strings sort in time order).
      Naive datetimes are refused. Reading accepts what other writers store too: ISO 8601
      with any offset, ``+01:00`` or ``+0100`` (PynamoDB's ``...+0000``).
    * Numbers read back without a type become ``int`` when integral text, else ``Decimal``.
    * An empty set has no DynamoDB form: as a model field it is left out of the item and
      read back as an empty set; anywhere else it is refused.
    * Text must be valid Unicode (DynamoDB stores UTF-8): a ``str`` holding a lone
      surrogate, as a value or a map key, is refused.
    * Maps and lists nest at most 32 levels deep, as in DynamoDB (see
      :data:`~dyntable._internal.codec.limits.MAX_CONTAINERS`); deeper values are refused while
      encoding, before Python's recursion limit could be reached, and refused on decoding.
"""

from __future__ import annotations

import base64
import enum
import sys
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

from dyntable._internal.codec.limits import MAX_CONTAINERS, nesting_error, number_text, utf8_text
from dyntable._internal.codec.pydantic_loaded import is_model_instance
from dyntable.errors import InvalidValueError

__all__ = [
    "b_value",
    "datetime_text",
    "from_av",
    "map_key",
    "parse_datetime",
    "to_av",
]

AV = dict[str, Any]
_UTC = timezone.utc
_DATETIME_FORMAT = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"
#: ``datetime.fromisoformat`` reads a trailing ``Z`` itself from Python 3.11 on.
_ISO_Z = sys.version_info >= (3, 11)


def datetime_text(value: datetime, path: str = "") -> str:
    """The stored form of an aware datetime (UTC, microseconds, ``Z``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        where = f" in {path}" if path else ""
        raise InvalidValueError(
            f"naive datetime {value.isoformat()}{where}: dyntable stores timezone-aware "
            "datetimes only (use datetime.now(timezone.utc) or attach a tzinfo)"
        )
    if value.tzinfo is not _UTC:
        try:
            value = value.astimezone(_UTC)
        except OverflowError:
            where = f" in {path}" if path else ""
            raise InvalidValueError(
                f"datetime {value.isoformat()}{where} is outside years 1-9999 in UTC"
            ) from None
    # Formatted by hand: strftime does not zero-pad years before 1000 on every platform.
    return _DATETIME_FORMAT % (
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond,
    )


def parse_datetime(text: str) -> datetime:
    """Read a stored datetime back: ISO 8601 with ``Z`` or any offset, ``+01:00`` or
    ``+0100`` (PynamoDB writes ``...+0000``)."""
    if _ISO_Z:
        return datetime.fromisoformat(text)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"  # Python 3.10 wants the colon
    return datetime.fromisoformat(text)


def b_value(value: Any) -> bytes:
    """A ``B`` value as bytes: boto3 gives bytes, the JSON protocol gives base64 text."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return base64.b64decode(value)
    raise InvalidValueError(f"binary value expected, got {type(value).__name__}")


def _set_av(value: set[Any] | frozenset[Any], path: str) -> AV:
    if not value:
        raise InvalidValueError(
            f"empty set{' in ' + path if path else ''}: DynamoDB has no empty sets"
        )
    first = next(iter(value))
    if isinstance(first, str):
        if not all(isinstance(v, str) for v in value):
            raise InvalidValueError(f"set{' in ' + path if path else ''} mixes types")
        for text in value:
            if not text.isascii():
                utf8_text(text, path)
        return {"SS": list(value)}
    if isinstance(first, (bytes, bytearray)):
        if not all(isinstance(v, (bytes, bytearray)) for v in value):
            raise InvalidValueError(f"set{' in ' + path if path else ''} mixes types")
        return {"BS": [bytes(v) for v in value]}
    if isinstance(first, (int, float, Decimal)) and not isinstance(first, bool):
        texts = [number_text(v, path) for v in value]
        if len(set(map(Decimal, texts))) != len(texts):
            raise InvalidValueError(f"number set{' in ' + path if path else ''} has duplicates")
        return {"NS": texts}
    raise InvalidValueError(
        f"set of {type(first).__name__}{' in ' + path if path else ''}: DynamoDB sets hold "
        "strings, numbers or bytes"
    )


def to_av(  # noqa: C901 - one branch per type
    value: Any, path: str = "", level: int = 0, precise: bool = False
) -> AV:
    """Encode a Python value by its runtime type.

    ``level`` is the number of maps and lists around ``value`` (0 for an attribute): a map
    or list nested deeper than DynamoDB allows is refused before recursing further.
    ``precise`` encodes nested models field by field (no compiled code), so that an error
    names its full path; it is the path taken once an error is known.
    """
    t = type(value)
    if t is str:
        return {"S": value if value.isascii() else utf8_text(value, path)}
    if t is bool:
        return {"BOOL": value}
    if t is int or t is float or t is Decimal:
        return {"N": number_text(value, path)}
    if value is None:
        return {"NULL": True}
    if t is dict or isinstance(value, Mapping):
        return {"M": _map_av(value, path, level, precise)}
    if t is list or t is tuple:
        return {"L": _list_av(value, path, level, precise)}
    if isinstance(value, enum.Enum):
        return to_av(value.value, path, level)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"B": bytes(value)}
    if isinstance(value, datetime):
        return {"S": datetime_text(value, path)}
    if isinstance(value, (date, time)):
        return {"S": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"S": str(value)}
    if isinstance(value, (set, frozenset)):
        return _set_av(value, path)
    if is_model_instance(value):
        from dyntable._internal.codec.items import encode_submodel

        return {"M": encode_submodel(value, path, level, precise)}
    if isinstance(value, (bool, int, float, Decimal)):
        return {"N": number_text(value, path)}
    if isinstance(value, str):
        return to_av(str(value), path, level)
    if isinstance(value, (list, tuple)):
        return {"L": _list_av(value, path, level, precise)}
    raise InvalidValueError(
        f"cannot store {type(value).__name__}{' in ' + path if path else ''}: not a type "
        "DynamoDB can hold"
    )


def map_key(key: Any, path: str) -> str:
    """``key`` when it can name a map entry (a UTF-8 ``str``); InvalidValueError if not."""
    if type(key) is str and key.isascii():
        return key
    if not isinstance(key, str):
        raise InvalidValueError(f"map key {key!r}{' in ' + path if path else ''} is not a string")
    return utf8_text(str(key), f"the map keys of {path}" if path else "a map key")


def _map_av(value: Mapping[Any, Any], path: str, level: int, precise: bool) -> dict[str, AV]:
    if level >= MAX_CONTAINERS:
        raise nesting_error(path)
    out: dict[str, AV] = {}
    inner = level + 1
    for key, v in value.items():
        k = map_key(key, path)
        out[k] = to_av(v, f"{path}.{k}" if path else k, inner, precise)
    return out


def _list_av(
    value: list[Any] | tuple[Any, ...], path: str, level: int, precise: bool
) -> list[AV]:
    if level >= MAX_CONTAINERS:
        raise nesting_error(path)
    inner = level + 1
    return [to_av(v, f"{path}[{i}]", inner, precise) for i, v in enumerate(value)]


def _number(text: str) -> int | Decimal:
    if "." in text or "e" in text or "E" in text:
        return Decimal(text)
    return int(text)


def from_av(av: Mapping[str, Any], level: int = 0) -> Any:
    """Decode an AttributeValue into plain Python (str, int/Decimal, bytes, list, dict, set).

    Maps and lists nested deeper than DynamoDB stores (``level`` counts the ones around
    ``av``) are refused with InvalidValueError instead of recursing without bound.
    """
    (tag, v), = av.items()
    if tag == "S":
        return v
    if tag == "N":
        return _number(v)
    if tag == "BOOL":
        return v
    if tag == "NULL":
        return None
    if tag in ("M", "L"):
        if level >= MAX_CONTAINERS:
            raise InvalidValueError(
                f"stored value nested deeper than {MAX_CONTAINERS} maps or lists: DynamoDB "
                "cannot hold it, so the item did not come from DynamoDB intact"
            )
        inner = level + 1
        if tag == "M":
            return {k: from_av(x, inner) for k, x in v.items()}
        return [from_av(x, inner) for x in v]
    if tag == "SS":
        return set(v)
    if tag == "NS":
        return {_number(x) for x in v}
    if tag == "B":
        return b_value(v)
    if tag == "BS":
        return {b_value(x) for x in v}
    raise InvalidValueError(f"unknown AttributeValue type {tag!r}")
