"""Transactions across two tables on DynamoDB Local, every transport: one TransactWriteItems
/ TransactGetItems, all or nothing, reasons per action, the local limits over both."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from dyntable import F, Key, Model, Table
from dyntable.client import Client
from dyntable.errors import InvalidRequestError, TransactionCanceledError, TransactionLimitError
from tests.models import Product

pytestmark = pytest.mark.integration

ledger = Table("tx_ledger", sk=None)
elsewhere = Table("tx_elsewhere")


class Entry(Model, table=ledger, entity="entry"):
    id: str
    sku: str
    amount: Decimal
    primary = Key(pk="ENTRY#{id}")


class Stray(Model, table=elsewhere, entity="stray"):
    id: str
    primary = Key(pk="S#{id}", sk="S")


@pytest.fixture
def ldb(client_of: Callable[..., Client]) -> Client:
    return client_of(ledger, "-ledger")


def test_one_transaction_writes_both_tables(db: Client, ldb: Client) -> None:
    with db.transaction(also=[ldb]) as tx:
        tx.put(Product(sku="p1", title="Lamp", price=Decimal(10), stock=5))
        tx.put(Entry(id="e1", sku="p1", amount=Decimal(10)))
    got = db.transact_get([Product.primary(sku="p1"), Entry.primary(id="e1")], also=[ldb])
    assert [type(g).__name__ for g in got] == ["Product", "Entry"]
    assert got[1] == Entry(id="e1", sku="p1", amount=Decimal(10))


def test_a_failure_in_one_table_applies_nothing_in_either(db: Client, ldb: Client) -> None:
    db.put(Product(sku="p2", title="Desk", price=Decimal(99), stock=0))
    with pytest.raises(TransactionCanceledError) as info:
        with db.transaction(also=[ldb]) as tx:
            tx.put(Entry(id="e2", sku="p2", amount=Decimal(99)))
            tx.update(Product, sku="p2").add(stock=-1).condition(F.stock > 0)
    reasons = info.value.reasons
    assert [(r.model, r.code) for r in reasons] == [("Entry", None),
                                                   ("Product", "ConditionalCheckFailed")]
    assert ldb.get(Entry, id="e2") is None


def test_models_of_tables_outside_the_transaction_are_refused(db: Client, ldb: Client
                                                              ) -> None:
    with pytest.raises(InvalidRequestError, match=r"this transaction spans"):
        with db.transaction(also=[ldb]) as tx:
            tx.put(Stray(id="x"))
    with pytest.raises(InvalidRequestError, match="declared on table 'tx_ledger'"):
        with db.transaction() as tx:
            tx.put(Entry(id="e3", sku="p", amount=Decimal(1)))


def test_the_limits_count_both_tables(db: Client, ldb: Client) -> None:
    put: Callable[..., None]
    with pytest.raises(TransactionLimitError, match="100"):
        with db.transaction(also=[ldb]) as tx:
            put = tx.put
            for i in range(50):
                put(Product(sku=f"q{i}", title="t", price=Decimal(1)))
                put(Entry(id=f"q{i}", sku="q", amount=Decimal(1)))
            put(Entry(id="one-too-many", sku="q", amount=Decimal(1)))
