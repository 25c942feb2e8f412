"""Per-field storage formats (``Annotated[datetime, Format.EPOCH_SECONDS]`` ...): what is
written, what reads back, what other writers' values decode to, and what is refused at
class creation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from dyntable import GSI, Format, Key, Model, Table
from dyntable._internal.codec import values as values_module
from dyntable._internal.codec.fields import make_encoder
from dyntable._internal.codec.values import parse_datetime
from dyntable.codec import codec_for
from dyntable.errors import DeclarationError, DecodeError, InvalidValueError

table = Table("formats", ttl="expires")
UTC = timezone.utc
CET = timezone(timedelta(hours=1))


class Point(BaseModel):
    x: int
    at: Annotated[datetime, Format.EPOCH_MILLIS] | None = None


class Event(Model, table=table, entity="event"):
    id: str
    created: Annotated[datetime, Format.EPOCH_SECONDS]
    millis: Annotated[datetime, Format.EPOCH_MILLIS] | None = None
    legacy: Annotated[datetime | None, Format.PYNAMODB] = None
    local: Annotated[datetime, Format.ISO_OFFSET] | None = None
    active: Annotated[bool, Format.BOOL_AS_NUMBER] = False
    extra: Annotated[dict[str, Any], Format.JSON] = {}
    point: Annotated[Point | None, Format.JSON] = None
    plain: datetime | None = None
    nested: Point | None = None
    points: list[Point] = []
    by_name: dict[str, Point] | None = None

    primary = Key(pk="EVENT#{id}", sk="EVENT")


codec = codec_for(Event)
T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _event(**values: Any) -> Event:
    return Event(**{"id": "e1", "created": T0, **values})


def _item(**attrs: Any) -> dict[str, Any]:
    return {"PK": {"S": "EVENT#e1"}, "SK": {"S": "EVENT"}, "_entity": {"S": "event"},
            "id": {"S": "e1"}, "created": {"N": "1796032800"}, **attrs}


# -- what is written -------------------------------------------------------------------


def test_each_format_writes_its_stored_form() -> None:
    item = codec.encode(_event(
        millis=datetime(2026, 11, 30, 11, 0, 0, 250000, tzinfo=CET),
        legacy=datetime(2026, 11, 30, 11, 0, tzinfo=CET),
        local=datetime(2026, 11, 30, 10, 0, tzinfo=CET),
        active=True,
        extra={"a": [1, 2], "é": None},
        point=Point(x=3),
    ))
    assert item["created"] == {"N": "1796032800"}                     # whole seconds: int
    assert item["millis"] == {"N": "1796032800250"}
    assert item["legacy"] == {"S": "2026-11-30T10:00:00.000000+0000"}  # PynamoDB, in UTC
    assert item["local"] == {"S": "2026-11-30T10:00:00+01:00"}        # its own offset
    assert item["active"] == {"N": "1"}
    assert item["extra"] == {"S": '{"a":[1,2],"é":null}'}
    assert item["point"] == {"S": '{"x":3,"at":null}'}


@pytest.mark.parametrize(("value", "seconds", "millis"), [
    (datetime(2026, 11, 30, 10, 0, 0, 123456, tzinfo=UTC), "1796032800.123456",
     "1796032800123.456"),
    (datetime(2026, 11, 30, 10, 0, 0, 500000, tzinfo=UTC), "1796032800.5", "1796032800500"),
    (datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), "-0.5", "-500"),
    (datetime(1960, 1, 1, tzinfo=UTC), "-315619200", "-315619200000"),
])
def test_epoch_formats_keep_sub_unit_precision_as_a_decimal(
    value: datetime, seconds: str, millis: str
) -> None:
    item = codec.encode(_event(created=value, millis=value))
    assert item["created"] == {"N": seconds}
    assert item["millis"] == {"N": millis}
    back = codec.decode(item)
    assert back.created == value and back.millis == value
    assert back.created.tzinfo is UTC and back.millis is not None and back.millis.tzinfo is UTC


def test_bool_false_and_none_values() -> None:
    item = codec.encode(_event(active=False))
    assert item["active"] == {"N": "0"}
    for name in ("millis", "legacy", "local", "point"):
        assert name not in item                                       # None: left out
    back = codec.decode(item)
    assert back.active is False and back.millis is None and back.legacy is None


def test_round_trip_of_every_format() -> None:
    obj = _event(
        created=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        millis=datetime(2026, 1, 2, 3, 4, 5, 7000, tzinfo=UTC),
        legacy=datetime(2026, 1, 2, 3, 4, 5, 8, tzinfo=CET),
        local=datetime(2026, 1, 2, 3, 4, 5, tzinfo=CET),
        active=True,
        extra={"n": 1.5, "s": "x", "l": [True, None]},
        point=Point(x=1, at=datetime(2026, 1, 1, tzinfo=UTC)),
        nested=Point(x=2, at=datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)),
    )
    back = codec.decode(codec.encode(obj))
    assert back == obj
    assert back.local is not None and back.local.utcoffset() == timedelta(hours=1)


def test_a_nested_models_own_formats_apply_inside_its_map() -> None:
    item = codec.encode(_event(nested=Point(x=2, at=datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))))
    assert item["nested"] == {"M": {"x": {"N": "2"}, "at": {"N": "1000"}}}
    assert codec.decode(item).nested == Point(x=2, at=datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC))


def test_nested_models_in_lists_and_maps_decode_through_their_formats() -> None:
    """Read by runtime type, 1000 (ms) would validate as 1000 seconds."""
    one_second = datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    obj = _event(points=[Point(x=1, at=one_second), Point(x=2)],
                 by_name={"a": Point(x=3, at=one_second)})
    item = codec.encode(obj)
    assert item["points"]["L"][0] == {"M": {"x": {"N": "1"}, "at": {"N": "1000"}}}
    assert item["by_name"]["M"]["a"]["M"]["at"] == {"N": "1000"}
    assert codec.decode(item) == obj


def test_a_nested_error_is_still_located_with_formatted_fields() -> None:
    bad = _event(nested=Point(x=2, at=T0))
    assert bad.nested is not None
    bad.nested.__dict__["at"] = "not a datetime"
    with pytest.raises(InvalidValueError, match=r"nested\.at") as info:
        codec.encode(bad)
    assert "EPOCH_MILLIS" in str(info.value)


def test_naive_and_wrong_type_values_are_refused_naming_the_field() -> None:
    naive = _event()
    naive.__dict__["created"] = datetime(2026, 1, 1)
    with pytest.raises(InvalidValueError, match=r"naive datetime \S+ in created"):
        codec.encode(naive)
    text = _event()
    text.__dict__["active"] = "yes"
    with pytest.raises(InvalidValueError, match=r"active: Format.BOOL_AS_NUMBER stores bools"):
        codec.encode(text)


def test_encode_field_uses_the_format() -> None:
    """Conditions, filters and update values encode a field through encode_field."""
    assert codec.encode_field("created", T0) == {"N": "1796032800"}
    assert codec.encode_field("legacy", T0) == {"S": "2026-11-30T10:00:00.000000+0000"}
    assert codec.encode_field("active", True) == {"N": "1"}
    assert codec.encode_field("extra", {"a": 1}) == {"S": '{"a":1}'}
    assert codec.encode_field("plain", T0) == {"S": "2026-11-30T10:00:00.000000Z"}


def test_an_annotation_carrying_a_format_encodes_by_it() -> None:
    """``Annotated[T, Format...] | None`` keeps its marker in the field's annotation."""
    enc = make_encoder(Event.model_fields["millis"].annotation, "millis")
    assert enc(T0) == {"N": "1796032800000"}


def test_partial_decode_applies_formats() -> None:
    item = {k: v for k, v in codec.encode(_event(active=True)).items() if k != "extra"}
    partial = codec.decode_partial(item)
    assert partial.created == T0 and partial.active is True
    assert "extra" not in partial.model_fields_set


# -- what other writers store ------------------------------------------------------------


@pytest.mark.parametrize(("stored", "expected"), [
    ({"N": "1796032800.1234567"}, datetime(2026, 11, 30, 10, 0, 0, 123457, tzinfo=UTC)),
    ({"N": "1.7960328E+9"}, T0),
    ({"S": "2026-11-30T10:00:00Z"}, T0),                       # ISO text in an epoch field
    ({"S": "2026-11-30T11:00:00+01:00"}, T0),
])
def test_epoch_fields_read_other_encodings(stored: dict[str, str], expected: datetime) -> None:
    assert codec.decode(_item(created=stored)).created == expected


def test_bool_as_number_reads_booleans_too() -> None:
    assert codec.decode(_item(active={"BOOL": True})).active is True
    assert codec.decode(_item(active={"N": "0"})).active is False


def test_json_field_holding_other_text_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match=r"extra: stored text is not JSON"):
        codec.decode(_item(extra={"S": "{not json"}))


@pytest.mark.parametrize("text", [
    "2026-11-30T10:00:00.000000+0000",                         # PynamoDB UTCDateTimeAttribute
    "2026-11-30T11:00:00.000000+01:00",
    "2026-11-30T11:00:00+0100",
    "2026-11-30T10:00:00.000000Z",                             # dyntable's own
])
def test_default_datetime_decoding_reads_other_writers_text(text: str) -> None:
    assert codec.decode(_item(plain={"S": text})).plain == T0
    assert parse_datetime(text) == T0


@pytest.mark.parametrize("text", [
    "2026-11-30T10:00:00.000000+0000", "2026-11-30T11:00:00+01:00", "2026-11-30T10:00:00Z",
])
def test_parse_datetime_without_python_311_fromisoformat(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(values_module, "_ISO_Z", False)
    assert parse_datetime(text) == T0


def test_models_without_formats_get_no_converters() -> None:
    from tests.models import Order

    assert codec_for(Order).converters == {}
    assert set(codec.converters) == {"created", "millis", "legacy", "local", "active",
                                     "extra", "point"}


# -- refused at class creation -----------------------------------------------------------


def _declare(annotation: Any, *, sk: str = "X", ttl: bool = False) -> None:
    name = "expires" if ttl else "value"
    namespace = {"__annotations__": {"id": str, name: annotation},
                 "primary": Key(pk="X#{id}", sk=sk), "__module__": __name__}
    type("Bad", (Model,), namespace, table=table, entity="bad")


@pytest.mark.parametrize(("annotation", "message"), [
    (Annotated[str, Format.EPOCH_SECONDS],
     r"Bad.value: Format.EPOCH_SECONDS applies to datetime fields .*not str"),
    (Annotated[int, Format.BOOL_AS_NUMBER],
     r"Bad.value: Format.BOOL_AS_NUMBER applies to bool fields .*not int"),
    (Annotated[datetime | int, Format.PYNAMODB], r"applies to datetime fields .*datetime \| int"),
    (Annotated[datetime, Format.EPOCH_SECONDS, Format.PYNAMODB],
     r"give a field one Format or TypeHook"),
    (list[Annotated[datetime, Format.EPOCH_SECONDS]], r"sits inside the field's type"),
])
def test_formats_that_cannot_apply_are_refused(annotation: Any, message: str) -> None:
    with pytest.raises(DeclarationError, match=message):
        _declare(annotation)


def test_a_format_on_a_key_template_field_is_refused() -> None:
    with pytest.raises(DeclarationError, match=r"Bad.value: Format.EPOCH_SECONDS cannot apply "
                       r"to a key field, used by key template 'X#\{value\}'"):
        _declare(Annotated[datetime, Format.EPOCH_SECONDS], sk="X#{value}")


def test_a_format_on_a_native_index_key_field_is_refused() -> None:
    native = Table("formats-native", gsis=[GSI("ByDay", pk=["tenant"], sk=["day"])])
    with pytest.raises(DeclarationError, match=r"Native.day: Format.EPOCH_SECONDS cannot "
                       r"apply to a key field, used by native key attribute of index 'ByDay'"):
        class Native(Model, table=native, entity="native"):
            id: str
            tenant: str
            day: Annotated[datetime, Format.EPOCH_SECONDS]
            primary = Key(pk="N#{id}", sk="N")
            by_day = Key(index="ByDay")


def test_a_format_on_the_ttl_field_is_refused() -> None:
    with pytest.raises(DeclarationError, match="TTL field keeps dyntable's own encoding"):
        _declare(Annotated[datetime, Format.EPOCH_SECONDS] | None, ttl=True)


def test_a_nested_models_wrong_format_is_refused_at_the_outer_class() -> None:
    class Inner(BaseModel):
        at: Annotated[Decimal, Format.EPOCH_SECONDS]

    with pytest.raises(DeclarationError, match=r"Inner.at \(in Bad.value\): "
                       r"Format.EPOCH_SECONDS applies to datetime"):
        _declare(list[Inner])
