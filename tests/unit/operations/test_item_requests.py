"""Compiled put / get / delete / update requests (no network)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from dyntable import F
from dyntable.client import Client
from dyntable.errors import InvalidRequestError, InvalidValueError, KeyTemplateError
from tests.models import Customer, Order, Product

AT = datetime(2026, 11, 1, tzinfo=timezone.utc)
KEY = {"username": "ada", "placed_at": AT, "order_id": "o1"}


def _order(**kw: object) -> Order:
    return Order(**{**KEY, "status": "PLACED", "total": Decimal("10"), **kw})  # type: ignore[arg-type]


def test_put_if_absent_and_condition(offline_db: Client) -> None:
    from dyntable._internal.operations.items import put_request
    from dyntable.codec import codec_for

    req = put_request(codec_for(Order), "shop", _order(), if_absent=True,
                      condition=F.status == "PLACED")
    p = req.params
    assert p["ConditionExpression"] == "#n0 = :v0 AND attribute_not_exists(#n1)"
    assert p["ExpressionAttributeNames"] == {"#n0": "status", "#n1": "PK"}
    assert p["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    assert p["Item"]["SK"] == {"S": "ORDER#2026-11-01T00:00:00.000000Z#o1"}
    assert req.key == {"PK": {"S": "CUSTOMER#ada"}, "SK": p["Item"]["SK"]}


def test_put_checks_and_bumps_the_version() -> None:
    from dyntable._internal.operations.items import put_request
    from dyntable.codec import codec_for

    product = Product(sku="s", title="t", price=Decimal(1), version=3)
    req = put_request(codec_for(Product), "shop", product)
    assert req.params["Item"]["version"] == {"N": "4"}
    # the version, and the entity guard: an item of another entity is never replaced
    assert req.params["ConditionExpression"] == (
        "#n0 = :v0 AND (attribute_not_exists(#en0) OR attribute_not_exists(#en1) OR "
        "#en1 = :ev0)")
    assert req.params["ExpressionAttributeNames"] == {
        "#n0": "version", "#en0": "PK", "#en1": "_entity"}
    assert req.params["ExpressionAttributeValues"] == {
        ":v0": {"N": "3"}, ":ev0": {"S": "product"}}
    assert req.version_checked and req.expected_version == 3
    # the write receipt: unique to this put, in the slot of version 4; the object was not
    # read through dyntable, so older receipts are unknown (floor 4)
    assert req.token is not None and len(req.token) == 12
    assert req.params["Item"]["_wt"] == {"M": {"4": {"S": f"4:{req.token}"}, "f": {"N": "4"}}}
    again = put_request(codec_for(Product), "shop", product)
    assert again.token != req.token


def test_get_with_projection_and_consistent() -> None:
    from dyntable._internal.operations.items import get_request
    from dyntable.codec import codec_for

    codec = codec_for(Customer)
    req = get_request(codec, "shop", codec.key({"username": "ada"}), consistent=True,
                      project=[F.name, F.address.city])
    assert req.params["ConsistentRead"] is True
    assert req.params["ProjectionExpression"] == "#n0, #n1.#n2, #n3, #n4, #n5"
    assert req.params["ExpressionAttributeNames"] == {
        "#n0": "name", "#n1": "address", "#n2": "city", "#n3": "PK", "#n4": "SK",
        "#n5": "_entity"}


def test_delete_conditional_return_old() -> None:
    from dyntable._internal.operations.items import delete_request
    from dyntable.codec import codec_for

    codec = codec_for(Customer)
    req = delete_request(codec, "shop", codec.key({"username": "ada"}),
                         condition=F.order_count == 0, expected_version=2, return_old=True)
    assert req.params["ConditionExpression"] == (
        "#n0 = :v0 AND (attribute_not_exists(#en0) OR attribute_not_exists(#en1) OR "
        "#en1 = :ev0) AND #n1 = :v1")
    assert req.params["ExpressionAttributeNames"] == {
        "#n0": "order_count", "#en0": "PK", "#en1": "_entity", "#n1": "version"}
    assert req.params["ReturnValues"] == "ALL_OLD"
    assert req.version_checked


def test_update_builder_compiles_every_action(offline_db: Client) -> None:
    p = (
        offline_db.update(Customer, username="ada")
        .set(name="Ada L.")
        .set(F.address.city, "Paris")
        .add(order_count=1, tags={"vip"})
        .condition(F.name.exists())
        .params()
    )
    assert p["Key"] == {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "CUSTOMER#ada"}}
    assert p["UpdateExpression"] == (
        "SET #n0 = :v0, #n1.#n2 = :v1, #n5 = if_not_exists(#n5, :v4) + :v5 "
        "ADD #n3 :v2, #n4 :v3"
    )
    assert p["ExpressionAttributeNames"] == {
        "#n0": "name", "#n1": "address", "#n2": "city", "#n3": "order_count", "#n4": "tags",
        "#n5": "version", "#n6": "PK", "#fn0": "_entity"}
    assert p["ExpressionAttributeValues"] == {
        ":v0": {"S": "Ada L."}, ":v1": {"S": "Paris"}, ":v2": {"N": "1"}, ":v3": {"SS": ["vip"]},
        ":v4": {"N": "0"}, ":v5": {"N": "1"}, ":fv0": {"S": "customer"}}
    assert p["ConditionExpression"] == (
        "attribute_exists(#n0) AND attribute_exists(#n6) AND (attribute_not_exists(#fn0) OR "
        "#fn0 = :fv0)")
    assert p["ReturnValues"] == "ALL_NEW"
    assert p["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"


def test_update_delete_append_prepend_set_default(offline_db: Client) -> None:
    p = offline_db.update(Customer, username="ada").delete(F.tags, {"old"}).params()
    assert p["UpdateExpression"].endswith("DELETE #n0 :v0")
    assert p["ExpressionAttributeValues"][":v0"] == {"SS": ["old"]}
    p = (offline_db.update(Product, sku="s").append(categories=["z"])
         .set_default(stock=5).params())
    assert p["UpdateExpression"].startswith(
        "SET #n0 = list_append(if_not_exists(#n0, :v0), :v1), #n1 = if_not_exists(#n1, :v2)")
    p = offline_db.update(Product, sku="s").prepend(categories=["a"]).params()
    assert p["UpdateExpression"].startswith("SET #n0 = list_append(:v0, if_not_exists(#n0, :v1))")


def test_removing_a_required_field_is_refused(offline_db: Client) -> None:
    with pytest.raises(InvalidRequestError, match=r"Customer.email is a required field"):
        offline_db.update(Customer, username="ada").remove("email").params()
    p = offline_db.update(Customer, username="ada").remove("address").params()
    assert p["UpdateExpression"].startswith("SET") and "REMOVE #n0" in p["UpdateExpression"]


def test_update_rewrites_index_keys(offline_db: Client) -> None:
    p = offline_db.update(Order, **KEY).set(status="SHIPPED").params()
    names, values = p["ExpressionAttributeNames"], p["ExpressionAttributeValues"]
    assert "GSI1PK" in names.values() and "GSI1SK" in names.values()
    assert {"S": "STATUS#SHIPPED"} in values.values()
    assert {"S": "2026-11-01T00:00:00.000000Z#o1"} in values.values()


def test_update_to_none_removes_sparse_index_keys(offline_db: Client) -> None:
    p = offline_db.update(Order, **KEY).set(ship_by=None).params()
    names = p["ExpressionAttributeNames"]
    removed = p["UpdateExpression"].split("REMOVE ")[1].split(" SET")[0]
    assert {names[n.strip()] for n in removed.split(",")} == {"ship_by", "GSI2PK", "GSI2SK"}
    p = offline_db.update(Order, **KEY).set(ship_by=date(2026, 12, 1)).params()
    assert {"S": "SHIPBY"} in p["ExpressionAttributeValues"].values()
    assert {"S": "2026-12-01#o1"} in p["ExpressionAttributeValues"].values()


def test_update_refuses_primary_key_fields(offline_db: Client) -> None:
    with pytest.raises(InvalidRequestError, match=r"Order.order_id is part of the primary key"):
        offline_db.update(Order, **KEY).set(order_id="o2").params()
    with pytest.raises(InvalidRequestError, match=r"Customer.version is the version field"):
        offline_db.update(Customer, username="a").set(version=3).params()


def test_update_values_are_validated_as_the_field_type(offline_db: Client) -> None:
    with pytest.raises(InvalidValueError, match=r"Customer.order_count: 'many' is not valid"):
        offline_db.update(Customer, username="a").set(order_count="many").params()
    p = offline_db.update(Order, **KEY).set(total="12.50").params()
    assert {"N": "12.50"} in p["ExpressionAttributeValues"].values()


def test_update_of_an_index_field_needs_the_other_key_fields(offline_db: Client) -> None:
    from dyntable import GSI, Key, Model, Table
    from tests.models import shop

    assert shop is not None
    table = Table("upd", gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK")])

    class Thing(Model, table=table, entity="thing"):
        id: str
        a: str
        b: str
        primary = Key(pk="T#{id}", sk="T")
        by_ab = Key(index="GSI1", pk="A#{a}", sk="B#{b}")

    db = table.connect(transport=offline_db.transport)
    with pytest.raises(KeyTemplateError, match=r"also give \['b'\]"):
        db.update(Thing, id="1").set(a="x").params()


def test_update_from_an_instance_checks_its_version(offline_db: Client) -> None:
    c = Customer(username="ada", email="e", name="n", version=4)
    p = offline_db.update(c).set(name="m").params()
    assert "#n" in p["ConditionExpression"]
    assert {"N": "4"} in p["ExpressionAttributeValues"].values()
    assert {"N": "5"} in p["ExpressionAttributeValues"].values()


def test_bad_key_fields_are_refused(offline_db: Client) -> None:
    with pytest.raises(KeyTemplateError, match=r"missing key field\(s\) \['order_id'\]"):
        builder = offline_db.update(Order, username="ada", placed_at=AT)  # type: ignore[call-arg]
        builder.set(note="x").params()
