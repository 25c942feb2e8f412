"""pydantic serializers on the wire path: python-mode serializers are honoured (what they
return is stored), JSON-only ones are not (pydantic's own python-mode semantics), and a
``@model_serializer`` is refused at class creation."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

import pytest
from pydantic import (
    BaseModel,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    WrapSerializer,
    field_serializer,
    field_validator,
    model_serializer,
)

from dyntable import Format, Key, Model, Table
from dyntable.codec import codec_for
from dyntable.errors import DeclarationError, InvalidValueError

table = Table("serializers")


def encrypt(text: str) -> str:
    return "enc:" + text[::-1]


def decrypt(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("enc:"):
        return value[4:][::-1]
    return value


class Card(BaseModel):
    number: str
    holder: str = ""

    @field_serializer("number")
    def _hide(self, v: str) -> str:
        return encrypt(v)

    @field_validator("number", mode="before")
    @classmethod
    def _show(cls, v: Any) -> Any:
        return decrypt(v)


def _cents(v: int, handler: SerializerFunctionWrapHandler) -> Any:
    return f"{handler(v)} cents"


def _from_cents(v: Any) -> Any:
    return int(v.split()[0]) if isinstance(v, str) else v


class Account(Model, table=table, entity="account"):
    id: str
    ssn: str
    pin: str | None = None
    note: str = ""
    tag: Annotated[int, PlainSerializer(lambda v: f"#{v}", when_used="always")] = 0
    cents: Annotated[int, WrapSerializer(_cents)] = 0
    shown_in_json: Annotated[int, PlainSerializer(lambda v: str(v), when_used="json")] = 0
    wrapped: datetime | None = None
    json_only: str = ""
    card: Card | None = None
    cards: list[Card] = []

    primary = Key(pk="ACCOUNT#{id}", sk="ACCOUNT")

    @field_serializer("ssn")
    def _encrypt_ssn(self, v: str) -> str:
        return encrypt(v + "/" + self.id)            # a serializer may read other fields

    @field_serializer("pin", when_used="unless-none")
    def _encrypt_pin(self, v: str) -> str:
        return encrypt(v)

    @field_serializer("wrapped", mode="wrap")
    def _epoch(self, v: datetime | None, handler: SerializerFunctionWrapHandler) -> Any:
        return None if v is None else int(v.timestamp())

    @field_serializer("json_only", when_used="json")
    def _upper(self, v: str) -> str:
        return v.upper()

    @field_validator("ssn", mode="before")
    @classmethod
    def _decrypt_ssn(cls, v: Any) -> Any:
        v = decrypt(v)
        return v.split("/")[0] if isinstance(v, str) else v

    @field_validator("pin", mode="before")
    @classmethod
    def _decrypt_pin(cls, v: Any) -> Any:
        return decrypt(v)

    @field_validator("tag", mode="before")
    @classmethod
    def _untag(cls, v: Any) -> Any:
        return int(v[1:]) if isinstance(v, str) and v.startswith("#") else v

    @field_validator("cents", mode="before")
    @classmethod
    def _uncents(cls, v: Any) -> Any:
        return _from_cents(v)


codec = codec_for(Account)
WHEN = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)


def _account(**values: Any) -> Account:
    return Account(**{"id": "a1", "ssn": "123-45", **values})


def test_python_mode_serializers_give_the_stored_value() -> None:
    item = codec.encode(_account(pin="0000", tag=7, cents=250, wrapped=WHEN,
                                 card=Card(number="4111"), cards=[Card(number="5500")]))
    assert item["ssn"] == {"S": "enc:1a/54-321"}                # ciphertext, not plaintext
    assert item["pin"] == {"S": "enc:0000"}
    assert item["tag"] == {"S": "#7"}
    assert item["cents"] == {"S": "250 cents"}
    assert item["wrapped"] == {"N": "1796032800"}
    assert item["card"] == {"M": {"number": {"S": "enc:1114"}, "holder": {"S": ""}}}
    assert item["cards"] == {"L": [{"M": {"number": {"S": "enc:0055"}, "holder": {"S": ""}}}]}


def test_json_only_serializers_are_not_applied_to_storage() -> None:
    item = codec.encode(_account(shown_in_json=5, json_only="quiet"))
    assert item["shown_in_json"] == {"N": "5"}
    assert item["json_only"] == {"S": "quiet"}


def test_unless_none_leaves_none_out() -> None:
    assert "pin" not in codec.encode(_account(pin=None))


def test_the_models_validators_read_the_stored_value_back() -> None:
    obj = _account(pin="0000", tag=7, cents=250, wrapped=WHEN, card=Card(number="4111"),
                   cards=[Card(number="5500")])
    assert codec.decode(codec.encode(obj)) == obj


def test_encode_field_serializes_a_value_alone() -> None:
    """Update values and condition operands are stored like the attribute."""
    assert codec.encode_field("pin", "9999") == {"S": "enc:9999"}
    assert codec.encode_field("tag", 3) == {"S": "#3"}


def test_coerce_runs_the_field_validators() -> None:
    """A stored (serialized) value read alone, as in a projection, reads back as the value;
    a plain value given for an update stays itself."""
    assert codec.coerce("pin", "enc:4321") == "1234"
    assert codec.coerce("pin", "1234") == "1234"
    assert codec.coerce("ssn", "enc:1a/54-321") == "123-45"


def test_partial_decode_reads_serialized_fields_back() -> None:
    item = codec.encode(_account(pin="0000"))
    partial = codec.decode_partial({k: item[k] for k in ("PK", "SK", "_entity", "pin")})
    assert partial.pin == "0000"


def test_stream_images_read_serialized_and_formatted_fields_back() -> None:
    from dyntable.streams.events import decode_record
    from dyntable.streams.records import parse_record
    from tests.unit.streams.lambda_events import record

    new = _account(pin="0000", wrapped=WHEN)
    raw = record("INSERT", "100000000000000000000001", new=new, view="NEW_IMAGE")
    assert raw["dynamodb"]["NewImage"]["pin"] == {"S": "enc:0000"}
    event = decode_record(table, parse_record(raw))
    assert event.new == new


def test_a_failing_serializer_names_the_model() -> None:
    bad = _account()
    bad.__dict__["ssn"] = 12
    with pytest.raises(InvalidValueError, match="Account: a pydantic serializer failed"):
        codec.encode(bad)


def test_models_without_serializers_do_not_run_pydantic_serialization(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    class Plain(Model, table=table, entity="plain"):
        id: str
        text: str = ""
        primary = Key(pk="P#{id}", sk="P")

    plain = codec_for(Plain)
    assert plain.converters == {}
    monkeypatch.setattr(Plain, "__pydantic_serializer__", None)    # would fail if called
    assert plain.encode(Plain(id="p", text="t"))["text"] == {"S": "t"}


# -- refused at class creation -----------------------------------------------------------


def test_a_model_serializer_is_refused() -> None:
    with pytest.raises(DeclarationError, match=r"Whole: @model_serializer is not applied by "
                       r"dyntable.*TypeHook.*Format"):
        class Whole(Model, table=table, entity="whole"):
            id: str
            primary = Key(pk="W#{id}", sk="W")

            @model_serializer
            def _dump(self) -> dict[str, Any]:
                return {"id": self.id.upper()}


def test_a_nested_model_serializer_is_refused() -> None:
    class Blob(BaseModel):
        data: str

        @model_serializer
        def _dump(self) -> str:
            return self.data

    with pytest.raises(DeclarationError, match=r"Blob \(in Holder.blob\): @model_serializer"):
        class Holder(Model, table=table, entity="holder"):
            id: str
            blob: Blob
            primary = Key(pk="H#{id}", sk="H")


def test_a_serializer_and_a_format_on_one_field_are_refused() -> None:
    with pytest.raises(DeclarationError, match=r"Both.at: a pydantic serializer and "
                       r"Format.EPOCH_SECONDS on one field"):
        class Both(Model, table=table, entity="both"):
            id: str
            at: Annotated[datetime, Format.EPOCH_SECONDS,
                          PlainSerializer(lambda v: v.isoformat())]
            primary = Key(pk="B#{id}", sk="B")


def test_a_serializer_on_a_key_template_field_is_refused() -> None:
    """The key would hold the plaintext."""
    with pytest.raises(DeclarationError, match=r"Keyed.email: a pydantic serializer cannot "
                       r"apply to a key field, used by key template 'EMAIL#\{email\}'"):
        class Keyed(Model, table=table, entity="keyed"):
            email: str
            primary = Key(pk="EMAIL#{email}", sk="E")

            @field_serializer("email")
            def _hide(self, v: str) -> str:
                return encrypt(v)
