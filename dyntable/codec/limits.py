"""DynamoDB's value limits: numbers (38 digits, 1E-130..1E+126) and item size (400 KB)."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from dyntable.errors import InvalidValueError

__all__ = ["MAX_ITEM_SIZE", "attribute_size", "check_number_text", "item_size", "number_text"]

MAX_ITEM_SIZE = 400 * 1024
_MAX_DIGITS = 38
_INT_FAST = 10**38


def _where(path: str) -> str:
    return f" in {path}" if path else ""


def check_decimal(value: Decimal, path: str = "") -> str:
    """The wire text of a Decimal; InvalidValueError when DynamoDB cannot store it."""
    if not value.is_finite():
        raise InvalidValueError(f"{value} cannot be stored{_where(path)}: NaN and infinity are "
                                "not DynamoDB numbers")
    if not value:
        return "0"
    digits = value.as_tuple().digits
    # Leading and trailing zeros are not significant for DynamoDB.
    n = len(digits)
    i = 0
    while i < n and digits[i] == 0:
        i += 1
    j = n
    while j > i and digits[j - 1] == 0:
        j -= 1
    significant = j - i
    if significant > _MAX_DIGITS:
        raise InvalidValueError(
            f"number {value}{_where(path)} has {significant} significant digits; "
            f"DynamoDB keeps at most {_MAX_DIGITS}"
        )
    adjusted = value.adjusted()
    if adjusted >= 126 or adjusted < -130:
        raise InvalidValueError(
            f"number {value}{_where(path)} is outside DynamoDB's range 1E-130 to 9.9E+125"
        )
    return str(value)


def number_text(value: Any, path: str = "") -> str:
    """The wire text of an int, float or Decimal, checked against DynamoDB's limits."""
    if type(value) is int:
        if -_INT_FAST < value < _INT_FAST:
            return str(value)
        return check_decimal(Decimal(value), path)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValueError(f"{value} cannot be stored{_where(path)}: NaN and infinity "
                                    "are not DynamoDB numbers")
        text = repr(value)
        if value and not (1e-120 < abs(value) < 1e120):
            check_decimal(Decimal(text), path)
        return text
    if isinstance(value, Decimal):
        return check_decimal(value, path)
    if isinstance(value, int):  # int subclasses (IntEnum handled by the caller)
        return number_text(int(value), path)
    raise InvalidValueError(f"{value!r}{_where(path)} is not a number")


def check_number_text(text: str) -> Decimal:
    """Parse a wire number (for values read from DynamoDB), refusing garbage."""
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidValueError(f"{text!r} is not a number") from None


def _number_size(text: str) -> int:
    mantissa = text.lstrip("-").split("e")[0].split("E")[0]
    significant = len(mantissa.replace(".", "").strip("0")) or 1
    return (significant + 1) // 2 + 1


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one AttributeValue (without its name)."""
    (tag, v), = value.items()
    if tag == "S":
        return len(v.encode("utf-8")) if not v.isascii() else len(v)
    if tag == "N":
        return _number_size(v)
    if tag == "B":
        return len(v) if isinstance(v, (bytes, bytearray)) else (len(v) * 3) // 4
    if tag in ("BOOL", "NULL"):
        return 1
    if tag == "SS":
        return sum(len(s.encode("utf-8")) for s in v)
    if tag == "NS":
        return sum(_number_size(n) for n in v)
    if tag == "BS":
        return sum(len(b) for b in v)
    if tag == "L":
        return 3 + sum(1 + attribute_size(x) for x in v)
    if tag == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + attribute_size(x) for k, x in v.items())
    raise InvalidValueError(f"unknown AttributeValue type {tag!r}")


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """Bytes DynamoDB counts for an item: UTF-8 attribute names plus values."""
    total = 0
    for name, value in item.items():
        total += len(name.encode("utf-8")) + attribute_size(value)
    return total
