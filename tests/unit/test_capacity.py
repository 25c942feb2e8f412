"""Capacity estimates, metering, units of work, cost, and the logging / metrics hooks."""

from __future__ import annotations

import asyncio
import logging
import threading
from decimal import Decimal
from typing import Any

import pytest

from dyntable import capacity
from dyntable.capacity import (
    ON_DEMAND_US_EAST_1,
    AsyncMeteredTransport,
    CapacityUsage,
    MeteredTransport,
    OperationMetrics,
    Prices,
    estimate_query_read_units,
    estimate_read_units,
    estimate_write_units,
    logging_hook,
)
from dyntable.errors import ThrottlingError, TransportError
from dyntable.transport.aio_mock import AsyncMockTransport
from dyntable.transport.mock import MockTransport


@pytest.mark.parametrize(
    ("size", "eventual", "strong", "transactional"),
    [(0, 0.5, 1.0, 2.0), (1, 0.5, 1.0, 2.0), (4096, 0.5, 1.0, 2.0), (4097, 1.0, 2.0, 4.0),
     (8192, 1.0, 2.0, 4.0), (12289, 2.0, 4.0, 8.0)],
)
def test_read_units(size: int, eventual: float, strong: float, transactional: float) -> None:
    assert estimate_read_units(size) == eventual
    assert estimate_read_units(size, consistent=True) == strong
    assert estimate_read_units(size, transactional=True) == transactional


@pytest.mark.parametrize(("size", "units"), [(0, 1), (1024, 1), (1025, 2), (3000, 3),
                                             (400 * 1024, 400)])
def test_write_units(size: int, units: float) -> None:
    assert estimate_write_units(size) == units
    assert estimate_write_units(size, transactional=True) == 2 * units


def test_query_units_round_the_sum_not_each_item() -> None:
    assert estimate_query_read_units([1000] * 8) == 1.0  # 8000 bytes -> 2 units, halved
    assert estimate_query_read_units([1000] * 8, consistent=True) == 2.0
    assert estimate_query_read_units([]) == 0.5


def test_usage_records_reads_writes_tables_and_indexes() -> None:
    usage = CapacityUsage()
    usage.record("GetItem", {"TableName": "t", "CapacityUnits": 0.5})
    usage.record("PutItem", {"TableName": "t", "CapacityUnits": 4.0, "Table": {
        "CapacityUnits": 2.0}, "GlobalSecondaryIndexes": {"GSI1": {"CapacityUnits": 2.0}}})
    usage.record("BatchGetItem", [{"TableName": "t", "CapacityUnits": 1.5},
                                  {"TableName": "u", "CapacityUnits": 1.0}])
    usage.record("TransactGetItems", [{"TableName": "u", "CapacityUnits": 2.0,
                                       "ReadCapacityUnits": 2.0}])
    usage.record("Query", None)
    assert (usage.read_units, usage.write_units) == (5.0, 4.0)
    assert (usage.tables["t"].read, usage.tables["t"].write) == (2.0, 4.0)
    assert usage.tables["u"].read == 3.0
    assert usage.indexes[("t", "GSI1")].write == 2.0
    assert usage.calls == 5 and usage.operations["Query"] == 1
    assert usage.cost() == Decimal("5") * Decimal("0.125") / 10**6 + \
        Decimal("4") * Decimal("0.625") / 10**6


def test_cost_with_other_prices() -> None:
    usage = CapacityUsage(read_units=2_000_000, write_units=1_000_000)
    assert usage.cost() == Decimal("0.25") + Decimal("0.625")
    assert usage.cost(Prices(Decimal("1"), Decimal("2"), "EUR")) == Decimal("4")
    assert ON_DEMAND_US_EAST_1.write_per_million == Decimal("0.625")


def fake_capacity(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    if "ReturnConsumedCapacity" not in params:
        return {}
    units = 1.0 if operation == "PutItem" else 0.5
    return {"ConsumedCapacity": {"TableName": params.get("TableName", "t"),
                                 "CapacityUnits": units}}


def test_metered_transport_asks_only_item_operations() -> None:
    inner = MockTransport(fake_capacity)
    metered = MeteredTransport(inner, mode="INDEXES")
    params = {"TableName": "t", "Key": {}}
    metered.send("GetItem", params)
    metered.send("GetItem", {**params, "ReturnConsumedCapacity": "TOTAL"})
    metered.send("DescribeTable", {"TableName": "t"})
    assert [c.params.get("ReturnConsumedCapacity") for c in inner.sent] == [
        "INDEXES", "TOTAL", None]
    assert "ReturnConsumedCapacity" not in params  # the caller's dict is not changed
    assert metered.total.read_units == 1.0
    with pytest.raises(ValueError):
        MeteredTransport(inner, mode="ALL")  # type: ignore[arg-type]


def test_units_of_work_nest_and_stay_in_their_thread() -> None:
    metered = MeteredTransport(MockTransport(fake_capacity))
    seen_by_thread: list[float] = []
    with metered.track() as outer:
        metered.send("PutItem", {"TableName": "t"})
        with metered.track() as inner:
            metered.send("GetItem", {"TableName": "t"})

        def other() -> None:
            with metered.track() as mine:
                metered.send("PutItem", {"TableName": "t"})
            seen_by_thread.append(mine.write_units)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    metered.send("GetItem", {"TableName": "t"})
    assert (outer.read_units, outer.write_units) == (0.5, 1.0)
    assert (inner.read_units, inner.write_units) == (0.5, 0.0)
    assert seen_by_thread == [1.0]
    assert (metered.total.read_units, metered.total.write_units) == (1.0, 2.0)


def test_measure_wraps_the_client_transport_once() -> None:
    from tests.models import Product, shop

    db = shop.connect(transport=MockTransport(fake_capacity))
    with capacity.measure(db) as usage:
        db.put(Product(sku="p1", title="Pen", price=Decimal("1.5")))
    first = db.transport
    assert isinstance(first, MeteredTransport)
    with capacity.measure(db) as again:
        db.get(Product, sku="p1")
    assert db.transport is first
    assert (usage.write_units, usage.read_units) == (1.0, 0.0)
    assert (again.write_units, again.read_units) == (0.0, 0.5)
    assert first.total.calls == 2


def test_async_metered_transport_asks_only_item_operations() -> None:
    inner = AsyncMockTransport(fake_capacity)
    metered = AsyncMeteredTransport(inner, mode="INDEXES")
    params = {"TableName": "t", "Key": {}}

    async def calls() -> None:
        await metered.send("GetItem", params)
        await metered.send("GetItem", {**params, "ReturnConsumedCapacity": "TOTAL"})
        await metered.send("DescribeTable", {"TableName": "t"})
        await metered.close()

    asyncio.run(calls())
    assert [c.params.get("ReturnConsumedCapacity") for c in inner.sent] == [
        "INDEXES", "TOTAL", None]
    assert "ReturnConsumedCapacity" not in params
    assert metered.total.read_units == 1.0 and inner.closed
    with pytest.raises(ValueError):
        AsyncMeteredTransport(inner, mode="ALL")  # type: ignore[arg-type]


def test_async_units_of_work_follow_their_task() -> None:
    async def slow(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.001)
        return fake_capacity(operation, params)

    metered = AsyncMeteredTransport(AsyncMockTransport(slow))

    async def unit(operation: str, times: int) -> CapacityUsage:
        with metered.track() as usage:
            for _ in range(times):
                await metered.send(operation, {"TableName": "t"})
        return usage

    async def both() -> list[CapacityUsage]:
        return list(await asyncio.gather(unit("PutItem", 3), unit("GetItem", 5)))

    writes, reads = asyncio.run(both())
    assert (writes.read_units, writes.write_units) == (0.0, 3.0)
    assert (reads.read_units, reads.write_units) == (2.5, 0.0)
    assert (metered.total.read_units, metered.total.write_units) == (2.5, 3.0)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_metered_failure_records_nothing_and_keeps_the_error(kind: str) -> None:
    error = TransportError("reset after sending")
    error.maybe_applied = True

    def lost(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise error

    with pytest.raises(TransportError) as raised:
        if kind == "sync":
            metered: MeteredTransport | AsyncMeteredTransport = MeteredTransport(
                MockTransport(lost))
            metered.send("PutItem", {"TableName": "t"})
        else:
            metered = AsyncMeteredTransport(AsyncMockTransport(lost))
            asyncio.run(metered.send("PutItem", {"TableName": "t"}))
    assert raised.value is error and raised.value.maybe_applied
    assert metered.total.calls == 0


def test_measure_wraps_an_async_client_transport_once() -> None:
    from tests.models import Product, shop

    async def work() -> tuple[CapacityUsage, CapacityUsage, Any]:
        db = await shop.connect_async(transport=AsyncMockTransport(fake_capacity))
        with capacity.measure(db) as usage:
            await db.put(Product(sku="p1", title="Pen", price=Decimal("1.5")))
        first = db.transport
        with capacity.measure(db) as again:
            await db.get(Product, sku="p1")
        assert db.transport is first
        return usage, again, first

    usage, again, first = asyncio.run(work())
    assert isinstance(first, AsyncMeteredTransport)
    assert (usage.write_units, usage.read_units) == (1.0, 0.0)
    assert (again.write_units, again.read_units) == (0.0, 0.5)
    assert first.total.calls == 2


def test_logging_hook_logs_facts_not_values(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("dyntable.test.capacity")
    secret = "s3cr3t-item-value"

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        if op == "UpdateItem":
            raise ThrottlingError(f"slow down {secret}", code="ThrottlingException")
        return {"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}}

    mock = MockTransport(handler, hooks=[logging_hook(logger)])
    item = {"PK": {"S": secret}, "note": {"S": secret}}
    with caplog.at_level(logging.INFO, logger=logger.name):
        mock.send("PutItem", {"TableName": "t", "Item": item})
        with pytest.raises(ThrottlingError):
            mock.send("UpdateItem", {"TableName": "t", "Key": item})
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("dynamodb PutItem table=t transport=mock duration_ms=")
    assert "attempts=1 capacity=t=1.0" in lines[0]
    assert "error=ThrottlingError" in lines[1]
    assert secret not in caplog.text


def test_logging_hook_respects_the_level(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("dyntable.test.capacity.quiet")
    mock = MockTransport(hooks=[logging_hook(logger, logging.DEBUG)])
    with caplog.at_level(logging.INFO, logger=logger.name):
        mock.send("GetItem", {"TableName": "t"})
    assert caplog.records == []


def test_operation_metrics() -> None:
    metrics = OperationMetrics()

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("fail"):
            raise ThrottlingError("x")
        return {}

    mock = MockTransport(handler, hooks=[metrics])
    mock.send("GetItem", {})
    mock.send("GetItem", {})
    with pytest.raises(ThrottlingError):
        mock.send("GetItem", {"fail": True})
    stats = metrics.snapshot()["GetItem"]
    assert (stats.calls, stats.errors, stats.retries) == (3, 1, 0)
    assert stats.max_seconds >= stats.mean_seconds > 0.0
