"""Read a NoSQL Workbench data model into a draft of dyntable declarations (Python source).

Each table becomes a ``Table`` (keys, GSIs with their projection, billing mode) and each
facet a ``Model`` whose entity is the facet name. Fields are the facet's non-key
attributes, typed from the table's attribute types (``N`` becomes ``int`` when every
sample value is whole, else ``Decimal``) and optional when a sample item lacks them.

Key templates: a facet's key aliases are the primary key templates when they hold
``{field}`` parts (dyntable's export writes them so); otherwise, and for GSI keys, the
template is inferred from the facet's sample items (the field values found inside the
key values, checked against every item). A key that cannot be inferred is left as a
``TODO`` comment. The entity attribute is the attribute every facet item sets to the
facet name, when there is one.

See :mod:`dyntable.design.workbench` for the file structure.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dyntable._internal.schema.templates import Template
from dyntable.design.inference import infer_template, key_text, segments_template
from dyntable.errors import DeclarationError, InvalidRequestError

__all__ = ["workbench_to_source"]

_PY_TYPES = {"S": "str", "B": "bytes", "BOOL": "bool", "M": "dict[str, Any]",
             "L": "list[Any]", "SS": "set[str]", "NS": "set[Decimal]", "BS": "set[bytes]",
             "NULL": "Any"}


@dataclass
class _Field:
    name: str
    attribute: str
    annotation: str
    required: bool


def _q(value: Any) -> str:
    """Python source of a string, list or dict of strings (double quotes)."""
    return "None" if value is None else json.dumps(value, ensure_ascii=False)


def _doc(text: str) -> str:
    """Text safe inside a docstring."""
    return repr(str(text).replace("\\", "/").replace('"', "'"))


def _identifier(name: str, used: set[str]) -> str:
    """A Python identifier for an attribute name (not a pydantic or dyntable name)."""
    text = re.sub(r"\W", "_", name)
    if not text or text[0].isdigit() or text.startswith("_"):
        text = "attr_" + text.lstrip("_")
    if keyword.iskeyword(text) or text.startswith("model_") or text in used:
        text += "_"
    while text in used:
        text += "_"
    used.add(text)
    return text


def _class_name(facet: str, used: set[str]) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", facet) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Entity"
    if name[0].isdigit():
        name = "E" + name
    while name in used:
        name += "_"
    used.add(name)
    return name


def workbench_to_source(model: Mapping[str, Any]) -> str:
    """Python source declaring every table and facet of a Workbench data model (a draft).

    Raises:
        InvalidRequestError: the document is not a Workbench data model.
    """
    tables = model.get("DataModel")
    if not isinstance(tables, list) or not tables:
        raise InvalidRequestError("not a NoSQL Workbench data model: no DataModel tables")
    used_vars: set[str] = set()
    used_classes: set[str] = set()
    blocks = [_table(t, used_vars, used_classes) for t in tables]
    name = model.get("ModelName", "")
    imports = ["from decimal import Decimal", "from typing import Any", ""]
    if any("Field(alias=" in b for b in blocks):
        imports += ["from pydantic import Field", ""]
    names = ", ".join(n for n in ("GSI", "Key", "Model", "Table")
                      if n != "GSI" or any("GSI(" in b for b in blocks))
    head = [f'"""Draft dyntable declarations from the NoSQL Workbench model {_doc(name)}.',
            "", "Made by `dyntable design import-workbench`: review the field types, key",
            'templates and TODO comments before use."""', "", *imports,
            f"from dyntable import {names}", "", ""]
    return "\n".join(head) + "\n\n\n".join(blocks)


def _key_text(attr: Mapping[str, Any] | None) -> tuple[str, str] | None:
    if not attr:
        return None
    return str(attr["AttributeName"]), str(attr.get("AttributeType", "S"))


@dataclass(frozen=True)
class _Gsi:
    name: str
    pk: tuple[str, str]
    sk: tuple[str, str] | None
    projection: Mapping[str, Any]
    #: keyed on plain attributes (a native key: the fields are the key), not on
    #: generic attributes filled from templates (``GSI1PK``)
    natural: bool

    @property
    def attrs(self) -> list[str]:
        return [self.pk[0], *([self.sk[0]] if self.sk else [])]


_GENERIC = re.compile(r"(?i)(^|[^a-z])(gsi|lsi)|(^|[^a-z])(pk|sk)\d*$|^(pk|sk)")


def _gsis(table: Mapping[str, Any]) -> list[_Gsi]:
    out = []
    facets = table.get("TableFacets", ()) or ()
    for g in table.get("GlobalSecondaryIndexes", ()) or ():
        pk = _key_text(g["KeyAttributes"].get("PartitionKey"))
        sk = _key_text(g["KeyAttributes"].get("SortKey"))
        if pk is None:
            raise InvalidRequestError(f"GSI {g.get('IndexName')!r} has no PartitionKey")
        attrs = [pk[0], *([sk[0]] if sk else [])]
        values = [key_text(item[a]) or "" for f in facets for item in f.get("TableData", ()) or ()
                  for a in attrs if a in item]
        generic = any(_GENERIC.search(a) for a in attrs) or \
            any(re.search(r"[#|~^/]", v) for v in values)
        out.append(_Gsi(str(g["IndexName"]), pk, sk, g.get("Projection", {}), not generic))
    return out


def _gsi_line(gsi: _Gsi, marker: str | None) -> str:
    if gsi.natural:
        args = [_q(gsi.name), f"pk={_q([gsi.pk[0]])}"]
        if gsi.sk:
            args.append(f"sk={_q([gsi.sk[0]])}")
    else:
        args = [_q(gsi.name), f"pk={_q(gsi.pk[0])}"]
        if gsi.sk:
            args.append(f"sk={_q(gsi.sk[0])}")
    ptype = gsi.projection.get("ProjectionType", "ALL")
    if ptype == "INCLUDE":
        names = [n for n in gsi.projection.get("NonKeyAttributes", ()) if n != marker]
        args.append(f"projection={_q(names)}")
    elif ptype != "ALL":
        args.append(f"projection={_q(ptype)}")
    return f"        GSI({', '.join(args)}),"


def _table(table: Mapping[str, Any], used_vars: set[str], used_classes: set[str]) -> str:
    name = str(table["TableName"])
    keys = table.get("KeyAttributes", {})
    pk = _key_text(keys.get("PartitionKey"))
    sk = _key_text(keys.get("SortKey"))
    if pk is None:
        raise InvalidRequestError(f"Workbench table {name!r} has no PartitionKey")
    types = {str(a["AttributeName"]): str(a.get("AttributeType", "S"))
             for a in table.get("NonKeyAttributes", ())}
    key_types = {pk[0]: pk[1], **({sk[0]: sk[1]} if sk else {})}
    gsis = _gsis(table)
    for gsi in gsis:
        if not gsi.natural:  # natural keys are fields: typed by the models
            key_types.update({gsi.pk[0]: gsi.pk[1], **({gsi.sk[0]: gsi.sk[1]} if gsi.sk else {})})
    facets = list(table.get("TableFacets", ()) or ())
    marker = _entity_attribute(facets)
    var = _identifier(re.sub(r"\W", "_", name).lower() or "table", used_vars)
    lines = [f"{var} = Table(", f"    {_q(name)},", f"    pk={_q(pk[0])},",
             f"    sk={_q(sk[0])}," if sk else "    sk=None,"]
    if gsis:
        lines += ["    gsis=[", *(_gsi_line(g, marker) for g in gsis), "    ],"]
    special = {k: t for k, t in key_types.items() if t != "S"}
    if special:
        lines.append(f"    attribute_types={_q(special)},")
    if marker != "_entity":
        lines.append(f"    entity_attribute={_q(marker)},")
    if table.get("BillingMode") == "PROVISIONED":
        lines.append('    billing_mode="PROVISIONED", read_capacity=5, write_capacity=5,'
                     "  # TODO: capacity")
    lines.append(")")
    entities = [_facet(f, var, pk, sk, gsis, types, set(key_types), marker, used_classes)
                for f in facets]
    return "\n".join(lines) + "".join("\n\n\n" + e for e in entities) + "\n"


def _entity_attribute(facets: list[Mapping[str, Any]]) -> str | None:
    """The attribute every facet item sets to its facet name, else ``_entity``/None."""
    candidates: set[str] | None = None
    for facet in facets:
        for item in facet.get("TableData", ()) or ():
            names = {a for a, av in item.items() if av == {"S": facet["FacetName"]}}
            candidates = names if candidates is None else candidates & names
    if candidates:
        return sorted(candidates)[0]
    return "_entity" if candidates is None else None


def _annotation(attribute: str, types: Mapping[str, str],
                items: Sequence[Mapping[str, Any]]) -> str:
    kind = types.get(attribute, "S")
    if kind == "N":
        values = [str(i[attribute].get("N", "")) for i in items if attribute in i]
        whole = values and all(re.fullmatch(r"-?\d+", v) for v in values)
        return "int" if whole else "Decimal"
    return _PY_TYPES.get(kind, "Any")


def _facet(facet: Mapping[str, Any], var: str, pk: tuple[str, str],
           sk: tuple[str, str] | None, gsis: list[_Gsi], types: Mapping[str, str],
           key_attrs: set[str], marker: str | None, used_classes: set[str]) -> str:
    name = str(facet["FacetName"])
    items = list(facet.get("TableData", ()) or ())
    attributes = list(facet.get("NonKeyAttributes", ()) or ())
    cls = _class_name(name, used_classes)
    used: set[str] = {"primary"}
    fields: list[_Field] = []
    for attribute in attributes:
        if attribute in key_attrs or attribute == marker:
            continue
        present = bool(items) and all(attribute in i for i in items)
        fields.append(_Field(_identifier(attribute, used), attribute,
                             _annotation(attribute, types, items), present))
    by_attr = {f.attribute: f.name for f in fields}
    alias = facet.get("KeyAttributeAlias", {}) or {}
    new: list[str] = []
    parts = [_primary(alias.get("PartitionKeyAlias"), pk[0], items, by_attr, used, new)]
    if sk:
        parts.append(_primary(alias.get("SortKeyAlias"), sk[0], items, by_attr, used, new))
    keys = [_key("primary", None, parts, new)]
    for gsi in gsis:
        if gsi.pk[0] not in attributes:
            continue
        snake = _snake(gsi.name)
        key_name = _identifier(snake if snake.startswith("by_") else f"by_{snake}", used)
        where = f"index={_q(gsi.name)}"
        if gsi.natural and all(a in by_attr for a in gsi.attrs):
            keys.append(f"    {key_name} = Key({where})")  # its fields are the key
        elif gsi.natural:
            keys.append(f"    # TODO: {key_name} = Key({where}): {', '.join(gsi.attrs)} are "
                        "not all attributes of this facet")
        else:
            found = [_inferred(gsi.pk[0], items, by_attr)]
            if gsi.sk:
                found.append(_inferred(gsi.sk[0], items, by_attr))
            keys.append(_key(key_name, gsi.name, found, []))
    body = [f"    {_field_line(f)}" for f in fields]
    body += [f"    {n}: str" for n in dict.fromkeys(new)]
    return "\n".join([f"class {cls}(Model, table={var}, entity={_q(name)}):",
                      f'    """The {_doc(name)} facet."""', "", *body, "", *keys])


def _snake(name: str) -> str:
    return re.sub(r"\W+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)).lower()


def _inferred(attribute: str, items: Sequence[Mapping[str, Any]],
              by_attr: Mapping[str, str]) -> str | None:
    """A template rebuilding every item's value from its fields (no new field)."""
    found = infer_template(attribute, items, by_attr)
    if found is not None:
        return found
    segments = segments_template(attribute, items, by_attr, None)
    return segments[0] if segments is not None else None


def _primary(alias: Any, attribute: str, items: Sequence[Mapping[str, Any]],
             by_attr: Mapping[str, str], used: set[str], new: list[str]) -> str | None:
    """A primary key template: the alias when it is one, else inferred from the items (a
    part that is no attribute becomes a new field named after the alias)."""
    if isinstance(alias, str) and "{" in alias:
        try:
            template = Template.parse(alias)
        except DeclarationError:
            return None
        new.extend(f for f in template.fields if f not in by_attr.values())
        return alias
    found = infer_template(attribute, items, by_attr)
    if found is not None:
        return found
    hint = _snake(alias) if isinstance(alias, str) and alias.strip() else _snake(attribute)
    segments = segments_template(attribute, items, by_attr, hint)
    if segments is not None:
        used.update(segments[1])
        new.extend(segments[1])
        return segments[0]
    if not items and isinstance(alias, str) and alias.strip():
        name = _identifier(hint, {*used, attribute, attribute.lower()})
        new.append(name)
        return "{" + name + "}"
    return None


def _key(name: str, index: str | None, parts: list[str | None], new: list[str]) -> str:
    where = f"index={_q(index)}, " if index else ""
    if any(p is None for p in parts):
        return (f"    # TODO: {name} = Key({where}pk=..., sk=...): no template fits the "
                "sample items")
    args = [f"pk={_q(parts[0])}"] + ([f"sk={_q(parts[1])}"] if len(parts) > 1 else [])
    fields = {f for p in parts if p for f in Template.parse(p).fields}
    line = f"    {name} = Key({where}{', '.join(args)}"
    if fields and fields <= set(new):
        return line + ", store_fields=False)"  # every part lives only in the key
    if set(new) & fields:
        added = ", ".join(sorted(set(new) & fields))
        return f"    # TODO: new attribute(s) {added}: the items held them only in the key\n" \
            + line + ")"
    return line + ")"


def _field_line(f: _Field) -> str:
    annotation = f.annotation if f.required else f"{f.annotation} | None"
    default = "" if f.required else " = None"
    if f.attribute != f.name:
        default = f" = Field(alias={_q(f.attribute)})" if f.required else \
            f" = Field(default=None, alias={_q(f.attribute)})"
    return f"{f.name}: {annotation}{default}"
