"""Storage formats, type hooks and pydantic serializers on DynamoDB Local, over every
transport the suite runs (async included): what lands in the table (read back with a raw
boto3 client), what other writers' items decode to, and the round trip."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import ConfigDict, field_serializer, field_validator

from dyntable import F, Format, Key, Model, Table, TypeHook
from dyntable.client import Client

pytestmark = pytest.mark.integration

UTC = timezone.utc
CET = timezone(timedelta(hours=1))


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


def _parse_money(text: str) -> Money:
    amount, currency = text.split()
    return Money(Decimal(amount), currency)


wire = Table("wire-formats", type_hooks={
    Money: TypeHook(encode=lambda m: f"{m.amount} {m.currency}", decode=_parse_money),
})


class Event(Model, table=wire, entity="event"):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    day: str
    id: str
    created: Annotated[datetime, Format.EPOCH_SECONDS]
    updated: Annotated[datetime, Format.EPOCH_MILLIS] | None = None
    legacy: Annotated[datetime | None, Format.PYNAMODB] = None
    local: Annotated[datetime, Format.ISO_OFFSET] | None = None
    active: Annotated[bool, Format.BOOL_AS_NUMBER] = False
    meta: Annotated[dict[str, Any], Format.JSON] = {}
    price: Money | None = None

    primary = Key(pk="DAY#{day}", sk="EVENT#{id}")


def _encrypt(text: str) -> str:
    """A stand-in for real encryption: reversible, and never equal to the plaintext."""
    return "enc:" + text[::-1].encode().hex()


def _decrypt(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("enc:"):
        return bytes.fromhex(value[4:]).decode()[::-1]
    return value


class Account(Model, table=wire, entity="account"):
    id: str
    ssn: str
    name: str = ""

    primary = Key(pk="ACCOUNT#{id}", sk="ACCOUNT")

    @field_serializer("ssn")
    def _encrypt_ssn(self, v: str) -> str:
        return _encrypt(v)

    @field_validator("ssn", mode="before")
    @classmethod
    def _decrypt_ssn(cls, v: Any) -> Any:
        return _decrypt(v)


@pytest.fixture
def db(client_of: Callable[..., Client]) -> Client:
    """A client on a fresh ``wire-formats`` table, over the parametrized transport."""
    return client_of(wire)


@pytest.fixture
def raw(dynamodb_endpoint: str, db: Client) -> Any:
    """A plain boto3 client on the same server: what another writer sees and writes."""
    import boto3

    return boto3.client("dynamodb", endpoint_url=dynamodb_endpoint, region_name="us-east-1")


def _stored(raw: Any, db: Client, pk: str, sk: str) -> dict[str, Any]:
    got = raw.get_item(TableName=db.table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}},
                       ConsistentRead=True)
    item: dict[str, Any] = got["Item"]
    return item


T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _event(id: str = "e1", **values: Any) -> Event:
    return Event(**{"day": "d1", "id": id, "created": T0, **values})


def test_formats_and_hooks_store_their_forms_and_read_back(db: Client, raw: Any) -> None:
    event = _event(
        updated=datetime(2026, 11, 30, 10, 0, 0, 250000, tzinfo=UTC),
        legacy=datetime(2026, 11, 30, 11, 0, tzinfo=CET),
        local=datetime(2026, 11, 30, 11, 0, tzinfo=CET),
        active=True,
        meta={"source": "import", "n": [1, 2]},
        price=Money(Decimal("12.50"), "EUR"),
    )
    db.put(event)
    item = _stored(raw, db, "DAY#d1", "EVENT#e1")
    assert item["created"] == {"N": "1796032800"}
    assert item["updated"] == {"N": "1796032800250"}
    assert item["legacy"] == {"S": "2026-11-30T10:00:00.000000+0000"}
    assert item["local"] == {"S": "2026-11-30T11:00:00+01:00"}
    assert item["active"] == {"N": "1"}
    assert item["meta"] == {"S": '{"source":"import","n":[1,2]}'}
    assert item["price"] == {"S": "12.50 EUR"}
    assert db.get(Event, day="d1", id="e1") == event
    assert db.query(Event.primary, day="d1").all() == [event]
    partial = db.get(Event, day="d1", id="e1", project=["created", "price"])
    assert partial is not None
    assert partial.created == T0 and partial.price == Money(Decimal("12.50"), "EUR")


def test_items_another_writer_stored_decode(db: Client, raw: Any) -> None:
    raw.put_item(TableName=db.table_name, Item={
        "PK": {"S": "DAY#d1"}, "SK": {"S": "EVENT#e2"}, "_entity": {"S": "event"},
        "day": {"S": "d1"}, "id": {"S": "e2"},
        "created": {"N": "1796032800.5"},
        "updated": {"S": "2026-11-30T10:00:00Z"},                   # ISO in an epoch field
        "legacy": {"S": "2026-11-30T10:00:00.000000+0000"},
        "local": {"S": "2026-11-30T11:00:00+01:00"},
        "active": {"N": "0"},
        "meta": {"S": '{"k": "v"}'},
        "price": {"S": "3 USD"},
    })
    got = db.get(Event, day="d1", id="e2")
    assert got == Event(day="d1", id="e2", created=T0 + timedelta(seconds=0.5), updated=T0,
                        legacy=T0, local=T0, active=False, meta={"k": "v"},
                        price=Money(Decimal(3), "USD"))
    assert got is not None and got.local is not None
    assert got.local.utcoffset() == timedelta(hours=1)


def test_an_encrypting_serializer_stores_ciphertext(db: Client, raw: Any) -> None:
    db.put(Account(id="a1", ssn="123-45-6789", name="Ada"))
    item = _stored(raw, db, "ACCOUNT#a1", "ACCOUNT")
    assert item["ssn"] == {"S": _encrypt("123-45-6789")}
    assert "123-45-6789" not in repr(item)
    got = db.get(Account, id="a1")
    assert got is not None and got.ssn == "123-45-6789"
    partial = db.get(Account, id="a1", project=["ssn"])
    assert partial is not None and partial.ssn == "123-45-6789"



def test_update_values_are_stored_in_the_fields_format(db: Client, raw: Any) -> None:
    db.put(_event())
    later = T0 + timedelta(hours=1)
    db.update(Event, day="d1", id="e1").set(created=later, active=True).execute()
    item = _stored(raw, db, "DAY#d1", "EVENT#e1")
    assert item["created"] == {"N": str(1796032800 + 3600)}
    assert item["active"] == {"N": "1"}


def test_conditions_compare_in_the_stored_format(db: Client) -> None:
    for i in range(3):
        db.put(_event(f"e{i}", created=T0 + timedelta(days=i)))
    after = db.query(Event.primary, day="d1").where(F.created > T0).all()
    assert [e.id for e in after] == ["e1", "e2"]


def test_an_updated_secret_is_stored_encrypted(db: Client, raw: Any) -> None:
    db.put(Account(id="a1", ssn="111"))
    db.update(Account, id="a1").set(ssn="222-22").execute()
    assert _stored(raw, db, "ACCOUNT#a1", "ACCOUNT")["ssn"] == {"S": _encrypt("222-22")}
