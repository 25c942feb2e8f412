"""Native multi-attribute GSI keys: CreateTable parameters and compiled Query requests."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Literal

import pytest

from dyntable import GSI, Key, Model, Table
from dyntable._internal.operations.tables import create_table_params, key_attribute_type
from dyntable.client import Client
from dyntable.errors import (
    CursorError,
    DeclarationError,
    InvalidRequestError,
    KeyTemplateError,
)
from dyntable.transport.mock import MockTransport

events = Table(
    "mak-unit",
    gsis=[
        GSI("ByTenant", pk=["tenant", "region"], sk=["created", "order_id"]),
        GSI("ByDevice", pk=["device"], sk=["day", "seq"], projection="KEYS_ONLY"),
    ],
)


class Order(Model, table=events, entity="order"):
    order_id: str
    tenant: str
    region: str
    created: datetime
    total: Decimal = Decimal(0)

    primary = Key(pk="ORDER#{order_id}", sk="ORDER")
    by_tenant = Key(index="ByTenant")


class Reading(Model, table=events, entity="reading"):
    reading_id: str
    device: bytes
    day: int
    seq: int | None = None

    primary = Key(pk="READING#{reading_id}", sk="READING")
    by_device = Key(index="ByDevice")


AT = datetime(2026, 11, 1, 9, 30, tzinfo=timezone.utc)
AT_TEXT = "2026-11-01T09:30:00.000000Z"
LATER = datetime(2026, 11, 2, tzinfo=timezone.utc)
LATER_TEXT = "2026-11-02T00:00:00.000000Z"


@pytest.fixture
def mock() -> MockTransport:
    return MockTransport()


@pytest.fixture
def db(mock: MockTransport) -> Client:
    return events.connect(transport=mock)


def _key_condition(params: dict[str, Any]) -> str:
    """The KeyConditionExpression with its placeholders replaced (names, then values)."""
    text: str = params["KeyConditionExpression"]
    for ph, name in sorted(params["ExpressionAttributeNames"].items(), key=lambda kv: -len(kv[0])):
        text = text.replace(ph, name)
    for ph, av in sorted(params["ExpressionAttributeValues"].items(), key=lambda kv: -len(kv[0])):
        text = text.replace(ph, repr(next(iter(av.values()))))
    return text


def _tenant(db: Client) -> Any:
    return db.query(Order.by_tenant, tenant="t1", region="eu")


# -- CreateTable -----------------------------------------------------------------------------


def test_create_table_lists_every_native_key_attribute_with_its_field_type() -> None:
    params = create_table_params(events)
    gsis = {g["IndexName"]: g for g in params["GlobalSecondaryIndexes"]}
    assert gsis["ByTenant"]["KeySchema"] == [
        {"AttributeName": "tenant", "KeyType": "HASH"},
        {"AttributeName": "region", "KeyType": "HASH"},
        {"AttributeName": "created", "KeyType": "RANGE"},
        {"AttributeName": "order_id", "KeyType": "RANGE"},
    ]
    assert gsis["ByDevice"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    types = {d["AttributeName"]: d["AttributeType"] for d in params["AttributeDefinitions"]}
    assert types == {"PK": "S", "SK": "S", "tenant": "S", "region": "S", "created": "S",
                     "order_id": "S", "device": "B", "day": "N", "seq": "N"}


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    LOW = 1


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, "S"), (datetime, "S"), (Colour, "S"), (Literal["a", "b"], "S"),
        (int, "N"), (float, "N"), (Decimal, "N"), (int | None, "N"), (Level, "N"),
        (Literal[1, 2], "N"), (bytes, "B"),
        (bool, None), (list[str], None), (set[int], None), (int | str, None),
    ],
)
def test_key_attribute_type_of_annotations(annotation: Any, expected: str | None) -> None:
    assert key_attribute_type(annotation) == expected


def test_two_models_giving_one_attribute_two_types_is_refused() -> None:
    table = Table("mak-conflict", gsis=[GSI("ByTenant", pk=["tenant", "region"])])

    class A(Model, table=table, entity="a"):
        a_id: str
        tenant: str
        region: str
        primary = Key(pk="A#{a_id}", sk="A")
        by_tenant = Key(index="ByTenant")

    class B(Model, table=table, entity="b"):
        b_id: str
        tenant: str
        region: int
        primary = Key(pk="B#{b_id}", sk="B")
        by_tenant = Key(index="ByTenant")

    with pytest.raises(DeclarationError, match=r"'region'.*two types: S from A\.region.*"
                                                r"N from B\.region"):
        create_table_params(table)


def test_declared_attribute_type_must_agree_with_the_field() -> None:
    table = Table("mak-declared", gsis=[GSI("ByDay", pk=["day", "kind"])],
                  attribute_types={"day": "S"})

    class A(Model, table=table, entity="a"):
        a_id: str
        day: int
        kind: str
        primary = Key(pk="A#{a_id}", sk="A")
        by_day = Key(index="ByDay")

    with pytest.raises(DeclarationError, match=r"A\.day .*stored as N.*attribute_types"):
        create_table_params(table)
    table.attribute_types["day"] = "N"
    types = {d["AttributeName"]: d["AttributeType"]
             for d in create_table_params(table)["AttributeDefinitions"]}
    assert types["day"] == "N" and types["kind"] == "S"


def test_a_field_that_cannot_be_a_key_is_refused() -> None:
    table = Table("mak-bool", gsis=[GSI("ByFlag", pk=["tenant", "flag"])])

    class A(Model, table=table, entity="a"):
        a_id: str
        tenant: str
        flag: bool
        primary = Key(pk="A#{a_id}", sk="A")
        by_flag = Key(index="ByFlag")

    with pytest.raises(DeclarationError, match=r"A\.flag .*string, number or binary"):
        create_table_params(table)


# -- key conditions --------------------------------------------------------------------------


def test_partition_is_equality_on_every_partition_attribute(db: Client) -> None:
    params = _tenant(db).params()
    assert params["IndexName"] == "ByTenant"
    assert _key_condition(params) == "tenant = 't1' AND region = 'eu'"
    assert params["ExpressionAttributeNames"] == {"#n0": "tenant", "#n1": "region"}
    assert "FilterExpression" not in params  # the entity is checked as items are decoded


@pytest.mark.parametrize(
    ("method", "args", "expected"),
    [
        ("eq", {"created": AT}, f"created = '{AT_TEXT}'"),
        ("eq", {"created": AT, "order_id": "o2"}, f"created = '{AT_TEXT}' AND order_id = 'o2'"),
        ("begins_with", {"created": "2026-11"}, "begins_with(created, '2026-11')"),
        ("begins_with", {"created": AT, "order_id": "o"},
         f"created = '{AT_TEXT}' AND begins_with(order_id, 'o')"),
        ("gt", {"created": AT}, f"created > '{AT_TEXT}'"),
        ("ge", {"created": AT}, f"created >= '{AT_TEXT}'"),
        ("lt", {"created": AT}, f"created < '{AT_TEXT}'"),
        ("le", {"created": AT}, f"created <= '{AT_TEXT}'"),
        ("gt", {"created": AT, "order_id": "o5"}, f"created = '{AT_TEXT}' AND order_id > 'o5'"),
        ("le", {"order_id": "o5", "created": AT}, f"created = '{AT_TEXT}' AND order_id <= 'o5'"),
    ],
)
def test_sort_conditions_equal_the_leading_fields_and_compare_the_last(
    db: Client, method: str, args: dict[str, Any], expected: str
) -> None:
    params = getattr(_tenant(db), method)(**args).params()
    assert _key_condition(params) == f"tenant = 't1' AND region = 'eu' AND {expected}"


def test_sort_fields_given_to_query_are_equalities(db: Client) -> None:
    q = db.query(Order.by_tenant, tenant="t1", region="eu", created=AT)
    assert _key_condition(q.params()).endswith(f"AND created = '{AT_TEXT}'")
    with pytest.raises(InvalidRequestError, match="only one sort key condition"):
        q.gt(created=AT, order_id="o1")


def test_between_bounds_share_the_leading_equalities(db: Client) -> None:
    q = _tenant(db).between({"created": AT}, {"created": LATER})
    assert _key_condition(q.params()).endswith(
        f"AND created BETWEEN '{AT_TEXT}' AND '{LATER_TEXT}'")
    q = _tenant(db).between({"created": AT, "order_id": "o1"}, {"created": AT, "order_id": "o4"})
    assert _key_condition(q.params()).endswith(
        f"AND created = '{AT_TEXT}' AND order_id BETWEEN 'o1' AND 'o4'")


def test_numbers_and_bytes_are_encoded_as_their_fields(db: Client) -> None:
    q = db.query(Reading.by_device, device=b"\x01").gt(day=20261101, seq=9)
    params = q.params()
    values = params["ExpressionAttributeValues"]
    assert sorted(map(str, values.values())) == sorted(
        ["{'B': b'\\x01'}", "{'N': '20261101'}", "{'N': '9'}"])
    assert _key_condition(params) == "device = b'\\x01' AND day = '20261101' AND seq > '9'"
    assert "FilterExpression" not in params  # KEYS_ONLY: items carry no entity attribute
    low_high = db.query(Reading.by_device, device=b"\x01").between({"day": "7"}, {"day": 10})
    assert _key_condition(low_high.params()).endswith("day BETWEEN '7' AND '10'")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda q: q.gt(order_id="o5"), r"leading sort fields \['created'\] or "
                                        r"\['created', 'order_id'\], not \['order_id'\]"),
        (lambda q: q.eq(total=1), r"got \['total'\]"),
        (lambda q: q.begins_with(created=AT, order_id=None), r"\['order_id'\] are None"),
        (lambda q: q.between({"created": AT}, {"created": AT, "order_id": "o2"}),
         "same sort fields"),
        (lambda q: q.between({"created": AT, "order_id": "o1"},
                             {"created": LATER, "order_id": "o2"}), "agree on all but the last"),
        (lambda q: q.between({"created": LATER}, {"created": AT}), "low is above high"),
    ],
)
def test_conditions_dynamodb_refuses_are_refused_locally(
    db: Client, mock: MockTransport, call: Any, message: str
) -> None:
    with pytest.raises(KeyTemplateError, match=message):
        call(_tenant(db))
    assert mock.sent == []


def test_begins_with_needs_a_string_attribute(db: Client) -> None:
    with pytest.raises(KeyTemplateError, match="'seq' is stored as N"):
        db.query(Reading.by_device, device=b"d").begins_with(day=1, seq=1)
    with pytest.raises(KeyTemplateError, match="'day' is stored as N"):
        db.query(Reading.by_device, device=b"d").begins_with(day="2")


def test_numbers_compare_as_numbers_in_between(db: Client) -> None:
    q = db.query(Reading.by_device, device=b"d").between({"day": 9}, {"day": 10})
    assert _key_condition(q.params()).endswith("day BETWEEN '9' AND '10'")


def test_every_partition_attribute_is_required(db: Client) -> None:
    with pytest.raises(KeyTemplateError, match=r"partition needs \['region'\]"):
        db.query(Order.by_tenant, tenant="t1")  # type: ignore[call-arg]
    with pytest.raises(KeyTemplateError, match=r"\['colour'\] are not fields of this key"):
        db.query(Order.by_tenant, tenant="t1", region="eu", colour="red")  # type: ignore[call-arg]


def test_gsis_refuse_consistent_reads(db: Client) -> None:
    with pytest.raises(InvalidRequestError, match="GSI"):
        _tenant(db).consistent()


def test_projection_keeps_the_index_attributes(db: Client) -> None:
    params = _tenant(db).project("total").params()
    names = params["ExpressionAttributeNames"]
    projected = {names[p] for p in params["ProjectionExpression"].split(", ")}
    assert projected == {"total", "PK", "SK", "tenant", "region", "created", "order_id",
                         "_entity"}


# -- cursors ---------------------------------------------------------------------------------


def _page_handler(keys: list[dict[str, Any]]) -> Any:
    def handler(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        item = {"PK": {"S": "ORDER#o1"}, "SK": {"S": "ORDER"}, "tenant": {"S": "t1"},
                "region": {"S": "eu"}, "created": {"S": AT_TEXT}, "order_id": {"S": "o1"},
                "total": {"N": "1"}, "_entity": {"S": "order"}}
        return {"Items": [item], "LastEvaluatedKey": keys.pop(0) if keys else None}
    return handler


def test_cursor_round_trips_a_last_evaluated_key_with_index_attributes() -> None:
    last = {"PK": {"S": "ORDER#o1"}, "SK": {"S": "ORDER"}, "tenant": {"S": "t1"},
            "region": {"S": "eu"}, "created": {"S": AT_TEXT}, "order_id": {"S": "o1"}}
    mock = MockTransport(_page_handler([last]))
    db = events.connect(transport=mock)
    first = _tenant(db).gt(created=AT).page()
    assert [o.order_id for o in first] == ["o1"] and first.cursor is not None
    second = _tenant(db).gt(created=AT).page(first.cursor)
    assert mock.sent[1].params["ExclusiveStartKey"] == last
    assert second.cursor is None
    with pytest.raises(CursorError, match="another query"):
        _tenant(db).gt(created=LATER).page(first.cursor)
