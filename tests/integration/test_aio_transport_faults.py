"""AsyncHttpTransport through the fault-injecting proxy, against DynamoDB Local.

The same standard-mode retries and ambiguity rules as the sync transport, over asyncio:
a write applied before a 500 is not resent inside ``not_idempotent()`` and is reported
``maybe_applied``; throttles are retried and counted; many concurrent tasks through a
faulty proxy lose nothing (each item checked by a direct client afterwards).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dyntable.errors import ConditionalCheckFailedError, DyntableError, InternalServerError
from dyntable.testing.fault_proxy import Decision, FaultProxy
from dyntable.testing.faults import fault_rate, fault_seed
from dyntable.transport.aio_http import AsyncHttpTransport
from dyntable.transport.base import CallEvent, not_idempotent
from dyntable.transport.http import HttpTransport

pytestmark = pytest.mark.integration


@pytest.fixture
def table(dynamodb_endpoint: str) -> Iterator[tuple[HttpTransport, str]]:
    """A fresh table and a direct (no proxy) sync transport to check it with."""
    direct = HttpTransport(endpoint_url=dynamodb_endpoint, region="us-east-1")
    name = f"aio-faults-{uuid.uuid4().hex[:10]}"
    direct.send("CreateTable", {
        "TableName": name,
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"},
                      {"AttributeName": "SK", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"},
                                 {"AttributeName": "SK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    })
    try:
        yield direct, name
    finally:
        direct.send("DeleteTable", {"TableName": name})
        direct.close()


class Script:
    """A dealer: the n-th request of ``operation`` gets the n-th kind; others pass."""

    def __init__(self, operation: str, kinds: list[str | None]) -> None:
        self.operation = operation
        self.kinds = list(kinds)
        self.seen: list[tuple[str, str | None]] = []

    def decide(self, operation: str, entries: int) -> Decision:
        kind = self.kinds.pop(0) if operation == self.operation and self.kinds else None
        self.seen.append((operation, kind))
        return Decision(kind, code="ThrottlingException")


def _scripted(endpoint: str, script: Script) -> FaultProxy:
    proxy = FaultProxy(endpoint, rate=1.0, seed=1).start()
    proxy._dealer = script  # type: ignore[assignment]
    return proxy


def _key(pk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": "ITEM"}}


def _versioned_put(table: str, pk: str, version: int) -> dict[str, Any]:
    """A put that moves the item from ``version - 1`` to ``version``."""
    return {
        "TableName": table,
        "Item": {**_key(pk), "v": {"N": str(version)}},
        "ConditionExpression": "v = :before",
        "ExpressionAttributeValues": {":before": {"N": str(version - 1)}},
    }


def _stored(direct: HttpTransport, table: str, pk: str) -> dict[str, Any] | None:
    answer = direct.send("GetItem", {"TableName": table, "Key": _key(pk), "ConsistentRead": True})
    found: dict[str, Any] | None = answer.get("Item")
    return found


def test_a_versioned_write_applied_before_a_500_is_not_resent_inside_not_idempotent(
    table: tuple[HttpTransport, str], dynamodb_endpoint: str
) -> None:
    direct, name = table
    direct.send("PutItem", {"TableName": name, "Item": {**_key("w1"), "v": {"N": "1"}}})
    script = Script("PutItem", ["http500_after"])
    proxy = _scripted(dynamodb_endpoint, script)

    async def main() -> None:
        async with AsyncHttpTransport(endpoint_url=proxy.endpoint_url, region="us-east-1",
                                      max_attempts=6) as transport:
            with not_idempotent():
                await transport.send("PutItem", _versioned_put(name, "w1", 2))

    try:
        with pytest.raises(InternalServerError) as caught:
            asyncio.run(main())
    finally:
        proxy.close()
    assert caught.value.maybe_applied
    assert script.seen == [("PutItem", "http500_after")]  # sent once, never resent
    assert _stored(direct, name, "w1") == {**_key("w1"), "v": {"N": "2"}}  # applied, once


def test_outside_not_idempotent_the_resend_meets_its_own_write_and_says_maybe_applied(
    table: tuple[HttpTransport, str], dynamodb_endpoint: str
) -> None:
    direct, name = table
    direct.send("PutItem", {"TableName": name, "Item": {**_key("w2"), "v": {"N": "1"}}})
    script = Script("PutItem", ["http500_after"])
    proxy = _scripted(dynamodb_endpoint, script)

    async def main() -> None:
        async with AsyncHttpTransport(endpoint_url=proxy.endpoint_url, region="us-east-1",
                                      max_attempts=6) as transport:
            await transport.send("PutItem", _versioned_put(name, "w2", 2))

    try:
        with pytest.raises(ConditionalCheckFailedError) as caught:
            asyncio.run(main())
    finally:
        proxy.close()
    # The resend failed its condition because the first attempt was applied: the error
    # says so, so the caller can settle it (a version conflict it is not).
    assert caught.value.maybe_applied
    assert [kind for _, kind in script.seen] == ["http500_after", None]
    assert _stored(direct, name, "w2") == {**_key("w2"), "v": {"N": "2"}}


def test_throttles_are_retried_and_counted(
    table: tuple[HttpTransport, str], dynamodb_endpoint: str
) -> None:
    direct, name = table
    events: list[CallEvent] = []
    delays: list[float] = []
    proxy = FaultProxy(dynamodb_endpoint, rate=0.3, seed=fault_seed(), kinds=("throttle",))

    async def no_wait(seconds: float) -> None:  # throttling backoff starts at 1 s
        delays.append(seconds)
        await asyncio.sleep(0)

    async def main() -> int:
        async with AsyncHttpTransport(endpoint_url=proxy.endpoint_url, region="us-east-1",
                                      max_attempts=10, hooks=[events.append],
                                      sleep=no_wait) as transport:
            for i in range(60):
                await transport.send("PutItem", {"TableName": name,
                                                 "Item": {**_key(f"t{i}"), "n": {"N": str(i)}}})
            return transport.retries

    with proxy:
        retries = asyncio.run(main())
    assert proxy.injected["throttle"] > 0
    assert retries == proxy.injected["throttle"] == sum(e.retries for e in events)
    assert len(delays) == retries
    assert all(e.error is None for e in events)
    assert [_stored(direct, name, f"t{i}") is not None for i in range(60)] == [True] * 60


def test_two_hundred_puts_from_sixteen_tasks_through_faults_lose_nothing(
    table: tuple[HttpTransport, str], dynamodb_endpoint: str
) -> None:
    # Every acknowledged put is stored with its value. A put can still fail (at high fault
    # rates the retry quota runs out, as in botocore): it is reported, never silently lost,
    # and what it left behind, if anything, is its own value.
    direct, name = table
    count, tasks = 200, 16
    proxy = FaultProxy(dynamodb_endpoint, rate=fault_rate(0.1), seed=fault_seed(),
                       kinds=("throttle", "http500", "http500_after", "reset"))
    expected = {f"p{i:03d}": {**_key(f"p{i:03d}"), "n": {"N": str(i)},
                              "blob": {"B": bytes([i % 256]) * 50}}
                for i in range(count)}
    acked: set[str] = set()
    failed: dict[str, DyntableError] = {}

    async def main() -> None:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for pk in expected:
            queue.put_nowait(pk)
        async with AsyncHttpTransport(endpoint_url=proxy.endpoint_url, region="us-east-1",
                                      max_attempts=10) as transport:

            async def worker() -> None:
                while not queue.empty():
                    pk = queue.get_nowait()
                    try:
                        await transport.send("PutItem", {"TableName": name,
                                                         "Item": expected[pk]})
                    except DyntableError as exc:
                        failed[pk] = exc
                    else:
                        acked.add(pk)

            await asyncio.gather(*(worker() for _ in range(tasks)))

    with proxy:
        asyncio.run(main())
    assert sum(proxy.injected.values()) > 0, proxy.summary()
    assert acked | set(failed) == set(expected) and not acked & set(failed)
    assert len(acked) > count // 2, proxy.summary()
    if proxy.rate <= 0.1:  # the default: the retry quota covers every fault
        assert not failed, proxy.summary()
    for pk, wanted in expected.items():
        stored = _stored(direct, name, pk)
        if pk in acked:
            assert stored is not None, f"{pk} acknowledged, then lost ({proxy.summary()})"
        if stored is not None:
            assert stored["n"] == wanted["n"]
            assert stored["blob"]["B"] == base64.b64encode(wanted["blob"]["B"]).decode()
