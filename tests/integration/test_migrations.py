"""Data migrations on DynamoDB Local: dry run, up, down, resume, leases, live writers."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from dyntable._internal.codec.items import codec_for
from dyntable._internal.codec.values import from_av
from dyntable.client import Client
from dyntable.migrations.data import Migration
from dyntable.migrations.errors import MigrationError
from dyntable.migrations.history import History
from dyntable.migrations.runner import Migrator
from tests.models import Customer, Order

pytestmark = [
    pytest.mark.integration,
    pytest.mark.sync_only("migrations run on the sync client (an operator tool)"),
]


def _lower(item: dict[str, Any]) -> dict[str, Any]:
    item["email"] = item["email"].lower()
    return item


def _upper(item: dict[str, Any]) -> dict[str, Any]:
    item["email"] = item["email"].upper()
    return item


LOWER = Migration("0001_lower_emails", "lower-case e-mails", ("customer",), _lower, _upper)


def _load(db: Client, n: int) -> None:
    """BatchWriteItem n customers (upper-case e-mails) in 25-item chunks, a few threads."""
    codec = codec_for(Customer)
    items = [codec.encode(Customer(username=f"u{i:05d}", email=f"U{i}@X.IO", name="N"))
             for i in range(n)]

    def write(chunk: list[dict[str, Any]]) -> None:
        request = {db.table_name: [{"PutRequest": {"Item": it}} for it in chunk]}
        while request:
            resp = db.send("BatchWriteItem", {"RequestItems": request})
            request = resp.get("UnprocessedItems") or {}

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, [items[i:i + 25] for i in range(0, n, 25)]))


def _customers(db: Client) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"TableName": db.table_name, "ConsistentRead": True,
                              "FilterExpression": "#e = :c",
                              "ExpressionAttributeNames": {"#e": "_entity"},
                              "ExpressionAttributeValues": {":c": {"S": "customer"}}}
    while True:
        resp = db.send("Scan", params)
        for item in resp["Items"]:
            yield {k: from_av(v) for k, v in item.items()}
        if not resp.get("LastEvaluatedKey"):
            return
        params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def test_dry_run_up_and_down(db: Client) -> None:
    _load(db, 60)
    from datetime import datetime, timezone
    from decimal import Decimal

    db.put(Order(username="u00001", order_id="o1", status="PLACED", total=Decimal(1),
                 placed_at=datetime(2026, 1, 1, tzinfo=timezone.utc), note="KEEP@ME"))
    migrator = Migrator(db, [LOWER], total_segments=4, threads=4)
    dry = migrator.run(LOWER, "up", dry_run=True)
    assert (dry.scanned, dry.changed, dry.dry_run) == (60, 60, True)
    assert dry.samples and dry.samples[0]["changes"]["email"][0].isupper()
    assert all(c["email"].isupper() and "_mig" not in c for c in _customers(db))
    assert migrator.history.state(LOWER.id) is None

    (report,) = migrator.up()
    assert (report.changed, report.complete, report.failed) == (60, True, 0)
    assert "MODIFY stream record" in report.summary()
    for c in _customers(db):
        assert c["email"].islower() and c["_mig"] == {LOWER.id}
        assert c["_migration"] == LOWER.id and c["version"] == 1
    assert db.get(Order, username="u00001", placed_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
                  order_id="o1").note == "KEEP@ME"  # type: ignore[union-attr]
    assert [(m.id, st.status) for m, st in migrator.status() if st] == [(LOWER.id, "applied")]
    assert migrator.up() == []
    assert db.get(Customer, username="u00007") is not None  # reserved items never decode

    down = migrator.down()
    assert (down.direction, down.changed, down.complete) == ("down", 60, True)
    for c in _customers(db):
        assert c["email"].isupper() and "_mig" not in c and c["_migration"].endswith(":down")
    assert migrator.history.state(LOWER.id).status == "reverted"  # type: ignore[union-attr]


def test_a_leased_segment_is_left_to_its_owner(db: Client) -> None:
    _load(db, 40)
    history = History(db)
    state, _ = history.begin(LOWER.id, "up", 2)
    assert not isinstance(history.claim(state, 1, "other-host:1", 300), str)
    report = Migrator(db, [LOWER], total_segments=2).run(LOWER, "up")
    assert list(report.held) == [1] and "other-host:1" in report.held[1]
    assert not report.complete and "resume" in report.summary()
    assert 0 < report.changed < 40
    with pytest.raises(MigrationError, match="leased by other-host:1"):
        Migrator(db, [LOWER]).down()
    history.release(state, 1, "other-host:1")
    again = Migrator(db, [LOWER], total_segments=2).run(LOWER, "up")
    assert again.complete and again.changed + report.changed == 40


@pytest.mark.slow
@pytest.mark.parametrize("transport_name", ["boto3"])
def test_20k_items_interrupted_resumed_beside_a_writer_then_reverted(db: Client) -> None:
    n = 20_000
    _load(db, n)
    kw: dict[str, Any] = {"total_segments": 16, "threads": 8, "page_size": 200}

    dry = Migrator(db, [LOWER], **kw).run(LOWER, "up", dry_run=True)
    assert dry.changed == n
    assert sum(1 for c in _customers(db) if c["email"].isupper() and "_mig" not in c) == n

    calls = Counter[str]()
    lock = threading.Lock()

    def crashing(item: dict[str, Any]) -> dict[str, Any]:
        with lock:
            calls["n"] += 1
            if calls["n"] > 7_000:
                raise RuntimeError("simulated crash")
        return _lower(item)

    crash = Migration(LOWER.id, LOWER.description, LOWER.entities, crashing, _upper)
    with pytest.raises(MigrationError, match="simulated crash"):
        Migrator(db, [crash], **kw).up()
    partial = sum(1 for c in _customers(db) if c.get("_mig"))
    assert 0 < partial < n

    writes = Counter[str]()
    stop = threading.Event()

    def writer() -> None:
        rng = random.Random(7)
        while not stop.is_set():
            user = f"u{rng.randrange(n):05d}"
            db.update(Customer, username=user).add(order_count=1).execute()
            writes[user] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        (report,) = Migrator(db, [LOWER], **kw).up()
    finally:
        stop.set()
        thread.join()
    assert report.complete and report.failed == 0
    assert report.already > 0  # items written before the crash were not migrated again
    assert sum(writes.values()) > 0
    seen = 0
    for c in _customers(db):
        seen += 1
        user = c["username"]
        assert c["email"] == c["email"].lower() and c["_mig"] == {LOWER.id}
        assert c["order_count"] == writes[user]  # no application update was lost
        assert c["version"] == 1 + writes[user]  # and the migration wrote each item once
    assert seen == n

    down = Migrator(db, [LOWER], **kw).down()
    assert down.complete and down.changed == n
    for c in _customers(db):
        assert c["email"].isupper() and "_mig" not in c
        assert c["order_count"] == writes[c["username"]]


def _tag_entity(item: dict[str, Any]) -> dict[str, Any]:
    item["_entity"] = "customer"
    return item


BACKFILL = Migration("0002_backfill_entity", "write the entity attribute", ("customer",),
                     _tag_entity)


def test_a_backfill_reaches_items_without_the_entity_attribute(db: Client) -> None:
    # Another program's puts dropped _entity: the runner selects those items by key (its
    # scan filter used to be `_entity IN (...)`, which never returned them).
    codec = codec_for(Customer)
    for i in range(12):
        item = codec.encode(Customer(username=f"b{i:02d}", email="e@x", name="N"))
        if i % 3:
            del item["_entity"]
        db.send("PutItem", {"TableName": db.table_name, "Item": item})
    db.put(Order(username="b00", order_id="o1", status="PLACED", total=1,  # type: ignore[arg-type]
                 placed_at="2026-01-01T00:00:00Z"))  # type: ignore[arg-type]
    (report,) = Migrator(db, [BACKFILL], total_segments=2, threads=2).up()
    assert (report.scanned, report.changed, report.complete) == (12, 8, True)
    raw = [db.send("GetItem", {"TableName": db.table_name, "Key": codec.key(
        {"username": f"b{i:02d}"})})["Item"] for i in range(12)]
    assert all(item["_entity"] == {"S": "customer"} for item in raw)
