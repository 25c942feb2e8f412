"""The one pagination flow: queries, scans, collections, PartiQL, migrations' scans.

:func:`pages` sends a request page after page and emits each page as it arrives, so a
caller iterating it holds one page at a time.

``limit`` counts items *returned*, not items evaluated: the remaining count is passed as
DynamoDB's ``Limit`` page after page, so a filter that drops items never makes a result
short of what was asked for, and the next token of the last page is exactly where it
stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dyntable._internal.operations.flow import Emit, Flow, Request
from dyntable._internal.operations.send import send

__all__ = ["RawPage", "pages"]


@dataclass(slots=True)
class RawPage:
    """One page as DynamoDB answered it.

    Attributes:
        items: the items (wire form, or as decoded by the flow's ``decode``).
        next: the token of the next page (``LastEvaluatedKey`` / ``NextToken``), or
            ``None`` on the last page (or once ``limit`` items were returned).
        count: the ``Count`` DynamoDB reported (with ``Select=COUNT`` there are no items).
        scanned: the ``ScannedCount`` (items evaluated before filters).
    """

    items: list[Any]
    next: Any
    count: int
    scanned: int = 0


def pages(
    request: Request,
    *,
    start: Any = None,
    limit: int | None = None,
    page_size: int | None = None,
    token_in: str = "ExclusiveStartKey",
    token_out: str = "LastEvaluatedKey",
    decode: Callable[[list[dict[str, Any]]], list[Any]] | None = None,
    expand: Callable[[list[dict[str, Any]]], Flow[list[Any]]] | None = None,
) -> Flow[None]:
    """Send ``request`` page by page; emit a :class:`RawPage` per answer.

    Args:
        request: the first page's request (its params are not changed).
        start: the token to start from (a cursor's ``LastEvaluatedKey``).
        limit: stop once this many items were returned.
        page_size: at most this many items per request (DynamoDB's ``Limit``).
        token_in / token_out: the parameter and answer member carrying the next token
            (``NextToken`` for PartiQL).
        decode: turns each page's raw items into what is emitted (model objects).
        expand: instead of ``decode``, a flow doing the same with requests of its own
            (hydration's batched gets); ``limit`` counts the items it returns, and the
            page's token stays the answer's.
    """
    remaining = limit
    token = start
    while True:
        params = dict(request.params)
        if token:
            params[token_in] = token
        size = page_size
        if remaining is not None:
            size = remaining if size is None else min(size, remaining)
        if size is not None:
            params["Limit"] = size
        response = yield from send(replace(request, params=params))
        token = response.get(token_out) or None
        raw: list[dict[str, Any]] = response.get("Items") or []
        count = int(response.get("Count", len(raw)))
        scanned = int(response.get("ScannedCount", count))
        del response  # only the page is kept while the caller works through it
        if expand is not None:
            items = yield from expand(raw)
        else:
            items = decode(raw) if decode is not None else raw
        del raw
        if remaining is not None:
            remaining -= len(items)
            if remaining <= 0:
                yield Emit(RawPage(items, token, count, scanned))
                return
        yield Emit(RawPage(items, token, count, scanned))
        if token is None:
            return
