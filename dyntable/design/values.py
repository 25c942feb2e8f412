"""DynamoDB attribute values (wire form) as the design view shows and orders them."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dyntable._internal.codec.fields import field_kind
from dyntable._internal.operations.tables import key_attribute_type

__all__ = ["av_type", "display", "key_order", "plain", "wire_type"]

AV = Mapping[str, Any]


def av_type(av: AV) -> str:
    """The type tag of a wire value (``"S"``, ``"N"``, ``"M"``...)."""
    return next(iter(av)) if av else "NULL"


def _b64(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    return str(value)


def plain(av: AV) -> Any:
    """A JSON-friendly value: numbers stay text-exact, binary is base64, sets are lists."""
    kind = av_type(av)
    value = av.get(kind)
    if kind in ("S", "N"):
        return value
    if kind == "B":
        return _b64(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind in ("SS", "NS"):
        return sorted(value or ())
    if kind == "BS":
        return sorted(_b64(v) for v in value or ())
    if kind == "L":
        return [plain(v) for v in value or ()]
    if kind == "M":
        return {k: plain(v) for k, v in (value or {}).items()}
    return value


def display(av: AV) -> str:
    """One line of text for a wire value: strings and numbers as they are, the rest JSON."""
    kind = av_type(av)
    value = plain(av)
    if kind in ("S", "N", "B"):
        return str(value)
    if kind in ("SS", "NS", "BS"):
        return "{" + ", ".join(str(v) for v in value) + "}"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def key_order(av: AV | None) -> tuple[int, Any]:
    """A sort key that orders key values as DynamoDB does: numbers by value, strings and
    binary by their bytes (UTF-8 for strings); missing values first."""
    if not av:
        return (0, b"")
    kind = av_type(av)
    value = av.get(kind)
    if kind == "N":
        try:
            return (1, Decimal(str(value)))
        except InvalidOperation:
            return (2, str(value).encode())
    if kind == "B":
        raw = value if isinstance(value, (bytes, bytearray)) else base64.b64decode(str(value))
        return (2, bytes(raw))
    return (2, str(value).encode())


def wire_type(annotation: Any) -> str:
    """The DynamoDB type values of ``annotation`` are stored as, by their Python type
    (``str`` -> ``S``, ``set[int]`` -> ``NS``, a sub-model -> ``M``; ``S`` when unsure)."""
    key = key_attribute_type(annotation)
    if key is not None:
        return key
    kind = field_kind(annotation)
    base, origin, args = kind.base, kind.origin, kind.args
    if isinstance(base, type) and issubclass(base, bool):
        return "BOOL"
    if kind.is_set:
        inner = key_attribute_type(args[0]) if args else "S"
        return {"N": "NS", "B": "BS"}.get(inner or "S", "SS")
    if origin in (list, tuple) or base in (list, tuple):
        return "L"
    if origin is dict or base is dict or hasattr(base, "model_fields"):
        return "M"
    return "S"
