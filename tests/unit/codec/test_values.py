"""Python values <-> AttributeValues by runtime type, and DynamoDB's number limits."""

from __future__ import annotations

import base64
import enum
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dyntable._internal.codec.limits import check_decimal, number_text
from dyntable._internal.codec.values import datetime_text, from_av, parse_datetime, to_av
from dyntable.errors import InvalidValueError


class Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "av"),
    [
        ("x", {"S": "x"}),
        (3, {"N": "3"}),
        (Decimal("1.50"), {"N": "1.50"}),
        (0.1, {"N": "0.1"}),
        (True, {"BOOL": True}),
        (None, {"NULL": True}),
        (b"\x00\xff", {"B": b"\x00\xff"}),
        ([1, "a"], {"L": [{"N": "1"}, {"S": "a"}]}),
        ((1, 2), {"L": [{"N": "1"}, {"N": "2"}]}),
        ({"k": {"n": None}}, {"M": {"k": {"M": {"n": {"NULL": True}}}}}),
        ({"a"}, {"SS": ["a"]}),
        (frozenset({b"z"}), {"BS": [b"z"]}),
        (date(2026, 1, 2), {"S": "2026-01-02"}),
        (uuid.UUID(int=1), {"S": "00000000-0000-0000-0000-000000000001"}),
        (Colour.RED, {"S": "red"}),
    ],
)
def test_to_av_by_runtime_type(value: object, av: dict[str, object]) -> None:
    assert to_av(value) == av


def test_number_sets_and_string_sets() -> None:
    ns = to_av({1, Decimal("2.5")})
    assert sorted(ns["NS"]) == ["1", "2.5"]
    assert sorted(to_av({"b", "a"})["SS"]) == ["a", "b"]


@pytest.mark.parametrize(
    ("av", "value"),
    [
        ({"S": "x"}, "x"),
        ({"N": "10"}, 10),
        ({"N": "1.25"}, Decimal("1.25")),
        ({"N": "1E+2"}, Decimal("1E+2")),
        ({"BOOL": False}, False),
        ({"NULL": True}, None),
        ({"B": b"ab"}, b"ab"),
        ({"B": base64.b64encode(b"ab").decode()}, b"ab"),
        ({"L": [{"S": "a"}]}, ["a"]),
        ({"M": {"a": {"N": "1"}}}, {"a": 1}),
        ({"SS": ["a", "b"]}, {"a", "b"}),
        ({"NS": ["1", "2.5"]}, {1, Decimal("2.5")}),
        ({"BS": [b"a", base64.b64encode(b"b").decode()]}, {b"a", b"b"}),
    ],
)
def test_from_av(av: dict[str, object], value: object) -> None:
    assert from_av(av) == value


def test_set_errors() -> None:
    with pytest.raises(InvalidValueError, match="empty set in tags: DynamoDB has no empty sets"):
        to_av(set(), "tags")
    with pytest.raises(InvalidValueError, match="set in s mixes types"):
        to_av({"a", b"b"}, "s")
    with pytest.raises(InvalidValueError, match="number set in n has duplicates"):
        to_av({0.1, Decimal("0.1")}, "n")


def test_map_keys_must_be_strings() -> None:
    with pytest.raises(InvalidValueError, match=r"map key 1 in m is not a string"):
        to_av({1: "a"}, "m")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"),
                                   Decimal("NaN"), Decimal("Infinity")])
def test_nan_and_infinity_are_refused(value: object) -> None:
    with pytest.raises(InvalidValueError, match="NaN and infinity are not DynamoDB numbers"):
        number_text(value, "price")


def test_float_uses_repr() -> None:
    assert number_text(0.1) == "0.1"
    assert number_text(1e20) == "1e+20"
    assert float(number_text(2 / 3)) == 2 / 3


@pytest.mark.parametrize(
    "text",
    [
        "1E+100",
        "1E-130",
        "9.9999999999999999999999999999999999999E+125",
        "12345678901234567890123456789012345678",
        "-1.2345678901234567890123456789012345678E-100",
        "1000000000000000000000000000000000000000000000",  # 1 significant digit
    ],
)
def test_numbers_within_dynamodb_limits(text: str) -> None:
    assert Decimal(check_decimal(Decimal(text))) == Decimal(text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("123456789012345678901234567890123456789"), "39 significant digits"),
        (10**38 + 1, "39 significant digits"),
        (Decimal("1E+126"), "outside DynamoDB's range"),
        (Decimal("1E-131"), "outside DynamoDB's range"),
        (1e-200, "outside DynamoDB's range"),
        (1e200, "outside DynamoDB's range"),
    ],
)
def test_numbers_beyond_dynamodb_limits(value: object, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        number_text(value, "n")


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(InvalidValueError, match=r"naive datetime 2026-01-01T00:00:00 in at"):
        datetime_text(datetime(2026, 1, 1), "at")


def test_aware_datetime_is_stored_in_utc_fixed_width() -> None:
    paris = timezone(timedelta(hours=1))
    assert datetime_text(datetime(2026, 1, 1, 1, 0, tzinfo=paris)) == "2026-01-01T00:00:00.000000Z"
    assert datetime_text(datetime(5, 1, 1, tzinfo=timezone.utc)) == "0005-01-01T00:00:00.000000Z"


def test_datetime_outside_utc_range_is_refused() -> None:
    tz = timezone(timedelta(hours=-5))
    with pytest.raises(InvalidValueError, match="outside years 1-9999"):
        datetime_text(datetime(9999, 12, 31, 23, tzinfo=tz))


_aware = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)),
                               timezone(timedelta(hours=-8))]),
)


@settings(deadline=None)
@given(a=_aware, b=_aware)
def test_datetime_strings_sort_like_datetimes(a: datetime, b: datetime) -> None:
    ta, tb = datetime_text(a), datetime_text(b)
    assert len(ta) == len(tb) == 27
    assert (ta < tb) == (a < b)
    assert (ta == tb) == (a == b)
    assert parse_datetime(ta) == a


@settings(deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: d == 0 or -130 <= d.adjusted() <= 125))
def test_decimal_text_round_trips_or_is_refused(value: Decimal) -> None:
    try:
        text = check_decimal(value)
    except InvalidValueError as exc:
        assert "significant digits" in str(exc)
        return
    assert Decimal(text) == value
