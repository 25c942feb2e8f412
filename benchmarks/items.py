"""The benchmark item: one realistic 15-attribute invoice, written the way each contender would.

Every contender stores the same data with the same key layout (``PK`` = ``TENANT#<tenant>``,
``SK`` = ``INVOICE#<id>``, plus an entity attribute) and reads it back as typed objects:

* dyntable: the :class:`Invoice` model (pydantic, validated on decode);
* raw boto3: hand-written AttributeValue dicts <-> the :class:`Row` dataclass;
* boto3 resource layer: plain Python dicts through boto3's TypeSerializer/Deserializer,
  converted to :class:`Row`;
* PynamoDB and pydynox: their own model classes (built by factories, since the table name
  and endpoint are only known at run time).

Attributes: ``PK``, ``SK``, ``_entity``, tenant, invoice_id, customer, email (strings),
quantity, weight_grams (ints), total (Decimal), paid (bool), issued_at (datetime),
lines (list), address (nested map), tags (string set).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from dyntable import Key, Model, Table

__all__ = [
    "ENTITY",
    "Address",
    "Invoice",
    "Row",
    "bench_table",
    "make_rows",
    "pydynox_model",
    "pynamodb_model",
    "raw_decode",
    "raw_encode",
    "raw_key",
    "resource_decode",
    "resource_encode",
    "to_dyntable",
    "to_pydynox",
    "to_pynamodb",
]

ENTITY = "invoice"
AV = dict[str, Any]

bench_table = Table("bench", pk="PK", sk="SK")


class Address(BaseModel):
    """The nested map."""

    street: str
    city: str
    postcode: str


class Invoice(Model, table=bench_table, entity=ENTITY):
    """The dyntable model of the benchmark item."""

    tenant: str
    invoice_id: str
    customer: str
    email: str
    quantity: int
    weight_grams: int
    total: Decimal
    paid: bool
    issued_at: datetime
    lines: list[str]
    address: Address
    tags: set[str]

    primary = Key(pk="TENANT#{tenant}", sk="INVOICE#{invoice_id}")


@dataclass(slots=True)
class Row:
    """The plain typed object the hand-written (raw) and resource-layer code produce."""

    tenant: str
    invoice_id: str
    customer: str
    email: str
    quantity: int
    weight_grams: int
    total: Decimal
    paid: bool
    issued_at: datetime
    lines: list[str]
    address: dict[str, str]
    tags: set[str]


def make_rows(count: int, tenant: str = "acme") -> list[Row]:
    """``count`` distinct rows of one tenant (one partition)."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [
        Row(
            tenant=tenant,
            invoice_id=f"{i:08d}",
            customer=f"Customer number {i}",
            email=f"customer{i}@example.com",
            quantity=i % 17 + 1,
            weight_grams=1000 + i,
            total=Decimal(f"{i % 9973}.{i % 100:02d}"),
            paid=i % 2 == 0,
            issued_at=start + timedelta(minutes=i),
            lines=[f"SKU-{i % 50:04d}", f"SKU-{(i * 7) % 50:04d}", "SHIPPING"],
            address={"street": f"{i} Main Street", "city": "Springfield", "postcode": "12345"},
            tags={"b2b", "priority", f"region-{i % 5}"},
        )
        for i in range(count)
    ]


# -- raw boto3: hand-written AttributeValues --------------------------------------------


def raw_key(tenant: str, invoice_id: str) -> dict[str, AV]:
    """The primary key in wire form."""
    return {"PK": {"S": "TENANT#" + tenant}, "SK": {"S": "INVOICE#" + invoice_id}}


def raw_encode(row: Row) -> dict[str, AV]:
    """A row as a DynamoDB item, written by hand."""
    return {
        "PK": {"S": "TENANT#" + row.tenant},
        "SK": {"S": "INVOICE#" + row.invoice_id},
        "_entity": {"S": ENTITY},
        "tenant": {"S": row.tenant},
        "invoice_id": {"S": row.invoice_id},
        "customer": {"S": row.customer},
        "email": {"S": row.email},
        "quantity": {"N": str(row.quantity)},
        "weight_grams": {"N": str(row.weight_grams)},
        "total": {"N": str(row.total)},
        "paid": {"BOOL": row.paid},
        "issued_at": {"S": row.issued_at.isoformat()},
        "lines": {"L": [{"S": s} for s in row.lines]},
        "address": {"M": {k: {"S": v} for k, v in row.address.items()}},
        "tags": {"SS": list(row.tags)},
    }


def raw_decode(item: dict[str, AV]) -> Row:
    """A DynamoDB item read back into a row, by hand."""
    return Row(
        tenant=item["tenant"]["S"],
        invoice_id=item["invoice_id"]["S"],
        customer=item["customer"]["S"],
        email=item["email"]["S"],
        quantity=int(item["quantity"]["N"]),
        weight_grams=int(item["weight_grams"]["N"]),
        total=Decimal(item["total"]["N"]),
        paid=item["paid"]["BOOL"],
        issued_at=datetime.fromisoformat(item["issued_at"]["S"]),
        lines=[v["S"] for v in item["lines"]["L"]],
        address={k: v["S"] for k, v in item["address"]["M"].items()},
        tags=set(item["tags"]["SS"]),
    )


# -- boto3 resource layer: plain Python dicts ---------------------------------------------


def resource_item(row: Row) -> dict[str, Any]:
    """A row as the plain dict the resource layer's ``Table.put_item`` takes."""
    return {
        "PK": "TENANT#" + row.tenant,
        "SK": "INVOICE#" + row.invoice_id,
        "_entity": ENTITY,
        "tenant": row.tenant,
        "invoice_id": row.invoice_id,
        "customer": row.customer,
        "email": row.email,
        "quantity": row.quantity,
        "weight_grams": row.weight_grams,
        "total": row.total,
        "paid": row.paid,
        "issued_at": row.issued_at.isoformat(),
        "lines": row.lines,
        "address": row.address,
        "tags": row.tags,
    }


def resource_row(data: dict[str, Any]) -> Row:
    """A row from the plain dict the resource layer returns (numbers come as Decimal)."""
    return Row(
        tenant=data["tenant"],
        invoice_id=data["invoice_id"],
        customer=data["customer"],
        email=data["email"],
        quantity=int(data["quantity"]),
        weight_grams=int(data["weight_grams"]),
        total=data["total"],
        paid=data["paid"],
        issued_at=datetime.fromisoformat(data["issued_at"]),
        lines=list(data["lines"]),
        address=dict(data["address"]),
        tags=set(data["tags"]),
    )


def resource_encode(row: Row, serialize: Any) -> dict[str, AV]:
    """What the resource layer does on a write: plain dict, then TypeSerializer per value."""
    return {k: serialize(v) for k, v in resource_item(row).items()}


def resource_decode(item: dict[str, AV], deserialize: Any) -> Row:
    """What the resource layer does on a read (TypeDeserializer), then the row."""
    return resource_row({k: deserialize(v) for k, v in item.items()})


# -- dyntable ----------------------------------------------------------------------------


def to_dyntable(row: Row) -> Invoice:
    """The dyntable instance of a row."""
    return Invoice(
        tenant=row.tenant,
        invoice_id=row.invoice_id,
        customer=row.customer,
        email=row.email,
        quantity=row.quantity,
        weight_grams=row.weight_grams,
        total=row.total,
        paid=row.paid,
        issued_at=row.issued_at,
        lines=row.lines,
        address=Address(**row.address),
        tags=row.tags,
    )


# -- PynamoDB ----------------------------------------------------------------------------


def pynamodb_model(table_name: str, host: str | None = None, region: str = "us-east-1") -> Any:
    """A PynamoDB model class of the item bound to ``table_name`` (PynamoDB has no Decimal
    attribute: ``total`` is a float there)."""
    from pynamodb.attributes import (
        BooleanAttribute,
        ListAttribute,
        MapAttribute,
        NumberAttribute,
        UnicodeAttribute,
        UnicodeSetAttribute,
        UTCDateTimeAttribute,
    )
    from pynamodb.models import Model as PynamoModel

    name, endpoint, region_name = table_name, host, region

    class PAddress(MapAttribute):  # type: ignore[type-arg]
        street = UnicodeAttribute()
        city = UnicodeAttribute()
        postcode = UnicodeAttribute()

    class PInvoice(PynamoModel):
        class Meta:
            table_name = name
            region = region_name
            host = endpoint
            aws_access_key_id = "bench"
            aws_secret_access_key = "bench"

        PK = UnicodeAttribute(hash_key=True)
        SK = UnicodeAttribute(range_key=True)
        entity = UnicodeAttribute(attr_name="_entity")
        tenant = UnicodeAttribute()
        invoice_id = UnicodeAttribute()
        customer = UnicodeAttribute()
        email = UnicodeAttribute()
        quantity = NumberAttribute()
        weight_grams = NumberAttribute()
        total = NumberAttribute()
        paid = BooleanAttribute()
        issued_at = UTCDateTimeAttribute()
        lines = ListAttribute(of=UnicodeAttribute)
        address = PAddress()  # type: ignore[no-untyped-call]
        tags = UnicodeSetAttribute()

    return PInvoice


def to_pynamodb(model: Any, row: Row) -> Any:
    """The PynamoDB instance of a row."""
    return model(
        PK="TENANT#" + row.tenant,
        SK="INVOICE#" + row.invoice_id,
        entity=ENTITY,
        tenant=row.tenant,
        invoice_id=row.invoice_id,
        customer=row.customer,
        email=row.email,
        quantity=row.quantity,
        weight_grams=row.weight_grams,
        total=float(row.total),
        paid=row.paid,
        issued_at=row.issued_at,
        lines=row.lines,
        address=dict(row.address),
        tags=row.tags,
    )


# -- pydynox -----------------------------------------------------------------------------


def pydynox_model(table_name: str, client: Any = None) -> Any:
    """A pydynox model class of the item bound to ``table_name`` (key templates as in
    dyntable; the address is a plain map)."""
    from pydynox import Model as PydynoxModel
    from pydynox import ModelConfig
    from pydynox.attributes import (
        BooleanAttribute,
        DatetimeAttribute,
        DecimalAttribute,
        ListAttribute,
        MapAttribute,
        NumberAttribute,
        StringAttribute,
        StringSetAttribute,
    )

    class XInvoice(PydynoxModel):
        model_config = ModelConfig(table=table_name, client=client)

        PK = StringAttribute(partition_key=True, template="TENANT#{tenant}")
        SK = StringAttribute(sort_key=True, template="INVOICE#{invoice_id}")
        entity = StringAttribute(alias="_entity")
        tenant = StringAttribute()
        invoice_id = StringAttribute()
        customer = StringAttribute()
        email = StringAttribute()
        quantity = NumberAttribute()
        weight_grams = NumberAttribute()
        total = DecimalAttribute()
        paid = BooleanAttribute()
        issued_at = DatetimeAttribute()
        lines = ListAttribute()
        address = MapAttribute()
        tags = StringSetAttribute()

    return XInvoice


def to_pydynox(model: Any, row: Row) -> Any:
    """The pydynox instance of a row."""
    return model(
        entity=ENTITY,
        tenant=row.tenant,
        invoice_id=row.invoice_id,
        customer=row.customer,
        email=row.email,
        quantity=row.quantity,
        weight_grams=row.weight_grams,
        total=row.total,
        paid=row.paid,
        issued_at=row.issued_at,
        lines=row.lines,
        address=dict(row.address),
        tags=row.tags,
    )
