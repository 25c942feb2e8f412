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

from dyntable._internal.codec.identity import Match, identity
from dyntable._internal.codec.items import codec_for
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


def models_for_keys(table: TableSchema, keys: Mapping[str, Any]) -> list[tuple[type[Model], int]]:
    """Models whose primary key templates parse ``keys``, most specific first."""
    return identity(table).ranked(keys)


def _decode_error(record: StreamRecord, exc: DecodeError) -> StreamRecordError:
    return StreamRecordError(
        f"stream record {record.sequence_number} ({record.event_name}, eventID "
        f"{record.event_id}): {exc}",
        event_id=record.event_id,
        sequence_number=record.sequence_number,
        model=exc.model,
        key=exc.key,
    )


def _unknown(record: StreamRecord, match: Match) -> StreamEvent[Any]:
    return StreamEvent(record, None, match.entity, candidates=match.candidates,
                       reason=match.reason)


def decode_record(table: TableSchema, record: StreamRecord) -> StreamEvent[Any]:
    """Decode ``record``'s images with the model they belong to: the one their entity
    attribute names, else the one their key fits (see
    :mod:`~dyntable._internal.codec.identity`); records of no model are unknown events.

    Raises:
        StreamRecordError: an image does not fit the model (this record only).
    """
    new, old = record.new_image, record.old_image
    ident = identity(table)
    if new is None and old is None:
        match = ident.match(record.keys)
        if match.model is None:
            return _unknown(record, match)
        return StreamEvent(record, match.model, match.entity,
                           codec_for(match.model).field_values_from_key(record.keys))
    matches = [ident.match(i) for i in (new, old) if i is not None]
    if len(matches) == 2 and matches[0].model is not matches[1].model:
        names = sorted(str(m.entity or (m.model.__name__ if m.model else None))
                       for m in matches)
        return StreamEvent(record, None, reason=f"the entity changed: {names}")
    match = matches[0]
    model = match.model
    if model is None:
        return _unknown(record, match)
    codec = codec_for(model)
    try:
        decoded_new = codec.decode(new) if new is not None else None
        decoded_old = codec.decode(old) if old is not None else None
    except DecodeError as exc:
        raise _decode_error(record, exc) from None
    return StreamEvent(record, model, match.entity, codec.field_values_from_key(record.keys),
                       decoded_new, decoded_old)
