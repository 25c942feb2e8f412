"""The Lambda side: one DynamoDB Streams batch in, a ReportBatchItemFailures answer out.

Records are handled in order. When one fails (it does not parse, its image does not fit
its model, or a handler raises), it and every later record are reported in
``batchItemFailures`` and not handled: Lambda then retries from the lowest reported
sequence number, so per-shard order is kept. Enable ``ReportBatchItemFailures`` on the
event source mapping. A failing record without a usable sequence number cannot be reported
(an empty or malformed ``itemIdentifier`` fails the whole batch anyway), so the error is
raised and Lambda retries the whole batch.

Nothing here touches the network or the table. Logs name records by sequence number and
event ID, never by item values.

:func:`process_batch` runs plain handlers and refuses a router with coroutine handlers;
:func:`process_batch_async` awaits them. Lambda's Python runtime calls the function's
handler synchronously, so an async batch runs in an event loop of the handler's own, one
per invocation::

    def handler(event, context):
        return asyncio.run(router.async_lambda_handler(event, context))

Clients and transports made at module level (once per execution environment) can be used
by every invocation's loop: :class:`~dyntable.transport.aio_http.AsyncHttpTransport` opens
new connections in a new loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dyntable.streams.records import StreamRecordError

if TYPE_CHECKING:
    from dyntable.streams.router import Router

__all__ = ["process_batch", "process_batch_async"]

log = logging.getLogger("dyntable.streams")


def _sequence_of(raw: Any) -> str | None:
    body = raw.get("dynamodb") if isinstance(raw, Mapping) else None
    seq = body.get("SequenceNumber") if isinstance(body, Mapping) else None
    return seq if isinstance(seq, str) and seq.isdigit() else None


def _records(event: Mapping[str, Any]) -> Sequence[Any]:
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise StreamRecordError("the Lambda event has no 'Records' list: not a stream batch")
    return records


def _failures(records: Sequence[Any], first: int, exc: BaseException) -> list[dict[str, str]]:
    seq = _sequence_of(records[first])
    raw = records[first]
    event_id = raw.get("eventID") if isinstance(raw, Mapping) else None
    log.error("stream record %s (eventID %s) failed: %s; reporting it and %d later record(s)",
              seq or "?", event_id or "?", type(exc).__name__, len(records) - first - 1)
    if seq is None:
        raise exc
    later = (_sequence_of(r) for r in records[first:])
    return [{"itemIdentifier": s} for s in later if s is not None]


def process_batch(router: Router, event: Mapping[str, Any]) -> dict[str, Any]:
    """Handle a Lambda DynamoDB Streams event through ``router``.

    Returns:
        ``{"batchItemFailures": [{"itemIdentifier": "<SequenceNumber>"}, ...]}``, empty
        when every record was handled.

    Raises:
        StreamRecordError: the event is not a stream batch, or a failing record has no
            sequence number to report (Lambda then retries the whole batch).
        InvalidRequestError: the router has coroutine handlers (nothing is handled): use
            :func:`process_batch_async`.
    """
    router.refuse_async_handlers("router.lambda_handler")
    records = _records(event)
    for i, raw in enumerate(records):
        try:
            router.handle(raw)
        except Exception as exc:
            return {"batchItemFailures": _failures(records, i, exc)}
    log.debug("stream batch of %d record(s) handled", len(records))
    return {"batchItemFailures": []}


async def process_batch_async(router: Router, event: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`process_batch` awaiting coroutine handlers (plain ones are called as usual).

    Records are handled one after the other, in order, each handler finishing before the
    next record; the answer and the errors are :func:`process_batch`'s.
    """
    records = _records(event)
    for i, raw in enumerate(records):
        try:
            await router.handle_async(raw)
        except Exception as exc:
            return {"batchItemFailures": _failures(records, i, exc)}
    log.debug("stream batch of %d record(s) handled", len(records))
    return {"batchItemFailures": []}
