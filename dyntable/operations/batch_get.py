"""Batch gets: many items by key, typed, mixed entities, nothing silently dropped."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dyntable.codec.items import codec_for, entity_of
from dyntable.errors import BatchGetError, InvalidRequestError
from dyntable.operations.batch_base import (
    BatchClient,
    BatchStats,
    is_expired,
    key_digest,
    resend_until_done,
    table_key_attrs,
    unprocessed_entries,
)
from dyntable.operations.retry import Backoff, Flow, drive
from dyntable.schema.model import Model

__all__ = ["GET_CHUNK", "BatchGetResult", "GetKey", "batch_get", "batch_get_flow", "get_key"]

M = TypeVar("M", bound=Model)
AV = dict[str, Any]
GET_CHUNK = 100


@dataclass(frozen=True, eq=False)
class GetKey:
    """One key of a batch get: the model, the wire key and what the caller passed."""

    model: type[Model]
    key: dict[str, AV]
    original: Any
    digest: bytes = field(repr=False)


def get_key(entry: Any) -> GetKey:
    """A :class:`GetKey` from a model instance or a ``(Model, {field: value})`` pair."""
    if isinstance(entry, Model):
        wire = codec_for(type(entry)).key_of(entry)
        return GetKey(type(entry), wire, entry, key_digest(wire))
    if (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], type)
            and issubclass(entry[0], Model) and isinstance(entry[1], Mapping)):
        wire = codec_for(entry[0]).key(entry[1])
        return GetKey(entry[0], wire, entry, key_digest(wire))
    raise InvalidRequestError(
        f"a batch key is a model instance or a (Model, {{field: value}}) pair, not {entry!r}"
    )


def batch_get_flow(
    table_name: str,
    key_attrs: Sequence[str],
    keys: Sequence[GetKey],
    *,
    consistent: bool,
    deadline: float,
    backoff: Backoff,
    stats: BatchStats,
) -> Flow[tuple[dict[bytes, dict[str, Any]], list[GetKey]]]:
    """Read ``keys`` (distinct) in chunks of 100; return (items by key digest, keys unread).

    Each chunk retries its UnprocessedKeys and retryable errors until ``deadline`` seconds
    after its first request; what is still unread then is returned. A non-retryable
    error is raised.
    """
    found: dict[bytes, dict[str, Any]] = {}
    unread: list[GetKey] = []

    def request(pending: list[GetKey]) -> dict[str, Any]:
        spec: dict[str, Any] = {"Keys": [k.key for k in pending]}
        if consistent:
            spec["ConsistentRead"] = True
        return {"RequestItems": {table_name: spec}}

    for start in range(0, len(keys), GET_CHUNK):
        by_digest = {k.digest: k for k in keys[start:start + GET_CHUNK]}

        def unprocessed(
            response: dict[str, Any], by_digest: dict[bytes, GetKey] = by_digest
        ) -> list[GetKey]:
            for item in (response.get("Responses") or {}).get(table_name) or []:
                found[key_digest({a: item[a] for a in key_attrs})] = item
            raw = (response.get("UnprocessedKeys") or {}).get(table_name) or {}
            return unprocessed_entries(raw.get("Keys") or [], key_attrs, by_digest,
                                       "BatchGetItem")

        left, error = yield from resend_until_done(
            "BatchGetItem", list(by_digest.values()), request, unprocessed,
            deadline=deadline, backoff=backoff, stats=stats,
        )
        if error is not None:
            raise error
        unread.extend(left)
    return found, unread


@dataclass
class BatchGetResult:
    """The result of a batch get.

    Attributes:
        items: the items found, typed, in the order their keys were first requested.
        missing: the keys (as passed) with no item (also: expired items when the client
            hides them); duplicates requested once.
        stats: request and retry counters.
    """

    items: list[Model]
    missing: list[Any]
    stats: BatchStats

    def of(self, model: type[M]) -> list[M]:
        """The items of one model, in request order."""
        return [i for i in self.items if isinstance(i, model)]

    def __iter__(self) -> Iterator[Model]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def batch_get(
    client: BatchClient,
    keys: Iterable[Any],
    *,
    consistent: bool = False,
    deadline: float = 60.0,
    backoff: Backoff | None = None,
) -> BatchGetResult:
    """Read many items by key (BatchGetItem, 100 keys per call), typed, mixed entities.

    ``keys`` are model instances or ``(Model, {field: value})`` pairs; duplicate keys are
    read once. Raises :class:`~dyntable.errors.BatchGetError` listing the keys (as passed)
    still unread when a chunk's ``deadline`` passes.
    """
    distinct: dict[bytes, GetKey] = {}
    for entry in keys:
        k = get_key(entry)
        distinct.setdefault(k.digest, k)
    ordered = list(distinct.values())
    stats = BatchStats()
    key_attrs = table_key_attrs(client.table)
    flow = batch_get_flow(client.table_name, key_attrs, ordered, consistent=consistent,
                          deadline=deadline, backoff=backoff or Backoff(), stats=stats)
    found, unread = drive(client.send, flow)
    if unread:
        raise BatchGetError(
            f"batch get from {client.table_name}: {len(unread)} key(s) still unread after "
            f"retrying for {deadline}s: {[k.key for k in unread[:3]]}",
            unprocessed=[k.original for k in unread],
            table=client.table_name,
        )
    items: list[Model] = []
    missing: list[Any] = []
    entity_attr = client.table.entity_attribute
    for k in ordered:
        raw = found.get(k.digest)
        codec = codec_for(k.model)
        if raw is None or entity_of(raw, entity_attr) != codec.entity:
            missing.append(k.original)
            continue
        obj = codec.decode(raw)
        if is_expired(client, obj):
            missing.append(k.original)
        else:
            items.append(obj)
    return BatchGetResult(items, missing, stats)
