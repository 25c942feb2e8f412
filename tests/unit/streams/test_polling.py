"""The consumer's flows (dyntable.streams.polling), driven with scripted answers and a fake
clock: no network, no client. Each test runs the flows as a consumer does: next batch,
handle its records, commit, and release at the end."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.operations.flow import Request, Sleep
from dyntable.streams.polling import ConsumerOptions, Poller
from tests.models import Customer, Product
from tests.unit.streams.fake_streams import ARN, FakeStreams, seq

Handler = Callable[[dict[str, Any]], None]


def _poller(fake: FakeStreams, **options: Any) -> Poller:
    options.setdefault("owner", "me")
    return Poller("shop", ConsumerOptions(lease_table="leases", **options),
                  clock=fake.clock, monotonic=fake.clock)


def consume(fake: FakeStreams, poller: Poller, handler: Handler | None = None, *,
            max_records: int | None = None, until_idle: float | None = 1.0,
            stopped: Callable[[], bool] = lambda: False) -> list[str]:
    """One run; returns the sequence numbers handed to the handler."""
    seen: list[str] = []
    fake.drive(poller.setup_flow())
    poller.begin(max_records=max_records, until_idle=until_idle, stopped=stopped)
    try:
        while (batch := fake.drive(poller.next_batch_flow())) is not None:
            handled = 0
            try:
                for raw in batch.records:
                    if handler is not None:
                        handler(raw)
                    seen.append(raw["dynamodb"]["SequenceNumber"])
                    handled += 1
            finally:
                fake.drive(poller.commit_flow(batch, handled))
    finally:
        fake.drive(poller.release_flow())
    return seen


def _customer(i: int) -> Customer:
    return Customer(username=f"u{i}", email=f"u{i}@x.io", name=f"U{i}")


def test_setup_finds_the_stream_and_creates_the_lease_table() -> None:
    fake = FakeStreams()
    poller = _poller(fake)
    store = fake.drive(poller.setup_flow())
    assert (store.stream_arn, store.table_name, store.group) == (ARN, "leases", "default")
    assert fake.operations()[:3] == ["DescribeTable", "DescribeTable", "CreateTable"]
    assert fake.lease_table_exists
    fake.calls.clear()
    fake.drive(poller.setup_flow())  # once per poller
    assert fake.calls == []


def test_parents_are_read_to_their_end_before_children() -> None:
    fake = FakeStreams()
    fake.add_shard("child", 10, parent="parent")
    fake.add_shard("parent", 1, closed=True)
    fake.write("parent", 1, _customer(1))
    fake.write("parent", 2, _customer(2))
    fake.write("child", 10, _customer(10))
    poller = _poller(fake)
    assert consume(fake, poller) == [seq(1), seq(2), seq(10)]
    parent = fake.lease("parent")
    assert parent is not None and parent["finished"] == {"BOOL": True}
    assert parent["checkpoint"] == {"S": seq(2)}
    child = fake.lease("child")
    assert child is not None and child["checkpoint"] == {"S": seq(10)}
    assert "owner" not in child  # released (None is not stored)


def test_shard_listing_follows_describe_stream_pages() -> None:
    fake = FakeStreams()
    for i in range(5):
        fake.add_shard(f"s{i}", 10 * i + 1)
        fake.write(f"s{i}", 10 * i + 1, _customer(i))
    seen = consume(fake, _poller(fake))
    assert sorted(seen) == [seq(10 * i + 1) for i in range(5)]
    describes = [p for op, p in fake.calls if op == "DescribeStream"]
    assert [p.get("ExclusiveStartShardId") for p in describes[:3]] == [None, "s1", "s3"]


def test_shards_are_polled_in_turn() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    fake.add_shard("b", 100)
    for i in range(3):
        fake.write("a", 1 + i, _customer(i))
        fake.write("b", 100 + i, _customer(100 + i))
    seen = consume(fake, _poller(fake, batch_size=1))
    assert seen == [seq(1), seq(100), seq(2), seq(101), seq(3), seq(102)]


def test_idle_waits_are_sleep_steps_that_back_off() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    poller = _poller(fake, poll_interval=0.5, max_poll_interval=2.0)
    assert consume(fake, poller, until_idle=6.0) == []
    assert fake.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0]  # then 7.5 s idle >= 6: the run ends


def test_a_record_resets_the_back_off() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    poller = _poller(fake, poll_interval=0.5, max_poll_interval=4.0)

    def arrives_late(operation: str, params: dict[str, Any]) -> None:
        if operation == "GetRecords" and len(fake.sleeps) == 3 and not fake.shards["a"].records:
            fake.write("a", 1, _customer(1))

    fake.on_call = arrives_late
    assert consume(fake, poller, until_idle=3.0) == [seq(1)]
    assert fake.sleeps[:3] == [0.5, 1.0, 2.0]
    assert fake.sleeps[3:5] == [0.5, 1.0]  # back to poll_interval after the record


def test_stopped_ends_the_run_at_the_next_step() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    fake.write("a", 1, _customer(1))
    stop = {"now": False}

    def handler(raw: dict[str, Any]) -> None:
        stop["now"] = True

    assert consume(fake, _poller(fake), handler, until_idle=None,
                   stopped=lambda: stop["now"]) == [seq(1)]
    assert fake.sleeps == []
    lease = fake.lease("a")
    assert lease is not None and lease["checkpoint"] == {"S": seq(1)}


def test_max_records_truncates_and_the_next_run_resumes_after_the_checkpoint() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    for i in range(1, 6):
        fake.write("a", i, _customer(i))
    assert consume(fake, _poller(fake), max_records=2) == [seq(1), seq(2)]
    fake.calls.clear()
    assert consume(fake, _poller(fake)) == [seq(3), seq(4), seq(5)]
    iterators = [p for op, p in fake.calls if op == "GetShardIterator"]
    assert iterators[0]["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER"
    assert iterators[0]["SequenceNumber"] == seq(2)


def test_a_handler_error_checkpoints_the_records_before_it_and_releases() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    for i in range(1, 4):
        fake.write("a", i, _customer(i))

    def fails_on_the_second(raw: dict[str, Any]) -> None:
        if raw["dynamodb"]["SequenceNumber"] == seq(2):
            raise RuntimeError("downstream unavailable")

    with pytest.raises(RuntimeError):
        consume(fake, _poller(fake), fails_on_the_second)
    lease = fake.lease("a")
    assert lease is not None and lease["checkpoint"] == {"S": seq(1)}
    assert lease["lease_until"] == {"N": "0.0"}  # released
    assert consume(fake, _poller(fake)) == [seq(2), seq(3)]


def test_an_expired_iterator_is_replaced_from_the_checkpoint() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    fake.write("a", 1, _customer(1))
    poller = _poller(fake)
    expired = {"done": False}

    def expire_once(operation: str, params: dict[str, Any]) -> None:
        lease = fake.lease("a") or {}
        if operation == "GetRecords" and not expired["done"] and \
                lease.get("checkpoint") == {"S": seq(1)}:
            expired["done"] = True
            fake.expire.add(params["ShardIterator"])
            fake.write("a", 2, _customer(2))

    fake.on_call = expire_once
    assert consume(fake, poller) == [seq(1), seq(2)]
    assert expired["done"]
    iterators = [p for op, p in fake.calls if op == "GetShardIterator"]
    assert iterators[-1]["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER"
    assert iterators[-1]["SequenceNumber"] == seq(1)


def test_a_checkpoint_past_retention_reads_from_trim_horizon() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    for i in range(1, 4):
        fake.write("a", i, _customer(i))
    assert consume(fake, _poller(fake), max_records=1) == [seq(1)]
    fake.shards["a"].trimmed_before = int(seq(3))
    assert consume(fake, _poller(fake)) == [seq(3)]
    kinds = [p["ShardIteratorType"] for op, p in fake.calls if op == "GetShardIterator"]
    assert kinds[-2:] == ["AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON"]


def test_a_lost_lease_drops_that_shard_only() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    fake.add_shard("b", 100)
    fake.write("a", 1, _customer(1))
    fake.write("b", 100, _customer(100))
    fake.write("b", 101, _customer(101))

    def steal_b(operation: str, params: dict[str, Any]) -> None:
        lease = fake.lease("b")
        if operation == "GetRecords" and params["ShardIterator"].startswith("b|") and lease \
                and lease["owner"] == {"S": "me"}:
            version = int(lease["version"]["N"]) + 1
            lease.update(owner={"S": "thief"}, version={"N": str(version)})

    fake.on_call = steal_b
    poller = _poller(fake, batch_size=1)
    seen = consume(fake, poller)
    assert seen == [seq(1), seq(100)]  # b's first record was handled, not checkpointed
    b = fake.lease("b")
    assert b is not None and b["owner"] == {"S": "thief"} and "checkpoint" not in b


def test_leases_are_renewed_while_reading() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    poller = _poller(fake, lease_duration=4.0, poll_interval=1.0, max_poll_interval=1.0)
    consume(fake, poller, until_idle=5.0)
    puts = [p["Item"]["lease_until"]["N"] for op, p in fake.calls if op == "PutItem"]
    # acquired at t, renewed once less than half the lease was left, released at the end
    assert len(puts) >= 3 and puts[-1] == "0.0"
    assert float(puts[1]) > float(puts[0])


def test_max_shards_limits_the_leases_taken() -> None:
    fake = FakeStreams()
    for name, start in (("a", 1), ("b", 100), ("c", 200)):
        fake.add_shard(name, start)
        fake.write(name, start, Product(sku=name, title=name, price=Decimal(1)))
    assert consume(fake, _poller(fake, max_shards=2)) == [seq(1), seq(100)]
    assert fake.lease("c") is None


def test_the_flows_only_yield_requests_and_sleeps() -> None:
    fake = FakeStreams()
    fake.add_shard("a", 1)
    poller = _poller(fake)
    fake.drive(poller.setup_flow())
    poller.begin(max_records=None, until_idle=0.5, stopped=lambda: False)
    flow = poller.next_batch_flow()
    steps: list[Any] = []
    try:
        step = next(flow)
        while True:
            steps.append(step)
            if isinstance(step, Request):
                step = flow.send(fake(step.operation, step.params))
            else:
                assert isinstance(step, Sleep)
                fake.now += step.seconds
                step = flow.send(None)
    except StopIteration as stop:
        assert stop.value is None
    assert {type(s) for s in steps} == {Request, Sleep}  # no Emit: records are returned
