"""Transactions against DynamoDB Local: atomicity, decoded cancellations, idempotency."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from dyntable.client import Client, Transaction
from dyntable.errors import (
    CancellationReason,
    TransactionCanceledError,
    TransactionVersionConflictError,
    VersionConflictError,
)
from dyntable.expressions.paths import F
from tests.models import Customer, Order, Product

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def setup_shop(db: Client) -> tuple[Customer, Product]:
    ada = Customer(username="ada", email="ada@x.io", name="Ada")
    widget = Product(sku="w1", title="Widget", price=Decimal("3.00"), stock=5)
    db.put(ada)
    db.put(widget)
    db.put(Customer(username="bob", email="bob@x.io", name="Bob"))
    return ada, widget


def place(tx: Transaction, order_id: str, widget: Product) -> Order:
    o = Order(username="ada", order_id=order_id, status="PLACED", placed_at=T0,
              total=Decimal("3.00"))
    tx.put(o, if_absent=True)
    tx.update(Customer, username="ada").add(order_count=1)
    tx.update(Product, sku=widget.sku).add(stock=-1).condition(F.stock > 0)
    return o


def test_all_actions_apply_together(db: Client) -> None:
    _ada, widget = setup_shop(db)
    with Transaction(db) as tx:
        o = place(tx, "o1", widget)
        tx.check(Customer, username="bob", condition=F.name == "Bob")
    assert db.get(Order, username="ada", order_id="o1", placed_at=T0) == o
    assert db.get(Customer, username="ada").order_count == 1  # type: ignore[union-attr]
    stored = db.get(Product, sku="w1")
    assert stored is not None and stored.stock == 4 and stored.version == 2


def test_failed_check_cancels_everything_and_names_the_item(db: Client) -> None:
    _ada, widget = setup_shop(db)
    with pytest.raises(TransactionCanceledError) as info:
        with Transaction(db) as tx:
            place(tx, "o1", widget)
            tx.check(Customer, username="bob", condition=F.name == "Grace")
    err = info.value
    assert not isinstance(err, VersionConflictError)
    (failed,) = err.failed
    assert isinstance(failed, CancellationReason)
    assert (failed.index, failed.action, failed.model, failed.code) == \
        (3, "ConditionCheck", "Customer", "ConditionalCheckFailed")
    assert isinstance(failed.current, Customer) and failed.current.name == "Bob"
    assert db.get(Order, username="ada", order_id="o1", placed_at=T0) is None
    assert db.get(Product, sku="w1").stock == 5  # type: ignore[union-attr]


def test_stale_version_is_a_version_conflict(db: Client) -> None:
    _ada, widget = setup_shop(db)
    stale = widget.model_copy()
    db.update(widget).set(title="Widget 2").execute()
    with pytest.raises(TransactionVersionConflictError) as info:
        with Transaction(db) as tx:
            tx.put(stale.model_copy(update={"stock": 99}))
            tx.update(Customer, username="ada").add(order_count=1)
    err = info.value
    assert isinstance(err, VersionConflictError) and err.expected == 1
    assert err.key == {"PK": {"S": "PRODUCT#w1"}, "SK": {"S": "PRODUCT"}}
    assert err.item is not None and err.item["version"] == {"N": "2"}
    assert db.get(Customer, username="ada").order_count == 0  # type: ignore[union-attr]


def test_versions_are_checked_and_bumped_inside_transactions(db: Client) -> None:
    ada, widget = setup_shop(db)
    with Transaction(db) as tx:
        tx.put(ada.model_copy(update={"name": "Ada L."}))
        tx.update(widget).add(stock=1)
    stored = db.get(Product, sku="w1")
    assert stored is not None and stored.version == 2 and stored.stock == 6
    with pytest.raises(TransactionVersionConflictError):
        with Transaction(db) as tx:
            tx.delete(widget)  # still at version 1
    assert db.get(Product, sku="w1") is not None


def test_same_token_applies_once(db: Client) -> None:
    setup_shop(db)
    token = f"order-o1-{uuid.uuid4().hex[:16]}"
    for _ in range(3):
        with Transaction(db, token=token) as tx:
            tx.update(Customer, username="ada").add(order_count=1)
            tx.update(Product, sku="w1").add(stock=-1)
    assert db.get(Customer, username="ada").order_count == 1  # type: ignore[union-attr]
    assert db.get(Product, sku="w1").stock == 4  # type: ignore[union-attr]


def test_transact_get_reads_mixed_entities_in_order(db: Client) -> None:
    ada, widget = setup_shop(db)
    got = db.transact_get([Product.primary(sku="w1"), Customer.primary(username="nobody"), ada])
    assert got == [widget, None, ada]
