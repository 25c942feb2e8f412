"""The stream function's handler: ``shopapi.stream.handler``.

Each order placed (an INSERT of an ``Order`` on the table's stream) becomes one message in
its tenant's outbox, for a publisher to send on. Delivery is at least once (Lambda retries),
so the message key is derived from the order and written only if absent: a record handled
twice leaves one message.

Failures are partial: dyntable's Lambda handler support reports the failing record and the
records after it in ``batchItemFailures`` (set ``ReportBatchItemFailures`` on the event
source mapping), so Lambda retries from there while the records before it stay done.
"""

from __future__ import annotations

import contextlib
from typing import Any

from dyntable.errors import ConditionalCheckFailedError
from dyntable.streams import Router, StreamEvent
from dyntable.ttl import expires_in
from shopapi.db import database
from shopapi.models import Order, OutboxMessage, shop_table

__all__ = ["handler", "router"]

OUTBOX_TTL_DAYS = 7

router = Router(shop_table)


@router.on_insert(Order)
def order_placed(event: StreamEvent[Order]) -> None:
    order = event.new
    message = OutboxMessage(
        tenant=order.tenant, topic="order_placed", order_id=order.order_id,
        customer_id=order.customer_id, total=order.total, created_at=order.placed_at,
        expires_at=expires_in(days=OUTBOX_TTL_DAYS),
    )
    # if_absent: a record handled before finds its message there already
    with contextlib.suppress(ConditionalCheckFailedError):
        database().put(message, if_absent=True)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda's entry point for the DynamoDB stream event source mapping."""
    return router.lambda_handler(event, context)
