"""Batch writes and batch gets that lose nothing: chunking, retries, exact failure reports.

Guarantees:
    * Every item handed to a :class:`BatchWriter` is either confirmed written or listed in
      the :class:`~dyntable.errors.BatchWriteError` raised when the writer stops or
      closes, never both.
    * ``UnprocessedItems`` / ``UnprocessedKeys`` and retryable errors (throttling, 5xx,
      connection errors, after the transport's own retries) are retried with exponential
      backoff and full jitter until done or until a chunk's ``deadline`` (seconds from its
      first request) passes.
    * The first failure stops the whole batch: a chunk out of time, a non-retryable
      error, or any exception while sending (dyntable's or not, from any thread). Nothing
      more is sent, so an unreachable endpoint is reported after about one ``deadline``
      whatever the number of items. The writer raises one BatchWriteError whose
      ``__cause__`` is that exception; a batch get raises BatchGetError when out of time
      and any other exception as it is.
    * A key is written at most once per writer: a second put/delete of the same key is
      refused with :class:`~dyntable.errors.InvalidRequestError` (DynamoDB rejects
      duplicates in one request, and retries would make "last write wins" untrue across
      chunks).

The retry logic is written as I/O-free flows (see :mod:`dyntable.operations.retry`). The
code lives in :mod:`~dyntable.operations.batch_write` (the writer),
:mod:`~dyntable.operations.batch_get` (gets) and :mod:`~dyntable.operations.batch_base`
(key digests, counters and the resend loop both use); this module gathers their names.
"""

from __future__ import annotations

from dyntable.operations.batch_base import BatchClient, BatchStats, key_digest
from dyntable.operations.batch_get import (
    GET_CHUNK,
    BatchGetResult,
    GetKey,
    batch_get,
    batch_get_flow,
    get_key,
)
from dyntable.operations.batch_write import (
    WRITE_CHUNK,
    BatchWriter,
    ChunkResult,
    WriteAction,
    write_flow,
)

__all__ = [
    "GET_CHUNK",
    "WRITE_CHUNK",
    "BatchClient",
    "BatchGetResult",
    "BatchStats",
    "BatchWriter",
    "ChunkResult",
    "GetKey",
    "WriteAction",
    "batch_get",
    "batch_get_flow",
    "get_key",
    "key_digest",
    "write_flow",
]
