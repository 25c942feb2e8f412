"""Batch gets: many items by key, typed, mixed entities, nothing silently dropped."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable._internal.codec.items import codec_for
from dyntable._internal.operations.batch_base import (
    BatchStats,
    check_deadline,
    key_digest,
    resend_until_done,
    table_key_attrs,
    unprocessed_entries,
)
from dyntable._internal.operations.flow import Flow
from dyntable._internal.operations.retry import Backoff
from dyntable._internal.operations.targets import resolve
from dyntable.errors import BatchGetError, InvalidRequestError
from dyntable.ttl import item_expired

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["GET_CHUNK", "BatchGetResult", "GetKey", "batch_get", "batch_get_flow", "get_key"]

M = TypeVar("M", bound="Model")
AV = dict[str, Any]
GET_CHUNK = 100


@dataclass(frozen=True, eq=False)
class GetKey:
    """One key of a batch get: the model, the wire key and what the caller passed."""

    model: type[Model]
    key: dict[str, AV]
    original: Any
    digest: bytes = field(repr=False)


def get_key(entry: Any, table: TableSchema) -> GetKey:
    """A :class:`GetKey` from a model instance or a key (``Customer.primary(username=...)``).

    Raises:
        InvalidRequestError: anything else, or a model of another table.
    """
    if isinstance(entry, tuple):
        raise InvalidRequestError(
            f"a batch key is a model instance or a key such as "
            f"Customer.primary(username='ada'), not a (Model, {{fields}}) pair: {entry!r}"
        )
    item = resolve(entry, {}, table, what="a batch key")
    return GetKey(item.model, item.key, entry, key_digest(item.key))


def batch_get_flow(
    table_name: str,
    key_attrs: Sequence[str],
    keys: Sequence[GetKey],
    *,
    consistent: bool,
    deadline: float,
    backoff: Backoff,
    stats: BatchStats,
) -> Flow[dict[bytes, dict[str, Any]]]:
    """Read ``keys`` (distinct) in chunks of 100; return the items found by key digest.

    Each chunk retries its UnprocessedKeys and retryable errors until ``deadline`` seconds
    after its first request. The first chunk that runs out of time ends the read: no
    later chunk is sent.

    Raises:
        BatchGetError: keys still unread when a chunk ran out of time (that chunk's and
            every later chunk's), with the last retryable error as ``__cause__``.
        Exception: any other error, as raised (not retryable, not dyntable's, or a
            malformed answer).
    """
    found: dict[bytes, dict[str, Any]] = {}

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

        end = yield from resend_until_done(
            "BatchGetItem", list(by_digest.values()), request, unprocessed,
            deadline=deadline, backoff=backoff, stats=stats,
        )
        if end.error is not None and not end.expired:
            raise end.error
        if end.left:
            unread = [*end.left, *keys[start + GET_CHUNK:]]
            last = f", last error {type(end.error).__name__}: {end.error}" if end.error else ""
            raise BatchGetError(
                f"batch get from {table_name}: {len(unread)} key(s) not read: a chunk was "
                f"still unread after retrying for {deadline}s{last}; nothing more was sent. "
                f"Retry later or raise deadline=: {[k.key for k in unread[:3]]}",
                unprocessed=[k.original for k in unread],
                table=table_name,
            ) from end.error
    return found


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
    table: TableSchema,
    table_name: str,
    keys: Iterable[Any],
    *,
    consistent: bool = False,
    deadline: float = 60.0,
    backoff: Backoff | None = None,
    hide_expired: bool = False,
) -> Flow[BatchGetResult]:
    """Read many items by key (BatchGetItem, 100 keys per call), typed, mixed entities.

    ``keys`` are model instances or keys (``Customer.primary(username="ada")``); duplicate
    keys are read once. Each chunk of 100 keys retries for at most ``deadline`` seconds
    from its first request; the first chunk that runs out of time ends the read.

    Raises:
        BatchGetError: listing every key (as passed) not read when a chunk ran out of
            time; ``__cause__`` is the last retryable error, if any.
        Exception: any other failure while reading, as raised: a non-retryable
            DynamoDB error, an exception from a transport hook, a malformed answer.
    """
    check_deadline(deadline)
    distinct: dict[bytes, GetKey] = {}
    for entry in keys:
        k = get_key(entry, table)
        distinct.setdefault(k.digest, k)
    ordered = list(distinct.values())
    stats = BatchStats()
    found = yield from batch_get_flow(table_name, table_key_attrs(table), ordered,
                                      consistent=consistent, deadline=deadline,
                                      backoff=backoff or Backoff(), stats=stats)
    items: list[Model] = []
    missing: list[Any] = []
    for k in ordered:
        raw = found.get(k.digest)
        codec = codec_for(k.model)
        if raw is None or not codec.owns(raw):
            missing.append(k.original)
            continue
        obj = codec.decode(raw)
        if hide_expired and item_expired(obj):
            missing.append(k.original)
        else:
            items.append(obj)
    return BatchGetResult(items, missing, stats)
