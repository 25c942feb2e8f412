"""Frozen, resolved descriptions of a model, read by the lower layers (codec, expressions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dyntable._internal.schema.templates import Template
from dyntable.errors import DeclarationError

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["FieldSpec", "KeySpec", "ModelSpec"]


@dataclass(frozen=True)
class FieldSpec:
    """One model field: its name, the attribute that stores it, annotation and role.

    ``attribute`` is the attribute name on the wire (the field's alias, else its name);
    ``metadata`` holds the ``Annotated`` markers pydantic keeps for the field (formats and
    type hooks are read from it); ``stored`` is False for a field kept only inside key
    attributes (see ``Key(store_fields=False)``).
    """

    name: str
    annotation: Any
    required: bool
    is_version: bool = False
    is_ttl: bool = False
    attribute: str = ""
    metadata: tuple[Any, ...] = ()
    stored: bool = True

    def __post_init__(self) -> None:
        if not self.attribute:
            object.__setattr__(self, "attribute", self.name)


@dataclass(frozen=True)
class KeySpec:
    """A resolved key: the table (``index=None``) or an index, with its templates.

    For native multi-attribute keys ``pk_templates`` / ``sk_templates`` are single-field
    templates ``{attr}`` naming the model fields that are the key attributes.
    """

    name: str
    index: str | None
    pk_attrs: tuple[str, ...]
    sk_attrs: tuple[str, ...]
    pk_templates: tuple[Template, ...]
    sk_templates: tuple[Template, ...]
    is_local: bool = False
    projection: str = "ALL"
    include: tuple[str, ...] = ()
    native: bool = False

    @property
    def pk_attr(self) -> str:
        """The (first) partition key attribute."""
        return self.pk_attrs[0]

    @property
    def sk_attr(self) -> str | None:
        """The (first) sort key attribute, or ``None``."""
        return self.sk_attrs[0] if self.sk_attrs else None

    @property
    def pk_template(self) -> Template:
        """The (first) partition key template."""
        return self.pk_templates[0]

    @property
    def sk_template(self) -> Template | None:
        """The (first) sort key template, or ``None``."""
        return self.sk_templates[0] if self.sk_templates else None

    @property
    def pk_fields(self) -> tuple[str, ...]:
        """Model fields that make the partition key."""
        return tuple(f for t in self.pk_templates for f in t.fields)

    @property
    def sk_fields(self) -> tuple[str, ...]:
        """Model fields that make the sort key, in template order."""
        return tuple(f for t in self.sk_templates for f in t.fields)

    @property
    def fields(self) -> tuple[str, ...]:
        """Every model field used by this key."""
        return self.pk_fields + self.sk_fields

    @property
    def attrs(self) -> tuple[str, ...]:
        """Every key attribute of this key."""
        return self.pk_attrs + self.sk_attrs

    @property
    def is_gsi(self) -> bool:
        """True for a global secondary index."""
        return self.index is not None and not self.is_local


@dataclass
class ModelSpec:
    """What dyntable knows of a model class, resolved once at class creation."""

    model: type[Model]
    entity: str
    table: TableSchema
    fields: dict[str, FieldSpec]
    primary: KeySpec
    indexes: dict[str, KeySpec]
    keys: dict[str, KeySpec]
    version_field: str | None = None
    ttl_field: str | None = None
    created_field: str | None = None
    updated_field: str | None = None
    unique_fields: tuple[str, ...] = ()
    schema_version: int | None = None
    codec: Any = field(default=None, repr=False)

    def key(self, name: str) -> KeySpec:
        """The key declared under attribute ``name`` (e.g. ``"primary"``)."""
        try:
            return self.keys[name]
        except KeyError:
            raise DeclarationError(f"{self.model.__name__} has no key {name!r}") from None

    def for_index(self, index: str | None) -> KeySpec:
        """The key of the table (``None``) or of ``index``."""
        if index is None:
            return self.primary
        try:
            return self.indexes[index]
        except KeyError:
            raise DeclarationError(
                f"{self.model.__name__} declares no key on index {index!r}"
            ) from None

    @property
    def key_attributes(self) -> frozenset[str]:
        """Every key attribute this model writes (table and indexes)."""
        attrs: set[str] = set()
        for k in self.keys.values():
            if not k.native:
                attrs.update(k.attrs)
        return frozenset(attrs)
