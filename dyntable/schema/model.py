"""``Model``: a pydantic v2 model bound to a table with an entity name and key templates."""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict
from typing_extensions import Self

from dyntable.errors import DeclarationError
from dyntable.schema.keys import Key
from dyntable.schema.table import LSI, TableSchema

if TYPE_CHECKING:
    # Loaded when the first model class is declared, not at ``import dyntable``.
    from dyntable._internal.schema.spec import FieldSpec, KeySpec, ModelSpec
    from dyntable._internal.schema.templates import Template

__all__ = ["TTL", "CreatedAt", "Model", "Unique", "UpdatedAt", "Version"]


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: Marks the optimistic-lock version field: ``version: Annotated[int, Version] = 0``.
Version = _Marker("Version")
#: Marks the TTL field: ``expires_at: Annotated[datetime | None, TTL] = None``. A field named
#: like the table's ``ttl`` attribute is the TTL field without the marker.
TTL = _Marker("TTL")
#: Marks the field dyntable fills with the time an item is created (by a put of an object
#: whose value is ``None``, or by an upsert that creates the item):
#: ``created_at: Annotated[datetime | None, CreatedAt] = None``.
CreatedAt = _Marker("CreatedAt")
#: Marks the field dyntable sets to the time of every put, update and upsert (transactions
#: and batch writes included): ``updated_at: Annotated[datetime | None, UpdatedAt] = None``.
UpdatedAt = _Marker("UpdatedAt")
#: Marks a field whose value no two items of the model may share (e.g. an e-mail):
#: ``email: Annotated[str, Unique]``. dyntable keeps a guard item per value, written in the
#: same transaction as the item (see docs/writes.md, "Unique values").
Unique = _Marker("Unique")

_NUMERIC = (int, float)
#: Options of the calls that take key fields as keywords (get, delete, collection...): a
#: key field may not be named like one, or it would be taken for the option.
KEY_OPTION_NAMES = frozenset({"consistent", "project", "condition", "return_old",
                              "sk_prefix"})


if TYPE_CHECKING:
    # Type checkers see pydantic's own metaclass (its dataclass_transform types __init__).
    from pydantic._internal._model_construction import ModelMetaclass as _ModelMeta
else:

    class _ModelMeta(type(BaseModel)):
        """pydantic's metaclass with one change: an unknown class attribute names what exists.

        Python looks a missing class attribute up on the metaclass only, and pydantic offers
        no hook there, so this is the one method added; everything else is pydantic's. It
        runs only after normal lookup failed: attribute access is as fast as before.
        """

        def __getattr__(cls, item: str) -> Any:
            try:
                return super().__getattr__(item)  # pydantic's private attributes
            except AttributeError:
                if item.startswith("__") or "__dyntable__" not in cls.__dict__:
                    raise  # internal probes (hasattr) stay cheap
                raise AttributeError(_unknown_attribute(cls, item), name=item, obj=cls) \
                    from None


def _unknown_attribute(cls: type[Model], item: str) -> str:
    import difflib

    spec = cls.__dyntable__
    keys, fields = list(spec.keys), list(spec.fields)
    if item in spec.fields:
        return (
            f"{cls.__name__}.{item} is a model field, which pydantic keeps on instances, not "
            f"on the class; to name it in an expression write F.{item} (from dyntable "
            f"import F), or pass it as a keyword (e.g. .set({item}=...))"
        )
    close = difflib.get_close_matches(item, keys + fields, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"{cls.__name__} has no attribute {item!r}{hint}; its keys: {', '.join(keys)}; "
        f"its fields: {', '.join(fields)}"
    )


class Model(BaseModel, metaclass=_ModelMeta):
    """Base class of dyntable entities.

    Declare with class keywords::

        class Order(Model, table=shop, entity="order"):
            username: str
            order_id: str
            primary = Key(pk="CUSTOMER#{username}", sk="ORDER#{order_id}")

    A class without ``table=`` is an abstract base (shared fields); it cannot be stored.
    """

    # pydantic builds a model's schema and validator on its first use (instantiation,
    # validation, a decode that needs validation), not at class creation: a cold start
    # pays only for the models it uses, and declaring models builds no schema and does not
    # load pydantic's plugin registry (the entry points of every installed distribution,
    # read when the first validator is made). A model may set ``defer_build=False`` in its
    # ``model_config`` to have its schema built (and checked) when the class is created.
    # Unknown keyword arguments are refused (a typo is an error, not a dropped value);
    # a model may set its own ``extra`` in its ``model_config``.
    model_config = ConfigDict(ignored_types=(Key,), defer_build=True, extra="forbid")
    __dyntable__: ClassVar[ModelSpec]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Class keywords (table=, entity=) are read in __pydantic_init_subclass__.
        super().__init_subclass__()

    # Copies (``model_copy``, ``copy.copy``, ``copy.deepcopy``) keep what was remembered
    # for the original (dyntable._internal.schema.remembered): the write receipts other
    # writers rely on and the attributes the model does not declare, so a put of a copy
    # drops neither.

    def __copy__(self) -> Self:
        copied = super().__copy__()
        _carry_receipts(self, copied)
        return copied

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        copied = super().__deepcopy__(memo)
        _carry_receipts(self, copied)
        return copied

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        table = kwargs.pop("table", None)
        entity = kwargs.pop("entity", None)
        schema_version = kwargs.pop("schema_version", None)
        if kwargs:
            raise DeclarationError(
                f"{cls.__name__}: unknown class keywords {sorted(kwargs)} "
                "(dyntable takes table=, entity=, schema_version=)"
            )
        super().__pydantic_init_subclass__()
        if table is None:
            if entity is not None:
                raise DeclarationError(f"{cls.__name__}: entity= needs table=")
            if "__dyntable__" in cls.__dict__:
                del cls.__dyntable__
            return
        if not isinstance(table, TableSchema):
            raise DeclarationError(f"{cls.__name__}: table= takes a Table, not {table!r}")
        if entity is None:
            entity = cls.__name__.lower()
        if not isinstance(entity, str) or not entity:
            raise DeclarationError(f"{cls.__name__}: entity must be a non-empty string")
        if schema_version is not None and (
            not isinstance(schema_version, int) or schema_version < 1
        ):
            raise DeclarationError(f"{cls.__name__}: schema_version must be an int >= 1")
        spec = _build_spec(cls, table, entity, schema_version)
        cls.__dyntable__ = spec
        table.register(cls, entity)


def _carry_receipts(original: Model, copied: Model) -> None:
    from dyntable._internal.schema.remembered import carry

    carry(original, copied)


Model.model_config = ConfigDict(ignored_types=(Key,), extra="forbid", defer_build=True)


def _markers(annotation: Any, metadata: list[Any]) -> set[str]:
    found = {m.name for m in metadata if isinstance(m, _Marker)}
    if typing.get_origin(annotation) is typing.Annotated:
        found |= {m.name for m in typing.get_args(annotation)[1:] if isinstance(m, _Marker)}
    return found


def _fields(
    cls: type[Model], table: TableSchema
) -> tuple[dict[str, FieldSpec], str | None, str | None]:
    from dyntable._internal.schema.spec import FieldSpec

    fields: dict[str, FieldSpec] = {}
    versions: list[str] = []
    ttls: list[str] = []
    attributes: dict[str, str] = {}
    for name, info in cls.model_fields.items():
        attribute = _wire_name(cls, name, info.alias)
        if attribute in attributes:
            raise DeclarationError(
                f"{cls.__name__}: fields {attributes[attribute]!r} and {name!r} are both "
                f"stored as attribute {attribute!r}"
            )
        attributes[attribute] = name
        marks = _markers(info.annotation, list(info.metadata))
        is_version = "Version" in marks
        is_ttl = "TTL" in marks or (table.ttl is not None and name == table.ttl)
        if is_version:
            versions.append(name)
        if is_ttl:
            ttls.append(name)
        fields[name] = FieldSpec(name, info.annotation, info.is_required(), is_version, is_ttl,
                                 attribute=attribute, metadata=tuple(info.metadata))
    if len(versions) > 1:
        raise DeclarationError(f"{cls.__name__}: two version fields {versions}; declare one")
    if len(ttls) > 1:
        raise DeclarationError(f"{cls.__name__}: two TTL fields {ttls}; declare one")
    version = versions[0] if versions else None
    ttl = ttls[0] if ttls else None
    for role, special in (("version", version), ("TTL", ttl)):
        if special is not None and fields[special].attribute != special:
            raise DeclarationError(
                f"{cls.__name__}.{special}: the {role} field cannot have an alias; name the "
                f"field like its attribute {fields[special].attribute!r}"
            )
    if version and fields[version].annotation not in (int,):
        raise DeclarationError(f"{cls.__name__}.{version}: a version field must be an int")
    if ttl is not None:
        if table.ttl is None:
            raise DeclarationError(
                f"{cls.__name__}.{ttl} is marked TTL but table {table.name!r} declares no ttl="
            )
        if ttl != table.ttl:
            raise DeclarationError(
                f"{cls.__name__}.{ttl} is marked TTL but the table's TTL attribute is "
                f"{table.ttl!r}; name the field {table.ttl!r}"
            )
    return fields, version, ttl


def _wire_name(cls: type[Model], name: str, alias: str | None) -> str:
    """The attribute storing field ``name``: its pydantic ``alias`` when it has one."""
    if not alias or alias == name:
        return name
    if not isinstance(alias, str):
        raise DeclarationError(f"{cls.__name__}.{name}: the alias must be a string")
    return alias


def _declared_keys(cls: type[Model]) -> dict[str, Key]:
    keys: dict[str, Key] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, Key):
                keys[attr] = value
    return keys


def _templates(
    cls: type[Model],
    what: str,
    source: str | None,
    attrs: tuple[str, ...],
    fields: dict[str, FieldSpec],
    table: TableSchema,
) -> tuple[Template, ...]:
    from dyntable._internal.schema.templates import Template

    if not attrs:
        if source is not None:
            raise DeclarationError(f"{cls.__name__}.{what}: this key has no sort key attribute")
        return ()
    if source is None:
        raise DeclarationError(f"{cls.__name__}.{what}: a template for {attrs[0]!r} is required")
    template = Template.parse(source)
    for f in template.fields:
        if f not in fields:
            raise DeclarationError(
                f"{cls.__name__}.{what}: template {source!r} names {f!r}, which is not a field "
                f"of {cls.__name__} (fields: {sorted(fields)})"
            )
    if table.attribute_type(attrs[0]) != "S" and not template.is_single_field:
        raise DeclarationError(
            f"{cls.__name__}.{what}: attribute {attrs[0]!r} is of type "
            f"{table.attribute_type(attrs[0])}; its template must be a single field"
        )
    return (template,)


def _resolve_key(
    cls: type[Model], attr: str, key: Key, fields: dict[str, FieldSpec], table: TableSchema,
    primary: Key | None,
) -> KeySpec:
    from dyntable._internal.schema.spec import KeySpec
    from dyntable._internal.schema.templates import Template

    what = attr
    if key.index is None:
        pk_attrs, sk_attrs = (table.pk,), ((table.sk,) if table.sk else ())
        return KeySpec(
            attr, None, pk_attrs, sk_attrs,
            _templates(cls, what, key.pk, pk_attrs, fields, table),
            _templates(cls, what, key.sk, sk_attrs, fields, table),
        )
    try:
        idx = table.index(key.index)
    except DeclarationError as exc:
        raise DeclarationError(f"{cls.__name__}.{attr}: {exc}") from None
    if isinstance(idx, LSI):
        pk_source = primary.pk if primary is not None else None
        if key.pk is not None and key.pk != pk_source:
            raise DeclarationError(
                f"{cls.__name__}.{attr}: LSI {idx.name!r} shares the table's partition key; "
                f"its pk must be the primary pk template {pk_source!r}, not {key.pk!r}"
            )
        pk_attrs, sk_attrs = (table.pk,), (idx.sk,)
        return KeySpec(
            attr, idx.name, pk_attrs, sk_attrs,
            _templates(cls, what, pk_source, pk_attrs, fields, table),
            _templates(cls, what, key.sk, sk_attrs, fields, table),
            is_local=True, projection=idx.projection_type, include=idx.include,
        )
    if idx.multi_attribute or (key.pk is None and key.sk is None):
        by_wire = {f.attribute: n for n, f in fields.items()}
        for a in (*idx.pk_attrs, *idx.sk_attrs):
            if a not in by_wire:
                raise DeclarationError(
                    f"{cls.__name__}.{attr}: index {idx.name!r} keys on attribute {a!r}, "
                    f"which is not a field of {cls.__name__}"
                )
        return KeySpec(
            attr, idx.name, idx.pk_attrs, idx.sk_attrs,
            tuple(Template.parse("{" + by_wire[a] + "}") for a in idx.pk_attrs),
            tuple(Template.parse("{" + by_wire[a] + "}") for a in idx.sk_attrs),
            projection=idx.projection_type, include=idx.include, native=True,
        )
    return KeySpec(
        attr, idx.name, idx.pk_attrs, idx.sk_attrs,
        _templates(cls, what, key.pk, idx.pk_attrs, fields, table),
        _templates(cls, what, key.sk, idx.sk_attrs, fields, table),
        projection=idx.projection_type, include=idx.include,
    )


def _unique(cls: type[Model], fields: dict[str, FieldSpec], primary: KeySpec,
            table: TableSchema) -> tuple[str, ...]:
    """The fields marked Unique (checked: stored, not in the primary key, string keys)."""
    names = tuple(n for n, info in cls.model_fields.items()
                  if "Unique" in _markers(info.annotation, list(info.metadata)))
    for name in names:
        f = fields[name]
        if name in primary.fields or f.is_version or f.is_ttl or not f.stored:
            raise DeclarationError(
                f"{cls.__name__}.{name}: a Unique field cannot be a primary key field (the key "
                "is unique already), the version or TTL field, or kept only in a key")
    if names and any(table.attribute_type(a) != "S" for a in primary.attrs):
        raise DeclarationError(
            f"{cls.__name__}: Unique fields need string key attributes (their guard items "
            f"are keyed by text); table {table.name!r} has {primary.attrs}")
    return names


def _timestamps(cls: type[Model], fields: dict[str, FieldSpec], primary: KeySpec
                ) -> tuple[str | None, str | None]:
    """The fields marked CreatedAt and UpdatedAt (checked: one each, datetimes, not in the
    primary key, not the version or TTL field)."""
    import datetime as dt

    found: dict[str, list[str]] = {"CreatedAt": [], "UpdatedAt": []}
    for name, info in cls.model_fields.items():
        for mark in _markers(info.annotation, list(info.metadata)) & set(found):
            found[mark].append(name)
    out: list[str | None] = []
    for mark, names in found.items():
        if len(names) > 1:
            raise DeclarationError(f"{cls.__name__}: two {mark} fields {names}; declare one")
        out.append(names[0] if names else None)
        if not names:
            continue
        name = names[0]
        f = fields[name]
        args = [a for a in typing.get_args(f.annotation) if a is not type(None)]
        if not (f.annotation is dt.datetime or args == [dt.datetime]):
            raise DeclarationError(
                f"{cls.__name__}.{name}: a {mark} field is a datetime (optionally | None), "
                f"not {f.annotation!r}")
        if name in primary.fields or f.is_version or f.is_ttl:
            raise DeclarationError(
                f"{cls.__name__}.{name}: a {mark} field cannot be part of the primary key, "
                "the version or the TTL field")
    if out[0] is not None and out[0] == out[1]:
        raise DeclarationError(f"{cls.__name__}.{out[0]}: CreatedAt and UpdatedAt on one field")
    return out[0], out[1]


def _key_only(cls: type[Model], fields: dict[str, FieldSpec], declared: dict[str, Key],
              keys: dict[str, KeySpec]) -> dict[str, FieldSpec]:
    """``fields`` with those of ``store_fields=False`` keys marked as kept in the key only."""
    import dataclasses

    out = dict(fields)
    for attr, key in declared.items():
        if key.store_fields:
            continue
        spec = keys[attr]
        if spec.native:
            raise DeclarationError(
                f"{cls.__name__}.{attr}: store_fields=False needs key templates; index "
                f"{spec.index!r} keys on the fields' own attributes"
            )
        for name in spec.fields:
            f = out[name]
            if f.is_ttl:
                raise DeclarationError(
                    f"{cls.__name__}.{name}: the TTL field must be its own attribute")
            if f.attribute != name:
                raise DeclarationError(
                    f"{cls.__name__}.{name}: a field kept only in the key has no attribute "
                    "of its own; drop its alias"
                )
            out[name] = dataclasses.replace(f, stored=False)
    return out


def _build_spec(
    cls: type[Model], table: TableSchema, entity: str, schema_version: int | None
) -> ModelSpec:
    from dyntable._internal.schema.spec import ModelSpec

    fields, version, ttl = _fields(cls, table)
    from dyntable._internal.schema.field_formats import check_formats

    check_formats(cls, table, fields)  # storage formats, type hooks, pydantic serializers
    declared = _declared_keys(cls)
    primaries = [a for a, k in declared.items() if k.index is None]
    if not primaries:
        raise DeclarationError(
            f"{cls.__name__}: declare its primary key, e.g. primary = Key(pk=..., sk=...)"
        )
    if len(primaries) > 1:
        raise DeclarationError(f"{cls.__name__}: two primary keys declared: {primaries}")
    primary_key = declared[primaries[0]]
    keys: dict[str, KeySpec] = {}
    indexes: dict[str, KeySpec] = {}
    for attr, key in declared.items():
        spec = _resolve_key(cls, attr, key, fields, table, primary_key)
        if spec.index is not None:
            if spec.index in indexes:
                raise DeclarationError(
                    f"{cls.__name__}: two keys on index {spec.index!r} "
                    f"({indexes[spec.index].name}, {attr})"
                )
            indexes[spec.index] = spec
        keys[attr] = spec
    from dyntable._internal.schema.receipts import RECEIPTS_ATTRIBUTE
    from dyntable._internal.schema.versions import VERSION_ATTRIBUTE

    native = {a for k in keys.values() if k.native for a in k.attrs}
    reserved = (table.key_attributes() - native) | {RECEIPTS_ATTRIBUTE, VERSION_ATTRIBUTE}
    if table.entity_attribute is not None:
        reserved.add(table.entity_attribute)
    for name, f in fields.items():
        wire = f.attribute
        if wire in reserved:
            # Allowed only when the key attribute *is* the field: its template is "{name}".
            identity = any(
                a == wire and t.fields == (name,) and t.source == "{" + name + "}"
                for k in keys.values()
                for a, t in zip(k.attrs, k.pk_templates + k.sk_templates, strict=False)
            )
            if not identity or wire == table.entity_attribute or wire in (
                    RECEIPTS_ATTRIBUTE, VERSION_ATTRIBUTE):
                raise DeclarationError(
                    f"{cls.__name__}.{name}: the field is named like the table's key or "
                    f"entity attribute (or an attribute dyntable keeps) {wire!r}; rename "
                    "the field (or its alias)"
                )
    for spec in keys.values():
        clash = sorted(set(spec.fields) & KEY_OPTION_NAMES)
        if clash:
            raise DeclarationError(
                f"{cls.__name__}.{spec.name}: key field(s) {clash} are named like options of "
                f"the calls that take key fields as keywords ({sorted(KEY_OPTION_NAMES)}); "
                "rename the field(s)"
            )
    if version and version in keys[primaries[0]].fields:
        raise DeclarationError(f"{cls.__name__}.{version}: the version cannot be a key field")
    fields = _key_only(cls, fields, declared, keys)
    created, updated = _timestamps(cls, fields, keys[primaries[0]])
    unique = _unique(cls, fields, keys[primaries[0]], table)
    return ModelSpec(
        model=cls,
        entity=entity,
        table=table,
        fields=fields,
        primary=keys[primaries[0]],
        indexes=indexes,
        keys=keys,
        version_field=version,
        ttl_field=ttl,
        created_field=created,
        updated_field=updated,
        unique_fields=unique,
        schema_version=schema_version,
    )
