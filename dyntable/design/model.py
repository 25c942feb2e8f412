"""The design of one table as plain data: what the HTML, Markdown and Workbench views show.

:func:`build_design` reads the declaration (table, indexes, models and their key
templates), places sample items under their entity (by the table's entity rules, the
same ones reads use), compiles one example query per declared key, and collects the
warnings of :mod:`dyntable.design.checks`. Nothing is sent anywhere.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dyntable._internal.codec.identity import identity
from dyntable._internal.operations.tables import attribute_definitions, index_projection
from dyntable.design.checks import Finding, find_issues
from dyntable.design.patterns import AccessPattern, access_patterns, example_values
from dyntable.design.samples import encode, model_examples, placeholder
from dyntable.design.values import display, key_order, wire_type

if TYPE_CHECKING:
    from dyntable._internal.schema.spec import KeySpec, ModelSpec
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = [
    "Design",
    "EntityInfo",
    "FieldInfo",
    "IndexInfo",
    "KeyTemplates",
    "Partition",
    "Row",
    "SampleItem",
    "build_design",
]

Source = Literal["given", "example", "generated", "live"]
Item = dict[str, Any]


@dataclass(frozen=True)
class IndexInfo:
    """The table (``name=None``) or one of its indexes."""

    name: str | None
    kind: Literal["table", "GSI", "LSI"]
    pk_attrs: tuple[str, ...]
    sk_attrs: tuple[str, ...]
    projection: str = "ALL"
    #: attributes an INCLUDE projection carries (the entity attribute included)
    include: tuple[str, ...] = ()
    #: entities with a key on it
    entities: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``"table"`` or the index name."""
        return self.name or "table"


@dataclass(frozen=True)
class KeyTemplates:
    """One entity's key on the table or an index: attributes and their templates."""

    key: str
    index: str | None
    pk_attrs: tuple[str, ...]
    sk_attrs: tuple[str, ...]
    pk: tuple[str, ...]
    sk: tuple[str, ...]
    native: bool = False
    store_fields: bool = True


@dataclass(frozen=True)
class FieldInfo:
    """One model field: its attribute and type, and its role."""

    name: str
    attribute: str
    type: str
    required: bool
    role: str = ""
    #: the DynamoDB type its values are stored as (``S``, ``N``, ``M``...), from its type
    wire_type: str = "S"


@dataclass(frozen=True)
class EntityInfo:
    """One model on the table."""

    entity: str
    model: str
    module: str
    doc: str
    fields: tuple[FieldInfo, ...]
    keys: tuple[KeyTemplates, ...]

    def key_on(self, index: str | None) -> KeyTemplates | None:
        """The entity's key on the table (``None``) or an index, if it has one."""
        return next((k for k in self.keys if k.index == index), None)


@dataclass(frozen=True)
class SampleItem:
    """One sample item in DynamoDB JSON, with the entity it belongs to (or why none)."""

    item: Item
    entity: str | None
    source: Source
    note: str = ""


@dataclass(frozen=True)
class Row:
    """One item in a view: its sort key, entity and attributes (name, text), in order."""

    sort_key: str
    entity: str | None
    source: Source
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Partition:
    """The items of one partition key value in a view, sorted by sort key."""

    key: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Design:
    """A table's design: declaration, entities, samples, access patterns and warnings."""

    table: str
    entity_attribute: str | None
    billing_mode: str
    stream: str | None
    ttl: str | None
    attribute_types: dict[str, str]
    indexes: tuple[IndexInfo, ...]
    entities: tuple[EntityInfo, ...]
    items: tuple[SampleItem, ...]
    access_patterns: tuple[AccessPattern, ...]
    warnings: tuple[Finding, ...]

    def index(self, name: str | None) -> IndexInfo:
        """The table (``None``) or the index called ``name``."""
        for info in self.indexes:
            if info.name == name:
                return info
        raise KeyError(name)

    def entity(self, name: str) -> EntityInfo:
        """The entity called ``name``."""
        for info in self.entities:
            if info.entity == name:
                return info
        raise KeyError(name)

    def view(self, index: str | None = None) -> list[Partition]:
        """The sample items as the table (or an index) holds them: partitions in key order,
        items in sort key order, only the attributes the index projects. Items without the
        index's key attributes are not in it (sparse indexes)."""
        info = self.index(index)
        table = self.index(None)
        key_attrs = (*info.pk_attrs, *info.sk_attrs)
        shown = _projected(info, table)
        groups: dict[str, list[tuple[Any, Row]]] = {}
        orders: dict[str, Any] = {}
        for sample in self.items:
            item = sample.item
            if not all(a in item for a in key_attrs):
                continue
            pk = " | ".join(display(item[a]) for a in info.pk_attrs)
            order = tuple(key_order(item[a]) for a in info.sk_attrs)
            attributes = tuple((name, display(item[name])) for name in self._order(item)
                               if name not in key_attrs and (shown is None or name in shown))
            sk = " | ".join(display(item[a]) for a in info.sk_attrs)
            row = Row(sk, sample.entity, sample.source, attributes)
            groups.setdefault(pk, []).append((order, row))
            orders[pk] = tuple(key_order(item[a]) for a in info.pk_attrs)
        return [Partition(pk, tuple(r for _, r in sorted(groups[pk], key=lambda p: p[0])))
                for pk in sorted(groups, key=lambda p: orders[p])]

    def _order(self, item: Mapping[str, Any]) -> list[str]:
        """Attribute names: key attributes (declaration order), fields, entity attribute."""
        keys = [a for i in self.indexes for a in (*i.pk_attrs, *i.sk_attrs)]
        first = [a for a in dict.fromkeys(keys) if a in item]
        last = [a for a in (self.entity_attribute,) if a is not None and a in item]
        middle = [a for a in item if a not in first and a not in last]
        return first + middle + last

    def to_dict(self) -> dict[str, Any]:
        """The design as JSON-friendly data."""
        return dataclasses.asdict(self)


def _projected(info: IndexInfo, table: IndexInfo) -> set[str] | None:
    if info.projection == "ALL":
        return None
    keys = {*table.pk_attrs, *table.sk_attrs}
    return keys | set(info.include)


# --------------------------------------------------------------------------- building


def build_design(
    table: TableSchema,
    samples: Iterable[Model | Mapping[str, Any]] = (),
    *,
    source: Source = "given",
    examples: bool = True,
    placeholders: bool = True,
) -> Design:
    """The design of ``table``.

    Args:
        table: the table declaration (its models must be imported).
        samples: model instances, or items in DynamoDB JSON (as a Scan returns them).
        source: what ``samples`` are, for the view (``"given"``, ``"live"``...).
        examples: add each model's examples (``model_config["json_schema_extra"]
            ["examples"]``) when ``samples`` holds none of that entity.
        placeholders: give an entity still without items one item of stand-in values.
    """
    items = _place(table, samples, source)
    have = {s.entity for s in items}
    for entity, model in table.models.items():
        extra: list[tuple[Model, Source]] = []
        if examples and entity not in have:
            extra = [(obj, "example") for obj in model_examples(model)]
        if placeholders and entity not in have and not extra:
            made = placeholder(model)
            extra = [(made, "generated")] if made is not None else []
        items.extend(SampleItem(encode(obj), entity, kind) for obj, kind in extra)
    return Design(
        table=table.name,
        entity_attribute=table.entity_attribute,
        billing_mode=table.billing_mode,
        stream=table.stream,
        ttl=table.ttl,
        attribute_types={d["AttributeName"]: d["AttributeType"]
                         for d in attribute_definitions(table)},
        indexes=tuple(_indexes(table)),
        entities=tuple(_entity(m.__dyntable__) for m in table.models.values()),
        items=tuple(items),
        access_patterns=tuple(access_patterns(table, _examples(table, items))),
        warnings=tuple(find_issues(table)),
    )


def _place(table: TableSchema, samples: Iterable[Model | Mapping[str, Any]],
           source: Source) -> list[SampleItem]:
    rules = identity(table)
    out: list[SampleItem] = []
    for sample in samples:
        if isinstance(sample, Mapping):
            item = dict(sample)
            match = rules.match(item)
            entity = match.model.__dyntable__.entity if match.model is not None else None
            out.append(SampleItem(item, entity, source, match.reason))
        else:
            spec = type(sample).__dyntable__
            out.append(SampleItem(encode(sample), spec.entity, source))
    return out


def _examples(table: TableSchema, items: list[SampleItem]) -> dict[str, Model]:
    """The first sample of each entity that decodes (else stand-in values), to fill
    example calls."""
    out: dict[str, Model] = {}
    for sample in items:
        if sample.entity is None or sample.entity in out:
            continue
        model = table.model_for(sample.entity)
        obj = example_values(model, sample.item) if model is not None else None
        if obj is not None:
            out[sample.entity] = obj
    for entity, model in table.models.items():
        if entity not in out and (made := placeholder(model)) is not None:
            out[entity] = made
    return out


def _indexes(table: TableSchema) -> list[IndexInfo]:
    models = [m.__dyntable__ for m in table.models.values()]
    out = [IndexInfo(None, "table", (table.pk,), (table.sk,) if table.sk else (),
                     entities=tuple(s.entity for s in models))]
    for index in table.indexes:
        pk, sk = table.index_key_attrs(index.name)
        projection = index_projection(table, index)
        out.append(IndexInfo(
            index.name, "LSI" if index.is_local else "GSI", pk, sk,
            projection["ProjectionType"], tuple(projection.get("NonKeyAttributes", ())),
            tuple(s.entity for s in models if index.name in s.indexes)))
    return out


def _type_text(annotation: Any) -> str:
    """``Address | None`` rather than ``tests.models.Address | None``."""
    text = getattr(annotation, "__name__", None)
    if isinstance(text, str) and not getattr(annotation, "__args__", None):
        return text
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", repr(annotation))


def _entity(spec: ModelSpec) -> EntityInfo:
    model = spec.model
    fields = []
    from dyntable._internal.operations.unique import guard_template

    for name, fs in spec.fields.items():
        role = "version" if fs.is_version else "ttl" if fs.is_ttl else \
            "key only" if not fs.stored else ""
        if name in spec.unique_fields:
            role = f"unique (guard items {guard_template(spec.entity, name)})"
        elif name in (spec.created_field, spec.updated_field):
            role = "created at" if name == spec.created_field else "updated at"
        fields.append(FieldInfo(name, fs.attribute, _type_text(fs.annotation), fs.required,
                                role, "N" if fs.is_ttl else wire_type(fs.annotation)))
    return EntityInfo(
        entity=spec.entity, model=model.__name__, module=model.__module__,
        doc=(model.__doc__ or "").strip().split("\n\n")[0],
        fields=tuple(fields),
        keys=tuple(_key(name, key, model) for name, key in spec.keys.items()),
    )


def _key(name: str, key: KeySpec, model: type[Model]) -> KeyTemplates:
    declared = getattr(model, name).declaration
    return KeyTemplates(name, key.index, key.pk_attrs, key.sk_attrs,
                        tuple(t.source for t in key.pk_templates),
                        tuple(t.source for t in key.sk_templates), key.native,
                        declared.store_fields)
