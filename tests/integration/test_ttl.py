"""TTL: helpers, the stored form (epoch seconds) and hiding expired items on reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable.client import Client
from dyntable.errors import InvalidValueError
from dyntable.ttl import expires_at, expires_in, is_expired
from tests.models import Order

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_expires_in_is_aware_utc_whole_seconds() -> None:
    before = datetime.now(timezone.utc)
    at = expires_in(days=1, hours=2, minutes=3, seconds=4)
    assert at.tzinfo is timezone.utc and at.microsecond == 0
    delta = at - before
    assert timedelta(days=1, hours=2, minutes=3, seconds=3) <= delta <= \
        timedelta(days=1, hours=2, minutes=3, seconds=5)
    with pytest.raises(InvalidValueError):
        expires_in(seconds=0)


def test_expires_at_normalises_and_refuses_naive() -> None:
    cet = timezone(timedelta(hours=1))
    assert expires_at(datetime(2026, 1, 1, 1, 0, 0, 500, tzinfo=cet)) == \
        datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert expires_at(1_767_225_600) == datetime(2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(InvalidValueError, match="naive"):
        expires_at(datetime(2026, 1, 1))
    assert is_expired(1) and not is_expired(None) and not is_expired(expires_in(minutes=5))


def order(i: int, expires: datetime | None) -> Order:
    return Order(username="ada", order_id=f"o{i}", status="PLACED", placed_at=T0,
                 total=Decimal(i), expires_at=expires)


@pytest.mark.integration
def test_ttl_is_stored_as_epoch_seconds(db: Client) -> None:
    when = expires_in(days=30)
    o = order(1, when)
    db.put(o)
    raw = db.send("GetItem", {"TableName": db.table_name, "Key": {
        "PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "ORDER#2026-03-01T00:00:00.000000Z#o1"}}})
    assert raw["Item"]["expires_at"] == {"N": str(int(when.timestamp()))}
    assert db.get(Order, username="ada", order_id="o1", placed_at=T0) == o


@pytest.mark.integration
def test_hide_expired_filters_get_query_and_scan(make_client: Callable[..., Client]) -> None:
    db = make_client()
    hiding = make_client(hide_expired=True)
    expired = order(1, expires_at(datetime.now(timezone.utc) - timedelta(minutes=1)))
    live = order(2, expires_in(hours=1))
    forever = order(3, None)
    for o in (expired, live, forever):
        db.put(o)
    key: dict[str, Any] = {"username": "ada", "placed_at": T0}
    assert db.get(Order, order_id="o1", **key) == expired
    assert hiding.get(Order, order_id="o1", **key) is None
    assert hiding.get(Order, order_id="o2", **key) == live
    assert len(db.query(Order.primary, username="ada").all()) == 3
    assert hiding.query(Order.primary, username="ada").all() == [live, forever]
    assert sorted(o.order_id for o in hiding.scan(Order)) == ["o2", "o3"]
