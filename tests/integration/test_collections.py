"""Collections: one partition, typed items grouped by entity; nothing dropped."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from dyntable.client import Client
from tests.models import Customer, Order, OrderLine

pytestmark = pytest.mark.integration
AT = datetime(2026, 11, 1, tzinfo=timezone.utc)


def test_collection_groups_typed_items(db: Client) -> None:
    ada = Customer(username="ada", email="a@x", name="Ada")
    order = Order(username="ada", order_id="o1", status="PLACED", placed_at=AT,
                  total=Decimal(5))
    line = OrderLine(username="ada", order_id="o1", line=1, sku="s", quantity=2,
                     price=Decimal("2.5"))
    for obj in (ada, order, line):
        db.put(obj)
    db.put(Customer(username="bob", email="b@x", name="Bob"))
    col = db.collection(pk="CUSTOMER#ada")
    assert col.of(Customer) == [ada]
    assert col[Order] == [order]
    assert col.of(OrderLine) == [line]
    assert len(col) == 3 and col.unknown == [] and col.errors == []


def test_unknown_entities_and_misfits_are_reported(db: Client) -> None:
    db.put(Customer(username="ada", email="a@x", name="Ada"))
    raw = {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "NOTE#1"}, "_entity": {"S": "note"},
           "text": {"S": "hi"}}
    db.send("PutItem", {"TableName": db.table_name, "Item": raw})
    bare = {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "RAW#1"}}
    db.send("PutItem", {"TableName": db.table_name, "Item": bare})
    broken = {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "ORDER#x#o9"}, "_entity": {"S": "order"},
              "username": {"S": "ada"}, "order_id": {"S": "o9"}, "status": {"S": "LOST"}}
    db.send("PutItem", {"TableName": db.table_name, "Item": broken})
    col = db.collection(pk="CUSTOMER#ada")
    assert [c.username for c in col.of(Customer)] == ["ada"]
    assert sorted(u["SK"]["S"] for u in col.unknown) == ["NOTE#1", "RAW#1"]
    assert len(col.errors) == 1
    assert col.errors[0].model == "Order"
    assert col.errors[0].key == {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "ORDER#x#o9"}}
    assert "status" in str(col.errors[0])
