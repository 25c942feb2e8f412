"""Native multi-attribute GSI keys on DynamoDB Local, over the boto3 and HTTP transports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable import GSI, F, Key, Model, Table
from dyntable.client import Client
from dyntable.errors import KeyTemplateError, ServiceValidationError
from dyntable.transport.base import Transport

pytestmark = pytest.mark.integration

mak = Table(
    "mak",
    gsis=[
        GSI("ByTenant", pk=["tenant", "region"], sk=["created", "order_id"]),
        GSI("ByDevice", pk=["device"], sk=["day", "seq"], projection="KEYS_ONLY"),
    ],
)


class Order(Model, table=mak, entity="order"):
    order_id: str
    tenant: str
    region: str | None = None
    created: datetime
    total: Decimal

    primary = Key(pk="ORDER#{order_id}", sk="ORDER")
    by_tenant = Key(index="ByTenant")


class Invoice(Model, table=mak, entity="invoice"):
    """Another entity on the same index and partition: a query for orders skips it."""

    invoice_id: str
    order_id: str
    tenant: str
    region: str
    created: datetime

    primary = Key(pk="INVOICE#{invoice_id}", sk="INVOICE")
    by_tenant = Key(index="ByTenant")


class Reading(Model, table=mak, entity="reading"):
    reading_id: str
    device: str
    day: int
    seq: int | None = None
    value: Decimal = Decimal(0)

    primary = Key(pk="READING#{reading_id}", sk="READING")
    by_device = Key(index="ByDevice")


def _day(d: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, d, hour, tzinfo=timezone.utc) if d <= 30 else \
        datetime(2026, 12, d - 30, hour, tzinfo=timezone.utc)


# (order_id, day): t1/eu, in index order (created, then order_id)
EU = [("o1", 1), ("o2", 1), ("o3", 1), ("o4", 2), ("o5", 3), ("o6", 31)]


def _boto3(endpoint: str) -> Transport:
    from dyntable.transport.boto3 import Boto3Transport

    return Boto3Transport(endpoint_url=endpoint, region="us-east-1")


def _http(endpoint: str) -> Transport:
    from dyntable.transport.http import HttpTransport

    return HttpTransport(endpoint_url=endpoint, region="us-east-1")


@pytest.fixture(params=[_boto3, _http], ids=["boto3", "http"])
def db(request: pytest.FixtureRequest, dynamodb_endpoint: str,
       unique_table_name: str) -> Iterator[Client]:
    """A client on a fresh ``mak`` table holding orders, an invoice and readings."""
    factory: Callable[[str], Transport] = request.param
    client = mak.connect(transport=factory(dynamodb_endpoint), table_name=unique_table_name)
    client.create_table()
    try:
        for oid, day in EU:
            client.put(Order(order_id=oid, tenant="t1", region="eu", created=_day(day),
                             total=Decimal(int(oid[1:]) * 10)))
        for oid, tenant, region in [("o7", "t1", "us"), ("o8", "t2", "eu")]:
            client.put(Order(order_id=oid, tenant=tenant, region=region, created=_day(1),
                             total=Decimal(1)))
        client.put(Invoice(invoice_id="i1", order_id="o1", tenant="t1", region="eu",
                           created=_day(1)))
        for rid, day, seq in [("r1", 1, 10), ("r2", 1, 2), ("r3", 1, 1), ("r4", 2, 1)]:
            client.put(Reading(reading_id=rid, device="d1", day=day, seq=seq))
        yield client
    finally:
        client.delete_table(wait=False)
        client.close()


def _ids(items: Any) -> list[str]:
    return [o.order_id for o in items]


def _tenant(db: Client) -> Any:
    return db.query(Order.by_tenant, tenant="t1", region="eu")


def test_table_carries_the_native_key_schema_and_types(db: Client) -> None:
    desc = db.send("DescribeTable", {"TableName": db.table_name})["Table"]
    types = {d["AttributeName"]: d["AttributeType"] for d in desc["AttributeDefinitions"]}
    assert types == {"PK": "S", "SK": "S", "tenant": "S", "region": "S", "created": "S",
                     "order_id": "S", "device": "S", "day": "N", "seq": "N"}
    gsis = {g["IndexName"]: g["KeySchema"] for g in desc["GlobalSecondaryIndexes"]}
    assert [(k["AttributeName"], k["KeyType"]) for k in gsis["ByTenant"]] == [
        ("tenant", "HASH"), ("region", "HASH"), ("created", "RANGE"), ("order_id", "RANGE")]


def test_partition_is_every_partition_attribute_and_only_the_models_items(db: Client) -> None:
    assert _ids(_tenant(db)) == ["o1", "o2", "o3", "o4", "o5", "o6"]
    assert _ids(db.query(Order.by_tenant, tenant="t1", region="us")) == ["o7"]
    assert _ids(db.query(Order.by_tenant, tenant="t2", region="eu")) == ["o8"]
    assert [i.invoice_id for i in db.query(Invoice.by_tenant, tenant="t1", region="eu")] == [
        "i1"]
    assert _tenant(db).count() == 6


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("eq", {"created": _day(1)}, ["o1", "o2", "o3"]),
        ("eq", {"created": _day(1), "order_id": "o2"}, ["o2"]),
        ("begins_with", {"created": "2026-11"}, ["o1", "o2", "o3", "o4", "o5"]),
        ("begins_with", {"created": "2026-11-02"}, ["o4"]),
        ("gt", {"created": _day(1)}, ["o4", "o5", "o6"]),
        ("ge", {"created": _day(2)}, ["o4", "o5", "o6"]),
        ("lt", {"created": _day(2)}, ["o1", "o2", "o3"]),
        ("le", {"created": _day(2)}, ["o1", "o2", "o3", "o4"]),
        ("gt", {"created": _day(1), "order_id": "o1"}, ["o2", "o3"]),
        ("ge", {"created": _day(1), "order_id": "o2"}, ["o2", "o3"]),
        ("lt", {"created": _day(1), "order_id": "o3"}, ["o1", "o2"]),
        ("le", {"created": _day(1), "order_id": "o1"}, ["o1"]),
        ("begins_with", {"created": _day(1), "order_id": "o"}, ["o1", "o2", "o3"]),
    ],
)
def test_sort_key_conditions(db: Client, method: str, args: dict[str, Any],
                             expected: list[str]) -> None:
    assert _ids(getattr(_tenant(db), method)(**args)) == expected


def test_between_and_sort_fields_given_to_query(db: Client) -> None:
    assert _ids(_tenant(db).between({"created": _day(1)}, {"created": _day(2)})) == [
        "o1", "o2", "o3", "o4"]
    same_day = _tenant(db).between({"created": _day(1), "order_id": "o2"},
                                   {"created": _day(1), "order_id": "o3"})
    assert _ids(same_day) == ["o2", "o3"]
    given = db.query(Order.by_tenant, tenant="t1", region="eu", created=_day(1))
    assert _ids(given) == ["o1", "o2", "o3"]


def test_numeric_sort_attributes_order_as_numbers(db: Client) -> None:
    readings = db.query(Reading.by_device, device="d1")
    assert [(r.day, r.seq) for r in readings] == [(1, 1), (1, 2), (1, 10), (2, 1)]
    later = db.query(Reading.by_device, device="d1").gt(day=1, seq=1)
    assert [r.seq for r in later] == [2, 10]
    window = db.query(Reading.by_device, device="d1").between({"day": 1, "seq": 2},
                                                               {"day": 1, "seq": 10})
    assert [r.reading_id for r in window] == ["r2", "r1"]


def test_keys_only_index_reads_partial_objects(db: Client) -> None:
    first = db.query(Reading.by_device, device="d1").first()
    assert first is not None
    assert (first.reading_id, first.device, first.day, first.seq) == ("r3", "d1", 1, 1)
    assert "value" not in first.model_fields_set
    with pytest.raises(AttributeError):
        _ = first.value


def test_reverse_filter_and_projection(db: Client) -> None:
    assert _ids(_tenant(db).reverse()) == ["o6", "o5", "o4", "o3", "o2", "o1"]
    assert _ids(_tenant(db).where(F.total > 30)) == ["o4", "o5", "o6"]
    assert _ids(_tenant(db).gt(created=_day(1)).where(F.total < 60).reverse()) == ["o5", "o4"]
    partial = _tenant(db).eq(created=_day(1), order_id="o2").project("total").all()
    assert [(o.order_id, o.total) for o in partial] == [("o2", Decimal(20))]
    assert partial[0].model_fields_set >= {"total", "tenant", "region", "created", "order_id"}


def test_pages_and_cursors_walk_the_index(db: Client) -> None:
    def query() -> Any:
        return _tenant(db).reverse().limit(4).page_size(2)

    page = query().page()
    pages = [_ids(page)]
    while page.cursor is not None and len(pages) < 5:
        page = query().page(page.cursor)
        pages.append(_ids(page))
    assert pages[:2] == [["o6", "o5", "o4", "o3"], ["o2", "o1"]]
    assert [i for p in pages for i in p] == ["o6", "o5", "o4", "o3", "o2", "o1"]
    assert _ids(_tenant(db).page_size(2)) == ["o1", "o2", "o3", "o4", "o5", "o6"]


def test_an_item_without_a_key_field_stays_out_of_the_index(db: Client) -> None:
    db.put(Order(order_id="o9", tenant="t1", region=None, created=_day(1), total=Decimal(9)))
    db.put(Reading(reading_id="r9", device="d1", day=1))
    raw = db.send("GetItem", {"TableName": db.table_name,
                              "Key": {"PK": {"S": "READING#r9"}, "SK": {"S": "READING"}}})
    assert "seq" not in raw["Item"]
    assert _ids(_tenant(db)) == ["o1", "o2", "o3", "o4", "o5", "o6"]
    assert [r.reading_id for r in db.query(Reading.by_device, device="d1")] == [
        "r3", "r2", "r1", "r4"]
    assert db.get(Order, order_id="o9") is not None
    assert db.scan(Reading, index="ByDevice").count() == 4
    db.update(Reading, reading_id="r9").set(seq=5).execute()          # enters the index
    assert [r.reading_id for r in db.query(Reading.by_device, device="d1").eq(day=1)] == [
        "r3", "r2", "r9", "r1"]
    db.update(Reading, reading_id="r9").set(seq=None).execute()       # REMOVE: leaves it
    assert db.scan(Reading, index="ByDevice").count() == 4


def test_dynamodb_refuses_what_dyntable_refuses_locally(db: Client) -> None:
    names = {"#t": "tenant", "#r": "region", "#c": "created", "#o": "order_id"}
    values = {":t": {"S": "t1"}, ":r": {"S": "eu"}, ":c": {"S": "2026-11"},
              ":o": {"S": "o1"}, ":lo": {"S": "b"}, ":hi": {"S": "a"}}
    refused = [
        # the second sort field alone; a range on a leading sort field
        ("#t = :t AND #r = :r AND #o > :o", "created must have equality"),
        ("#t = :t AND #r = :r AND #c > :c AND #o > :o", "created must have equality"),
        ("#t = :t", "region must have equality"),               # part of the partition
        ("#t = :t AND #r = :r AND #c BETWEEN :lo AND :hi", "BETWEEN"),  # low above high
    ]
    for text, reason in refused:
        with pytest.raises(ServiceValidationError, match=reason):
            db.send("Query", {"TableName": db.table_name, "IndexName": "ByTenant",
                              "KeyConditionExpression": text,
                              "ExpressionAttributeNames": {k: v for k, v in names.items()
                                                           if k in text},
                              "ExpressionAttributeValues": {k: v for k, v in values.items()
                                                            if k in text}})
    with pytest.raises(KeyTemplateError):
        _tenant(db).gt(order_id="o1")
    with pytest.raises(KeyTemplateError):
        _tenant(db).between({"created": _day(2)}, {"created": _day(1)})
    with pytest.raises(KeyTemplateError):
        db.query(Order.by_tenant, tenant="t1")  # type: ignore[call-arg]


def test_schema_sync_adds_a_native_index_with_its_types(
    dynamodb_endpoint: str, unique_table_name: str
) -> None:
    from dyntable._internal.operations.tables import create_table_params
    from dyntable.migrations.diff import diff_live
    from dyntable.migrations.sync import sync_table

    client = mak.connect(transport=_boto3(dynamodb_endpoint), table_name=unique_table_name)
    params = create_table_params(mak)
    params["TableName"] = unique_table_name
    params["GlobalSecondaryIndexes"] = [g for g in params["GlobalSecondaryIndexes"]
                                        if g["IndexName"] != "ByDevice"]
    params["AttributeDefinitions"] = [d for d in params["AttributeDefinitions"]
                                      if d["AttributeName"] not in ("device", "day", "seq")]
    client.send("CreateTable", params)
    try:
        client.wait_until_active()
        assert diff_live(client).empty is False
        sync_table(client, poll=0.05, timeout=60)
        assert diff_live(client).empty
        desc = client.send("DescribeTable", {"TableName": unique_table_name})["Table"]
        types = {d["AttributeName"]: d["AttributeType"] for d in desc["AttributeDefinitions"]}
        assert (types["day"], types["seq"]) == ("N", "N")
        client.put(Reading(reading_id="r1", device="d", day=3, seq=7))
        assert [r.seq for r in client.query(Reading.by_device, device="d").ge(day=3)] == [7]
    finally:
        client.delete_table(wait=False)
        client.close()
