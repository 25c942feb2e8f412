"""Condition and filter nodes: plain data, compiled to text by :mod:`.compiler` only.

Nodes refuse ``bool()`` so that ``if F.status == "PLACED":`` is an error, not a silent True.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dyntable.expressions.paths import Path

__all__ = [
    "And",
    "Between",
    "Compare",
    "Compiled",
    "Condition",
    "Encoded",
    "Function",
    "In",
    "Not",
    "Or",
    "Size",
]

COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")
ATTRIBUTE_TYPES = ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M")


class Condition:
    """Base of condition nodes; combine with ``&``, ``|`` and ``~``."""

    __slots__ = ()

    def __and__(self, other: Condition) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        # Flattened, so long chains compile without deep recursion or needless parentheses.
        left = self.parts if isinstance(self, And) else (self,)
        right = other.parts if isinstance(other, And) else (other,)
        return And((*left, *right))

    def __or__(self, other: Condition) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        left = self.parts if isinstance(self, Or) else (self,)
        right = other.parts if isinstance(other, Or) else (other,)
        return Or((*left, *right))

    def __invert__(self) -> Condition:
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(
            "a dyntable condition has no truth value; combine conditions with & | ~ "
            "(not and/or/not) and pass them to where()/condition="
        )


@dataclass(frozen=True, eq=False, slots=True)
class Size:
    """``size(path)``: an operand comparable with numbers."""

    path: Path

    def _cmp(self, op: str, other: Any) -> Compare:
        return Compare(op, self, other)

    def __eq__(self, other: object) -> Compare:  # type: ignore[override]
        return self._cmp("=", other)

    def __ne__(self, other: object) -> Compare:  # type: ignore[override]
        return self._cmp("<>", other)

    def __lt__(self, other: Any) -> Compare:
        return self._cmp("<", other)

    def __le__(self, other: Any) -> Compare:
        return self._cmp("<=", other)

    def __gt__(self, other: Any) -> Compare:
        return self._cmp(">", other)

    def __ge__(self, other: Any) -> Compare:
        return self._cmp(">=", other)

    def between(self, low: Any, high: Any) -> Between:
        """``size(path) BETWEEN low AND high``."""
        return Between(self, low, high)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False, slots=True)
class Compare(Condition):
    """``lhs op rhs``; operands are paths, ``Size`` or plain values."""

    op: str
    lhs: Any
    rhs: Any


@dataclass(frozen=True, eq=False, slots=True)
class Between(Condition):
    """``operand BETWEEN low AND high``."""

    operand: Any
    low: Any
    high: Any


@dataclass(frozen=True, eq=False, slots=True)
class In(Condition):
    """``operand IN (v1, v2, ...)`` (at most 100 values)."""

    operand: Any
    values: tuple[Any, ...]


@dataclass(frozen=True, eq=False, slots=True)
class Function(Condition):
    """``attribute_exists`` / ``attribute_not_exists`` / ``attribute_type`` / ``begins_with``
    / ``contains``."""

    name: str
    path: Path
    arg: Any = None
    has_arg: bool = False


@dataclass(frozen=True, eq=False, slots=True)
class And(Condition):
    """All of ``parts``."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True, eq=False, slots=True)
class Or(Condition):
    """Any of ``parts``."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True, eq=False, slots=True)
class Not(Condition):
    """Not ``part``."""

    part: Condition


def all_of(*conditions: Condition | None) -> Condition | None:
    """AND the given conditions, skipping ``None``; ``None`` when there are none."""
    parts = tuple(
        p for c in conditions if c is not None for p in (c.parts if isinstance(c, And) else (c,))
    )
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return And(parts)


@dataclass(frozen=True, eq=False, slots=True)
class Compiled(Condition):
    """A condition compiled once by a :class:`~dyntable.expressions.compiler.Compiler` with
    its own placeholder prefix (see ``Compiler(prefix=...)``), reused by many requests:
    ``text`` and the placeholders it uses."""

    text: str
    names: tuple[tuple[str, str], ...]
    values: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, eq=False, slots=True)
class Encoded:
    """An operand already encoded as an AttributeValue (``{"S": "ORDER#..."}``): key
    conditions built from key templates compare key attributes with such values."""

    av: dict[str, Any]
