"""Which model an item belongs to: one answer for reads, collections, PartiQL and streams.

An item names its entity in the table's entity attribute when it has one. An item without
it (a table declared with ``entity_attribute=None``, or an item another program wrote, such
as a PynamoDB ``save()`` that replaced the whole item) is matched by its primary key: the
models whose key templates parse the key (with every field value valid for its type and
free of the template's separators), the one whose templates match the most literal text
winning. Two models matching equally well, or none, leave the item unmatched: callers
report it, never drop it silently.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from dyntable._internal.codec.items import codec_for, entity_of

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["RESERVED_PREFIX", "Identity", "Match", "identity", "is_reserved"]

#: Partition keys of items dyntable keeps for itself (migration state, unique-value
#: guards) start with this text; they belong to no model and are never reported.
RESERVED_PREFIX = "_dyntable#"


def is_reserved(item: Mapping[str, Any], pk: str) -> bool:
    """True for an item dyntable keeps for itself (see :data:`RESERVED_PREFIX`)."""
    av = item.get(pk)
    text = av.get("S") if isinstance(av, Mapping) else None
    return isinstance(text, str) and text.startswith(RESERVED_PREFIX)


class Match(NamedTuple):
    """The model of one item, or why there is none."""

    model: type[Model] | None
    #: the entity name stored in the item, when it has one
    entity: str | None = None
    #: why no model was found ("" when one was)
    reason: str = ""
    #: models the key fits equally well (an ambiguous key)
    candidates: tuple[type[Model], ...] = ()


class Identity:
    """The entity rules of one table, resolved for its models as registered now."""

    def __init__(self, table: TableSchema) -> None:
        self.table = table
        self.attribute = table.entity_attribute
        self.models = table.models
        self.generation = table.generation
        self.pk = table.pk
        self.key_attrs: tuple[str, ...] = (table.pk, table.sk) if table.sk else (table.pk,)
        only = list(self.models.values())
        #: with no entity attribute and one model, every item is that model's
        self.single: type[Model] | None = (
            only[0] if self.attribute is None and len(only) == 1 else None
        )

    def model_of(self, item: Mapping[str, Any]) -> type[Model] | None:
        """The model of ``item`` (full item, image or keys), or ``None`` when unmatched."""
        if self.attribute is not None:
            av = item.get(self.attribute)
            if av is not None:
                name = av.get("S") if isinstance(av, Mapping) else None
                return self.models.get(name) if isinstance(name, str) else None
        if self.single is not None:
            return None if is_reserved(item, self.pk) else self.single
        best = self._by_keys(item)
        return best[0][0] if len(best) == 1 else None

    def split(self, raw: list[dict[str, Any]], model: type[Model]
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``model``'s items of ``raw``, and the items that match no model.

        Items naming another entity in the entity attribute are neither (they are not
        ``model``'s); items without it are matched by their key.
        """
        if self.single is model:
            pk = self.pk
            return [i for i in raw if not is_reserved(i, pk)], []
        codec = codec_for(model)
        attribute, mine = self.attribute, codec.entity_av
        out: list[dict[str, Any]] = []
        unmatched: list[dict[str, Any]] = []
        for item in raw:
            if attribute is not None:
                av = item.get(attribute)
                if av == mine:
                    out.append(item)
                    continue
                if av is not None:
                    continue  # another entity's item, named by its attribute
            found = self.model_of(item)
            if found is model:
                out.append(item)
            elif found is None and not is_reserved(item, self.pk):
                unmatched.append(item)
        return out, unmatched

    def match(self, item: Mapping[str, Any]) -> Match:
        """:meth:`model_of` with the reason when there is no model (for reports)."""
        if self.attribute is not None:
            stored = entity_of(item, self.attribute)
            if stored is not None:
                model = self.models.get(stored)
                if model is None:
                    return Match(None, stored, f"entity {stored!r} is not registered on "
                                 f"table {self.table.name!r}")
                return Match(model, stored)
        if is_reserved(item, self.pk):
            return Match(None, None, "an item dyntable keeps for itself (migration state or "
                         "a unique-value guard)")
        if self.single is not None:
            return Match(self.single, self.single.__dyntable__.entity)
        best = self._by_keys(item)
        if not best:
            where = "" if self.attribute is None else f"no {self.attribute!r} attribute and "
            return Match(None, None, f"{where}no model's key templates fit the key")
        if len(best) > 1:
            names = ", ".join(m.__name__ for m, _ in best)
            return Match(None, None, f"the key fits several models equally well: {names}",
                         tuple(m for m, _ in best))
        model = best[0][0]
        return Match(model, model.__dyntable__.entity)

    def ranked(self, item: Mapping[str, Any]) -> list[tuple[type[Model], int]]:
        """Every model whose primary key templates fit the item's key, with its score
        (literal characters matched), best first."""
        keys = {a: item[a] for a in self.key_attrs if a in item}
        if len(keys) != len(self.key_attrs):
            return []
        found = [(m, s) for m in self.models.values()
                 if (s := specificity(m, keys)) is not None]
        return sorted(found, key=lambda pair: -pair[1])

    def _by_keys(self, item: Mapping[str, Any]) -> list[tuple[type[Model], int]]:
        """The best-scoring models for the item's primary key (ties included)."""
        found = self.ranked(item)
        return [(m, s) for m, s in found if s == found[0][1]]


def specificity(model: type[Model], keys: Mapping[str, Any]) -> int | None:
    """Literal characters matched when ``model``'s primary templates parse ``keys``.

    ``None`` when they do not: a template does not fit, a field value holds one of the
    template's separators (dyntable never writes such a key), a field appears twice with two
    values, or a value is not valid for its field's type.
    """
    spec = model.__dyntable__.primary
    if set(spec.attrs) != set(keys):
        return None
    table = model.__dyntable__.table
    seen: dict[str, str] = {}
    score = 0
    for attr, template in zip(spec.attrs, (*spec.pk_templates, *spec.sk_templates),
                              strict=True):
        av = keys[attr]
        kind = table.attribute_type(attr)
        if kind != "S":
            if not isinstance(av, Mapping) or kind not in av:
                return None
            continue
        text = av.get("S") if isinstance(av, Mapping) else None
        parsed = template.parse_value(text) if isinstance(text, str) else None
        if parsed is None:
            return None
        separators = template.separators
        for name, value in parsed.items():
            if seen.setdefault(name, value) != value:
                return None
            if any(c in value for c in separators):
                return None
        score += sum(len(lit) for lit in template.literals)
    values = codec_for(model).field_values_from_key(keys)
    if any(f not in values for f in spec.fields):
        return None  # a value that is not valid for its field's type
    return score


_lock = threading.Lock()
_CACHE: dict[int, Identity] = {}


def identity(table: TableSchema) -> Identity:
    """The :class:`Identity` of ``table`` (rebuilt when a model is registered)."""
    held = _CACHE.get(id(table))
    if held is None or held.table is not table or held.generation != table.generation:
        with _lock:
            held = _CACHE[id(table)] = Identity(table)
    return held
