"""The shop's single table and its entities.

Every key (table and index) starts with ``TENANT#{tenant}#``, so one tenant's items never
share a partition with another's, and IAM can hold a function to one tenant's items with
``dynamodb:LeadingKeys`` (``TENANT#<claim>#*``).

Access patterns:

| pattern                        | key                                                   |
| ------------------------------ | ----------------------------------------------------- |
| a customer                     | ``TENANT#t#CUSTOMER#c`` / ``CUSTOMER``                |
| a customer's cart (expires)    | ``TENANT#t#CUSTOMER#c`` / ``CART``                    |
| a tenant's customers           | GSI1 ``TENANT#t#CUSTOMERS`` / ``CUSTOMER#c``          |
| an order and its items         | ``TENANT#t#ORDER#o`` / ``ORDER``, ``ITEM#sku``        |
| a customer's orders            | GSI1 ``TENANT#t#CUSTOMER#c`` / ``ORDER#o``            |
| a tenant's open orders, oldest | GSI2 (sparse) ``TENANT#t#OPEN`` / ``<open_since>#o``  |
| a tenant's outbox              | ``TENANT#t#OUTBOX`` / ``ORDER_PLACED#o``              |
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, PlainSerializer

from dyntable import GSI, Key, Model, Table, Version

__all__ = [
    "Cart",
    "CartLine",
    "Customer",
    "Money",
    "Order",
    "OrderItem",
    "OutboxMessage",
    "shop_table",
]

#: An amount of money: a Decimal, stored as a DynamoDB number, sent as JSON text "64.30".
Money = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str,
                                           when_used="json")]

shop_table = Table(
    "shop",  # the physical name comes from $TABLE_NAME at run time (shopapi.db)
    pk="PK",
    sk="SK",
    gsis=[
        GSI("GSI1", pk="GSI1PK", sk="GSI1SK"),
        GSI("GSI2", pk="GSI2PK", sk="GSI2SK"),  # sparse: only open orders have GSI2 keys
    ],
    ttl="expires_at",
    stream="NEW_AND_OLD_IMAGES",
)


class Customer(Model, table=shop_table, entity="customer"):
    """A tenant's customer; ``version`` guards concurrent edits (409 on conflict)."""

    tenant: str
    customer_id: str
    email: str
    name: str
    status: Literal["active", "suspended"] = "active"
    order_count: int = 0
    version: Annotated[int, Version] = 0

    primary = Key(pk="TENANT#{tenant}#CUSTOMER#{customer_id}", sk="CUSTOMER")
    listing = Key(index="GSI1", pk="TENANT#{tenant}#CUSTOMERS", sk="CUSTOMER#{customer_id}")


class CartLine(BaseModel):
    """One line of a cart."""

    sku: str
    quantity: int


class Cart(Model, table=shop_table, entity="cart"):
    """A customer's cart; DynamoDB deletes it after ``expires_at`` (the table's TTL)."""

    tenant: str
    customer_id: str
    lines: list[CartLine] = []
    expires_at: datetime

    primary = Key(pk="TENANT#{tenant}#CUSTOMER#{customer_id}", sk="CART")


class Order(Model, table=shop_table, entity="order"):
    """An order; ``open_since`` is set while it is open, which puts it in GSI2."""

    tenant: str
    order_id: str
    customer_id: str
    status: Literal["placed", "shipped", "cancelled"] = "placed"
    placed_at: datetime
    total: Money
    item_count: int
    open_since: datetime | None = None
    version: Annotated[int, Version] = 0

    primary = Key(pk="TENANT#{tenant}#ORDER#{order_id}", sk="ORDER")
    by_customer = Key(
        index="GSI1", pk="TENANT#{tenant}#CUSTOMER#{customer_id}", sk="ORDER#{order_id}"
    )
    open_orders = Key(index="GSI2", pk="TENANT#{tenant}#OPEN", sk="{open_since}#{order_id}")


class OrderItem(Model, table=shop_table, entity="order_item"):
    """One line of an order, stored beside the order (one query reads both)."""

    tenant: str
    order_id: str
    sku: str
    quantity: int
    unit_price: Money

    primary = Key(pk="TENANT#{tenant}#ORDER#{order_id}", sk="ITEM#{sku}")


class OutboxMessage(Model, table=shop_table, entity="outbox"):
    """A message for other systems, written by the stream function (one per event)."""

    tenant: str
    topic: Literal["order_placed"]
    order_id: str
    customer_id: str
    total: Money
    created_at: datetime
    expires_at: datetime

    primary = Key(pk="TENANT#{tenant}#OUTBOX", sk="ORDER_PLACED#{order_id}")
