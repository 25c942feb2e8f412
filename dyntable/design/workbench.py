"""Export a design as a NoSQL Workbench data model (JSON), so it opens in Workbench.

The structure is the one AWS documents for Workbench data-model files: a model
(``ModelName``, ``ModelMetadata``) holding ``DataModel`` tables, each with
``KeyAttributes`` (``PartitionKey`` / ``SortKey``: ``AttributeName``, ``AttributeType``),
``NonKeyAttributes``, ``TableFacets`` (``FacetName``, ``KeyAttributeAlias`` with
``PartitionKeyAlias`` / ``SortKeyAlias``, ``NonKeyAttributes`` names, ``TableData``),
``GlobalSecondaryIndexes`` (``IndexName``, ``KeyAttributes``, ``Projection``) and
``TableData`` items in DynamoDB JSON:

- "Editing an existing data model" (to manually edit a model and add a facet),
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/workbench.Modeler.Edit.html
  (the structure is in the guide's source:
  https://github.com/awsdocs/amazon-dynamodb-developer-guide/blob/822948021fcd815a33c040fb6cce5fa0d4127df4/doc_source/workbench.Modeler.Edit.md)
- AWS's sample models in that format, with GSIs, facet data and metadata:
  https://github.com/aws-samples/amazon-dynamodb-design-patterns (``examples/*/json``)

Mapping: one facet per entity, named by the entity; its key aliases are the entity's
primary key templates (so an import gets them back); its ``TableData`` holds the entity's
sample items. Workbench files have no local secondary indexes: an LSI's sort key
attribute is listed as a plain attribute of the entities that write it, after their fields.
Items that match no entity go to the table's own ``TableData``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dyntable.design.model import Design, EntityInfo, IndexInfo

__all__ = ["WORKBENCH_VERSION", "to_workbench"]

# The file structure: AWS's "Editing an existing data model" page,
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/workbench.Modeler.Edit.html
# (its JSON example, now in the guide's source on GitHub, linked in the module docstring).

#: ``ModelMetadata.Version`` of the files NoSQL Workbench 3 writes.
WORKBENCH_VERSION = "3.0"


def _access() -> dict[str, Any]:
    """The ``DataAccess`` value Workbench writes for a table or facet."""
    return {"MySql": {}}


def _attr(name: str, kind: str) -> dict[str, str]:
    return {"AttributeName": name, "AttributeType": kind}


def _key_attributes(design: Design, info: IndexInfo) -> dict[str, Any]:
    types = design.attribute_types
    out = {"PartitionKey": _attr(info.pk_attrs[0], types.get(info.pk_attrs[0], "S"))}
    if info.sk_attrs:
        out["SortKey"] = _attr(info.sk_attrs[0], types.get(info.sk_attrs[0], "S"))
    return out


def _entity_attributes(design: Design, entity: EntityInfo) -> list[str]:
    """Attributes an entity writes besides the table key, in the file's order: GSI keys,
    the entity attribute, its fields, its LSI sort keys."""
    gsi = [a for k in entity.keys if k.index and design.index(k.index).kind == "GSI"
           and not k.native for a in (*k.pk_attrs, *k.sk_attrs)]
    lsi = [a for k in entity.keys if k.index and design.index(k.index).kind == "LSI"
           for a in k.sk_attrs]
    fields = [f.attribute for f in entity.fields if f.role != "key only"]
    marker = [design.entity_attribute] if design.entity_attribute else []
    return list(dict.fromkeys([*gsi, *marker, *fields, *lsi]))


def _types(design: Design) -> dict[str, str]:
    """Attribute -> DynamoDB type: key definitions, then sample values, then field types."""
    out = dict(design.attribute_types)
    for sample in design.items:
        for name, av in sample.item.items():
            out.setdefault(name, next(iter(av), "S"))
    for entity in design.entities:
        for f in entity.fields:
            out.setdefault(f.attribute, f.wire_type)
    if design.entity_attribute:
        out.setdefault(design.entity_attribute, "S")
    return out


def _facet(design: Design, entity: EntityInfo, names: list[str]) -> dict[str, Any]:
    primary = entity.key_on(None)
    alias = {"PartitionKeyAlias": " | ".join(primary.pk) if primary else ""}
    if design.index(None).sk_attrs:
        alias["SortKeyAlias"] = " | ".join(primary.sk) if primary else ""
    return {
        "FacetName": entity.entity,
        "KeyAttributeAlias": alias,
        "TableData": [s.item for s in design.items if s.entity == entity.entity],
        "NonKeyAttributes": names,
        "DataAccess": _access(),
    }


def _gsi(design: Design, info: IndexInfo) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": info.projection}
    if info.include:
        projection["NonKeyAttributes"] = list(info.include)
    return {"IndexName": info.name, "KeyAttributes": _key_attributes(design, info),
            "Projection": projection}


def to_workbench(design: Design, *, model_name: str | None = None, author: str = "dyntable",
                 description: str | None = None, created: datetime | None = None
                 ) -> dict[str, Any]:
    """The NoSQL Workbench data model of ``design`` (a JSON-ready dict).

    Args:
        design: the design (see :func:`~dyntable.design.model.build_design`).
        model_name: ``ModelName`` (default: the table name).
        author / description: ``ModelMetadata`` fields.
        created: ``DateCreated`` and ``DateLastModified`` (default: now, UTC).
    """
    when = (created or datetime.now(timezone.utc)).strftime("%b %d, %Y, %I:%M %p")
    table = design.index(None)
    types = _types(design)
    per_entity = {e.entity: _entity_attributes(design, e) for e in design.entities}
    gsis = [i for i in design.indexes if i.kind == "GSI"]
    names = [a for i in gsis for a in (*i.pk_attrs, *i.sk_attrs)]
    names += [design.entity_attribute] if design.entity_attribute else []
    names += [a for e in design.entities for a in per_entity[e.entity]]
    keys = {*table.pk_attrs, *table.sk_attrs}
    entry: dict[str, Any] = {
        "TableName": design.table,
        "KeyAttributes": _key_attributes(design, table),
        "NonKeyAttributes": [_attr(n, types.get(n, "S"))
                             for n in dict.fromkeys(names) if n not in keys],
        "TableFacets": [_facet(design, e, per_entity[e.entity]) for e in design.entities],
    }
    if gsis:
        entry["GlobalSecondaryIndexes"] = [_gsi(design, i) for i in gsis]
    unmatched = [s.item for s in design.items if s.entity is None]
    if unmatched:
        entry["TableData"] = unmatched
    entry["DataAccess"] = _access()
    entry["BillingMode"] = design.billing_mode
    return {
        "ModelName": model_name or design.table,
        "ModelMetadata": {
            "Author": author,
            "DateCreated": when,
            "DateLastModified": when,
            "Description": description if description is not None else
            f"Single-table design of {design.table}, exported by dyntable",
            "AWSService": "Amazon DynamoDB",
            "Version": WORKBENCH_VERSION,
        },
        "DataModel": [entry],
    }
