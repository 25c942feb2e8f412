"""PynamoDB 6 models: the "other writer" of the interop and existing-table tests.

Two families, each on a table bound per test with :func:`bind` (PynamoDB reads
``Meta.table_name`` and ``Meta.host`` when it makes a model's connection, and makes a new one
when the table name changed):

- ``InteropBase`` and its subclasses: a polymorphic PynamoDB design (a
  ``DiscriminatorAttribute`` named ``cls``, a ``VersionAttribute``, a ``TTLAttribute``,
  ``UTCDateTimeAttribute`` datetimes), mirrored by the dyntable models of
  tests/integration/test_pynamodb_interop.py;
- ``LegacyBase`` and its subclasses: a table another team wrote with PynamoDB and boto3
  (no discriminator, fields only inside the key strings, a renamed attribute, datetimes as
  epoch seconds, booleans as numbers), adopted by tests/integration/test_existing_table.py;
  ``PCustomer`` there is PynamoDB code that saves an item dyntable wrote without knowing
  its ``_entity`` attribute.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.constants import NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

__all__ = [
    "EmailIndex",
    "InteropBase",
    "LegacyBase",
    "LegacyInvoice",
    "LegacyMember",
    "LegacyOrg",
    "PAccount",
    "PAddress",
    "PCustomer",
    "PInvite",
    "PNote",
    "bind",
    "paddress",
]

REGION = "us-east-1"


def bind(base: type[Model], table_name: str, host: str) -> None:
    """Point ``base`` and its subclasses (which share its ``Meta``) at one table."""
    base.Meta.table_name = table_name
    base.Meta.host = host


# -- a polymorphic PynamoDB design -----------------------------------------------------------


class PAddress(MapAttribute[str, Any]):
    street = UnicodeAttribute()
    city = UnicodeAttribute()


def paddress(street: str, city: str) -> PAddress:
    """A ``PAddress`` (PynamoDB's map attributes take untyped keyword arguments)."""
    return PAddress(street=street, city=city)  # type: ignore[no-untyped-call]


class AccountEmailIndex(GlobalSecondaryIndex["PAccount"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class InteropBase(Model):
    class Meta:
        table_name = "unbound"
        host: str | None = None
        region = REGION
        aws_access_key_id = "testing"
        aws_secret_access_key = "testing"

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    cls = DiscriminatorAttribute()


class PAccount(InteropBase, discriminator="account"):
    org = UnicodeAttribute()
    user_id = UnicodeAttribute()
    name = UnicodeAttribute(attr_name="dn")
    email = UnicodeAttribute()
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    active = BooleanAttribute(default=True)
    created = UTCDateTimeAttribute()
    last_seen = UTCDateTimeAttribute(null=True)
    logins = NumberAttribute(default=0)
    score = NumberAttribute(default=0)
    balance = NumberAttribute(default=0)
    tags = UnicodeSetAttribute(null=True)
    lucky = NumberSetAttribute(null=True)
    address = PAddress(null=True)  # type: ignore[no-untyped-call]
    prefs = MapAttribute[str, Any](default=dict)  # type: ignore[no-untyped-call]
    history = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    moves = ListAttribute[PAddress](of=PAddress, default=list)
    settings = JSONAttribute(null=True)
    avatar = BinaryAttribute(legacy_encoding=False, null=True)
    thumb = BinaryAttribute(legacy_encoding=True, null=True)    # PynamoDB 5's encoding
    version = VersionAttribute()
    expires = TTLAttribute(null=True)

    by_email = AccountEmailIndex()


class PNote(InteropBase, discriminator="note"):
    org = UnicodeAttribute()
    note_id = UnicodeAttribute()
    text = UnicodeAttribute()


class PInvite(InteropBase, discriminator="invite"):
    """A PynamoDB class the dyntable side does not declare."""

    org = UnicodeAttribute()
    invite_id = UnicodeAttribute()


# -- a table written by PynamoDB and boto3 code, without discriminator ------------------------


class EpochSecondsAttribute(Attribute[datetime]):
    """How the legacy code stores datetimes: N, whole seconds since the epoch."""

    attr_type = NUMBER

    def serialize(self, value: datetime) -> str:
        return str(int(value.timestamp()))

    def deserialize(self, value: str) -> datetime:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)


class LegacyBase(Model):
    class Meta:
        table_name = "unbound"
        host: str | None = None
        region = REGION
        aws_access_key_id = "testing"
        aws_secret_access_key = "testing"
        billing_mode = "PAY_PER_REQUEST"

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)


class LegacyOrg(LegacyBase):
    """PK ``ORG#<org>``, SK ``META``; the org name lives in ``orgName``."""

    org_name = UnicodeAttribute(attr_name="orgName")
    created = EpochSecondsAttribute()


class EmailIndex(GlobalSecondaryIndex["LegacyMember"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class LegacyMember(LegacyBase):
    """PK ``ORG#<org>``, SK ``USER#<user_id>``; GSI1: ``EMAIL#<email>`` / ``ORG#<org>``."""

    email = UnicodeAttribute()
    role = UnicodeAttribute(default="member")
    joined = EpochSecondsAttribute()
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()

    by_email = EmailIndex()


class LegacyInvoice(LegacyBase):
    """PK ``ORG#<org>``, SK ``INV#<month>#<invoice_id>``; ``paid`` is 0 or 1."""

    total = NumberAttribute()
    paid = NumberAttribute(default=0)


class PCustomer(LegacyBase):
    """PynamoDB code reading and saving an item dyntable wrote, unaware of its ``_entity``
    attribute (so ``save()``, a full-item put, drops it)."""

    username = UnicodeAttribute()
    name = UnicodeAttribute()
