"""Reading page after page holds one page at a time: neither the driver (sync or async)
nor the pagination flow keeps the previous raw response alive while the caller works
through the current page (a scan's memory stays flat in the size of the table)."""

from __future__ import annotations

import asyncio
import weakref
from decimal import Decimal
from typing import Any

from dyntable.codec import codec_for
from dyntable.transport.aio_mock import AsyncMockTransport
from dyntable.transport.mock import MockTransport
from tests.models import Product, shop

PAGES = 4


class Answer(dict[str, Any]):
    """A response dict that can be watched with a weak reference."""


def _pages() -> tuple[list[weakref.ref[Answer]], Any]:
    codec = codec_for(Product)
    made: list[weakref.ref[Answer]] = []

    def handler(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        n = len(made)
        item = codec.encode(Product(sku=f"p{n}", title="t", price=Decimal(n)))
        answer = Answer(Items=[item], Count=1, ScannedCount=1)
        if n + 1 < PAGES:
            answer["LastEvaluatedKey"] = {"PK": item["PK"], "SK": item["SK"]}
        made.append(weakref.ref(answer))
        return answer

    return made, handler


def test_the_sync_client_holds_one_response_at_a_time() -> None:
    made, handler = _pages()
    db = shop.connect(transport=MockTransport(handler))
    seen = 0
    for _obj in db.scan(Product):
        seen += 1
        alive = [i for i, ref in enumerate(made) if ref() is not None]
        assert alive == [], f"raw responses still held while item {seen} is read: {alive}"
    assert seen == PAGES


def test_the_async_client_holds_one_response_at_a_time() -> None:
    made, handler = _pages()

    async def read() -> int:
        db = await shop.connect_async(transport=AsyncMockTransport(handler))
        seen = 0
        async for _obj in db.scan(Product):
            seen += 1
            alive = [i for i, ref in enumerate(made) if ref() is not None]
            assert alive == [], f"raw responses still held while item {seen} is read: {alive}"
        return seen

    assert asyncio.run(read()) == PAGES
