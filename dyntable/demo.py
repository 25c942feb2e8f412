"""A short single-table walkthrough, run by ``dyntable demo``.

It declares a tiny shop (customers and orders in one table), creates the table, writes,
reads, queries by key and by index, paginates, updates with optimistic locking, runs a
transaction and a batch write, shows a collection and a failed condition, then deletes the
table. Every step prints what it does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Literal

from dyntable.client import Client
from dyntable.errors import ConditionalCheckFailedError, VersionConflictError
from dyntable.expressions.paths import F
from dyntable.schema.keys import Key
from dyntable.schema.model import Model, Version
from dyntable.schema.table import GSI
from dyntable.table import Table

__all__ = ["Customer", "Order", "demo_table", "run_demo"]

demo_table = Table(
    "dyntable-demo",
    pk="PK",
    sk="SK",
    gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK")],
    ttl="expires_at",
)


class Customer(Model, table=demo_table, entity="customer"):
    """A shop customer."""

    username: str
    email: str
    name: str
    order_count: int = 0
    version: Annotated[int, Version] = 0

    primary = Key(pk="CUSTOMER#{username}", sk="CUSTOMER#{username}")
    by_email = Key(index="GSI1", pk="EMAIL#{email}", sk="EMAIL#{email}")


class Order(Model, table=demo_table, entity="order"):
    """An order, stored in its customer's partition."""

    username: str
    order_id: str
    status: Literal["PLACED", "SHIPPED", "DELIVERED"]
    placed_at: datetime
    total: Decimal
    expires_at: datetime | None = None

    primary = Key(pk="CUSTOMER#{username}", sk="ORDER#{placed_at}#{order_id}")
    by_status = Key(index="GSI1", pk="STATUS#{status}", sk="{placed_at}#{order_id}")


def run_demo(db: Client, echo: Callable[[str], None] = print) -> dict[str, int]:
    """Run the walkthrough on ``db`` (a client of :data:`demo_table`); return a few counts."""
    step = _Stepper(echo)
    step("create table", f"{db.table_name} (PK/SK, GSI1, TTL on expires_at)")
    db.create_table()

    ada = Customer(username="ada", email="ada@example.com", name="Ada Lovelace")
    db.put(ada)
    step("put", f"customer ada, stored at version {ada.version}")

    start = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
    orders = [
        Order(username="ada", order_id=f"o{i}", status="PLACED" if i % 2 else "SHIPPED",
              placed_at=start + timedelta(days=i * 7), total=Decimal("19.90") * (i + 1))
        for i in range(5)
    ]
    for order in orders:
        db.put(order)
    step("put", f"{len(orders)} orders in ada's partition")

    got = db.get(Customer, username="ada")
    step("get", f"Customer(username='ada') -> {got.name if got else None!r}")

    november = db.query(Order.primary, username="ada").begins_with(placed_at="2026-11").all()
    step("query", f"ada's orders placed in 2026-11 (sort-key prefix): "
         f"{[o.order_id for o in november]}")

    placed = db.query(Order.by_status, status="PLACED").where(F.total > 30).all()
    step("query GSI1", f"PLACED orders over 30: {[(o.order_id, str(o.total)) for o in placed]}")

    by_email = db.query(Customer.by_email, email="ada@example.com").first()
    step("query GSI1", f"customer by e-mail -> {by_email.username if by_email else None}")

    page = db.query(Order.primary, username="ada").limit(2).page()
    rest = db.query(Order.primary, username="ada").limit(2).page(page.cursor)
    step("paginate", f"page 1 {[o.order_id for o in page]}, page 2 {[o.order_id for o in rest]}"
         f" (cursor {len(page.cursor or '')} chars, URL-safe)")

    updated = db.update(ada).add(order_count=len(orders)).set(name="Ada King").execute()
    step("update", f"order_count={updated.order_count}, name={updated.name!r}, "
         f"version {updated.version}")

    stale = Customer(username="ada", email="ada@example.com", name="Stale copy", version=1)
    try:
        db.put(stale)
    except VersionConflictError as exc:
        step("optimistic lock", f"a stale write was refused: {type(exc).__name__} "
             f"(expected version {exc.expected})")

    try:
        db.put(Customer(username="ada", email="x@example.com", name="Impostor"), if_absent=True)
    except ConditionalCheckFailedError as exc:
        step("condition", f"put if_absent on an existing key refused: {exc.code}")

    with db.transaction() as tx:
        late = Order(username="ada", order_id="o5", status="PLACED",
                     placed_at=start + timedelta(days=40), total=Decimal("5.00"))
        tx.put(late, if_absent=True)
        tx.update(Customer, username="ada").add(order_count=1)
    after = db.get(Customer, username="ada", consistent=True)
    step("transaction", f"order o5 and order_count+1 written together "
         f"(order_count={after.order_count if after else None})")
    orders.append(late)

    bulk = [
        Order(username="grace", order_id=f"g{i:03d}", status="DELIVERED",
              placed_at=start + timedelta(hours=i), total=Decimal(i))
        for i in range(60)
    ]
    with db.batch_writer() as bw:
        for order in bulk:
            bw.put(order)
    step("batch write", f"{len(bulk)} orders for grace in {bw.stats.requests} BatchWriteItem "
         f"requests (25 items each at most)")

    everything = db.collection(pk="CUSTOMER#ada")
    counts = {entity: len(items) for entity, items in everything.by_entity.items()}
    step("collection", f"one query over CUSTOMER#ada, typed and grouped: {counts}")

    count = db.query(Order.primary, username="ada").where(F.status == "SHIPPED").count()
    step("count", f"SHIPPED orders of ada: {count}")

    db.delete(Order, username="ada", placed_at=orders[0].placed_at, order_id="o0")
    step("delete", "order o0")

    db.delete_table()
    step("delete table", db.table_name)
    return {"orders": len(orders), "steps": step.count, **counts}


class _Stepper:
    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.count = 0

    def __call__(self, what: str, detail: str) -> None:
        self.count += 1
        self.echo(f"{self.count:>2}. {what:<16} {detail}")


def demo_table_name() -> str:
    """A unique table name, so demos never collide with an existing table."""
    return f"dyntable-demo-{uuid.uuid4().hex[:8]}"
