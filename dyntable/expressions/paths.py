"""Attribute paths: ``F.status``, ``F.address.city``, ``F.lines[0].sku``, ``F["size"]``.

``F`` is the one way to name a model field in conditions, filters, updates and
projections. Paths are checked against the model when a request is compiled. A field whose
name is also a method name here (``size``, ``contains``...) is reached with ``F["size"]``.
"""

from __future__ import annotations

from typing import Any

from dyntable.errors import ExpressionError
from dyntable.expressions.conditions import (
    ATTRIBUTE_TYPES,
    Between,
    Compare,
    Function,
    In,
    Size,
)

__all__ = [
    "F",
    "IfNotExists",
    "ListAppend",
    "Minus",
    "Path",
    "Plus",
    "if_not_exists",
    "list_append",
]


class Path:
    """A path to an attribute: names and list indexes."""

    __slots__ = ("elements", "raw")

    def __init__(self, elements: tuple[str | int, ...], *, raw: bool = False) -> None:
        self.elements = elements
        self.raw = raw

    def __getattr__(self, name: str) -> Path:
        if name.startswith("__"):
            raise AttributeError(name)
        return Path((*self.elements, name), raw=self.raw)

    def __getitem__(self, item: str | int) -> Path:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise TypeError("a path takes names (str) and list indexes (int)")
        if isinstance(item, int) and item < 0:
            raise TypeError("list indexes in paths must be >= 0")
        return Path((*self.elements, item), raw=self.raw)

    @property
    def field(self) -> str:
        """The top-level field name."""
        first = self.elements[0]
        assert isinstance(first, str)
        return first

    def __str__(self) -> str:
        out = ""
        for e in self.elements:
            out += f"[{e}]" if isinstance(e, int) else (f".{e}" if out else e)
        return out

    def __repr__(self) -> str:
        return f"F.{self}" if not self.raw else f"Attr({self})"

    # comparisons
    def __eq__(self, other: object) -> Compare:  # type: ignore[override]
        return Compare("=", self, other)

    def __ne__(self, other: object) -> Compare:  # type: ignore[override]
        return Compare("<>", self, other)

    def __lt__(self, other: Any) -> Compare:
        return Compare("<", self, other)

    def __le__(self, other: Any) -> Compare:
        return Compare("<=", self, other)

    def __gt__(self, other: Any) -> Compare:
        return Compare(">", self, other)

    def __ge__(self, other: Any) -> Compare:
        return Compare(">=", self, other)

    __hash__ = None  # type: ignore[assignment]

    def between(self, low: Any, high: Any) -> Between:
        """``path BETWEEN low AND high`` (inclusive)."""
        return Between(self, low, high)

    def is_in(self, *values: Any) -> In:
        """``path IN (values...)``."""
        if len(values) == 1 and isinstance(values[0], (list, tuple, set, frozenset)):
            values = tuple(values[0])
        return In(self, tuple(values))

    def begins_with(self, prefix: Any) -> Function:
        """``begins_with(path, prefix)``."""
        return Function("begins_with", self, prefix, True)

    def contains(self, value: Any) -> Function:
        """``contains(path, value)``: substring of a string, or element of a set or list."""
        return Function("contains", self, value, True)

    def exists(self) -> Function:
        """``attribute_exists(path)``."""
        return Function("attribute_exists", self)

    def not_exists(self) -> Function:
        """``attribute_not_exists(path)``."""
        return Function("attribute_not_exists", self)

    def is_type(self, type_code: str) -> Function:
        """``attribute_type(path, type)`` with a DynamoDB type code (``S``, ``N``, ``M``...)."""
        if type_code not in ATTRIBUTE_TYPES:
            raise ExpressionError(
                f"attribute_type({self}): type must be one of {ATTRIBUTE_TYPES}, "
                f"not {type_code!r}"
            )
        return Function("attribute_type", self, type_code, True)

    def size(self) -> Size:
        """``size(path)`` as an operand: ``F.tags.size() > 3``."""
        return Size(self)

    # update operands
    def __add__(self, other: Any) -> Plus:
        return Plus(self, other)

    def __sub__(self, other: Any) -> Minus:
        return Minus(self, other)


class _Root:
    """``F``: the root from which field paths are made."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Path:
        if name.startswith("__"):
            raise AttributeError(name)
        return Path((name,))

    def __getitem__(self, name: str) -> Path:
        if not isinstance(name, str):
            raise TypeError("F[...] takes a field name")
        return Path((name,))

    def __repr__(self) -> str:
        return "F"


F = _Root()


def attr(name: str) -> Path:
    """A path to a raw attribute (not a model field), e.g. a key attribute. Internal use."""
    return Path((name,), raw=True)


class Plus:
    """``a + b`` in a SET action."""

    __slots__ = ("left", "right")

    def __init__(self, left: Any, right: Any) -> None:
        self.left, self.right = left, right


class Minus:
    """``a - b`` in a SET action."""

    __slots__ = ("left", "right")

    def __init__(self, left: Any, right: Any) -> None:
        self.left, self.right = left, right


class IfNotExists:
    """``if_not_exists(path, default)`` in a SET action."""

    __slots__ = ("default", "path")

    def __init__(self, path: Path, default: Any) -> None:
        self.path, self.default = path, default

    def __add__(self, other: Any) -> Plus:
        return Plus(self, other)

    def __sub__(self, other: Any) -> Minus:
        return Minus(self, other)


class ListAppend:
    """``list_append(a, b)`` in a SET action."""

    __slots__ = ("left", "right")

    def __init__(self, left: Any, right: Any) -> None:
        self.left, self.right = left, right


def if_not_exists(path: Path, default: Any) -> IfNotExists:
    """``if_not_exists(path, default)``: the attribute's value, or ``default`` if absent."""
    return IfNotExists(path, default)


def list_append(left: Any, right: Any) -> ListAppend:
    """``list_append(left, right)``: concatenate two lists (paths or values)."""
    return ListAppend(left, right)
