"""Coroutine handlers: awaited by the async dispatch and the async Lambda handler, refused
(never silently dropped) by the sync paths."""

from __future__ import annotations

import asyncio
import functools
import gc
import warnings
from typing import Any

import pytest

from dyntable.errors import InvalidRequestError
from dyntable.streams import Router, StreamEvent
from tests.models import Customer, shop
from tests.unit.streams.lambda_events import batch, record

BASE = 400000000000000000000000


def seq(i: int) -> str:
    return str(BASE + i)


def customer(name: str) -> Customer:
    return Customer(username=name.lower(), email=f"{name.lower()}@x.io", name=name)


def _mixed() -> tuple[Router, list[str]]:
    router = Router(shop)
    seen: list[str] = []

    @router.on_insert(Customer)
    async def first(event: StreamEvent[Customer]) -> None:
        await asyncio.sleep(0)
        if event.new.name == "Bob":
            raise RuntimeError("mail server down")
        seen.append(f"async {event.new.name}")

    @router.on_insert(Customer)
    def second(event: StreamEvent[Customer]) -> None:
        seen.append(f"plain {event.new.name}")

    return router, seen


def test_dispatch_async_awaits_coroutine_handlers_in_registration_order() -> None:
    router, seen = _mixed()
    event = router.decode(record("INSERT", seq(1), new=customer("Ada")))
    assert asyncio.run(router.dispatch_async(event)) == 2
    assert seen == ["async Ada", "plain Ada"]
    asyncio.run(router.handle_async(record("INSERT", seq(2), new=customer("Cy"))))
    assert seen[2:] == ["async Cy", "plain Cy"]


def test_async_lambda_handler_under_asyncio_run_per_invocation() -> None:
    router, seen = _mixed()

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        return asyncio.run(router.async_lambda_handler(event, context))

    ok = batch(record("INSERT", seq(1), new=customer("Ada")))
    assert handler(ok, None) == {"batchItemFailures": []}
    failing = batch(record("INSERT", seq(2), new=customer("Bob")),
                    record("INSERT", seq(3), new=customer("Cy")))
    assert handler(failing, None) == {"batchItemFailures": [
        {"itemIdentifier": seq(2)}, {"itemIdentifier": seq(3)}]}
    assert seen == ["async Ada", "plain Ada"]


def test_the_sync_lambda_handler_refuses_a_router_with_async_handlers() -> None:
    router, seen = _mixed()
    with pytest.raises(InvalidRequestError, match=r"first is async.*async_lambda_handler"):
        router.lambda_handler(batch(record("INSERT", seq(1), new=customer("Ada"))), None)
    assert seen == []


def test_sync_dispatch_refuses_an_awaitable_result_and_closes_it() -> None:
    router = Router(shop)
    ran: list[str] = []

    async def later(name: str) -> None:
        ran.append(name)

    router.on_insert(Customer)(lambda event: later(event.new.name))
    event = router.decode(record("INSERT", seq(1), new=customer("Ada")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would show here
        with pytest.raises(InvalidRequestError, match="returned an awaitable"):
            router.dispatch(event)
        gc.collect()
    assert ran == []


class AsyncCallable:
    async def __call__(self, event: StreamEvent[Any]) -> None:
        """An object handler with an async ``__call__``."""


def test_async_handlers_are_found_in_every_form() -> None:
    router = Router(shop)

    async def coroutine_function(event: StreamEvent[Any], tag: str = "") -> None:
        """A coroutine function."""

    obj = AsyncCallable()
    partial = functools.partial(coroutine_function, tag="x")
    router.on_insert(Customer)(coroutine_function)
    router.on_any()(coroutine_function)  # twice: listed once
    router.on_modify(Customer)(obj)
    router.on_unknown(partial)
    router.on_remove(Customer)(lambda event: None)
    assert router.async_handlers() == [coroutine_function, obj, partial]
    assert Router(shop).async_handlers() == []
