"""Typed encoders for container fields (``list[str]``, ``set[str]``, ``dict[str, str]`` ...).

Each encoder returns the AttributeValue together with a cheap upper bound of its size in
bytes (so the item's 400 KB check needs no second walk), or ``None`` for an empty set,
which is left out of the item. A value of an unexpected runtime type falls back to the
generic :func:`~dyntable._internal.codec.values.to_av`, which encodes it or raises the usual error.
"""

from __future__ import annotations

from typing import Any, Protocol

from dyntable._internal.codec.limits import MAX_CONTAINERS, av_bound, nesting_error, utf8_ok
from dyntable._internal.codec.values import map_key, to_av

__all__ = [
    "SizedEncoder",
    "dict_any_encoder",
    "dict_str_encoder",
    "generic_encoder",
    "list_int_encoder",
    "list_str_encoder",
    "set_encoder",
    "set_str_encoder",
]

AV = dict[str, Any]
SizedAV = tuple[AV, int]


class SizedEncoder(Protocol):
    """``enc(value, level=0) -> (av, size bound) | None``.

    ``level`` is the number of maps and lists around the value (0 for an attribute), so
    that nesting beyond DynamoDB's 32 levels is refused (see ``MAX_CONTAINERS``).
    """

    def __call__(self, v: Any, level: int = 0, /) -> SizedAV | None: ...


_INT_FAST = 10**38
# A number below 10**38 takes at most 20 digit pairs + exponent + sign; +1 per element.
_INT_ELEMENT_BOUND = 23


def _utf8_join(texts: Any) -> str | None:
    """All elements joined when each is a ``str`` storable as UTF-8, else ``None``.

    ``"".join`` checks the element types and gives the total length at C speed; a lone
    surrogate in one element is a lone surrogate in the joined text.
    """
    try:
        joined = "".join(texts)
    except TypeError:
        return None
    return joined if joined.isascii() or utf8_ok(joined) else None


def generic_encoder(path: str) -> SizedEncoder:
    """Encode by runtime type (:func:`to_av`), bounding the size from the result."""
    def enc(v: Any, level: int = 0) -> SizedAV:
        av = to_av(v, path, level)
        return av, av_bound(av)
    return enc


def list_str_encoder(path: str) -> SizedEncoder:
    """``list[str]`` -> ``L`` of ``S``."""
    fallback = generic_encoder(path)

    def enc(v: Any, level: int = 0) -> SizedAV | None:
        if type(v) is list and level < MAX_CONTAINERS:
            joined = _utf8_join(v)
            if joined is not None:
                return {"L": [{"S": x} for x in v]}, 3 + len(v) + 4 * len(joined)
        return fallback(v, level)  # reports the element or the nesting
    return enc


def list_int_encoder(path: str) -> SizedEncoder:
    """``list[int]`` -> ``L`` of ``N``."""
    fallback = generic_encoder(path)

    def enc(v: Any, level: int = 0) -> SizedAV | None:
        if type(v) is list and level < MAX_CONTAINERS:
            out = [{"N": str(x)} for x in v if type(x) is int and -_INT_FAST < x < _INT_FAST]
            if len(out) == len(v):
                return {"L": out}, 3 + _INT_ELEMENT_BOUND * len(v)
        return fallback(v, level)
    return enc


def set_str_encoder(path: str) -> SizedEncoder:
    """``set[str]`` / ``frozenset[str]`` -> ``SS``; an empty set is left out (``None``)."""
    fallback = generic_encoder(path)

    def enc(v: Any, level: int = 0) -> SizedAV | None:
        if not v:
            return None
        if type(v) is set or type(v) is frozenset:
            joined = _utf8_join(v)
            if joined is not None:
                return {"SS": list(v)}, 4 * len(joined)
        return fallback(v, level)
    return enc


def set_encoder(path: str) -> SizedEncoder:
    """Any other set: by runtime type; an empty set is left out (``None``)."""
    fallback = generic_encoder(path)

    def enc(v: Any, level: int = 0) -> SizedAV | None:
        return fallback(v, level) if v else None
    return enc


def dict_str_encoder(path: str) -> SizedEncoder:
    """``dict[str, str]`` -> ``M`` of ``S``."""
    fallback = generic_encoder(path)

    def enc(v: Any, level: int = 0) -> SizedAV | None:
        if type(v) is dict and level < MAX_CONTAINERS:
            keys = _utf8_join(v)
            values = _utf8_join(v.values())
            if keys is not None and values is not None:
                chars = len(keys) + len(values)
                return {"M": {k: {"S": x} for k, x in v.items()}}, 3 + len(v) + 4 * chars
        return fallback(v, level)
    return enc


def dict_any_encoder(path: str) -> SizedEncoder:
    """``dict[str, Any]`` -> ``M``; string values inline, others by runtime type."""
    fallback = generic_encoder(path)
    prefix = f"{path}." if path else ""

    def enc(v: Any, level: int = 0) -> SizedAV | None:
        if type(v) is not dict:
            return fallback(v, level)
        if level >= MAX_CONTAINERS:
            raise nesting_error(path)
        out: dict[str, AV] = {}
        bound = 3
        inner = level + 1
        for key, x in v.items():
            # map_key raises for a key that is not a str or holds a lone surrogate
            k = key if type(key) is str and key.isascii() else map_key(key, path)
            if type(x) is str and x.isascii():
                out[k] = {"S": x}
                bound += 1 + 4 * (len(k) + len(x))
            else:
                av = out[k] = to_av(x, prefix + k, inner)
                bound += 1 + 4 * len(k) + av_bound(av)
        return {"M": out}, bound
    return enc
