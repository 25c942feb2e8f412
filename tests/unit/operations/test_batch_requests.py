"""Batch writer and batch get: compiled requests and retry flows, over a scripted transport."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.operations.batch_base import BatchStats, key_digest
from dyntable._internal.operations.batch_write import WriteAction, write_flow
from dyntable._internal.operations.flow import Request, Sleep
from dyntable._internal.operations.retry import Backoff, Deadline
from dyntable.client import Client
from dyntable.errors import (
    BatchGetError,
    BatchWriteError,
    InvalidRequestError,
    ServiceValidationError,
    ThrottlingError,
)
from tests.models import Customer, Order, Product, shop

Responder = Callable[[str, dict[str, Any]], dict[str, Any]]
FAST = Backoff(base=0.001, cap=0.002, seed=1)


class Scripted:
    """A transport that records requests and answers with ``responder``."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.responder = responder or (lambda op, params: {})

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent.append((operation, copy.deepcopy(params)))
        return self.responder(operation, params)

    def close(self) -> None:
        pass


def client(transport: Scripted) -> Client:
    return shop.connect(transport=transport, table_name="t")


def product(i: int) -> Product:
    return Product(sku=f"sku{i}", title=f"P{i}", price=Decimal("9.99"))


def order(i: int) -> Order:
    return Order(username="ada", order_id=f"o{i}", status="PLACED",
                 placed_at=datetime(2026, 1, 1, tzinfo=timezone.utc), total=Decimal(i))


def writes(t: Scripted) -> list[list[dict[str, Any]]]:
    return [p["RequestItems"]["t"] for op, p in t.sent if op == "BatchWriteItem"]


def test_chunks_of_25_mixed_entities_in_order() -> None:
    t = Scripted()
    with client(t).batch_writer() as bw:
        for i in range(30):
            bw.put(product(i))
        for i in range(20):
            bw.put(order(i))
        bw.delete(Customer, username="gone")
    chunks = writes(t)
    assert [len(c) for c in chunks] == [25, 25, 1]
    first = chunks[0][0]["PutRequest"]["Item"]
    assert first["PK"] == {"S": "PRODUCT#sku0"} and first["_entity"] == {"S": "product"}
    assert chunks[1][5]["PutRequest"]["Item"]["_entity"] == {"S": "order"}
    assert chunks[2][0] == {"DeleteRequest": {"Key": {"PK": {"S": "CUSTOMER#gone"},
                                                      "SK": {"S": "CUSTOMER#gone"}}}}
    assert bw.stats.requests == 3 and bw.stats.items == 51


def test_version_is_bumped_and_set_once_written() -> None:
    t = Scripted()
    p = product(1)
    with client(t).batch_writer() as bw:
        bw.put(p)
        assert p.version == 0
    assert writes(t)[0][0]["PutRequest"]["Item"]["version"] == {"N": "1"}
    assert "ConditionExpression" not in t.sent[0][1]
    assert p.version == 1


def test_duplicate_key_is_refused_naming_the_key() -> None:
    bw = client(Scripted()).batch_writer()
    bw.put(product(1))
    with pytest.raises(InvalidRequestError, match=r"Product key .*PRODUCT#sku1"):
        bw.put(product(1))
    with pytest.raises(InvalidRequestError, match="already in this batch writer"):
        bw.delete(Product, sku="sku1")
    bw.close()


def test_unprocessed_items_are_resent_until_written() -> None:
    calls = {"n": 0}

    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        reqs = params["RequestItems"]["t"]
        if calls["n"] <= 2:
            return {"UnprocessedItems": {"t": reqs[:3]}}
        return {"UnprocessedItems": {}}

    t = Scripted(respond)
    with client(t).batch_writer(backoff=FAST) as bw:
        for i in range(10):
            bw.put(product(i))
    chunks = writes(t)
    assert [len(c) for c in chunks] == [10, 3, 3]
    assert chunks[1] == chunks[0][:3] == chunks[2]
    assert bw.stats.as_dict() == {"requests": 3, "items": 10, "unprocessed_retries": 2,
                                  "unprocessed_items": 6, "error_retries": 0}


def test_deadline_reports_exactly_the_unwritten_objects() -> None:
    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        reqs = params["RequestItems"]["t"]
        return {"UnprocessedItems": {"t": [r for r in reqs
                                           if r["PutRequest"]["Item"]["sku"]["S"] in
                                           ("sku2", "sku7")]}}

    objs = [product(i) for i in range(10)]
    with pytest.raises(BatchWriteError) as info:
        with client(Scripted(respond)).batch_writer(deadline=0.05, backoff=FAST) as bw:
            for o in objs:
                bw.put(o)
    err = info.value
    assert [a.target for a in err.unprocessed] == [objs[2], objs[7]]
    assert all(isinstance(a, WriteAction) and a.kind == "put" for a in err.unprocessed)
    assert "2 item(s) not written" in str(err) and err.table == "t"
    assert objs[2].version == 0 and objs[3].version == 1


def test_throttling_after_transport_retries_is_retried() -> None:
    calls = {"n": 0}

    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ThrottlingError("slow down", code="ThrottlingException", operation=op)
        return {}

    t = Scripted(respond)
    with client(t).batch_writer(backoff=FAST) as bw:
        bw.put(product(1))
    assert len(writes(t)) == 2 and bw.stats.error_retries == 1


def test_fatal_error_stops_the_writer_and_lists_everything_unwritten() -> None:
    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceValidationError("bad", code="ValidationException", operation=op)

    t = Scripted(respond)
    bw = client(t).batch_writer()
    for i in range(24):
        bw.put(product(i))
    with pytest.raises(BatchWriteError) as info:
        bw.put(product(24))  # fills the chunk: sent, rejected
    with pytest.raises(InvalidRequestError, match="closed"):
        bw.put(product(25))
    assert len(info.value.unprocessed) == 25
    assert isinstance(info.value.__cause__, ServiceValidationError)
    assert [a.target for a in info.value.unprocessed][-1].sku == "sku24"
    bw.close()  # already reported: does not raise again
    assert len(writes(t)) == 1


def test_exception_in_block_still_writes_what_was_given() -> None:
    t = Scripted()
    with pytest.raises(RuntimeError):
        with client(t).batch_writer() as bw:
            for i in range(3):
                bw.put(product(i))
            raise RuntimeError("boom")
    assert [len(c) for c in writes(t)] == [3]


def test_concurrent_writer_sends_every_chunk_once() -> None:
    t = Scripted()
    with client(t).batch_writer(concurrency=4, max_pending=50) as bw:
        for i in range(1000):
            bw.put(product(i))
    skus = [r["PutRequest"]["Item"]["sku"]["S"] for c in writes(t) for r in c]
    assert sorted(skus) == sorted(f"sku{i}" for i in range(1000))
    assert all(len(c) <= 25 for c in writes(t))


def test_write_flow_yields_requests_and_waits_without_io() -> None:
    w = client(Scripted()).batch_writer()
    w.put(product(1))
    w.put(product(2))
    actions = list(w._book._chunk)
    flow = write_flow("t", ("PK", "SK"), actions, deadline=10, backoff=FAST, stats=BatchStats())
    step = next(flow)
    assert isinstance(step, Request) and step.operation == "BatchWriteItem"
    unprocessed = {"UnprocessedItems": {"t": [actions[1].request]}}
    step = flow.send(unprocessed)
    assert isinstance(step, Sleep) and 0 <= step.seconds <= FAST.cap
    step = flow.send(None)
    assert isinstance(step, Request)
    assert step.params["RequestItems"]["t"] == [actions[1].request]
    with pytest.raises(StopIteration) as done:
        flow.send({})
    assert done.value.value.unwritten == []


def test_the_driver_throws_errors_into_the_flow() -> None:
    def flow() -> Any:
        try:
            yield Request("X", {})
        except ThrottlingError:
            return "handled"
        return "no error"

    def send(op: str, params: dict[str, Any]) -> dict[str, Any]:
        raise ThrottlingError("t", code="ThrottlingException", operation=op)

    assert client(Scripted(send)).run(flow()) == "handled"


def test_backoff_full_jitter_bounds_and_deadline() -> None:
    b = Backoff(base=0.1, cap=1.0, seed=7)
    delays = [b.delay(n) for n in range(8)]
    assert all(0 <= d <= min(1.0, 0.1 * 2**n) for n, d in enumerate(delays))
    assert len(set(delays)) == len(delays)
    now = [100.0]
    d = Deadline(5, clock=lambda: now[0])
    assert d.wait(10).seconds == 5 and not d.expired
    now[0] = 105.0
    assert d.expired and d.remaining() == 0


def test_key_digest_is_canonical() -> None:
    assert key_digest({"PK": {"N": "1.50"}}) == key_digest({"PK": {"N": "1.5"}})
    assert key_digest({"PK": {"B": b"ab"}}) == key_digest({"PK": {"B": "YWI="}})
    assert key_digest({"PK": {"S": "a"}, "SK": {"S": "b"}}) == \
        key_digest({"SK": {"S": "b"}, "PK": {"S": "a"}})
    assert key_digest({"PK": {"S": "ab"}, "SK": {"S": ""}}) != \
        key_digest({"PK": {"S": "a"}, "SK": {"S": "b"}})


def _store(items: list[Any]) -> dict[bytes, dict[str, Any]]:
    from dyntable._internal.codec.items import codec_for

    out = {}
    for obj in items:
        item = codec_for(type(obj)).encode(obj)
        out[key_digest({"PK": item["PK"], "SK": item["SK"]})] = item
    return out


def test_batch_get_chunks_dedupes_orders_and_reports_missing() -> None:
    stored = _store([product(i) for i in range(0, 250, 2)] + [order(1)])
    seen: list[int] = []

    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        keys = params["RequestItems"]["t"]["Keys"]
        seen.append(len(keys))
        found = [stored[key_digest(k)] for k in keys if key_digest(k) in stored]
        return {"Responses": {"t": list(reversed(found))}}

    t = Scripted(respond)
    wanted: list[Any] = [Product.primary(sku=f"sku{i}") for i in range(250)]
    wanted += [order(1), Product.primary(sku="sku0")]
    result = client(t).batch_get(wanted, consistent=True)
    assert seen == [100, 100, 51]
    assert t.sent[0][1]["RequestItems"]["t"]["ConsistentRead"] is True
    assert [p.sku for p in result.of(Product)] == [f"sku{i}" for i in range(0, 250, 2)]
    assert result.of(Order) == [order(1)]
    assert result.missing == [Product.primary(sku=f"sku{i}") for i in range(1, 250, 2)]
    assert len(result) == 126


def test_batch_get_retries_unprocessed_keys_then_raises_at_deadline() -> None:
    stored = _store([product(i) for i in range(5)])

    def respond(op: str, params: dict[str, Any]) -> dict[str, Any]:
        keys = params["RequestItems"]["t"]["Keys"]
        stuck = [k for k in keys if k["PK"]["S"] == "PRODUCT#sku3"]
        served = [stored[key_digest(k)] for k in keys if k not in stuck]
        return {"Responses": {"t": served}, "UnprocessedKeys": {"t": {"Keys": stuck}}
                if stuck else {}}

    t = Scripted(respond)
    with pytest.raises(BatchGetError) as info:
        client(t).batch_get([product(i) for i in range(5)], deadline=0.05, backoff=FAST)
    assert info.value.unprocessed == [product(3)]
    assert len(t.sent) >= 2
    assert all(p["RequestItems"]["t"]["Keys"] == [{"PK": {"S": "PRODUCT#sku3"},
                                                   "SK": {"S": "PRODUCT"}}]
               for _op, p in t.sent[1:])


def test_batch_get_refuses_bad_keys() -> None:
    with pytest.raises(InvalidRequestError, match="takes a model instance, a key such as"):
        client(Scripted()).batch_get(["sku1"])
    with pytest.raises(InvalidRequestError, match=r"not a \(Model, \{fields\}\) pair"):
        client(Scripted()).batch_get([(Product, {"sku": "sku1"})])
