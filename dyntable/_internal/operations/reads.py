"""Read builders: the shared base of queries and scans (filters, limits, projections,
cursors), and scans. Queries are in :mod:`dyntable._internal.operations.query`.

Builders are pure: they compile requests and flows (:mod:`dyntable._internal.operations.flow`);
the clients' query and scan objects add the methods that run them. ``limit(n)`` counts
items *returned*, not items evaluated (see :mod:`dyntable._internal.operations.pages`).

``rate_limit()`` paces a read by a read-capacity budget
(:mod:`dyntable._internal.operations.rate_limit`). ``hydrate()`` turns a read of a KEYS_ONLY,
INCLUDE or sparse index into full items: each index page is followed by batched gets of
its items (:func:`~dyntable._internal.operations.batch_get.batch_get_flow`), emitted in the
index's order; the page's cursor is the index page's.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dyntable._internal.codec.identity import identity
from dyntable._internal.codec.items import ItemCodec, codec_for
from dyntable._internal.gc_pause import gc_paused
from dyntable._internal.operations.cursors import decode_cursor, encode_cursor, fingerprint
from dyntable._internal.operations.flow import Flow, Request, gather
from dyntable._internal.operations.items import entity_paths, require_table
from dyntable._internal.operations.pages import RawPage, pages
from dyntable._internal.operations.rate_limit import RateLimiter, paced
from dyntable.errors import ExpressionError, InvalidRequestError, UnmatchedItemWarning
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition, all_of
from dyntable.expressions.paths import F, Path, attr
from dyntable.ttl import item_expired

if TYPE_CHECKING:
    from typing_extensions import Self

    from dyntable._internal.schema.spec import KeySpec
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["Page", "ReadBuilder", "ReadContext", "ScanBuilder", "report_unmatched"]

M = TypeVar("M", bound="Model")
R = TypeVar("R")
AV = dict[str, Any]

#: Pages of at least this many items are decoded with the cyclic GC paused (gc_pause).
LARGE_PAGE = 100
#: Index entries per page of a hydrated read without page_size (one BatchGetItem's worth).
HYDRATE_PAGE = 100


def report_unmatched(operation: str, model: type[Model], table_name: str,
                     unmatched: list[dict[str, Any]],
                     kept: str = "they are in the read's `unmatched` list") -> None:
    """Warn that a read of ``model`` met items that match no model (UnmatchedItemWarning);
    ``kept`` says where the caller finds them."""
    ident = identity(model.__dyntable__.table)
    first = unmatched[0]
    key = {a: first.get(a) for a in ident.key_attrs}
    warnings.warn(UnmatchedItemWarning(
        f"{operation} of {model.__name__} on table {table_name!r} met {len(unmatched)} "
        f"item(s) that match no model (e.g. key {key}: {ident.match(first).reason}), left "
        f"out of its results: {kept}"), stacklevel=3)


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What a read needs from the client that made it (no connection).

    Attributes:
        table: the table declaration.
        table_name: the physical table name.
        cursor_secret: the HMAC secret of pagination cursors.
        hide_expired: leave out items whose TTL has passed.
    """

    table: TableSchema
    table_name: str
    cursor_secret: bytes
    hide_expired: bool


@dataclass
class Page(Generic[M]):
    """One page of results: ``items`` and the ``cursor`` of the next page (``None``: last).

    ``unmatched`` holds raw items the read met that match no model of the table (no entity
    attribute, and a key no model's templates fit): they may be this model's, so they are
    reported (also as an :class:`~dyntable.errors.UnmatchedItemWarning`), never dropped.

    ``missing`` (hydrated reads) holds the raw index entries whose item was gone, or
    no longer at that index key, when it was fetched: the index is eventually consistent,
    so such an entry is left out of ``items``.
    """

    items: list[M]
    cursor: str | None
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_more(self) -> bool:
        """True when another page may follow."""
        return self.cursor is not None

    def __iter__(self) -> Iterator[M]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class ReadBuilder(Generic[M]):
    """The builder methods and flows queries and scans share (no I/O)."""

    operation = "Query"
    #: Whether other entities' items are left out only as items are decoded, or also by a
    #: server filter. Queries check on the client only: their key condition already narrows
    #: the read to the model's key range, where a filter only adds server time. Scans also
    #: filter on the server (this entity, or no entity attribute), which saves sending
    #: every other entity's items. Either way the client decides each item's model
    #: (dyntable._internal.codec.identity), so items without the entity attribute are
    #: matched by their key, never lost.
    entity_on_client = False

    def __init__(self, context: ReadContext, codec: ItemCodec[M], key: KeySpec | None
                 ) -> None:
        require_table(codec.model, context.table)
        self._context = context
        self._codec = codec
        self._key = key
        self._filter: Condition | None = None
        self._limit: int | None = None
        self._page_size: int | None = None
        self._consistent = False
        self._project: list[str | Path] | None = None
        self._fingerprinting = False
        self._limiter: RateLimiter | None = None
        self._hydrate: tuple[bool, float] | None = None
        #: raw items met so far that match no model (see :class:`Page`)
        self.unmatched: list[dict[str, Any]] = []
        #: index entries a hydrated read found no item for (see :class:`Page`)
        self.missing: list[dict[str, Any]] = []

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
        if self._hydrate is not None:
            raise InvalidRequestError(
                "project() and hydrate() do not go together: hydrate() reads whole items")
        specs = self._codec.spec.fields
        for f in fields:
            if isinstance(f, str) and f not in specs:
                raise ExpressionError(
                    f"{self._codec.model.__name__} has no field {f!r}"
                )
        # A field kept only in the key is read from the key attributes (always projected).
        self._project = [F[f] if isinstance(f, str) else f for f in fields
                         if not (isinstance(f, str) and not specs[f].stored)]
        return self

    def rate_limit(self, read_units_per_second: float | RateLimiter) -> Self:
        """Pace this read to a read-capacity budget, fed by the units DynamoDB reports.

        Each request asks for ``ReturnConsumedCapacity``; before the next one the read
        pauses until the units consumed so far fit ``read_units_per_second``, and a page's
        ``Limit`` is capped so one page costs about one second of budget. Give a
        :class:`~dyntable._internal.operations.rate_limit.RateLimiter` (e.g. another read's
        :attr:`rate_limiter`) to share one budget between reads, such as the segments of a
        parallel scan; a number makes a budget of this read's own.
        """
        if isinstance(read_units_per_second, RateLimiter):
            self._limiter = read_units_per_second
        else:
            self._limiter = RateLimiter(read_units_per_second)
        return self

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The budget set by :meth:`rate_limit` (its ``consumed`` and ``slept`` tell what
        the read used and waited), or ``None``."""
        return self._limiter

    def hydrate(self, *, consistent: bool = False, deadline: float = 60.0) -> Self:
        """Return full items from a read of an index that projects only some attributes.

        Each index page is followed by BatchGetItem calls (100 keys each, unprocessed keys
        retried until ``deadline`` seconds) for the model's items, returned in the index's
        order; ``consistent`` makes those gets strongly consistent. ``limit`` counts items
        returned, a page's cursor is the index page's, and ``page_size`` defaults to 100
        index entries. An entry whose item was deleted (or left that index key) since the
        index was read is left out and listed in :attr:`missing`. ``count()`` counts index
        entries and fetches nothing. Filters (``where``) apply to the index entries
        (DynamoDB refuses one naming an attribute the index does not project).
        """
        key = self._key
        if key is None or key.index is None:
            raise InvalidRequestError(
                f"hydrate() reads full items after an index read; this read of "
                f"{self._codec.model.__name__} is on the table, which returns them already")
        if self._project is not None:
            raise InvalidRequestError(
                "project() and hydrate() do not go together: hydrate() reads whole items")
        if not deadline >= 0:
            raise InvalidRequestError(
                f"deadline must be a number of seconds >= 0, not {deadline!r}")
        self._hydrate = (consistent, deadline)
        return self

    # -- compilation -------------------------------------------------------------------

    def _entity_filter(self) -> Condition | None:
        """The server filter: this entity's items, or items without the entity attribute
        (matched by key on the client). None on a table without an entity attribute."""
        name = self._codec.entity_attr
        # INCLUDE projections always carry the entity attribute (operations.tables).
        if name is None or self._keys_only_index():
            return None
        return (attr(name) == self._codec.entity) | attr(name).not_exists()

    def _keys_only_index(self) -> bool:
        key = self._key
        return key is not None and key.index is not None and key.projection == "KEYS_ONLY"

    def _ttl_filter(self) -> Condition | None:
        ttl = self._codec.spec.ttl_field
        if not (ttl and self._context.hide_expired):
            return None
        key = self._key
        if self._hydrate is not None and key is not None and key.projection != "ALL" \
                and ttl not in key.include:
            # DynamoDB refuses a filter on an attribute the index does not project; a
            # hydrated read checks the whole items instead (hydrate_flow).
            return None
        # A fixed "now" while fingerprinting, so a cursor stays valid as time passes.
        now = 0 if self._fingerprinting else int(time.time())
        return attr(ttl).not_exists() | (attr(ttl) > now)

    def _base_params(self, compiler: Compiler) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self._context.table_name}
        if self._key is not None and self._key.index is not None:
            params["IndexName"] = self._key.index
        if self._consistent:
            params["ConsistentRead"] = True
        return params

    def _finish(self, params: dict[str, Any], compiler: Compiler, count: bool) -> None:
        entity = None if self.entity_on_client else self._entity_filter()
        cond = all_of(entity, self._filter, self._ttl_filter())
        if cond is not None:
            params["FilterExpression"] = compiler.condition(cond)
        keys = self._codec.spec.primary.attrs
        if self._key is not None:
            keys = keys + self._key.attrs
        identify = [*(attr(a) for a in dict.fromkeys(keys))]
        if not self._keys_only_index():
            identify += entity_paths(self._codec)  # a KEYS_ONLY index has no entity
        if count or self._hydrate is not None:
            # Counted on the client, item by item, so items without the entity attribute
            # count for the model their key names: read the keys (and the entity) only.
            # A hydrated read needs no more of the index either.
            params["ProjectionExpression"] = compiler.projection(identify)
        elif self._project:
            params["ProjectionExpression"] = compiler.projection([*self._project, *identify])
        params.update(compiler.params())

    def _compile(self, count: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The first request this read would send (compile only, no network)."""
        params = self._compile()
        sizes = [x for x in (self._limit, self._pages()) if x is not None]
        if sizes:
            params["Limit"] = min(sizes)
        if self._limiter is not None:
            params = self._limiter.shape(self.operation, params)
        return params

    def _pages(self) -> int | None:
        """Items per request: ``page_size``, else one BatchGetItem's worth when hydrating."""
        if self._page_size is None and self._hydrate is not None:
            return HYDRATE_PAGE
        return self._page_size

    def _fingerprint(self) -> str:
        # A hydrated read pages through the same index entries as a plain one: one cursor
        # serves both (what is fetched afterwards does not move the position).
        self._fingerprinting, hydrate, self._hydrate = True, self._hydrate, None
        try:
            params = self._compile()
        finally:
            self._fingerprinting, self._hydrate = False, hydrate
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

    # -- flows -------------------------------------------------------------------------

    def own(self, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """This model's items of ``raw``: other entities' are left out, items matching no
        model are kept in :attr:`unmatched` and reported."""
        mine, unmatched = identity(self._context.table).split(raw, self._codec.model)
        if unmatched:
            self.unmatched.extend(unmatched)
            report_unmatched(self.operation, self._codec.model, self._context.table_name,
                             unmatched)
        return mine

    def decode(self, raw: list[dict[str, Any]]) -> list[M]:
        """The model objects of this model's raw items (partial objects for projected
        reads); see :meth:`own`."""
        codec = self._codec
        raw = self.own(raw)
        partial = self._project is not None or (
            self._key is not None and self._key.projection in ("KEYS_ONLY", "INCLUDE")
        )
        if partial:
            return [codec.decode_partial(item) for item in raw]
        decode = codec.decode
        if len(raw) < LARGE_PAGE:
            return [decode(item) for item in raw]
        with gc_paused():
            return [decode(item) for item in raw]

    def request(self, *, count: bool = False) -> Request:
        """The first request of this read (compile only)."""
        return Request(self.operation, self._compile(count), model=self._codec.model)

    def hydrate_flow(self, raw: list[dict[str, Any]]) -> Flow[list[M]]:
        """This model's entries of an index page (see :meth:`own`) as full items, read
        with batched gets, in the page's order; entries whose item is gone (or no longer
        at that index key) go to :attr:`missing`."""
        from dyntable._internal.operations.batch_base import (
            BatchStats,
            key_digest,
            table_key_attrs,
        )
        from dyntable._internal.operations.batch_get import GetKey, batch_get_flow
        from dyntable._internal.operations.retry import Backoff

        assert self._hydrate is not None and self._key is not None
        entries = self.own(raw)
        if not entries:
            return []
        codec, key_attrs = self._codec, table_key_attrs(self._context.table)
        digests: list[bytes] = []
        keys: dict[bytes, GetKey] = {}
        for entry in entries:
            key = {a: entry[a] for a in key_attrs}
            digest = key_digest(key)
            digests.append(digest)
            keys.setdefault(digest, GetKey(codec.model, key, entry, digest))
        consistent, deadline = self._hydrate
        found = yield from batch_get_flow(
            self._context.table_name, key_attrs, list(keys.values()), consistent=consistent,
            deadline=deadline, backoff=Backoff(), stats=BatchStats())
        index_attrs = self._key.attrs
        hide = self._context.hide_expired
        out: list[M] = []
        for entry, digest in zip(entries, digests, strict=True):
            item = found.get(digest)
            if item is None or not codec.owns(item) or any(
                    item.get(a) != entry.get(a) for a in index_attrs):
                self.missing.append(entry)
                continue
            obj = codec.decode(item)
            if not (hide and item_expired(obj)):
                out.append(obj)
        return out

    def pages_flow(self, start: dict[str, Any] | None = None) -> Flow[None]:
        """Every page up to ``limit``, each emitted as a :class:`RawPage` of decoded items
        (hydrated with :meth:`hydrate_flow`, paced by :meth:`rate_limit`, when asked)."""
        flow = pages(self.request(), start=start, limit=self._limit,
                     page_size=self._pages(), decode=self.decode,
                     expand=self.hydrate_flow if self._hydrate is not None else None)
        return self._paced(flow)

    def _paced(self, flow: Flow[R]) -> Flow[R]:
        return flow if self._limiter is None else paced(flow, self._limiter)

    def page_flow(self, cursor: str | None = None) -> Flow[Page[M]]:
        """One page: up to ``limit`` items (default: one DynamoDB page) and the next cursor."""
        fp = self._fingerprint()
        secret = self._context.cursor_secret
        start = decode_cursor(cursor, fp, secret, self._key_attrs()) if cursor else None
        one = None if self._limit is not None else (lambda got: len(got) >= 1)
        seen, gone = len(self.unmatched), len(self.missing)
        got: list[RawPage] = yield from gather(self.pages_flow(start), until=one)
        items: list[M] = [obj for page in got for obj in page.items]
        last = got[-1].next if got else None
        return Page(items, encode_cursor(last, fp, secret) if last else None,
                    self.unmatched[seen:], self.missing[gone:])

    def count_flow(self) -> Flow[int]:
        """How many of this model's items match: every page is read (keys only) and each
        item counted for the model it belongs to (see :meth:`own`)."""
        flow = self._paced(pages(self.request(count=True), page_size=self._page_size,
                                 decode=self.own))
        got: list[RawPage] = yield from gather(flow)
        return sum(len(page.items) for page in got)


class ScanBuilder(ReadBuilder[M]):
    """A scan over the table (or an index) keeping one model's items."""

    operation = "Scan"

    def __init__(self, context: ReadContext, model: type[M], index: str | None = None
                 ) -> None:
        codec = codec_for(model)
        key = codec.spec.for_index(index) if index else None
        super().__init__(context, codec, key)
        self._segment: tuple[int, int] | None = None

    def segment(self, segment: int, total_segments: int) -> Self:
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
