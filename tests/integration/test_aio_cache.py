"""AsyncCachedTransport over AsyncHttpTransport, against DynamoDB Local.

Read-your-writes on items, a cached query (and its DAX-style staleness), a
TransactWriteItems evicting the items and queries it touches, a failed conditional write,
an ambiguous write (a 500 after DynamoDB applied it, injected by the fault proxy), and the
async client over the cache. Every call the cache sends on is recorded by a hook
on the inner transport, so each test shows which reads were answered from memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from dyntable.errors import ConditionalCheckFailedError, InternalServerError
from dyntable.testing.fault_proxy import Decision, FaultProxy
from dyntable.transport.aio_cache import AsyncCachedTransport
from dyntable.transport.aio_http import AsyncHttpTransport
from dyntable.transport.base import CallEvent, not_idempotent

pytestmark = pytest.mark.integration
R = TypeVar("R")


class Setup:
    """A cache over a fresh AsyncHttpTransport, the calls it sent on, and a fresh table."""

    def __init__(self, endpoint: str, table: str, *, via: str | None = None,
                 **options: Any) -> None:
        self.inner = AsyncHttpTransport(endpoint_url=via or endpoint, region="us-east-1")
        self.sent: list[str] = []
        self.inner.add_hook(lambda event: self.sent.append(event.operation))
        self.cache = AsyncCachedTransport(self.inner, **options)
        self.direct = AsyncHttpTransport(endpoint_url=endpoint, region="us-east-1")
        self.table = table

    async def create_table(self) -> None:
        """Create the table through the cache (which learns its key from the answer)."""
        await self.cache.send("CreateTable", {
            "TableName": self.table,
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"},
                          {"AttributeName": "SK", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"},
                                     {"AttributeName": "SK", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        })
        for _ in range(100):
            described = await self.cache.send("DescribeTable", {"TableName": self.table})
            if described["Table"]["TableStatus"] == "ACTIVE":
                break
            await asyncio.sleep(0.1)
        self.sent.clear()

    async def send(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self.cache.send(operation, {"TableName": self.table, **params})

    async def stored(self, pk: str, sk: str) -> dict[str, Any]:
        """What DynamoDB holds (a strongly consistent read, not through the cache)."""
        answer = await self.direct.send("GetItem", {"TableName": self.table, "ConsistentRead": True,
                                                   "Key": key(pk, sk)})
        return dict(answer.get("Item") or {})

    def run(self, scenario: Callable[[], Awaitable[R]]) -> R:
        async def bounded() -> R:
            try:
                return await asyncio.wait_for(scenario(), 60)
            finally:
                await self.inner.send("DeleteTable", {"TableName": self.table})
                await self.cache.close()
                await self.direct.close()

        return asyncio.run(bounded())


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def item(pk: str, sk: str, **attrs: str) -> dict[str, Any]:
    return {**key(pk, sk), **{k: {"S": v} for k, v in attrs.items()}}


def set_name(pk: str, sk: str, name: str) -> dict[str, Any]:
    return {"Key": key(pk, sk), "UpdateExpression": "SET #n = :n",
            "ExpressionAttributeNames": {"#n": "name"},
            "ExpressionAttributeValues": {":n": {"S": name}}}


def orders_of(pk: str) -> dict[str, Any]:
    return {"KeyConditionExpression": "#pk = :pk", "ExpressionAttributeNames": {"#pk": "PK"},
            "ExpressionAttributeValues": {":pk": {"S": pk}}}


def test_read_your_writes_on_items(dynamodb_endpoint: str, unique_table_name: str) -> None:
    s = Setup(dynamodb_endpoint, unique_table_name)

    async def scenario() -> None:
        await s.create_table()
        u1 = key("USER#1", "PROFILE")
        await s.send("PutItem", Item=item("USER#1", "PROFILE", name="Ada"))
        assert (await s.send("GetItem", Key=u1))["Item"] == await s.stored("USER#1", "PROFILE")
        new = await s.send("UpdateItem", **set_name("USER#1", "PROFILE", "Ada L."),
                           ReturnValues="ALL_NEW")
        assert (await s.send("GetItem", Key=u1))["Item"] == new["Attributes"]
        assert s.sent == ["PutItem", "UpdateItem"]  # both reads answered from memory

        await s.send("UpdateItem", **set_name("USER#1", "PROFILE", "Ada K."))  # new item unknown
        again = await s.send("GetItem", Key=u1)
        assert again["Item"]["name"] == {"S": "Ada K."}
        assert s.sent[-1] == "GetItem"  # read again from DynamoDB
        assert (await s.send("GetItem", Key=u1))["Item"] == again["Item"]  # then cached
        strong = await s.send("GetItem", Key=u1, ConsistentRead=True)  # always sent on
        assert strong["Item"] == again["Item"]

        await s.send("DeleteItem", Key=u1)
        assert await s.send("GetItem", Key=u1) == {}  # the delete cached "not found"
        assert s.sent[-3:] == ["GetItem", "GetItem", "DeleteItem"]
        assert await s.stored("USER#1", "PROFILE") == {}

    s.run(scenario)
    stats = s.cache.stats
    assert (stats.hits, stats.misses, stats.bypasses) == (4, 1, 1)


def test_cached_query_is_served_from_memory(dynamodb_endpoint: str,
                                            unique_table_name: str) -> None:
    s = Setup(dynamodb_endpoint, unique_table_name)

    async def scenario() -> None:
        await s.create_table()
        for n in range(3):
            await s.send("PutItem", Item=item("ORDERS#ada", f"ORDER#{n}", total=str(n)))
        first = await s.send("Query", **orders_of("ORDERS#ada"))
        second = await s.send("Query", **orders_of("ORDERS#ada"), ReturnConsumedCapacity="TOTAL")
        assert first["Count"] == 3 and second["Items"] == first["Items"]
        assert s.sent.count("Query") == 1

        await s.send("PutItem", Item=item("ORDERS#ada", "ORDER#3", total="3"))
        stale = await s.send("Query", **orders_of("ORDERS#ada"))
        assert stale["Count"] == 3  # DAX semantics: writes do not evict queries by default
        fresh = await s.send("Query", **orders_of("ORDERS#ada"), ConsistentRead=True)
        assert fresh["Count"] == 4 and s.sent.count("Query") == 2

    s.run(scenario)


def test_transact_write_evicts_its_items_and_queries(dynamodb_endpoint: str,
                                                     unique_table_name: str) -> None:
    s = Setup(dynamodb_endpoint, unique_table_name, evict_queries_on_write=True)

    async def scenario() -> None:
        await s.create_table()
        await s.send("PutItem", Item=item("ORDERS#ada", "ORDER#1", status="PLACED"))
        o1 = key("ORDERS#ada", "ORDER#1")
        assert (await s.send("GetItem", Key=o1))["Item"]["status"] == {"S": "PLACED"}
        assert (await s.send("Query", **orders_of("ORDERS#ada")))["Count"] == 1
        await s.send("Query", **orders_of("ORDERS#ada"))
        assert s.sent == ["PutItem", "Query"]  # the item and the query are cached

        await s.cache.send("TransactWriteItems", {"TransactItems": [
            {"Update": {"TableName": s.table, "Key": o1, "UpdateExpression": "SET #s = :s",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":s": {"S": "SHIPPED"}}}},
            {"Put": {"TableName": s.table,
                     "Item": item("ORDERS#ada", "ORDER#2", status="PLACED")}},
        ]})
        updated = await s.send("GetItem", Key=o1)  # evicted: read again
        assert updated["Item"]["status"] == {"S": "SHIPPED"}
        query = await s.send("Query", **orders_of("ORDERS#ada"))  # evicted: read again
        assert [i["SK"]["S"] for i in query["Items"]] == ["ORDER#1", "ORDER#2"]
        put = await s.send("GetItem", Key=key("ORDERS#ada", "ORDER#2"))  # the put is known
        assert put["Item"] == await s.stored("ORDERS#ada", "ORDER#2")
        assert s.sent == ["PutItem", "Query", "TransactWriteItems", "GetItem", "Query"]

    s.run(scenario)
    assert s.cache.stats.invalidations >= 2


def test_failed_conditional_write_drops_the_item(dynamodb_endpoint: str,
                                                 unique_table_name: str) -> None:
    s = Setup(dynamodb_endpoint, unique_table_name)

    async def scenario() -> None:
        await s.create_table()
        await s.send("PutItem", Item=item("USER#1", "PROFILE", name="Ada"))
        with pytest.raises(ConditionalCheckFailedError):
            await s.send("PutItem", Item=item("USER#1", "PROFILE", name="Bob"),
                         ConditionExpression="attribute_not_exists(PK)")
        got = await s.send("GetItem", Key=key("USER#1", "PROFILE"))
        assert got["Item"]["name"] == {"S": "Ada"}
        assert s.sent == ["PutItem", "PutItem", "GetItem"]

    s.run(scenario)


class FailNext(FaultProxy):
    """Passes every request, except the next one of an armed operation (``arm``)."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, rate=0.0, seed=0)
        self.armed: tuple[str, str] | None = None

    def arm(self, operation: str, kind: str) -> None:
        self.armed = (operation, kind)

    def decide(self, operation: str, entries: int) -> Decision:
        armed = self.armed
        if armed is not None and armed[0] == operation:
            self.armed = None
            self.history.append((operation, armed[1]))
            return Decision(armed[1])
        return super().decide(operation, entries)


@pytest.mark.parametrize("operation", ["PutItem", "TransactWriteItems"])
def test_ambiguous_write_through_the_cache(dynamodb_endpoint: str, unique_table_name: str,
                                           operation: str) -> None:
    proxy = FailNext(dynamodb_endpoint)
    proxy.start()
    s = Setup(dynamodb_endpoint, unique_table_name, via=proxy.endpoint_url)
    u1 = key("USER#1", "PROFILE")
    new = item("USER#1", "PROFILE", name="Ada L.")
    write = {"Item": new} if operation == "PutItem" else {
        "TransactItems": [{"Put": {"TableName": s.table, "Item": new}}]}

    async def scenario() -> None:
        await s.create_table()
        await s.send("PutItem", Item=item("USER#1", "PROFILE", name="Ada"))
        assert (await s.send("GetItem", Key=u1))["Item"]["name"] == {"S": "Ada"}  # cached
        proxy.arm(operation, "http500_after")  # applied by DynamoDB, then a 500
        with not_idempotent(), pytest.raises(InternalServerError) as raised:
            await s.send(operation, **write)
        assert raised.value.maybe_applied  # from the inner transport, through the cache
        assert [op for op, kind in proxy.history if kind] == [operation]  # never resent
        again = await s.send("GetItem", Key=u1)  # the old item is not served from memory
        assert again["Item"] == new == await s.stored("USER#1", "PROFILE")
        assert s.sent[-2:] == [operation, "GetItem"]

    try:
        s.run(scenario)
    finally:
        proxy.close()


def test_async_client_over_the_cache(dynamodb_endpoint: str, unique_table_name: str) -> None:
    from tests.models import Customer, Order, shop

    events: list[CallEvent] = []
    inner = AsyncHttpTransport(endpoint_url=dynamodb_endpoint, region="us-east-1")
    cache = AsyncCachedTransport(inner, evict_queries_on_write=True, hooks=[events.append])

    async def scenario() -> None:
        db = await shop.connect_async(transport=cache, table_name=unique_table_name)
        await db.create_table()
        try:
            ada = Customer(username="ada", email="ada@x.io", name="Ada")
            await db.put(ada)
            assert await db.get(Customer, username="ada") == ada
            assert await db.get(Customer, username="ada") == ada
            await db.update(Customer, username="ada").set(name="Ada L.").execute()
            got = await db.get(Customer, username="ada")
            assert got is not None and got.name == "Ada L."
            placed = datetime(2025, 1, 2, tzinfo=timezone.utc)
            await db.put(Order(username="ada", order_id="o1", status="PLACED",
                               placed_at=placed, total=Decimal("9.50")))
            assert [o.order_id for o in await db.query(Order.primary, username="ada").all()
                    ] == ["o1"]
            await db.put(Order(username="ada", order_id="o2", status="PLACED",
                               placed_at=placed, total=Decimal("3")))
            assert [o.order_id for o in await db.query(Order.primary, username="ada").all()
                    ] == ["o1", "o2"]  # the write evicted the partition's query
        finally:
            await db.delete_table(wait=False)
            await db.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    outcomes = [e.extra["cache"] for e in events if e.operation == "GetItem"]
    assert "hit" in outcomes and inner.calls < len(events)
