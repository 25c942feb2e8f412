"""DynamoDB's value limits: numbers (38 digits, 1E-130..1E+126), item size (400 KB), UTF-8
text and nesting (32 levels)."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from dyntable.errors import InvalidValueError

__all__ = [
    "MAX_CONTAINERS",
    "MAX_ITEM_SIZE",
    "attribute_size",
    "av_bound",
    "fits",
    "item_size",
    "largest_attributes",
    "nesting_error",
    "number_size",
    "number_text",
    "upper_bound_fits",
    "utf8_ok",
    "utf8_text",
]

MAX_ITEM_SIZE = 400 * 1024
_MAX_DIGITS = 38
_INT_FAST = 10**38
_DIGITS = frozenset("0123456789")
#: DynamoDB nests attributes at most 32 levels deep, the top-level attribute being level 1,
#: so a path holds at most 31 maps or lists (a scalar or set may sit on level 32). Checked
#: against DynamoDB Local: 31 nested maps or lists are stored, 32 are refused.
MAX_CONTAINERS = 31
#: A lone surrogate (U+D800..U+DFFF) is the only thing that makes a ``str`` not UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]").search


def _where(path: str) -> str:
    return f" in {path}" if path else ""


def utf8_ok(text: str) -> bool:
    """True when ``text`` can be stored as UTF-8 (it holds no lone surrogate)."""
    return _SURROGATE(text) is None


def utf8_text(text: str, path: str = "") -> str:
    """``text`` itself when it can be stored as UTF-8; InvalidValueError naming ``path`` if not.

    Callers test ``text.isascii()`` first (constant time): only other text is searched.
    """
    found = _SURROGATE(text)
    if found is None:
        return text
    raise InvalidValueError(
        f"string{_where(path)} holds a lone surrogate {found.group()!a} at index "
        f"{found.start()}: it is not valid Unicode and cannot be stored as UTF-8 (such text "
        "usually comes from bytes decoded with errors='surrogateescape'; decode them with "
        "their real encoding, or with errors='replace')"
    )


def nesting_error(path: str) -> InvalidValueError:
    """The error for a map or list nested deeper than DynamoDB allows."""
    return InvalidValueError(
        f"value{_where(path)} is nested too deep: DynamoDB allows maps and lists at most 32 "
        f"levels deep (at most {MAX_CONTAINERS} maps or lists inside one another, counting the "
        "attribute itself); flatten the data or store it serialised (e.g. JSON text)"
    )


def check_decimal(value: Decimal, path: str = "") -> str:
    """The wire text of a Decimal; InvalidValueError when DynamoDB cannot store it."""
    text = str(value)
    # Fast path: plain notation of at most 38 characters holds at most 38 digits and lies
    # well inside DynamoDB's range; NaN and infinity end with a letter, zero is normalised.
    if len(text) <= _MAX_DIGITS and text[-1] in _DIGITS and "E" not in text and value:
        return text
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


def number_size(text: str) -> int:
    """Bytes DynamoDB counts for a number: its digits in base-100 pairs, plus one.

    DynamoDB stores numbers as centesimal digits aligned on the decimal point (leading and
    trailing zero pairs trimmed), one exponent byte, and one more byte for a negative
    number; zero takes one byte. Checked against DynamoDB Local at the 400 KB boundary.
    """
    negative = text.startswith("-")
    digits = text[1:] if negative or text.startswith("+") else text
    if digits.isdigit():
        stripped = digits.lstrip("0")
        if not stripped:
            return 1
        significant = stripped.rstrip("0")
        exponent = len(stripped) - len(significant)
        top = len(stripped) - 1
    else:
        try:
            value = Decimal(text)
        except InvalidOperation:
            return len(text) + 2
        if not value.is_finite():
            return len(text) + 2
        if not value:
            return 1
        _sign, tup, exp = value.normalize().as_tuple()
        exponent = int(exp)
        top = exponent + len(tup) - 1
    return top // 2 - exponent // 2 + 2 + int(negative)


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one AttributeValue (without its name)."""
    ((tag, v),) = value.items()
    if tag == "S":
        return len(v) if v.isascii() else len(v.encode("utf-8"))
    if tag == "N":
        return number_size(v)
    if tag == "B":
        return _binary_size(v)
    if tag in ("BOOL", "NULL"):
        return 1
    if tag == "SS":
        return sum(len(s) if s.isascii() else len(s.encode("utf-8")) for s in v)
    if tag == "NS":
        return sum(number_size(n) for n in v)
    if tag == "BS":
        return sum(_binary_size(b) for b in v)
    if tag == "L":
        return 3 + sum(1 + attribute_size(x) for x in v)
    if tag == "M":
        return 3 + sum(1 + _name_size(k) + attribute_size(x) for k, x in v.items())
    raise InvalidValueError(f"unknown AttributeValue type {tag!r}")


def _binary_size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    # base64 text (the JSON protocol): 4 characters per 3 bytes, minus the padding
    text = str(value)
    return len(text) * 3 // 4 - text.endswith("=") - text.endswith("==")


def _name_size(name: str) -> int:
    return len(name) if name.isascii() else len(name.encode("utf-8"))


def av_bound(value: dict[str, Any]) -> int:
    """A cheap bound >= :func:`attribute_size` of one AttributeValue.

    Strings count 4 bytes per character (UTF-8's maximum); containers count the length of
    their ``ascii()`` text, which is longer than what DynamoDB counts for every element
    (quotes, braces and escapes outweigh the per-element overhead).
    """
    total = 0
    for tag, v in value.items():
        if tag == "S":
            total += 4 * len(v)
        elif tag == "N":
            total += len(v) + 2
        elif tag == "B":
            total += len(v)
        else:
            total += len(ascii(v)) + 1
    return total


def _upper_bound(item: dict[str, dict[str, Any]]) -> int:
    """A cheap bound >= :func:`item_size`: names at 4 bytes a character plus value bounds."""
    return 4 * sum(map(len, item)) + sum(map(av_bound, item.values()))


def upper_bound_fits(item: dict[str, dict[str, Any]], limit: int = MAX_ITEM_SIZE) -> bool:
    """True when a cheap upper bound of the size of ``item`` is within ``limit``.

    ``False`` means "compute :func:`item_size` to know"; never a false ``True``.
    """
    return _upper_bound(item) <= limit


def fits(item: dict[str, dict[str, Any]], limit: int = MAX_ITEM_SIZE) -> bool:
    """True when ``item`` is at most ``limit`` bytes (a cheap bound first, then exact)."""
    return upper_bound_fits(item, limit) or item_size(item) <= limit


def largest_attributes(item: dict[str, dict[str, Any]], count: int = 3) -> list[tuple[str, int]]:
    """The ``count`` largest attributes of ``item`` with their sizes in bytes (name included),
    largest first: what to move out of an item that is too large."""
    sizes = [(name, _name_size(name) + attribute_size(av)) for name, av in item.items()]
    return sorted(sizes, key=lambda pair: pair[1], reverse=True)[:count]


def item_size(item: dict[str, dict[str, Any]]) -> int:
    """Bytes DynamoDB counts for an item: UTF-8 attribute names plus values."""
    total = 0
    for name, value in item.items():
        total += _name_size(name) + attribute_size(value)
    return total
