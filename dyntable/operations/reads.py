"""Read builders: the shared base of queries and scans (filters, limits, projections,
lazy pagination, cursors), and scans. Queries are in :mod:`dyntable.operations.query`.

``limit(n)`` counts items *returned*, not items evaluated: dyntable passes the remaining
count as DynamoDB's ``Limit`` page after page, so a filter that drops items never makes a
page short of what you asked for, and the cursor of a page is exactly where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from dyntable.codec.items import ItemCodec, codec_for
from dyntable.errors import ExpressionError, InvalidRequestError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition, all_of
from dyntable.expressions.paths import F, Path, attr
from dyntable.operations.cursors import decode_cursor, encode_cursor, fingerprint
from dyntable.operations.items import require_table

if TYPE_CHECKING:
    from typing_extensions import Self

    from dyntable.schema.model import Model
    from dyntable.schema.spec import KeySpec
    from dyntable.schema.table import Table

__all__ = ["Page", "Reader", "Scan"]

M = TypeVar("M", bound="Model")
AV = dict[str, Any]


class Reader(Protocol):
    """What a read builder needs from the client."""

    table: Table
    table_name: str
    cursor_secret: bytes
    hide_expired: bool

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request."""
        ...


@dataclass
class Page(Generic[M]):
    """One page of results: ``items`` and the ``cursor`` of the next page (``None``: last)."""

    items: list[M]
    cursor: str | None

    @property
    def has_more(self) -> bool:
        """True when another page may follow."""
        return self.cursor is not None

    def __iter__(self) -> Iterator[M]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class _Read(Generic[M]):
    operation = "Query"

    def __init__(self, reader: Reader, codec: ItemCodec[M], key: KeySpec | None) -> None:
        require_table(codec.model, reader.table)
        self._reader = reader
        self._codec = codec
        self._key = key
        self._filter: Condition | None = None
        self._limit: int | None = None
        self._page_size: int | None = None
        self._consistent = False
        self._project: list[str | Path] | None = None
        self._extra: dict[str, Any] = {}
        self._fingerprinting = False

    # -- builder methods (each returns self) -------------------------------------------

    def where(self, condition: Condition) -> Self:
        """Add a filter (applied by DynamoDB after reading; ANDed with earlier filters)."""
        if not isinstance(condition, Condition):
            raise ExpressionError("where() takes a condition such as F.status == 'PLACED'")
        self._filter = all_of(self._filter, condition)
        return self

    def limit(self, n: int) -> Self:
        """Return at most ``n`` items in all (items returned, not items evaluated)."""
        if not isinstance(n, int) or n < 1:
            raise InvalidRequestError("limit must be a positive int")
        self._limit = n
        return self

    def page_size(self, n: int) -> Self:
        """Read at most ``n`` items per request (DynamoDB's ``Limit``)."""
        if not isinstance(n, int) or n < 1:
            raise InvalidRequestError("page_size must be a positive int")
        self._page_size = n
        return self

    def consistent(self, value: bool = True) -> Self:
        """Strongly consistent read (not available on GSIs)."""
        if value and self._key is not None and self._key.is_gsi:
            raise InvalidRequestError(
                f"index {self._key.index!r} is a GSI: DynamoDB offers only eventually "
                "consistent reads on GSIs"
            )
        self._consistent = value
        return self

    def project(self, *fields: str | Path) -> Self:
        """Read only these fields; results are partial objects (unread fields are absent)."""
        for f in fields:
            if isinstance(f, str) and f not in self._codec.spec.fields:
                raise ExpressionError(
                    f"{self._codec.model.__name__} has no field {f!r}"
                )
        self._project = [F[f] if isinstance(f, str) else f for f in fields]
        return self

    # -- compilation -------------------------------------------------------------------

    def _entity_filter(self) -> Condition | None:
        key = self._key
        # INCLUDE projections always carry the entity attribute (operations.tables).
        if key is not None and key.index is not None and key.projection == "KEYS_ONLY":
            return None
        return attr(self._codec.entity_attr) == self._codec.entity

    def _ttl_filter(self) -> Condition | None:
        ttl = self._codec.spec.ttl_field
        if not (ttl and self._reader.hide_expired):
            return None
        # A fixed "now" while fingerprinting, so a cursor stays valid as time passes.
        now = 0 if self._fingerprinting else int(time.time())
        return attr(ttl).not_exists() | (attr(ttl) > now)

    def _base_params(self, compiler: Compiler) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self._reader.table_name}
        if self._key is not None and self._key.index is not None:
            params["IndexName"] = self._key.index
        if self._consistent:
            params["ConsistentRead"] = True
        return params

    def _finish(self, params: dict[str, Any], compiler: Compiler, count: bool) -> None:
        cond = all_of(self._entity_filter(), self._filter, self._ttl_filter())
        if cond is not None:
            params["FilterExpression"] = compiler.condition(cond)
        if count:
            params["Select"] = "COUNT"
        elif self._project:
            keys = self._codec.spec.primary.attrs
            if self._key is not None:
                keys = keys + self._key.attrs
            params["ProjectionExpression"] = compiler.projection(
                [*self._project, *(attr(a) for a in dict.fromkeys(keys)),
                 attr(self._codec.entity_attr)]
            )
        params.update(compiler.params())
        params.update(self._extra)

    def _compile(self, count: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The first request this read would send (compile only, no network)."""
        params = self._compile()
        if self._limit is not None or self._page_size is not None:
            params["Limit"] = min(x for x in (self._limit, self._page_size) if x is not None)
        return params

    def _fingerprint(self) -> str:
        self._fingerprinting = True
        try:
            params = self._compile()
        finally:
            self._fingerprinting = False
        return fingerprint([
            self.operation,
            {k: v for k, v in params.items() if k not in ("Limit", "ExclusiveStartKey")},
            self._codec.entity,
        ])

    def _key_attrs(self) -> tuple[str, ...]:
        attrs = self._codec.spec.primary.attrs
        if self._key is not None and self._key.index is not None:
            attrs = attrs + self._key.attrs
        return attrs

    # -- execution ---------------------------------------------------------------------

    def _decode(self, raw: list[dict[str, Any]]) -> list[M]:
        codec = self._codec
        partial = self._project is not None or (
            self._key is not None and self._key.projection in ("KEYS_ONLY", "INCLUDE")
        )
        if partial:
            return [codec.decode_partial(item) for item in raw]
        decode = codec.decode
        return [decode(item) for item in raw]

    def _pages(self, start: dict[str, Any] | None) -> Iterator[tuple[list[M], dict[str, Any]
                                                                      | None]]:
        params = self._compile()
        remaining = self._limit
        key = start
        send = self._reader.send
        while True:
            req = dict(params)
            if key:
                req["ExclusiveStartKey"] = key
            size = self._page_size
            if remaining is not None:
                size = remaining if size is None else min(size, remaining)
            if size is not None:
                req["Limit"] = size
            resp = send(self.operation, req)
            key = resp.get("LastEvaluatedKey") or None
            items = self._decode(resp.get("Items") or [])
            del resp  # drop the raw page before the caller works through the decoded one
            if remaining is not None:
                remaining -= len(items)
            yield items, key
            del items
            if key is None or (remaining is not None and remaining <= 0):
                return

    def __iter__(self) -> Iterator[M]:
        """Iterate lazily across pages; memory is bounded by one page.

        Each object is released by the iterator as soon as it is handed out, so what the
        caller does not keep is freed before the next page is read.
        """
        for items, _key in self._pages(None):
            items.reverse()
            while items:
                yield items.pop()

    def all(self) -> list[M]:
        """Every matching item (up to ``limit``) as a list."""
        return list(self)

    def first(self) -> M | None:
        """The first matching item, or ``None``."""
        for item in self:
            return item
        return None

    def page(self, cursor: str | None = None) -> Page[M]:
        """One page: up to ``limit`` items (default: one DynamoDB page) and the next cursor."""
        fp = self._fingerprint()
        secret = self._reader.cursor_secret
        start = decode_cursor(cursor, fp, secret, self._key_attrs()) if cursor else None
        items: list[M] = []
        last: dict[str, Any] | None = None
        for batch, key in self._pages(start):
            last = key
            items.extend(batch)
            if self._limit is None:
                break
        return Page(items, encode_cursor(last, fp, secret) if last else None)

    def count(self) -> int:
        """How many items match (reads every page with ``Select=COUNT``)."""
        params = self._compile(count=True)
        total = 0
        key: dict[str, Any] | None = None
        while True:
            req = dict(params)
            if key:
                req["ExclusiveStartKey"] = key
            resp = self._reader.send(self.operation, req)
            total += int(resp.get("Count", 0))
            key = resp.get("LastEvaluatedKey")
            if not key:
                return total


class Scan(_Read[M]):
    """A scan over the table (or an index) keeping one model's items."""

    operation = "Scan"

    def __init__(self, reader: Reader, model: type[M], index: str | None = None) -> None:
        codec = codec_for(model)
        key = codec.spec.for_index(index) if index else None
        super().__init__(reader, codec, key)
        self._segment: tuple[int, int] | None = None

    def segment(self, segment: int, total_segments: int) -> Scan[M]:
        """Scan one segment of a parallel scan (``0 <= segment < total_segments``)."""
        if not (1 <= total_segments <= 1_000_000) or not (0 <= segment < total_segments):
            raise InvalidRequestError("need 0 <= segment < total_segments <= 1,000,000")
        self._segment = (segment, total_segments)
        return self

    def _compile(self, count: bool = False) -> dict[str, Any]:
        compiler = Compiler(self._codec)
        params = self._base_params(compiler)
        if self._segment is not None:
            params["Segment"], params["TotalSegments"] = self._segment
        self._finish(params, compiler, count)
        return params
