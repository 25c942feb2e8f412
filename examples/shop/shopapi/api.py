"""The REST API's Lambda handler: ``shopapi.api.handler``.

Routes (every one under ``/tenants/{tenant}``, the tenant of the caller's token):

    POST   /customers                          create a customer
    GET    /customers?cursor=&limit=           list customers, a page at a time
    GET    /customers/{customer_id}            one customer (ETag: its version)
    PATCH  /customers/{customer_id}            change it (If-Match or "version"; 409 if stale)
    DELETE /customers/{customer_id}            delete it (optional If-Match)
    PUT    /customers/{customer_id}/cart       replace the cart (expires after CART_TTL_HOURS)
    GET    /customers/{customer_id}/cart       the cart (404 once expired)
    GET    /customers/{customer_id}/orders     the customer's orders, a page at a time
    POST   /orders                             place an order (one transaction)
    GET    /orders/{order_id}                  an order with its items
    PATCH  /orders/{order_id}                  ship or cancel it (If-Match or "version")
    GET    /open-orders                        orders not shipped yet, oldest first
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from dyntable import F, Model, Page
from dyntable.errors import TransactionCanceledError
from dyntable.ttl import expires_in
from shopapi.db import database
from shopapi.http import HttpError, Request, error_response, json_response, parse_request
from shopapi.models import Cart, CartLine, Customer, Order, OrderItem
from shopapi.tenancy import acting_as

__all__ = ["ROUTES", "handler"]

CART_TTL_HOURS = 24
MAX_LINES = 25  # an order is one transaction: order + customer + lines <= 100 actions

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9-]{1,32}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Body(BaseModel):
    """Request bodies refuse unknown fields (a ``tenant`` among them)."""

    model_config = ConfigDict(extra="forbid")


class NewCustomer(Body):
    customer_id: Id
    email: Email
    name: Name


class CustomerChanges(Body):
    email: Email | None = None
    name: Name | None = None
    status: Literal["active", "suspended"] | None = None
    version: int | None = None


class CartItem(Body):
    sku: Sku
    quantity: int = Field(ge=1, le=1000)


class CartBody(Body):
    lines: list[CartItem] = Field(max_length=MAX_LINES)


class OrderLine(Body):
    sku: Sku
    quantity: int = Field(ge=1, le=1000)
    unit_price: Decimal = Field(gt=0, max_digits=12, decimal_places=2)


class NewOrder(Body):
    customer_id: Id
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES)

    @field_validator("lines")
    @classmethod
    def _one_line_per_sku(cls, lines: list[OrderLine]) -> list[OrderLine]:
        skus = [line.sku for line in lines]
        if len(set(skus)) != len(skus):
            raise ValueError("each sku may appear once")
        return lines


class OrderChanges(Body):
    status: Literal["shipped", "cancelled"]
    version: int | None = None


Route = Callable[[Request], dict[str, Any]]
ROUTES: dict[tuple[str, str], Route] = {}


def route(method: str, path: str) -> Callable[[Route], Route]:
    def register(fn: Route) -> Route:
        ROUTES[method, "/tenants/{tenant}" + path] = fn
        return fn

    return register


def _item(obj: Model, status: int = 200, **headers: str) -> dict[str, Any]:
    version = getattr(obj, "version", None)
    etag = {"ETag": f'"{version}"'} if version is not None else {}
    return json_response(status, obj.model_dump(mode="json"), {**etag, **headers})


def _page(page: Page[Any]) -> dict[str, Any]:
    items = [obj.model_dump(mode="json") for obj in page.items]
    return json_response(200, {"items": items, "next_cursor": page.cursor})


def _not_found(what: str) -> HttpError:
    return HttpError(404, "not_found", f"{what} not found")


# -- customers ---------------------------------------------------------------------------


@route("POST", "/customers")
def create_customer(req: Request) -> dict[str, Any]:
    body = req.json(NewCustomer)
    customer = Customer(tenant=req.tenant, **body.model_dump())
    database().put(customer)  # a new versioned object: ItemExistsError (409) if taken
    location = f"/tenants/{req.tenant}/customers/{customer.customer_id}"
    return _item(customer, 201, Location=location)


@route("GET", "/customers")
def list_customers(req: Request) -> dict[str, Any]:
    query = database().query(Customer.listing, tenant=req.tenant).limit(req.limit())
    return _page(query.page(req.cursor()))


@route("GET", "/customers/{customer_id}")
def get_customer(req: Request) -> dict[str, Any]:
    customer = database().get(Customer, tenant=req.tenant, customer_id=req.path_id("customer_id"))
    if customer is None:
        raise _not_found("customer")
    return _item(customer)


@route("PATCH", "/customers/{customer_id}")
def update_customer(req: Request) -> dict[str, Any]:
    body = req.json(CustomerChanges)
    expected = req.expected_version(body.version)
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    if not changes:
        raise HttpError(400, "validation_error", "nothing to change",
                        [{"field": "body", "message": "give email, name or status"}])
    update = database().update(Customer, tenant=req.tenant,
                               customer_id=req.path_id("customer_id"))
    # ItemNotFoundError -> 404, VersionConflictError -> 409 (http.error_response)
    return _item(update.expect_version(expected).set(**changes).execute())


@route("DELETE", "/customers/{customer_id}")
def delete_customer(req: Request) -> dict[str, Any]:
    db = database()
    customer = db.get(Customer, tenant=req.tenant, customer_id=req.path_id("customer_id"))
    if customer is None:
        raise _not_found("customer")
    if "if-match" in req.headers and req.expected_version(None) != customer.version:
        raise HttpError(409, "version_conflict", "changed since you read it: read it again")
    db.delete(customer)  # checks the version read above
    return json_response(204)


# -- carts -------------------------------------------------------------------------------


@route("PUT", "/customers/{customer_id}/cart")
def put_cart(req: Request) -> dict[str, Any]:
    body = req.json(CartBody)
    db = database()
    customer_id = req.path_id("customer_id")
    if db.get(Customer, tenant=req.tenant, customer_id=customer_id) is None:
        raise _not_found("customer")
    lines = [CartLine(**line.model_dump()) for line in body.lines]
    cart = Cart(tenant=req.tenant, customer_id=customer_id, lines=lines,
                expires_at=expires_in(hours=CART_TTL_HOURS))
    db.put(cart)
    return _item(cart)


@route("GET", "/customers/{customer_id}/cart")
def get_cart(req: Request) -> dict[str, Any]:
    cart = database().get(Cart, tenant=req.tenant, customer_id=req.path_id("customer_id"))
    if cart is None:  # never written, or expired (the client hides expired items)
        raise _not_found("cart")
    return _item(cart)


# -- orders ------------------------------------------------------------------------------


def new_order_id(now: datetime) -> str:
    """A unique id that sorts by time (orders list oldest first)."""
    return f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(6)}"


@route("POST", "/orders")
def place_order(req: Request) -> dict[str, Any]:
    body = req.json(NewOrder)
    now = datetime.now(timezone.utc)
    order_id = new_order_id(now)
    items = [OrderItem(tenant=req.tenant, order_id=order_id, **line.model_dump())
             for line in body.lines]
    order = Order(tenant=req.tenant, order_id=order_id, customer_id=body.customer_id,
                  placed_at=now, open_since=now, item_count=len(items),
                  total=sum((i.quantity * i.unit_price for i in items), Decimal(0)))
    try:
        with database().transaction() as tx:  # all of it, or nothing
            tx.put(order)
            for item in items:
                tx.put(item, if_absent=True)
            tx.update(Customer, tenant=req.tenant, customer_id=body.customer_id).add(
                order_count=1).condition(F.status == "active")
    except TransactionCanceledError as exc:
        for reason in exc.failed:
            if reason.model == "Customer" and reason.current is None:
                raise _not_found("customer") from None
            if reason.model == "Customer":
                raise HttpError(422, "customer_not_active",
                                "the customer may not place orders") from None
        raise
    return json_response(201, {"order": order.model_dump(mode="json"),
                               "items": [i.model_dump(mode="json") for i in items]},
                         {"ETag": f'"{order.version}"',
                          "Location": f"/tenants/{req.tenant}/orders/{order_id}"})


@route("GET", "/orders/{order_id}")
def get_order(req: Request) -> dict[str, Any]:
    found = database().collection(Order.primary, tenant=req.tenant,
                                  order_id=req.path_id("order_id"))
    orders = found.of(Order)
    if not orders:
        raise _not_found("order")
    items = [i.model_dump(mode="json") for i in found.of(OrderItem)]
    return json_response(200, {"order": orders[0].model_dump(mode="json"), "items": items},
                         {"ETag": f'"{orders[0].version}"'})


@route("PATCH", "/orders/{order_id}")
def update_order(req: Request) -> dict[str, Any]:
    body = req.json(OrderChanges)
    expected = req.expected_version(body.version)
    db = database()
    order = db.get(Order, tenant=req.tenant, order_id=req.path_id("order_id"))
    if order is None:
        raise _not_found("order")
    if order.version != expected:
        raise HttpError(409, "version_conflict", "changed since you read it: read it again")
    if order.status != "placed":
        raise HttpError(422, "order_closed", f"the order is {order.status} already")
    # open_since=None takes the order out of the sparse open-orders index
    return _item(db.update(order).set(status=body.status, open_since=None).execute())


@route("GET", "/customers/{customer_id}/orders")
def list_customer_orders(req: Request) -> dict[str, Any]:
    query = database().query(Order.by_customer, tenant=req.tenant,
                             customer_id=req.path_id("customer_id"))
    return _page(query.limit(req.limit()).page(req.cursor()))


@route("GET", "/open-orders")
def list_open_orders(req: Request) -> dict[str, Any]:
    query = database().query(Order.open_orders, tenant=req.tenant).limit(req.limit())
    return _page(query.page(req.cursor()))


# -- the handler -------------------------------------------------------------------------


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway's entry point (REST API or HTTP API proxy integration)."""
    request_id = getattr(context, "aws_request_id", None)
    try:
        req = parse_request(event)
        endpoint = ROUTES.get((req.method, req.route))
        if endpoint is None:
            if any(path == req.route for _, path in ROUTES):
                raise HttpError(405, "method_not_allowed", f"{req.method} is not allowed here")
            raise HttpError(404, "not_found", "no such route")
        with acting_as(req.tenant):
            return endpoint(req)
    except Exception as exc:
        return error_response(exc, request_id)
