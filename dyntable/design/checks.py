"""What a reviewer of a single-table design wants pointed out, found from the declarations.

- ``hot-partition``: a partition key template with no field (every item of the entity in
  one partition), or whose fields take only a few values (``Literal``, ``Enum``, ``bool``).
- ``overloaded-index``: a GSI keyed by several entities (and whether their partition
  templates could produce the same value).
- ``sparse-index``: an index that only some entities, or only items with an optional field
  set, appear in.
- ``unprojected``: fields an index does not project (reads through it return partial
  items), and fields projected into none of the indexes their entity is keyed on.
- ``lsi-item-collection``: tables with an LSI cap each partition key value's items at 10 GB.
- ``text-sorted-number``: a number inside a string sort key without a zero-padded format
  (``TOTAL#120`` sorts before ``TOTAL#19.9``).
"""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from dyntable._internal.codec.fields import field_kind

if TYPE_CHECKING:
    from dyntable._internal.schema.spec import KeySpec, ModelSpec
    from dyntable.schema.model import Model
    from dyntable.schema.table import GSI, LSI, TableSchema

__all__ = ["Finding", "find_issues"]

Kind = Literal["hot-partition", "overloaded-index", "sparse-index", "unprojected",
               "lsi-item-collection", "text-sorted-number"]
_FEW_VALUES = 10


@dataclass(frozen=True)
class Finding:
    """One warning about the design."""

    kind: Kind
    #: ``"warning"`` for a likely problem, ``"note"`` for something to keep in mind
    severity: Literal["warning", "note"]
    message: str
    index: str | None = None
    entity: str | None = None


def find_issues(table: TableSchema) -> list[Finding]:
    """Every finding for ``table`` and the models registered on it, in a stable order."""
    specs = [m.__dyntable__ for m in table.models.values()]
    out: list[Finding] = []
    for spec in specs:
        out.extend(_hot_partitions(spec))
        out.extend(_text_sorted_numbers(spec))
    for gsi in table.gsis:
        out.extend(_overloaded(gsi, specs))
    for index in table.indexes:
        out.extend(_sparse(index, specs))
        out.extend(_unprojected_by(table, index, specs))
    out.extend(_projected_nowhere(table, specs))
    out.extend(_lsi_collections(table, specs))
    return out


def _where(key: KeySpec) -> str:
    return f"index {key.index}" if key.index else "the table"


def _few_values(model: type[Model], field: str) -> int | None:
    """How many values ``field`` can take when that is a small fixed number."""
    kind = field_kind(model.__dyntable__.fields[field].annotation)
    if kind.origin is typing.Literal:
        return len(kind.args)
    base = kind.base
    if isinstance(base, type) and issubclass(base, bool):
        return 2
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return len(base)
    return None


def _hot_partitions(spec: ModelSpec) -> list[Finding]:
    out: list[Finding] = []
    for name, key in spec.keys.items():
        if key.is_local:
            continue
        label = f"{spec.model.__name__}.{name}"
        templates = ", ".join(repr(t.source) for t in key.pk_templates)
        if not key.pk_fields:
            out.append(Finding(
                "hot-partition", "warning",
                f"{label}: the partition key {templates} on {_where(key)} has no field, so "
                f"every {spec.entity} item shares one partition (about 1,000 writes and "
                "3,000 reads per second at most); add a field or write-shard it",
                key.index, spec.entity))
            continue
        counts = [_few_values(spec.model, f) for f in key.pk_fields]
        if all(c is not None for c in counts):
            total = 1
            for c in counts:
                total *= c or 1
            if total <= _FEW_VALUES:
                out.append(Finding(
                    "hot-partition", "warning",
                    f"{label}: the partition key {templates} on {_where(key)} takes at most "
                    f"{total} values ({', '.join(key.pk_fields)}), so {spec.entity} items "
                    f"crowd into {total} partition(s)",
                    key.index, spec.entity))
    return out


def _keys_on(index: str, specs: list[ModelSpec]) -> list[tuple[ModelSpec, KeySpec]]:
    return [(s, s.indexes[index]) for s in specs if index in s.indexes]


def _overloaded(gsi: GSI, specs: list[ModelSpec]) -> list[Finding]:
    keyed = _keys_on(gsi.name, specs)
    if len(keyed) < 2:
        return []
    parts = ", ".join(f"{s.entity} ({' | '.join(t.source for t in k.pk_templates)})"
                      for s, k in keyed)
    out = [Finding(
        "overloaded-index", "note",
        f"{gsi.name} is overloaded by {len(keyed)} entities: {parts}; each query on it "
        "reads one entity's partitions (dyntable keeps only that entity's items)",
        gsi.name)]
    seen: dict[tuple[str, ...], str] = {}
    for spec, key in keyed:
        if key.native:  # entities sharing a native key's partitions is the intent
            continue
        shape = tuple(t.literals[0] for t in key.pk_templates)
        other = seen.setdefault(shape, spec.entity)
        if other != spec.entity and key.pk_fields:
            out.append(Finding(
                "overloaded-index", "warning",
                f"{gsi.name}: the partition templates of {other} and {spec.entity} start "
                f"with the same text {shape!r}, so their partitions can hold each other's "
                "items; give each entity its own prefix",
                gsi.name, spec.entity))
    return out


def _sparse(index: GSI | LSI, specs: list[ModelSpec]) -> list[Finding]:
    keyed = _keys_on(index.name, specs)
    absent = [s.entity for s in specs if index.name not in s.indexes]
    optional = []
    for spec, key in keyed:
        fields = [f for f in key.fields if not spec.fields[f].required]
        if fields:
            optional.append(f"{spec.entity} items with {', '.join(fields)} set")
    if not keyed or not (absent or optional):
        return []
    holds = ", ".join(optional + [s.entity for s, k in keyed
                                  if not any(not s.fields[f].required for f in k.fields)])
    never = f"; never {', '.join(absent)}" if absent else ""
    return [Finding("sparse-index", "note",
                    f"{index.name} is sparse: it holds only {holds}{never}", index.name)]


def _derivable(spec: ModelSpec, key_attrs: set[str]) -> set[str]:
    """Fields that can be read back from the given key attributes' templates."""
    out: set[str] = set()
    for key in spec.keys.values():
        for attr, template in zip(key.attrs, (*key.pk_templates, *key.sk_templates),
                                  strict=False):
            if attr in key_attrs:
                out.update(template.fields)
    return out


def _projected_fields(table: TableSchema, index: GSI | LSI, spec: ModelSpec) -> set[str]:
    """The fields of ``spec`` a read through ``index`` returns (keys read back included)."""
    if index.projection_type == "ALL":
        return set(spec.fields)
    pk, sk = table.index_key_attrs(index.name)
    keys = {table.pk, *([table.sk] if table.sk else []), *pk, *sk}
    projected = set(index.include) | keys
    return {f for f, fs in spec.fields.items() if fs.attribute in projected} | \
        _derivable(spec, keys)


def _unprojected_by(table: TableSchema, index: GSI | LSI,
                    specs: list[ModelSpec]) -> list[Finding]:
    if index.projection_type == "ALL":
        return []
    out = []
    what = "KEYS_ONLY" if index.projection_type == "KEYS_ONLY" else \
        f"INCLUDE {', '.join(index.include)}"
    for spec, _ in _keys_on(index.name, specs):
        missing = [f for f in spec.fields if f not in _projected_fields(table, index, spec)]
        if missing:
            out.append(Finding(
                "unprojected", "note",
                f"{index.name} projects {what}: {spec.entity} fields {', '.join(missing)} are "
                "not in it, so reads through it return partial items",
                index.name, spec.entity))
    return out


def _projected_nowhere(table: TableSchema, specs: list[ModelSpec]) -> list[Finding]:
    out = []
    for spec in specs:
        indexes = [table.index(name) for name in spec.indexes]
        if not indexes:
            continue
        covered: set[str] = set()
        for index in indexes:
            covered |= _projected_fields(table, index, spec)
        missing = [f for f in spec.fields if f not in covered]
        if missing:
            names = ", ".join(i.name for i in indexes)
            out.append(Finding(
                "unprojected", "note",
                f"{spec.entity} fields {', '.join(missing)} are projected into none of its "
                f"indexes ({names}): only reads of the table return them",
                None, spec.entity))
    return out


def _lsi_collections(table: TableSchema, specs: list[ModelSpec]) -> list[Finding]:
    out = []
    for lsi in table.lsis:
        partitions: dict[str, list[str]] = {}
        for spec in specs:
            source = " | ".join(t.source for t in spec.primary.pk_templates)
            partitions.setdefault(source, []).append(spec.entity)
        shared = "; ".join(f"{p}: {', '.join(e)}" for p, e in partitions.items())
        out.append(Finding(
            "lsi-item-collection", "note",
            f"{lsi.name} is a local index: the items of one partition key value (table and "
            f"LSI together) may not exceed 10 GB. Partitions by template: {shared}",
            lsi.name))
    return out


def _is_number(model: type[Model], field: str) -> bool:
    base = field_kind(model.__dyntable__.fields[field].annotation).base
    return isinstance(base, type) and issubclass(base, (int, float, Decimal)) and \
        not issubclass(base, (bool, enum.Enum))


def _text_sorted_numbers(spec: ModelSpec) -> list[Finding]:
    out = []
    table = spec.table
    for name, key in spec.keys.items():
        if key.native:
            continue
        for attr, template in zip(key.sk_attrs, key.sk_templates, strict=False):
            if table.attribute_type(attr) != "S":
                continue
            loose = [f for f, fmt in zip(template.fields, template.specs, strict=True)
                     if _is_number(spec.model, f) and not fmt.startswith("0")]
            if loose:
                out.append(Finding(
                    "text-sorted-number", "warning",
                    f"{spec.model.__name__}.{name}: the sort key {template.source!r} in {attr} "
                    f"is text, so {', '.join(loose)} sort{'' if len(loose) > 1 else 's'} "
                    "as text (10 before 9); zero-pad with a format "
                    "such as {line:04d}, or key on a number attribute",
                    key.index, spec.entity))
    return out
