"""Automatic timestamps on DynamoDB Local, over every transport: CreatedAt / UpdatedAt on
put, update, upsert, transactions and batch writes, with an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import pytest

from dyntable import GSI, CreatedAt, Format, Key, Model, Table, UpdatedAt, Version
from dyntable.client import Client
from dyntable.clock import use_clock
from dyntable.errors import DeclarationError

pytestmark = pytest.mark.integration

notes = Table("stamps", gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK")])
T0 = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)


class Note(Model, table=notes, entity="note"):
    id: str
    text: str = ""
    created_at: Annotated[datetime | None, CreatedAt, Format.EPOCH_SECONDS] = None
    updated_at: Annotated[datetime | None, UpdatedAt] = None
    version: Annotated[int, Version] = 0

    primary = Key(pk="NOTE#{id}", sk="NOTE")
    recent = Key(index="GSI1", pk="NOTES", sk="{updated_at}#{id}")


class Ticker:
    """A clock that moves one minute at each call."""

    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        self.t += timedelta(minutes=1)
        return self.t


@pytest.fixture
def ndb(client_of: Callable[..., Client]) -> Client:
    return client_of(notes)


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def raw(db: Client, id_: str) -> dict[str, Any]:
    item: dict[str, Any] = db.send("GetItem", {"TableName": db.table_name, "ConsistentRead": True,
                                               "Key": {"PK": {"S": f"NOTE#{id_}"},
                                                       "SK": {"S": "NOTE"}}})["Item"]
    return item


def test_put_update_and_upsert_fill_the_timestamps(ndb: Client) -> None:
    with use_clock(Ticker()):
        note = Note(id="a", text="hi")
        ndb.put(note)                                      # minute 1
        assert note.created_at == note.updated_at == minutes(1)
        assert raw(ndb, "a")["created_at"] == {"N": str(int(minutes(1).timestamp()))}
        changed = ndb.update(note).set(text="hello").execute()    # minute 2
        assert changed.created_at == minutes(1) and changed.updated_at == minutes(2)
        ndb.put(changed)                                   # minute 3: a put keeps created_at
        assert changed.created_at == minutes(1) and changed.updated_at == minutes(3)
        made = ndb.upsert(Note, id="b").set(text="new").execute()   # minute 4
        assert made.created_at == made.updated_at == minutes(4)
        again = ndb.upsert(Note, id="b").set(text="newer").execute()  # minute 5
        assert again.created_at == minutes(4) and again.updated_at == minutes(5)
    # the index on updated_at follows every write
    assert [n.id for n in ndb.query(Note.recent)] == ["a", "b"]


def test_transactions_and_batch_writes_fill_them_too(ndb: Client) -> None:
    with use_clock(T0):
        with ndb.transaction() as tx:
            tx.put(Note(id="t1"))
        with ndb.batch_writer() as bw:
            for i in range(3):
                bw.put(Note(id=f"b{i}"))
    with use_clock(minutes(30)):
        with ndb.transaction() as tx:
            tx.update(Note, id="t1").set(text="x")
    stored = ndb.get(Note, id="t1")
    assert stored is not None and (stored.created_at, stored.updated_at) == (T0, minutes(30))
    assert all(n.created_at == T0 for n in ndb.scan(Note))


def test_a_value_the_caller_sets_is_kept(ndb: Client) -> None:
    given = datetime(2020, 1, 1, tzinfo=timezone.utc)
    note = Note(id="c", created_at=given)
    with use_clock(T0):
        ndb.put(note)
        assert note.created_at == given and note.updated_at == T0
        updated = ndb.update(note).set(updated_at=given).execute()
    assert updated.updated_at == given


def test_timestamp_fields_are_checked_at_declaration() -> None:
    with pytest.raises(DeclarationError, match="is a datetime"):
        class Bad(Model, table=notes, entity="bad_stamp"):
            id: str
            at: Annotated[str | None, UpdatedAt] = None
            primary = Key(pk="BAD#{id}", sk="BAD")
    with pytest.raises(DeclarationError, match="cannot be part of the primary key"):
        class InKey(Model, table=notes, entity="in_key_stamp"):
            at: Annotated[datetime, CreatedAt]
            primary = Key(pk="K#{at}", sk="K")


def test_a_naive_clock_is_refused() -> None:
    clock: Callable[[], datetime] = lambda: datetime(2026, 1, 1)  # noqa: E731
    from dyntable.clock import now
    from dyntable.errors import InvalidValueError

    with use_clock(clock), pytest.raises(InvalidValueError, match="naive"):
        now()
