"""Which model an item belongs to: by entity attribute, else by key templates; tables that
carry no entity attribute; declarations that could not be told apart."""

from __future__ import annotations

import warnings
from decimal import Decimal

import pytest

from dyntable import Key, Model, Table
from dyntable._internal.codec.identity import identity
from dyntable.codec import codec_for
from dyntable.errors import DeclarationError, UnmatchedItemWarning
from tests.models import Customer, Order, OrderLine, shop

legacy = Table("legacy", entity_attribute=None)


class Org(Model, table=legacy, entity="org"):
    org: str
    name: str
    primary = Key(pk="ORG#{org}", sk="META")


class Member(Model, table=legacy, entity="member"):
    org: str
    user_id: str
    primary = Key(pk="ORG#{org}", sk="USER#{user_id}")


class Invoice(Model, table=legacy, entity="invoice"):
    org: str
    number: int
    primary = Key(pk="ORG#{org}", sk="INVOICE#{number}")


solo = Table("solo", pk="id", sk=None, entity_attribute=None)


class Thing(Model, table=solo, entity="thing"):
    id: str
    size: int = 0
    primary = Key(pk="{id}")


def keys(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def test_a_table_without_entity_attribute_writes_none() -> None:
    # Before: Table(entity_attribute=None) was accepted and the first encode raised
    # TypeError: object of type 'NoneType' has no len().
    item = codec_for(Org).encode(Org(org="acme", name="Acme"))
    assert item == {"PK": {"S": "ORG#acme"}, "SK": {"S": "META"}, "org": {"S": "acme"},
                    "name": {"S": "Acme"}}
    assert codec_for(Thing).encode(Thing(id="t1")) == {"id": {"S": "t1"}, "size": {"N": "0"}}


def test_items_are_told_apart_by_their_key_templates() -> None:
    ident = identity(legacy)
    assert ident.model_of(keys("ORG#acme", "META")) is Org
    assert ident.model_of(keys("ORG#acme", "USER#u1")) is Member
    assert ident.model_of(keys("ORG#acme", "INVOICE#12")) is Invoice
    # a value its field's type refuses does not fit the template
    assert ident.model_of(keys("ORG#acme", "INVOICE#twelve")) is None
    # a separator inside a field value: dyntable never writes such a key
    assert ident.model_of(keys("ORG#a#b", "META")) is None
    nothing = ident.match(keys("TENANT#x", "META"))
    assert nothing.model is None and "no model's key templates fit" in nothing.reason


def test_one_model_and_no_entity_attribute_owns_every_item() -> None:
    assert identity(solo).model_of({"id": {"S": "anything#at:all"}}) is Thing
    assert codec_for(Thing).owns({"id": {"S": "x"}})


def test_the_entity_attribute_wins_and_its_absence_falls_back_to_the_key() -> None:
    ident = identity(shop)
    order = Order(username="ada", order_id="o1", status="PLACED",
                  placed_at="2026-11-01T00:00:00Z",  # type: ignore[arg-type]
                  total=Decimal(1))
    item = codec_for(Order).encode(order)
    assert ident.model_of(item) is Order
    # another program replaced the item and dropped the attribute: the key still says Order
    bare = {k: v for k, v in item.items() if k != "_entity"}
    assert ident.model_of(bare) is Order
    assert codec_for(Order).owns(bare) and not codec_for(Customer).owns(bare)
    # an entity the table does not know is no model's, whatever its key
    assert ident.model_of({**item, "_entity": {"S": "refund"}}) is None
    assert "not registered" in ident.match({**item, "_entity": {"S": "refund"}}).reason
    line = codec_for(OrderLine).encode(OrderLine(username="ada", order_id="o1", line=1,
                                                 sku="s", quantity=1, price=Decimal(1)))
    assert ident.model_of({k: v for k, v in line.items() if k != "_entity"}) is OrderLine


def test_the_most_specific_template_wins_and_a_tie_is_no_match() -> None:
    loose = Table("loose")

    class Anything(Model, table=loose, entity="any"):
        user: str
        thing: str
        primary = Key(pk="USER#{user}", sk="{thing}")

    class Profile(Model, table=loose, entity="profile"):
        user: str
        primary = Key(pk="USER#{user}", sk="PROFILE")

    class Twin(Model, table=loose, entity="twin"):
        user: str
        other: str
        primary = Key(pk="USER#{user}", sk="{other}")

    ident = identity(loose)
    assert ident.model_of(keys("USER#1", "PROFILE")) is Profile
    tie = ident.match(keys("USER#1", "SETTINGS"))
    assert tie.model is None
    assert {m.__name__ for m in tie.candidates} == {"Anything", "Twin"}
    assert "several models equally well" in tie.reason


def test_models_that_cannot_be_told_apart_fail_at_class_creation() -> None:
    bare = Table("bare", entity_attribute=None)

    class First(Model, table=bare, entity="first"):
        a: str
        primary = Key(pk="A#{a}", sk="X")

    with pytest.raises(DeclarationError, match=r"Second and .*First cannot be told apart"):
        class Second(Model, table=bare, entity="second"):
            b: str
            primary = Key(pk="A#{b}", sk="X")

    # a table with an entity attribute tells them apart by it
    marked = Table("marked")

    class One(Model, table=marked, entity="one"):
        a: str
        primary = Key(pk="A#{a}", sk="X")

    class Two(Model, table=marked, entity="two"):
        b: str
        primary = Key(pk="A#{b}", sk="X")

    assert identity(marked).model_of({**keys("A#1", "X"), "_entity": {"S": "two"}}) is Two


def test_the_rules_follow_models_declared_later() -> None:
    late = Table("late", entity_attribute=None)

    class Early(Model, table=late, entity="early"):
        a: str
        primary = Key(pk="E#{a}", sk="E")

    assert identity(late).model_of(keys("L#1", "L")) is Early  # the only model owns all

    class Later(Model, table=late, entity="later"):
        a: str
        primary = Key(pk="L#{a}", sk="L")

    assert identity(late).model_of(keys("L#1", "L")) is Later
    assert identity(late).model_of(keys("E#1", "E")) is Early


def test_bad_entity_attribute_settings_are_refused() -> None:
    with pytest.raises(DeclarationError, match="entity_attribute is an attribute name or None"):
        Table("t1x", entity_attribute="")


def test_split_keeps_mine_skips_other_entities_and_returns_the_unmatched() -> None:
    ident = identity(legacy)
    org = codec_for(Org).encode(Org(org="acme", name="Acme"))
    member = keys("ORG#acme", "USER#u1") | {"org": {"S": "acme"}, "user_id": {"S": "u1"}}
    stray = keys("ORG#acme", "NOTE#1")
    mine, unmatched = ident.split([org, member, stray], Member)
    assert mine == [member] and unmatched == [stray]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmatchedItemWarning)
        assert ident.split([org], Org) == ([org], [])


def test_items_dyntable_keeps_for_itself_are_no_models_and_never_unmatched() -> None:
    guard = {"id": {"S": "_dyntable#unique#thing#size#3"}}
    assert identity(solo).model_of(guard) is None          # not the table's only model
    assert identity(solo).split([guard], Thing) == ([], [])
    history = keys("_dyntable#migrations", "0001")
    assert identity(legacy).split([history], Member) == ([], [])
    assert "keeps for itself" in identity(legacy).match(history).reason
