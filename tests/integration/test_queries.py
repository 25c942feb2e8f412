"""Queries on DynamoDB Local: key conditions and their boundaries, indexes, pagination."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable import F
from dyntable.client import Client
from dyntable.codec import codec_for
from dyntable.errors import CursorError, InvalidRequestError
from tests.models import Customer, Order, OrderLine

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
DAYS = [T0 + timedelta(days=i) for i in range(4)]


def _order(day: int, oid: str, **kw: Any) -> Order:
    base: dict[str, Any] = {"username": "ada", "order_id": oid, "status": "PLACED",
                            "placed_at": DAYS[day], "total": Decimal(day * 10 + len(oid))}
    return Order(**{**base, **kw})


@pytest.fixture
def shop_data(db: Client) -> Client:
    db.put(Customer(username="ada", email="ada@x.io", name="Ada"))
    for day in range(4):
        for oid in ("a", "b"):
            db.put(_order(day, f"{oid}{day}", status="SHIPPED" if oid == "b" else "PLACED"))
    for line in range(3):
        db.put(OrderLine(username="ada", order_id="a0", line=line, sku="s", quantity=1,
                         price=Decimal(1)))
    db.put(_order(0, "z", username="bob"))
    return db


def _ids(orders: list[Order]) -> list[str]:
    return [o.order_id for o in orders]


def test_model_query_over_a_shared_partition(shop_data: Client) -> None:
    db = shop_data
    assert _ids(db.query(Order.primary, username="ada").all()) == [
        "a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3"]
    assert [c.username for c in db.query(Customer.primary, username="ada")] == ["ada"]
    assert [x.line for x in db.query(OrderLine.primary, username="ada", order_id="a0")] == [
        0, 1, 2]


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("eq", {"placed_at": DAYS[1], "order_id": "b1"}, ["b1"]),
        ("begins_with", {"placed_at": DAYS[2]}, ["a2", "b2"]),
        ("begins_with", {"placed_at": "2026-11-0"}, ["a0", "b0", "a1", "b1", "a2", "b2", "a3",
                                                      "b3"]),
        ("begins_with", {"placed_at": "2026-11-03"}, ["a2", "b2"]),
        ("lt", {"placed_at": DAYS[1]}, ["a0", "b0"]),
        ("le", {"placed_at": DAYS[1]}, ["a0", "b0", "a1", "b1"]),
        ("gt", {"placed_at": DAYS[2]}, ["a3", "b3"]),
        ("ge", {"placed_at": DAYS[2]}, ["a2", "b2", "a3", "b3"]),
        ("lt", {"placed_at": DAYS[1], "order_id": "b1"}, ["a0", "b0", "a1"]),
        ("le", {"placed_at": DAYS[1], "order_id": "a1"}, ["a0", "b0", "a1"]),
        ("gt", {"placed_at": DAYS[2], "order_id": "a2"}, ["b2", "a3", "b3"]),
        ("ge", {"placed_at": DAYS[2], "order_id": "b2"}, ["b2", "a3", "b3"]),
    ],
)
def test_sort_key_condition_boundaries(shop_data: Client, method: str, args: dict[str, Any],
                                       expected: list[str]) -> None:
    q = getattr(shop_data.query(Order.primary, username="ada"), method)(**args)
    assert _ids(q.all()) == expected


def test_between_is_inclusive_for_partial_and_full_keys(shop_data: Client) -> None:
    q = shop_data.query(Order.primary, username="ada")
    assert _ids(q.between({"placed_at": DAYS[1]}, {"placed_at": DAYS[2]}).all()) == [
        "a1", "b1", "a2", "b2"]
    q = shop_data.query(Order.primary, username="ada")
    full = q.between({"placed_at": DAYS[1], "order_id": "b1"},
                     {"placed_at": DAYS[2], "order_id": "a2"})
    assert _ids(full.all()) == ["b1", "a2"]


def test_gsi_query(shop_data: Client) -> None:
    placed = shop_data.query(Order.by_status, status="SHIPPED").begins_with(
        placed_at="2026-11-0").all()
    assert _ids(placed) == ["b0", "b1", "b2", "b3"]
    by_email = shop_data.query(Customer.by_email, email="ada@x.io").all()
    assert [c.name for c in by_email] == ["Ada"]
    with pytest.raises(InvalidRequestError, match="GSI"):
        shop_data.query(Order.by_status, status="SHIPPED").consistent()


def test_lsi_query_consistent_and_reverse(shop_data: Client) -> None:
    got = shop_data.query(Order.by_total, username="ada").consistent().reverse().all()
    assert len(got) == 8
    assert [o.total for o in got] == sorted((o.total for o in got),
                                            key=lambda d: f"TOTAL#{d}", reverse=True)


def test_filter_with_limit_counts_returned_items(shop_data: Client) -> None:
    q = shop_data.query(Order.primary, username="ada").where(F.status == "SHIPPED").limit(3)
    assert _ids(q.all()) == ["b0", "b1", "b2"]
    page = shop_data.query(Order.primary, username="ada").where(
        F.status == "SHIPPED").limit(3).page()
    assert _ids(page.items) == ["b0", "b1", "b2"]
    rest = shop_data.query(Order.primary, username="ada").where(
        F.status == "SHIPPED").limit(3).page(page.cursor)
    assert _ids(rest.items) == ["b3"]


def test_reverse_projection_count(shop_data: Client) -> None:
    db = shop_data
    got = db.query(Order.primary, username="ada").reverse().limit(2).project("status").all()
    assert [(o.order_id, o.status) for o in got] == [("b3", "SHIPPED"), ("a3", "PLACED")]
    with pytest.raises(AttributeError):
        _ = got[0].total
    assert db.query(Order.primary, username="ada").count() == 8
    assert db.query(Order.primary, username="ada").where(F.status == "PLACED").count() == 4


def test_sparse_include_index(shop_data: Client) -> None:
    db = shop_data
    db.update(Order, username="ada", placed_at=DAYS[0], order_id="a0").set(
        ship_by=date(2026, 12, 2)).execute()
    db.update(Order, username="ada", placed_at=DAYS[1], order_id="a1").set(
        ship_by=date(2026, 12, 1)).execute()
    got = db.query(Order.awaiting_shipment).all()
    assert [(o.order_id, o.ship_by) for o in got] == [("a1", date(2026, 12, 1)),
                                                       ("a0", date(2026, 12, 2))]
    with pytest.raises(AttributeError):
        _ = got[0].note  # not projected into GSI2


# -- pagination -------------------------------------------------------------------------

@pytest.fixture
def many(db: Client) -> Client:
    codec = codec_for(Order)
    items = [codec.encode(Order(username="ada", order_id=f"o{i:04d}", status="PLACED",
                                placed_at=T0 + timedelta(minutes=i), total=Decimal(i % 50)))
             for i in range(520)]
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]
        pending: dict[str, Any] = {db.table_name: requests}
        while pending:  # DynamoDB Local processes everything, but be correct anyway
            pending = db.send("BatchWriteItem", {"RequestItems": pending}).get(
                "UnprocessedItems") or {}
    return db


def test_lazy_iteration_reads_one_page_at_a_time(many: Client,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    real = many.transport.send

    def counting(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        sent.append(params)
        return real(operation, params)

    monkeypatch.setattr(many.transport, "send", counting)
    it = iter(many.query(Order.primary, username="ada").page_size(37))
    first = [next(it) for _ in range(40)]
    assert len(sent) == 2 and all(p["Limit"] == 37 for p in sent)
    rest = list(it)
    assert len(first) + len(rest) == 520
    assert len(sent) == 15  # ceil(520 / 37), the last page ends the read
    assert [o.order_id for o in first + rest] == [f"o{i:04d}" for i in range(520)]


@pytest.mark.parametrize("which", ["primary", "by_status", "by_total"])
def test_cursor_round_trips_on_table_gsi_and_lsi(many: Client, which: str) -> None:
    def query() -> Any:
        key = getattr(Order, which)
        fields = {"status": "PLACED"} if which == "by_status" else {"username": "ada"}
        return many.query(key, **fields).limit(37)

    expected = [o.order_id for o in query().limit(10_000).all()]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = query().page(cursor)
        seen += [o.order_id for o in page]
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == expected and len(seen) == 520
    assert pages == 15


def test_bad_cursors_are_refused(many: Client) -> None:
    page = many.query(Order.primary, username="ada").limit(5).page()
    assert page.cursor is not None
    with pytest.raises(CursorError, match="another query"):
        many.query(Order.by_status, status="PLACED").limit(5).page(page.cursor)
    with pytest.raises(CursorError, match="another query"):
        many.query(Order.primary, username="ada").reverse().limit(5).page(page.cursor)
    tampered = page.cursor[:-1] + ("0" if page.cursor[-1] != "0" else "1")
    with pytest.raises(CursorError, match="signature"):
        many.query(Order.primary, username="ada").limit(5).page(tampered)
    with pytest.raises(CursorError, match="malformed"):
        many.query(Order.primary, username="ada").page("garbage")
