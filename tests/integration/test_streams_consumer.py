"""The Streams-API consumer end to end on DynamoDB Local, over the default transport
(``shop.connect(endpoint_url=...)``, HttpTransport) and over Boto3Transport."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable.client import Client
from dyntable.streams import LeaseLostError, LeaseStore, Router, StreamConsumer, StreamEvent
from dyntable.streams.checkpoints import LEASE_TABLE
from dyntable.streams.source import list_shards
from dyntable.transport.boto3 import Boto3Transport
from dyntable.transport.http import HttpTransport
from tests.models import Customer, Order, Product, shop

pytestmark = pytest.mark.integration

PLACED = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(params=["http", "boto3"])
def sdb(request: pytest.FixtureRequest, dynamodb_endpoint: str,
        unique_table_name: str) -> Iterator[Client]:
    if request.param == "http":  # the default transport, as a user connects
        client = shop.connect(endpoint_url=dynamodb_endpoint, table_name=unique_table_name)
        assert isinstance(client.transport, HttpTransport)
    else:
        client = shop.connect(transport=Boto3Transport(endpoint_url=dynamodb_endpoint,
                                                       region="us-east-1"),
                              table_name=unique_table_name)
    client.create_table()
    yield client
    client.delete_table(wait=False)
    leases = Client(LEASE_TABLE, transport=client.transport,
                    table_name=f"{unique_table_name}-leases")
    if leases.table_exists():
        leases.delete_table(wait=False)
    client.close()


class Log:
    """A router that records every event as (kind, entity, key, summary)."""

    def __init__(self) -> None:
        self.router = Router(shop)
        self.events: list[tuple[str, str, Any]] = []
        self.router.on_any()(self.add)

    def add(self, event: StreamEvent[Any]) -> None:
        obj = event.new_or_none or event.old_or_none
        summary = getattr(obj, "status", None) or getattr(obj, "name", None) or \
            getattr(obj, "title", None)
        self.events.append((event.kind, str(event.entity), summary))


def consumer(db: Client, router: Router, **options: Any) -> StreamConsumer:
    options.setdefault("lease_table", f"{db.table_name}-leases")
    options.setdefault("poll_interval", 0.05)
    return StreamConsumer(db, router, **options)


def write_history(db: Client) -> None:
    db.put(Customer(username="ada", email="ada@x.io", name="Ada"))
    db.update(Customer, username="ada").set(name="Ada L.").execute()
    order = Order(username="ada", order_id="o-1", status="PLACED", placed_at=PLACED,
                  total=Decimal("12.50"))
    db.put(order)
    db.update(order).set(status="SHIPPED").execute()
    db.put(Product(sku="p1", title="Lamp", price=Decimal("20")))
    db.delete(Order, username="ada", order_id="o-1", placed_at=PLACED)


EXPECTED = [
    ("insert", "customer", "Ada"),
    ("modify", "customer", "Ada L."),
    ("insert", "order", "PLACED"),
    ("modify", "order", "SHIPPED"),
    ("insert", "product", "Lamp"),
    ("remove", "order", "SHIPPED"),
]


def test_typed_events_in_order(sdb: Client) -> None:
    write_history(sdb)
    log = Log()
    delivered = consumer(sdb, log.router).run(until_idle=0.5)
    assert delivered == len(EXPECTED)
    assert log.events == EXPECTED


def test_modify_handler_sees_old_and_new(sdb: Client) -> None:
    write_history(sdb)
    router = Router(shop)
    changes: list[tuple[frozenset[str], str, str]] = []

    @router.on_modify(Order)
    def on_order(event: StreamEvent[Order]) -> None:
        changes.append((event.changed_fields, event.old.status, event.new.status))

    consumer(sdb, router).run(until_idle=0.5)
    assert changes == [(frozenset({"status"}), "PLACED", "SHIPPED")]


def test_restart_resumes_from_the_checkpoint(sdb: Client) -> None:
    write_history(sdb)
    first = Log()
    assert consumer(sdb, first.router, group="g").run(max_records=2) == 2
    second = Log()
    assert consumer(sdb, second.router, group="g").run(until_idle=0.5) == 4
    assert first.events + second.events == EXPECTED
    sdb.put(Product(sku="p2", title="Desk", price=Decimal("90")))
    third = Log()
    consumer(sdb, third.router, group="g").run(until_idle=0.5)
    assert third.events == [("insert", "product", "Desk")]
    other_group = Log()
    consumer(sdb, other_group.router, group="h").run(until_idle=0.5)
    assert len(other_group.events) == len(EXPECTED) + 1


def test_handler_error_keeps_the_failed_record_for_the_next_run(sdb: Client) -> None:
    write_history(sdb)
    router = Router(shop)
    seen: list[str] = []
    fail = {"on": True}

    @router.on_any()
    def flaky(event: StreamEvent[Any]) -> None:
        if event.kind == "insert" and event.entity == "order" and fail["on"]:
            raise RuntimeError("downstream unavailable")
        seen.append(f"{event.kind}:{event.entity}")

    with pytest.raises(RuntimeError):
        consumer(sdb, router).run(until_idle=0.5)
    assert seen == ["insert:customer", "modify:customer"]
    fail["on"] = False
    consumer(sdb, router).run(until_idle=0.5)
    assert seen[2:] == ["insert:order", "modify:order", "insert:product", "remove:order"]


def test_one_owner_per_shard_until_the_lease_expires(sdb: Client) -> None:
    write_history(sdb)
    a = consumer(sdb, Log().router, owner="a", lease_duration=30)
    b_log = Log()
    b = consumer(sdb, b_log.router, owner="b", lease_duration=30)
    runner = threading.Thread(target=a.run)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while not a.owned_shards and time.monotonic() < deadline:
            time.sleep(0.05)
        assert a.owned_shards
        assert b.run(until_idle=0.5) == 0
        assert b.owned_shards == [] and b_log.events == []
    finally:
        a.stop()
        runner.join(timeout=30)
    assert not runner.is_alive()
    sdb.put(Product(sku="p3", title="Chair", price=Decimal("40")))
    b.run(until_idle=0.5)
    assert b_log.events == [("insert", "product", "Chair")]


def test_a_dead_consumers_lease_is_taken_only_after_expiry(sdb: Client) -> None:
    write_history(sdb)
    probe = consumer(sdb, Router(shop))
    store = probe._setup()
    assert probe.stream_arn is not None
    assert store.all() == {}
    _status, shards = list_shards(probe.streams, probe.stream_arn)
    shard_id = shards[0].shard_id
    dead = store.acquire(shard_id, None, "dead", duration=1.5)
    assert dead is not None and dead.owner == "dead"
    assert store.acquire(shard_id, store.get(shard_id), "b", duration=30) is None
    log = Log()
    b = consumer(sdb, log.router, owner="b")
    assert b.run(until_idle=0.3) == 0
    while store.get(shard_id).lease_until > time.time():  # type: ignore[union-attr]
        time.sleep(0.1)
    assert b.run(until_idle=0.5) == len(EXPECTED)
    with pytest.raises(LeaseLostError):
        store.renew(dead, 30)
    stolen = store.get(shard_id)
    assert stolen is not None and stolen.checkpoint is not None and stolen.owner is None


def test_lease_store_refuses_double_ownership(sdb: Client) -> None:
    store = LeaseStore(sdb.transport, f"{sdb.table_name}-leases", "g", "arn:stream")
    store.ensure_table()
    first = store.acquire("shard-1", None, "a", duration=30)
    assert first is not None
    assert store.acquire("shard-1", None, "b", duration=30) is None
    assert store.acquire("shard-1", store.get("shard-1"), "b", duration=30) is None
    renewed = store.renew(first, 30)
    store.release(renewed)
    taken = store.acquire("shard-1", store.get("shard-1"), "b", duration=30)
    assert taken is not None and taken.owner == "b"


def test_stream_calls_go_through_the_clients_transport(sdb: Client) -> None:
    write_history(sdb)
    seen: list[str] = []
    assert isinstance(sdb.transport, (HttpTransport, Boto3Transport))
    sdb.transport.add_hook(lambda event: seen.append(event.operation))
    consumer(sdb, Log().router).run(until_idle=0.3)
    assert {"DescribeStream", "GetShardIterator", "GetRecords"} <= set(seen)


_WITHOUT_BOTO3 = textwrap.dedent("""
    import sys
    sys.modules["boto3"] = None      # any import of boto3 / botocore now fails
    sys.modules["botocore"] = None
    from tests.models import Customer, shop
    from dyntable.streams import Router, StreamConsumer
    endpoint, table = sys.argv[1], sys.argv[2]
    db = shop.connect(endpoint_url=endpoint, table_name=table)
    db.create_table()
    try:
        db.put(Customer(username="ada", email="ada@x.io", name="Ada"))
        router = Router(shop)
        names = []
        router.on_insert(Customer)(lambda event: names.append(event.new.name))
        consumer = StreamConsumer(db, router, lease_table=table + "-leases",
                                  poll_interval=0.05)
        assert consumer.run(until_idle=0.3) == 1, names
        assert names == ["Ada"], names
        print("delivered without boto3:", type(db.transport).__name__)
    finally:
        from dyntable.client import Client
        from dyntable.streams.checkpoints import LEASE_TABLE
        leases = Client(LEASE_TABLE, transport=db.transport, table_name=table + "-leases")
        if leases.table_exists():
            leases.delete_table(wait=False)
        db.delete_table(wait=False)
""")


def test_default_transport_consumer_never_needs_boto3(dynamodb_endpoint: str,
                                                      unique_table_name: str) -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1", "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", _WITHOUT_BOTO3, dynamodb_endpoint,
                           unique_table_name], env=env, cwd=root, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "delivered without boto3: HttpTransport" in done.stdout
