"""Item operations on DynamoDB Local: put, get, delete, update, conditions, limits."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable import F
from dyntable._internal.codec.limits import MAX_ITEM_SIZE
from dyntable.client import Client
from dyntable.codec import codec_for, item_size
from dyntable.errors import (
    ConditionalCheckFailedError,
    InvalidRequestError,
    InvalidValueError,
    ItemTooLargeError,
    ServiceValidationError,
    VersionConflictError,
)
from tests.models import Address, Customer, Order, Product

pytestmark = pytest.mark.integration
AT = datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc)


def _order(**kw: object) -> Order:
    base: dict[str, object] = {"username": "ada", "order_id": "o1", "status": "PLACED",
                               "placed_at": AT, "total": Decimal("12.50")}
    return Order(**{**base, **kw})  # type: ignore[arg-type]


def _ada(**kw: object) -> Customer:
    return Customer(**{"username": "ada", "email": "ada@x.io", "name": "Ada", **kw})  # type: ignore[arg-type]


def test_put_get_round_trip(db: Client) -> None:
    c = _ada(address=Address(street="1 Main", city="Paris"), tags={"vip", "early"})
    db.put(c)
    assert c.version == 1
    got = db.get(Customer, username="ada", consistent=True)
    assert got == c
    assert db.get(Customer, username="nobody") is None


def test_put_if_absent_and_condition(db: Client) -> None:
    db.put(_order())
    with pytest.raises(ConditionalCheckFailedError) as e:
        db.put(_order(total=Decimal(1)), if_absent=True)
    assert e.value.key == {"PK": {"S": "CUSTOMER#ada"},
                           "SK": {"S": "ORDER#2026-11-01T09:30:00.000000Z#o1"}}
    assert e.value.item is not None and e.value.item["total"] == {"N": "12.5"}
    with pytest.raises(ConditionalCheckFailedError):
        db.put(_order(status="SHIPPED"), condition=F.status == "SHIPPED")
    db.put(_order(status="SHIPPED"), condition=F.status == "PLACED")
    assert db.get(Order, username="ada", placed_at=AT, order_id="o1").status == "SHIPPED"  # type: ignore[union-attr]


def test_get_projection_is_a_partial_object(db: Client) -> None:
    db.put(_ada())
    got = db.get(Customer, username="ada", project=["name"])
    assert got is not None
    assert got.name == "Ada"
    assert got.username == "ada"  # recovered from the key
    with pytest.raises(AttributeError):
        _ = got.email


def test_delete_conditional_and_return_old(db: Client) -> None:
    db.put(_order())
    with pytest.raises(ConditionalCheckFailedError):
        db.delete(Order, username="ada", placed_at=AT, order_id="o1",
                  condition=F.status == "SHIPPED")
    old = db.delete(Order, username="ada", placed_at=AT, order_id="o1", return_old=True)
    assert old == _order()
    assert db.get(Order, username="ada", placed_at=AT, order_id="o1") is None


def test_update_builder_returns_the_typed_item(db: Client) -> None:
    db.put(_ada(address=Address(street="s", city="Paris"), tags={"a", "b"}))
    got = (db.update(Customer, username="ada").set(name="Ada L.")
           .set(F.address.city, "London").add(order_count=2).delete(F.tags, {"a"}).execute())
    assert isinstance(got, Customer)
    assert (got.name, got.address, got.order_count, got.tags) == (
        "Ada L.", Address(street="s", city="London"), 2, {"b"})
    got = db.update(Customer, username="ada").set(order_count=F.order_count + 1).execute()
    assert got.order_count == 3
    got = db.update(Customer, username="ada").remove("address").add(tags={"c"}).execute()
    assert got.address is None and got.tags == {"b", "c"}
    assert got.version == 4


def test_update_lists_and_defaults(db: Client) -> None:
    db.put(Product(sku="p", title="P", price=Decimal(1), categories=["b"]))
    got = db.update(Product, sku="p").append(categories=["c"]).execute()
    assert got.categories == ["b", "c"]
    got = db.update(Product, sku="p").prepend(categories=["a"]).set_default(stock=7).execute()
    assert got.categories == ["a", "b", "c"] and got.stock == 0  # stock existed (default 0)
    db.send("UpdateItem", {"TableName": db.table_name, "Key": codec_for(Product).key({"sku": "p"}),
                           "UpdateExpression": "REMOVE stock"})
    assert db.update(Product, sku="p").set_default(stock=7).execute().stock == 7


def test_update_of_a_missing_item_fails(db: Client) -> None:
    with pytest.raises(ConditionalCheckFailedError):
        db.update(Customer, username="ghost").set(name="x").execute()


def test_update_refuses_primary_key_fields(db: Client) -> None:
    with pytest.raises(InvalidRequestError, match="part of the primary key"):
        db.update(Customer, username="ada").set(username="bob").execute()


def test_version_conflicts(db: Client) -> None:
    c = _ada()
    db.put(c)
    stale = db.get(Customer, username="ada")
    assert stale is not None
    db.update(c).set(name="first").execute()
    assert c.version == 2
    with pytest.raises(VersionConflictError) as e:
        db.update(stale).set(name="second").execute()
    assert e.value.expected == 1
    with pytest.raises(VersionConflictError):
        db.put(stale)
    with pytest.raises(VersionConflictError):
        db.delete(stale)
    db.delete(c)


def test_reserved_word_fields_never_break_requests(db: Client) -> None:
    # Customer.name, Order.status, Product.title... and raw attributes named like keywords
    db.put(_ada())
    db.put(_order(note="size data timestamp"))
    got = db.update(Customer, username="ada").set(name="N").condition(
        (F.name == "Ada") & F.email.exists()).execute()
    assert got.name == "N"
    orders = db.query(Order.primary, username="ada").where(
        (F.status == "PLACED") & F.note.contains("data")).project("status", "note").all()
    assert [o.status for o in orders] == ["PLACED"]


def test_sparse_index_follows_updates(db: Client) -> None:
    db.put(_order(ship_by=None))
    assert db.query(Order.awaiting_shipment).all() == []
    db.update(Order, username="ada", placed_at=AT, order_id="o1").set(
        ship_by=date(2026, 12, 1)).execute()
    got = db.query(Order.awaiting_shipment).all()
    assert [(o.order_id, o.ship_by, o.status) for o in got] == [("o1", date(2026, 12, 1),
                                                                 "PLACED")]
    db.update(Order, username="ada", placed_at=AT, order_id="o1").set(ship_by=None).execute()
    assert db.query(Order.awaiting_shipment).all() == []


def test_index_keys_are_rewritten_by_updates(db: Client) -> None:
    db.put(_order())
    db.update(Order, username="ada", placed_at=AT, order_id="o1").set(status="SHIPPED").execute()
    assert db.query(Order.by_status, status="PLACED").all() == []
    assert [o.order_id for o in db.query(Order.by_status, status="SHIPPED")] == ["o1"]


@pytest.mark.parametrize("text", ["1E+100", "1E-130",
                                  "9.9999999999999999999999999999999999999E+125",
                                  "-12345678901234567890123456789012345678"])
def test_numbers_at_dynamodb_limits_round_trip(db: Client, text: str) -> None:
    db.put(Product(sku="n", title="t", price=Decimal(text)))
    got = db.get(Product, sku="n")
    assert got is not None and got.price == Decimal(text)


@pytest.mark.parametrize("text", ["123456789012345678901234567890123456789", "1E+126", "1E-131"])
def test_numbers_beyond_limits_are_refused_locally(db: Client, text: str) -> None:
    with pytest.raises(InvalidValueError, match=r"Product: number .* in price"):
        db.put(Product(sku="n", title="t", price=Decimal(text)))
    # and DynamoDB agrees
    with pytest.raises(ServiceValidationError):
        db.send("PutItem", {"TableName": db.table_name,
                            "Item": {"PK": {"S": "n"}, "SK": {"S": "n"}, "v": {"N": text}}})


def _filler(db: Client, size: int) -> dict[str, dict[str, Any]]:
    item = codec_for(Product).encode(Product(sku="big", title="", price=Decimal(1)))
    item["title"] = {"S": "x" * (size - item_size(item))}
    assert item_size(item) == size
    return item


def test_item_size_matches_dynamodb_at_the_boundary(db: Client) -> None:
    at_limit = _filler(db, MAX_ITEM_SIZE)
    db.send("PutItem", {"TableName": db.table_name, "Item": at_limit})
    over = _filler(db, MAX_ITEM_SIZE + 1)
    with pytest.raises(ServiceValidationError, match="size"):
        db.send("PutItem", {"TableName": db.table_name, "Item": over})
    # mixed types: numbers, negative numbers, lists, maps, sets, multibyte names
    item = dict(at_limit)
    item.update({"n": {"N": "-1.5"}, "z": {"N": "0"}, "l": {"L": [{"N": "101"}, {"BOOL": True}]},
                 "m": {"M": {"é": {"SS": ["ab"]}}}, "b": {"BS": [b"xyz"]}})
    extra = item_size(item) - item_size(at_limit)
    item["title"] = {"S": "x" * (len(at_limit["title"]["S"]) - extra)}
    assert item_size(item) == MAX_ITEM_SIZE
    db.send("PutItem", {"TableName": db.table_name, "Item": item})
    item["title"] = {"S": item["title"]["S"] + "x"}
    with pytest.raises(ServiceValidationError, match="size"):
        db.send("PutItem", {"TableName": db.table_name, "Item": item})


def test_item_just_under_the_limit_is_written_over_is_refused(db: Client) -> None:
    base = item_size(codec_for(Product).encode(Product(sku="big", title="", price=Decimal(1))))
    db.put(Product(sku="big", title="x" * (399 * 1024 - base), price=Decimal(1)))
    with pytest.raises(ItemTooLargeError, match=r"Product item is 409601 bytes"):
        db.put(Product(sku="big", title="x" * (MAX_ITEM_SIZE + 1 - base), price=Decimal(1)))
