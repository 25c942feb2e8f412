"""Rate-limited reads: the pauses come from the units DynamoDB reports and the budget.

A fake transport answers pages with a chosen ``ConsumedCapacity``; a fake clock moves only
when the flow sleeps (or when a test says a request took time), so every pause is exact and
nothing here waits on the wall clock.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.operations.flow import Emit, Flow, Request, Sleep, gather
from dyntable._internal.operations.rate_limit import RateLimiter, consumed_read_units
from dyntable.codec import codec_for
from dyntable.errors import InvalidRequestError, ThrottlingError
from dyntable.transport.aio_mock import AsyncMockTransport
from dyntable.transport.mock import MockTransport
from tests.models import Order, Product, shop


class Clock:
    """Monotonic seconds that move only when told: by a sleep, or by a request's latency."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pages_of(units: Sequence[float], *, scanned: int = 1, clock: Clock | None = None,
             latency: float = 0.0, capacity: bool = True
             ) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    """A handler answering one Product per page; page ``i`` consumed ``units[i]``."""
    codec = codec_for(Product)
    sent = [0]

    def handler(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        i = sent[0]
        sent[0] += 1
        if clock is not None:
            clock.now += latency
        item = codec.encode(Product(sku=f"p{i}", title="t", price=Decimal(i)))
        answer: dict[str, Any] = {"Items": [item], "Count": 1, "ScannedCount": scanned}
        if capacity:
            answer["ConsumedCapacity"] = {"TableName": "shop", "CapacityUnits": units[i]}
        if i + 1 < len(units):
            answer["LastEvaluatedKey"] = {"PK": item["PK"], "SK": item["SK"]}
        return answer

    return handler


def scan_all(units: Sequence[float], budget: float, **options: Any
             ) -> tuple[Clock, MockTransport, RateLimiter]:
    clock = Clock()
    transport = MockTransport(pages_of(units, clock=clock, **options))
    db = shop.connect(transport=transport)
    limiter = RateLimiter(budget, clock=clock)
    scan = db.scan(Product).rate_limit(limiter)
    got = db.run(gather(scan.pages_flow()), sleep=clock.sleep)
    assert len(got) == len(units)
    return clock, transport, limiter


def test_each_pause_pays_for_the_units_the_previous_page_consumed() -> None:
    clock, transport, limiter = scan_all([10, 20, 5, 8], budget=10)
    # none before the first page; none after the last (nothing more is read)
    assert clock.sleeps == pytest.approx([1.0, 2.0, 0.5])
    assert limiter.consumed == 43 and limiter.requests == 4
    assert limiter.slept == pytest.approx(3.5)
    assert all(c.params["ReturnConsumedCapacity"] == "TOTAL" for c in transport.sent)


def test_the_total_pause_covers_all_but_the_last_page() -> None:
    units = [3.5, 0.5, 12, 7, 1, 9.5]
    clock, _, limiter = scan_all(units, budget=4)
    assert sum(clock.sleeps) == pytest.approx((sum(units) - units[-1]) / 4)
    assert sum(clock.sleeps) >= limiter.consumed / 4 - max(units) / 4


def test_time_spent_in_a_request_counts_toward_its_pause() -> None:
    clock, _, _ = scan_all([10, 10, 10], budget=10, latency=0.4)
    assert clock.sleeps == pytest.approx([0.6, 0.6])


def test_a_slow_request_needs_no_pause() -> None:
    clock, _, _ = scan_all([10, 10, 10], budget=10, latency=1.5)
    assert clock.sleeps == []


def test_answers_without_consumed_capacity_cost_nothing() -> None:
    # e.g. pages a read cache answered: they consumed no capacity
    clock, _, limiter = scan_all([10, 10, 10], budget=1, capacity=False)
    assert clock.sleeps == [] and limiter.consumed == 0


def drive(flow: Flow[Any], handler: Callable[[str, dict[str, Any]], dict[str, Any]],
          clock: Clock, on_emit: Callable[[Any], None]) -> list[Request]:
    """A driver that lets the test act between pages (the caller working on a page)."""
    sent: list[Request] = []
    try:
        step = next(flow)
        while True:
            if isinstance(step, Request):
                sent.append(step)
                step = flow.send(handler(step.operation, step.params))
            elif isinstance(step, Sleep):
                clock.sleep(step.seconds)
                step = flow.send(None)
            else:
                assert isinstance(step, Emit)
                on_emit(step.value)
                step = flow.send(None)
    except StopIteration:
        return sent


def test_idle_time_is_not_banked_for_a_burst_later() -> None:
    clock = Clock()
    db = shop.connect(transport=MockTransport())
    scan = db.scan(Product).rate_limit(RateLimiter(10, clock=clock))
    pages_seen = [0]

    def work(page: Any) -> None:
        pages_seen[0] += 1
        if pages_seen[0] == 1:
            clock.now += 30.0  # the caller spends 30 s on the first page

    drive(scan.pages_flow(), pages_of([10, 10, 10, 10], clock=clock), clock, work)
    # after the idle half minute the next page goes at once, but the one after it waits
    # its full second: the idle time bought no burst
    assert clock.sleeps == pytest.approx([1.0, 1.0])


def test_page_size_is_capped_to_about_one_second_of_budget() -> None:
    clock = Clock()
    transport = MockTransport(pages_of([0.5, 0.5, 0.5], scanned=10, clock=clock))
    db = shop.connect(transport=transport)
    scan = db.scan(Product).rate_limit(RateLimiter(10, clock=clock))
    db.run(gather(scan.pages_flow()), sleep=clock.sleep)
    limits = [c.params["Limit"] for c in transport.sent]
    # first guess: 1 unit per item -> 10 items; then 0.5 units / 10 items -> 200 items
    assert limits == [10, 200, 200]


def test_a_smaller_page_size_or_limit_is_kept() -> None:
    clock = Clock()
    transport = MockTransport(pages_of([0.5, 0.5, 0.5], scanned=10, clock=clock))
    db = shop.connect(transport=transport)
    scan = db.scan(Product).page_size(50).rate_limit(RateLimiter(10, clock=clock))
    db.run(gather(scan.pages_flow()), sleep=clock.sleep)
    assert [c.params["Limit"] for c in transport.sent] == [10, 50, 50]
    limited = db.scan(Product).limit(3).rate_limit(100)
    assert limited.params()["Limit"] == 3


def test_page_size_is_left_alone_when_not_adapted() -> None:
    clock = Clock()
    transport = MockTransport(pages_of([5, 5], clock=clock))
    db = shop.connect(transport=transport)
    limiter = RateLimiter(1, clock=clock, adapt_page_size=False)
    scan = db.scan(Product).rate_limit(limiter)
    db.run(gather(scan.pages_flow()), sleep=clock.sleep)
    assert ["Limit" in c.params for c in transport.sent] == [False, False]
    assert clock.sleeps == [5.0]


def test_segments_sharing_a_limiter_share_its_budget() -> None:
    clock = Clock()
    shared = RateLimiter(10, clock=clock)
    db = shop.connect(transport=MockTransport(pages_of([10])))
    first = db.scan(Product).segment(0, 2).rate_limit(shared)
    db.run(gather(first.pages_flow()), sleep=clock.sleep)
    other = shop.connect(transport=MockTransport(pages_of([10])))
    second = other.scan(Product).segment(1, 2).rate_limit(first.rate_limiter or 0)
    assert second.rate_limiter is shared
    other.run(gather(second.pages_flow()), sleep=clock.sleep)
    # the second segment's first page waits for the units the first segment consumed
    assert clock.sleeps == pytest.approx([1.0])
    assert shared.consumed == 20


def test_a_number_makes_a_budget_per_read() -> None:
    db = shop.connect(transport=MockTransport())
    a = db.scan(Product).segment(0, 2).rate_limit(read_units_per_second=5)
    b = db.scan(Product).segment(1, 2).rate_limit(read_units_per_second=5)
    assert a.rate_limiter is not None and b.rate_limiter is not None
    assert a.rate_limiter is not b.rate_limiter
    assert a.rate_limiter.read_units_per_second == 5.0
    assert db.scan(Product).rate_limiter is None


def test_count_and_queries_are_paced_too() -> None:
    clock = Clock()
    transport = MockTransport(pages_of([4, 4, 4], clock=clock))
    db = shop.connect(transport=transport)
    query = db.query(Order.primary, username="ada").rate_limit(RateLimiter(8, clock=clock))
    assert query.params()["ReturnConsumedCapacity"] == "TOTAL"
    db.run(query.count_flow(), sleep=clock.sleep)
    assert clock.sleeps == pytest.approx([0.5, 0.5])
    assert [c.operation for c in transport.sent] == ["Query"] * 3
    assert all(c.params["ReturnConsumedCapacity"] == "TOTAL" for c in transport.sent)


def test_one_page_reads_are_paced_across_calls() -> None:
    clock = Clock()
    db = shop.connect(transport=MockTransport(pages_of([6, 6, 6], clock=clock)))
    scan = db.scan(Product).rate_limit(RateLimiter(3, clock=clock))
    page = db.run(scan.page_flow(), sleep=clock.sleep)
    db.run(scan.page_flow(page.cursor), sleep=clock.sleep)
    assert clock.sleeps == pytest.approx([2.0])


def test_a_failed_request_costs_nothing_and_its_error_reaches_the_caller() -> None:
    clock = Clock()

    def handler(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise ThrottlingError("slow down")

    db = shop.connect(transport=MockTransport(handler))
    scan = db.scan(Product).rate_limit(RateLimiter(10, clock=clock))
    with pytest.raises(ThrottlingError):
        db.run(gather(scan.pages_flow()), sleep=clock.sleep)
    assert scan.rate_limiter is not None and scan.rate_limiter.consumed == 0


def test_the_async_client_sleeps_the_same_pauses() -> None:
    clock = Clock()

    async def sleep(seconds: float) -> None:
        clock.sleep(seconds)

    async def read() -> None:
        db = await shop.connect_async(transport=AsyncMockTransport(pages_of([10, 20, 5],
                                                                            clock=clock)))
        scan = db.scan(Product).rate_limit(RateLimiter(10, clock=clock))
        await db.run(gather(scan.pages_flow()), sleep=sleep)

    asyncio.run(read())
    assert clock.sleeps == pytest.approx([1.0, 2.0])


@pytest.mark.parametrize("budget", [0, -1, math.nan, math.inf, True, "5", None])
def test_a_budget_must_be_a_positive_number(budget: Any) -> None:
    db = shop.connect(transport=MockTransport())
    with pytest.raises(InvalidRequestError, match="read_units_per_second"):
        db.scan(Product).rate_limit(budget)


def test_consumed_units_are_read_from_every_answer_shape() -> None:
    assert consumed_read_units(None) == 0
    assert consumed_read_units({"TableName": "t", "CapacityUnits": 2.5}) == 2.5
    assert consumed_read_units([{"CapacityUnits": 1}, {"CapacityUnits": 1.5}]) == 2.5
    assert consumed_read_units({"ReadCapacityUnits": 4}) == 4


def test_the_migrate_command_passes_its_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    click_testing = pytest.importorskip("click.testing")
    import dyntable.cli.migrate as cli
    from dyntable.cli.main import main
    from dyntable.migrations import runner

    made: dict[str, Any] = {}

    class FakeMigrator:
        def __init__(self, client: Any, migrations: Any, **options: Any) -> None:
            made.update(options)

        def up(self, target: str | None, *, dry_run: bool) -> list[Any]:
            return []

    monkeypatch.setattr(cli, "connect", lambda *args: object())
    monkeypatch.setattr(runner, "Migrator", FakeMigrator)
    monkeypatch.setattr("dyntable.migrations.data.load_migrations", lambda directory: [])
    run = click_testing.CliRunner().invoke
    result = run(main, ["migrate", "up", "--app", "tests.models:shop", "--no-progress",
                        "--rate-limit", "25"])
    assert result.exit_code == 0, result.output
    assert made["rate_limit"] == 25.0
    result = run(main, ["migrate", "up", "--app", "tests.models:shop", "--rate-limit", "0"])
    assert result.exit_code != 0 and "rate-limit" in result.output


def test_the_migrator_shares_one_limiter_over_its_segments() -> None:
    from dyntable.migrations.runner import Migrator

    db = shop.connect(transport=MockTransport())
    assert Migrator(db, [], rate_limit=5).rate_limiter is not None
    assert Migrator(db, []).rate_limiter is None
    shared = RateLimiter(5)
    assert Migrator(db, [], rate_limit=shared).rate_limiter is shared
