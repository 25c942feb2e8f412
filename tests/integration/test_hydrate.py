"""Hydrated index reads on DynamoDB Local, over every transport: a query on an INCLUDE
(sparse) or KEYS_ONLY index returns full typed items, in the index's order, page by page,
with cursors and limits that count the items returned."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast

import pytest

from dyntable import GSI, F, Key, Model, Table
from dyntable._internal.operations.rate_limit import RateLimiter
from dyntable.client import Client
from dyntable.errors import InvalidRequestError
from tests.models import Order

pytestmark = pytest.mark.integration

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
N = 7


def _orders(db: Client) -> list[str]:
    """N orders awaiting shipment (ship_by set, so in the sparse GSI2) over 3 customers,
    plus one shipped order (not in GSI2); returns the ids in GSI2's order (by ship_by)."""
    for i in range(N):
        db.put(Order(username=f"u{i % 3}", order_id=f"o{i}", status="PLACED",
                     placed_at=AT + timedelta(days=i), total=Decimal(i),
                     ship_by=date(2026, 2, 20 - 2 * i), note=f"gift wrap {i}"))
    db.put(Order(username="u0", order_id="shipped", status="SHIPPED", placed_at=AT,
                 total=Decimal(1)))
    return [f"o{i}" for i in reversed(range(N))]


class Watch:
    """Wraps a client's transport: records the operations sent, and runs ``after_query``
    (once) with the inner transport just after the first Query is answered, before the
    flow sees the answer (i.e. between the index read and its batched gets)."""

    def __new__(cls, db: Client, after_query: Callable[[Any], Any] | None = None) -> Watch:
        if cls is Watch and inspect.iscoroutinefunction(db.transport.send):
            return super().__new__(AsyncWatch)
        return super().__new__(cls)

    def __init__(self, db: Client, after_query: Callable[[Any], Any] | None = None) -> None:
        self.inner: Any = db.transport
        self.after_query = after_query
        self.operations: list[str] = []
        db.transport = cast(Any, self)

    def _hook(self, operation: str) -> Callable[[Any], Any] | None:
        self.operations.append(operation)
        action, fire = self.after_query, operation == "Query"
        if fire:
            self.after_query = None
        return action if fire else None

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.inner.send(operation, params)
        action = self._hook(operation)
        if action is not None:
            action(self.inner)
        return answer

    def close(self) -> Any:
        return self.inner.close()


class AsyncWatch(Watch):
    """:class:`Watch` over an asyncio transport."""

    async def send(self, operation: str, params: dict[str, Any]  # type: ignore[override]
                   ) -> dict[str, Any]:
        answer: dict[str, Any] = await self.inner.send(operation, params)
        action = self._hook(operation)
        if action is not None:
            await action(self.inner)
        return answer


def _delete(db: Client, order_id: str) -> Callable[[Any], Any]:
    """An action deleting order ``order_id`` through the given (inner) transport."""
    i = int(order_id[1:])
    key = {"PK": {"S": f"CUSTOMER#u{i % 3}"},
           "SK": {"S": f"ORDER#{(AT + timedelta(days=i)).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
                       f"#{order_id}"}}

    def action(transport: Any) -> Any:
        return transport.send("DeleteItem", {"TableName": db.table_name, "Key": key})

    return action


def test_hydrated_items_are_whole_and_in_the_index_order(db: Client) -> None:
    expected = _orders(db)
    partial = db.query(Order.awaiting_shipment).all()
    assert [o.order_id for o in partial] == expected
    with pytest.raises(AttributeError):
        _ = partial[0].note  # not projected into GSI2
    full = db.query(Order.awaiting_shipment).hydrate().all()
    assert [o.order_id for o in full] == expected
    assert [o.note for o in full] == [f"gift wrap {o[1:]}" for o in expected]
    assert all(type(o) is Order and o.placed_at.tzinfo is not None for o in full)
    backwards = db.query(Order.awaiting_shipment).reverse().hydrate().all()
    assert [o.order_id for o in backwards] == expected[::-1]
    after = db.query(Order.awaiting_shipment).gt(ship_by=date(2026, 2, 12)).hydrate().all()
    assert [o.order_id for o in after] == ["o3", "o2", "o1", "o0"]
    placed = db.query(Order.awaiting_shipment).where(F.total >= 4).hydrate().all()
    assert [o.order_id for o in placed] == ["o6", "o5", "o4"]
    scanned = db.scan(Order, index="GSI2").hydrate().all()
    assert sorted(o.order_id for o in scanned) == sorted(expected)
    assert all(o.note is not None for o in scanned)


def test_iteration_first_and_count(db: Client) -> None:
    expected = _orders(db)
    watch = Watch(db)
    assert [o.order_id for o in db.query(Order.awaiting_shipment).hydrate()] == expected
    first = db.query(Order.awaiting_shipment).hydrate().first()
    assert first is not None and first.order_id == expected[0] and first.note is not None
    watch.operations.clear()
    assert db.query(Order.awaiting_shipment).hydrate().count() == N
    assert watch.operations == ["Query"]  # counting fetches nothing


def test_pages_and_cursors_cover_every_item_once(db: Client) -> None:
    expected = _orders(db)
    watch = Watch(db)
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:  # each page from a new query, as a web handler given the cursor would
        page = db.query(Order.awaiting_shipment).page_size(2).hydrate().page(cursor)
        assert all(o.note is not None for o in page)
        seen += [o.order_id for o in page]
        sizes.append(len(page))
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == expected
    assert sizes[:3] == [2, 2, 2]
    # the cursor is the index's position: a plain query of the index takes it too
    first = db.query(Order.awaiting_shipment).page_size(2).hydrate().page()
    plain = db.query(Order.awaiting_shipment).page_size(2).page(first.cursor)
    assert [o.order_id for o in plain] == expected[2:4]
    # one index page, then one BatchGetItem for its keys (none for an empty last page)
    assert watch.operations[:4] == ["Query", "BatchGetItem", "Query", "BatchGetItem"]


def test_limit_counts_the_items_returned(db: Client) -> None:
    expected = _orders(db)
    assert [o.order_id for o in db.query(Order.awaiting_shipment).limit(3).hydrate()] \
        == expected[:3]
    first = db.query(Order.awaiting_shipment).limit(3).hydrate().page()
    second = db.query(Order.awaiting_shipment).limit(3).hydrate().page(first.cursor)
    third = db.query(Order.awaiting_shipment).limit(3).hydrate().page(second.cursor)
    assert [o.order_id for o in first] + [o.order_id for o in second] == expected[:6]
    assert [o.order_id for o in third] == expected[6:]


def test_an_item_deleted_after_the_index_read_is_left_out_and_reported(db: Client) -> None:
    expected = _orders(db)
    gone = expected[1]
    Watch(db, after_query=_delete(db, gone))
    query = db.query(Order.awaiting_shipment).page_size(3).hydrate()
    got = [o.order_id for o in query]
    assert got == [o for o in expected if o != gone]
    assert [e["GSI2SK"]["S"].split("#")[1] for e in query.missing] == [gone]
    assert query.missing[0]["PK"] == {"S": f"CUSTOMER#u{int(gone[1:]) % 3}"}


def test_a_limit_is_still_met_when_an_item_was_deleted(db: Client) -> None:
    expected = _orders(db)
    Watch(db, after_query=_delete(db, expected[0]))
    page = db.query(Order.awaiting_shipment).limit(3).hydrate().page()
    # the first index page held 3 entries, one of them gone: a second page fills the limit
    assert [o.order_id for o in page] == expected[1:4]
    assert len(page.missing) == 1 and page.cursor is not None
    rest = db.query(Order.awaiting_shipment).hydrate().page(page.cursor)
    assert [o.order_id for o in rest] == expected[4:]


def test_expired_items_stay_hidden(make_client: Callable[..., Client]) -> None:
    db = make_client()
    expected = _orders(db)
    db.update(Order.primary(username="u1", placed_at=AT + timedelta(days=1),
                            order_id="o1")).set(expires_at=AT).execute()
    hiding = make_client(hide_expired=True)
    got = [o.order_id for o in hiding.query(Order.awaiting_shipment).hydrate()]
    assert got == [o for o in expected if o != "o1"]


def test_hydrated_gets_are_paced_too(db: Client) -> None:
    _orders(db)
    watch = Watch(db)
    limiter = RateLimiter(1000)
    items = db.query(Order.awaiting_shipment).page_size(4).hydrate().rate_limit(limiter).all()
    assert len(items) == N
    assert watch.operations == ["Query", "BatchGetItem", "Query", "BatchGetItem"]
    assert limiter.requests == 4 and limiter.consumed > 0


def test_what_hydrate_refuses(db: Client) -> None:
    with pytest.raises(InvalidRequestError, match="on the table"):
        db.query(Order.primary, username="ada").hydrate()
    with pytest.raises(InvalidRequestError, match="project"):
        db.query(Order.awaiting_shipment).project("total").hydrate()
    with pytest.raises(InvalidRequestError, match="project"):
        db.query(Order.awaiting_shipment).hydrate().project("total")
    with pytest.raises(InvalidRequestError, match="deadline"):
        db.query(Order.awaiting_shipment).hydrate(deadline=-1)


# -- a KEYS_ONLY index shared by two entities ---------------------------------------------

desk = Table("desk", gsis=[GSI("GSI1", pk="GSI1PK", sk="GSI1SK", projection="KEYS_ONLY")])


class Ticket(Model, table=desk, entity="ticket"):
    id: str
    queue: str
    opened: int
    subject: str

    primary = Key(pk="TICKET#{id}", sk="TICKET")
    by_queue = Key(index="GSI1", pk="QUEUE#{queue}", sk="T#{opened:06d}#{id}")


class Agent(Model, table=desk, entity="agent"):
    name: str
    queue: str

    primary = Key(pk="AGENT#{name}", sk="AGENT")
    in_queue = Key(index="GSI1", pk="QUEUE#{queue}", sk="A#{name}")


@pytest.fixture
def ddb(client_of: Callable[..., Client]) -> Client:
    return client_of(desk)


def test_a_keys_only_index_shared_by_two_entities(ddb: Client) -> None:
    for i in (5, 1, 3, 2, 4):
        ddb.put(Ticket(id=f"t{i}", queue="billing", opened=i, subject=f"subject {i}"))
    ddb.put(Agent(name="zoe", queue="billing"))
    ddb.put(Ticket(id="t9", queue="other", opened=9, subject="elsewhere"))
    keys = ddb.query(Ticket.by_queue, queue="billing").all()
    with pytest.raises(AttributeError):
        _ = keys[0].subject  # KEYS_ONLY: only key attributes
    query = ddb.query(Ticket.by_queue, queue="billing").page_size(2).hydrate()
    tickets = query.all()
    assert [(t.id, t.subject) for t in tickets] == [(f"t{i}", f"subject {i}")
                                                    for i in range(1, 6)]
    assert query.unmatched == [] and query.missing == []
    agents = ddb.query(Agent.in_queue, queue="billing").hydrate().all()
    assert [a.name for a in agents] == ["zoe"]
    assert ddb.query(Ticket.by_queue, queue="billing").hydrate().count() == 5
