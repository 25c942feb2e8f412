"""What dyntable remembers about an object it decoded, kept beside the object.

Two things outlive the read: the write receipts of the item (see
:mod:`~dyntable._internal.schema.receipts`) and the attributes the item held that its model
does not declare (written by another program), which a put of the object writes back so a
read-modify-write cycle never deletes data it did not know about. They live in a side table
keyed by object identity and dropped with the object (a weak reference), so a model
instance stays a plain pydantic object: equality, dumps and copies see only its fields.
Copies made with ``model_copy`` / ``copy`` keep what the original remembered (see
``Model.__copy__``).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, NamedTuple

__all__ = ["Remembered", "carry", "extra_of", "remember", "remembered"]


class Remembered(NamedTuple):
    """What is kept for one object (a NamedTuple: cheaper to declare at import than a
    dataclass, and as immutable)."""

    #: the version the receipts belong to (a put of another version ignores them)
    version: int | None = None
    #: the item's write receipts (a ``Receipts``), or ``None``
    receipts: Any = None
    #: undeclared attributes of the item (wire form), or ``None``
    extra: dict[str, Any] | None = None
    #: the stored values of the model's Unique fields (their guard items), or ``None``
    uniques: dict[str, Any] | None = None


# Re-entrant: an object's weakref callback (``forget``) can run in the thread that holds the
# lock, when an allocation made under it triggers the cyclic GC and an object with an entry
# is collected; a plain Lock deadlocks that thread (seen under load in the async client).
_lock = threading.RLock()
_BY_ID: dict[int, tuple[weakref.ref[Any], Remembered]] = {}


def remembered(obj: Any) -> Remembered | None:
    """What is remembered for ``obj``, or ``None``."""
    held = _BY_ID.get(id(obj))
    if held is None or held[0]() is not obj:
        return None
    return held[1]


def extra_of(obj: Any) -> dict[str, Any] | None:
    """The undeclared attributes remembered for ``obj`` (wire form), or ``None``."""
    held = _BY_ID.get(id(obj))
    if held is None or held[0]() is not obj:
        return None
    return held[1].extra


def remember(obj: Any, **changes: Any) -> None:
    """Set what is remembered for ``obj`` (``version``, ``receipts``, ``extra``,
    ``uniques``)."""
    key = id(obj)
    with _lock:
        held = _BY_ID.get(key)
        if held is not None and held[0]() is obj:
            _BY_ID[key] = (held[0], held[1]._replace(**changes))
            return
    now = Remembered(**changes)
    if now == Remembered():
        return

    def forget(ref: weakref.ref[Any], key: int = key) -> None:
        with _lock:
            held = _BY_ID.get(key)
            if held is not None and held[0] is ref:
                del _BY_ID[key]

    try:
        ref = weakref.ref(obj, forget)
    except TypeError:  # an object without weak references: nothing is remembered
        return
    with _lock:
        _BY_ID[key] = (ref, now)


def carry(original: Any, copied: Any) -> None:
    """Give ``copied`` what is remembered for ``original`` (a copy of it)."""
    held = remembered(original)
    if held is not None:
        remember(copied, version=held.version, receipts=held.receipts, extra=held.extra,
                 uniques=held.uniques)
