"""Orders: the placement transaction, the sparse open-orders index, carts that expire."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from apigw import Caller
from shopapi.models import Cart, CartLine, Customer, Order, OrderItem

from dyntable import Client
from dyntable.ttl import expires_at

pytestmark = pytest.mark.integration

LINES = [{"sku": "LAMP-1", "quantity": 2, "unit_price": "29.90"},
         {"sku": "BULB-4", "quantity": 1, "unit_price": "4.50"}]


@pytest.fixture
def acme(shop_db: Client) -> Caller:
    caller = Caller("acme")
    assert caller("POST", "/tenants/acme/customers", body={
        "customer_id": "c-ada", "email": "ada@acme.example", "name": "Ada"}).status == 201
    return caller


def test_placing_an_order_writes_order_items_and_counter_at_once(
        shop_db: Client, acme: Caller) -> None:
    placed = acme("POST", "/tenants/acme/orders", body={"customer_id": "c-ada", "lines": LINES})
    assert placed.status == 201, placed.text
    order = placed.json["order"]
    assert (order["total"], order["item_count"], order["status"]) == ("64.30", 2, "placed")

    got = acme("GET", f"/tenants/acme/orders/{order['order_id']}")
    assert got.status == 200 and got.json["order"] == order
    assert sorted((i["sku"], i["unit_price"]) for i in got.json["items"]) == [
        ("BULB-4", "4.50"), ("LAMP-1", "29.90")]
    stored = shop_db.send("GetItem", {"TableName": shop_db.table_name, "Key": {
        "PK": {"S": f"TENANT#acme#ORDER#{order['order_id']}"}, "SK": {"S": "ORDER"}}})["Item"]
    assert stored["total"] == {"N": "64.3"}                     # money is a number in the table
    ada = acme("GET", "/tenants/acme/customers/c-ada").json
    assert (ada["order_count"], ada["version"]) == (1, 2)
    mine = acme("GET", "/tenants/acme/customers/c-ada/orders").json["items"]
    assert [o["order_id"] for o in mine] == [order["order_id"]]          # GSI1


def test_a_failing_condition_leaves_nothing_written(shop_db: Client, acme: Caller) -> None:
    suspended = acme("PATCH", "/tenants/acme/customers/c-ada",
                     body={"status": "suspended", "version": 1})
    assert suspended.status == 200

    refused = acme("POST", "/tenants/acme/orders", body={"customer_id": "c-ada", "lines": LINES})
    assert refused.status == 422 and refused.json["error"]["code"] == "customer_not_active"
    unknown = acme("POST", "/tenants/acme/orders", body={"customer_id": "c-nobody",
                                                         "lines": LINES})
    assert unknown.status == 404

    # the order and its items were in the same transaction: none of them exists
    assert shop_db.scan(Order).count() == 0 and shop_db.scan(OrderItem).count() == 0
    ada = shop_db.get(Customer, tenant="acme", customer_id="c-ada", consistent=True)
    assert ada is not None and (ada.order_count, ada.version) == (0, 2)
    assert shop_db.get(Customer, tenant="acme", customer_id="c-nobody") is None


def test_shipping_takes_the_order_out_of_the_sparse_index(shop_db: Client, acme: Caller) -> None:
    ids = [acme("POST", "/tenants/acme/orders", body={"customer_id": "c-ada", "lines": LINES}
                ).json["order"]["order_id"] for _ in range(3)]
    open_now = acme("GET", "/tenants/acme/open-orders").json["items"]
    assert [o["order_id"] for o in open_now] == ids                      # oldest first

    path = f"/tenants/acme/orders/{ids[0]}"
    assert acme("PATCH", path, body={"status": "shipped"}, headers={"If-Match": '"7"'}
                ).status == 409
    shipped = acme("PATCH", path, body={"status": "shipped"}, headers={"If-Match": '"1"'})
    assert shipped.status == 200 and shipped.json["open_since"] is None
    assert [o["order_id"] for o in acme("GET", "/tenants/acme/open-orders").json["items"]
            ] == ids[1:]
    again = acme("PATCH", path, body={"status": "cancelled", "version": 2})
    assert again.status == 422 and again.json["error"]["code"] == "order_closed"
    stored = shop_db.send("GetItem", {"TableName": shop_db.table_name, "Key": {
        "PK": {"S": f"TENANT#acme#ORDER#{ids[0]}"}, "SK": {"S": "ORDER"}}})["Item"]
    assert "GSI2PK" not in stored and "GSI1PK" in stored


def test_a_cart_carries_its_ttl_and_disappears_when_expired(
        shop_db: Client, acme: Caller) -> None:
    before = int(time.time())
    put = acme("PUT", "/tenants/acme/customers/c-ada/cart",
               body={"lines": [{"sku": "LAMP-1", "quantity": 2}]})
    assert put.status == 200, put.text
    stored = shop_db.send("GetItem", {"TableName": shop_db.table_name, "Key": {
        "PK": {"S": "TENANT#acme#CUSTOMER#c-ada"}, "SK": {"S": "CART"}}})["Item"]
    ttl = int(stored["expires_at"]["N"])                   # epoch seconds: DynamoDB's TTL
    assert before + 24 * 3600 <= ttl <= int(time.time()) + 24 * 3600
    ttl_state = shop_db.send("DescribeTimeToLive", {"TableName": shop_db.table_name})
    assert ttl_state["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    assert acme("GET", "/tenants/acme/customers/c-ada/cart").json["lines"] == [
        {"sku": "LAMP-1", "quantity": 2}]

    # expired but not yet deleted by DynamoDB: the API treats it as gone
    shop_db.put(Cart(tenant="acme", customer_id="c-ada", lines=[CartLine(sku="X", quantity=1)],
                     expires_at=expires_at(datetime.now(timezone.utc) - timedelta(minutes=1))))
    assert acme("GET", "/tenants/acme/customers/c-ada/cart").status == 404
    bad = acme("PUT", "/tenants/acme/customers/c-ada/cart",
               body={"lines": [{"sku": "LAMP-1", "quantity": -1}]})
    assert bad.status == 400 and bad.error_fields() == ["lines.0.quantity"]
    assert acme("PUT", "/tenants/acme/customers/c-nobody/cart",
                body={"lines": []}).status == 404
