"""Update actions (SET / REMOVE / ADD / DELETE) as data, compiled by :mod:`.compiler`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from dyntable.expressions.paths import Path

__all__ = ["Action", "ActionKind"]

ActionKind = Literal["SET", "REMOVE", "ADD", "DELETE"]


@dataclass(frozen=True, slots=True)
class Action:
    """One update action: ``SET path = value``, ``REMOVE path``, ``ADD path value``,
    ``DELETE path value``. ``value`` may be a plain value or an operand
    (``F.n + 1``, ``if_not_exists(...)``, ``list_append(...)``)."""

    kind: ActionKind
    path: Path
    value: Any = None
