"""Compiled Query / Scan requests: key conditions from templates, filters, limits."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable import F
from dyntable.client import Client
from dyntable.codec import codec_for
from dyntable.errors import (
    ExpressionError,
    InvalidRequestError,
    KeyTemplateError,
    UnmatchedItemWarning,
)
from tests.models import Customer, Order, OrderLine

AT = datetime(2026, 11, 1, tzinfo=timezone.utc)
AT_TEXT = "2026-11-01T00:00:00.000000Z"
MAX = "\U0010ffff"


def _kc(params: dict[str, Any]) -> tuple[str, list[Any]]:
    values = params["ExpressionAttributeValues"]
    text = params["KeyConditionExpression"]
    return text, [values[k]["S"] for k in sorted(values, key=lambda k: int(k[2:]))
                  if k in text]


def test_partition_only_reads_the_models_sort_key_prefix(offline_db: Client) -> None:
    p = offline_db.query(Order.primary, username="ada").params()
    assert p["KeyConditionExpression"] == "#n0 = :v0 AND begins_with(#n1, :v1)"
    assert p["ExpressionAttributeNames"] == {"#n0": "PK", "#n1": "SK"}
    assert p["ExpressionAttributeValues"][":v0"] == {"S": "CUSTOMER#ada"}
    assert p["ExpressionAttributeValues"][":v1"] == {"S": "ORDER#"}
    # the entity is checked as items are decoded (test_query_reads_keep_only_the_models_items)
    assert "FilterExpression" not in p


def test_query_reads_keep_only_the_models_items(offline_db: Client) -> None:
    order = Order(username="ada", order_id="o1", status="PLACED", placed_at=AT,
                  total=Decimal("1.50"))
    mine = codec_for(Order).encode(order)
    foreign = {**mine, "_entity": {"S": "order_line"}}
    # another program's put dropped the entity attribute: the key says it is an Order
    unmarked = {k: v for k, v in mine.items() if k != "_entity"}
    # no entity attribute and a key no model's templates fit: reported, not dropped
    stray = {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "NOTE#1"}, "text": {"S": "hi"}}
    q = offline_db.query(Order.primary, username="ada")
    with pytest.warns(UnmatchedItemWarning, match=r"1 item\(s\) that match no model"):
        assert q.decode([foreign, mine, unmarked, stray]) == [order, order]
    assert q.unmatched == [stray]
    # a count reads keys and the entity attribute, and counts like decode does
    counted = q._compile(count=True)
    assert "Select" not in counted and "FilterExpression" not in counted
    names = counted["ExpressionAttributeNames"]
    assert [names[n] for n in counted["ProjectionExpression"].split(", ")] == [
        "PK", "SK", "_entity"]
    assert q.own([foreign, mine, unmarked]) == [mine, unmarked]
    # scans filter on the server too (this entity or none): it saves sending every other
    # entity's items
    assert offline_db.scan(Order).params()["FilterExpression"] == (
        "#n0 = :v0 OR attribute_not_exists(#n0)")


def test_leading_sort_fields_as_keywords_give_a_full_field_prefix(offline_db: Client) -> None:
    p = offline_db.query(OrderLine.primary, username="ada", order_id="o1").params()
    assert _kc(p) == ("#n0 = :v0 AND begins_with(#n1, :v1)", ["CUSTOMER#ada", "LINE#o1#"])


@pytest.mark.parametrize(
    ("method", "args", "op", "values"),
    [
        ("eq", {"placed_at": AT, "order_id": "o1"}, "#n1 = :v1", [f"ORDER#{AT_TEXT}#o1"]),
        ("begins_with", {"placed_at": "2026-11"}, "begins_with(#n1, :v1)", ["ORDER#2026-11"]),
        ("lt", {"placed_at": AT}, "#n1 < :v1", [f"ORDER#{AT_TEXT}"]),
        ("le", {"placed_at": AT}, "#n1 <= :v1", [f"ORDER#{AT_TEXT}#{MAX}"]),
        ("gt", {"placed_at": AT}, "#n1 > :v1", [f"ORDER#{AT_TEXT}#{MAX}"]),
        ("ge", {"placed_at": AT}, "#n1 >= :v1", [f"ORDER#{AT_TEXT}"]),
        ("lt", {"placed_at": AT, "order_id": "o1"}, "#n1 < :v1", [f"ORDER#{AT_TEXT}#o1"]),
        ("le", {"placed_at": AT, "order_id": "o1"}, "#n1 <= :v1", [f"ORDER#{AT_TEXT}#o1"]),
        ("gt", {"placed_at": AT, "order_id": "o1"}, "#n1 > :v1", [f"ORDER#{AT_TEXT}#o1"]),
        ("ge", {"placed_at": AT, "order_id": "o1"}, "#n1 >= :v1", [f"ORDER#{AT_TEXT}#o1"]),
    ],
)
def test_sort_key_conditions(offline_db: Client, method: str, args: dict[str, Any], op: str,
                             values: list[str]) -> None:
    q = getattr(offline_db.query(Order.primary, username="ada"), method)(**args)
    text, got = _kc(q.params())
    assert text == f"#n0 = :v0 AND {op}"
    assert got == ["CUSTOMER#ada", *values]


def test_between_partial_keys_is_inclusive(offline_db: Client) -> None:
    later = datetime(2026, 12, 1, tzinfo=timezone.utc)
    q = offline_db.query(Order.primary, username="ada").between({"placed_at": AT},
                                                                {"placed_at": later})
    text, got = _kc(q.params())
    assert text == "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2"
    assert got == ["CUSTOMER#ada", f"ORDER#{AT_TEXT}",
                   f"ORDER#2026-12-01T00:00:00.000000Z#{MAX}"]


def test_format_spec_is_used_in_sort_conditions(offline_db: Client) -> None:
    q = offline_db.query(OrderLine.primary, username="ada").eq(order_id="o1", line=7)
    assert _kc(q.params())[1] == ["CUSTOMER#ada", "LINE#o1#0007"]


def test_gsi_query_and_consistent_refused(offline_db: Client) -> None:
    q = offline_db.query(Order.by_status, status="PLACED").begins_with(placed_at="2026-11")
    p = q.params()
    assert p["IndexName"] == "GSI1"
    assert _kc(p) == ("#n0 = :v0 AND begins_with(#n1, :v1)", ["STATUS#PLACED", "2026-11"])
    with pytest.raises(InvalidRequestError, match=r"index 'GSI1' is a GSI: DynamoDB offers only"):
        offline_db.query(Order.by_status, status="PLACED").consistent()


def test_lsi_query_can_be_consistent(offline_db: Client) -> None:
    p = offline_db.query(Order.by_total, username="ada").consistent().reverse().params()
    assert p["IndexName"] == "LSI1" and p["ConsistentRead"] is True
    assert p["ScanIndexForward"] is False
    assert _kc(p)[1] == ["CUSTOMER#ada", "TOTAL#"]


def test_filter_limit_projection(offline_db: Client) -> None:
    p = (offline_db.query(Order.primary, username="ada").where(F.status == "PLACED")
         .where(F.note.exists()).limit(5).page_size(3).project("status", F.note).params())
    assert p["Limit"] == 3
    names = p["ExpressionAttributeNames"]
    assert p["FilterExpression"] == "#n2 = :v2 AND attribute_exists(#n3)"
    assert [names[n] for n in ("#n2", "#n3", "#n4")] == ["status", "note", "_entity"]
    # the entity attribute is always projected: decoding checks it
    assert p["ProjectionExpression"] == "#n2, #n3, #n0, #n1, #n4"


def test_sparse_include_index_has_no_entity_filter_when_not_projected(
        offline_db: Client) -> None:
    q = offline_db.query(Order.awaiting_shipment)
    assert q.params()["IndexName"] == "GSI2"
    # INCLUDE projections always carry the entity attribute: a count reads it (and the
    # keys) and checks it on the client
    counted = q._compile(count=True)
    assert "FilterExpression" not in counted
    assert "_entity" in counted["ExpressionAttributeNames"].values()


def test_query_errors(offline_db: Client) -> None:
    with pytest.raises(KeyTemplateError, match=r"the partition needs \['username'\]"):
        offline_db.query(Order.primary)  # type: ignore[call-arg]
    with pytest.raises(KeyTemplateError, match=r"\['total'\] are not fields of this key"):
        offline_db.query(Order.primary, username="a", total=1)  # type: ignore[call-arg]
    with pytest.raises(KeyTemplateError, match=r"eq\(\) needs every sort key field"):
        offline_db.query(Order.primary, username="a").eq(placed_at=AT)
    with pytest.raises(InvalidRequestError, match="only one sort key condition"):
        offline_db.query(Order.primary, username="a").ge(placed_at=AT).le(placed_at=AT)
    with pytest.raises(KeyTemplateError, match="fields must be given from the left"):
        offline_db.query(Order.primary, username="a").begins_with(order_id="o").params()
    with pytest.raises(ExpressionError, match="where\\(\\) takes a condition"):
        offline_db.query(Order.primary, username="a").where("status = 1")  # type: ignore[arg-type]
    with pytest.raises(ExpressionError, match="has no field 'nope'"):
        offline_db.query(Order.primary, username="a").project("nope")
    with pytest.raises(InvalidRequestError, match="limit must be a positive int"):
        offline_db.query(Order.primary, username="a").limit(0)


def test_a_scan_count_keeps_the_server_filter_and_reads_keys(offline_db: Client) -> None:
    counted = offline_db.scan(Customer)._compile(count=True)
    names = counted["ExpressionAttributeNames"]
    assert counted["FilterExpression"] == "#n0 = :v0 OR attribute_not_exists(#n0)"
    assert names["#n0"] == "_entity"
    assert sorted(names[n] for n in counted["ProjectionExpression"].split(", ")) == [
        "PK", "SK", "_entity"]


def test_scan_segment_and_filter(offline_db: Client) -> None:
    p = offline_db.scan(Order).where(F.status == "SHIPPED").segment(2, 4).params()
    assert p["Segment"] == 2 and p["TotalSegments"] == 4
    # this entity, or no entity attribute (matched by key on the client)
    assert p["FilterExpression"] == "(#n0 = :v0 OR attribute_not_exists(#n0)) AND #n1 = :v1"
    with pytest.raises(InvalidRequestError, match="0 <= segment < total_segments"):
        offline_db.scan(Order).segment(4, 4)
    p = offline_db.scan(Order, index="GSI1").params()
    assert p["IndexName"] == "GSI1"
