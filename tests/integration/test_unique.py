"""Unique values on DynamoDB Local, over every transport: guard items written in the same
transaction as the item; two writers claiming one value at once, exactly one wins."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Annotated

import pytest

from dyntable import Key, Model, Table, Unique, Version
from dyntable.client import Client
from dyntable.errors import (
    DeclarationError,
    InvalidRequestError,
    TransactionCanceledError,
    UniqueValueError,
    UnmatchedItemWarning,
)

pytestmark = pytest.mark.integration

accounts = Table("unique_accounts")


class Account(Model, table=accounts, entity="account"):
    username: str
    email: Annotated[str, Unique]
    phone: Annotated[str | None, Unique] = None
    name: str = ""
    version: Annotated[int, Version] = 0

    primary = Key(pk="ACCOUNT#{username}", sk="ACCOUNT")


@pytest.fixture
def adb(client_of: Callable[..., Client]) -> Client:
    return client_of(accounts)


def guards(db: Client) -> set[str]:
    """The guard items' partition keys, by a raw scan."""
    items = db.send("Scan", {"TableName": db.table_name, "ConsistentRead": True})["Items"]
    return {i["PK"]["S"].split("#", 2)[2] for i in items
            if i["PK"]["S"].startswith("_dyntable#unique#")}


def test_a_taken_value_is_refused_with_the_field_and_value(adb: Client) -> None:
    adb.put(Account(username="ada", email="ada@x.io"))
    with pytest.raises(UniqueValueError) as info:
        adb.put(Account(username="bob", email="ada@x.io"))
    assert (info.value.field, info.value.value, info.value.model) == (
        "email", "ada@x.io", "Account")
    assert "taken by another item" in str(info.value)
    assert adb.get(Account, username="bob") is None
    assert guards(adb) == {"account#email#ada@x.io"}


def test_changing_and_dropping_values_moves_the_guards(adb: Client) -> None:
    ada = Account(username="ada", email="ada@x.io", phone="+1")
    adb.put(ada)
    ada.name = "Ada"
    adb.put(ada)                       # same values: guards unchanged
    assert guards(adb) == {"account#email#ada@x.io", "account#phone#+1"}
    moved = adb.update(ada).set(email="lovelace@x.io", phone=None).execute()
    assert moved.email == "lovelace@x.io" and moved.phone is None
    assert guards(adb) == {"account#email#lovelace@x.io"}
    adb.put(Account(username="bob", email="ada@x.io"))   # the old value is free again
    by_key = adb.update(Account, username="bob").set(email="bob@x.io").execute()
    assert by_key.email == "bob@x.io"
    assert guards(adb) == {"account#email#lovelace@x.io", "account#email#bob@x.io"}
    adb.delete(Account, username="bob")
    adb.delete(moved)
    assert guards(adb) == set()


def test_two_writers_claiming_one_value_at_once_exactly_one_wins(adb: Client) -> None:
    results: list[str] = []
    barrier = threading.Barrier(4)

    def claim(name: str) -> None:
        barrier.wait(10)
        try:
            adb.put(Account(username=name, email="shared@x.io"))
            results.append("won")
        except (UniqueValueError, TransactionCanceledError):
            results.append("lost")

    threads = [threading.Thread(target=claim, args=(f"u{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["lost", "lost", "lost", "won"]
    owners = [a.username for a in adb.scan(Account) if a.email == "shared@x.io"]
    assert len(owners) == 1 and guards(adb) == {"account#email#shared@x.io"}


def test_guards_are_invisible_to_reads_and_writes_in_transactions_keep_them(
        adb: Client) -> None:
    with adb.transaction() as tx:
        tx.put(Account(username="ada", email="ada@x.io"))
        tx.put(Account(username="bob", email="bob@x.io"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnmatchedItemWarning)  # guards are not "unmatched"
        assert sorted(a.username for a in adb.scan(Account)) == ["ada", "bob"]
    with pytest.raises(UniqueValueError):
        with adb.transaction() as tx:
            tx.put(Account(username="cy", email="bob@x.io"))
    read = adb.get(Account, username="ada")
    assert read is not None
    with adb.transaction() as tx:
        tx.update(read).set(email="ada2@x.io")
    assert guards(adb) == {"account#email#ada2@x.io", "account#email#bob@x.io"}
    with pytest.raises(InvalidRequestError, match="a batch writer cannot send"):
        with adb.batch_writer() as bw:
            bw.put(Account(username="dee", email="dee@x.io"))


def test_unique_fields_are_checked_at_declaration() -> None:
    with pytest.raises(DeclarationError, match="cannot be a primary key field"):
        class Bad(Model, table=accounts, entity="bad_unique"):
            username: Annotated[str, Unique]
            primary = Key(pk="BAD#{username}", sk="BAD")
