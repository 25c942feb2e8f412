"""Transactions: compiled TransactWriteItems, local limits, retries and decoded cancellations."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.operations.retry import Backoff
from dyntable.client import Client, Transaction
from dyntable.errors import (
    CancellationReason,
    InternalServerError,
    TransactionCanceledError,
    TransactionLimitError,
    TransactionVersionConflictError,
    VersionConflictError,
    service_error,
)
from dyntable.expressions.paths import F
from tests.models import Customer, Order, Product, shop

FAST = Backoff(base=0.001, cap=0.002, seed=1)
Responder = Callable[[str, dict[str, Any]], dict[str, Any]]


class Scripted:
    def __init__(self, responder: Responder | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.responder = responder or (lambda op, params: {})

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent.append((operation, copy.deepcopy(params)))
        return self.responder(operation, params)

    def close(self) -> None:
        pass


def client(t: Scripted) -> Client:
    return shop.connect(transport=t, table_name="t")


def product(sku: str = "p1", version: int = 0) -> Product:
    return Product(sku=sku, title="T", price=Decimal("2.50"), version=version)


def cancelled(codes: list[str | None], items: list[Any] | None = None) -> TransactionCanceledError:
    reasons = [{"Code": c or "None", "Message": c and "failed"} for c in codes]
    for r, item in zip(reasons, items or [], strict=False):
        if item:
            r["Item"] = item
    err = service_error("TransactionCanceledException", "cancelled",
                        operation="TransactWriteItems", status=400,
                        response={"CancellationReasons": reasons})
    assert isinstance(err, TransactionCanceledError)
    return err


def test_compiled_actions_and_token() -> None:
    t = Scripted()
    p = product(version=3)
    with Transaction(client(t), token="tok-1") as tx:
        tx.put(p)
        tx.update(Customer, username="ada").add(order_count=1)
        tx.delete(Order, username="ada", order_id="o1",
                  placed_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
        tx.check(Customer, username="bob", condition=F.name == "Bob")
    (op, params), = t.sent
    assert op == "TransactWriteItems" and params["ClientRequestToken"] == "tok-1"
    put, update, delete, check = params["TransactItems"]
    body = put["Put"]
    assert body["TableName"] == "t" and body["Item"]["version"] == {"N": "4"}
    assert body["ExpressionAttributeValues"][":v0"] == {"N": "3"}
    assert body["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    assert "ReturnValues" not in body
    assert update["Update"]["UpdateExpression"] == \
        "SET #n1 = if_not_exists(#n1, :v1) + :v2 ADD #n0 :v0"
    assert update["Update"]["ExpressionAttributeNames"] == {
        "#n0": "order_count", "#n1": "version", "#n2": "PK", "#fn0": "_entity"}
    assert update["Update"]["ConditionExpression"] == \
        "attribute_exists(#n2) AND (attribute_not_exists(#fn0) OR #fn0 = :fv0)"
    assert "_wt" not in update["Update"]["UpdateExpression"]  # the token makes it idempotent
    assert "ReturnValues" not in update["Update"]
    assert delete["Delete"]["Key"]["SK"]["S"].startswith("ORDER#2026-01-01")
    # a delete never removes an item of another entity
    assert delete["Delete"]["ConditionExpression"] == \
        "attribute_not_exists(#en0) OR attribute_not_exists(#en1) OR #en1 = :ev0"
    assert delete["Delete"]["ExpressionAttributeValues"] == {":ev0": {"S": "order"}}
    assert check["ConditionCheck"]["ConditionExpression"] == "#n0 = :v0"
    assert p.version == 4


def test_token_defaults_to_a_uuid_per_transaction() -> None:
    a, b = Transaction(client(Scripted())), Transaction(client(Scripted()))
    assert len(a.token) == 36 and a.token != b.token


def test_nothing_is_sent_when_the_block_raises() -> None:
    t = Scripted()
    with pytest.raises(RuntimeError):
        with Transaction(client(t)) as tx:
            tx.put(product())
            raise RuntimeError("boom")
    assert t.sent == []


def test_two_actions_on_one_item_are_refused() -> None:
    tx = Transaction(client(Scripted()))
    tx.put(product("x"))
    with pytest.raises(TransactionLimitError, match=r"same item as Put #0"):
        tx.update(Product, sku="x").set(title="y")


def test_more_than_100_actions_are_refused() -> None:
    tx = Transaction(client(Scripted()))
    for i in range(100):
        tx.check(Product, sku=f"p{i}", condition=F.stock > 0)
    with pytest.raises(TransactionLimitError, match="101 actions"):
        tx.put(product("one-more"))


def test_over_4_mb_is_refused_before_sending() -> None:
    t = Scripted()
    with pytest.raises(TransactionLimitError, match="4 MB"):
        with Transaction(client(t)) as tx:
            for i in range(11):
                tx.put(Product(sku=f"p{i}", title="x" * 390_000, price=Decimal(1)))
    assert t.sent == []


def test_conflicts_are_retried_with_the_same_token() -> None:
    calls = {"n": 0}

    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise cancelled(["TransactionConflict", None])
        if calls["n"] == 2:
            raise InternalServerError("oops", code="InternalServerError", operation=op)
        return {}

    t = Scripted(respond)
    tx = Transaction(client(t), backoff=FAST)
    with tx:
        tx.put(product("a"))
        tx.put(product("b"))
    assert len(t.sent) == 3 and tx.attempts == 3
    assert len({p["ClientRequestToken"] for _op, p in t.sent}) == 1
    assert t.sent[0][1] == t.sent[2][1]


def test_retries_are_bounded() -> None:
    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise cancelled(["TransactionConflict"])

    t = Scripted(respond)
    with pytest.raises(TransactionCanceledError):
        with Transaction(client(t), max_retries=2, backoff=FAST) as tx:
            tx.put(product())
    assert len(t.sent) == 3


def test_condition_failures_are_never_retried_and_are_explained() -> None:
    stored = {"PK": {"S": "CUSTOMER#bob"}, "SK": {"S": "CUSTOMER#bob"},
              "_entity": {"S": "customer"}, "username": {"S": "bob"}, "email": {"S": "b@x"},
              "name": {"S": "Robert"}, "version": {"N": "2"}}

    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise cancelled([None, "ConditionalCheckFailed"], [None, stored])

    t = Scripted(respond)
    with pytest.raises(TransactionCanceledError) as info:
        with Transaction(client(t), backoff=FAST) as tx:
            tx.put(product())
            tx.check(Customer, username="bob", condition=F.name == "Bob")
    assert len(t.sent) == 1
    err = info.value
    assert not isinstance(err, VersionConflictError)
    (failed,) = err.failed
    assert isinstance(failed, CancellationReason)
    assert (failed.index, failed.action, failed.model) == (1, "ConditionCheck", "Customer")
    assert failed.key == {"PK": {"S": "CUSTOMER#bob"}, "SK": {"S": "CUSTOMER#bob"}}
    assert isinstance(failed.current, Customer) and failed.current.name == "Robert"
    assert "ConditionCheck #1 Customer" in str(err)


def test_version_failure_is_a_version_conflict_naming_the_item() -> None:
    stored = {"PK": {"S": "PRODUCT#p1"}, "SK": {"S": "PRODUCT"}, "_entity": {"S": "product"},
              "sku": {"S": "p1"}, "title": {"S": "T"}, "price": {"N": "2.5"},
              "version": {"N": "5"}}

    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise cancelled(["ConditionalCheckFailed", None], [stored, None])

    p = product(version=4)
    with pytest.raises(TransactionVersionConflictError) as info:
        with Transaction(client(Scripted(respond))) as tx:
            tx.update(p).set(title="new")
            tx.put(product("p2"))
    err = info.value
    assert isinstance(err, VersionConflictError) and isinstance(err, TransactionCanceledError)
    assert err.expected == 4 and err.key == {"PK": {"S": "PRODUCT#p1"}, "SK": {"S": "PRODUCT"}}
    assert err.item == stored and err.conflicts[0].model == "Product"
    assert p.version == 4


def test_user_condition_failure_with_matching_version_is_not_a_version_conflict() -> None:
    stored = {"PK": {"S": "PRODUCT#p1"}, "SK": {"S": "PRODUCT"}, "_entity": {"S": "product"},
              "sku": {"S": "p1"}, "title": {"S": "T"}, "price": {"N": "2.5"},
              "version": {"N": "4"}}

    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise cancelled(["ConditionalCheckFailed"], [stored])

    with pytest.raises(TransactionCanceledError) as info:
        with Transaction(client(Scripted(respond))) as tx:
            tx.put(product(version=4), condition=F.stock > 10)
    assert not isinstance(info.value, VersionConflictError)


def test_return_failed_items_off_drops_the_request_for_items() -> None:
    t = Scripted()
    with Transaction(client(t), return_failed_items=False) as tx:
        tx.put(product(), if_absent=True)
    body = t.sent[0][1]["TransactItems"][0]["Put"]
    assert "ConditionExpression" in body
    assert "ReturnValuesOnConditionCheckFailure" not in body


def test_empty_transaction_sends_nothing() -> None:
    t = Scripted()
    with Transaction(client(t)):
        pass
    assert t.sent == []


def test_transact_get_request_order_and_limit() -> None:
    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        out = []
        for g in params["TransactItems"]:
            key = g["Get"]["Key"]
            if key["PK"]["S"] == "PRODUCT#p1":
                out.append({"Item": {**key, "_entity": {"S": "product"}, "sku": {"S": "p1"},
                                     "title": {"S": "T"}, "price": {"N": "1"}}})
            else:
                out.append({})
        return {"Responses": out}

    t = Scripted(respond)
    got = client(t).transact_get([Product.primary(sku="p2"), product("p1"),
                                   Product.primary(sku="p1")])
    assert got[0] is None and isinstance(got[1], Product) and got[2] == got[1]
    assert len(t.sent[0][1]["TransactItems"]) == 2
    with pytest.raises(TransactionLimitError):
        client(t).transact_get([Product.primary(sku=f"p{i}") for i in range(101)])


def test_cancellation_reason_subclass_keeps_base_fields() -> None:
    r = CancellationReason(0, "ConditionalCheckFailed", current=None)
    assert isinstance(r, CancellationReason) and r.code == "ConditionalCheckFailed"
