"""The asyncio batch writer: chunks sent by up to ``concurrency`` tasks at once.

Same books and semantics as the sync :class:`~dyntable.batch_writer.BatchWriter`
(:class:`~dyntable._internal.operations.batch_write.WriterBook`): every item handed over is either
confirmed written or listed in the :class:`~dyntable.errors.BatchWriteError` raised when
the writer stops or closes; the first failure stops it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dyntable._internal.operations.batch_base import BatchStats
from dyntable._internal.operations.batch_write import WriteAction, WriterBook
from dyntable._internal.operations.flow import Flow
from dyntable.errors import BatchWriteError, InvalidRequestError

if TYPE_CHECKING:
    from dyntable.schema.model import Model

__all__ = ["AsyncBatchWriter"]

Run = Callable[[Flow[Any], Callable[[float], Awaitable[Any]]], Awaitable[Any]]


class AsyncBatchWriter:
    """Puts and deletes sent as BatchWriteItem chunks of 25, from asyncio tasks.

    Use as ``async with db.batch_writer() as bw: await bw.put(obj)``. Leaving the block
    sends the rest and waits for every chunk; a failure raises one BatchWriteError listing
    every item not written (see the sync writer for the whole contract).

    Args:
        run: the async driver's ``run``.
        book: the writer's books.
        concurrency: chunks in flight at once; ``put`` waits for a free task beyond that
            (memory stays bounded).
        max_pending: accepted for symmetry with the sync writer (unused: at most
            ``concurrency`` chunks and one partial chunk are held).
    """

    def __init__(self, run: Run, book: WriterBook, *, concurrency: int = 4,
                 max_pending: int = 1000) -> None:
        if concurrency < 1:
            raise InvalidRequestError("concurrency must be at least 1")
        if max_pending < 1:
            raise InvalidRequestError("max_pending must be at least 1")
        self._run = run
        self._book = book
        self.concurrency = concurrency
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def stats(self) -> BatchStats:
        """Request and retry counters."""
        return self._book.stats

    async def put(self, obj: Model) -> None:
        """Queue a put of ``obj`` (replaces the stored item with that key)."""
        await self._accept(self._book.put_action(obj))

    async def delete(self, target: Any, **key: Any) -> None:
        """Queue a delete by instance, key, or model and key fields (no version check)."""
        await self._accept(self._book.delete_action(target, key))

    async def _accept(self, action: WriteAction) -> None:
        chunk = self._book.accept(action)
        if chunk:
            await self._submit(chunk)
        if self._book.stopped:
            await self._finish()

    async def _submit(self, chunk: list[WriteAction]) -> None:
        if not chunk or self._book.stopped:
            return
        while len(self._tasks) >= self.concurrency and not self._book.stopped:
            await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
        if self._book.stopped:
            return
        task = asyncio.ensure_future(self._send(chunk))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, chunk: list[WriteAction]) -> None:
        try:
            await self._run(self._book.chunk_flow(chunk), self._pause)
        except Exception as exc:  # a hook, a malformed answer: stops the writer
            self._book.stop(exc)

    async def _pause(self, seconds: float) -> None:
        """Sleep between retries, returning early once the writer stops."""
        step = 0.05
        while seconds > 0 and not self._book.stopped:
            await asyncio.sleep(min(step, seconds))
            seconds -= step

    async def flush(self) -> None:
        """Send the partly filled chunk and wait until every chunk in flight is done.

        Raises:
            BatchWriteError: the writer has stopped.
        """
        if self._book.closed:
            return
        await self._submit(self._book.take())
        await self._drain()
        if self._book.stopped:
            await self._finish()

    async def _drain(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def close(self) -> None:
        """Flush and stop; raise BatchWriteError when some items were not written."""
        if not self._book.closed:
            await self._finish()

    async def _finish(self, *, report: bool = True) -> None:
        self._book.closed = True
        try:
            await self._submit(self._book.take())
        finally:
            await self._drain()
        if report and self._book.unwritten:
            raise self.error()

    def error(self) -> BatchWriteError:
        """The BatchWriteError describing the items not confirmed written so far."""
        return self._book.error()

    async def __aenter__(self) -> AsyncBatchWriter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and not isinstance(exc, Exception):
            self._book.stop(exc)  # a cancellation or interrupt: send nothing more
            for task in self._tasks:
                task.cancel()
            if not self._book.closed:
                self._book.closed = True
            return
        await self.close()
