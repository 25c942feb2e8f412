"""Regression tests of issue 12 ("No silent failures") on DynamoDB Local.

Each test names the defect it covers; each failed before its fix:

- defect 2: one entity's key could address (and overwrite) another entity's item;
- defect 3: Decimal key text was not canonical, so an object read back could not address
  its own item;
- defect 7: a model declared on another table was written through this table's client;
- defect 12: failed writes said "The conditional request failed" instead of what to do;
- defect 13: waiters returned silently or raised the wrong error after their timeout.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated

import pytest

from dyntable import Key, Model, Table, Version
from dyntable.client import Client
from dyntable.errors import (
    ForeignItemError,
    InvalidRequestError,
    ItemExistsError,
    ItemNotFoundError,
    KeyTemplateError,
    TransactionCanceledError,
    VersionConflictError,
    WaitTimeoutError,
)
from dyntable.transport.http import HttpTransport
from dyntable.transport.mock import MockTransport

pytestmark = pytest.mark.integration

accounts = Table("accounts")
other_table = Table("elsewhere")


class User(Model, table=accounts, entity="user"):
    user_id: str
    name: str = ""

    primary = Key(pk="USERS", sk="USER#{user_id}")


class Role(Model, table=accounts, entity="role"):
    user_id: str
    role: str

    primary = Key(pk="USERS", sk="USER#{user_id}#ROLE#{role}")


class Tag(Model, table=accounts, entity="tag"):
    """Keyed exactly like Label: only the entity attribute tells them apart."""

    id: str
    text: str = ""

    primary = Key(pk="{id}", sk="X")


class Label(Model, table=accounts, entity="label"):
    id: str
    text: str = ""
    version: Annotated[int, Version] = 0

    primary = Key(pk="{id}", sk="X")


class Price(Model, table=accounts, entity="price"):
    amount: Decimal
    currency: str

    primary = Key(pk="PRICE#{amount}", sk="CURRENCY#{currency}")


class Elsewhere(Model, table=other_table, entity="elsewhere"):
    id: str

    primary = Key(pk="E#{id}", sk="E")


@pytest.fixture
def db(dynamodb_endpoint: str, unique_table_name: str) -> Iterator[Client]:
    client = accounts.connect(
        transport=HttpTransport(endpoint_url=dynamodb_endpoint, region="us-east-1"),
        table_name=unique_table_name)
    client.create_table()
    yield client
    client.delete_table(wait=False)
    client.close()


def _raw(db: Client) -> list[dict[str, object]]:
    items: list[dict[str, object]] = db.send("Scan", {"TableName": db.table_name})["Items"]
    return items


# -- defect 2 --------------------------------------------------------------------------------


def test_a_key_value_cannot_forge_another_entitys_key(db: Client) -> None:
    db.put(Role(user_id="u1", role="admin"))
    with pytest.raises(KeyTemplateError, match=r"'user_id' contains '#'"):
        db.put(User(user_id="u1#ROLE#admin", name="mallory"))
    with pytest.raises(KeyTemplateError, match=r"'user_id' contains '#'"):
        db.get(User, user_id="u1#ROLE#admin")
    with pytest.raises(KeyTemplateError, match=r"'user_id' contains '#'"):
        db.delete(User, user_id="u1#ROLE#admin")
    role = db.get(Role, user_id="u1", role="admin", consistent=True)
    assert role == Role(user_id="u1", role="admin")
    assert len(_raw(db)) == 1


def test_a_write_never_replaces_or_deletes_another_entitys_item(db: Client) -> None:
    db.put(Tag(id="t1", text="a tag"))
    with pytest.raises(ForeignItemError, match=r"entity 'tag', not 'label'") as info:
        db.put(Label(id="t1", text="a label"))  # versioned: a new object
    assert info.value.entity == "tag"
    with pytest.raises(ForeignItemError):
        db.put(Label(id="t1", text="a label", version=3))  # versioned: expected version 3
    db.put(Label(id="l1", text="label"))
    with pytest.raises(ForeignItemError):
        db.put(Tag(id="l1", text="tag over a label"))
    with pytest.raises(ForeignItemError):
        db.delete(Tag, id="l1")
    with pytest.raises(ForeignItemError):
        db.update(Tag, id="l1").set(text="changed").execute()
    with pytest.raises(TransactionCanceledError,
                       match=r"holds an item of entity 'label', not 'tag'"):
        with db.transaction() as tx:
            tx.put(Tag(id="l1", text="in a transaction"))
    assert db.get(Tag, id="t1", consistent=True) == Tag(id="t1", text="a tag")
    label = db.get(Label, id="l1", consistent=True)
    assert label is not None and label.text == "label"


def test_an_item_without_entity_attribute_can_be_adopted(db: Client) -> None:
    # written by another program: no entity attribute, so no entity to protect
    db.send("PutItem", {"TableName": db.table_name,
                        "Item": {"PK": {"S": "t9"}, "SK": {"S": "X"}, "text": {"S": "raw"}}})
    db.put(Tag(id="t9", text="adopted"))
    assert db.get(Tag, id="t9", consistent=True) == Tag(id="t9", text="adopted")


# -- defect 3 --------------------------------------------------------------------------------


@pytest.mark.parametrize("written, lookup", [
    (Decimal("1.50"), Decimal("1.5")),
    (Decimal("1E+2"), Decimal("100")),
    (Decimal("-0.000"), Decimal("0")),
    (Decimal("12345678901234567890123456789.0123456780"),
     Decimal("12345678901234567890123456789.012345678")),
])
def test_a_decimal_key_has_one_text(db: Client, written: Decimal, lookup: Decimal) -> None:
    db.put(Price(amount=written, currency="EUR"))
    found = db.get(Price, amount=lookup, currency="EUR", consistent=True)
    assert found is not None and found.amount == written
    again = db.get(Price, amount=written, currency="EUR", consistent=True)
    assert again == found
    db.delete(found)  # the object read back addresses its own item
    assert _raw(db) == []


def test_decimal_key_text_in_queries_matches(db: Client) -> None:
    db.put(Price(amount=Decimal("2.50"), currency="EUR"))
    db.put(Price(amount=Decimal("2.5"), currency="USD"))
    found = db.query(Price.primary, amount=Decimal("2.500")).all()
    assert sorted(p.currency for p in found) == ["EUR", "USD"]


# -- defect 7 --------------------------------------------------------------------------------


def test_a_model_of_another_table_is_refused_everywhere(db: Client) -> None:
    thing = Elsewhere(id="x")
    where = r"Elsewhere is declared on table 'elsewhere'; this client is for table 'accounts'"
    with pytest.raises(InvalidRequestError, match=where):
        db.put(thing)
    with pytest.raises(InvalidRequestError, match=where):
        db.get(Elsewhere, id="x")
    with pytest.raises(InvalidRequestError, match=where):
        db.delete(thing)
    with pytest.raises(InvalidRequestError, match=where):
        db.update(thing).set(id="y")
    with pytest.raises(InvalidRequestError, match=where):
        db.query(Elsewhere.primary, id="x")
    with pytest.raises(InvalidRequestError, match=where):
        db.scan(Elsewhere)
    with pytest.raises(InvalidRequestError, match=where):
        with db.transaction() as tx:
            tx.put(thing)
    with pytest.raises(InvalidRequestError, match=where):
        db.batch_get([thing])
    with pytest.raises(InvalidRequestError, match=where):
        db.transact_get([Elsewhere.primary(id="x")])
    with pytest.raises(InvalidRequestError, match=where), db.batch_writer() as bw:
        bw.put(thing)
    assert _raw(db) == []


# -- defect 12 -------------------------------------------------------------------------------


def test_failed_writes_say_what_happened_and_what_to_do(db: Client) -> None:
    with pytest.raises(ItemNotFoundError, match=r"does not exist: an update changes an "
                                                r"existing item.*db.put"):
        db.update(Tag, id="nope").set(text="x").execute()
    db.put(Label(id="l1"))
    with pytest.raises(ItemExistsError, match=r"already exists \(stored version 1\).*db.get"):
        db.put(Label(id="l1", text="a second new object"))
    stored = db.get(Label, id="l1", consistent=True)
    assert stored is not None
    db.update(stored).set(text="moved on").execute()
    with pytest.raises(VersionConflictError,
                       match=r"expected version 1, stored version 2") as info:
        db.put(Label(id="l1", text="stale", version=1))
    assert (info.value.expected, info.value.actual) == (1, 2)
    with pytest.raises(ItemNotFoundError, match=r"does not exist \(expected version 4\)"):
        db.put(Label(id="gone", version=4))
    db.put(Tag(id="t1"))
    with pytest.raises(ItemExistsError, match=r"already exists \(if_absent=True\)"):
        db.put(Tag(id="t1"), if_absent=True)


# -- defect 13 -------------------------------------------------------------------------------


def test_waiters_raise_a_typed_timeout() -> None:
    creating = {"Table": {"TableName": "t", "TableStatus": "CREATING"}}
    db = accounts.connect(transport=MockTransport(lambda op, params: creating))
    with pytest.raises(WaitTimeoutError, match=r"not ACTIVE after 0.2s \(status CREATING\)"):
        db.wait_until_active(timeout=0.2)
    deleting = {"Table": {"TableName": "t", "TableStatus": "DELETING"}}
    db = accounts.connect(transport=MockTransport(lambda op, params: deleting))
    with pytest.raises(WaitTimeoutError, match=r"still exists 0.2s after DeleteTable"):
        db.delete_table(timeout=0.2)
    assert issubclass(WaitTimeoutError, TimeoutError)


def test_unique_names_do_not_leak(unique_table_name: str) -> None:
    assert uuid.UUID(int=0)  # the fixture is usable outside the db fixture
    assert unique_table_name.startswith("dyntable-test-")
