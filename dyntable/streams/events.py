"""Typed stream events: a :class:`StreamRecord` decoded into model instances.

The model is chosen by the table's entity attribute in the record's image. A record without
images (``KEYS_ONLY`` view, or the side a ``NEW_IMAGE`` / ``OLD_IMAGE`` view leaves out)
is matched by its key instead: every model of the table whose primary key templates parse
the record's ``Keys`` is a candidate.

Ambiguity rule for key matching: the candidate whose templates have the most literal text
(the most specific, e.g. ``"CUSTOMER#{username}"`` over ``"{anything}"``) wins; when two or
more tie, the event is *unknown* (``model`` is ``None``, ``candidates`` lists them) and goes
to the router's ``on_unknown`` handlers. Key fields come only from the keys: nothing is
invented for the fields the record does not carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from dyntable._internal.codec.items import codec_for, entity_of
from dyntable.errors import DecodeError
from dyntable.streams.records import MissingImageError, StreamRecord, StreamRecordError

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["EventKind", "StreamEvent", "decode_record", "models_for_keys"]

M = TypeVar("M", bound="Model")
EventKind = Literal["insert", "modify", "remove"]
_KINDS: dict[str, EventKind] = {"INSERT": "insert", "MODIFY": "modify", "REMOVE": "remove"}


@dataclass(frozen=True)
class StreamEvent(Generic[M]):
    """One stream record, typed.

    Attributes:
        record: the normalised raw record (metadata, raw images).
        model: the model class, or ``None`` for an unknown entity.
        entity: the entity name, when known.
        key_fields: field values parsed from the record's keys (only what the keys hold).
        new_or_none / old_or_none: the decoded images, ``None`` when the record lacks them.
        candidates: for an ambiguous key-only record, the models its keys fit.
        reason: why an unknown event is unknown.
    """

    record: StreamRecord
    model: type[M] | None
    entity: str | None = None
    key_fields: Mapping[str, Any] = field(default_factory=dict)
    new_or_none: M | None = None
    old_or_none: M | None = None
    candidates: tuple[type[Model], ...] = ()
    reason: str | None = None

    @property
    def kind(self) -> EventKind:
        """``insert``, ``modify`` or ``remove``."""
        return _KINDS[self.record.event_name]

    @property
    def expired(self) -> bool:
        """True when DynamoDB's TTL process deleted the item."""
        return self.record.is_ttl_expiry

    @property
    def sequence_number(self) -> str:
        """The record's sequence number."""
        return self.record.sequence_number

    @property
    def new(self) -> M:
        """The item after the change; MissingImageError when the record has no new image."""
        if self.new_or_none is None:
            raise self._missing("NewImage")
        return self.new_or_none

    @property
    def old(self) -> M:
        """The item before the change; MissingImageError when the record has no old image."""
        if self.old_or_none is None:
            raise self._missing("OldImage")
        return self.old_or_none

    def _missing(self, which: str) -> MissingImageError:
        view = self.record.view_type or "unknown view type"
        why = "the entity is unknown" if self.model is None else f"the stream is {view}"
        return MissingImageError(
            f"stream record {self.sequence_number} ({self.record.event_name}) has no "
            f"decoded {which}: {why}",
            event_id=self.record.event_id,
            sequence_number=self.sequence_number,
            model=self.model.__name__ if self.model else None,
        )

    @property
    def changed_fields(self) -> frozenset[str]:
        """Fields whose value differs between old and new images (needs both images).

        For an unknown entity, the raw attribute names that differ.
        """
        rec = self.record
        if rec.old_image is None or rec.new_image is None:
            raise self._missing("OldImage" if rec.old_image is None else "NewImage")
        if self.old_or_none is None or self.new_or_none is None:
            names = set(rec.old_image) | set(rec.new_image)
            return frozenset(n for n in names if rec.old_image.get(n) != rec.new_image.get(n))
        old, new = self.old_or_none.__dict__, self.new_or_none.__dict__
        return frozenset(n for n in type(self.new_or_none).model_fields
                         if old.get(n) != new.get(n))

    def changed(self, *names: str) -> bool:
        """True when any of the named fields changed (``event.changed("status")``)."""
        return bool(self.changed_fields.intersection(names))


def _specificity(model: type[Model], keys: Mapping[str, Any]) -> int | None:
    """Literal characters matched when ``model``'s primary templates parse ``keys``."""
    spec = model.__dyntable__.primary
    if set(spec.attrs) != set(keys):
        return None
    table = model.__dyntable__.table
    seen: dict[str, str] = {}
    score = 0
    for attr, template in zip(spec.attrs, (*spec.pk_templates, *spec.sk_templates),
                              strict=True):
        av = keys[attr]
        if table.attribute_type(attr) != "S":
            if table.attribute_type(attr) not in av:
                return None
            continue
        text = av.get("S")
        parsed = template.parse_value(text) if isinstance(text, str) else None
        if parsed is None:
            return None
        for name, value in parsed.items():
            if seen.setdefault(name, value) != value:
                return None
        score += sum(len(lit) for lit in template.literals)
    return score


def models_for_keys(table: TableSchema, keys: Mapping[str, Any]) -> list[tuple[type[Model], int]]:
    """Models whose primary key templates parse ``keys``, most specific first."""
    found = []
    for model in table.models.values():
        score = _specificity(model, keys)
        if score is None:
            continue
        fields = codec_for(model).field_values_from_key(keys)
        if all(f in fields for f in model.__dyntable__.primary.fields):
            found.append((model, score))
    return sorted(found, key=lambda pair: -pair[1])


def _decode_error(record: StreamRecord, exc: DecodeError) -> StreamRecordError:
    return StreamRecordError(
        f"stream record {record.sequence_number} ({record.event_name}, eventID "
        f"{record.event_id}): {exc}",
        event_id=record.event_id,
        sequence_number=record.sequence_number,
        model=exc.model,
        key=exc.key,
    )


def _by_keys(table: TableSchema, record: StreamRecord) -> StreamEvent[Any]:
    matches = models_for_keys(table, record.keys)
    if not matches:
        return StreamEvent(record, None, reason="no model's key templates fit the keys")
    best = [m for m, score in matches if score == matches[0][1]]
    if len(best) > 1:
        names = ", ".join(m.__name__ for m in best)
        return StreamEvent(record, None, candidates=tuple(best),
                           reason=f"the keys fit several models equally well: {names}")
    model = best[0]
    return StreamEvent(record, model, model.__dyntable__.entity,
                       codec_for(model).field_values_from_key(record.keys))


def decode_record(table: TableSchema, record: StreamRecord) -> StreamEvent[Any]:
    """Decode ``record``'s images with the model its entity attribute names.

    Raises:
        StreamRecordError: an image does not fit the model (this record only).
    """
    new, old = record.new_image, record.old_image
    if new is None and old is None:
        return _by_keys(table, record)
    attr = table.entity_attribute
    entities = {entity_of(i, attr) for i in (new, old) if i is not None}
    if len(entities) > 1:
        return StreamEvent(record, None, reason=f"the entity changed: {sorted(map(str, entities))}")
    entity = entities.pop()
    model = table.model_for(entity) if entity else None
    if model is None:
        why = f"entity {entity!r} is not registered" if entity else f"no {attr!r} attribute"
        return StreamEvent(record, None, entity, reason=why)
    codec = codec_for(model)
    try:
        decoded_new = codec.decode(new) if new is not None else None
        decoded_old = codec.decode(old) if old is not None else None
    except DecodeError as exc:
        raise _decode_error(record, exc) from None
    return StreamEvent(record, model, entity, codec.field_values_from_key(record.keys),
                       decoded_new, decoded_old)
