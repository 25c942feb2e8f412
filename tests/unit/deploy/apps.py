"""A small multi-tenant application declared for the deploy tests."""

from __future__ import annotations

from decimal import Decimal

from dyntable import GSI, Key, Model, Table
from dyntable.deploy import (
    Access,
    Api,
    Application,
    Cognito,
    Function,
    StreamEvents,
    TenantIsolation,
)

saas = Table(
    "saas-shop",
    gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK"), GSI("GSI2", pk="GSI2PK", sk="GSI2SK")],
    stream="NEW_AND_OLD_IMAGES",
)


class Customer(Model, table=saas, entity="customer"):
    tenant: str
    customer_id: str
    email: str

    primary = Key(pk="TENANT#{tenant}#CUSTOMER#{customer_id}", sk="PROFILE")
    by_email = Key(index="GSI1", pk="TENANT#{tenant}#EMAIL", sk="{email}")


class Order(Model, table=saas, entity="order"):
    tenant: str
    customer_id: str
    order_id: str
    status: str
    total: Decimal

    primary = Key(pk="TENANT#{tenant}#CUSTOMER#{customer_id}", sk="ORDER#{order_id}")
    by_status = Key(index="GSI1", pk="TENANT#{tenant}#STATUS#{status}", sk="{order_id}")
    # Not tenant-led: an operator's global view, never for tenant-isolated functions.
    all_by_status = Key(index="GSI2", pk="STATUS#{status}", sk="{tenant}#{order_id}")


class Product(Model, table=saas, entity="product"):
    sku: str
    title: str

    primary = Key(pk="PRODUCT#{sku}", sk="PRODUCT")


class Counter(Model, table=saas, entity="counter"):
    tenant: str
    name: str
    value: int = 0

    primary = Key(pk="TENANT#{tenant}", sk="COUNTER#{name}")


TENANT = TenantIsolation(field="tenant", tag="tenant")

api = Function(
    "api", handler="app.api.handler", code_uri="src",
    access=[
        Access(Customer, read=True, write=True, indexes=("GSI1",)),
        Access(Order, read=True, write=True, delete=True, indexes=("GSI1",), transactions=True),
        Access(Product, read=True, shared=True),
    ],
    routes=["ANY /{proxy+}"], tenant=TENANT,
)
stream = Function(
    "stream", handler="app.stream.handler", code_uri="src", timeout=60,
    access=[Access(Counter, read=True, write=True)],
    stream=StreamEvents(models=(Order,), batch_size=50, maximum_retry_attempts=3),
)
application = Application(table=saas, functions=[api, stream], api=Api(kind="rest"))
http_application = Application(
    table=saas, functions=[api, stream],
    api=Api(kind="http", auth=Cognito(user_pool_arn="parameter")))
