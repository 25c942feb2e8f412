"""Decoding records into typed events: every view type, key-only matching, bad images."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from dyntable import Key, Model, Table
from dyntable.streams.events import StreamEvent, decode_record, models_for_keys
from dyntable.streams.records import MissingImageError, StreamRecordError, parse_record
from tests.models import Customer, Order, OrderLine, Product, shop
from tests.unit.streams.lambda_events import record

ADA = Customer(username="ada", email="ada@x.io", name="Ada")
ADA2 = Customer(username="ada", email="ada@new.io", name="Ada L.", version=1)
ORDER = Order(username="ada", order_id="o-1", status="PLACED",
              placed_at=datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc), total=Decimal("12.50"))
SEQ = "100000000000000000000001"


def decode(raw: dict[str, Any]) -> StreamEvent[Any]:
    return decode_record(shop, parse_record(raw))


@pytest.mark.parametrize("view", ["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"])
def test_modify_under_every_view_type(view: str) -> None:
    event = decode(record("MODIFY", SEQ, new=ADA2, old=ADA, view=view))
    assert event.model is Customer
    assert event.kind == "modify"
    assert event.key_fields == {"username": "ada"}
    has_new = view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
    has_old = view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
    if has_new:
        assert event.new == ADA2
    else:
        with pytest.raises(MissingImageError, match=view):
            _ = event.new
    if has_old:
        assert event.old == ADA
    else:
        assert event.old_or_none is None
    if has_new and has_old:
        assert event.changed_fields == {"email", "name", "version"}
        assert event.changed("name") and not event.changed("tier")
    else:
        with pytest.raises(MissingImageError):
            _ = event.changed_fields


@pytest.mark.parametrize("view", ["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"])
def test_insert_and_remove_under_every_view_type(view: str) -> None:
    ins = decode(record("INSERT", SEQ, new=ORDER, view=view))
    rem = decode(record("REMOVE", SEQ, old=ORDER, view=view))
    assert (ins.kind, rem.kind) == ("insert", "remove")
    assert ins.model is Order and rem.model is Order
    assert ins.new_or_none == (ORDER if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") else None)
    assert rem.old_or_none == (ORDER if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else None)
    assert ins.key_fields == {"username": "ada", "order_id": "o-1",
                              "placed_at": ORDER.placed_at}


def test_keys_only_carries_only_key_fields() -> None:
    line = OrderLine(username="ada", order_id="o-1", line=7, sku="S", quantity=1,
                     price=Decimal(1))
    event = decode(record("INSERT", SEQ, new=line, view="KEYS_ONLY"))
    assert event.model is OrderLine
    assert event.key_fields == {"username": "ada", "order_id": "o-1", "line": 7}
    assert "sku" not in event.key_fields
    product = decode(record("REMOVE", SEQ, old=Product(sku="p1", title="t", price=Decimal(1)),
                            view="KEYS_ONLY"))
    assert product.model is Product and product.key_fields == {"sku": "p1"}


def test_keys_fitting_no_model_are_unknown() -> None:
    keys = {"PK": {"S": "INVOICE#1"}, "SK": {"S": "INVOICE#1"}}
    event = decode(record("INSERT", SEQ, keys=keys, view="KEYS_ONLY"))
    assert event.model is None and event.reason


# -- ambiguity: a separate table whose key templates overlap -------------------------------

amb = Table("amb_streams", pk="PK", sk="SK")


class Specific(Model, table=amb, entity="specific"):
    user: str
    primary = Key(pk="USER#{user}", sk="PROFILE")


class Anything(Model, table=amb, entity="generic"):
    user: str
    thing: str
    primary = Key(pk="USER#{user}", sk="{thing}")


class Twin(Model, table=amb, entity="twin"):
    user: str
    other: str
    primary = Key(pk="USER#{user}", sk="{other}")


def test_most_specific_template_wins_and_ties_are_unknown() -> None:
    profile = {"PK": {"S": "USER#1"}, "SK": {"S": "PROFILE"}}
    ranked = [m for m, _ in models_for_keys(amb, profile)]
    assert ranked[0] is Specific
    assert {m.__name__ for m in ranked} == {"Specific", "Anything", "Twin"}
    event = decode_record(amb, parse_record(record("INSERT", SEQ, keys=profile,
                                                   view="KEYS_ONLY")))
    assert event.model is Specific and event.key_fields == {"user": "1"}
    other = {"PK": {"S": "USER#1"}, "SK": {"S": "SETTINGS"}}
    event = decode_record(amb, parse_record(record("INSERT", SEQ, keys=other, view="KEYS_ONLY")))
    assert event.model is None
    assert {m.__name__ for m in event.candidates} == {"Anything", "Twin"}


def test_an_image_that_does_not_fit_fails_that_record_only() -> None:
    bad = record("INSERT", SEQ, new=ORDER)
    bad["dynamodb"]["NewImage"]["status"] = {"S": "LOST"}
    good = record("INSERT", "100000000000000000000002", new=ORDER)
    with pytest.raises(StreamRecordError) as info:
        decode(bad)
    err = info.value
    assert err.sequence_number == SEQ and err.model == "Order"
    assert "status" in str(err) and SEQ in str(err)
    assert decode(good).new == ORDER


def test_unknown_entity_and_missing_entity() -> None:
    image = {"PK": {"S": "X#1"}, "SK": {"S": "X#1"}, "_entity": {"S": "invoice"}}
    event = decode(record("INSERT", SEQ, keys={"PK": image["PK"], "SK": image["SK"]},
                          new=image))
    assert event.model is None and event.entity == "invoice"
    with pytest.raises(MissingImageError, match="unknown"):
        _ = event.new
    del image["_entity"]
    event = decode(record("INSERT", SEQ, keys={"PK": image["PK"], "SK": image["SK"]},
                          new=image))
    assert event.model is None and event.entity is None


def test_unknown_modify_reports_changed_attributes() -> None:
    keys = {"PK": {"S": "X#1"}, "SK": {"S": "X#1"}}
    old = {**keys, "_entity": {"S": "invoice"}, "n": {"N": "1"}}
    new = {**keys, "_entity": {"S": "invoice"}, "n": {"N": "2"}, "m": {"S": "x"}}
    event = decode(record("MODIFY", SEQ, keys=keys, new=new, old=old))
    assert event.changed_fields == {"n", "m"}


blobs = Table("blob_streams", pk="PK", sk="SK")


class Blob(Model, table=blobs, entity="blob"):
    name: str
    data: bytes
    primary = Key(pk="BLOB#{name}", sk="BLOB")


def test_binary_values_arrive_as_base64_in_lambda() -> None:
    blob = Blob(name="b", data=b"\x00\xffhello")
    raw = record("INSERT", SEQ, new=blob)
    assert raw["dynamodb"]["NewImage"]["data"] == {"B": base64.b64encode(b"\x00\xffhello")
                                                   .decode()}
    event = decode_record(blobs, parse_record(raw))
    assert event.new == blob
