"""Static types of the public API, checked by ``mypy --strict`` (and run by pytest).

``assert_type`` is a no-op at runtime; under mypy it fails when the inferred type differs.
"""

from __future__ import annotations

from decimal import Decimal

from typing_extensions import assert_type

from dyntable import F, Page
from dyntable._internal.operations.collections import Collection
from dyntable.client import Client, Query, Scan, UpdateBuilder
from tests.models import Customer, Order, Product


def check_types(db: Client) -> None:
    """Never called with a real client: only its types matter."""
    assert_type(db.get(Customer, username="ada"), Customer | None)
    # The mypy plugin (dyntable.mypy, enabled in pyproject.toml) refuses a misspelt key field;
    # with warn_unused_ignores, this line fails the type check if it ever stops doing so.
    db.get(Customer, usernme="ada")  # type: ignore[call-arg]
    assert_type(db.query(Order.primary, username="ada"), Query[Order])
    assert_type(db.query(Order.primary, username="ada").all(), list[Order])
    assert_type(db.query(Order.by_status, status="PLACED").first(), Order | None)
    assert_type(db.query(Order.primary, username="ada").page(None), Page[Order])
    assert_type(db.update(Customer, username="ada"), UpdateBuilder[Customer])
    assert_type(db.update(Customer, username="ada").set(name="Ada").execute(), Customer)
    c = Customer(username="ada", email="e", name="n")
    assert_type(db.update(c).add(order_count=1).execute(), Customer)
    assert_type(db.put(c), Customer | None)
    assert_type(db.delete(Product, sku="p"), Product | None)
    assert_type(db.scan(Product), Scan[Product])
    assert_type(db.scan(Product).all(), list[Product])
    assert_type(db.collection(pk="CUSTOMER#ada"), Collection)
    assert_type(db.collection(pk="CUSTOMER#ada").of(Order), list[Order])
    assert_type(db.query(Order.primary, username="ada").count(), int)
    assert_type(Product(sku="p", title="t", price=Decimal(1)).price, Decimal)
    query = db.query(Order.primary, username="ada").where(F.status == "PLACED").limit(3)
    assert_type(query.all(), list[Order])


def test_types_module_runs(offline_db: Client) -> None:
    # The checks above are for mypy; at runtime, building the requests must also work.
    assert offline_db.query(Order.primary, username="ada").params()["TableName"] == "shop"
    assert callable(check_types)
