"""Reading the idempotency key and the payload from a call's input, and hashing them.

A key or payload is given as a callable, a dotted path (``"order.id"``, ``"Records.0"``) or
a tuple of paths. For a Lambda handler paths start at the event; for a function, the first
name of a path is a parameter of the function. ``WHOLE`` stands for the whole input (the
event, or every argument by parameter name).

Values are hashed from a canonical JSON text (sorted keys, no spaces), so equal inputs give
equal hashes whatever their dict order; pydantic models, dataclasses, datetimes, decimals,
UUIDs, enums, sets and bytes are written in one fixed way.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from dyntable.errors import DeclarationError

__all__ = ["WHOLE", "Extractor", "Missing", "canonical", "digest", "extractor"]


class _Whole:
    def __repr__(self) -> str:
        return "WHOLE"


#: The whole input: the event of a handler, or a function's arguments by parameter name.
WHOLE: Any = _Whole()

#: Reads a key or payload from a call: ``(args, kwargs) -> value``; raises :class:`Missing`.
Extractor = Callable[[tuple[Any, ...], dict[str, Any]], Any]

KeySpec = Callable[..., Any] | str | Sequence[str]


class Missing(LookupError):
    """A path or key callable found nothing (``what`` says where it stopped)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _lookup(value: Any, path: str, key: bool) -> Any:
    parts = path.split(".")
    for i in range(len(parts)):
        part = parts[i]
        where = ".".join(parts[: i + 1])
        if isinstance(value, Mapping):
            if part not in value:
                raise Missing(f"{where!r} is absent")
            value = value[part]
        elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)) \
                and part.isdigit():
            if int(part) >= len(value):
                raise Missing(f"{where!r} is out of range")
            value = value[int(part)]
        elif hasattr(value, part):
            value = getattr(value, part)
        else:
            raise Missing(f"{where!r} is absent ({type(value).__name__} has no {part!r})")
        if value is None and key:
            raise Missing(f"{where!r} is None")
    return value


def _check_path(path: str) -> None:
    if not isinstance(path, str) or not path or any(not p for p in path.split(".")):
        raise DeclarationError(f"a key or payload path is a dotted name, not {path!r}")


def _arguments(fn: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]],
                                                   dict[str, Any]]:
    signature = inspect.signature(fn)

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)
    return bind


def _event(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A handler's event (its first argument)."""
    return args[0] if args else kwargs["event"]


def extractor(spec: Any, fn: Callable[..., Any], *, handler: bool, key: bool) -> Extractor:
    """The extractor of ``spec`` (callable, path, paths or :data:`WHOLE`) for calls of
    ``fn``; a handler's paths and callables see the event only. For a ``key``, ``None``
    counts as missing."""
    if spec is WHOLE:
        return _event if handler else _arguments(fn)
    if callable(spec):
        if handler:
            return lambda args, kwargs: _call(spec, (_event(args, kwargs),), {}, key)
        return lambda args, kwargs: _call(spec, args, kwargs, key)
    paths = (spec,) if isinstance(spec, str) else tuple(spec)
    if not paths:
        raise DeclarationError("give at least one key path")
    for p in paths:
        _check_path(p)
    source: Callable[[tuple[Any, ...], dict[str, Any]], Any]
    if handler:
        source = _event
    else:
        names = set(inspect.signature(fn).parameters)
        for p in paths:
            if p.split(".")[0] not in names:
                raise DeclarationError(
                    f"key path {p!r}: {fn.__qualname__} has no parameter "
                    f"{p.split('.')[0]!r} (parameters: {sorted(names)})")
        source = _arguments(fn)
    if len(paths) == 1:
        only = paths[0]
        return lambda args, kwargs: _lookup(source(args, kwargs), only, key)
    return lambda args, kwargs: [_lookup(source(args, kwargs), p, key) for p in paths]


def _call(spec: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
          key: bool) -> Any:
    what = "key" if key else "payload"
    try:
        value = spec(*args, **kwargs)
    except (KeyError, IndexError, AttributeError, TypeError) as exc:
        raise Missing(f"the {what} function raised {type(exc).__name__}: {exc}") from exc
    if value is None and key:
        raise Missing("the key function returned None")
    return value


def _plain(value: Any) -> Any:
    """One JSON form for the values json does not know (json.dumps ``default``)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic models
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(canonical(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"{type(value).__name__} is not JSON-like")


def canonical(value: Any) -> str:
    """The canonical JSON text of ``value`` (raises TypeError / ValueError when it has
    none: an unknown type, NaN, dict keys of mixed types)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_plain)


def digest(value: Any, hash_function: str) -> str:
    """The hex hash of ``value``'s canonical text."""
    return hashlib.new(hash_function, canonical(value).encode()).hexdigest()
