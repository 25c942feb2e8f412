"""Values DynamoDB cannot hold are refused locally with InvalidValueError naming the field.

Lone surrogates (not UTF-8), TTL values that are NaN or infinite, and maps or lists nested
deeper than DynamoDB's 32 levels used to escape as ``UnicodeEncodeError``, ``ValueError`` /
``OverflowError``, a server-side ValidationException or a ``RecursionError``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from dyntable import TTL, F, Key, Model, Table
from dyntable._internal.codec.fields import make_encoder
from dyntable._internal.codec.limits import MAX_CONTAINERS
from dyntable._internal.codec.values import from_av, to_av
from dyntable.client import Client
from dyntable.codec import codec_for
from dyntable.errors import DecodeError, InvalidValueError, KeyTemplateError
from tests.models import Customer, OrderLine

table = Table("typed-errors", pk="PK", sk="SK", ttl="expires")
BAD = "ab\ud800c"  # a lone surrogate: valid in a Python str, not encodable as UTF-8


class Leaf(BaseModel):
    text: str = ""
    words: list[str] = []
    data: dict[str, Any] = {}


class Node(BaseModel):
    """A recursive model: its depth is only known from the data."""

    name: str = "n"
    child: Node | None = None
    children: list[Node] = []


class Doc(Model, table=table, entity="doc"):
    id: str
    text: str = ""
    words: list[str] = []
    tags: set[str] = set()
    labels: dict[str, str] = {}
    data: dict[str, Any] = {}
    anything: Any = None
    leaf: Leaf | None = None
    leaves: list[Leaf] = []
    node: Node | None = None

    primary = Key(pk="DOC#{id}", sk="DOC")


class Expiring(Model, table=table, entity="expiring"):
    id: str
    expires: Annotated[float | None, TTL] = None

    primary = Key(pk="EXP#{id}", sk="EXP")


class ExpiringDecimal(Model, table=table, entity="expiring_decimal"):
    id: str
    expires: Annotated[Decimal | None, TTL] = None

    primary = Key(pk="EXPD#{id}", sk="EXP")


def _encode(**fields: Any) -> dict[str, Any]:
    return codec_for(Doc).encode(Doc(id="d", **fields))


# -- lone surrogates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"text": BAD}, r"in text holds a lone surrogate '\\ud800' at index 2"),
        ({"words": ["ok", BAD]}, r"in words\[1\] holds a lone surrogate"),
        ({"tags": {"ok", BAD}}, r"in tags holds a lone surrogate"),
        ({"labels": {"k": BAD}}, r"in labels\.k holds a lone surrogate"),
        ({"labels": {BAD: "v"}}, r"in the map keys of labels holds a lone surrogate"),
        ({"data": {"k": [{"x": BAD}]}}, r"in data\.k\[0\]\.x holds a lone surrogate"),
        ({"data": {BAD: 1}}, r"in the map keys of data holds a lone surrogate"),
        ({"anything": {"a": BAD}}, r"in anything\.a holds a lone surrogate"),
        ({"leaf": Leaf(text=BAD)}, r"leaf\.text: string in text holds a lone surrogate"),
        ({"leaf": Leaf(words=[BAD])}, r"leaf\.words: string in words\[0\] holds"),
        ({"leaf": Leaf(data={"a": {BAD: 1}})}, r"leaf\.data: string in the map keys of data"),
        ({"leaves": [Leaf(), Leaf(text=BAD)]}, r"leaves\[1\]\.text: string in text holds"),
        ({"node": Node(child=Node(name=BAD))}, r"node\.child\.name: string in name holds"),
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(fields: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidValueError, match=r"^Doc: .*" + where):
        _encode(**fields)


def test_non_ascii_text_that_is_utf8_still_round_trips() -> None:
    text = "café 日本 😀"
    obj = Doc(id="d", text=text, words=[text], tags={text}, labels={text: text},
              data={text: [text]}, leaf=Leaf(text=text, words=[text]), node=Node(name=text))
    codec = codec_for(Doc)
    item = codec.encode(obj)
    assert item["text"] == {"S": text} and item["tags"] == {"SS": [text]}
    assert codec.decode(item) == obj


def test_surrogate_pairs_split_over_two_list_elements_are_still_refused() -> None:
    # joined they would read as one emoji in UTF-16, but Python keeps two lone surrogates
    with pytest.raises(InvalidValueError, match=r"words\[0\] holds a lone surrogate"):
        _encode(words=["\ud83d", "\ude00"])


def test_surrogates_in_expression_and_update_values_are_refused(offline_db: Client) -> None:
    with pytest.raises(InvalidValueError, match=r"Customer: string in name holds a lone"):
        offline_db.update(Customer, username="ada").set(name=BAD).params()
    with pytest.raises(InvalidValueError, match=r"string in tags holds a lone surrogate"):
        offline_db.update(Customer, username="ada").add(tags={BAD}).params()
    with pytest.raises(InvalidValueError, match=r"in attributes\.colour holds a lone"):
        offline_db.update(OrderLine, username="ada", order_id="o", line=1).set(
            attributes={"colour": BAD}).params()
    with pytest.raises(InvalidValueError, match=r"Customer: string in name holds a lone"):
        offline_db.update(Customer, username="ada").set(order_count=1).condition(
            F.name == BAD).params()
    with pytest.raises(InvalidValueError, match=r"holds a lone surrogate"):
        offline_db.update(Customer, username="ada").set(order_count=1).condition(
            F.name.begins_with(BAD)).params()


def test_a_surrogate_in_a_put_key_field_names_the_field(offline_db: Client) -> None:
    with pytest.raises(InvalidValueError, match=r"Customer: string in username holds a lone"):
        offline_db.put(Customer(username=BAD, email="e", name="n"))


# -- TTL ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_ttl_nan_and_infinity_are_refused(value: float) -> None:
    with pytest.raises(InvalidValueError, match=r"^Expiring: TTL field expires is .*finite"):
        codec_for(Expiring).encode(Expiring(id="e", expires=value))


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_ttl_decimal_nan_and_infinity_are_refused(value: str) -> None:
    with pytest.raises(InvalidValueError, match=r"^ExpiringDecimal: TTL field expires is"):
        codec_for(ExpiringDecimal).encode(
            ExpiringDecimal.model_construct(id="e", expires=Decimal(value)))


def test_ttl_beyond_dynamodb_numbers_is_refused_and_finite_ones_work() -> None:
    with pytest.raises(InvalidValueError, match=r"TTL field expires is out of range"):
        codec_for(Expiring).encode(Expiring(id="e", expires=1e300))
    with pytest.raises(InvalidValueError, match=r"TTL field expires is out of range"):
        codec_for(ExpiringDecimal).encode(ExpiringDecimal(id="e", expires=Decimal("1E+999999999")))
    assert codec_for(Expiring).encode(Expiring(id="e", expires=1.9e9))["expires"] == {
        "N": "1900000000"}
    with pytest.raises(InvalidValueError, match=r"TTL field expires_at is nan"):
        make_encoder(float, "expires_at", ttl=True)(float("nan"))


# -- nesting ------------------------------------------------------------------------------


def _nested_dict(containers: int) -> Any:
    """A value holding ``containers`` maps and lists inside one another."""
    value: Any = "leaf"
    for i in range(containers):
        value = {"k": value} if i % 2 else [value]
    return value


def _chain(length: int) -> Node:
    node = Node(name="last")
    for _ in range(length - 1):
        node = Node(child=node)
    return node


def test_the_deepest_value_dynamodb_stores_is_accepted() -> None:
    # 31 maps or lists inside one another (checked against DynamoDB Local: 32 are refused)
    assert MAX_CONTAINERS == 31
    item = _encode(data={"k": _nested_dict(MAX_CONTAINERS - 1)})  # data itself: the 31st
    depth, av = 0, item["data"]
    while "M" in av or "L" in av:
        depth += 1
        av = av["M"]["k"] if "M" in av else av["L"][0]
    assert depth == MAX_CONTAINERS
    assert _encode(anything=_nested_dict(MAX_CONTAINERS))["anything"]
    # the last node's empty ``children`` list is a container too
    assert _encode(node=_chain(MAX_CONTAINERS - 1))["node"]
    assert _encode(leaf=Leaf(data={"k": _nested_dict(MAX_CONTAINERS - 2)}))["leaf"]


@pytest.mark.parametrize("extra", [1, 2, 500, 5000])
def test_deeper_values_are_refused_before_any_recursion_error(extra: int) -> None:
    deep = MAX_CONTAINERS + extra
    with pytest.raises(InvalidValueError, match=r"^Doc: value in data\.k.* is nested too deep"):
        _encode(data={"k": _nested_dict(deep - 1)})
    with pytest.raises(InvalidValueError, match=r"^Doc: value in anything.* nested too deep"):
        _encode(anything=_nested_dict(deep))
    with pytest.raises(InvalidValueError, match=r"^Doc: node\.child\.child.*nested too deep"):
        _encode(node=_chain(deep - 1))
    with pytest.raises(InvalidValueError, match=r"^Doc: leaf\.data: value in data.* too deep"):
        _encode(leaf=Leaf(data={"k": _nested_dict(deep - 2)}))
    with pytest.raises(InvalidValueError, match=r"nested too deep"):
        to_av(_nested_dict(deep), "x")


def test_nesting_counts_across_nested_models_lists_and_maps() -> None:
    # node (1) -> children list (2) -> Node (3) ... : 31 containers fit, 32 do not
    def tree(containers: int) -> Node:
        node = Node()
        used = 2  # its map and its empty children list
        while used + 2 <= containers:
            node = Node(children=[node])
            used += 2
        return Node(child=node) if used < containers else node

    assert _encode(node=tree(MAX_CONTAINERS))["node"]
    with pytest.raises(InvalidValueError, match=r"nested too deep"):
        _encode(node=tree(MAX_CONTAINERS + 1))


def test_deep_condition_and_update_values_are_refused(offline_db: Client) -> None:
    with pytest.raises(InvalidValueError, match=r"in attributes.* is nested too deep"):
        offline_db.update(OrderLine, username="ada", order_id="o", line=1).set(
            attributes=_nested_dict(1000)).params()
    with pytest.raises(InvalidValueError, match=r"nested too deep"):
        offline_db.update(OrderLine, username="ada", order_id="o", line=1).set(sku="s").condition(
            F.attributes == _nested_dict(1000)).params()


def test_decoding_items_deeper_than_dynamodb_stores_is_a_decode_error() -> None:
    deep = MAX_CONTAINERS + 2000
    with pytest.raises(InvalidValueError, match="nested deeper than 31 maps or lists"):
        from_av(to_av_unchecked(_nested_dict(deep)))
    codec = codec_for(Doc)
    item = codec.encode(Doc(id="d"))
    with pytest.raises(DecodeError, match="does not fit Doc"):
        codec.decode({**item, "data": to_av_unchecked({"k": _nested_dict(deep)})})
    chain: dict[str, Any] = {"M": {"name": {"S": "last"}}}
    for _ in range(deep):
        chain = {"M": {"name": {"S": "n"}, "child": chain}}
    with pytest.raises(DecodeError, match="does not fit Doc"):
        codec.decode({**item, "node": chain})
    # at DynamoDB's own limit, both read back
    ok = codec.encode(Doc(id="d", node=_chain(MAX_CONTAINERS - 1),
                          data={"k": _nested_dict(MAX_CONTAINERS - 1)}))
    assert codec.decode(ok).node == _chain(MAX_CONTAINERS - 1)


def to_av_unchecked(value: Any) -> dict[str, Any]:
    """An AttributeValue of any depth, built without recursion (as a broken source might)."""
    stack: list[Any] = []
    while isinstance(value, (dict, list)):
        stack.append(value)
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
    av: dict[str, Any] = {"S": value}
    for container in reversed(stack):
        av = {"M": {next(iter(container)): av}} if isinstance(container, dict) else {"L": [av]}
    return av


def test_timestamps_in_ttl_datetimes_still_work() -> None:
    class WithDate(Model, table=table, entity="with_date"):
        id: str
        expires: Annotated[datetime | None, TTL] = None

        primary = Key(pk="WD#{id}", sk="WD")

    at = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert codec_for(WithDate).encode(WithDate(id="w", expires=at))["expires"] == {
        "N": str(int(at.timestamp()))}


# -- key template values ------------------------------------------------------------------


def test_surrogates_in_key_values_are_refused(offline_db: Client) -> None:
    # needs key_text to check text that is not ASCII (see dyntable/_internal/codec/fields.py)
    with pytest.raises(KeyTemplateError, match=r"Customer.* holds a lone surrogate"):
        codec_for(Customer).key({"username": BAD})
    with pytest.raises(KeyTemplateError, match=r"Customer.* holds a lone surrogate"):
        offline_db.get(Customer, username=BAD)
    with pytest.raises(KeyTemplateError, match=r"Customer.* holds a lone surrogate"):
        offline_db.delete(Customer.model_construct(username=BAD))
    with pytest.raises(KeyTemplateError, match=r"OrderLine\.order_id: .* holds a lone"):
        offline_db.query(OrderLine.primary, username="ada").begins_with(
            order_id=BAD).params()
    assert codec_for(Customer).key({"username": "café"})["PK"] == {"S": "CUSTOMER#café"}
