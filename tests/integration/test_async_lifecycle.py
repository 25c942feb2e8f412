"""The async client's life in a Lambda execution environment, against DynamoDB Local.

The Lambda Python runtime calls handlers synchronously: an async handler runs a loop per
invocation (``asyncio.run``) or keeps one loop for the environment's life. Either way the
client is made once and kept, so it must work across loops and must not need a loop to be
made.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from dyntable import AsyncClient
from dyntable.transport.aio_http import AsyncHttpTransport
from tests.models import Customer, shop

pytestmark = pytest.mark.integration


@pytest.fixture
def client(dynamodb_endpoint: str, unique_table_name: str) -> Iterator[AsyncClient]:
    # Made outside any loop, as at module level in a handler file.
    made = AsyncClient(shop, transport=AsyncHttpTransport(endpoint_url=dynamodb_endpoint,
                                                          region="us-east-1"),
                       table_name=unique_table_name)
    async def setup() -> None:
        await made.create_table()
        await made.put(Customer(username="user0", email="user0@example.com", name="user0"))

    asyncio.run(setup())
    yield made

    async def teardown() -> None:
        await made.delete_table(wait=False)
        await made.close()

    asyncio.run(teardown())


async def _invocation(db: AsyncClient, n: int) -> int:
    name = f"user{n}"
    await db.put(Customer(username=name, email=f"{name}@example.com", name=name))
    await db.update(Customer, username="user0").add(order_count=1).execute()
    got = await db.get(Customer, username=name, consistent=True)
    assert got is not None and got.email == f"{name}@example.com"
    counted = await db.get(Customer, username="user0", consistent=True)
    assert counted is not None
    return counted.order_count


def test_one_loop_per_invocation(client: AsyncClient) -> None:
    """``asyncio.run`` per invocation: each new loop gets working connections."""
    counts = [asyncio.run(_invocation(client, n)) for n in range(1, 5)]
    assert counts == [1, 2, 3, 4]


def test_one_loop_kept_for_the_environment(client: AsyncClient) -> None:
    """One loop kept across invocations, driven by ``run_until_complete``."""
    loop = asyncio.new_event_loop()
    try:
        counts = [loop.run_until_complete(_invocation(client, n)) for n in range(1, 4)]
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())  # what asyncio.run does
        loop.close()
    assert counts == [1, 2, 3]
    # And a later per-invocation loop still works after that loop closed.
    assert asyncio.run(_invocation(client, 9)) == 4


def test_inside_a_loop_already_running_in_another_thread(client: AsyncClient) -> None:
    """A loop that runs forever in a helper thread, with work submitted to it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        counts = [asyncio.run_coroutine_threadsafe(_invocation(client, n), loop).result(60)
                  for n in range(1, 4)]
    finally:
        asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    assert counts == [1, 2, 3]


def test_many_tasks_of_one_invocation_share_the_client(client: AsyncClient) -> None:
    async def invocation() -> int:
        await asyncio.gather(*(_invocation(client, n) for n in range(1, 21)))
        final = await client.get(Customer, username="user0", consistent=True)
        assert final is not None
        return final.order_count

    assert asyncio.run(invocation()) == 20
