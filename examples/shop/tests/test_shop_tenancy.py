"""Tenant isolation: the tenant is the verified ``custom:tenant`` claim, nothing else.

Another tenant's user gets 403 (its token names another tenant than the path) or 404 (the
ids of another tenant do not exist in its own keys), and never a byte of the other
tenant's data: not by get, list, update, delete, nor by replaying its cursor.
"""

from __future__ import annotations

import pytest
from apigw import Caller, Reply, Shape
from shopapi.models import Customer, Order

from dyntable import Client

pytestmark = pytest.mark.integration

SECRET_BITS = ("Ada", "ada@acme.example", "c-ada", "LAMP-1")


def _leaks(reply: Reply) -> list[str]:
    return [bit for bit in SECRET_BITS if bit in reply.text]


def _acme_with_data() -> tuple[str, str]:
    """acme's customer c-ada (two more, for a cursor) and one order; (order id, cursor)."""
    acme = Caller("acme")
    for cid, name in (("c-ada", "Ada"), ("c-bob", "Bob"), ("c-cy", "Cy")):
        acme("POST", "/tenants/acme/customers",
             body={"customer_id": cid, "email": f"{name.lower()}@acme.example", "name": name})
    placed = acme("POST", "/tenants/acme/orders", body={"customer_id": "c-ada", "lines": [
        {"sku": "LAMP-1", "quantity": 1, "unit_price": "30.00"}]})
    assert placed.status == 201, placed.text
    cursor = acme("GET", "/tenants/acme/customers", query={"limit": "1"}).json["next_cursor"]
    assert cursor
    return placed.json["order"]["order_id"], cursor


@pytest.mark.parametrize("shape", ["rest", "http"])
def test_another_tenant_never_reads_or_changes_acme(shop_db: Client, shape: Shape) -> None:
    order_id, acme_cursor = _acme_with_data()
    globex = Caller("globex", shape)
    acme_paths = {
        "customer": "/tenants/acme/customers/c-ada",
        "customers": "/tenants/acme/customers",
        "order": f"/tenants/acme/orders/{order_id}",
        "orders": "/tenants/acme/customers/c-ada/orders",
        "open": "/tenants/acme/open-orders",
        "cart": "/tenants/acme/customers/c-ada/cart",
    }
    # 1. acme's paths with globex's token: 403, whatever the method
    attempts = [("GET", p, None) for p in acme_paths.values()] + [
        ("PATCH", acme_paths["customer"], {"name": "pwned", "version": 1}),
        ("DELETE", acme_paths["customer"], None),
        ("PATCH", acme_paths["order"], {"status": "cancelled", "version": 1}),
        ("PUT", acme_paths["cart"], {"lines": [{"sku": "X", "quantity": 1}]}),
        ("POST", "/tenants/acme/orders",
         {"customer_id": "c-ada", "lines": [{"sku": "X-1", "quantity": 1, "unit_price": "1"}]}),
    ]
    for method, path, body in attempts:
        reply = globex(method, path, body=body)
        assert reply.status == 403, (method, path, reply.status, reply.text)
        assert _leaks(reply) == [], (method, path)

    # 2. acme's ids under globex's own tenant: they do not exist there
    own = {name: p.replace("/tenants/acme/", "/tenants/globex/")
           for name, p in acme_paths.items()}
    for method, path, body in [
        ("GET", own["customer"], None),
        ("GET", own["order"], None),
        ("GET", own["cart"], None),
        ("PATCH", own["customer"], {"name": "pwned", "version": 1}),
        ("DELETE", own["customer"], None),
        ("PATCH", own["order"], {"status": "cancelled", "version": 1}),
        ("POST", "/tenants/globex/orders",
         {"customer_id": "c-ada", "lines": [{"sku": "X-1", "quantity": 1, "unit_price": "1"}]}),
    ]:
        reply = globex(method, path, body=body)
        assert reply.status == 404, (method, path, reply.status, reply.text)
        assert _leaks(reply) == [], (method, path)
    for listing in ("customers", "orders", "open"):
        reply = globex("GET", own[listing], query={"tenant": "acme"})   # a query param: ignored
        assert reply.status == 200 and reply.json["items"] == [], listing

    # 3. acme's cursor replayed by globex on its own listing: refused, nothing read
    replay = globex("GET", own["customers"], query={"cursor": acme_cursor})
    assert replay.status == 400 and replay.error_fields() == ["cursor"]
    assert _leaks(replay) == []

    # 4. a tenant in the body is refused, not used
    smuggled = globex("POST", "/tenants/globex/customers", body={
        "tenant": "acme", "customer_id": "c-eve", "email": "eve@globex.example", "name": "Eve"})
    assert smuggled.status == 400 and smuggled.error_fields() == ["tenant"]

    # 5. a token without the tenant claim
    assert Caller(None, shape)("GET", own["customers"]).status == 403

    # acme's data is exactly as it was
    ada = shop_db.get(Customer, tenant="acme", customer_id="c-ada", consistent=True)
    assert ada is not None and (ada.name, ada.version, ada.order_count) == ("Ada", 2, 1)
    order = shop_db.get(Order, tenant="acme", order_id=order_id, consistent=True)
    assert order is not None and (order.status, order.version) == ("placed", 1)
    assert shop_db.scan(Customer).count() == 3
