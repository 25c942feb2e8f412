"""Batch writes that lose nothing: :class:`BatchWriter` and its chunk flow.

Every item handed to a writer is either written or listed in the
:class:`~dyntable.errors.BatchWriteError` raised when the writer stops or closes; a key
is written at most once per writer (see :mod:`dyntable.operations.batch`).

The retries live in the I/O-free :func:`write_flow`; :class:`BatchWriter` only drives it,
from the calling thread or from :class:`_Senders` threads, and keeps the books: the
actions not yet confirmed, and the first failure.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from dyntable.codec.items import codec_for
from dyntable.errors import BatchWriteError, InvalidRequestError
from dyntable.operations.batch_base import (
    BatchClient,
    BatchStats,
    check_deadline,
    key_digest,
    resend_until_done,
    table_key_attrs,
    unprocessed_entries,
)
from dyntable.operations.items import receipts_for_put, require_table
from dyntable.operations.retry import Backoff, Flow, drive
from dyntable.schema.model import Model
from dyntable.schema.receipts import RECEIPTS_ATTRIBUTE, Receipts, new_token, remember

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
        receipts: the write receipts the put stores (versioned models).
    """

    kind: Literal["put", "delete"]
    model: type[Model]
    target: Any
    key: dict[str, AV]
    request: dict[str, Any]
    digest: bytes = field(repr=False)
    new_version: int | None = None
    receipts: Receipts | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.model.__name__} key={self.key}>"


@dataclass
class ChunkResult:
    """What a chunk flow ends with.

    Attributes:
        unwritten: the actions not confirmed written.
        error: what stopped the chunk (not retryable, or not dyntable's); when
            ``expired``, the last retryable error, if any.
        expired: the chunk ran out of time with actions left.
    """

    unwritten: list[WriteAction]
    error: Exception | None = None
    expired: bool = False


def write_flow(
    table_name: str,
    key_attrs: Sequence[str],
    actions: Sequence[WriteAction],
    *,
    deadline: float,
    backoff: Backoff,
    stats: BatchStats,
    stop: Callable[[], bool] | None = None,
    on_written: Callable[[list[WriteAction]], None] | None = None,
) -> Flow[ChunkResult]:
    """Write one chunk (at most 25 actions), retrying what is unprocessed until ``deadline``.

    Retryable errors re-send the whole remaining chunk (puts and deletes are idempotent).
    Nothing is sent ``deadline`` seconds after the chunk's first request, nor once
    ``stop()`` is true. Any other error (not retryable, not dyntable's, a malformed
    answer) ends the flow with the actions of that attempt unwritten.
    ``on_written`` receives the actions each answer confirmed, as answers arrive, so
    what is written stays known even if the flow is abandoned midway.
    """
    if len(actions) > WRITE_CHUNK:
        raise InvalidRequestError(f"a BatchWriteItem takes at most {WRITE_CHUNK} items")
    by_digest = {a.digest: a for a in actions}

    def request(pending: list[WriteAction]) -> dict[str, Any]:
        return {"RequestItems": {table_name: [a.request for a in pending]}}

    def unprocessed(response: dict[str, Any]) -> list[WriteAction]:
        raw = (response.get("UnprocessedItems") or {}).get(table_name) or []
        return unprocessed_entries(raw, key_attrs, by_digest, "BatchWriteItem")

    end = yield from resend_until_done(
        "BatchWriteItem", list(actions), request, unprocessed,
        deadline=deadline, backoff=backoff, stats=stats, stop=stop, done=on_written,
    )
    return ChunkResult(end.left, end.error, end.expired)


class _Senders:
    """Threads sending the chunks the caller hands over, through a bounded queue.

    ``submit`` waits while the queue is full, but never once :meth:`stop` was called;
    ``stop`` drops the queued chunks. A thread never dies of a failed chunk: whatever
    ``send`` raises goes to ``fail``.
    """

    def __init__(
        self,
        count: int,
        capacity: int,
        send: Callable[[list[WriteAction]], None],
        fail: Callable[[BaseException], None],
    ) -> None:
        self._chunks: deque[list[WriteAction]] = deque()
        self._capacity = capacity
        self._send = send
        self._fail = fail
        self._ready = threading.Condition()
        self._busy = 0
        self._stopped = False
        self._closing = False
        self._threads = [
            threading.Thread(target=self._run, name=f"dyntable-batch-{i}", daemon=True)
            for i in range(count)
        ]

    def start(self) -> None:
        """Start the threads."""
        for t in self._threads:
            t.start()

    def submit(self, chunk: list[WriteAction]) -> None:
        """Queue ``chunk``; waits for room unless stopped (then the chunk is dropped)."""
        with self._ready:
            while len(self._chunks) >= self._capacity and not self._stopped:
                self._ready.wait()
            if not self._stopped:
                self._chunks.append(chunk)
                self._ready.notify_all()

    def stop(self) -> None:
        """Drop the queued chunks and let ``submit`` return at once from now on."""
        with self._ready:
            self._stopped = True
            self._chunks.clear()
            self._ready.notify_all()

    def drain(self) -> None:
        """Wait until no chunk is queued or being sent."""
        with self._ready:
            while self._chunks or self._busy:
                self._ready.wait()

    def close(self) -> None:
        """Send what is queued (nothing once stopped), then end the threads and wait."""
        with self._ready:
            self._closing = True
            self._ready.notify_all()
        for t in self._threads:
            t.join()

    def _next(self) -> list[WriteAction] | None:
        with self._ready:
            while not self._chunks and not self._closing:
                self._ready.wait()
            if not self._chunks:
                return None
            self._busy += 1
            self._ready.notify_all()
            return self._chunks.popleft()

    def _run(self) -> None:
        while (chunk := self._next()) is not None:
            try:
                self._send(chunk)
            except BaseException as exc:  # a thread cannot raise to the caller: report it
                self._fail(exc)
            finally:
                with self._ready:
                    self._busy -= 1
                    self._ready.notify_all()


class BatchWriter:
    """Puts and deletes sent as BatchWriteItem chunks of 25, several entities mixed.

    Use as a context manager (``with db.batch_writer() as bw: bw.put(obj)``). Items are sent
    as chunks fill up; leaving the block sends the rest and waits for every chunk. Call
    ``put`` / ``delete`` from one thread.

    Args:
        client: the client to send through.
        deadline: seconds a chunk may keep retrying, from its first request. The first
            chunk that runs out of time stops the writer, so an unreachable endpoint is
            reported after about ``deadline`` seconds whatever the number of items.
            ``0``: each chunk is sent once, without retries.
        concurrency: threads sending chunks (1: chunks are sent by the calling thread).
        max_pending: items that may wait in memory for a sending thread; ``put`` blocks
            beyond that (never once the writer has stopped).
        backoff: the retry backoff (exponential, full jitter).

    Semantics:
        * Every item handed over is either confirmed written or listed in the
          :class:`~dyntable.errors.BatchWriteError`'s ``unprocessed``, never both, never
          neither (listed items were not *confirmed*: after an ambiguous failure one may
          be stored anyway).
        * The writer *stops* on the first failure: a chunk out of time, a non-retryable
          error, or any exception while sending (a transport hook that raises, a
          malformed answer), from any thread. Nothing more is sent; the next ``put`` /
          ``delete`` / ``flush`` / ``close`` waits for the requests in flight, then
          raises one BatchWriteError listing every item not written (the failed chunk,
          queued chunks, the partial chunk, the item just handed in). Its ``__cause__``
          is the exception that stopped the writer, as raised (for a chunk out of time:
          the last retryable error, if any). The writer is then closed: further puts
          raise :class:`~dyntable.errors.InvalidRequestError`.
        * ``put`` / ``delete`` raise otherwise only for invalid input (checked locally:
          encoding, item size, duplicate key).
        * An exception inside the ``with`` block does not discard anything: the items
          already handed over are still written (then the exception propagates), so the
          table holds exactly the items given before the error. A ``KeyboardInterrupt``,
          ``SystemExit`` or other non-``Exception`` stops the writer instead: nothing
          more is sent, the interrupt propagates unchanged and :meth:`error` describes
          what was not written. With ``concurrency=1`` such an interrupt raised while
          sending also propagates unchanged.
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
        check_deadline(deadline)
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
        #: every action handed over and not yet confirmed, in the order given
        self._unwritten: dict[WriteAction, None] = {}
        self._stopped = threading.Event()
        self._cause: BaseException | None = None
        self._expired = False
        self._senders: _Senders | None = None
        self._closed = False

    # -- accepting items -------------------------------------------------------------------

    def put(self, obj: Model) -> None:
        """Queue a put of ``obj`` (replaces the stored item with that key)."""
        if not isinstance(obj, Model):
            raise InvalidRequestError(f"put() takes a model instance, not {type(obj).__name__}")
        require_table(type(obj), self._client.table)
        codec = codec_for(type(obj))
        item = codec.encode(obj)
        vname = codec.spec.version_field
        new_version = None
        receipts = None
        if vname is not None:
            expected = int(getattr(obj, vname) or 0)
            new_version = expected + 1
            item[vname] = {"N": str(new_version)}
            receipts = receipts_for_put(obj, expected, new_token())
            item[RECEIPTS_ATTRIBUTE] = receipts.to_av()
        key = {a: item[a] for a in codec.spec.primary.attrs}
        self._accept(WriteAction("put", type(obj), obj, key, {"PutRequest": {"Item": item}},
                                 key_digest(key), new_version, receipts))

    def delete(self, target: Model | type[Model], **key: Any) -> None:
        """Queue a delete by instance or by model and key fields (no version check)."""
        if isinstance(target, type):
            require_table(target, self._client.table)
            codec = codec_for(target)
            wire = codec.key(key)
            model: type[Model] = target
            what: Any = dict(key)
        else:
            if key:
                raise InvalidRequestError("delete(instance) takes no key fields")
            model = type(target)
            require_table(model, self._client.table)
            wire = codec_for(model).key_of(target)
            what = target
        self._accept(WriteAction("delete", model, what, wire, {"DeleteRequest": {"Key": wire}},
                                 key_digest(wire)))

    def _accept(self, action: WriteAction) -> None:
        if self._closed:
            raise InvalidRequestError(
                "this batch writer is closed (it reports unwritten items once, in the "
                "BatchWriteError raised when it closed or stopped); use a new writer"
            )
        if not self._stopped.is_set():
            if action.digest in self._seen:
                raise InvalidRequestError(
                    f"{action.model.__name__} key {action.key} is already in this batch "
                    "writer; a writer writes each key once (combine the changes into one put)"
                )
            self._seen.add(action.digest)
        with self._lock:
            self._unwritten[action] = None
        self._chunk.append(action)
        if len(self._chunk) >= WRITE_CHUNK:
            self._submit()
        if self._stopped.is_set():
            self._finish()

    # -- sending -----------------------------------------------------------------------

    def _submit(self) -> None:
        chunk, self._chunk = self._chunk, []
        if not chunk or self._stopped.is_set():
            return  # a stopped writer sends nothing: the actions stay listed as unwritten
        if self.concurrency == 1:
            try:
                self._send(chunk)
            except BaseException as exc:
                self._stop(exc)
                if not isinstance(exc, Exception):
                    raise  # an interrupt or exit: not turned into an ordinary error
            return
        if self._senders is None:
            self._senders = _Senders(self.concurrency, self._max_chunks, self._send,
                                     self._stop)
            self._senders.start()  # once assigned: a failing thread stops the queue
        self._senders.submit(chunk)

    def _send(self, chunk: list[WriteAction]) -> None:
        """Send one chunk to its end; failures stop the writer (anything else escapes)."""
        if self._stopped.is_set():
            return
        flow = write_flow(self._client.table_name, self._key_attrs, chunk,
                          deadline=self.deadline, backoff=self.backoff, stats=self.stats,
                          stop=self._stopped.is_set, on_written=self._written)
        result = drive(self._client.send, flow, sleep=self._pause)
        if result.error is not None or result.expired:
            self._stop(result.error, expired=result.expired)

    def _pause(self, seconds: float) -> None:
        """Sleep between retries; a writer that stops wakes every sleeping thread."""
        self._stopped.wait(seconds)

    def _written(self, actions: list[WriteAction]) -> None:
        with self._lock:
            for a in actions:
                del self._unwritten[a]
                if a.new_version is not None:
                    vname = a.model.__dyntable__.version_field
                    a.target.__dict__[vname] = a.new_version
                    remember(a.target, a.new_version, a.receipts)

    def _stop(self, cause: BaseException | None, *, expired: bool = False) -> None:
        """Stop the writer; the first call says why."""
        with self._lock:
            if self._stopped.is_set():
                return
            self._cause, self._expired = cause, expired
            self._stopped.set()
        if self._senders is not None:
            self._senders.stop()

    def flush(self) -> None:
        """Send the partly filled chunk and wait until every queued chunk is sent.

        Raises:
            BatchWriteError: the writer has stopped (see the class doc).
        """
        if self._closed:
            return
        self._submit()
        if self._senders is not None:
            self._senders.drain()
        if self._stopped.is_set():
            self._finish()

    def close(self) -> None:
        """Flush and stop; raise BatchWriteError when some items were not written."""
        if not self._closed:
            self._finish()

    def _finish(self, *, report: bool = True) -> None:
        self._closed = True
        try:
            self._submit()
        finally:
            if self._senders is not None:
                self._senders.close()
                self._senders = None
        if report and self._unwritten:
            raise self.error()

    def error(self) -> BatchWriteError:
        """The BatchWriteError describing the items not confirmed written so far."""
        with self._lock:
            unwritten = list(self._unwritten)
            cause, expired = self._cause, self._expired
        if expired:
            why = f"a chunk was still unwritten after retrying for {self.deadline}s"
            if cause is not None:
                why += f", last error {type(cause).__name__}: {cause}"
            fix = "; nothing more was sent. Retry them later, or raise deadline="
        elif cause is not None:
            why = f"stopped by {type(cause).__name__}: {cause}"
            fix = "; nothing more was sent (the cause is chained)"
        else:
            why, fix = "not sent or not confirmed yet", ""
        sample = ", ".join(repr(a) for a in unwritten[:3])
        more = f" and {len(unwritten) - 3} more" if len(unwritten) > 3 else ""
        err = BatchWriteError(
            f"batch write to {self._client.table_name}: {len(unwritten)} item(s) not written "
            f"({why}){fix}: {sample}{more}",
            unprocessed=unwritten,
            table=self._client.table_name,
        )
        if cause is not None:  # (setting None would hide the context of the raise)
            err.__cause__ = cause
        return err

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and not isinstance(exc, Exception):
            self._stop(exc)  # an interrupt: send nothing more, let it propagate
            if not self._closed:
                self._finish(report=False)
            return
        self.close()
