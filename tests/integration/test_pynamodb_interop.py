"""dyntable and PynamoDB 6 sharing one table on DynamoDB Local, over every transport.

PynamoDB writes and dyntable reads, queries, updates and deletes; then the reverse. The
PynamoDB side (tests/pynamodb_models.py) is a polymorphic design: a
``DiscriminatorAttribute`` named ``cls``, a ``VersionAttribute``, a ``TTLAttribute``,
``UTCDateTimeAttribute`` datetimes, typed and raw maps, lists, sets and a renamed attribute
(``attr_name``). The dyntable models below declare the same items: ``entity_attribute="cls"``
and ``entity=`` the discriminator values, ``Format.PYNAMODB`` datetimes, a pydantic alias, a
``Version`` field and the table's ``ttl``. Reads after the other library's writes are
strongly consistent (a read cache does not see another writer, as with DAX).
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ConfigDict, Field
from pynamodb.exceptions import DeleteError, PutError, UpdateError

from dyntable import GSI, F, Format, Key, Model, Table, TypeHook, Version
from dyntable.client import Client
from dyntable.errors import ItemExistsError, TransactionVersionConflictError, VersionConflictError
from tests.async_facade import connect
from tests.conftest import TRANSPORTS
from tests.pynamodb_models import InteropBase, PAccount, PInvite, PNote, bind, paddress

pytestmark = pytest.mark.integration

interop = Table("interop", entity_attribute="cls", ttl="expires",
                gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Address(BaseModel):
    street: str
    city: str


class Account(Model, table=interop, entity="account"):
    """PAccount, declared in dyntable."""

    model_config = ConfigDict(populate_by_name=True)  # construct with name=, read "dn"

    org: str
    user_id: str
    name: str = Field(alias="dn")
    email: str
    active: bool = True
    created: Annotated[datetime, Format.PYNAMODB]
    last_seen: Annotated[datetime | None, Format.PYNAMODB] = None
    logins: int = 0
    score: float = 0.0
    balance: Decimal = Decimal(0)
    tags: set[str] = set()
    lucky: set[int] = set()
    address: Address | None = None
    prefs: dict[str, Any] = {}
    history: list[str] = []
    moves: list[Address] = []
    settings: Annotated[dict[str, Any] | None, Format.JSON] = None
    avatar: bytes | None = None
    thumb: Annotated[bytes | None, TypeHook(encode=b64encode, decode=b64decode)] = None
    version: Annotated[int, Version] = 0
    expires: datetime | None = None

    primary = Key(pk="ORG#{org}", sk="USER#{user_id}")
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="ORG#{org}")


class Note(Model, table=interop, entity="note"):
    org: str
    note_id: str
    text: str

    primary = Key(pk="ORG#{org}", sk="NOTE#{note_id}")


# The same items seen by a declaration that gives its datetimes no format.
plain = Table("interop", entity_attribute="cls")


class PlainAccount(Model, table=plain, entity="account"):
    org: str
    user_id: str
    created: datetime
    last_seen: datetime | None = None

    primary = Key(pk="ORG#{org}", sk="USER#{user_id}")


T = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=timezone.utc)
LATER = datetime(2026, 12, 24, 18, 0, tzinfo=timezone.utc)
#: TTL values lie in the future: DynamoDB Local deletes expired items within a minute.
FAR = datetime(2099, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def db(dynamodb_endpoint: str, unique_table_name: str, transport_name: str
       ) -> Iterator[Client]:
    """A dyntable client on a fresh table; the PynamoDB models point at the same table."""
    client: Client = connect(interop, TRANSPORTS[transport_name](dynamodb_endpoint),
                             unique_table_name)
    client.create_table()
    bind(InteropBase, unique_table_name, dynamodb_endpoint)
    yield client
    client.delete_table(wait=False)
    client.close()


def pyn_account(user_id: str = "u1", **kw: Any) -> PAccount:
    """A PynamoDB account with every attribute set (the key attributes filled by hand, as
    PynamoDB code does)."""
    email = kw.pop("email", f"{user_id}@example.com")
    values: dict[str, Any] = dict(
        org="acme", user_id=user_id, name="Ada", email=email, created=T, last_seen=T,
        logins=3, score=0.5, balance=12.25, tags={"a", "b"}, lucky={7, 13},
        address=paddress("1 Main St", "London"),
        prefs={"theme": "dark", "size": 2, "ratio": 1.5, "mixed": [1, "x"]},
        history=["signup", "login"], moves=[paddress("2 Rue", "Paris")],
        settings={"beta": True, "limits": [1, 2]}, avatar=b"\x89PNG\x00", thumb=b"\x00\xff",
        expires=FAR)
    values.update(kw)
    return PAccount(PK=f"ORG#{values['org']}", SK=f"USER#{user_id}", GSI1PK=f"EMAIL#{email}",
                    GSI1SK=f"ORG#{values['org']}", **values)


def the_account(user_id: str = "u1", **kw: Any) -> Account:
    """The dyntable object of :func:`pyn_account` (as stored: version 1)."""
    values: dict[str, Any] = dict(
        org="acme", user_id=user_id, name="Ada", email=f"{user_id}@example.com", created=T,
        last_seen=T, logins=3, score=0.5, balance=Decimal("12.25"), tags={"a", "b"},
        lucky={7, 13}, address=Address(street="1 Main St", city="London"),
        prefs={"theme": "dark", "size": 2, "ratio": Decimal("1.5"), "mixed": [1, "x"]},
        history=["signup", "login"], moves=[Address(street="2 Rue", city="Paris")],
        settings={"beta": True, "limits": [1, 2]}, avatar=b"\x89PNG\x00", thumb=b"\x00\xff",
        version=1, expires=FAR)
    values.update(kw)
    return Account(**values)


def raw_get(db: Client, pk: str, sk: str) -> dict[str, Any]:
    got = db.send("GetItem", {"TableName": db.table_name, "ConsistentRead": True,
                              "Key": {"PK": {"S": pk}, "SK": {"S": sk}}})
    item: dict[str, Any] = got.get("Item", {})
    return item


def get_account(db: Client, user_id: str = "u1") -> Account:
    found = db.get(Account, org="acme", user_id=user_id, consistent=True)
    assert found is not None
    return found


# -- PynamoDB writes, dyntable reads / queries / updates / deletes ----------------------------


def test_dyntable_reads_and_queries_what_pynamodb_wrote(db: Client) -> None:
    pyn_account().save()
    PNote(PK="ORG#acme", SK="NOTE#n1", org="acme", note_id="n1", text="hello").save()
    expected = the_account()
    assert db.get(Account, org="acme", user_id="u1", consistent=True) == expected
    assert db.query(Account.primary, org="acme").consistent().all() == [expected]
    assert db.query(Account.by_email, email="u1@example.com").all() == [expected]
    assert db.scan(Account).consistent().all() == [expected]
    # filters compare formatted fields in their stored form
    assert db.query(Account.primary, org="acme").where(
        (F.created == T) & (F.name == "Ada")).consistent().all() == [expected]
    assert db.scan(Note).consistent().all() == [Note(org="acme", note_id="n1", text="hello")]
    col = db.collection(pk="ORG#acme", consistent=True)
    assert col.of(Account) == [expected]
    assert col.of(Note) == [Note(org="acme", note_id="n1", text="hello")]
    assert col.unknown == [] and col.errors == []


def test_dyntable_updates_and_deletes_what_pynamodb_wrote(db: Client) -> None:
    pyn_account().save()
    account = get_account(db)
    updated = (
        db.update(account)
        .set(F.address.city, "Berlin")                 # a path into a typed MapAttribute
        .set(name="Ada L.")                            # the alias: attribute "dn"
        .set(F.prefs["theme"], "light")                # a key of a raw MapAttribute
        .append(history=["renamed"])                   # ListAttribute
        .add(logins=1, lucky={99}, tags={"c"})         # number, NumberSet, UnicodeSet
        .remove("last_seen")
        .set(created=LATER, settings={"beta": False})  # formatted: PynamoDB text, JSON
        .condition(F.created == T)                     # compared in PynamoDB's text
        .execute()
    )
    assert updated.version == 2
    p = PAccount.get("ORG#acme", "USER#u1", consistent_read=True)
    assert p.created == LATER and p.settings == {"beta": False}
    assert p.address is not None and p.address.city == "Berlin"
    assert p.name == "Ada L." and p.prefs["theme"] == "light"
    assert p.history == ["signup", "login", "renamed"]
    assert (p.logins, p.lucky, p.tags) == (4, {7, 13, 99}, {"a", "b", "c"})
    assert p.last_seen is None and p.version == 2
    db.delete(updated)                                 # checks version 2
    with pytest.raises(PAccount.DoesNotExist):
        PAccount.get("ORG#acme", "USER#u1", consistent_read=True)


# -- dyntable writes, PynamoDB reads / queries / updates / deletes ----------------------------


def test_pynamodb_reads_and_queries_what_dyntable_wrote(db: Client) -> None:
    db.put(the_account(version=0))
    db.put(the_account("u2", version=0, tags=set(), address=None, settings=None, moves=[]))
    db.put(Note(org="acme", note_id="n1", text="hello"))
    p = PAccount.get("ORG#acme", "USER#u1", consistent_read=True)
    assert type(p) is PAccount and p.version == 1
    assert (p.name, p.email, p.active, p.created, p.last_seen) == (
        "Ada", "u1@example.com", True, T, T)
    assert (p.logins, p.score, p.balance) == (3, 0.5, 12.25)
    assert (p.tags, p.lucky) == ({"a", "b"}, {7, 13})
    assert p.address is not None and (p.address.street, p.address.city) == ("1 Main St",
                                                                          "London")
    prefs = p.prefs.as_dict()  # type: ignore[no-untyped-call]
    assert prefs == {"theme": "dark", "size": 2, "ratio": 1.5, "mixed": [1, "x"]}
    assert p.history == ["signup", "login"]
    assert [(m.street, m.city) for m in p.moves] == [("2 Rue", "Paris")]
    assert p.settings == {"beta": True, "limits": [1, 2]} and p.expires == FAR
    assert (p.avatar, p.thumb) == (b"\x89PNG\x00", b"\x00\xff")
    bare = PAccount.get("ORG#acme", "USER#u2", consistent_read=True)
    assert bare.tags is None and bare.address is None and bare.settings is None  # left out
    assert bare.moves == []
    # a query over the partition is polymorphic: the discriminator picks each class
    found = list(InteropBase.query("ORG#acme", consistent_read=True))
    assert [(type(x), x.SK) for x in found] == [
        (PNote, "NOTE#n1"), (PAccount, "USER#u1"), (PAccount, "USER#u2")]
    assert PAccount.count("ORG#acme", consistent_read=True) == 2   # filtered on cls
    assert [x.SK for x in PAccount.by_email.query("EMAIL#u2@example.com")] == ["USER#u2"]
    assert {x.SK for x in InteropBase.scan(consistent_read=True)} == {
        "NOTE#n1", "USER#u1", "USER#u2"}


def test_pynamodb_updates_and_deletes_what_dyntable_wrote(db: Client) -> None:
    db.put(the_account(version=0))
    p = PAccount.get("ORG#acme", "USER#u1", consistent_read=True)
    p.update(actions=[
        PAccount.logins.add(5),
        PAccount.tags.add({"new"}),
        PAccount.address.city.set("Rome"),  # type: ignore[attr-defined]
        PAccount.name.set("Ada B."),
        PAccount.history.set(PAccount.history.append(["pyn"])),
        PAccount.last_seen.remove(),
    ])
    got = get_account(db)
    assert (got.logins, got.tags, got.name, got.version) == (8, {"a", "b", "new"}, "Ada B.", 2)
    assert got.address == Address(street="1 Main St", city="Rome")
    assert got.history == ["signup", "login", "pyn"] and got.last_seen is None
    p.score = 9.75
    p.save()                                           # a full-item put: cls is kept
    got = get_account(db)
    assert got.score == 9.75 and got.version == 3
    assert db.query(Account.primary, org="acme").consistent().all() == [got]
    p.delete()
    assert db.get(Account, org="acme", user_id="u1", consistent=True) is None


# -- values -----------------------------------------------------------------------------------


def test_numbers_cross_both_ways(db: Client) -> None:
    big = 2**53 + 1                                    # not exact as a float
    pyn_account(logins=big, score=0.1, balance=0.3, lucky={1, 2**40}).save()
    got = get_account(db)
    assert (got.logins, got.score, got.balance, got.lucky) == (
        big, 0.1, Decimal("0.3"), {1, 2**40})
    db.put(the_account("u2", version=0, logins=2**62, score=1e-7,
                       balance=Decimal("12345678901234567890.5")))
    p = PAccount.get("ORG#acme", "USER#u2", consistent_read=True)
    assert (p.logins, p.score) == (2**62, 1e-7)
    # PynamoDB has no decimal attribute: NumberAttribute reads a float (digits beyond
    # float precision are lost on that side only)
    assert p.balance == float(Decimal("12345678901234567890.5"))
    assert raw_get(db, "ORG#acme", "USER#u2")["balance"] == {"N": "12345678901234567890.5"}


def test_datetimes_use_pynamodbs_text_with_format_pynamodb(db: Client) -> None:
    pyn_account().save()
    raw = raw_get(db, "ORG#acme", "USER#u1")
    assert raw["created"] == {"S": "2026-03-04T05:06:07.123456+0000"}
    db.put(the_account("u2", version=0, created=datetime(2026, 12, 1, tzinfo=timezone.utc)))
    assert raw_get(db, "ORG#acme", "USER#u2")["created"] == {
        "S": "2026-12-01T00:00:00.000000+0000"}
    p = PAccount.get("ORG#acme", "USER#u2", consistent_read=True)
    assert p.created == datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_dyntable_reads_pynamodb_datetimes_without_a_format(db: Client) -> None:
    pyn_account(last_seen=datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)).save()
    view = connect(plain, db.transport, db.table_name)
    got = view.get(PlainAccount, org="acme", user_id="u1", consistent=True)
    assert got is not None and got.created == T
    assert got.last_seen == datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    # dyntable's own default text ("...Z") is not PynamoDB's: write Format.PYNAMODB for it
    view.put(got.model_copy(update={"created": datetime(2026, 1, 1, tzinfo=timezone.utc)}))
    assert raw_get(db, "ORG#acme", "USER#u1")["created"]["S"].endswith("Z")
    with pytest.raises(ValueError, match="does not match format"):
        PAccount.get("ORG#acme", "USER#u1", consistent_read=True)


def test_ttl_is_epoch_seconds_on_both_sides(db: Client) -> None:
    pyn_account(expires=FAR).save()
    assert raw_get(db, "ORG#acme", "USER#u1")["expires"] == {"N": str(int(FAR.timestamp()))}
    assert get_account(db).expires == FAR
    later = datetime(2099, 6, 1, 12, 30, 15, tzinfo=timezone.utc)
    db.put(the_account("u2", version=0, expires=later))
    assert raw_get(db, "ORG#acme", "USER#u2")["expires"] == {"N": str(int(later.timestamp()))}
    assert PAccount.get("ORG#acme", "USER#u2", consistent_read=True).expires == later
    ttl = db.send("DescribeTimeToLive", {"TableName": db.table_name})
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires"


def test_discriminator_values_name_the_entities(db: Client) -> None:
    pyn_account().save()
    PNote(PK="ORG#acme", SK="NOTE#n1", org="acme", note_id="n1", text="hi").save()
    PInvite(PK="ORG#acme", SK="INVITE#i1", org="acme", invite_id="i1").save()
    db.put(Note(org="acme", note_id="n2", text="from dyntable"))
    assert raw_get(db, "ORG#acme", "NOTE#n2")["cls"] == {"S": "note"}
    assert raw_get(db, "ORG#acme", "USER#u1")["cls"] == {"S": "account"}
    assert [n.note_id for n in db.query(Note.primary, org="acme").consistent()] == ["n1", "n2"]
    assert db.scan(Account).consistent().count() == 1
    # a PynamoDB class dyntable does not declare is reported, not dropped
    col = db.collection(pk="ORG#acme", consistent=True)
    assert [u["cls"] for u in col.unknown] == [{"S": "invite"}]
    assert len(col.of(Account)) == 1 and len(col.of(Note)) == 2
    assert [type(x) for x in PNote.query("ORG#acme", consistent_read=True)] == [PNote, PNote]


# -- optimistic locking across the two libraries ---------------------------------------------


def test_versions_count_up_on_both_sides(db: Client) -> None:
    created = the_account(version=0)
    db.put(created)
    assert created.version == 1                          # PynamoDB's first save stores 1 too
    p = PAccount.get("ORG#acme", "USER#u1", consistent_read=True)
    assert p.version == 1
    p.logins = 10
    p.save()
    assert p.version == 2
    a = get_account(db)
    assert (a.version, a.logins) == (2, 10)
    a = db.update(a).add(logins=1).execute()
    assert a.version == 3
    p.refresh(consistent_read=True)
    assert (p.version, p.logins) == (3, 11)
    p.update(actions=[PAccount.logins.add(1)])
    assert p.version == 4
    a = get_account(db)
    assert (a.version, a.logins) == (4, 12)
    a = a.model_copy(update={"logins": 20})
    db.put(a)
    assert a.version == 5
    p.refresh(consistent_read=True)
    assert (p.version, p.logins) == (5, 20)


def test_a_stale_pynamodb_write_fails_after_dyntable_wrote(db: Client) -> None:
    pyn_account().save()
    stale = PAccount.get("ORG#acme", "USER#u1", consistent_read=True)   # version 1
    db.update(get_account(db)).add(logins=1).execute()                  # version 2
    stale.logins = 100
    with pytest.raises(PutError) as put:
        stale.save()
    assert put.value.cause_response_code == "ConditionalCheckFailedException"
    with pytest.raises(UpdateError) as update:
        stale.update(actions=[PAccount.logins.set(7)])
    assert update.value.cause_response_code == "ConditionalCheckFailedException"
    with pytest.raises(DeleteError):
        stale.delete()
    assert get_account(db).logins == 4 and get_account(db).version == 2


def test_dyntable_raises_version_conflict_after_pynamodb_wrote(db: Client) -> None:
    db.put(the_account(version=0))
    stale = get_account(db)                                            # version 1
    p = PAccount.get("ORG#acme", "USER#u1", consistent_read=True)
    p.logins = 9
    p.save()                                                           # version 2
    with pytest.raises(VersionConflictError) as put:
        db.put(stale.model_copy(update={"logins": 1}))
    assert put.value.expected == 1
    with pytest.raises(VersionConflictError):
        db.update(stale).add(logins=1).execute()
    with pytest.raises(VersionConflictError):
        db.delete(stale)
    with pytest.raises(TransactionVersionConflictError), db.transaction() as tx:
        tx.put(stale)
    with pytest.raises(ItemExistsError):                               # a new object
        db.put(the_account(version=0))
    p.refresh(consistent_read=True)
    assert (p.logins, p.version) == (9, 2)
