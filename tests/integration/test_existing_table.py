"""Adopting a table dyntable never wrote (issue 14's "Done when"), on DynamoDB Local.

The table is created and filled by PynamoDB code (tests/pynamodb_models.py, ``Legacy*``) and
by raw boto3 code of "another service": no entity attribute, fields only inside the key
strings (``PK = "ORG#acme"``, no ``org`` attribute), a renamed attribute (``orgName``),
datetimes as epoch seconds, booleans as 0 / 1, an attribute no model declares (``crmId``)
and items no model describes. dyntable declares it with ``entity_attribute=None`` and three
models told apart by their key templates, and then, over every transport:

- every query, scan, collection and PartiQL read returns exactly the items raw boto3
  returns for the same key condition: the model's items, plus the items that match no
  model, reported in ``unmatched`` / ``unknown`` (never dropped);
- a get -> modify -> put cycle leaves the other service's attribute in place;
- PynamoDB still reads everything dyntable wrote.

The second part has one regression test per silent failure the issue lists; each failed on
the code before the issue (commit 4305179). The last one of the list, pydantic field
serializers ignored by the codec (a field "encrypted" with ``@field_serializer`` stored in
plaintext), is covered with the storage formats:
tests/integration/test_wire_formats.py::test_an_encrypting_serializer_stores_ciphertext and
tests/unit/codec/test_serializers.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

import boto3
import pytest
from pydantic import ConfigDict, Field

from dyntable import GSI, F, Format, Key, Model, Table
from dyntable.client import Client
from dyntable.codec import codec_for, extra_attributes
from dyntable.errors import UnmatchedItemWarning
from dyntable.transport.boto3 import Boto3Transport
from tests.async_facade import connect
from tests.conftest import TRANSPORTS
from tests.pynamodb_models import (
    LegacyBase,
    LegacyInvoice,
    LegacyMember,
    LegacyOrg,
    PCustomer,
    bind,
)

pytestmark = pytest.mark.integration

KeyTuple = tuple[str, str]

# -- the declaration of the existing table -------------------------------------------------

legacy = Table("legacy", entity_attribute=None, gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK")])


class Org(Model, table=legacy, entity="org"):
    model_config = ConfigDict(populate_by_name=True)

    org: str
    name: str = Field(alias="orgName")
    created: Annotated[datetime, Format.EPOCH_SECONDS]

    primary = Key(pk="ORG#{org}", sk="META", store_fields=False)


class Member(Model, table=legacy, entity="member"):
    org: str
    user_id: str
    email: str
    role: str = "member"
    joined: Annotated[datetime, Format.EPOCH_SECONDS]

    primary = Key(pk="ORG#{org}", sk="USER#{user_id}", store_fields=False)
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="ORG#{org}")


class Invoice(Model, table=legacy, entity="invoice"):
    org: str
    month: str
    invoice_id: str
    total: Decimal
    paid: Annotated[bool, Format.BOOL_AS_NUMBER] = False

    primary = Key(pk="ORG#{org}", sk="INV#{month}#{invoice_id}", store_fields=False)


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


#: items of the other service that no model describes (one under the members' prefix)
STRAYS = {("ORG#acme", "AUDIT#2026-11-30#1"), ("ORG#acme", "USER#u1#PREFS")}


@pytest.fixture
def raw(dynamodb_endpoint: str) -> Any:
    """A plain boto3 DynamoDB client: the other service, and the reference of every read."""
    return boto3.client("dynamodb", endpoint_url=dynamodb_endpoint, region_name="us-east-1")


def seed(table_name: str, raw: Any) -> None:
    """What PynamoDB code and another service wrote before dyntable came."""
    LegacyOrg(PK="ORG#acme", SK="META", org_name="Acme Ltd", created=at(1_700_000_000)).save()
    LegacyOrg(PK="ORG#beta", SK="META", org_name="Beta", created=at(1_700_000_100)).save()
    for org, user, joined in [("acme", "u1", 1_700_000_001), ("acme", "u2", 1_700_000_002),
                              ("beta", "u3", 1_700_000_003)]:
        LegacyMember(PK=f"ORG#{org}", SK=f"USER#{user}", email=f"{user}@{org}.io",
                     role="admin" if user == "u1" else "member", joined=at(joined),
                     GSI1PK=f"EMAIL#{user}@{org}.io", GSI1SK=f"ORG#{org}").save()
    LegacyInvoice(PK="ORG#acme", SK="INV#2026-01#i1", total=120.5, paid=1).save()
    LegacyInvoice(PK="ORG#acme", SK="INV#2026-02#i2", total=80).save()
    # another service: an attribute on a member, an audit item, a preferences item
    raw.update_item(TableName=table_name,
                    Key={"PK": {"S": "ORG#acme"}, "SK": {"S": "USER#u1"}},
                    UpdateExpression="SET crmId = :c",
                    ExpressionAttributeValues={":c": {"S": "CRM-1"}})
    raw.put_item(TableName=table_name, Item={"PK": {"S": "ORG#acme"},
                                             "SK": {"S": "AUDIT#2026-11-30#1"},
                                             "event": {"S": "login"}})
    raw.put_item(TableName=table_name, Item={"PK": {"S": "ORG#acme"},
                                             "SK": {"S": "USER#u1#PREFS"},
                                             "theme": {"S": "dark"}})


@pytest.fixture
def db(dynamodb_endpoint: str, unique_table_name: str, transport_name: str,
       raw: Any) -> Iterator[Client]:
    """A dyntable client on a table PynamoDB created and PynamoDB and boto3 filled."""
    bind(LegacyBase, unique_table_name, dynamodb_endpoint)
    LegacyMember.create_table(wait=True)          # key schema and GSI1 from PynamoDB
    seed(unique_table_name, raw)
    client: Client = connect(legacy, TRANSPORTS[transport_name](dynamodb_endpoint),
                             unique_table_name)
    yield client
    client.delete_table(wait=False)
    client.close()


def keys(items: list[Any]) -> set[KeyTuple]:
    """(PK, SK) of raw items or of dyntable objects."""
    out: set[KeyTuple] = set()
    for item in items:
        k = codec_for(type(item)).key_of(item) if isinstance(item, Model) else item
        out.add((k["PK"]["S"], k["SK"]["S"]))
    return out


def raw_query(raw: Any, table_name: str, condition: str, values: dict[str, str],
              index: str | None = None) -> set[KeyTuple]:
    """The keys raw boto3 reads for a key condition (every page, strongly consistent on the
    table)."""
    params: dict[str, Any] = {
        "TableName": table_name, "KeyConditionExpression": condition,
        "ExpressionAttributeValues": {k: {"S": v} for k, v in values.items()}}
    if index:
        params["IndexName"] = index
    else:
        params["ConsistentRead"] = True
    pages = raw.get_paginator("query").paginate(**params)
    return {(i["PK"]["S"], i["SK"]["S"]) for page in pages for i in page["Items"]}


def raw_scan(raw: Any, table_name: str, condition: str | None = None,
             values: dict[str, str] | None = None) -> set[KeyTuple]:
    params: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
    if condition:
        params["FilterExpression"] = condition
        params["ExpressionAttributeValues"] = {k: {"S": v} for k, v in (values or {}).items()}
    pages = raw.get_paginator("scan").paginate(**params)
    return {(i["PK"]["S"], i["SK"]["S"]) for page in pages for i in page["Items"]}


def raw_item(raw: Any, table_name: str, pk: str, sk: str) -> dict[str, Any]:
    got = raw.get_item(TableName=table_name, ConsistentRead=True,
                       Key={"PK": {"S": pk}, "SK": {"S": sk}})
    item: dict[str, Any] = got.get("Item", {})
    return item


def read_all(read: Any) -> tuple[set[KeyTuple], set[KeyTuple]]:
    """Run a query or scan to the end: (keys of its items, keys of the items it reported as
    matching no model)."""
    items = read.all()
    return keys(items), keys(read.unmatched)


# -- done when: reads return exactly what raw boto3 returns --------------------------------


def test_queries_return_exactly_what_boto3_returns(db: Client, raw: Any) -> None:
    t = db.table_name
    # the other service's USER#u1#PREFS sits under the members' prefix: reported, not kept
    with pytest.warns(UnmatchedItemWarning, match=r"met 1 item\(s\) that match no model"):
        members, unmatched = read_all(db.query(Member.primary, org="acme").consistent())
    expected = raw_query(raw, t, "PK = :p AND begins_with(SK, :s)",
                         {":p": "ORG#acme", ":s": "USER#"})
    assert members | unmatched == expected and not members & unmatched
    assert unmatched == {("ORG#acme", "USER#u1#PREFS")}
    assert members == {("ORG#acme", "USER#u1"), ("ORG#acme", "USER#u2")}

    cases: list[tuple[Any, str, dict[str, str], str | None]] = [
        (db.query(Invoice.primary, org="acme").consistent(),
         "PK = :p AND begins_with(SK, :s)", {":p": "ORG#acme", ":s": "INV#"}, None),
        (db.query(Invoice.primary, org="acme").begins_with(month="2026-02").consistent(),
         "PK = :p AND begins_with(SK, :s)", {":p": "ORG#acme", ":s": "INV#2026-02#"}, None),
        (db.query(Org.primary, org="beta").consistent(),
         "PK = :p AND SK = :s", {":p": "ORG#beta", ":s": "META"}, None),
        (db.query(Member.by_email, email="u3@beta.io"),
         "GSI1PK = :p", {":p": "EMAIL#u3@beta.io"}, "GSI1"),
    ]
    for read, condition, values, index in cases:
        found, none = read_all(read)
        assert none == set()
        assert found == raw_query(raw, t, condition, values, index), condition
    # the objects themselves: fields from the keys, the alias, the formats
    (org,) = db.query(Org.primary, org="acme").consistent().all()
    assert org == Org(org="acme", orgName="Acme Ltd", created=at(1_700_000_000))
    assert org.name == "Acme Ltd"
    assert db.query(Invoice.primary, org="acme").consistent().all() == [
        Invoice(org="acme", month="2026-01", invoice_id="i1", total=Decimal("120.5"),
                paid=True),
        Invoice(org="acme", month="2026-02", invoice_id="i2", total=Decimal(80), paid=False)]
    assert db.query(Member.by_email, email="u3@beta.io").all() == [
        Member(org="beta", user_id="u3", email="u3@beta.io", joined=at(1_700_000_003))]


def test_partiql_returns_exactly_what_boto3_returns(db: Client, raw: Any) -> None:
    t = db.table_name
    statement = f'SELECT * FROM "{t}" WHERE PK = ? AND begins_with(SK, ?)'
    with pytest.warns(UnmatchedItemWarning):
        members = db.execute_statement(statement, ["ORG#acme", "USER#"], model=Member,
                                       consistent=True)
    assert keys(members) == raw_query(raw, t, "PK = :p AND begins_with(SK, :s)",
                                      {":p": "ORG#acme", ":s": "USER#"}) - STRAYS
    assert all(isinstance(m, Member) for m in members)
    # without a model: typed objects, and the items no model fits as raw dicts
    everything = db.execute_statement(f'SELECT * FROM "{t}" WHERE PK = ?', ["ORG#acme"],
                                      consistent=True)
    assert keys(everything) == raw_query(raw, t, "PK = :p", {":p": "ORG#acme"})
    assert keys([x for x in everything if isinstance(x, dict)]) == STRAYS
    assert {type(x) for x in everything if not isinstance(x, dict)} == {Org, Member, Invoice}


def test_scans_return_exactly_what_boto3_returns(db: Client, raw: Any) -> None:
    t = db.table_name
    everything = raw_scan(raw, t)
    shapes: list[tuple[type[Model], str, dict[str, str]]] = [
        (Org, "SK = :s", {":s": "META"}),
        (Member, "begins_with(SK, :s)", {":s": "USER#"}),
        (Invoice, "begins_with(SK, :s)", {":s": "INV#"}),
    ]
    seen: set[KeyTuple] = set()
    for model, condition, values in shapes:
        # a scan reads the whole table: every item no model describes is reported
        with pytest.warns(UnmatchedItemWarning, match=r"met 2 item\(s\)"):
            found, unmatched = read_all(db.scan(model).consistent())
        assert unmatched == STRAYS
        assert found == raw_scan(raw, t, condition, values) - STRAYS, model.__name__
        assert not found & seen
        seen |= found
    assert seen | STRAYS == everything                 # nothing lost, nothing twice
    with pytest.warns(UnmatchedItemWarning):
        assert db.scan(Member).consistent().count() == 3


def test_collections_return_exactly_what_boto3_returns(db: Client, raw: Any) -> None:
    t = db.table_name
    col = db.collection(pk="ORG#acme", consistent=True)
    typed = col.of(Org) + col.of(Member) + col.of(Invoice)
    assert keys(typed) | keys(col.unknown) == raw_query(raw, t, "PK = :p", {":p": "ORG#acme"})
    assert keys(col.unknown) == STRAYS and col.errors == []
    assert [m.user_id for m in col.of(Member)] == ["u1", "u2"]
    beta = db.collection(Org.primary, org="beta", consistent=True)
    assert keys(beta.of(Org) + beta.of(Member)) == raw_query(raw, t, "PK = :p",
                                                            {":p": "ORG#beta"})
    assert beta.unknown == []
    by_email = db.collection(pk="EMAIL#u1@acme.io", index="GSI1")
    assert keys(by_email.of(Member)) == raw_query(raw, t, "GSI1PK = :p",
                                                  {":p": "EMAIL#u1@acme.io"}, "GSI1")
    assert by_email.unknown == []


# -- done when: read-modify-write keeps what it did not declare ------------------------------


def test_get_modify_put_keeps_the_other_services_attribute(db: Client, raw: Any) -> None:
    member = db.get(Member, org="acme", user_id="u1", consistent=True)
    assert member is not None and extra_attributes(member) == {"crmId": "CRM-1"}
    db.put(member.model_copy(update={"role": "owner"}))
    stored = raw_item(raw, db.table_name, "ORG#acme", "USER#u1")
    assert stored["crmId"] == {"S": "CRM-1"} and stored["role"] == {"S": "owner"}
    assert not {"org", "user_id", "_entity"} & set(stored)      # the layout is unchanged
    # the same through a query result, then an update
    with pytest.warns(UnmatchedItemWarning):       # the query meets USER#u1#PREFS
        (first, _) = db.query(Member.primary, org="acme").consistent().all()
    first.email = "ada@acme.io"
    db.put(first)
    db.update(first).set(role="admin").execute()
    stored = raw_item(raw, db.table_name, "ORG#acme", "USER#u1")
    assert stored["crmId"] == {"S": "CRM-1"} and stored["GSI1PK"] == {"S": "EMAIL#ada@acme.io"}
    assert LegacyMember.get("ORG#acme", "USER#u1", consistent_read=True).role == "admin"


# -- done when: PynamoDB reads what dyntable wrote ------------------------------------------


def test_pynamodb_reads_everything_dyntable_wrote(db: Client, raw: Any) -> None:
    t = db.table_name
    db.put(Org(org="gamma", orgName="Gamma", created=at(1_800_000_000)))
    db.put(Member(org="gamma", user_id="u9", email="u9@gamma.io", joined=at(1_800_000_009)))
    with db.batch_writer() as bw:
        bw.put(Invoice(org="gamma", month="2026-11", invoice_id="i9", total=Decimal("9.5")))
    with db.transaction() as tx:
        tx.put(Invoice(org="gamma", month="2026-12", invoice_id="i10", total=Decimal(10),
                       paid=True))
    db.update(Org, org="acme").set(name="Acme Group").execute()
    db.update(Invoice, org="acme", month="2026-02", invoice_id="i2").set(paid=True).execute()

    assert raw_item(raw, t, "ORG#gamma", "META") == {
        "PK": {"S": "ORG#gamma"}, "SK": {"S": "META"}, "orgName": {"S": "Gamma"},
        "created": {"N": "1800000000"}}
    org = LegacyOrg.get("ORG#gamma", "META", consistent_read=True)
    assert (org.org_name, org.created) == ("Gamma", at(1_800_000_000))
    assert LegacyOrg.get("ORG#acme", "META", consistent_read=True).org_name == "Acme Group"
    member = LegacyMember.get("ORG#gamma", "USER#u9", consistent_read=True)
    assert (member.email, member.role, member.joined) == ("u9@gamma.io", "member",
                                                          at(1_800_000_009))
    assert [m.SK for m in LegacyMember.by_email.query("EMAIL#u9@gamma.io")] == ["USER#u9"]
    invoices = list(LegacyInvoice.query("ORG#gamma", LegacyInvoice.SK.startswith("INV#"),
                                        consistent_read=True))
    assert [(i.SK, i.total, i.paid) for i in invoices] == [
        ("INV#2026-11#i9", 9.5, 0), ("INV#2026-12#i10", 10, 1)]
    assert LegacyInvoice.get("ORG#acme", "INV#2026-02#i2", consistent_read=True).paid == 1
    # PynamoDB's own count of each layout agrees with dyntable's
    assert LegacyMember.count("ORG#gamma", LegacyMember.SK.startswith("USER#"),
                              consistent_read=True) == 1
    assert all("_entity" not in raw_item(raw, t, pk, sk)
               for pk, sk in raw_scan(raw, t))


# -- the silent failures of the issue, one test each ---------------------------------------

adopted = Table("adopted")  # the default entity attribute, _entity


class Customer(Model, table=adopted, entity="customer"):
    username: str
    name: str = ""

    primary = Key(pk="CUSTOMER#{username}", sk="PROFILE")


class Purchase(Model, table=adopted, entity="purchase"):
    username: str
    purchase_id: str
    total: Decimal

    primary = Key(pk="CUSTOMER#{username}", sk="PURCHASE#{purchase_id}")


lone = Table("lone", entity_attribute=None)


class Device(Model, table=lone, entity="device"):
    device_id: str
    label: str

    primary = Key(pk="DEVICE#{device_id}", sk="DEVICE")


@pytest.fixture
def endpoint(dynamodb_endpoint: str) -> str:
    return dynamodb_endpoint


@pytest.fixture
def new_table(endpoint: str) -> Iterator[Callable[[Table], Client]]:
    """Creates a fresh table for a declaration (boto3 transport); deletes it after."""
    made: list[Client] = []

    def make(table: Table) -> Client:
        client = table.connect(transport=Boto3Transport(endpoint_url=endpoint,
                                                        region="us-east-1"),
                               table_name=f"dyntable-test-{uuid.uuid4().hex[:12]}")
        client.create_table()
        made.append(client)
        return client

    yield make
    for client in made:
        client.delete_table(wait=False)
        client.close()


def put_raw(db: Client, item: dict[str, Any]) -> None:
    db.send("PutItem", {"TableName": db.table_name, "Item": item})


def test_items_lacking_the_entity_attribute_are_found(new_table: Callable[[Table], Client]
                                                       ) -> None:
    # Before: query and scan filtered on _entity and returned [], silently.
    db = new_table(adopted)
    put_raw(db, {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "PROFILE"},
                 "username": {"S": "ada"}, "name": {"S": "Ada"}})
    for i in range(2):
        put_raw(db, {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": f"PURCHASE#p{i}"},
                     "username": {"S": "ada"}, "purchase_id": {"S": f"p{i}"},
                     "total": {"N": str(i + 1)}})
    expected = [Purchase(username="ada", purchase_id=f"p{i}", total=Decimal(i + 1))
                for i in range(2)]
    assert db.query(Purchase.primary, username="ada").all() == expected
    assert db.scan(Purchase).all() == expected
    assert db.scan(Customer).all() == [Customer(username="ada", name="Ada")]
    col = db.collection(Customer.primary, username="ada")
    assert col.of(Purchase) == expected and col.unknown == []


def test_a_table_without_entity_attribute_works(new_table: Callable[[Table], Client]) -> None:
    # Before: Table(entity_attribute=None) was accepted, and the first put raised
    # TypeError: object of type 'NoneType' has no len().
    db = new_table(lone)
    db.put(Device(device_id="d1", label="kitchen"))
    assert db.get(Device, device_id="d1") == Device(device_id="d1", label="kitchen")
    item = db.send("GetItem", {"TableName": db.table_name,
                               "Key": {"PK": {"S": "DEVICE#d1"}, "SK": {"S": "DEVICE"}}})["Item"]
    assert set(item) == {"PK", "SK", "device_id", "label"}
    assert db.query(Device.primary, device_id="d1").all() == [
        Device(device_id="d1", label="kitchen")]
    assert db.scan(Device).all() == [Device(device_id="d1", label="kitchen")]


def test_a_field_only_inside_the_key_decodes_in_a_full_get(
        new_table: Callable[[Table], Client]) -> None:
    # Before: DecodeError "username: Field required" (only partial reads parsed keys).
    db = new_table(adopted)
    put_raw(db, {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "PURCHASE#p1"},
                 "_entity": {"S": "purchase"}, "total": {"N": "5"}})
    expected = Purchase(username="ada", purchase_id="p1", total=Decimal(5))
    assert db.get(Purchase, username="ada", purchase_id="p1") == expected
    assert db.query(Purchase.primary, username="ada").all() == [expected]


def test_a_field_alias_names_the_attribute(new_table: Callable[[Table], Client]) -> None:
    # Before: DeclarationError, aliases were refused.
    aliased = Table("aliased")

    class Company(Model, table=aliased, entity="company"):
        company_id: str
        name: str = Field(alias="companyName")

        primary = Key(pk="COMPANY#{company_id}", sk="COMPANY")

    db = new_table(aliased)
    db.put(Company(company_id="c1", companyName="Acme"))
    key = {"PK": {"S": "COMPANY#c1"}, "SK": {"S": "COMPANY"}}
    item = db.send("GetItem", {"TableName": db.table_name, "Key": key})["Item"]
    assert item["companyName"] == {"S": "Acme"} and "name" not in item
    db.update(Company, company_id="c1").set(name="Acme Ltd").condition(
        F.name == "Acme").execute()
    got = db.get(Company, company_id="c1")
    assert got is not None and got.name == "Acme Ltd"


def test_an_item_pynamodb_saved_without_entity_attribute_stays_visible(
        new_table: Callable[[Table], Client], endpoint: str) -> None:
    # Before: PynamoDB's save() replaced the item without _entity, and the item vanished
    # from dyntable's queries and scans.
    db = new_table(adopted)
    db.put(Customer(username="ada", name="Ada"))
    bind(LegacyBase, db.table_name, endpoint)
    pyn = PCustomer.get("CUSTOMER#ada", "PROFILE", consistent_read=True)
    pyn.name = "Ada Lovelace"
    pyn.save()
    item = db.send("GetItem", {"TableName": db.table_name, "ConsistentRead": True,
                               "Key": {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "PROFILE"}}})
    assert "_entity" not in item["Item"]
    expected = Customer(username="ada", name="Ada Lovelace")
    assert db.query(Customer.primary, username="ada").consistent().all() == [expected]
    assert db.scan(Customer).consistent().all() == [expected]
    assert db.get(Customer, username="ada", consistent=True) == expected


def test_pynamodb_reads_the_datetimes_dyntable_writes(
        new_table: Callable[[Table], Client], endpoint: str) -> None:
    # Before: dyntable wrote only "...Z" text, which PynamoDB's UTCDateTimeAttribute
    # refuses; Format.PYNAMODB writes its "%Y-%m-%dT%H:%M:%S.%f+0000".
    stamped = Table("stamped")

    class Login(Model, table=stamped, entity="login"):
        username: str
        name: str = ""
        at: Annotated[datetime, Format.PYNAMODB]

        primary = Key(pk="CUSTOMER#{username}", sk="PROFILE")

    from pynamodb.attributes import UTCDateTimeAttribute

    class PLogin(PCustomer):
        at = UTCDateTimeAttribute()

    db = new_table(stamped)
    when = datetime(2026, 11, 30, 12, 0, 1, 250000, tzinfo=timezone.utc)
    db.put(Login(username="ada", at=when))
    bind(LegacyBase, db.table_name, endpoint)
    assert PLogin.get("CUSTOMER#ada", "PROFILE", consistent_read=True).at == when


def test_get_then_put_keeps_undeclared_attributes(new_table: Callable[[Table], Client]
                                                  ) -> None:
    # Before: the put replaced the item with the model's attributes: crmId was deleted.
    db = new_table(adopted)
    db.put(Customer(username="ada", name="Ada"))
    key = {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "PROFILE"}}
    db.send("UpdateItem", {"TableName": db.table_name, "Key": key,
                           "UpdateExpression": "SET crmId = :c",
                           "ExpressionAttributeValues": {":c": {"S": "CRM-7"}}})
    ada = db.get(Customer, username="ada", consistent=True)
    assert ada is not None
    ada.name = "Ada Lovelace"
    db.put(ada)
    item = db.send("GetItem", {"TableName": db.table_name, "ConsistentRead": True,
                               "Key": key})["Item"]
    assert item["crmId"] == {"S": "CRM-7"} and item["name"] == {"S": "Ada Lovelace"}
