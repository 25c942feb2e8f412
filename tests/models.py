"""A realistic single-table model used across the test suite.

Four entities share table ``shop``: customers, orders, order lines and products; GSI1 (ALL)
serves look-ups by e-mail and by order status, GSI2 is a sparse index of orders awaiting
shipment (only orders with ``ship_by`` set appear), and LSI1 orders a customer's orders by
total.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel

from dyntable import GSI, LSI, TTL, Key, Model, Table, Version

shop = Table(
    "shop",
    pk="PK",
    sk="SK",
    gsis=[
        GSI("GSI1", pk="GSI1PK", sk="GSI1SK"),
        GSI("GSI2", pk="GSI2PK", sk="GSI2SK", projection=["status", "total"]),
    ],
    lsis=[LSI("LSI1", sk="LSI1SK")],
    ttl="expires_at",
    stream="NEW_AND_OLD_IMAGES",
)


class Address(BaseModel):
    street: str
    city: str
    postcode: str | None = None


class Tier(enum.Enum):
    FREE = "free"
    GOLD = "gold"


class Customer(Model, table=shop, entity="customer"):
    username: str
    email: str
    name: str
    tier: Tier = Tier.FREE
    address: Address | None = None
    tags: set[str] = set()
    order_count: int = 0
    version: Annotated[int, Version] = 0

    primary = Key(pk="CUSTOMER#{username}", sk="CUSTOMER#{username}")
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="EMAIL#{email}")


class Order(Model, table=shop, entity="order"):
    username: str
    order_id: str
    status: Literal["PLACED", "SHIPPED", "DELIVERED"]
    placed_at: datetime
    total: Decimal
    ship_by: date | None = None
    note: str | None = None
    expires_at: Annotated[datetime | None, TTL] = None

    primary = Key(pk="CUSTOMER#{username}", sk="ORDER#{placed_at}#{order_id}")
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="{placed_at}#{order_id}")
    awaiting_shipment = Key(index="GSI2", pk="SHIPBY", sk="{ship_by}#{order_id}")
    by_total = Key(index="LSI1", sk="TOTAL#{total}")


class OrderLine(Model, table=shop, entity="order_line"):
    username: str
    order_id: str
    line: int
    sku: str
    quantity: int
    price: Decimal
    attributes: dict[str, Any] = {}

    primary = Key(pk="CUSTOMER#{username}", sk="LINE#{order_id}#{line:04d}")


class Product(Model, table=shop, entity="product"):
    sku: str
    title: str
    price: Decimal
    stock: int = 0
    categories: list[str] = []
    version: Annotated[int, Version] = 0

    primary = Key(pk="PRODUCT#{sku}", sk="PRODUCT")
