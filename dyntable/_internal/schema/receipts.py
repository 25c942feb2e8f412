"""Write receipts: what settles an ambiguous versioned write.

A versioned write (put, update or delete that checks the version) can fail in a way that
leaves it applied: a 5xx sent after DynamoDB applied it, a timeout, a dropped connection.
The transport then resends it; if the first attempt was applied, the resend fails its
version condition. To tell "my first attempt was applied" from "another writer got there
first" dyntable needs something that only this write can have produced, so every versioned
write stores a receipt in the item's receipt attribute (``_wt``, a map):

- ``"0"`` .. ``"7"``: slot ``version % 8`` holds ``"<version>:<token>"`` for the write that
  produced that version. The token is random and unique to one write (its resends share
  it). Updates set only their own slot, so no read is needed; puts write every slot they
  know (from the object they were given, when it was read through dyntable) plus their own.
- ``"f"``: the *floor*, the oldest version from which the slots are complete. A put of an
  object whose receipts are unknown (built by hand, or read elsewhere) starts a new floor:
  receipts of older versions may have been dropped, so they no longer prove anything.

A write that leaves no receipt (an update without an expected version, a transaction,
another program) still bumps the version, so its version's slot keeps an older entry:
"not this write" is still provable. A receipt is ~20 bytes; the map stays below ~200 bytes.
Eight slots settle a resend that meets up to seven later versions written by others; beyond
that (or below the floor) the write is reported as
:class:`~dyntable.errors.OutcomeUnknownError`, never as a success.

Objects decoded by dyntable remember the receipts of the item they came from (a side table
keyed by object identity, dropped with the object), so a put of that object carries them
forward.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dyntable._internal.schema.remembered import remember as store
from dyntable._internal.schema.remembered import remembered

__all__ = [
    "RECEIPTS_ATTRIBUTE",
    "SLOTS",
    "Receipts",
    "new_token",
    "recall",
    "remember",
]

#: The item attribute holding write receipts.
RECEIPTS_ATTRIBUTE = "_wt"
#: Receipt slots kept per item (versions ``v``, ``v-1``, ... ``v-7``).
SLOTS = 8
_FLOOR = "f"

AV = dict[str, Any]


def new_token() -> str:
    """A random token unique to one write (12 URL-safe characters, 72 bits)."""
    return base64.urlsafe_b64encode(os.urandom(9)).decode()


def slot(version: int) -> str:
    """The map key of the receipt slot of ``version``."""
    return str(version % SLOTS)


def entry(version: int, token: str) -> str:
    """The text stored in a receipt slot."""
    return f"{version}:{token}"


@dataclass(frozen=True)
class Receipts:
    """The receipts stored on one item.

    Attributes:
        floor: the oldest version from which the slots are complete.
        entries: slot -> (version, token).
    """

    floor: int = 1
    entries: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, item: Mapping[str, Any] | None) -> Receipts | None:
        """The receipts of a stored item (wire form), or ``None`` when it has none."""
        if not item:
            return None
        av = item.get(RECEIPTS_ATTRIBUTE)
        m = av.get("M") if isinstance(av, Mapping) else None
        if not isinstance(m, Mapping):
            return None
        floor = 1
        entries: dict[str, tuple[int, str]] = {}
        for name, value in m.items():
            if name == _FLOOR:
                raw = value.get("N") if isinstance(value, Mapping) else None
                floor = int(raw) if isinstance(raw, str) and raw.isdigit() else 1 << 62
                continue
            text = value.get("S") if isinstance(value, Mapping) else None
            if not isinstance(text, str):
                continue
            version, sep, token = text.partition(":")
            if sep and version.isdigit():
                entries[name] = (int(version), token)
        return cls(floor, entries)

    def token_of(self, version: int) -> str | None:
        """The token of the write that produced ``version``, when still recorded."""
        found = self.entries.get(slot(version))
        if found is None or found[0] != version:
            return None
        return found[1]

    def after(self, version: int, token: str) -> Receipts:
        """These receipts once the write ``token`` producing ``version`` is applied.

        Slots more than :data:`SLOTS` versions back are dropped.
        """
        entries = {
            s: (v, t) for s, (v, t) in self.entries.items()
            if version - SLOTS < v < version
        }
        entries[slot(version)] = (version, token)
        return Receipts(self.floor, entries)

    @classmethod
    def fresh(cls, version: int, token: str) -> Receipts:
        """Receipts of a write whose item's earlier receipts are unknown: a new floor."""
        return cls(version, {slot(version): (version, token)})

    def to_av(self) -> AV:
        """The receipt attribute value (wire form)."""
        m: dict[str, AV] = {s: {"S": entry(v, t)} for s, (v, t) in self.entries.items()}
        m[_FLOOR] = {"N": str(self.floor)}
        return {"M": m}


# -- receipts remembered per decoded object ------------------------------------------------


def remember(obj: Any, version: int, receipts: Receipts | None) -> None:
    """Remember the receipts of the item ``obj`` was read from (at ``version``)."""
    if receipts is None:
        if remembered(obj) is not None:
            store(obj, version=None, receipts=None)
        return
    store(obj, version=version, receipts=receipts)


def recall(obj: Any, version: int) -> Receipts | None:
    """The receipts remembered for ``obj`` when it still holds ``version``."""
    held = remembered(obj)
    if held is None or held.version != version:
        return None
    receipts: Receipts | None = held.receipts
    return receipts
