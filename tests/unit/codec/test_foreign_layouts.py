"""Layouts other programs write: field aliases, fields kept only in keys, and attributes a
model does not declare (kept on read, written back by put)."""

from __future__ import annotations

import copy
from typing import Annotated, Any

import pytest
from pydantic import ConfigDict, Field

from dyntable import GSI, F, Key, Model, Table, Version
from dyntable.codec import codec_for, extra_attributes
from dyntable.errors import DeclarationError, DecodeError, ExpressionError, InvalidRequestError
from dyntable.expressions.compiler import Compiler
from tests.models import Customer

legacy = Table("legacy_layouts", entity_attribute=None,
               gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK"), GSI("ByCode", pk="countryCode")])


class Member(Model, table=legacy, entity="member"):
    model_config = ConfigDict(populate_by_name=True)

    org: str
    user_id: str
    display_name: str = Field(alias="displayName")
    country: str | None = Field(default=None, alias="countryCode")
    status: str | None = None
    version: Annotated[int, Version] = 0

    primary = Key(pk="ORG#{org}", sk="USER#{user_id}", store_fields=False)
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="USER#{user_id}")
    by_country = Key(index="ByCode")


def stored(**extra: Any) -> dict[str, Any]:
    return {"PK": {"S": "ORG#acme"}, "SK": {"S": "USER#u1"}, "displayName": {"S": "Ada"},
            **extra}


# -- aliases ---------------------------------------------------------------------------


def test_an_alias_is_the_attribute_name_on_the_wire() -> None:
    codec = codec_for(Member)
    m = Member(org="acme", user_id="u1", displayName="Ada", countryCode="FR")
    item = codec.encode(m)
    assert item["displayName"] == {"S": "Ada"} and "display_name" not in item
    assert item["countryCode"] == {"S": "FR"}  # and the native ByCode index key
    back = codec.decode(item)
    assert back == m and back.display_name == "Ada"
    # by field name too (populate_by_name)
    assert Member(org="acme", user_id="u1", displayName="Ada") == Member(
        org="acme", user_id="u1", display_name="Ada")  # type: ignore[call-arg]


def test_expressions_name_the_aliased_attribute() -> None:
    compiler = Compiler(codec_for(Member))
    text = compiler.condition((F.display_name == "Ada") & F.country.exists())
    assert text == "#n0 = :v0 AND attribute_exists(#n1)"
    assert compiler.names == {"#n0": "displayName", "#n1": "countryCode"}
    assert compiler.projection([F.display_name]) == "#n0"


def test_aliases_that_clash_or_sit_on_dyntable_attributes_are_refused() -> None:
    t = Table("alias_clash")
    with pytest.raises(DeclarationError, match="both stored as attribute 'b'"):
        class Clash(Model, table=t, entity="clash"):
            a: str = Field(alias="b")
            b: str
            primary = Key(pk="C#{a}", sk="C")
    with pytest.raises(DeclarationError, match="named like the table's key or entity"):
        class OnEntity(Model, table=t, entity="on_entity"):
            a: str = Field(alias="_entity")
            primary = Key(pk="C#{a}", sk="C")
    with pytest.raises(DeclarationError, match="version field cannot have an alias"):
        class AliasedVersion(Model, table=t, entity="aliased_version"):
            a: str
            v: Annotated[int, Version] = Field(default=0, alias="ver")
            primary = Key(pk="C#{a}", sk="C")


# -- fields kept only in the key ----------------------------------------------------------


def test_key_only_fields_are_not_written_and_are_read_from_the_key() -> None:
    codec = codec_for(Member)
    item = codec.encode(Member(org="acme", user_id="u1", displayName="Ada"))
    assert "org" not in item and "user_id" not in item
    assert item["PK"] == {"S": "ORG#acme"} and item["SK"] == {"S": "USER#u1"}
    m = codec.decode(stored())
    assert (m.org, m.user_id, m.display_name) == ("acme", "u1", "Ada")


def test_a_templated_field_whose_attribute_is_absent_is_read_from_the_key() -> None:
    # Before: a full get raised DecodeError "username: Field required" when another
    # program stored the username only inside the key.
    item = codec_for(Customer).encode(Customer(username="ada", email="a@x", name="Ada"))
    del item["username"]
    assert codec_for(Customer).decode(item).username == "ada"


def test_key_only_fields_cannot_be_named_in_expressions() -> None:
    with pytest.raises(ExpressionError, match=r"kept only inside key attribute\(s\) \['PK'\]"):
        Compiler(codec_for(Member)).condition(F.org == "acme")


def test_updating_a_key_only_index_field_rewrites_only_the_index_key() -> None:
    from dyntable._internal.operations.items import UpdateSpec, update_request

    t = Table("layouts_gsi", entity_attribute=None, gsis=[GSI("GSI1", pk="GSI1PK")])

    class Ticket(Model, table=t, entity="ticket"):
        id: str
        queue: str | None = None
        primary = Key(pk="T#{id}", sk="T")
        by_queue = Key(index="GSI1", pk="QUEUE#{queue}", store_fields=False)

    codec = codec_for(Ticket)
    assert "queue" not in codec.encode(Ticket(id="1", queue="q1"))
    assert codec.decode(codec.encode(Ticket(id="1", queue="q1"))).queue == "q1"
    from dyntable.expressions.updates import Action

    spec = UpdateSpec(actions=[Action("SET", F.queue, "q2")])
    req = update_request(codec, "t", {"id": "1"}, spec)
    names = req.params["ExpressionAttributeNames"]
    assert "queue" not in names.values() and "GSI1PK" in names.values()
    values = req.params["ExpressionAttributeValues"]
    assert {"S": "QUEUE#q2"} in values.values()
    with pytest.raises(InvalidRequestError, match="kept only inside index key attributes"):
        update_request(codec, "t", {"id": "1"},
                       UpdateSpec(actions=[Action("SET", F.queue, F.id)]))


def test_store_fields_false_needs_templates() -> None:
    t = Table("layouts_native", gsis=[GSI("Codes", pk="code")])
    with pytest.raises(DeclarationError, match="store_fields=False needs key templates"):
        class Native(Model, table=t, entity="native"):
            id: str
            code: str
            primary = Key(pk="N#{id}", sk="N")
            by_code = Key(index="Codes", store_fields=False)


# -- undeclared attributes ------------------------------------------------------------------


def test_undeclared_attributes_are_kept_and_written_back_by_a_put() -> None:
    codec = codec_for(Member)
    item = stored(audit={"M": {"by": {"S": "billing"}}}, legacyFlag={"BOOL": True})
    m = codec.decode(item)
    assert extra_attributes(m) == {"audit": {"by": "billing"}, "legacyFlag": True}
    m.display_name = "Ada L."
    again = codec.encode(m)
    # Before: the put item held only declared attributes, so a get -> put deleted them.
    assert again["audit"] == {"M": {"by": {"S": "billing"}}}
    assert again["legacyFlag"] == {"BOOL": True}
    assert again["displayName"] == {"S": "Ada L."}
    # copies keep them; a new object has none
    assert codec.encode(m.model_copy())["audit"] == item["audit"]
    assert codec.encode(copy.deepcopy(m))["legacyFlag"] == {"BOOL": True}
    fresh = Member(org="acme", user_id="u1", displayName="Ada")
    assert "audit" not in codec.encode(fresh) and extra_attributes(fresh) == {}


def test_attributes_the_model_writes_are_never_kept_as_undeclared() -> None:
    codec = codec_for(Member)
    # an index key the model would now leave out (status cleared) must not come back
    item = stored(status={"S": "x"}, GSI1PK={"S": "STATUS#x"}, GSI1SK={"S": "USER#u1"},
                  _v={"N": "1"}, _wt={"M": {}})
    m = codec.decode(item)
    assert extra_attributes(m) == {}
    m.status = None
    assert "GSI1PK" not in codec.encode(m)


def test_a_decode_error_still_names_the_missing_field() -> None:
    with pytest.raises(DecodeError, match="displayName: Field required"):
        codec_for(Member).decode({"PK": {"S": "ORG#acme"}, "SK": {"S": "USER#u1"}})


def test_a_projected_read_of_aliased_and_key_only_fields() -> None:
    m = codec_for(Member).decode_partial(stored())
    assert (m.org, m.user_id, m.display_name) == ("acme", "u1", "Ada")
    assert m.model_fields_set == {"org", "user_id", "display_name"}


def test_aliases_inside_nested_models_name_the_map_keys() -> None:
    # Before: the map was written with field names and could not be read back
    # (DecodeError "addr.postCode: Field required").
    from pydantic import BaseModel

    class Address(BaseModel):
        post_code: str = Field(alias="postCode")
        city: str = ""

    t = Table("nested_aliases")

    class Shop(Model, table=t, entity="shop"):
        id: str
        addr: Address
        history: list[Address] = []
        primary = Key(pk="S#{id}", sk="S")

    codec = codec_for(Shop)
    shop = Shop(id="1", addr=Address(postCode="75001", city="Paris"),
                history=[Address(postCode="1000")])
    item = codec.encode(shop)
    assert item["addr"] == {"M": {"postCode": {"S": "75001"}, "city": {"S": "Paris"}}}
    assert item["history"]["L"][0]["M"]["postCode"] == {"S": "1000"}
    assert codec.decode(item) == shop
    compiler = Compiler(codec)
    assert compiler.condition(F.addr.post_code == "75001") == "#n0.#n1 = :v0"
    assert compiler.names == {"#n0": "addr", "#n1": "postCode"}


def test_global_tables_bookkeeping_attributes_are_ignored() -> None:
    # Global Tables version 2017.11.29 writes aws:rep:* attributes into every item; they are
    # the service's, so a get -> put must neither fail on them nor write them back.
    codec = codec_for(Member)
    item = stored(**{"aws:rep:deleting": {"BOOL": False},
                     "aws:rep:updatetime": {"N": "1700000000.123"},
                     "aws:rep:updateregion": {"S": "eu-west-1"},
                     "audit": {"S": "kept"}})
    m = codec.decode(item)
    assert extra_attributes(m) == {"audit": "kept"}
    assert not [k for k in codec.encode(m) if k.startswith("aws:rep:")]
