"""Ambiguous failures of single-item writes, settled by the write's own receipt.

A :class:`~dyntable.testing.fault_proxy.FaultProxy` between a real transport and DynamoDB
Local decides each request's fate with a scripted dealer, and can let another writer write
straight to DynamoDB Local at a chosen moment, so every case is deterministic:

- a throttled first attempt is never applied, even when the retry then meets another
  writer's identical increment (the lost update of issue 12, defect 1);
- a 500 after the write was applied is settled as applied by the receipt token, also when
  another writer wrote on top before the resend;
- a write that cannot be settled raises OutcomeUnknownError, never a success;
- a non-idempotent update is never resent after an ambiguous failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from dyntable._internal.operations.send import SETTLE_RESENDS
from dyntable._internal.operations.tables import create_table_params
from dyntable.client import Client
from dyntable.errors import OutcomeUnknownError, VersionConflictError
from dyntable.testing.fault_proxy import Decision, FaultProxy
from dyntable.transport.base import Transport
from dyntable.transport.boto3 import Boto3Transport, RetryConfig
from dyntable.transport.http import HttpTransport
from tests.async_facade import async_http, connect
from tests.models import Customer, Product, shop

pytestmark = pytest.mark.integration

KINDS = ["http", "boto3", "async"]


@pytest.fixture
def direct(dynamodb_endpoint: str) -> Iterator[Client]:
    db = shop.connect(transport=HttpTransport(endpoint_url=dynamodb_endpoint,
                                              region="us-east-1"),
                      table_name=f"ambiguous-{uuid.uuid4().hex[:10]}")
    params = create_table_params(shop)
    params["TableName"] = db.table_name
    params.pop("StreamSpecification", None)
    db.send("CreateTable", params)
    db.wait_until_active()
    yield db
    db.delete_table(wait=False)
    db.close()


def _transport(kind: str, url: str, attempts: int = 6) -> Transport:
    if kind == "async":
        transport: Transport = async_http(url, max_attempts=attempts, sleep=_no_sleep)
        return transport
    if kind == "http":
        return HttpTransport(endpoint_url=url, region="us-east-1", max_attempts=attempts,
                             sleep=lambda s: None)
    return Boto3Transport(endpoint_url=url, region="us-east-1",
                          retry=RetryConfig(max_attempts=attempts))


async def _no_sleep(seconds: float) -> None:
    """The async transport's backoff, skipped (the script decides every answer)."""


class Script:
    """A dealer: the n-th request of the listed operations gets the n-th decision; an
    action may run (e.g. another writer's write, straight to DynamoDB Local) first."""

    def __init__(self, operations: tuple[str, ...],
                 steps: list[tuple[str | None, Callable[[], None] | None]]) -> None:
        self.operations = operations
        self.steps = list(steps)
        self.seen: list[tuple[str, str | None]] = []

    def decide(self, operation: str, entries: int) -> Decision:
        if operation not in self.operations or not self.steps:
            self.seen.append((operation, None))
            return Decision()
        kind, action = self.steps.pop(0)
        if action is not None:
            action()
        self.seen.append((operation, kind))
        if kind == "throttle":
            return Decision("throttle", code="ThrottlingException")
        return Decision(kind)


def _proxied(direct: Client, endpoint: str, kind: str, script: Script,
             attempts: int = 6) -> tuple[FaultProxy, Client]:
    proxy = FaultProxy(endpoint, rate=1.0, seed=1).start()
    proxy._dealer = script  # type: ignore[assignment]
    db = connect(shop, _transport(kind, proxy.endpoint_url, attempts), direct.table_name)
    return proxy, db


def _product(direct: Client, sku: str = "w1") -> Product:
    direct.put(Product(sku=sku, title="Widget", price=Decimal("1.50")))
    stored = direct.get(Product, sku=sku, consistent=True)
    assert stored is not None and stored.version == 1
    return stored


def _bump(direct: Client, sku: str = "w1") -> Callable[[], None]:
    """Another writer's read-modify-write increment of ``stock``, straight to DynamoDB
    Local."""

    def run() -> None:
        other = direct.get(Product, sku=sku, consistent=True)
        assert other is not None
        direct.update(other).set(stock=other.stock + 1).execute()

    return run


@pytest.mark.parametrize("kind", KINDS)
def test_throttled_attempt_then_another_writers_increment_is_a_conflict(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    # The deterministic lost update: A's first attempt is throttled (never applied); B's
    # identical increment commits meanwhile; A's resend fails its version check. The item
    # B left is exactly what A would have made, and A must still report the conflict.
    mine = _product(direct)
    script = Script(("UpdateItem",), [("throttle", _bump(direct))])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        with pytest.raises(VersionConflictError) as info:
            db.update(mine).set(stock=mine.stock + 1).execute()
        assert (info.value.expected, info.value.actual) == (1, 2)
    finally:
        db.close()
        proxy.close()
    assert [k for _, k in script.seen if k] == ["throttle"]
    stored = direct.get(Product, sku="w1", consistent=True)
    assert stored is not None and (stored.stock, stored.version) == (1, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_a_500_before_applying_then_another_writers_put_is_a_conflict(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    # A 500 the proxy answers itself: ambiguous for the client, not applied in fact. B's put
    # of the same values moves the version; A's resend must not be mistaken for applied.
    mine = _product(direct)

    def other_put() -> None:
        other = direct.get(Product, sku="w1", consistent=True)
        assert other is not None
        direct.put(other.model_copy(update={"stock": 1}))

    script = Script(("PutItem",), [("http500", other_put)])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        with pytest.raises(VersionConflictError):
            db.put(mine.model_copy(update={"stock": 1}))
    finally:
        db.close()
        proxy.close()
    stored = direct.get(Product, sku="w1", consistent=True)
    assert stored is not None and stored.version == 2


@pytest.mark.parametrize("kind", KINDS)
def test_applied_before_a_500_is_settled_by_the_receipt(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    product = Product(sku="w1", title="Widget", price=Decimal("1.50"))
    script = Script(("PutItem", "UpdateItem"), [("http500_after", None),
                                                ("http500_after", None)])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        db.put(product)  # applied, 500, resent: the resend fails on its own receipt
        assert product.version == 1
        updated = db.update(product).set(title="Widget 2").execute()
        assert (updated.version, updated.title) == (2, "Widget 2")
    finally:
        db.close()
        proxy.close()
    assert [k for _, k in script.seen if k] == ["http500_after", "http500_after"]
    stored = direct.get(Product, sku="w1", consistent=True)
    assert stored is not None and (stored.version, stored.title) == (2, "Widget 2")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("other", ["update", "put"])
def test_applied_then_overwritten_by_another_writer_is_still_applied(
    direct: Client, dynamodb_endpoint: str, kind: str, other: str
) -> None:
    # A's update is applied, then B writes on top of it before A looks (B's write runs as
    # A's read reaches the proxy): the stored item no longer holds A's result, but A's
    # receipt is still on it.
    mine = _product(direct)

    def b_writes() -> None:
        current = direct.get(Product, sku="w1", consistent=True)
        assert current is not None and current.version == 2  # A's write
        if other == "update":
            direct.update(current).set(title="by B").execute()
        else:
            direct.put(current.model_copy(update={"title": "by B"}))

    script = Script(("UpdateItem", "GetItem"), [("http500_after", None), (None, b_writes)])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        result = db.update(mine).add(stock=5).execute()
    finally:
        db.close()
        proxy.close()
    assert (result.version, result.stock, result.title) == (3, 5, "by B")
    stored = direct.get(Product, sku="w1", consistent=True)
    assert stored is not None and (stored.stock, stored.version) == (5, 3)


@pytest.mark.parametrize("kind", KINDS)
def test_a_versioned_delete_that_cannot_be_settled_is_unknown(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    # A deleted item keeps no receipt: "gone" could be this delete's doing or another's.
    mine = _product(direct)
    script = Script(("DeleteItem",), [("http500_after", None)])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        with pytest.raises(OutcomeUnknownError) as info:
            db.delete(mine)
    finally:
        db.close()
        proxy.close()
    assert info.value.key == {"PK": {"S": "PRODUCT#w1"}, "SK": {"S": "PRODUCT"}}
    assert direct.get(Product, sku="w1", consistent=True) is None


@pytest.mark.parametrize("kind", KINDS)
def test_a_non_idempotent_update_is_never_resent(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    direct.put(Customer(username="ada", email="a@x.io", name="Ada"))
    script = Script(("UpdateItem",), [("http500_after", None)])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        with pytest.raises(OutcomeUnknownError) as info:
            db.update(Customer, username="ada").add(order_count=1).execute()
    finally:
        db.close()
        proxy.close()
    assert info.value.operation == "UpdateItem"
    assert [op for op, _ in script.seen].count("UpdateItem") == 1  # sent once
    stored = direct.get(Customer, username="ada", consistent=True)
    assert stored is not None and stored.order_count == 1  # applied once, not twice


@pytest.mark.parametrize("kind", KINDS)
def test_idempotent_writes_without_a_version_are_resent(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    script = Script(("UpdateItem", "PutItem"), [("http500_after", None),
                                                ("http500_after", None)])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        db.put(Customer(username="ada", email="a@x.io", name="Ada"))  # versioned
        db.update(Customer, username="ada").set(name="Ada L.").execute()  # sets only
    finally:
        db.close()
        proxy.close()
    stored = direct.get(Customer, username="ada", consistent=True)
    assert stored is not None and stored.name == "Ada L."


@pytest.mark.parametrize("kind", KINDS)
def test_a_versioned_write_is_never_resent_by_the_transport(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    # After an attempt that may have applied, dyntable reads the item at once (before other
    # writers can push the receipt out of its slots) rather than letting the transport wait
    # and resend: here the read finds the receipt, so nothing is resent.
    product = Product(sku="w2", title="Widget", price=Decimal(2))
    script = Script(("PutItem",), [("http500_after", None)])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        db.put(product)
    finally:
        db.close()
        proxy.close()
    assert product.version == 1
    assert [op for op, _ in script.seen] == ["PutItem", "GetItem"]


@pytest.mark.parametrize("kind", KINDS)
def test_not_applied_yet_is_settled_by_a_fenced_resend(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    # The read shows the item still at the expected version (an attempt might even be in
    # flight): dyntable resends; the version condition lets only one attempt apply.
    product = Product(sku="w3", title="Widget", price=Decimal(2))
    script = Script(("PutItem",), [("http500", None), ("http500", None)])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        db.put(product)
    finally:
        db.close()
        proxy.close()
    assert product.version == 1
    assert [op for op, _ in script.seen] == ["PutItem", "GetItem", "PutItem", "GetItem",
                                             "PutItem"]
    stored = direct.get(Product, sku="w3", consistent=True)
    assert stored is not None and stored.version == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_read_showing_another_writer_moved_on_is_a_conflict(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    # A's put gets a 500 without being applied; before A looks, B has moved the version on.
    # A's put (which wants the old version) can never apply any more: a conflict, for good.
    mine = _product(direct)
    script = Script(("PutItem", "GetItem"), [("http500", None), (None, _bump(direct))])
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        with pytest.raises(VersionConflictError) as info:
            db.put(mine.model_copy(update={"title": "by A"}))
    finally:
        db.close()
        proxy.close()
    assert (info.value.expected, info.value.actual) == (1, 2)
    assert [op for op, _ in script.seen] == ["PutItem", "GetItem"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_write_that_never_gets_an_answer_is_unknown(
    direct: Client, dynamodb_endpoint: str, kind: str
) -> None:
    # Nothing read can prove a write will never apply while the item stays at the expected
    # version (an attempt may still be in flight), so a versioned write whose every resend
    # fails ambiguously is unknown, not failed.
    product = Product(sku="w4", title="Widget", price=Decimal(2))
    attempts = 1 + SETTLE_RESENDS
    script = Script(("PutItem",), [("http500", None)] * attempts)
    proxy, db = _proxied(direct, dynamodb_endpoint, kind, script)
    try:
        with pytest.raises(OutcomeUnknownError) as info:
            db.put(product)
    finally:
        db.close()
        proxy.close()
    assert info.value.key == {"PK": {"S": "PRODUCT#w4"}, "SK": {"S": "PRODUCT"}}
    assert [op for op, _ in script.seen] == ["PutItem", "GetItem"] * attempts
    assert product.version == 0
    assert direct.get(Product, sku="w4", consistent=True) is None


def test_a_real_conflict_is_still_reported(direct: Client) -> None:
    product = Product(sku="c1", title="A", price=Decimal(1))
    direct.put(product)
    stale = Product(sku="c1", title="B", price=Decimal(1), version=0)
    with pytest.raises(VersionConflictError, match="already exists"):
        direct.put(stale)
    copy = direct.get(Product, sku="c1", consistent=True)
    assert copy is not None
    stale_copy = copy.model_copy()
    direct.update(copy).set(title="C").execute()
    with pytest.raises(VersionConflictError):
        direct.update(stale_copy).set(title="D").execute()
    final = direct.get(Product, sku="c1", consistent=True)
    assert final is not None and (final.title, final.version) == ("C", 2)
