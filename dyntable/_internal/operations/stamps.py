"""Automatic timestamps: the ``CreatedAt`` / ``UpdatedAt`` fields of a write (no I/O).

A put stamps ``UpdatedAt`` always and ``CreatedAt`` when the object has none; the write
encodes a copy carrying the stamps (so index keys built from them agree), and the object
gets them once the write succeeded. Updates set ``UpdatedAt``; an upsert also sets
``CreatedAt`` where the item has none (``if_not_exists``). A value the caller sets itself
is kept. The time comes from :func:`dyntable.clock.now`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable.clock import now
from dyntable.expressions.paths import F, if_not_exists
from dyntable.expressions.updates import Action

if TYPE_CHECKING:
    from dyntable._internal.codec.items import ItemCodec
    from dyntable.schema.model import Model

__all__ = ["apply", "put_stamps", "stamped", "update_stamps"]

M = TypeVar("M", bound="Model")


def put_stamps(codec: ItemCodec[Any], obj: Model) -> dict[str, datetime]:
    """The timestamp fields a put of ``obj`` fills, with their value."""
    spec = codec.spec
    if spec.created_field is None and spec.updated_field is None:
        return {}
    t = now()
    out: dict[str, datetime] = {}
    if spec.created_field is not None and obj.__dict__.get(spec.created_field) is None:
        out[spec.created_field] = t
    if spec.updated_field is not None:
        out[spec.updated_field] = t
    return out


def stamped(obj: M, stamps: dict[str, datetime]) -> M:
    """``obj``, or a copy of it carrying ``stamps`` (what the put encodes)."""
    return obj.model_copy(update=stamps) if stamps else obj


def apply(obj: Model, stamps: dict[str, datetime] | None) -> None:
    """Give ``obj`` the timestamps its write stored (after the write succeeded)."""
    if stamps:
        obj.__dict__.update(stamps)


def update_stamps(codec: ItemCodec[Any], given: list[Action], *, upsert: bool) -> list[Action]:
    """The actions an update (or upsert) adds for its timestamp fields; fields the caller
    sets or removes are left to the caller."""
    spec = codec.spec
    if spec.created_field is None and spec.updated_field is None:
        return []
    mine = {a.path.field for a in given if not a.path.raw}
    t = now()
    out: list[Action] = []
    if spec.updated_field is not None and spec.updated_field not in mine:
        out.append(Action("SET", F[spec.updated_field], t))
    created = spec.created_field
    if upsert and created is not None and created not in mine:
        out.append(Action("SET", F[created], if_not_exists(F[created], t)))
    return out
