"""``Key``: a model's primary key or index key, declared with templates in the class body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.spec import KeySpec

__all__ = ["Key"]

M = TypeVar("M", bound="Model")


class Key(Generic[M]):
    """A key declaration: ``primary = Key(pk="CUSTOMER#{username}", sk="ORDER#{order_id}")``.

    ``index`` names a GSI or LSI of the table (``None``: the table's primary key). An LSI
    key gives only ``sk`` (its partition key is the primary one). A GSI with native
    multi-attribute keys needs no templates: its key attributes are model fields.

    Read on the model class (``Order.primary``) a key is bound to that model and is what
    ``db.query(...)`` takes.
    """

    def __init__(
        self,
        *,
        pk: str | None = None,
        sk: str | None = None,
        index: str | None = None,
    ) -> None:
        self.pk = pk
        self.sk = sk
        self.index = index
        self.name = ""
        self.model: type[M] | None = None
        self._bound: dict[type[Any], Key[Any]] = {}

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name
        self.model = owner

    @overload
    def __get__(self, obj: None, owner: type[M]) -> Key[M]: ...

    @overload
    def __get__(self, obj: M, owner: type[M]) -> Key[M]: ...

    def __get__(self, obj: Any, owner: type[Any]) -> Key[Any]:
        if owner is self.model or self.model is None:
            return self
        bound = self._bound.get(owner)
        if bound is None:
            bound = Key(pk=self.pk, sk=self.sk, index=self.index)
            bound.name = self.name
            bound.model = owner
            self._bound[owner] = bound
        return bound

    @property
    def spec(self) -> KeySpec:
        """The resolved key (attributes, templates) of the model this key is bound to."""
        if self.model is None:
            raise TypeError("this Key is not declared on a model")
        return self.model.__dyntable__.key(self.name)

    def __repr__(self) -> str:
        owner = self.model.__name__ if self.model else "?"
        where = f"index={self.index!r}, " if self.index else ""
        return f"<Key {owner}.{self.name} {where}pk={self.pk!r} sk={self.sk!r}>"
