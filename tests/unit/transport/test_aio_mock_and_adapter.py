"""AsyncMockTransport, and AsyncTransportAdapter running sync transports in threads."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from dyntable.errors import ConditionalCheckFailedError, InternalServerError
from dyntable.transport.aio_adapter import AsyncTransportAdapter
from dyntable.transport.aio_http import AsyncHttpTransport
from dyntable.transport.aio_mock import AsyncMockTransport
from dyntable.transport.base import (
    AsyncTransport,
    CallEvent,
    Params,
    Response,
    Transport,
    not_idempotent,
    resend_allowed,
)
from dyntable.transport.credentials import Credentials
from dyntable.transport.http import HttpTransport
from dyntable.transport.mock import MockTransport
from tests.unit.transport.aio_server import error, serving

KEY = {"PK": {"S": "A"}, "SK": {"S": "B"}}
CREDS = Credentials("AKIDTEST", "secret")


def test_every_async_transport_meets_the_protocol() -> None:
    http = AsyncHttpTransport(region="us-east-1", endpoint_url="http://127.0.0.1:1",
                              credentials=CREDS)
    for transport in (AsyncMockTransport(), AsyncTransportAdapter(MockTransport()), http):
        assert isinstance(transport, AsyncTransport)
    assert isinstance(MockTransport(), Transport)


def test_async_mock_records_and_answers_with_plain_or_async_handlers() -> None:
    events: list[CallEvent] = []

    def plain(operation: str, params: Params) -> Response:
        return {"Item": KEY, "ConsumedCapacity": {"CapacityUnits": 0.5}}

    async def coroutine(operation: str, params: Params) -> Response:
        await asyncio.sleep(0)
        return {"Attributes": params["Item"]}

    async def main() -> tuple[Response, Response, AsyncMockTransport, AsyncMockTransport]:
        params: dict[str, Any] = {"TableName": "t", "Item": dict(KEY)}
        async with AsyncMockTransport(plain, hooks=[events.append]) as first:
            got = await first.send("GetItem", {"TableName": "t", "Key": KEY})
        async with AsyncMockTransport(coroutine) as second:
            put = await second.send("PutItem", params)
        params["Item"]["PK"] = {"S": "changed later"}
        return got, put, first, second

    got, put, first, second = asyncio.run(main())
    assert got["Item"] == KEY
    assert put["Attributes"]["PK"] == {"S": "changed later"}  # the handler saw the call's dict
    assert second.sent[0].params["Item"]["PK"] == {"S": "A"}  # the record is a copy
    assert (first.operations(), second.operations()) == (["GetItem"], ["PutItem"])
    assert first.closed and second.closed
    (event,) = events
    assert (event.operation, event.transport, event.consumed_capacity) == (
        "GetItem", "mock", {"CapacityUnits": 0.5})
    assert (first.calls, second.calls) == (1, 1)


def test_async_mock_handler_errors_reach_the_caller_and_the_hooks() -> None:
    events: list[CallEvent] = []

    async def handler(operation: str, params: Params) -> Response:
        raise ConditionalCheckFailedError("no", code="ConditionalCheckFailedException")

    transport = AsyncMockTransport(handler, hooks=[events.append])
    with pytest.raises(ConditionalCheckFailedError):
        asyncio.run(transport.send("PutItem", {"TableName": "t"}))
    assert events[0].error == "ConditionalCheckFailedError"
    assert transport.operations() == ["PutItem"]


def test_the_adapter_runs_calls_in_worker_threads() -> None:
    threads: list[int] = []

    def handler(operation: str, params: Params) -> Response:
        threads.append(threading.get_ident())
        return {"Count": len(threads)}

    inner = MockTransport(handler)

    async def main() -> tuple[int, list[Response]]:
        async with AsyncTransportAdapter(inner) as adapter:
            answers = await asyncio.gather(*(adapter.send("Query", {}) for _ in range(4)))
        return threading.get_ident(), answers

    loop_thread, answers = asyncio.run(main())
    assert sorted(a["Count"] for a in answers) == [1, 2, 3, 4]
    assert loop_thread not in threads
    assert inner.closed
    assert inner.calls == 4  # the wrapped transport's hooks and counters see every call


def test_not_idempotent_reaches_the_thread_of_each_task() -> None:
    seen: dict[str, bool] = {}

    def handler(operation: str, params: Params) -> Response:
        seen[params["TableName"]] = resend_allowed()
        return {}

    adapter = AsyncTransportAdapter(MockTransport(handler))

    async def guarded() -> None:
        with not_idempotent():
            await adapter.send("UpdateItem", {"TableName": "guarded"})

    async def main() -> None:
        await asyncio.gather(guarded(), adapter.send("UpdateItem", {"TableName": "free"}))

    asyncio.run(main())
    assert seen == {"guarded": False, "free": True}


def test_a_sync_http_transport_behind_the_adapter_is_not_resent_when_not_idempotent() -> None:
    with serving() as server:
        server.default = error(500, "InternalServerError")
        inner = HttpTransport(endpoint_url=server.url, region="us-east-1",
                              credentials=CREDS, sleep=lambda s: None)

        async def main() -> None:
            async with AsyncTransportAdapter(inner) as adapter:
                with not_idempotent():
                    await adapter.send("UpdateItem", {"TableName": "t", "Key": KEY})

        with pytest.raises(InternalServerError) as caught:
            asyncio.run(main())
        assert len(server.received) == 1
        assert caught.value.maybe_applied
        with pytest.raises(InternalServerError):
            asyncio.run(AsyncTransportAdapter(inner).send("UpdateItem", {"TableName": "t"}))
        assert len(server.received) == 1 + 4  # outside not_idempotent() it is resent
