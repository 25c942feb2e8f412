"""Idempotent functions and handlers on DynamoDB Local, over every transport (the async
transport runs the ``async def`` path with an AsyncClient): one body run per key under
concurrency, stored results replayed, expiry, payload validation, release on error, and
takeover of a crashed call's claim."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast

import pytest
from pydantic import BaseModel

from dyntable import Key, Model, Table
from dyntable.client import Client
from dyntable.idempotency import (
    Idempotency,
    IdempotencyInProgressError,
    IdempotencyKeyError,
    IdempotencyPayloadMismatchError,
    Status,
    idempotency_table,
)
from tests.async_facade import Facade, shared_loop
from tests.conftest import TRANSPORTS

pytestmark = pytest.mark.integration

app = Table("idem-app", ttl="expires_at")
dedicated = idempotency_table("idem-dedicated")
T0 = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)


class Order(Model, table=app, entity="order"):
    order_id: str
    total: Decimal = Decimal(0)
    primary = Key(pk="ORDER#{order_id}", sk="ORDER")


class Receipt(BaseModel):
    order_id: str
    charged: Decimal
    at: datetime


class Clock:
    """A clock the test moves by hand, from the current second. (Not from a fixed date:
    DynamoDB Local's TTL sweeper deletes items whose TTL time has really passed.)"""

    def __init__(self) -> None:
        self.start = datetime.now(timezone.utc).replace(microsecond=0)
        self.now = self.start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Crash(BaseException):
    """Stands for a process that dies mid-call (nothing runs after it)."""


@dataclass
class Env:
    """One table on one transport: ``db`` reads it synchronously; ``store`` makes an
    Idempotency over the client kind under test; ``wrap`` decorates a sync body (as an
    ``async def`` for the async client) and returns a sync caller."""

    db: Client
    client: Any
    is_async: bool

    def store(self, **options: Any) -> Idempotency:
        return Idempotency(self.client, **options)

    def wrap(self, idem: Idempotency, body: Callable[..., Any], *, handler: bool = False,
             **options: Any) -> Callable[..., Any]:
        decorate = idem.handler if handler else idem.function
        if not self.is_async:
            return decorate(**options)(body)

        @functools.wraps(body)
        async def run(*args: Any, **kwargs: Any) -> Any:
            return body(*args, **kwargs)

        wrapped = decorate(**options)(run)

        @functools.wraps(wrapped)  # keeps the scope key_of() reads
        def caller(*args: Any, **kwargs: Any) -> Any:
            return shared_loop().run(wrapped(*args, **kwargs))
        return caller


def _env(table: Table, endpoint: str, table_name: str, transport_name: str) -> Env:
    transport = TRANSPORTS[transport_name](endpoint)
    if transport_name == "async":
        from dyntable.async_client import AsyncClient

        aclient = AsyncClient(table, transport=cast(Any, transport), table_name=table_name)
        return Env(cast(Client, Facade(aclient, shared_loop())), aclient, True)
    db = table.connect(transport=transport, table_name=table_name)
    return Env(db, db, False)


BOTH_LAYOUTS = pytest.mark.parametrize("env", ["app", "dedicated"], indirect=True)


@pytest.fixture
def env(request: pytest.FixtureRequest, dynamodb_endpoint: str, unique_table_name: str,
        transport_name: str) -> Iterator[Env]:
    """The records on the application's table (PK + SK, beside its Orders), or, for tests
    marked BOTH_LAYOUTS, also on a dedicated table (PK only)."""
    table = dedicated if getattr(request, "param", "app") == "dedicated" else app
    made = _env(table, dynamodb_endpoint, unique_table_name, transport_name)
    made.db.create_table()
    yield made
    made.db.delete_table(wait=False)
    made.db.close()


@BOTH_LAYOUTS
def test_a_retry_after_completion_gets_the_stored_result(env: Env) -> None:
    clock = Clock()
    idem = env.store(clock=clock)
    runs: list[str] = []

    def charge(order_id: str, amount: Decimal) -> Receipt:
        runs.append(order_id)
        return Receipt(order_id=order_id, charged=amount, at=T0)

    call = env.wrap(idem, charge, key="order_id")
    first = call("o-1", Decimal("9.50"))
    again = call("o-1", Decimal("9.50"))
    assert runs == ["o-1"]
    assert again == first and isinstance(again, Receipt)  # typed by the return annotation
    record = env.db.get(idem.key_of(call, "o-1"))
    assert record is not None and record.status == Status.COMPLETED.value
    assert record.in_progress_expiration is None
    assert record.expiry == int(clock.start.timestamp()) + 3600
    call("o-2", Decimal(1))
    assert runs == ["o-1", "o-2"]


def test_expiry_lets_the_body_run_again(env: Env) -> None:
    clock = Clock()
    idem = env.store(clock=clock, expires_after=60)
    runs: list[int] = []
    def handler(event: dict[str, Any], context: Any) -> int:
        runs.append(1)
        return len(runs)

    call = env.wrap(idem, handler, handler=True, key="id")
    assert call({"id": "a"}, None) == 1
    clock.advance(60)
    assert call({"id": "a"}, None) == 1  # at the expiry time: still valid
    clock.advance(1)
    assert call({"id": "a"}, None) == 2  # expired: runs again, stores the new result
    assert call({"id": "a"}, None) == 2
    assert len(runs) == 2


def test_a_payload_mismatch_raises_and_runs_nothing(env: Env) -> None:
    idem = env.store(clock=Clock())
    runs: list[dict[str, Any]] = []
    def handler(event: dict[str, Any], context: Any) -> str:
        runs.append(event)
        return "ok"

    call = env.wrap(idem, handler, handler=True, key="orderId",
                    payload=("amount", "currency"))
    call({"orderId": "o1", "amount": 10, "currency": "EUR", "traceId": "t1"}, None)
    # another trace id is fine: only amount and currency are validated
    assert call({"orderId": "o1", "amount": 10, "currency": "EUR", "traceId": "t2"},
                None) == "ok"
    with pytest.raises(IdempotencyPayloadMismatchError) as caught:
        call({"orderId": "o1", "amount": 20, "currency": "EUR"}, None)
    assert caught.value.stored_hash != caught.value.payload_hash
    assert len(runs) == 1


def test_a_body_that_raises_releases_its_claim(env: Env) -> None:
    idem = env.store(clock=Clock())
    attempts: list[int] = []

    def flaky(job: str) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("payment gateway down")
        return "paid"

    call = env.wrap(idem, flaky, key="job")
    with pytest.raises(RuntimeError, match="gateway down"):
        call("j1")
    assert env.db.get(idem.key_of(call, "j1"), consistent=True) is None  # released
    assert call("j1") == "paid"
    assert call("j1") == "paid"
    assert len(attempts) == 2


def test_a_crashed_claim_is_taken_over_after_its_in_progress_expiry(env: Env) -> None:
    clock = Clock()
    idem = env.store(clock=clock, in_progress_timeout=30)
    runs: list[str] = []

    def work(job: str) -> str:
        runs.append(job)
        if len(runs) == 1:
            raise Crash  # the process dies: nothing releases the claim
        return "done"

    call = env.wrap(idem, work, key="job")
    with pytest.raises(Crash):
        call("j1")
    record = env.db.get(idem.key_of(call, "j1"), consistent=True)
    assert record is not None and record.status == Status.IN_PROGRESS.value
    assert record.in_progress_expiration == int(clock.start.timestamp() * 1000) + 30_000
    clock.advance(30)
    with pytest.raises(IdempotencyInProgressError) as caught:
        call("j1")  # the claim still holds
    assert caught.value.until == clock.start + timedelta(seconds=30)
    clock.advance(1)
    assert call("j1") == "done"  # taken over
    assert runs == ["j1", "j1"]


def test_a_lambda_claim_holds_for_the_remaining_time(env: Env) -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 7_000

    clock = Clock()
    idem = env.store(clock=clock)
    def handler(event: dict[str, Any], context: Any) -> None:
        raise Crash

    call = env.wrap(idem, handler, handler=True, key="detail.id")
    with pytest.raises(Crash):
        call({"detail": {"id": "e1"}}, Context())
    record = env.db.get(idem.key_of(call, "e1"), consistent=True)
    assert record is not None
    assert record.in_progress_expiration == int(clock.start.timestamp() * 1000) + 7_000
    with pytest.raises(IdempotencyKeyError, match=r"'detail\.id' is absent"):
        call({"detail": {}}, Context())


@BOTH_LAYOUTS
@pytest.mark.sync_only("threads block the body; the asyncio variant is below")
def test_the_same_request_from_4_threads_runs_its_body_once(env: Env) -> None:
    idem = env.store()
    runs: list[str] = []
    refused = threading.Semaphore(0)

    def place(order_id: str) -> dict[str, str]:
        runs.append(order_id)
        for _ in range(3):  # hold the claim until the 3 others were turned away
            assert refused.acquire(timeout=20)
        return {"order": order_id}

    call = env.wrap(idem, place, key="order_id")
    outcomes: list[Any] = []

    def worker() -> None:
        try:
            outcomes.append(call("o-9"))
        except IdempotencyInProgressError as exc:
            outcomes.append(type(exc))
            refused.release()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert runs == ["o-9"]
    assert sorted(map(str, outcomes)) == sorted(
        [str({"order": "o-9"})] + [str(IdempotencyInProgressError)] * 3)
    assert call("o-9") == {"order": "o-9"}  # later retries get the stored result
    assert runs == ["o-9"]


@pytest.mark.sync_only("threads block the body; the asyncio variant is below")
def test_waiting_callers_all_get_the_one_result(env: Env) -> None:
    idem = env.store(on_in_progress="wait")
    runs: list[int] = []
    started = threading.Event()
    release = threading.Event()

    def slow(n: int) -> int:
        runs.append(n)
        started.set()
        assert release.wait(20)
        return n * 2

    call = env.wrap(idem, slow, key="n")
    outcomes: list[int] = []
    threads = [threading.Thread(target=lambda: outcomes.append(call(21))) for _ in range(4)]
    threads[0].start()
    assert started.wait(20)
    for t in threads[1:]:
        t.start()
    release.set()
    for t in threads:
        t.join(30)
    assert runs == [21] and outcomes == [42, 42, 42, 42]


@pytest.mark.sync_only("threads")
def test_a_late_finisher_does_not_overwrite_the_call_that_took_over(env: Env) -> None:
    clock = Clock()
    idem = env.store(clock=clock, in_progress_timeout=10)
    claimed = threading.Event()
    finish = threading.Event()
    runs: list[str] = []

    def work(job: str) -> str:
        runs.append(job)
        if len(runs) == 1:  # the first call stalls past its claim
            claimed.set()
            assert finish.wait(20)
            return "late"
        return "fresh"

    call = env.wrap(idem, work, key="job")
    late: list[str] = []
    slow = threading.Thread(target=lambda: late.append(call("j")))
    slow.start()
    assert claimed.wait(20)
    clock.advance(11)
    assert call("j") == "fresh"  # took the expired claim over
    finish.set()
    slow.join(30)
    assert late == ["late"]  # the stalled call still returns what it computed...
    assert call("j") == "fresh"  # ...but the record keeps the call that took over
    assert runs == ["j", "j"]


def test_records_share_the_application_table(dynamodb_endpoint: str,
                                              unique_table_name: str,
                                              transport_name: str) -> None:
    made = _env(app, dynamodb_endpoint, unique_table_name, transport_name)
    made.db.create_table()
    try:
        made.db.put(Order(order_id="o1"))
        idem = made.store()
        call = made.wrap(idem, lambda order_id: f"placed {order_id}", key="order_id")
        assert call("o1") == call("o1") == "placed o1"
        assert [o.order_id for o in made.db.scan(Order)] == ["o1"]  # records are not Orders
        raw = made.db.send("Scan", {"TableName": made.db.table_name})["Items"]
        kinds = sorted(i["_entity"]["S"] for i in raw)
        assert kinds == ["idempotency", "order"]
        record = next(i for i in raw if i["_entity"]["S"] == "idempotency")
        assert record["PK"]["S"].startswith("IDEMPOTENCY#") and record["SK"]["S"] == "IDEMPOTENCY"
        assert "expires_at" in record  # the table's TTL attribute
    finally:
        made.db.delete_table(wait=False)
        made.db.close()


def test_four_asyncio_tasks_run_the_body_once(dynamodb_endpoint: str, unique_table_name: str,
                                              transport_name: str) -> None:
    if transport_name != "async":
        pytest.skip("asyncio variant: runs over the async transport")

    async def scenario() -> None:
        db = await dedicated.connect_async(endpoint_url=dynamodb_endpoint,
                                           region="us-east-1", table_name=unique_table_name)
        await db.create_table()
        try:
            idem = Idempotency(db)
            runs: list[str] = []
            refused = asyncio.Event()
            turned_away: list[int] = []

            @idem.function(key="order_id")
            async def place(order_id: str) -> list[str]:
                runs.append(order_id)
                await asyncio.wait_for(refused.wait(), 20)
                return [order_id, "placed"]

            async def caller() -> Any:
                try:
                    return await place("a-1")
                except IdempotencyInProgressError:
                    turned_away.append(1)
                    if len(turned_away) == 3:
                        refused.set()
                    return "in progress"

            outcomes = await asyncio.gather(*(caller() for _ in range(4)))
            assert runs == ["a-1"]
            assert sorted(map(str, outcomes)) == sorted(
                [str(["a-1", "placed"])] + ["in progress"] * 3)
            assert await place("a-1") == ["a-1", "placed"]

            waiting = Idempotency(db, on_in_progress="wait")
            slow_runs: list[int] = []

            @waiting.function(key="n")
            async def slow(n: int) -> int:
                slow_runs.append(n)
                await asyncio.sleep(0.3)
                return n + 1

            assert await asyncio.gather(*(slow(1) for _ in range(4))) == [2, 2, 2, 2]
            assert slow_runs == [1]
        finally:
            await db.delete_table(wait=False)
            await db.close()

    asyncio.run(scenario())
