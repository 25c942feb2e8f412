"""Typed encoders for container fields (``list[str]``, ``set[str]``, ``dict[str, str]`` ...).

Each encoder returns the AttributeValue together with a cheap upper bound of its size in
bytes (so the item's 400 KB check needs no second walk), or ``None`` for an empty set,
which is left out of the item. A value of an unexpected runtime type falls back to the
generic :func:`~dyntable.codec.values.to_av`, which encodes it or raises the usual error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dyntable.codec.limits import av_bound
from dyntable.codec.values import to_av

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
SizedEncoder = Callable[[Any], "SizedAV | None"]

_INT_FAST = 10**38
# A number below 10**38 takes at most 20 digit pairs + exponent + sign; +1 per element.
_INT_ELEMENT_BOUND = 23


def generic_encoder(path: str) -> SizedEncoder:
    """Encode by runtime type (:func:`to_av`), bounding the size from the result."""
    def enc(v: Any) -> SizedAV:
        av = to_av(v, path)
        return av, av_bound(av)
    return enc


def list_str_encoder(path: str) -> SizedEncoder:
    """``list[str]`` -> ``L`` of ``S``."""
    fallback = generic_encoder(path)

    def enc(v: Any) -> SizedAV | None:
        if type(v) is list:
            try:
                chars = len("".join(v))  # also checks that every element is a str
            except TypeError:
                return fallback(v)
            return {"L": [{"S": x} for x in v]}, 3 + len(v) + 4 * chars
        return fallback(v)
    return enc


def list_int_encoder(path: str) -> SizedEncoder:
    """``list[int]`` -> ``L`` of ``N``."""
    fallback = generic_encoder(path)

    def enc(v: Any) -> SizedAV | None:
        if type(v) is list:
            out = [{"N": str(x)} for x in v if type(x) is int and -_INT_FAST < x < _INT_FAST]
            if len(out) == len(v):
                return {"L": out}, 3 + _INT_ELEMENT_BOUND * len(v)
        return fallback(v)
    return enc


def set_str_encoder(path: str) -> SizedEncoder:
    """``set[str]`` / ``frozenset[str]`` -> ``SS``; an empty set is left out (``None``)."""
    fallback = generic_encoder(path)

    def enc(v: Any) -> SizedAV | None:
        if not v:
            return None
        if type(v) is set or type(v) is frozenset:
            try:
                chars = len("".join(v))  # also checks that every element is a str
            except TypeError:
                return fallback(v)
            return {"SS": list(v)}, 4 * chars
        return fallback(v)
    return enc


def set_encoder(path: str) -> SizedEncoder:
    """Any other set: by runtime type; an empty set is left out (``None``)."""
    fallback = generic_encoder(path)

    def enc(v: Any) -> SizedAV | None:
        return fallback(v) if v else None
    return enc


def dict_str_encoder(path: str) -> SizedEncoder:
    """``dict[str, str]`` -> ``M`` of ``S``."""
    fallback = generic_encoder(path)

    def enc(v: Any) -> SizedAV | None:
        if type(v) is dict:
            try:
                chars = len("".join(v)) + len("".join(v.values()))  # all keys, values str
            except TypeError:
                return fallback(v)
            return {"M": {k: {"S": x} for k, x in v.items()}}, 3 + len(v) + 4 * chars
        return fallback(v)
    return enc


def dict_any_encoder(path: str) -> SizedEncoder:
    """``dict[str, Any]`` -> ``M``; string values inline, others by runtime type."""
    fallback = generic_encoder(path)
    prefix = f"{path}." if path else ""

    def enc(v: Any) -> SizedAV | None:
        if type(v) is not dict:
            return fallback(v)
        out: dict[str, AV] = {}
        bound = 3
        for k, x in v.items():
            if type(k) is not str:
                return fallback(v)  # raises the map-key error
            if type(x) is str:
                out[k] = {"S": x}
                bound += 1 + 4 * (len(k) + len(x))
            else:
                av = out[k] = to_av(x, prefix + k)
                bound += 1 + 4 * len(k) + av_bound(av)
        return {"M": out}, bound
    return enc
