"""``Key``: a model's primary key or index key, declared with templates in the class body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from dyntable._internal.schema.spec import KeySpec
    from dyntable.schema.model import Model

__all__ = ["ItemKey", "Key", "ModelKey"]

M = TypeVar("M", bound="Model")


class Key:
    """A key declaration: ``primary = Key(pk="CUSTOMER#{username}", sk="ORDER#{order_id}")``.

    ``index`` names a GSI or LSI of the table (``None``: the table's primary key). An LSI
    key gives only ``sk`` (its partition key is the primary one). A GSI with native
    multi-attribute keys needs no templates: its key attributes are model fields.

    ``store_fields=False`` keeps the fields of this key's templates only inside the key
    attributes (no attribute of their own), as tables written by other programs often do
    (``PK = "ORG#acme"`` and no ``org`` attribute): they are read back from the key. Such a
    field cannot be named in a condition, filter or projection (query by the key instead).
    Whatever the setting, a templated field whose own attribute is absent is read from the
    key.

    Read on the model class (``Order.primary``) a key is a :class:`ModelKey` bound to that
    model: what ``db.query(...)`` takes.
    """

    def __init__(
        self,
        *,
        pk: str | None = None,
        sk: str | None = None,
        index: str | None = None,
        store_fields: bool = True,
    ) -> None:
        self.pk = pk
        self.sk = sk
        self.index = index
        self.store_fields = store_fields
        self.name = ""
        self._bound: dict[type[Any], ModelKey[Any]] = {}

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type[M]) -> ModelKey[M]:
        bound = self._bound.get(owner)
        if bound is None:
            bound = ModelKey(self, owner)
            self._bound[owner] = bound
        return bound

    def __repr__(self) -> str:
        where = f"index={self.index!r}, " if self.index else ""
        return f"Key({where}pk={self.pk!r}, sk={self.sk!r})"


class ModelKey(Generic[M]):
    """A :class:`Key` read on a model class: knows its model and resolved spec."""

    __slots__ = ("declaration", "model")

    def __init__(self, declaration: Key, model: type[M]) -> None:
        self.declaration = declaration
        self.model = model

    @property
    def name(self) -> str:
        """The attribute name of the key on the model (e.g. ``"primary"``)."""
        return self.declaration.name

    @property
    def index(self) -> str | None:
        """The index name, or ``None`` for the table's primary key."""
        return self.declaration.index

    @property
    def spec(self) -> KeySpec:
        """The resolved key (attributes, templates)."""
        return self.model.__dyntable__.key(self.name)

    def __call__(self, **fields: Any) -> ItemKey[M]:
        """The key of one item: ``Customer.primary(username="ada")``.

        Accepted wherever an item is named (``get``, ``delete``, ``update``,
        ``batch_get``, ``transact_get``, transactions, batch writers). The fields are checked
        against this key when the key is used (all of them are needed to name an item).
        """
        return ItemKey(self, fields)

    def __repr__(self) -> str:
        d = self.declaration
        where = f"index={d.index!r}, " if d.index else ""
        return f"<Key {self.model.__name__}.{d.name} {where}pk={d.pk!r} sk={d.sk!r}>"


class ItemKey(Generic[M]):
    """One item named by a model key and its field values (``Customer.primary(username=...)``).

    Typed by its model, so ``db.get(Customer.primary(username="ada"))`` is
    ``Customer | None``.
    """

    __slots__ = ("fields", "key")

    def __init__(self, key: ModelKey[M], fields: dict[str, Any]) -> None:
        self.key = key
        self.fields = fields

    @property
    def model(self) -> type[M]:
        """The model class."""
        return self.key.model

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ItemKey) and other.key.declaration is self.key.declaration
                and other.key.model is self.key.model and other.fields == self.fields)

    def __hash__(self) -> int:
        return hash((id(self.key.declaration), self.key.model,
                     tuple(sorted((k, repr(v)) for k, v in self.fields.items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        return f"{self.key.model.__name__}.{self.key.name}({args})"
