"""The sync batch writer: chunks sent from the calling thread or from sender threads.

The retries and the books are I/O-free (:mod:`dyntable._internal.operations.batch_write`); this
module only sends the chunks, with threads when ``concurrency > 1``.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable._internal.operations.batch_base import BatchStats
from dyntable._internal.operations.batch_write import WRITE_CHUNK, WriteAction, WriterBook
from dyntable._internal.operations.flow import Flow
from dyntable.errors import BatchWriteError, InvalidRequestError

if TYPE_CHECKING:
    from dyntable.schema.model import Model

__all__ = ["BatchWriter"]

R = TypeVar("R")
Run = Callable[[Flow[Any], Callable[[float], None]], Any]


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
        # Each sender runs in a copy of the creating thread's context, so context variables
        # set around the writer (e.g. the tenant of TenantRole.acting_as) hold in its sends.
        self._threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(self._run,),
                             name=f"dyntable-batch-{i}", daemon=True)
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
        run: runs a flow to its end (the sync driver's ``run``), sleeping with the given
            function between retries.
        book: the writer's books (table, deadline, backoff, counters).
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
        run: Run,
        book: WriterBook,
        *,
        concurrency: int = 1,
        max_pending: int = 1000,
    ) -> None:
        if concurrency < 1:
            raise InvalidRequestError("concurrency must be at least 1")
        if max_pending < 1:
            raise InvalidRequestError("max_pending must be at least 1")
        self._run = run
        self._book = book
        self.concurrency = concurrency
        self._max_chunks = max(1, -(-max_pending // WRITE_CHUNK))
        self._senders: _Senders | None = None

    @property
    def stats(self) -> BatchStats:
        """Request and retry counters."""
        return self._book.stats

    @property
    def deadline(self) -> float:
        """Seconds a chunk may keep retrying."""
        return self._book.deadline

    # -- accepting items -------------------------------------------------------------------

    def put(self, obj: Model) -> None:
        """Queue a put of ``obj`` (replaces the stored item with that key)."""
        self._accept(self._book.put_action(obj))

    def delete(self, target: Any, **key: Any) -> None:
        """Queue a delete by instance, key (``Customer.primary(...)``), or model and key
        fields (no version check)."""
        self._accept(self._book.delete_action(target, key))

    def _accept(self, action: WriteAction) -> None:
        chunk = self._book.accept(action)
        if chunk:
            self._submit(chunk)
        if self._book.stopped:
            self._finish()

    # -- sending -----------------------------------------------------------------------

    def _submit(self, chunk: list[WriteAction]) -> None:
        if not chunk or self._book.stopped:
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
        self._run(self._book.chunk_flow(chunk), self._book.wait_stopped)
        if self._book.stopped and self._senders is not None:
            self._senders.stop()

    def _stop(self, cause: BaseException | None) -> None:
        """Stop the writer; the first call says why."""
        self._book.stop(cause)
        if self._senders is not None:
            self._senders.stop()

    def flush(self) -> None:
        """Send the partly filled chunk and wait until every queued chunk is sent.

        Raises:
            BatchWriteError: the writer has stopped (see the class doc).
        """
        if self._book.closed:
            return
        self._submit(self._book.take())
        if self._senders is not None:
            self._senders.drain()
        if self._book.stopped:
            self._finish()

    def close(self) -> None:
        """Flush and stop; raise BatchWriteError when some items were not written."""
        if not self._book.closed:
            self._finish()

    def _finish(self, *, report: bool = True) -> None:
        self._book.closed = True
        try:
            self._submit(self._book.take())
        finally:
            if self._senders is not None:
                self._senders.close()
                self._senders = None
        if report and self._book.unwritten:
            raise self.error()

    def error(self) -> BatchWriteError:
        """The BatchWriteError describing the items not confirmed written so far."""
        return self._book.error()

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
            if not self._book.closed:
                self._finish(report=False)
            return
        self.close()
