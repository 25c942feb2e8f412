"""The codec's compiled fast paths agree with the field-by-field reference encoders.

``make_encoder`` / ``make_decoder`` (one closure per field, used by expressions) are the
reference; the generated per-class functions must give the same items, the same values
and the same errors, and their size bound must never be below DynamoDB's count.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from dyntable import Key, Model, Table
from dyntable._internal.codec.compiled import submodel
from dyntable._internal.codec.fields import kind_tag, make_decoder, make_encoder
from dyntable._internal.codec.limits import MAX_ITEM_SIZE, check_decimal
from dyntable._internal.codec.values import datetime_text, from_av, to_av
from dyntable.codec import codec_for, item_size
from dyntable.errors import (
    DecodeError,
    InvalidRequestError,
    InvalidValueError,
    ItemTooLargeError,
    KeyTemplateError,
)

table = Table("fast-paths")
UTC = timezone.utc


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 3


class Inner(BaseModel):
    name: str
    score: int = 0
    when: datetime | None = None
    tags: set[str] = set()
    child: Inner | None = None


class Wide(Model, table=table, entity="wide"):
    id: str
    text: str = ""
    count: int = 0
    ratio: float = 0.0
    amount: Decimal = Decimal(0)
    flag: bool = False
    at: datetime | None = None
    blob: bytes | None = None
    words: list[str] = []
    numbers: list[int] = []
    names: set[str] = set()
    frozen: frozenset[str] = frozenset()
    labels: dict[str, str] = {}
    extra: dict[str, Any] = {}
    color: Color = Color.RED
    size: Size = Size.S
    mode: Literal["on", "off"] = "off"
    level: Literal[1, 2] = 1
    inner: Inner | None = None
    inners: list[Inner] = []

    primary = Key(pk="W#{id}", sk="WIDE")


class Locals(Model, table=table, entity="locals"):
    """Field names that are also names inside the generated functions."""

    d: str
    item: str = "i"
    v: int = 1
    s: str = "s"
    n: int = 2
    t: str = "t"
    r: str = "r"
    av: str = "a"
    m: str = "m"
    out: str = "o"
    K: str = "k"
    C: str = "c"

    primary = Key(pk="L#{d}", sk="{item}")


def reference_fields(obj: Model) -> dict[str, Any]:
    """The item's field attributes, one reference closure per field."""
    spec = type(obj).__dyntable__
    out = {}
    for name, f in spec.fields.items():
        v = obj.__dict__[name]
        if v is not None:
            av = make_encoder(f.annotation, name, ttl=f.is_ttl)(v)
            if av is not None:
                out[name] = av
    return out


def reference_values(model: type[Model], item: dict[str, Any]) -> dict[str, Any]:
    spec = model.__dyntable__
    out = {}
    for name, f in spec.fields.items():
        if name in item:
            out[name] = make_decoder(f.annotation, ttl=f.is_ttl)(item[name])
    return out


_text = st.text(max_size=12)
_aware = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                      timezones=st.sampled_from([UTC, timezone(timedelta(hours=5))]))
_inner = st.builds(Inner, name=_text, score=st.integers(-10**40, 10**40),
                   when=st.none() | _aware, tags=st.sets(_text, max_size=3))
# Only storable values: the size bound is checked on items that encode.
_valid_inner = st.builds(Inner, name=_text, score=st.integers(-10**37, 10**37),
                         when=st.none() | _aware, tags=st.sets(_text, max_size=3))


@settings(max_examples=120, deadline=None)
@given(
    text=_text, count=st.integers(-10**40, 10**40), ratio=st.floats(-1e9, 1e9),
    amount=st.decimals(allow_nan=False, allow_infinity=False, places=3, max_value=10**30,
                       min_value=-10**30),
    flag=st.booleans(), at=st.none() | _aware, blob=st.none() | st.binary(max_size=8),
    words=st.lists(_text, max_size=4), numbers=st.lists(st.integers(-10**40, 10**40),
                                                           max_size=4),
    names=st.sets(_text, max_size=3), frozen=st.frozensets(_text, max_size=3),
    labels=st.dictionaries(_text, _text, max_size=3),
    extra=st.dictionaries(_text, st.none() | _text | st.integers() | st.lists(_text),
                          max_size=3),
    color=st.sampled_from(Color), size=st.sampled_from(Size),
    mode=st.sampled_from(["on", "off"]), level=st.sampled_from([1, 2]),
    inner=st.none() | _inner, inners=st.lists(_inner, max_size=2),
)
def test_compiled_codec_matches_the_reference(**values: Any) -> None:
    obj = Wide(id="w", **values)
    codec = codec_for(Wide)
    try:
        reference = reference_fields(obj)
    except InvalidValueError as exc:  # same refusal, same message, with the model name
        with pytest.raises(InvalidValueError) as info:
            codec.encode(obj)
        assert str(info.value) == f"Wide: {exc}"
        return
    item = codec.encode(obj)
    fields = {k: v for k, v in item.items() if k in Wide.__dyntable__.fields}
    assert fields == reference
    got = codec.values(item)
    ref = reference_values(Wide, item)
    for name in ("names", "frozen"):
        ref.setdefault(name, set())  # empty sets are left out and read back empty
    assert codec.model.model_validate(got) == codec.model.model_validate(ref) == obj
    assert codec.decode(item) == obj


@settings(max_examples=120, deadline=None)
@given(
    text=st.text(max_size=50), words=st.lists(st.text(max_size=20), max_size=5),
    names=st.sets(st.text(max_size=20), max_size=5),
    labels=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4),
    extra=st.dictionaries(st.text(max_size=10), st.text(max_size=10) | st.integers() |
                          st.binary(max_size=5), max_size=4),
    numbers=st.lists(st.integers(-10**37, 10**37), max_size=5),
    inner=st.none() | _valid_inner,
)
def test_size_bound_is_never_below_the_exact_size(**values: Any) -> None:
    codec = codec_for(Wide)
    item, bound = codec._encode_fields(Wide(id="é" * 3, **values).__dict__)
    assert bound >= item_size(item)


def test_field_names_never_clash_with_generated_code() -> None:
    obj = Locals(d="dd", v=7, n=-3)
    codec = codec_for(Locals)
    item = codec.encode(obj)
    assert item["PK"] == {"S": "L#dd"} and item["SK"] == {"S": "i"}
    assert item["v"] == {"N": "7"} and item["K"] == {"S": "k"} and item["C"] == {"S": "c"}
    assert codec.decode(item) == obj


@pytest.mark.parametrize(
    ("annotation", "tag"),
    [(str, "str"), (Literal["a", "b"], "str"), (Literal[1, 2], "int"), (Color, "enum_str"),
     (Size, "enum_int"), (list[str], "list_str"), (list[int], "list_int"),
     (set[str], "set_str"), (frozenset[str], "set_str"), (set[int], "set"),
     (dict[str, str], "dict_str"), (dict[str, Any], "dict_any"), (Inner, "model"),
     (Inner | None, "model"), (list[Inner], "other"), (tuple[str, int], "other"),
     (Literal[True], "other"), (int | str, "other")],
)
def test_kind_tags(annotation: Any, tag: str) -> None:
    assert kind_tag(annotation) == tag


def test_containers_fall_back_on_unexpected_runtime_types() -> None:
    codec = codec_for(Wide)
    # model_construct skips validation: the fast paths must not trust the annotation.
    obj = Wide.model_construct(
        id="w", text="", count=0, ratio=0.0, amount=Decimal(0), flag=False, at=None,
        blob=None, words=["a", 1], numbers=[1, "2"], names={"a"}, frozen=frozenset(),
        labels={"k": 1}, extra={}, color="red", size=3, mode="on", level=2,
        inner={"name": "n"}, inners=[],
    )
    item = codec.encode(obj)
    assert item["words"] == {"L": [{"S": "a"}, {"N": "1"}]}
    assert item["numbers"] == {"L": [{"N": "1"}, {"S": "2"}]}
    assert item["labels"] == {"M": {"k": {"N": "1"}}}
    assert item["color"] == {"S": "red"} and item["size"] == {"N": "3"}
    assert item["inner"] == {"M": {"name": {"S": "n"}}}
    with pytest.raises(InvalidValueError, match=r"^Wide: .* in names"):
        codec.encode(obj.model_copy(update={"names": {2, "a"}}))
    with pytest.raises(InvalidValueError, match="map key 1 in extra is not a string"):
        codec.encode(obj.model_copy(update={"names": {"a"}, "extra": {1: "x"}}))


def test_errors_name_the_model_and_the_path() -> None:
    codec = codec_for(Wide)
    with pytest.raises(InvalidValueError, match=r"Wide: number 1E\+200 in amount is outside"):
        codec.encode(Wide(id="w", amount=Decimal("1E200")))
    with pytest.raises(InvalidValueError, match=r"Wide: number 10{37}1 in count has 39"):
        codec.encode(Wide(id="w", count=10**38 + 1))
    assert codec.encode(Wide(id="w", count=10**38))["count"] == {"N": str(10**38)}
    naive = datetime(2026, 1, 1)
    with pytest.raises(InvalidValueError, match=r"Wide: inner.when: naive datetime"):
        codec.encode(Wide(id="w", inner=Inner(name="n", when=naive)))
    with pytest.raises(InvalidValueError, match=r"Wide: inner.child.when: naive"):
        codec.encode(Wide(id="w", inner=Inner(name="n", child=Inner(name="c", when=naive))))
    partial = Wide(id="w")
    del partial.__dict__["words"]
    with pytest.raises(InvalidRequestError, match="Wide instance lacks field 'words'"):
        codec.encode(partial)


def test_self_nesting_model_round_trips() -> None:
    obj = Wide(id="w", inner=Inner(name="a", child=Inner(name="b", child=Inner(name="c"))))
    codec = codec_for(Wide)
    item = codec.encode(obj)
    assert item["inner"]["M"]["child"]["M"]["child"] == {"M": {"name": {"S": "c"},
                                                              "score": {"N": "0"}}}
    assert codec.decode(item) == obj


def test_unknown_map_entries_of_a_nested_model_reach_validation() -> None:
    values = submodel(Inner).values({"name": {"S": "n"}, "other": {"N": "1"}})
    assert values == {"name": "n", "other": 1}


def test_decode_guards_keep_their_messages() -> None:
    codec = codec_for(Wide)
    item = codec.encode(Wide(id="w"))
    bad = dict(item, count={"S": "many"})
    with pytest.raises(DecodeError, match=r"does not fit Wide: count: Input should be"):
        codec.decode(bad)
    # A required field missing from the item and from its key: named in the error.
    missing = {k: v for k, v in item.items() if k not in ("id", "PK", "SK")}
    with pytest.raises(DecodeError, match=r"does not fit Wide: id: Field required"):
        codec.decode(missing)
    # Its own attribute missing but its key there: read from the key.
    assert codec.decode({k: v for k, v in item.items() if k != "id"}).id == "w"
    assert codec.decode(dict(item, count={"N": "2.0"})).count == 2  # int from a Decimal


def test_plain_key_template_fast_path_and_its_checks() -> None:
    codec = codec_for(Wide)
    assert codec.key({"id": "abc"}) == {"PK": {"S": "W#abc"}, "SK": {"S": "WIDE"}}
    assert codec.key({"id": "é"})["PK"] == {"S": "W#é"}  # non-ASCII: the checked path
    with pytest.raises(KeyTemplateError, match="key field 'id' is empty"):
        codec.encode(Wide(id=""))
    with pytest.raises(KeyTemplateError, match=r"'PK' would be 2049 bytes"):
        codec.encode(Wide(id="x" * 2047))
    with pytest.raises(KeyTemplateError, match=r"'PK' would be 2050 bytes"):
        codec.encode(Wide(id="é" * 1024))
    assert codec.encode(Wide(id="x" * 2046))["PK"]["S"] == "W#" + "x" * 2046


def test_size_check_with_multibyte_containers_is_exact() -> None:
    codec = codec_for(Wide)
    base = item_size(codec.encode(Wide(id="w", words=[])))
    per = 1 + 3 * 100  # each element: 1 byte + 3 bytes per "€"
    n = (MAX_ITEM_SIZE - base) // per
    words = ["€" * 100] * n
    words[0] += "x" * (MAX_ITEM_SIZE - base - per * n)
    ok = codec.encode(Wide(id="w", words=words))
    assert item_size(ok) == MAX_ITEM_SIZE
    with pytest.raises(ItemTooLargeError):
        codec.encode(Wide(id="w", words=[words[0] + "x", *words[1:]]))


@pytest.mark.parametrize(
    ("value", "text"),
    [("1.10", "1.10"), ("0.00", "0"), ("-0", "0"), ("123456789012345678901234567890.1234567",
     "123456789012345678901234567890.1234567"), ("1E+5", "1E+5"), ("-0.000001", "-0.000001"),
     ("1E-7", "1E-7")],
)
def test_check_decimal_fast_path_keeps_the_wire_text(value: str, text: str) -> None:
    assert check_decimal(Decimal(value)) == text


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1" * 39, "1E+126"])
def test_check_decimal_still_refuses(value: str) -> None:
    with pytest.raises(InvalidValueError):
        check_decimal(Decimal(value))


def test_datetime_text_is_fixed_width() -> None:
    assert datetime_text(datetime(7, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == \
        "0007-01-02T03:04:05.000006Z"
    east = timezone(timedelta(hours=2))
    assert datetime_text(datetime(2026, 1, 1, 1, tzinfo=east)) == "2025-12-31T23:00:00.000000Z"


def test_generic_values_still_round_trip() -> None:
    value = {"a": [1, "x", None, {"b": {b"\x00"}}], "c": Decimal("1.5")}
    assert from_av(to_av(value)) == value
