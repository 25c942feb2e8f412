"""Customers over HTTP: create/read/list, pagination, optimistic locking, validation, errors."""

from __future__ import annotations

import base64
import json

import pytest
from apigw import Caller, Shape
from shopapi import api
from shopapi.db import database

from dyntable import Client

pytestmark = pytest.mark.integration

ADA = {"customer_id": "c-ada", "email": "ada@acme.example", "name": "Ada"}


@pytest.mark.parametrize("shape", ["rest", "http"])
def test_create_then_get_with_either_api_gateway_payload(shop_db: Client, shape: Shape) -> None:
    acme = Caller("acme", shape)
    created = acme("POST", "/tenants/acme/customers", body=ADA)
    assert created.status == 201, created.text
    assert created.headers["Location"] == "/tenants/acme/customers/c-ada"
    assert created.headers["ETag"] == '"1"'

    got = acme("GET", "/tenants/acme/customers/c-ada")
    assert got.status == 200
    assert got.json == {**ADA, "tenant": "acme", "status": "active", "order_count": 0,
                        "version": 1}
    stored = shop_db.send("GetItem", {"TableName": shop_db.table_name, "Key": {
        "PK": {"S": "TENANT#acme#CUSTOMER#c-ada"}, "SK": {"S": "CUSTOMER"}}})["Item"]
    assert stored["GSI1PK"] == {"S": "TENANT#acme#CUSTOMERS"}

    again = acme("POST", "/tenants/acme/customers", body=ADA)
    assert again.status == 409 and again.json["error"]["code"] == "already_exists"


def test_pagination_round_trip_over_http(shop_db: Client) -> None:
    acme = Caller("acme")
    ids = [f"c-{i:02d}" for i in range(7)]
    for cid in ids:
        assert acme("POST", "/tenants/acme/customers",
                    body={"customer_id": cid, "email": f"{cid}@acme.example",
                          "name": cid}).status == 201
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = acme("GET", "/tenants/acme/customers", query=query)
        assert page.status == 200, page.text
        assert len(page.json["items"]) <= 3
        seen += [c["customer_id"] for c in page.json["items"]]
        cursor, pages = page.json["next_cursor"], pages + 1
        if cursor is None:
            break
    assert seen == ids and pages >= 3

    first = acme("GET", "/tenants/acme/customers", query={"limit": "3"}).json["next_cursor"]
    tampered = first[:-1] + ("0" if first[-1] != "0" else "1")
    bad = acme("GET", "/tenants/acme/customers", query={"cursor": tampered})
    assert bad.status == 400 and bad.error_fields() == ["cursor"]
    elsewhere = acme("GET", "/tenants/acme/open-orders", query={"cursor": first})
    assert elsewhere.status == 400 and elsewhere.error_fields() == ["cursor"]
    assert acme("GET", "/tenants/acme/customers", query={"limit": "0"}).error_fields() == [
        "limit"]


def test_stale_version_is_409_and_a_missing_one_428(shop_db: Client) -> None:
    acme = Caller("acme")
    acme("POST", "/tenants/acme/customers", body=ADA)
    path = "/tenants/acme/customers/c-ada"

    first = acme("PATCH", path, body={"name": "Ada L."}, headers={"If-Match": '"1"'})
    assert first.status == 200 and first.json["version"] == 2
    assert first.headers["ETag"] == '"2"'
    stale = acme("PATCH", path, body={"name": "Countess"}, headers={"If-Match": '"1"'})
    assert stale.status == 409 and stale.json["error"]["code"] == "version_conflict"
    stale_body = acme("PATCH", path, body={"name": "Countess", "version": 1})
    assert stale_body.status == 409
    assert acme("GET", path).json["name"] == "Ada L."          # the stale writes did nothing

    blind = acme("PATCH", path, body={"name": "Countess"})
    assert blind.status == 428
    ok = acme("PATCH", path, body={"name": "Countess", "version": 2})
    assert ok.status == 200 and ok.json["name"] == "Countess"

    weak = acme("PATCH", path, body={"name": "Ada"}, headers={"If-Match": 'W/"3"'})
    assert weak.status == 200 and weak.json["version"] == 4
    junk = acme("PATCH", path, body={"name": "Ada"}, headers={"If-Match": "*"})
    assert junk.status == 400 and junk.error_fields() == ["If-Match"]

    assert acme("DELETE", path, headers={"If-Match": '"3"'}).status == 409
    assert acme("DELETE", path, headers={"If-Match": '"4"'}).status == 204
    assert acme("GET", path).status == 404
    assert acme("PATCH", path, body={"name": "x", "version": 4}).status == 404


def test_malformed_bodies_are_400_naming_the_field(shop_db: Client) -> None:
    acme = Caller("acme")
    not_json = acme("POST", "/tenants/acme/customers", body="{not json")
    assert not_json.status == 400 and not_json.error_fields() == ["body"]

    bad = acme("POST", "/tenants/acme/customers",
               body={"customer_id": "c#1", "email": "nope", "name": "Ada", "colour": "red"})
    assert bad.status == 400
    assert sorted(bad.error_fields()) == ["colour", "customer_id", "email"]
    assert bad.json["error"]["code"] == "validation_error"

    missing = acme("POST", "/tenants/acme/orders", body={"lines": [
        {"sku": "LAMP-1", "quantity": 0, "unit_price": "9.99"}]})
    assert sorted(missing.error_fields()) == ["customer_id", "lines.0.quantity"]
    bad_path = acme("GET", "/tenants/acme/customers/has%20space")
    assert bad_path.status == 400 and bad_path.error_fields() == ["customer_id"]
    nothing = acme("PATCH", "/tenants/acme/customers/c-ada", body={"version": 1})
    assert nothing.status == 400 and nothing.error_fields() == ["body"]


def test_base64_bodies_are_read(shop_db: Client) -> None:
    event = Caller("acme", "http").event("POST", "/tenants/acme/customers")
    event.update(isBase64Encoded=True, body=base64.b64encode(json.dumps(ADA).encode()).decode())
    assert api.handler(event, None)["statusCode"] == 201


def test_one_connection_serves_every_invocation(shop_db: Client) -> None:
    acme = Caller("acme")
    client = database()
    acme("POST", "/tenants/acme/customers", body=ADA)
    acme("GET", "/tenants/acme/customers/c-ada")
    assert database() is client and client.transport is shop_db.transport


def test_unexpected_failures_are_500_without_internals(
        shop_db: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TABLE_NAME", "shop-table-that-does-not-exist")
    database.cache_clear()  # a deployment pointing at a missing table
    context = type("Context", (), {"aws_request_id": "req-123"})()
    reply = Caller("acme", context=context)("GET", "/tenants/acme/customers/c-ada")
    assert reply.status == 500
    assert reply.json == {"error": {"code": "internal_error",
                                    "message": "internal error (request id req-123)"}}
    assert "does-not-exist" not in reply.text and "ResourceNotFound" not in reply.text
    assert "request req-123 failed (dyntable error)" in caplog.text     # logged for operators


def test_routes_and_methods(shop_db: Client) -> None:
    acme = Caller("acme")
    event = acme.event("PUT", "/tenants/acme/customers")       # a route, not that method
    assert api.handler(event, None)["statusCode"] == 405
