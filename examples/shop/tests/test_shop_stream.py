"""The stream function: orders placed -> the tenant's outbox, with partial batch failures."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from apigw import Caller, load_event
from shopapi import stream
from shopapi.models import OutboxMessage

from dyntable import Client

pytestmark = pytest.mark.integration


def _outbox(db: Client, tenant: str) -> list[str]:
    return [m.order_id for m in db.query(OutboxMessage.primary, tenant=tenant)]


def _seq(record: dict[str, Any]) -> str:
    sequence: str = record["dynamodb"]["SequenceNumber"]
    return sequence


def test_a_poisoned_record_is_reported_and_the_batch_resumes_from_it(shop_db: Client) -> None:
    event = load_event("stream_orders_placed")
    first, item, poisoned, last = event["Records"]   # order, order item, bad order, order

    result = stream.handler(event, None)
    # the failing record and those after it are reported; Lambda retries from there
    assert result == {"batchItemFailures": [{"itemIdentifier": _seq(poisoned)},
                                            {"itemIdentifier": _seq(last)}]}
    assert _outbox(shop_db, "acme") == [first["dynamodb"]["NewImage"]["order_id"]["S"]]

    # Lambda's retry (the poisoned record split off by BisectBatchOnFunctionError, or sent to
    # the on-failure destination) redelivers the rest, with an already handled record too
    retry = stream.handler({"Records": [first, item, last]}, None)
    assert retry == {"batchItemFailures": []}
    assert _outbox(shop_db, "acme") == [r["dynamodb"]["NewImage"]["order_id"]["S"]
                                        for r in (first, last)]           # each one once
    message = shop_db.get(OutboxMessage, tenant="acme",
                          order_id=last["dynamodb"]["NewImage"]["order_id"]["S"])
    assert message is not None and str(message.total) == "7"


def test_an_order_placed_through_the_api_reaches_the_outbox(shop_db: Client) -> None:
    acme = Caller("acme")
    acme("POST", "/tenants/acme/customers",
         body={"customer_id": "c-ada", "email": "ada@acme.example", "name": "Ada"})
    order_id = acme("POST", "/tenants/acme/orders", body={"customer_id": "c-ada", "lines": [
        {"sku": "LAMP-1", "quantity": 1, "unit_price": "30.00"}]}).json["order"]["order_id"]
    # the record DynamoDB Streams would deliver: the fixture's shape, this item's image
    stored = shop_db.send("GetItem", {"TableName": shop_db.table_name, "Key": {
        "PK": {"S": f"TENANT#acme#ORDER#{order_id}"}, "SK": {"S": "ORDER"}}})["Item"]
    record = copy.deepcopy(load_event("stream_orders_placed")["Records"][0])
    record["dynamodb"].update(Keys={"PK": stored["PK"], "SK": stored["SK"]}, NewImage=stored)

    assert stream.handler({"Records": [record]}, None) == {"batchItemFailures": []}
    assert _outbox(shop_db, "acme") == [order_id]
    assert _outbox(shop_db, "globex") == []
