"""Batch writes and batch gets that lose nothing: chunking, retries, exact failure reports.

Guarantees:
    * Every item handed to a :class:`BatchWriter` is either written or listed in the
      :class:`~dyntable.errors.BatchWriteError` raised when the writer closes.
    * ``UnprocessedItems`` / ``UnprocessedKeys`` and retryable errors (throttling, 5xx,
      connection errors, after the transport's own retries) are retried with exponential
      backoff and full jitter until done or until a chunk's ``deadline`` passes.
    * A key is written at most once per writer: a second put/delete of the same key is
      refused with :class:`~dyntable.errors.InvalidRequestError` (DynamoDB rejects
      duplicates in one request, and retries would make "last write wins" untrue across
      chunks).

The retry logic is written as I/O-free flows (see :mod:`dyntable.operations.retry`).
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from dyntable.codec.items import codec_for, entity_of
from dyntable.codec.values import b_value
from dyntable.errors import (
    BatchGetError,
    BatchWriteError,
    DecodeError,
    DyntableError,
    InvalidRequestError,
)
from dyntable.operations.retry import Backoff, Deadline, Flow, Send, drive
from dyntable.schema.model import Model

if TYPE_CHECKING:
    from dyntable.schema.table import Table

__all__ = [
    "BatchGetResult",
    "BatchStats",
    "BatchWriter",
    "GetKey",
    "WriteAction",
    "batch_get",
    "batch_get_flow",
    "key_digest",
    "write_flow",
]

M = TypeVar("M", bound=Model)
AV = dict[str, Any]
WRITE_CHUNK = 25
GET_CHUNK = 100


class BatchClient(Protocol):
    """What batches need from the client."""

    table: Table
    table_name: str
    hide_expired: bool

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request."""
        ...


def key_digest(key: Mapping[str, Any]) -> bytes:
    """A canonical 16-byte digest of a wire-form key (numbers normalised, binary decoded)."""
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(key):
        ((tag, value),) = key[name].items()
        if tag == "B":
            raw = b_value(value)
        elif tag == "N":
            raw = str(Decimal(value).normalize()).encode()
        else:
            raw = str(value).encode()
        for part in (name.encode(), tag.encode(), raw):
            h.update(len(part).to_bytes(4, "big"))
            h.update(part)
    return h.digest()


def _key_attrs(table: Table) -> tuple[str, ...]:
    return (table.pk, table.sk) if table.sk else (table.pk,)


@dataclass
class BatchStats:
    """Counters of a batch (thread-safe): what was sent, retried and done.

    Attributes:
        requests: BatchWriteItem / BatchGetItem calls sent.
        items: items written (writer) or keys read (get), found or not.
        unprocessed_retries: requests re-sent because of UnprocessedItems / UnprocessedKeys.
        unprocessed_items: items or keys DynamoDB returned unprocessed (summed over calls).
        error_retries: requests re-sent after a retryable error (throttling, 5xx,
            connection), counted after the transport's own retries gave up.
    """

    requests: int = 0
    items: int = 0
    unprocessed_retries: int = 0
    unprocessed_items: int = 0
    error_retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        """Add to the named counters."""
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        """The counters as a dict."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_lock"}


# -- writes ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class WriteAction:
    """One put or delete handed to a writer.

    Attributes:
        kind: ``"put"`` or ``"delete"``.
        model: the model class.
        target: the object (put, delete of an instance) or the key fields (delete by key).
        key: the primary key (wire form).
        request: the ``PutRequest`` / ``DeleteRequest`` entry sent.
        new_version: the version written (set on the object once written).
    """

    kind: Literal["put", "delete"]
    model: type[Model]
    target: Any
    key: dict[str, AV]
    request: dict[str, Any]
    digest: bytes = field(repr=False)
    new_version: int | None = None

    def __repr__(self) -> str:
        return f"<{self.kind} {self.model.__name__} key={self.key}>"


@dataclass
class ChunkResult:
    """What a chunk flow ends with: the actions not written and the error that stopped it."""

    unwritten: list[WriteAction]
    error: DyntableError | None = None


def _unprocessed(
    requests: Iterable[Mapping[str, Any]],
    key_attrs: Sequence[str],
    by_digest: Mapping[bytes, Any],
    what: str,
) -> list[Any]:
    """Map the unprocessed entries of a response back to what was requested."""
    out = []
    for req in requests:
        if "PutRequest" in req:
            item = req["PutRequest"]["Item"]
            key = {a: item[a] for a in key_attrs if a in item}
        elif "DeleteRequest" in req:
            key = req["DeleteRequest"]["Key"]
        else:
            key = dict(req)
        found = by_digest.get(key_digest(key))
        if found is None:
            raise DecodeError(f"{what} returned an unprocessed entry that was not sent: {key}")
        out.append(found)
    return out


def write_flow(
    table_name: str,
    key_attrs: Sequence[str],
    actions: Sequence[WriteAction],
    *,
    deadline: float,
    backoff: Backoff,
    stats: BatchStats,
) -> Flow[ChunkResult]:
    """Write one chunk (at most 25 actions), retrying what is unprocessed until ``deadline``.

    Retryable errors re-send the whole remaining chunk (puts and deletes are idempotent);
    a non-retryable error ends the flow with the remaining actions unwritten.
    """
    if len(actions) > WRITE_CHUNK:
        raise InvalidRequestError(f"a BatchWriteItem takes at most {WRITE_CHUNK} items")
    by_digest = {a.digest: a for a in actions}
    pending = list(actions)
    clock = Deadline(deadline)
    attempt = 0
    while pending:
        stats.add(requests=1)
        params = {"RequestItems": {table_name: [a.request for a in pending]}}
        try:
            response = yield Send("BatchWriteItem", params)
        except DyntableError as exc:
            if not exc.retryable:
                return ChunkResult(pending, exc)
            left, counter = pending, "error_retries"
        else:
            raw = (response.get("UnprocessedItems") or {}).get(table_name) or []
            left = _unprocessed(raw, key_attrs, by_digest, "BatchWriteItem")
            counter = "unprocessed_retries"
            stats.add(items=len(pending) - len(left), unprocessed_items=len(left))
        if not left:
            break
        if clock.expired:
            return ChunkResult(left)
        stats.add(**{counter: 1})
        yield clock.wait(backoff.delay(attempt))
        attempt += 1
        pending = left
    return ChunkResult([])


class _Workers:
    """Threads sending chunks from a bounded queue (memory stays bounded)."""

    def __init__(self, count: int, max_chunks: int, work: Any) -> None:
        self.queue: queue.Queue[list[WriteAction] | None] = queue.Queue(max_chunks)
        self.work = work
        self.threads = [
            threading.Thread(target=self._run, name=f"dyntable-batch-{i}", daemon=True)
            for i in range(count)
        ]
        for t in self.threads:
            t.start()

    def _run(self) -> None:
        while True:
            chunk = self.queue.get()
            try:
                if chunk is None:
                    return
                self.work(chunk)
            finally:
                self.queue.task_done()

    def stop(self) -> None:
        self.queue.join()
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join()


class BatchWriter:
    """Puts and deletes sent as BatchWriteItem chunks of 25, several entities mixed.

    Use as a context manager (``with db.batch_writer() as bw: bw.put(obj)``). Items are sent
    as chunks fill up; leaving the block sends the rest and waits for every chunk.

    Args:
        client: the client to send through.
        deadline: seconds each chunk may spend retrying unprocessed items.
        concurrency: threads sending chunks (1: chunks are sent by the calling thread).
        max_pending: items that may wait in memory for a sending thread; ``put`` blocks
            beyond that.
        backoff: the retry backoff (exponential, full jitter).

    Semantics:
        * Exceptions: ``put`` / ``delete`` raise only for invalid input (checked locally:
          encoding, item size, duplicate key) or, once a chunk has failed for good, a
          :class:`~dyntable.errors.BatchWriteError` (the writer stops sending). Otherwise
          write failures are raised by ``close()`` / leaving the ``with`` block, as one
          BatchWriteError whose ``unprocessed`` lists every :class:`WriteAction` not
          written.
        * An exception inside the ``with`` block does not discard anything: the items
          already handed over are still written (then the exception propagates), so the
          table holds exactly the items given before the error.
        * Objects with a version field are written unconditionally (BatchWriteItem has no
          conditions) with their version bumped; the object's version is updated once
          written.
    """

    def __init__(
        self,
        client: BatchClient,
        *,
        deadline: float = 60.0,
        concurrency: int = 1,
        max_pending: int = 1000,
        backoff: Backoff | None = None,
    ) -> None:
        if concurrency < 1:
            raise InvalidRequestError("concurrency must be at least 1")
        if max_pending < 1:
            raise InvalidRequestError("max_pending must be at least 1")
        self._client = client
        self._key_attrs = _key_attrs(client.table)
        self.deadline = deadline
        self.concurrency = concurrency
        self.backoff = backoff or Backoff()
        self.stats = BatchStats()
        self._max_chunks = max(1, -(-max_pending // WRITE_CHUNK))
        self._chunk: list[WriteAction] = []
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()
        self._unwritten: list[WriteAction] = []
        self._errors: list[DyntableError] = []
        self._workers: _Workers | None = None
        self._closed = False

    # -- accepting items -------------------------------------------------------------------

    def put(self, obj: Model) -> None:
        """Queue a put of ``obj`` (replaces the stored item with that key)."""
        if not isinstance(obj, Model):
            raise InvalidRequestError(f"put() takes a model instance, not {type(obj).__name__}")
        codec = codec_for(type(obj))
        item = codec.encode(obj)
        vname = codec.spec.version_field
        new_version = None
        if vname is not None:
            new_version = int(getattr(obj, vname) or 0) + 1
            item[vname] = {"N": str(new_version)}
        key = {a: item[a] for a in codec.spec.primary.attrs}
        self._accept(WriteAction("put", type(obj), obj, key, {"PutRequest": {"Item": item}},
                                 key_digest(key), new_version))

    def delete(self, target: Model | type[Model], **key: Any) -> None:
        """Queue a delete by instance or by model and key fields (no version check)."""
        if isinstance(target, type):
            codec = codec_for(target)
            wire = codec.key(key)
            model: type[Model] = target
            what: Any = dict(key)
        else:
            if key:
                raise InvalidRequestError("delete(instance) takes no key fields")
            model = type(target)
            wire = codec_for(model).key_of(target)
            what = target
        self._accept(WriteAction("delete", model, what, wire, {"DeleteRequest": {"Key": wire}},
                                 key_digest(wire)))

    def _accept(self, action: WriteAction) -> None:
        if self._closed:
            raise InvalidRequestError("this batch writer is closed")
        if self._errors:
            self._chunk.append(action)
            self._finish()
            return
        if action.digest in self._seen:
            raise InvalidRequestError(
                f"{action.model.__name__} key {action.key} is already in this batch writer; "
                "a writer writes each key once (combine the changes into one put)"
            )
        self._seen.add(action.digest)
        self._chunk.append(action)
        if len(self._chunk) >= WRITE_CHUNK:
            self._submit()
            if self._errors:
                self._finish()

    # -- sending -----------------------------------------------------------------------

    def _submit(self) -> None:
        chunk, self._chunk = self._chunk, []
        if not chunk:
            return
        if self.concurrency == 1:
            self._write(chunk)
            return
        if self._workers is None:
            self._workers = _Workers(self.concurrency, self._max_chunks, self._write)
        self._workers.queue.put(chunk)

    def _write(self, chunk: list[WriteAction]) -> None:
        """Send one chunk to the end; never raises (failures are recorded)."""
        if self._errors:
            result = ChunkResult(chunk)
        else:
            flow = write_flow(self._client.table_name, self._key_attrs, chunk,
                              deadline=self.deadline, backoff=self.backoff, stats=self.stats)
            try:
                result = drive(self._client.send, flow)
            except DyntableError as exc:
                result = ChunkResult(chunk, exc)
        failed = {id(a) for a in result.unwritten}
        for a in chunk:
            if a.new_version is not None and id(a) not in failed:
                vname = a.model.__dyntable__.version_field
                a.target.__dict__[vname] = a.new_version
        with self._lock:
            self._unwritten.extend(result.unwritten)
            if result.error is not None:
                self._errors.append(result.error)

    def flush(self) -> None:
        """Send the partly filled chunk and wait until every queued chunk is done."""
        self._submit()
        if self._workers is not None:
            self._workers.queue.join()

    def close(self) -> None:
        """Flush and stop; raise BatchWriteError when some items were not written."""
        if self._closed:
            return
        self._finish()

    def _finish(self) -> None:
        self._closed = True
        try:
            self._submit()
        finally:
            if self._workers is not None:
                self._workers.stop()
                self._workers = None
        if self._unwritten:
            raise self.error()

    def error(self) -> BatchWriteError:
        """The BatchWriteError describing the items not written so far."""
        with self._lock:
            unwritten = list(self._unwritten)
            cause = self._errors[0] if self._errors else None
        why = f"stopped by {type(cause).__name__}: {cause}" if cause else (
            f"still unprocessed after retrying for {self.deadline}s")
        sample = ", ".join(repr(a) for a in unwritten[:3])
        more = f" and {len(unwritten) - 3} more" if len(unwritten) > 3 else ""
        err = BatchWriteError(
            f"batch write to {self._client.table_name}: {len(unwritten)} item(s) not written "
            f"({why}): {sample}{more}",
            unprocessed=unwritten,
            table=self._client.table_name,
        )
        err.__cause__ = cause
        return err

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- gets --------------------------------------------------------------------------------


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
    after its first request; what is still unread then is returned.
    """
    found: dict[bytes, dict[str, Any]] = {}
    unread: list[GetKey] = []
    for start in range(0, len(keys), GET_CHUNK):
        chunk = keys[start:start + GET_CHUNK]
        by_digest = {k.digest: k for k in chunk}
        pending = list(chunk)
        clock = Deadline(deadline)
        attempt = 0
        while pending:
            stats.add(requests=1)
            spec: dict[str, Any] = {"Keys": [k.key for k in pending]}
            if consistent:
                spec["ConsistentRead"] = True
            try:
                response = yield Send("BatchGetItem", {"RequestItems": {table_name: spec}})
            except DyntableError as exc:
                if not exc.retryable:
                    raise
                left, counter = pending, "error_retries"
            else:
                for item in (response.get("Responses") or {}).get(table_name) or []:
                    found[key_digest({a: item[a] for a in key_attrs})] = item
                raw = ((response.get("UnprocessedKeys") or {}).get(table_name) or {})
                left = _unprocessed(raw.get("Keys") or [], key_attrs, by_digest, "BatchGetItem")
                counter = "unprocessed_retries"
                stats.add(items=len(pending) - len(left), unprocessed_items=len(left))
            if not left:
                break
            if clock.expired:
                unread.extend(left)
                break
            stats.add(**{counter: 1})
            yield clock.wait(backoff.delay(attempt))
            attempt += 1
            pending = left
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


def _expired(client: BatchClient, obj: Model) -> bool:
    ttl = type(obj).__dyntable__.ttl_field
    if not (client.hide_expired and ttl):
        return False
    value = getattr(obj, ttl, None)
    if value is None:
        return False
    ts = value.timestamp() if hasattr(value, "timestamp") else float(value)
    return bool(ts <= time.time())


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
    key_attrs = _key_attrs(client.table)
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
        if _expired(client, obj):
            missing.append(k.original)
        else:
            items.append(obj)
    return BatchGetResult(items, missing, stats)
