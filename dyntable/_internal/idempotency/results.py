"""How results are stored: serializers (JSON by default, typed by the function's return
annotation) and the in-memory cache of completed records."""

from __future__ import annotations

import json
import threading
import typing
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dyntable.errors import DeclarationError

if TYPE_CHECKING:
    from dyntable._internal.idempotency.record import IdempotencyRecord

__all__ = ["JsonSerializer", "LocalCache", "Serializer", "TypedSerializer", "serializer_for"]


@runtime_checkable
class Serializer(Protocol):
    """Turns a result into the text stored in the record, and back."""

    def dumps(self, value: Any) -> str:
        """The stored text of ``value``."""
        ...

    def loads(self, text: str) -> Any:
        """The value of a stored text."""
        ...


class JsonSerializer:
    """Plain JSON values (dict with str keys, list, str, int, float, bool, None).

    A value that would read back as something else (a tuple, a Decimal, int dict keys, a
    model) is refused rather than replayed changed: annotate the function's return type, or
    pass ``result_type=`` or ``serializer=``.
    """

    def dumps(self, value: Any) -> str:
        """JSON text; raises ValueError when ``value`` would not read back equal."""
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)
        except (TypeError, ValueError):
            text = ""
        if not text or not _plain_json(value) or json.loads(text) != value:
            raise ValueError(
                f"the result {_short(value)} does not read back from JSON as it is; "
                "annotate the function's return type (or pass result_type= or serializer=) "
                "so it can be restored")
        return text

    def loads(self, text: str) -> Any:
        """The JSON value."""
        return json.loads(text)


def _plain_json(value: Any) -> bool:
    if value is None or type(value) in (str, int, float, bool):
        return True
    if type(value) is list:
        return all(_plain_json(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class TypedSerializer:
    """Values of one type, through pydantic (a model, a dataclass, ``list[Order]``,
    ``datetime``...): stored as JSON, read back as that type."""

    def __init__(self, result_type: Any) -> None:
        from pydantic import TypeAdapter

        self.result_type = result_type
        self._adapter: TypeAdapter[Any] = TypeAdapter(result_type)

    def dumps(self, value: Any) -> str:
        """JSON text; raises ValueError when ``value`` would not read back equal."""
        text = self._adapter.dump_json(value).decode()
        if self._adapter.validate_json(text) != value:
            raise ValueError(
                f"the result {_short(value)} does not read back as {self.result_type!r} "
                "equal to itself; return a value of the annotated type, or pass serializer=")
        return text

    def loads(self, text: str) -> Any:
        """The value, validated as the result type."""
        return self._adapter.validate_json(text)


_UNTYPED = (None, Any, object, type(None))


def serializer_for(fn: Callable[..., Any], result_type: Any,
                   serializer: Serializer | None) -> Serializer:
    """The serializer of ``fn``'s results: the one given, else typed by ``result_type`` or
    by the return annotation, else plain JSON.

    Raises:
        DeclarationError: both given, or a type pydantic cannot serialize.
    """
    if serializer is not None:
        if result_type is not None:
            raise DeclarationError("give result_type= or serializer=, not both")
        if not isinstance(serializer, Serializer):
            raise DeclarationError(
                f"serializer= takes an object with dumps(value) -> str and loads(text), not "
                f"{serializer!r}")
        return serializer
    if result_type is None:
        try:
            result_type = typing.get_type_hints(fn).get("return")
        except Exception as exc:
            raise DeclarationError(
                f"{getattr(fn, '__qualname__', fn)!r}: its annotations cannot be resolved "
                f"({type(exc).__name__}: {exc}); results are stored by the return type, so "
                "pass result_type= (or serializer=)") from exc
    if result_type in _UNTYPED:
        return JsonSerializer()
    try:
        return TypedSerializer(result_type)
    except Exception as exc:
        raise DeclarationError(
            f"{getattr(fn, '__qualname__', fn)!r}: its results of type {result_type!r} "
            f"cannot be stored ({type(exc).__name__}: {exc}); pass serializer= (dumps/loads)"
        ) from exc


class LocalCache:
    """Completed records by record key, least recently used dropped first (thread-safe).

    Local to the process (one Lambda execution environment): a record completed elsewhere
    is not seen until read from the table.
    """

    def __init__(self, max_items: int) -> None:
        if max_items < 1:
            raise DeclarationError(f"local_cache_max_items must be >= 1, not {max_items}")
        self.max_items = max_items
        self._items: OrderedDict[str, IdempotencyRecord] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, now_s: int) -> IdempotencyRecord | None:
        """The cached record, unless absent or expired (an expired one is dropped)."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            if found.expiry < now_s:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return found

    def put(self, key: str, record: IdempotencyRecord) -> None:
        """Keep ``record``, dropping the least recently used beyond ``max_items``."""
        with self._lock:
            self._items[key] = record
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
