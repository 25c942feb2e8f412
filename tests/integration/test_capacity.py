"""Capacity on DynamoDB Local: estimates vs reported units, metering, logging, and a
representative workload through every transport (``cached`` = CachedTransport over boto3).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from dyntable import capacity
from dyntable._internal.codec.items import codec_for
from dyntable._internal.codec.limits import item_size
from dyntable.capacity import (
    estimate_query_read_units,
    estimate_read_units,
    estimate_write_units,
    logging_hook,
)
from dyntable.client import Client
from dyntable.transport.cache import CachedTransport
from tests.models import Customer, Order, OrderLine, Product

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sync_only(
        "MeteredTransport wraps the sync transport; the async meter is tested "
        "in tests/unit/test_capacity.py"),
]

# Item sizes (bytes, as DynamoDB counts them) chosen away from unit boundaries.
TARGET_SIZES = [300, 1500, 3500, 6000, 10_000]


def _line(n: int, target: int) -> tuple[OrderLine, int]:
    base = OrderLine(username="ada", order_id="o1", line=n, sku="", quantity=1,
                     price=Decimal("9.99"))
    overhead = item_size(codec_for(OrderLine).encode(base))
    line = base.model_copy(update={"sku": "x" * (target - overhead)})
    return line, item_size(codec_for(OrderLine).encode(line))


def test_estimates_match_what_dynamodb_local_reports(db: Client, transport_name: str) -> None:
    lines = [_line(n, t) for n, t in enumerate(TARGET_SIZES)]
    cached = transport_name == "cached"
    for line, size in lines:
        with capacity.measure(db, mode="INDEXES") as put:
            db.put(line)
        assert put.write_units == estimate_write_units(size), size
        with capacity.measure(db) as get:
            assert db.get(OrderLine, username="ada", order_id="o1", line=line.line) == line
        # through the cache, the read after a put is answered from memory: nothing consumed
        assert get.read_units == (0.0 if cached else estimate_read_units(size)), size
        with capacity.measure(db) as strong:
            db.get(OrderLine, username="ada", order_id="o1", line=line.line, consistent=True)
        assert strong.read_units == estimate_read_units(size, consistent=True), size
    with capacity.measure(db) as query:
        found = db.query(OrderLine.primary, username="ada").all()
    assert [x.line for x in found] == [line.line for line, _ in lines]
    assert query.read_units == estimate_query_read_units(size for _, size in lines)
    assert query.tables[db.table_name].read == query.read_units
    assert query.cost() == Decimal(str(query.read_units)) * Decimal("0.125") / 10**6


def test_metered_total_spans_units_of_work(db: Client) -> None:
    product = Product(sku="p1", title="Pen", price=Decimal("1.50"))
    with capacity.measure(db) as first:
        db.put(product)
    with capacity.measure(db) as second:
        db.get(Product, sku="p1", consistent=True)
        db.delete(Product, sku="p1")
    total = db.transport.total  # type: ignore[attr-defined]
    assert (first.write_units, first.read_units) == (1.0, 0.0)
    assert (second.write_units, second.read_units) == (1.0, 1.0)
    assert (total.read_units, total.write_units) == (1.0, 2.0)
    assert total.operations == {"PutItem": 1, "GetItem": 1, "DeleteItem": 1}


def test_logging_hook_never_logs_values_or_credentials(
    make_client: Callable[..., Client], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    access_key, secret_key = "AKIDDYNTABLELOGTEST1", "dyntable/secret+key/value/for/logs"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    db = make_client()
    logger = logging.getLogger("dyntable.test.calls")
    db.transport.add_hook(logging_hook(logger))  # type: ignore[attr-defined]
    values = ["grace-secret-user", "grace.hopper@secret.example", "Grace Secret Hopper"]
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        grace = Customer(username=values[0], email=values[1], name=values[2])
        db.put(grace)
        assert db.get(Customer, username=values[0]) is not None
        db.query(Customer.by_email, email=values[1]).all()
        db.update(grace).set(name="Grace H.").execute()
        with pytest.raises(Exception, match="version"):
            db.put(Customer(username=values[0], email=values[1], name=values[2]))
    text = caplog.text
    assert [r.getMessage().split()[1] for r in caplog.records] == [
        "PutItem", "GetItem", "Query", "UpdateItem", "PutItem"]
    assert "error=ConditionalCheckFailedError" in caplog.records[-1].getMessage()
    for secret in [access_key, secret_key, *values, "Grace H.", "CUSTOMER#", "EMAIL#"]:
        assert secret not in text


def test_representative_workload(db: Client, transport_name: str) -> None:
    """Models, keys, indexes and queries give the same answers over every transport."""
    ada = Customer(username="ada", email="ada@x.io", name="Ada")
    db.put(ada)
    placed = [datetime(2026, 11, d, 9, 0, tzinfo=timezone.utc) for d in (1, 2, 3)]
    orders = [Order(username="ada", order_id=f"o{i}", status="PLACED" if i else "SHIPPED",
                    placed_at=p, total=Decimal(10 + i)) for i, p in enumerate(placed)]
    for order in orders:
        db.put(order)
    db.put(OrderLine(username="ada", order_id="o1", line=1, sku="pen", quantity=2,
                     price=Decimal("1.25")))
    db.put(Product(sku="pen", title="Pen", price=Decimal("1.25"), stock=5))

    for _ in range(2):  # the second round is answered from the cache when there is one
        got = db.get(Customer, username="ada")
        assert got is not None and got.email == "ada@x.io"
        recent = db.query(Order.primary, username="ada").begins_with(placed_at="2026-11").all()
        assert [o.order_id for o in recent] == ["o0", "o1", "o2"]
        by_status = db.query(Order.by_status, status="PLACED").all()
        assert sorted(o.order_id for o in by_status) == ["o1", "o2"]
        assert db.query(Customer.by_email, email="ada@x.io").first() == got
        everything = db.collection(pk="CUSTOMER#ada")
        assert len(everything.of(Order)) == 3 and len(everything.of(OrderLine)) == 1

    updated = db.update(Customer, username="ada").set(name="Ada L.").add(order_count=3).execute()
    assert updated.name == "Ada L."
    fresh = db.get(Customer, username="ada")
    assert fresh is not None and (fresh.name, fresh.order_count) == ("Ada L.", 3)
    db.delete(Product, sku="pen")
    assert db.get(Product, sku="pen") is None
    assert db.get(Product, sku="pen", consistent=True) is None

    if transport_name == "cached":
        assert isinstance(db.transport, CachedTransport)
        stats = db.transport.stats
        assert stats.hits >= 6  # second-round get and queries, reads after writes
        assert stats.bypasses >= 1
        # By default (DAX semantics) the cached GSI query still shows the earlier order set;
        # with evict_queries_on_write the new order's index partition is evicted on write.
        db.put(Order(username="ada", order_id="o9", status="PLACED", placed_at=placed[0],
                     total=Decimal(1)))
        fresh_queries = db.transport.evict_queries_on_write
        assert len(db.query(Order.by_status, status="PLACED").all()) == (
            3 if fresh_queries else 2)
        assert len(db.query(Order.primary, username="ada").consistent().all()) == 4
