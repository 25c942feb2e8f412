"""Batch writes that lose nothing: :class:`BatchWriter` and its chunk flow.

Every item handed to a writer is either written or listed in the
:class:`~dyntable.errors.BatchWriteError` raised when the writer closes; a key is written
at most once per writer (see :mod:`dyntable.operations.batch`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dyntable.codec.items import codec_for
from dyntable.errors import BatchWriteError, DyntableError, InvalidRequestError
from dyntable.operations.batch_base import (
    BatchClient,
    BatchStats,
    key_digest,
    resend_until_done,
    table_key_attrs,
    unprocessed_entries,
)
from dyntable.operations.retry import Backoff, Flow, drive
from dyntable.schema.model import Model

__all__ = ["WRITE_CHUNK", "BatchWriter", "ChunkResult", "WriteAction", "write_flow"]

AV = dict[str, Any]
WRITE_CHUNK = 25


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

    def request(pending: list[WriteAction]) -> dict[str, Any]:
        return {"RequestItems": {table_name: [a.request for a in pending]}}

    def unprocessed(response: dict[str, Any]) -> list[WriteAction]:
        raw = (response.get("UnprocessedItems") or {}).get(table_name) or []
        return unprocessed_entries(raw, key_attrs, by_digest, "BatchWriteItem")

    left, error = yield from resend_until_done(
        "BatchWriteItem", list(actions), request, unprocessed,
        deadline=deadline, backoff=backoff, stats=stats,
    )
    return ChunkResult(left, error)


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
        self._key_attrs = table_key_attrs(client.table)
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
