"""Items other programs wrote, on DynamoDB Local, over every transport (async included):
items that lost the entity attribute, attributes the model does not declare, items that
match no model."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable.client import Client
from dyntable.codec import codec_for, extra_attributes
from dyntable.errors import UnmatchedItemWarning
from tests.models import Customer, Order

pytestmark = pytest.mark.integration
AT = datetime(2026, 11, 1, tzinfo=timezone.utc)


def raw_put(db: Client, item: dict[str, Any]) -> None:
    """A full-item put by another program (as PynamoDB's save() or boto3 code does)."""
    db.send("PutItem", {"TableName": db.table_name, "Item": item})


def raw_get(db: Client, pk: str, sk: str) -> dict[str, Any]:
    got = db.send("GetItem", {"TableName": db.table_name, "ConsistentRead": True,
                              "Key": {"PK": {"S": pk}, "SK": {"S": sk}}})
    item: dict[str, Any] = got["Item"]
    return item


def orders(n: int) -> list[Order]:
    return [Order(username="ada", order_id=f"o{i}", status="PLACED", placed_at=AT,
                  total=Decimal(i)) for i in range(n)]


def test_items_that_lost_the_entity_attribute_are_still_found(db: Client) -> None:
    # Before: query, scan and count filtered on _entity, so these items vanished ([]).
    placed = orders(3)
    for o in placed:
        item = codec_for(Order).encode(o)
        del item["_entity"]
        raw_put(db, item)
    db.put(Customer(username="ada", email="a@x", name="Ada"))
    assert list(db.query(Order.primary, username="ada")) == placed
    assert db.query(Order.primary, username="ada").count() == 3
    assert sorted(o.order_id for o in db.scan(Order)) == ["o0", "o1", "o2"]
    assert db.scan(Order).count() == 3
    assert db.get(Order, username="ada", placed_at=AT, order_id="o1") == placed[1]
    got = db.batch_get([Order.primary(username="ada", placed_at=AT, order_id="o2")])
    assert got.items == [placed[2]]
    col = db.collection(Customer.primary, username="ada")
    assert col.of(Order) == placed and col.unknown == []
    assert [c.username for c in col.of(Customer)] == ["ada"]
    # and dyntable may write over them (the entity guard allows an item without one)
    placed[0].note = "rewritten"
    db.put(placed[0])
    assert raw_get(db, "CUSTOMER#ada", "ORDER#2026-11-01T00:00:00.000000Z#o0")[
        "_entity"] == {"S": "order"}


def test_get_modify_put_keeps_what_another_service_wrote(db: Client) -> None:
    db.put(Customer(username="ada", email="a@x", name="Ada"))
    # another service adds attributes dyntable's model does not declare
    db.send("UpdateItem", {
        "TableName": db.table_name,
        "Key": {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "CUSTOMER#ada"}},
        "UpdateExpression": "SET #a = :a, #l = :l",
        "ExpressionAttributeNames": {"#a": "loyaltyPoints", "#l": "crmId"},
        "ExpressionAttributeValues": {":a": {"N": "120"}, ":l": {"S": "crm-7"}},
    })
    ada = db.get(Customer, username="ada")
    assert ada is not None
    assert extra_attributes(ada) == {"loyaltyPoints": Decimal(120), "crmId": "crm-7"}
    ada.name = "Ada Lovelace"
    db.put(ada)  # a versioned put of the object read
    stored = raw_get(db, "CUSTOMER#ada", "CUSTOMER#ada")
    # Before: this put replaced the item with the declared attributes only.
    assert stored["loyaltyPoints"] == {"N": "120"} and stored["crmId"] == {"S": "crm-7"}
    assert stored["name"] == {"S": "Ada Lovelace"}
    # the same through a query result and a copy
    first = next(iter(db.query(Customer.primary, username="ada")))
    changed = first.model_copy(update={"order_count": 2})
    db.put(changed)
    assert raw_get(db, "CUSTOMER#ada", "CUSTOMER#ada")["crmId"] == {"S": "crm-7"}


def test_items_that_match_no_model_are_reported_not_dropped(db: Client) -> None:
    placed = orders(1)
    db.put(placed[0])
    stray = {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "ORDER#legacy"}, "total": {"N": "3"}}
    raw_put(db, stray)
    query = db.query(Order.primary, username="ada")
    with pytest.warns(UnmatchedItemWarning, match=r"met 1 item\(s\) that match no model"):
        assert list(query) == placed
    assert [u["SK"] for u in query.unmatched] == [{"S": "ORDER#legacy"}]
    with pytest.warns(UnmatchedItemWarning):
        page = db.query(Order.primary, username="ada").page()
    assert page.items == placed and [u["SK"]["S"] for u in page.unmatched] == ["ORDER#legacy"]
    col = db.collection(pk="CUSTOMER#ada")
    assert [u["SK"]["S"] for u in col.unknown] == ["ORDER#legacy"]


def test_partiql_and_stream_images_without_the_entity_attribute(db: Client) -> None:
    from dyntable.streams.events import decode_record
    from dyntable.streams.records import parse_record

    placed = orders(2)
    for o in placed:
        item = codec_for(Order).encode(o)
        del item["_entity"]
        raw_put(db, item)
    got = db.execute_statement(f'SELECT * FROM "{db.table_name}" WHERE PK = ?',
                               ["CUSTOMER#ada"], model=Order)
    assert got == placed
    image = codec_for(Order).encode(placed[0])
    del image["_entity"]
    record = {"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
              "dynamodb": {"Keys": {"PK": image["PK"], "SK": image["SK"]}, "NewImage": image,
                           "SequenceNumber": "100", "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    event = decode_record(db.table, parse_record(record))
    assert event.model is Order and event.new_or_none == placed[0]


def test_partiql_with_a_model_says_where_unmatched_items_are(db: Client) -> None:
    raw_put(db, {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "ORDER#legacy"}})
    statement = f'SELECT * FROM "{db.table_name}" WHERE PK = ?'
    with pytest.warns(UnmatchedItemWarning) as seen:
        assert db.execute_statement(statement, ["CUSTOMER#ada"], model=Order) == []
    message = str(seen[0].message)
    assert db.table_name in message and "without model=" in message
    assert db.execute_statement(statement, ["CUSTOMER#ada"]) == [
        {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "ORDER#legacy"}}]
