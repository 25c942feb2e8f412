"""Rate-limited scans, queries and migrations on DynamoDB Local (which reports the consumed
capacity), over every transport: the pauses asked for pay for the units DynamoDB reported."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.operations.rate_limit import RateLimiter
from dyntable.client import Client
from dyntable.migrations.data import Migration
from dyntable.migrations.runner import Migrator
from tests.models import Customer, Product

pytestmark = pytest.mark.integration

BUDGET = 20.0  # read units per second: the ~9 units below take about half a second


class Recording(RateLimiter):
    """A limiter that records each read's units; its clock moves only with the pauses it
    asked for, so the sleep asked for is exact whatever the requests' own time."""

    def __init__(self, budget: float) -> None:
        super().__init__(budget, clock=lambda: self.slept)
        self.charges: list[float] = []
        self.scanned: list[int | None] = []

    def charge(self, units: float, sent_at: float, scanned: int | None = None) -> None:
        self.charges.append(units)
        self.scanned.append(scanned)
        super().charge(units, sent_at, scanned)


def _load(db: Client, n: int = 60, size: int = 1000) -> None:
    with db.batch_writer() as bw:
        for i in range(n):
            bw.put(Product(sku=f"p{i:03d}", title="x" * size, price=Decimal(i)))


def test_a_scan_sleeps_for_the_units_it_consumed(db: Client) -> None:
    _load(db)
    limiter = Recording(BUDGET)
    scan = db.scan(Product).page_size(10).rate_limit(limiter)
    assert len(scan.all()) == 60
    assert len(limiter.charges) >= 6 and limiter.consumed > 0
    page = max(limiter.charges)
    assert limiter.slept >= limiter.consumed / BUDGET - page / BUDGET - 1e-9
    # every page but the last is paid for before the next is read
    assert limiter.slept == pytest.approx((limiter.consumed - limiter.charges[-1]) / BUDGET)


def test_a_paced_scan_takes_at_least_its_budgeted_time(db: Client) -> None:
    _load(db)
    scan = db.scan(Product).page_size(10).rate_limit(read_units_per_second=BUDGET)
    started = time.monotonic()
    assert len(scan.all()) == 60
    elapsed = time.monotonic() - started
    limiter = scan.rate_limiter
    assert limiter is not None and limiter.consumed > 0
    # at most one page (10 items of ~1 KB: 1.5 units) is read without being paid for
    assert elapsed >= (limiter.consumed - 1.5) / BUDGET


def test_a_rate_limited_query_and_count(db: Client) -> None:
    for i in range(30):
        db.put(Customer(username=f"c{i:02d}", email=f"c{i}@x.io", name="n" * 2000))
    limiter = Recording(BUDGET)
    query = db.query(Customer.by_email, email="c7@x.io").rate_limit(limiter)
    assert [c.username for c in query.all()] == ["c07"]
    assert limiter.consumed > 0
    counted = Recording(BUDGET)
    assert db.scan(Customer).page_size(5).rate_limit(counted).count() == 30
    assert len(counted.charges) >= 6
    assert counted.slept == pytest.approx((counted.consumed - counted.charges[-1]) / BUDGET)


def test_the_page_size_adapts_to_the_budget(db: Client) -> None:
    _load(db, 40, size=2000)  # ~2 KB items: a 1 MB page would read all 40 (10 units)
    limiter = Recording(10.0)
    assert len(db.scan(Product).rate_limit(limiter).all()) == 40
    # the first page assumes 1 unit per item: 10 items (2.5 units); then 0.25 units per
    # item is known, and one second of budget covers the 30 left
    assert limiter.scanned[:2] == [10, 30]
    assert limiter.charges[0] <= 10.0


def _rename(item: dict[str, Any]) -> dict[str, Any]:
    item["title"] = item["title"].upper()
    return item


@pytest.mark.sync_only("migrations run on the sync client (an operator tool)")
def test_a_migration_scan_is_paced(db: Client) -> None:
    _load(db, 40)
    limiter = Recording(BUDGET)
    upper = Migration("0001_upper_titles", "upper-case titles", ("product",), _rename)
    migrator = Migrator(db, [upper], total_segments=2, threads=2, page_size=10,
                        rate_limit=limiter)
    assert migrator.rate_limiter is limiter
    [report] = migrator.up()
    assert report.complete and report.changed == 40
    # consistent scan reads: 10 items of ~1 KB per page cost 3 units
    assert limiter.consumed >= 12
    assert limiter.slept > 0
