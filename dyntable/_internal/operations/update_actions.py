"""Update actions shared by the client's update builder and a transaction's update."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable._internal.operations.items import UpdateSpec
from dyntable.errors import InvalidRequestError
from dyntable.expressions.conditions import Condition, all_of
from dyntable.expressions.paths import F, Path, if_not_exists, list_append
from dyntable.expressions.updates import Action

if TYPE_CHECKING:
    from dyntable._internal.codec.items import ItemCodec

__all__ = ["UpdateActions"]

U = TypeVar("U", bound="UpdateActions")


class UpdateActions:
    """Collects SET / REMOVE / ADD / DELETE actions into ``spec``.

    Top-level fields are given as keywords (``set(name="Ada")``); nested paths as a path and
    a value (``set(F.address.city, "Paris")``).
    """

    spec: UpdateSpec
    _codec: ItemCodec[Any]

    def _add(self: U, kind: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> U:
        if args:
            if len(args) != 2 or not isinstance(args[0], Path):
                raise InvalidRequestError(f"{kind.lower()}() takes (F.path, value) or field=value")
            self.spec.actions.append(Action(kind, args[0], args[1]))  # type: ignore[arg-type]
        for name, value in kwargs.items():
            self.spec.actions.append(Action(kind, F[name], value))  # type: ignore[arg-type]
        return self

    def set(self: U, *path_value: Any, **fields: Any) -> U:
        """SET fields to values (or operands such as ``F.n + 1``). ``None`` removes."""
        self.remove(*[k for k, v in fields.items() if v is None])
        return self._add("SET", path_value, {k: v for k, v in fields.items() if v is not None})

    def remove(self: U, *fields: str | Path) -> U:
        """REMOVE attributes (fields or paths)."""
        for f in fields:
            self.spec.actions.append(Action("REMOVE", F[f] if isinstance(f, str) else f))
        return self

    def add(self: U, *path_value: Any, **fields: Any) -> U:
        """ADD a number to a number, or elements to a set."""
        return self._add("ADD", path_value, fields)

    def delete(self: U, *path_value: Any, **fields: Any) -> U:
        """DELETE elements from a set."""
        return self._add("DELETE", path_value, fields)

    def append(self: U, **fields: Any) -> U:
        """Append list elements: ``append(lines=[...])``."""
        for name, values in fields.items():
            value = list_append(if_not_exists(F[name], []), list(values))
            self.spec.actions.append(Action("SET", F[name], value))
        return self

    def prepend(self: U, **fields: Any) -> U:
        """Prepend list elements."""
        for name, values in fields.items():
            value = list_append(list(values), if_not_exists(F[name], []))
            self.spec.actions.append(Action("SET", F[name], value))
        return self

    def set_default(self: U, **fields: Any) -> U:
        """SET fields only where absent (``if_not_exists``)."""
        for name, value in fields.items():
            self.spec.actions.append(Action("SET", F[name], if_not_exists(F[name], value)))
        return self

    def condition(self: U, condition: Condition) -> U:
        """Only update when ``condition`` holds on the stored item."""
        self.spec.condition = all_of(self.spec.condition, condition)
        return self

    def expect_version(self: U, version: int) -> U:
        """Require the stored version to be ``version`` (optimistic locking by key)."""
        if self._codec.spec.version_field is None:
            raise InvalidRequestError(f"{self._codec.model.__name__} has no version field")
        self.spec.expected_version = version
        return self
