"""Upsert: create-or-update in one UpdateItem, on DynamoDB Local, over every transport."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from dyntable.client import Client
from dyntable.errors import ForeignItemError, InvalidRequestError, VersionConflictError
from tests.models import Customer, Product

pytestmark = pytest.mark.integration


def raw(db: Client, pk: str, sk: str) -> dict[str, Any]:
    got = db.send("GetItem", {"TableName": db.table_name, "ConsistentRead": True,
                              "Key": {"PK": {"S": pk}, "SK": {"S": sk}}})
    item: dict[str, Any] = got.get("Item") or {}
    return item


def test_an_upsert_creates_a_complete_item(db: Client) -> None:
    made = db.upsert(Customer, username="ada").set(email="a@x", name="Ada").add(
        order_count=1).execute()
    assert made == Customer(username="ada", email="a@x", name="Ada", order_count=1, version=1)
    stored = raw(db, "CUSTOMER#ada", "CUSTOMER#ada")
    assert stored["_entity"] == {"S": "customer"} and stored["username"] == {"S": "ada"}
    assert stored["tier"] == {"S": "free"}  # the declared default
    assert stored["GSI1PK"] == {"S": "EMAIL#a@x"}  # index key filled
    assert db.get(Customer, username="ada") == made
    assert [c.username for c in db.query(Customer.by_email, email="a@x")] == ["ada"]


def test_an_upsert_of_an_existing_item_keeps_what_it_does_not_set(db: Client) -> None:
    db.put(Product(sku="p1", title="Lamp", price=Decimal("9.50"), stock=4,
                   categories=["home"]))
    again = db.upsert(Product, sku="p1").set(title="Lamp", price=Decimal("9.50")).add(
        stock=3).execute()
    # stock and categories were not reset to their defaults; the version moved on
    assert (again.stock, again.categories, again.version) == (7, ["home"], 2)


def test_counters_on_new_keys_need_one_call(db: Client) -> None:
    for _ in range(3):
        db.upsert(Product.primary(sku="c1")).set(title="Counter", price=Decimal(0)).add(
            stock=1).execute()
    got = db.get(Product, sku="c1")
    assert got is not None and got.stock == 3 and got.version == 3


def test_concurrent_upserts_count_every_increment(db: Client) -> None:
    def worker() -> None:
        for _ in range(10):
            db.upsert(Product, sku="hot").set(title="Hot", price=Decimal(1)).add(
                stock=1).execute()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    got = db.get(Product, sku="hot", consistent=True)
    assert got is not None and got.stock == 40 and got.version == 40


def test_upsert_refuses_half_items_foreign_items_and_stale_versions(db: Client) -> None:
    with pytest.raises(InvalidRequestError, match=r"required field\(s\) \['email', 'name'\]"):
        db.upsert(Customer, username="bob").add(order_count=1).execute()
    assert raw(db, "CUSTOMER#bob", "CUSTOMER#bob") == {}
    with pytest.raises(InvalidRequestError, match="not an instance"):
        db.upsert(Customer(username="bob", email="b@x", name="Bob"))  # type: ignore[call-overload]
    db.send("PutItem", {"TableName": db.table_name, "Item": {
        "PK": {"S": "PRODUCT#p9"}, "SK": {"S": "PRODUCT"}, "_entity": {"S": "coupon"}}})
    with pytest.raises(ForeignItemError):
        db.upsert(Product, sku="p9").set(title="x", price=Decimal(1)).execute()
    db.upsert(Product, sku="p2").set(title="x", price=Decimal(1)).execute()
    with pytest.raises(VersionConflictError):
        db.upsert(Product, sku="p2").set(title="y", price=Decimal(1)).expect_version(
            0).execute()
    assert db.upsert(Product, sku="p2").set(title="y", price=Decimal(1)).expect_version(
        1).execute().version == 2
