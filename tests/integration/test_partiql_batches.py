"""PartiQL BatchExecuteStatement and ExecuteTransaction on DynamoDB Local, every transport:
parameters bound, items decoded, per-statement errors typed, limits checked locally."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from dyntable.client import Client
from dyntable.errors import (
    BatchStatementError,
    ConditionalCheckFailedError,
    InvalidRequestError,
    TransactionCanceledError,
    TransactionLimitError,
)
from tests.models import Customer, Product

pytestmark = pytest.mark.integration


def test_batch_statements_read_and_write_with_bound_parameters(db: Client) -> None:
    db.put(Customer(username="ada", email="a@x", name="Ada"))
    t = db.table_name
    writes = [(f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?, \'_entity\': ?, \'sku\': ?, '
               f"'title': ?, 'price': ?}}", [f"PRODUCT#p{i}", "PRODUCT", "product", f"p{i}",
                                             "x' OR 1=1 --", Decimal(i)]) for i in range(3)]
    assert [r.error for r in db.batch_execute_statement(writes)] == [None, None, None]
    reads = [(f'SELECT * FROM "{t}" WHERE PK = ? AND SK = ?', [f"PRODUCT#p{i}", "PRODUCT"])
             for i in range(3)]
    reads.append((f'SELECT * FROM "{t}" WHERE PK = ? AND SK = ?',
                  ["CUSTOMER#ada", "CUSTOMER#ada"]))
    got = db.batch_execute_statement(reads, consistent=True)
    assert [type(r.item).__name__ for r in got] == ["Product"] * 3 + ["Customer"]
    assert got[1].item == Product(sku="p1", title="x' OR 1=1 --", price=Decimal(1))


def test_a_failing_statement_is_typed_and_the_others_are_kept(db: Client) -> None:
    t = db.table_name
    statements = [
        (f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?}}', ["A", "1"]),
        (f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?}}', ["A", "1"]),  # exists by then
        (f'UPDATE "{t}" SET n = 1 WHERE PK = ? AND SK = ?', ["MISSING", "1"]),
        (f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?}}', ["B", "1"]),
    ]
    assert [r.error for r in db.batch_execute_statement([statements[0]])] == [None]
    with pytest.raises(BatchStatementError) as info:
        db.batch_execute_statement(statements[1:])
    results = info.value.results
    # the duplicate insert and the update of a missing item failed, typed; the last applied
    assert [isinstance(r.error, ConditionalCheckFailedError) for r in results] == [
        True, True, False]
    assert results[2].error is None
    assert info.value.unprocessed == results[:2]
    assert db.send("GetItem", {"TableName": t, "ConsistentRead": True,
                               "Key": {"PK": {"S": "B"}, "SK": {"S": "1"}}}).get("Item")
    with pytest.raises(InvalidRequestError, match="at most 25 statements"):
        db.batch_execute_statement([f'SELECT * FROM "{t}"'] * 26)


def test_execute_transaction_applies_all_or_nothing(db: Client) -> None:
    t = db.table_name
    ok = [(f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?, \'n\': ?}}', [f"T#{i}", "T", i])
          for i in range(3)]
    token = uuid.uuid4().hex
    assert db.execute_transaction(ok, token=token) == []
    assert db.execute_transaction(ok, token=token) == []   # same token: applied once
    clash = [(f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?}}', ["T#9", "T"]),
             (f'INSERT INTO "{t}" VALUE {{\'PK\': ?, \'SK\': ?}}', ["T#0", "T"])]
    with pytest.raises(TransactionCanceledError) as info:
        db.execute_transaction(clash)
    codes = [r.code for r in info.value.reasons]
    # the second statement failed (DynamoDB says DuplicateItem, DynamoDB Local ValidationError)
    assert codes[0] is None and codes[1] in ("DuplicateItem", "ValidationError")
    got = db.execute_transaction([(f'SELECT * FROM "{t}" WHERE PK = ? AND SK = ?',
                                   [f"T#{i}", "T"]) for i in (0, 9)])
    assert got[0]["n"] == {"N": "0"} and got[1] is None   # raw: no model fits
    with pytest.raises(TransactionLimitError, match="at most 100"):
        db.execute_transaction(ok * 34)
