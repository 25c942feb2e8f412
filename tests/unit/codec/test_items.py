"""Per-model item codecs: encode/decode round trips, keys, empty sets and the 400 KB limit."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from dyntable import GSI, Key, Model, Table
from dyntable._internal.codec.limits import MAX_ITEM_SIZE, attribute_size, number_size
from dyntable.codec import codec_for, item_size
from dyntable.errors import (
    DecodeError,
    InvalidValueError,
    ItemTooLargeError,
    KeyTemplateError,
)
from tests.models import Customer, Order, Tier

table = Table("codec", gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


class Point(BaseModel):
    x: int
    label: str | None = None
    at: datetime | None = None


class Everything(Model, table=table, entity="everything"):
    id: str
    text: str = ""
    count: int = 0
    amount: Decimal = Decimal(0)
    ratio: float = 0.0
    flag: bool = False
    blob: bytes = b""
    maybe: str | None = None
    items: list[int] = []
    pair: tuple[str, int] = ("", 0)
    mapping: dict[str, Any] = {}
    names: set[str] = set()
    numbers: frozenset[Decimal] = frozenset()
    blobs: set[bytes] = set()
    maybe_names: set[str] | None = None
    when: datetime | None = None
    day: date | None = None
    uid: uuid.UUID | None = None
    level: Level = Level.LOW
    kind: Literal["a", "b"] = "a"
    point: Point | None = None
    points: list[Point] = []

    primary = Key(pk="E#{id}", sk="E")
    by_kind = Key(index="GSI1", pk="KIND#{kind}", sk="{when}#{id}")


def test_encode_every_type() -> None:
    when = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    obj = Everything(
        id="e1", text="t", count=3, amount=Decimal("1.10"), ratio=0.5, flag=True, blob=b"\x01",
        items=[1, 2], pair=("p", 1), mapping={"k": [1, {"z": None}]}, names={"a"},
        numbers=frozenset({Decimal(2)}), blobs={b"b"}, when=when, day=date(2026, 1, 2),
        uid=uuid.UUID(int=5), level=Level.HIGH, kind="b", point=Point(x=1, at=when),
        points=[Point(x=2, label="l")],
    )
    item = codec_for(Everything).encode(obj)
    assert item["PK"] == {"S": "E#e1"}
    assert item["SK"] == {"S": "E"}
    assert item["GSI1PK"] == {"S": "KIND#b"}
    assert item["GSI1SK"] == {"S": "2026-11-26T12:00:00.000000Z#e1"}
    assert item["_entity"] == {"S": "everything"}
    assert item["amount"] == {"N": "1.10"}
    assert item["ratio"] == {"N": "0.5"}
    assert item["blob"] == {"B": b"\x01"}
    assert item["pair"] == {"L": [{"S": "p"}, {"N": "1"}]}
    assert item["mapping"] == {"M": {"k": {"L": [{"N": "1"}, {"M": {"z": {"NULL": True}}}]}}}
    assert item["names"] == {"SS": ["a"]}
    assert item["numbers"] == {"NS": ["2"]}
    assert item["blobs"] == {"BS": [b"b"]}
    assert item["when"] == {"S": "2026-11-26T12:00:00.000000Z"}
    assert item["day"] == {"S": "2026-01-02"}
    assert item["uid"] == {"S": str(uuid.UUID(int=5))}
    assert item["level"] == {"N": "2"}
    assert item["kind"] == {"S": "b"}
    assert item["point"] == {"M": {"x": {"N": "1"}, "at": {"S": "2026-11-26T12:00:00.000000Z"}}}
    assert item["points"] == {"L": [{"M": {"x": {"N": "2"}, "label": {"S": "l"}}}]}
    assert "maybe" not in item  # None is left out
    assert codec_for(Everything).decode(item) == obj


def test_empty_sets_are_left_out_and_read_back_empty() -> None:
    codec = codec_for(Everything)
    item = codec.encode(Everything(id="e", names=set(), maybe_names=None))
    assert "names" not in item and "numbers" not in item and "maybe_names" not in item
    back = codec.decode(item)
    assert back.names == set()
    assert back.numbers == frozenset()
    assert back.maybe_names is None  # an optional set reads back as its default


def test_sparse_index_keys_are_left_out() -> None:
    item = codec_for(Everything).encode(Everything(id="e", when=None))
    assert "GSI1PK" not in item and "GSI1SK" not in item


def test_bytes_decode_from_base64_text() -> None:
    codec = codec_for(Everything)
    item = codec.encode(Everything(id="e", blob=b"\x00\xfe"))
    item["blob"] = {"B": "AP4="}
    assert codec.decode(item).blob == b"\x00\xfe"


def test_naive_datetime_field_is_refused() -> None:
    obj = Everything(id="e", when=datetime(2026, 1, 1))
    with pytest.raises(InvalidValueError, match=r"Everything: naive datetime .* in when"):
        codec_for(Everything).encode(obj)
    obj = Everything(id="e", point=Point(x=1, at=datetime(2026, 1, 1)))
    with pytest.raises(InvalidValueError, match=r"Everything: point.at: naive datetime"):
        codec_for(Everything).encode(obj)


def test_nan_field_is_refused_with_the_model_and_field() -> None:
    with pytest.raises(InvalidValueError, match=r"Everything: nan cannot be stored in ratio"):
        codec_for(Everything).encode(Everything(id="e", ratio=float("nan")))


def test_decode_error_names_the_item_and_the_field() -> None:
    codec = codec_for(Everything)
    item = codec.encode(Everything(id="e"))
    item["count"] = {"S": "many"}
    with pytest.raises(DecodeError, match=r"item .*E#e.* does not fit Everything: count") as e:
        codec.decode(item)
    assert e.value.key == {"PK": {"S": "E#e"}, "SK": {"S": "E"}}


def test_key_template_breakage() -> None:
    codec = codec_for(Order)
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(KeyTemplateError, match=r"key field 'username' is empty"):
        codec.key({"username": "", "placed_at": at, "order_id": "o"})
    with pytest.raises(KeyTemplateError, match=r"missing key field\(s\) \['order_id'\]"):
        codec.key({"username": "ada", "placed_at": at})
    with pytest.raises(KeyTemplateError, match=r"unknown key field\(s\) \[.total.\]"):
        codec.key({"username": "ada", "placed_at": at, "order_id": "o", "total": 1})
    c = Customer(username="a", email="x#y", name="n")
    # '#' in the last (here the only) field of a template is refused too: "EMAIL#x#y" could
    # be another template's key (issue 12, defect 2)
    with pytest.raises(KeyTemplateError, match=r"'email' contains '#', a separator"):
        codec_for(Customer).encode(c)


def test_separator_in_a_middle_key_field_is_refused() -> None:
    obj = Everything(id="e", kind="a", when=datetime(2026, 1, 1, tzinfo=timezone.utc))
    codec_for(Everything).encode(obj)
    codec = codec_for(Order)
    with pytest.raises(KeyTemplateError, match=r"contains '#', a separator"):
        codec.encode(Order(username="a", order_id="o", status="PLACED", total=Decimal(1),
                           placed_at=datetime(2026, 1, 1, tzinfo=timezone.utc)).model_copy(
            update={"placed_at": "2026#01"}))


def test_key_size_limits() -> None:
    codec = codec_for(Everything)
    codec.key({"id": "x" * (2048 - 2)})
    with pytest.raises(KeyTemplateError, match=r"'PK' would be 2049 bytes; DynamoDB allows 2048"):
        codec.key({"id": "x" * (2048 - 1)})
    ok = Everything(id="e", kind="a", when=datetime(2026, 1, 1, tzinfo=timezone.utc))
    codec.encode(ok)
    message = r"'GSI1SK' would be 1028 bytes; DynamoDB allows 1024"
    with pytest.raises(KeyTemplateError, match=message):
        codec.encode(ok.model_copy(update={"id": "é" * 500}))


def test_item_size_counts_like_dynamodb() -> None:
    # Figures checked against DynamoDB Local (see tests/integration/test_items.py).
    assert item_size({"ab": {"S": "héllo"}}) == 2 + 6
    assert item_size({"n": {"N": "12"}}) == 1 + 2
    assert attribute_size({"L": [{"S": "a"}, {"BOOL": True}]}) == 3 + 2 + 2
    assert attribute_size({"M": {"k": {"NULL": True}}}) == 3 + 1 + 1 + 1
    assert attribute_size({"SS": ["ab", "c"]}) == 3
    assert attribute_size({"B": "AP4="}) == 2


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 1), ("7", 2), ("12", 2), ("101", 3), ("100", 2), ("1.5", 3), ("0.00123", 3),
     ("-7", 3), ("-0.5", 3), ("1E+100", 2), ("12345678901234567890123456789012345678", 20)],
)
def test_number_size(text: str, size: int) -> None:
    assert number_size(text) == size


def test_item_over_400_kb_is_refused_before_sending() -> None:
    codec = codec_for(Everything)
    base = codec.encode(Everything(id="e"))
    room = MAX_ITEM_SIZE - item_size(base)  # base already counts the name and ""
    assert item_size(codec.encode(Everything(id="e", text="x" * room))) == MAX_ITEM_SIZE
    with pytest.raises(ItemTooLargeError, match=r"Everything item is 409601 bytes") as e:
        codec.encode(Everything(id="e", text="x" * (room + 1)))
    assert e.value.size == MAX_ITEM_SIZE + 1
    assert e.value.key == {"PK": {"S": "E#e"}, "SK": {"S": "E"}}


def test_multibyte_text_counts_utf8_bytes() -> None:
    codec = codec_for(Everything)
    base = item_size(codec.encode(Everything(id="e")))
    room = (MAX_ITEM_SIZE - base) // 3
    codec.encode(Everything(id="e", text="€" * room))
    with pytest.raises(ItemTooLargeError):
        codec.encode(Everything(id="e", text="€" * (room + 1)))


def test_large_containers_are_measured_exactly() -> None:
    codec = codec_for(Everything)
    base = item_size(codec.encode(Everything(id="e")))
    # each element of a list of 1-digit numbers: 1 (element) + 2 (number) bytes
    n = (MAX_ITEM_SIZE - base) // 3
    codec.encode(Everything(id="e", items=[7] * n))
    with pytest.raises(ItemTooLargeError):
        codec.encode(Everything(id="e", items=[7] * (n + 1)))


# -- property: random values round-trip ------------------------------------------------

_text = st.text(max_size=20)
_number = st.decimals(allow_nan=False, allow_infinity=False, places=4,
                      min_value=-10**20, max_value=10**20)
_json = st.recursive(
    st.none() | st.booleans() | _text | st.integers(-10**30, 10**30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children,
                                                                        max_size=3),
    max_leaves=8,
)
_aware = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                      timezones=st.just(timezone.utc))


@settings(max_examples=150, deadline=None)
@given(
    text=_text, count=st.integers(-10**37, 10**37), amount=_number,
    ratio=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e100, max_value=1e100)
    .filter(lambda f: f == 0 or abs(f) > 1e-100),
    flag=st.booleans(), blob=st.binary(max_size=10), maybe=st.none() | _text,
    items=st.lists(st.integers(-1000, 1000), max_size=4), mapping=st.dictionaries(_text, _json,
                                                                              max_size=3),
    names=st.sets(_text, max_size=3), numbers=st.frozensets(_number, max_size=3),
    blobs=st.sets(st.binary(max_size=5), max_size=3), when=st.none() | _aware,
    day=st.none() | st.dates(), uid=st.none() | st.uuids(), level=st.sampled_from(Level),
    kind=st.sampled_from(["a", "b"]),
    point=st.none() | st.builds(Point, x=st.integers(-5, 5), label=st.none() | _text),
)
def test_random_values_round_trip(**values: Any) -> None:
    obj = Everything(id="e", **values)
    codec = codec_for(Everything)
    assert codec.decode(codec.encode(obj)) == obj


def test_tier_enum_round_trips_through_its_value() -> None:
    c = Customer(username="a", email="e", name="n", tier=Tier.GOLD)
    item = codec_for(Customer).encode(c)
    assert item["tier"] == {"S": "gold"}
    assert codec_for(Customer).decode(item).tier is Tier.GOLD
