"""Decoding without re-validation (codec/construct.py): which models take it, that its
objects equal validated ones, and that whatever the wire gets wrong still fails as before."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from dyntable import Key, Model, Table, Version
from dyntable.codec import codec_for
from dyntable.errors import DecodeError

table = Table("construct")


class Colour(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 3


class Point(BaseModel):
    x: int
    label: str | None = None


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def _stamp() -> str:
    return "made"


class Plain(Model, table=table, entity="plain"):
    id: str
    text: str = ""
    count: int = 0
    amount: Decimal = Decimal(0)
    ratio: float = 0.0
    flag: bool = False
    blob: bytes = b""
    maybe: str | None = None
    when: datetime | None = None
    names: list[str] = []
    numbers: list[int] = []
    tags: set[str] = set()
    labels: dict[str, str] = {}
    colour: Colour = Colour.RED
    size: Size | None = None
    point: Point | None = None
    inner: Inner | None = None
    made: str = Field(default_factory=_stamp)
    version: Annotated[int, Version] = 0

    primary = Key(pk="PLAIN#{id}", sk="PLAIN")


def _item(**attrs: Any) -> dict[str, Any]:
    return {"PK": {"S": "PLAIN#a"}, "SK": {"S": "PLAIN"}, "_entity": {"S": "plain"},
            "id": {"S": "a"}, **attrs}


def _validated(item: dict[str, Any]) -> Plain:
    return Plain.model_validate(codec_for(Plain).values(item))


def test_plain_models_decode_without_validation() -> None:
    codec = codec_for(Plain)
    assert codec._build is not None
    item = _item(count={"N": "3"}, tags={"SS": ["x"]}, point={"M": {"x": {"N": "1"}}},
                 colour={"S": "blue"}, size={"N": "3"}, when={"S": "2026-01-02T03:04:05Z"})
    built = codec._build(item)
    assert built is not None
    assert built == _validated(item) == codec.decode(item)
    assert built.model_fields_set == _validated(item).model_fields_set
    assert built.point is not None and built.point.model_fields_set == {"x"}
    assert built.colour is Colour.BLUE and built.size is Size.L
    assert built.when == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_defaults_are_filled_as_pydantic_fills_them() -> None:
    codec = codec_for(Plain)
    first, second = codec.decode(_item()), codec.decode(_item())
    assert first == _validated(_item())
    assert first.model_fields_set == _validated(_item()).model_fields_set
    assert first.made == "made" and first.tags == set()
    first.names.append("x")  # a mutable default is a new object per instance
    assert second.names == []


@pytest.mark.parametrize(("attrs", "field"), [
    ({"text": {"S": 5}}, "text"),
    ({"amount": {"N": "NaN"}}, "amount"),
    ({"names": {"L": [{"S": "a"}, {"N": "1"}]}}, "names"),
    ({"colour": {"S": "green"}}, "colour"),
    ({"inner": {"M": {"name": {"S": "n"}, "other": {"S": "o"}}}}, "inner"),
    ({"count": {"N": "1.5"}}, "count"),
])
def test_what_the_wire_gets_wrong_is_still_refused(attrs: dict[str, Any], field: str) -> None:
    with pytest.raises(DecodeError, match=field):
        codec_for(Plain).decode(_item(**attrs))


def test_loose_values_still_validate_as_before() -> None:
    # Not the exact type: the fast path steps aside and pydantic's lax rules apply.
    obj = codec_for(Plain).decode(_item(flag={"BOOL": "true"}, point={"M": {
        "x": {"N": "1"}, "unknown": {"S": "dropped"}}}))
    assert obj.flag is True
    assert obj.point == Point(x=1)


class Upper(Model, table=table, entity="upper"):
    id: str
    name: str

    primary = Key(pk="UPPER#{id}", sk="UPPER")

    @field_validator("name")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class Checked(Model, table=table, entity="checked"):
    id: str
    low: int
    high: int

    primary = Key(pk="CHECKED#{id}", sk="CHECKED")

    @model_validator(mode="after")
    def _ordered(self) -> Checked:
        if self.low > self.high:
            raise ValueError("low above high")
        return self


class Bounded(Model, table=table, entity="bounded"):
    id: str
    name: str = Field(max_length=3)

    primary = Key(pk="BOUNDED#{id}", sk="BOUNDED")


class Stripped(Model, table=table, entity="stripped"):
    model_config = ConfigDict(str_strip_whitespace=True)
    id: str
    name: str

    primary = Key(pk="STRIPPED#{id}", sk="STRIPPED")


class Private(Model, table=table, entity="private"):
    id: str
    _cache: dict[str, Any] = PrivateAttr(default_factory=dict)

    primary = Key(pk="PRIVATE#{id}", sk="PRIVATE")


class HoldsUpper(Model, table=table, entity="holds"):
    id: str
    inner: Inner
    other: Upper | None = None

    primary = Key(pk="HOLDS#{id}", sk="HOLDS")


@pytest.mark.parametrize("model", [Upper, Checked, Bounded, Stripped, Private, HoldsUpper])
def test_models_with_validation_of_their_own_keep_it(model: type[Model]) -> None:
    assert codec_for(model)._build is None


def test_validators_still_run_on_decode() -> None:
    upper = codec_for(Upper).decode({"id": {"S": "a"}, "name": {"S": "ann"}})
    assert upper.name == "ANN"
    with pytest.raises(DecodeError, match="low above high"):
        codec_for(Checked).decode({"id": {"S": "a"}, "low": {"N": "2"}, "high": {"N": "1"}})
    with pytest.raises(DecodeError, match="name"):
        codec_for(Bounded).decode({"id": {"S": "a"}, "name": {"S": "long"}})
    assert codec_for(Stripped).decode({"id": {"S": "a"}, "name": {"S": " b "}}).name == "b"
    assert codec_for(Private).decode({"id": {"S": "a"}})._cache == {}


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)  # no lone surrogates
_number = st.decimals(min_value=-10**20, max_value=10**20, places=4, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    text=_text, count=st.integers(-10**37, 10**37), amount=_number,
    ratio=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e100, max_value=1e100)
    .filter(lambda f: f == 0 or abs(f) > 1e-100),
    flag=st.booleans(), blob=st.binary(max_size=10), maybe=st.none() | _text,
    when=st.none() | st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                                  timezones=st.just(timezone.utc)),
    names=st.lists(_text, max_size=3), numbers=st.lists(st.integers(-99, 99), max_size=3),
    tags=st.sets(_text, max_size=3), labels=st.dictionaries(_text, _text, max_size=3),
    colour=st.sampled_from(Colour), size=st.none() | st.sampled_from(Size),
    point=st.none() | st.builds(Point, x=st.integers(-5, 5), label=st.none() | _text),
)
def test_round_trips_without_validation_equal_validated_objects(**values: Any) -> None:
    obj = Plain(id="a", **values)
    codec = codec_for(Plain)
    item = codec.encode(obj)
    assert codec._build is not None
    built = codec._build(item)
    assert built == obj == _validated(item)
    assert built is not None and built.model_fields_set == _validated(item).model_fields_set


class Leaf(BaseModel):
    n: int = 0


class Branch(BaseModel):
    leaf: Leaf
    leaves: dict[str, str] = {}
    more: Leaf | None = None


class Tree(Model, table=table, entity="tree"):
    id: str
    branch: Branch
    spare: Branch | None = None

    primary = Key(pk="TREE#{id}", sk="TREE")


def test_models_nested_two_levels_deep_decode_without_validation() -> None:
    codec = codec_for(Tree)
    obj = Tree(id="a", branch=Branch(leaf=Leaf(n=2), more=Leaf()))
    item = codec.encode(obj)
    built = codec._build(item) if codec._build is not None else None
    validated = Tree.model_validate(codec.values(item))
    assert built == obj == validated
    assert built is not None and built.branch.more is not None
    assert validated.branch.more is not None
    assert built.branch.model_fields_set == validated.branch.model_fields_set
    assert built.branch.more.model_fields_set == validated.branch.more.model_fields_set
    item["branch"]["M"]["leaf"]["M"]["n"] = {"S": "x"}
    with pytest.raises(DecodeError, match="branch"):
        codec.decode(item)
