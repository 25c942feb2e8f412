"""The shop as a serverless application: what ``dyntable export sam`` deploys.

Two functions over ``shop_table``:

- ``api`` serves the REST API behind a Cognito user pool authorizer (the tenant comes from
  the ``custom:tenant`` claim). Its item access is confined to the caller's tenant by
  ``dynamodb:LeadingKeys``: every key it touches starts with ``TENANT#{tenant}#``. The
  policy sits on a tenant role the function assumes with the tenant as session tag (its
  own role may only do that), see docs/deploy.md.
- ``stream`` turns each order placed into an outbox message; it reads every tenant's
  records, so it is not tenant-isolated, and only order inserts reach it.

Regenerate the template after changing this file (a test checks it is current)::

    dyntable export sam --app shopapi.deploy:application -o template.yaml
"""

from __future__ import annotations

from dyntable.deploy import Access, Api, Application, Function, StreamEvents, TenantIsolation
from shopapi.api import ROUTES
from shopapi.models import Cart, Customer, Order, OrderItem, OutboxMessage, shop_table

__all__ = ["application"]

api = Function(
    "api",
    handler="shopapi.api.handler",
    code_uri=".",
    routes=[f"{method} {path}" for method, path in ROUTES],
    access=[
        Access(Customer, read=True, write=True, delete=True, indexes=("GSI1",),
               transactions=True),
        Access(Cart, read=True, write=True),
        Access(Order, read=True, write=True, indexes=("GSI1", "GSI2"), transactions=True),
        Access(OrderItem, read=True, write=True, transactions=True),
    ],
    tenant=TenantIsolation(field="tenant", tag="tenant"),
)

stream = Function(
    "stream",
    handler="shopapi.stream.handler",
    code_uri=".",
    timeout=60,
    access=[Access(OutboxMessage, write=True)],
    # only order inserts reach it (a Lambda filter on the stream records)
    stream=StreamEvents(models=(Order,), event_names=("INSERT",), batch_size=100,
                        maximum_retry_attempts=5),
)

application = Application(
    table=shop_table,
    functions=[api, stream],
    api=Api(kind="rest"),
    description="shop: a multi-tenant REST API on one DynamoDB table (dyntable example)",
)
