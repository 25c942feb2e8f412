"""Batch writer and batch get when sending fails: no hang, the first failure, every item.

Each test runs under ``pytest.mark.timeout`` so that a writer that hangs fails visibly.
The transports are :class:`~dyntable.transport.mock.MockTransport`s whose handler or hook
fails on purpose; an item counts as *confirmed* when its object's version was bumped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.operations.batch_base import BatchStats, resend_until_done
from dyntable._internal.operations.flow import Request
from dyntable._internal.operations.retry import Backoff
from dyntable.batch_writer import BatchWriter
from dyntable.client import Client
from dyntable.errors import (
    BatchGetError,
    BatchWriteError,
    DecodeError,
    InvalidRequestError,
    ThrottlingError,
    TransportError,
)
from dyntable.transport.base import CallEvent
from dyntable.transport.mock import MockCall, MockTransport
from tests.models import Product, shop

FAST = Backoff(base=0.001, cap=0.002, seed=1)
Handler = Callable[[str, dict[str, Any]], dict[str, Any]]
pytestmark = pytest.mark.timeout(30)


class HookFailed(RuntimeError):
    """What the failing hook raises (not a dyntable error)."""


class Abort(BaseException):
    """A BaseException that is neither KeyboardInterrupt nor SystemExit."""


def product(i: int) -> Product:
    return Product(sku=f"sku{i:04d}", title=f"P{i}", price=Decimal("9.99"))


def failing_hook(on_call: int, exc: BaseException) -> Callable[[CallEvent], None]:
    """A hook that raises ``exc`` after the ``on_call``-th BatchWriteItem (1-based)."""
    count = {"n": 0}
    lock = threading.Lock()

    def hook(event: CallEvent) -> None:
        if event.operation != "BatchWriteItem":
            return
        with lock:
            count["n"] += 1
            n = count["n"]
        if n == on_call:
            raise exc

    return hook


class Watched:
    """A handler and a hook: the hook raises on one call and records which items it had."""

    def __init__(self, on_call: int, exc: BaseException) -> None:
        self.local = threading.local()
        self.fail = failing_hook(on_call, exc)
        self.failed: list[str] = []
        self.returned: list[str] = []
        self.lock = threading.Lock()

    def handler(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        self.local.skus = skus_of(params)
        return {}

    def hook(self, event: CallEvent) -> None:
        try:
            self.fail(event)
        except BaseException:
            self.failed = list(self.local.skus)
            raise
        with self.lock:
            self.returned.extend(self.local.skus)


def connect(handler: Handler | None = None, **kw: Any) -> tuple[Client, MockTransport]:
    transport = MockTransport(handler, **kw)
    return shop.connect(transport=transport, table_name="t"), transport


def skus_of(params: dict[str, Any]) -> list[str]:
    return [r["PutRequest"]["Item"]["sku"]["S"] for r in params["RequestItems"]["t"]]


def skus(call: MockCall) -> list[str]:
    return skus_of(call.params)


def run_failing(bw: BatchWriter, objs: list[Product]) -> tuple[BatchWriteError, list[Product]]:
    handed: list[Product] = []
    with pytest.raises(BatchWriteError) as info:
        with bw:
            for o in objs:
                handed.append(o)
                bw.put(o)
    return info.value, handed


def assert_partition(err: BatchWriteError, handed: list[Product]) -> list[Product]:
    """Every item handed in is either confirmed (version bumped) or listed, never both."""
    listed = [a.target for a in err.unprocessed]
    assert len({id(o) for o in listed}) == len(listed), "an item is listed twice"
    listed_ids = {id(o) for o in listed}
    assert listed_ids <= {id(o) for o in handed}
    for o in handed:
        assert (o.version == 1) != (id(o) in listed_ids), f"{o.sku} written and listed, or neither"
    return listed


# -- the writer: exceptions that are not dyntable's -----------------------------------------


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_a_hook_that_raises_stops_the_writer_and_lists_every_unwritten_item(
    concurrency: int,
) -> None:
    boom = HookFailed("metrics hook broke")
    watched = Watched(3, boom)
    db, t = connect(watched.handler, hooks=[watched.hook])
    objs = [product(i) for i in range(400)]
    bw = db.batch_writer(concurrency=concurrency, max_pending=50, backoff=FAST)
    err, handed = run_failing(bw, objs)
    assert err.__cause__ is boom
    assert "HookFailed" in str(err) and "metrics hook broke" in str(err)
    listed = assert_partition(err, handed)
    # the call whose hook raised was answered, but not confirmed: its items are listed
    assert len(watched.failed) == 25 and set(watched.failed) <= {o.sku for o in listed}
    # what is confirmed was in a call that returned normally
    assert {o.sku for o in handed if o.version == 1} <= set(watched.returned)
    if concurrency == 1:
        assert len(t.sent) == 3 and len(handed) == 75
    assert len(t.sent) < len(objs) // 25  # stopped: not everything was sent
    with pytest.raises(InvalidRequestError, match="closed"):
        bw.put(product(999))


@pytest.mark.parametrize("concurrency", [1, 2, 4])
@pytest.mark.parametrize(
    ("entry", "error"),
    [({"PutRequest": {}}, KeyError), (None, TypeError),
     ({"PutRequest": {"Item": {"PK": {"S": "PRODUCT#never-sent"}, "SK": {"S": "PRODUCT"}}}},
      DecodeError)],
    ids=["key-error", "type-error", "not-sent"],
)
def test_a_malformed_unprocessed_items_answer_stops_the_writer(
    concurrency: int, entry: Any, error: type[Exception]
) -> None:
    calls = {"n": 0}
    lock = threading.Lock()

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        with lock:
            calls["n"] += 1
            n = calls["n"]
        return {"UnprocessedItems": {"t": [entry]}} if n == 2 else {}

    db, _t = connect(handler)
    bw = db.batch_writer(concurrency=concurrency, max_pending=50, backoff=FAST)
    err, handed = run_failing(bw, [product(i) for i in range(300)])
    assert isinstance(err.__cause__, error)
    listed = assert_partition(err, handed)
    assert len(listed) >= 25  # at least the chunk whose answer could not be read


def test_items_confirmed_before_a_failure_are_not_listed() -> None:
    calls = {"n": 0}

    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            return {"UnprocessedItems": {"t": params["RequestItems"]["t"][20:]}}
        return {}

    boom = HookFailed("second attempt")
    db, _t = connect(handler, hooks=[failing_hook(2, boom)])
    objs = [product(i) for i in range(25)]
    err, handed = run_failing(db.batch_writer(backoff=FAST), objs)
    assert err.__cause__ is boom
    assert [a.target for a in err.unprocessed] == objs[20:]
    assert all(o.version == 1 for o in objs[:20])
    assert_partition(err, handed)


@pytest.mark.parametrize("concurrency", [2, 4])
def test_a_base_exception_in_a_sending_thread_is_reported(concurrency: int) -> None:
    stop = Abort("not an Exception")
    db, _t = connect(hooks=[failing_hook(1, stop)])
    err, handed = run_failing(db.batch_writer(concurrency=concurrency, backoff=FAST),
                              [product(i) for i in range(200)])
    assert err.__cause__ is stop
    assert_partition(err, handed)


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt()], ids=["exit", "interrupt"])
def test_an_interrupt_in_the_calling_thread_propagates_unchanged(exc: BaseException) -> None:
    db, t = connect(hooks=[failing_hook(2, exc)])
    bw = db.batch_writer(backoff=FAST)
    objs = [product(i) for i in range(100)]
    handed: list[Product] = []
    with pytest.raises(type(exc)) as info:
        with bw:
            for o in objs:
                handed.append(o)
                bw.put(o)
    assert info.value is exc
    assert len(t.sent) == 2  # nothing sent after the interrupt, not even on leaving the block
    report = bw.error()
    assert report.__cause__ is exc
    assert [a.target for a in report.unprocessed] == handed[25:]
    assert_partition(report, handed)


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_flush_and_close_report_a_failure_instead_of_hanging(concurrency: int) -> None:
    boom = HookFailed("first call")
    db, _t = connect(hooks=[failing_hook(1, boom)])
    bw = db.batch_writer(concurrency=concurrency, max_pending=25, backoff=FAST)
    objs = [product(i) for i in range(24)]
    for o in objs:
        bw.put(o)
    with pytest.raises(BatchWriteError) as info:
        bw.flush()
    assert info.value.__cause__ is boom
    assert [a.target for a in info.value.unprocessed] == objs
    bw.close()  # reported already: nothing more


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_put_never_blocks_on_a_full_queue_once_every_send_fails(concurrency: int) -> None:
    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise HookFailed("every call")

    db, _t = connect(handler)
    bw = db.batch_writer(concurrency=concurrency, max_pending=25, backoff=FAST)
    err, handed = run_failing(bw, [product(i) for i in range(1000)])
    assert isinstance(err.__cause__, HookFailed)
    assert [a.target for a in err.unprocessed] == handed


# -- the writer: one chunk out of time stops the writer --------------------------------------


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_a_dead_endpoint_is_reported_after_one_deadline_whatever_the_item_count(
    concurrency: int,
) -> None:
    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise TransportError("connection refused")

    db, t = connect(handler)
    bw = db.batch_writer(deadline=0.05, concurrency=concurrency, max_pending=1000,
                     backoff=FAST)
    err, handed = run_failing(bw, [product(i) for i in range(400)])
    assert [a.target for a in err.unprocessed] == handed
    assert all(o.version == 0 for o in handed)
    assert isinstance(err.__cause__, TransportError)
    assert "0.05s" in str(err)
    first_items = {skus(c)[0] for c in t.sent}
    assert len(first_items) <= concurrency  # only the chunks in flight were tried
    if concurrency == 1:
        assert len(handed) == 25


def test_unprocessed_items_past_the_deadline_stop_the_writer() -> None:
    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        reqs = params["RequestItems"]["t"]
        return {"UnprocessedItems": {"t": [r for r in reqs if r["PutRequest"]["Item"]["sku"]
                                           ["S"] == "sku0002"]}}

    db, t = connect(handler)
    objs = [product(i) for i in range(100)]
    err, handed = run_failing(db.batch_writer(deadline=0.05, backoff=FAST), objs)
    assert handed == objs[:25]
    assert [a.target for a in err.unprocessed] == [objs[2]]
    assert err.__cause__ is None
    assert {s for c in t.sent for s in skus(c)} <= {o.sku for o in objs[:25]}


def test_a_deadline_of_zero_sends_each_chunk_once() -> None:
    db, t = connect()
    with db.batch_writer(deadline=0) as bw:
        for i in range(60):
            bw.put(product(i))
    assert len(t.sent) == 3 and bw.stats.items == 60


def test_bad_deadline_is_refused() -> None:
    db, _t = connect()
    with pytest.raises(InvalidRequestError, match="deadline"):
        db.batch_writer(deadline=-1)
    with pytest.raises(InvalidRequestError, match="deadline"):
        db.batch_get([], deadline=float("nan"))


# -- batch get -------------------------------------------------------------------------------


def test_batch_get_stops_at_the_first_chunk_out_of_time_and_lists_every_key() -> None:
    def handler(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise ThrottlingError("slow down", code="ThrottlingException", operation=op)

    db, t = connect(handler)
    keys = [Product.primary(sku=f"sku{i:04d}") for i in range(250)]
    with pytest.raises(BatchGetError) as info:
        db.batch_get(keys, deadline=0.05, backoff=FAST)
    assert info.value.unprocessed == keys
    assert isinstance(info.value.__cause__, ThrottlingError)
    sent = {k["PK"]["S"] for c in t.sent for k in c.params["RequestItems"]["t"]["Keys"]}
    assert sent == {f"PRODUCT#sku{i:04d}" for i in range(100)}


def test_batch_get_raises_a_hook_exception_as_it_is() -> None:
    boom = HookFailed("get hook")

    def hook(event: CallEvent) -> None:
        raise boom

    db, _t = connect(hooks=[hook])
    with pytest.raises(HookFailed) as info:
        db.batch_get([Product.primary(sku="a")], backoff=FAST)
    assert info.value is boom


@pytest.mark.parametrize(
    ("answer", "error"),
    [({"Responses": {"t": [{}]}}, KeyError),
     ({"UnprocessedKeys": {"t": {"Keys": [None]}}}, TypeError),
     ({"UnprocessedKeys": {"t": "garbage"}}, AttributeError),
     ({"UnprocessedKeys": {"t": {"Keys": [{}]}}}, DecodeError)],
)
def test_batch_get_raises_a_malformed_answer(answer: Any, error: type[Exception]) -> None:
    db, _t = connect(lambda op, params: answer)
    with pytest.raises(error):
        db.batch_get([Product.primary(sku="a")], backoff=FAST)


# -- the flow, without I/O -------------------------------------------------------------------


def test_resend_loop_returns_what_is_left_when_a_foreign_error_is_thrown_in() -> None:
    flow = resend_until_done("X", [1, 2, 3], lambda p: {"n": p}, lambda r: [],
                             deadline=10, backoff=FAST, stats=BatchStats())
    assert isinstance(next(flow), Request)
    boom = HookFailed("x")
    with pytest.raises(StopIteration) as done:
        flow.throw(boom)
    assert done.value.value.left == [1, 2, 3] and done.value.value.error is boom


def test_resend_loop_reports_what_each_answer_confirmed_and_honours_stop() -> None:
    confirmed: list[list[int]] = []
    stopped = {"now": False}
    flow = resend_until_done("X", [1, 2, 3], lambda p: {"n": p}, lambda r: r["left"],
                             deadline=10, backoff=FAST, stats=BatchStats(),
                             stop=lambda: stopped["now"], done=confirmed.append)
    next(flow)
    flow.send({"left": [3]})  # -> a Wait
    stopped["now"] = True
    with pytest.raises(StopIteration) as done:
        flow.send(None)
    assert confirmed == [[1, 2]]
    assert done.value.value.left == [3] and done.value.value.error is None
    assert not done.value.value.expired
