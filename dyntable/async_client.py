"""``AsyncClient``: the asyncio driver. Runs the same flows as the sync client, awaited.

``db = await shop.connect_async()`` makes one. Every method builds the flow the sync
:class:`~dyntable.client.Client` builds (no I/O) and runs it with :meth:`AsyncClient.run`,
the one loop that awaits the transport. No event loop is created at import or connect;
connections open on first use, in the running loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from dyntable._internal.operations.batch_get import BatchGetResult, batch_get
from dyntable._internal.operations.batch_write import WriterBook
from dyntable._internal.operations.collections import (
    Collection,
    collection_flow,
    collection_request,
)
from dyntable._internal.operations.flow import Emit, Flow, Request, Sleep
from dyntable._internal.operations.item_flows import (
    UpdateBuilderBase,
    delete_flow,
    get_flow,
    put_flow,
)
from dyntable._internal.operations.query import QueryBuilder
from dyntable._internal.operations.reads import Page, ReadBuilder, ReadContext, ScanBuilder
from dyntable._internal.operations.retry import Backoff
from dyntable._internal.operations.send import send
from dyntable._internal.operations.statements import statement_flow
from dyntable._internal.operations.tables import (
    create_table_flow,
    delete_table_flow,
    describe_flow,
    enable_ttl_flow,
    table_exists_flow,
    wait_active_flow,
)
from dyntable._internal.operations.transactions import (
    TransactionBuilder,
    tables_of,
    transact_get,
)
from dyntable.client import cursor_secret_of
from dyntable.errors import InvalidRequestError
from dyntable.expressions.conditions import Condition
from dyntable.expressions.paths import Path
from dyntable.transport.base import not_idempotent

if TYPE_CHECKING:
    from dyntable._internal.operations.statements import Statement, StatementResult
    from dyntable.async_batch_writer import AsyncBatchWriter
    from dyntable.schema.keys import ItemKey, ModelKey
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema
    from dyntable.transport.base import AsyncTransport

__all__ = ["AsyncClient", "AsyncQuery", "AsyncScan", "AsyncTransaction",
           "AsyncUpdateBuilder"]

M = TypeVar("M", bound="Model")
R = TypeVar("R")


class AsyncClient:
    """Reads and writes the models of one table through an asyncio transport.

    The same surface as :class:`~dyntable.client.Client`, awaited: ``await db.get(...)``,
    ``async for o in db.query(...)``, ``async with db.batch_writer() as bw``,
    ``async with db.transaction() as tx``. Arguments are the client's; ``transport`` is an
    :class:`~dyntable.transport.base.AsyncTransport` (a sync transport can be wrapped in
    :class:`~dyntable.transport.aio_adapter.AsyncTransportAdapter`).
    """

    def __init__(
        self,
        table: TableSchema,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        transport: AsyncTransport | None = None,
        table_name: str | None = None,
        cursor_secret: str | bytes | None = None,
        hide_expired: bool = False,
        **transport_options: Any,
    ) -> None:
        self.table = table
        self.table_name = table_name or table.name
        if transport is None:
            from dyntable.transport.default import default_async_transport

            transport = default_async_transport(endpoint_url, region, **transport_options)
        elif endpoint_url or region or transport_options:
            raise InvalidRequestError(
                "give either transport= or endpoint_url/region/transport options, not both"
            )
        self.transport = transport
        self.cursor_secret = cursor_secret_of(self.table_name, cursor_secret)
        self.hide_expired = hide_expired

    # -- the driver ----------------------------------------------------------------------

    async def _call(self, req: Request) -> dict[str, Any]:
        if req.transport_resends:
            return await self.transport.send(req.operation, req.params)
        with not_idempotent():
            return await self.transport.send(req.operation, req.params)

    async def run(self, flow: Flow[R],
                  sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> R:
        """Run ``flow`` to its end: await its requests and pauses, return its result.

        A transport error is thrown into the flow, which handles it or lets it propagate.
        """
        call = self._call
        try:
            step = next(flow)
            while True:
                if type(step) is Request:
                    try:
                        answer = await call(step)
                    except Exception as exc:
                        step = flow.throw(exc)
                    else:
                        step = flow.send(answer)
                        del answer  # the flow keeps what it needs; a page is not held twice
                elif type(step) is Sleep:
                    await sleep(step.seconds)
                    step = flow.send(None)
                else:  # Emit: run() has no caller to hand it to
                    step = flow.send(None)
        except StopIteration as stop:
            result: R = stop.value
            return result

    async def iterate(self, flow: Flow[Any]) -> AsyncIterator[Any]:
        """Run ``flow``, yielding what it emits (pages) as it goes."""
        call = self._call
        try:
            step = next(flow)
            while True:
                if type(step) is Emit:
                    yield step.value
                    step = flow.send(None)
                elif type(step) is Request:
                    try:
                        answer = await call(step)
                    except Exception as exc:
                        step = flow.throw(exc)
                    else:
                        step = flow.send(answer)
                        del answer  # the flow keeps what it needs; a page is not held twice
                elif type(step) is Sleep:
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
        except StopIteration:
            return
        finally:
            flow.close()

    async def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one low-level request through the one send path (see ``Client.send``)."""
        return await self.run(send(Request(operation, params, params.get("Key") or {})))

    def _context(self) -> ReadContext:
        return ReadContext(self.table, self.table_name, self.cursor_secret, self.hide_expired)

    # -- items -------------------------------------------------------------------------------

    async def put(self, obj: M, *, condition: Condition | None = None,
                  if_absent: bool = False, return_old: bool = False) -> M | None:
        """Write ``obj`` (see :meth:`dyntable.client.Client.put`)."""
        return await self.run(put_flow(self.table, self.table_name, obj, condition=condition,
                                       if_absent=if_absent, return_old=return_old))

    @overload
    async def get(self, target: ItemKey[M], /, *, consistent: bool = ...,
                  project: Sequence[str | Path] | None = ...) -> M | None: ...

    @overload
    async def get(self, target: type[M], /, *, consistent: bool = ...,
                  project: Sequence[str | Path] | None = ..., **key: Any) -> M | None: ...

    async def get(self, target: type[M] | ItemKey[M], /, *, consistent: bool = False,
                  project: Sequence[str | Path] | None = None, **key: Any) -> M | None:
        """The item with this primary key, or ``None`` (see ``Client.get``)."""
        result: M | None = await self.run(get_flow(
            self.table, self.table_name, target, key, consistent=consistent, project=project,
            hide_expired=self.hide_expired))
        return result

    @overload
    async def delete(self, target: M | ItemKey[M], /, *, condition: Condition | None = ...,
                     return_old: bool = ...) -> M | None: ...

    @overload
    async def delete(self, target: type[M], /, *, condition: Condition | None = ...,
                     return_old: bool = ..., **key: Any) -> M | None: ...

    async def delete(self, target: M | ItemKey[M] | type[M], /, *,
                     condition: Condition | None = None, return_old: bool = False,
                     **key: Any) -> M | None:
        """Delete by instance (its version is checked), key, or model and key fields."""
        result: M | None = await self.run(delete_flow(
            self.table, self.table_name, target, key, condition=condition,
            return_old=return_old))
        return result

    @overload
    def update(self, target: M | ItemKey[M], /) -> AsyncUpdateBuilder[M]: ...

    @overload
    def update(self, target: type[M], /, **key: Any) -> AsyncUpdateBuilder[M]: ...

    def update(self, target: M | ItemKey[M] | type[M], /, **key: Any) -> AsyncUpdateBuilder[M]:
        """An update builder: ``await db.update(obj).set(name="Ada").execute()``."""
        return AsyncUpdateBuilder(self, target, key)

    @overload
    def upsert(self, target: ItemKey[M], /) -> AsyncUpdateBuilder[M]: ...

    @overload
    def upsert(self, target: type[M], /, **key: Any) -> AsyncUpdateBuilder[M]: ...

    def upsert(self, target: ItemKey[M] | type[M], /, **key: Any) -> AsyncUpdateBuilder[M]:
        """Create or update in one UpdateItem (see :meth:`dyntable.client.Client.upsert`):
        ``await db.upsert(Customer, username="ada").add(visits=1).execute()``."""
        return AsyncUpdateBuilder(self, target, key, upsert=True)

    # -- batches and transactions --------------------------------------------------------

    def batch_writer(self, *, deadline: float = 60.0, concurrency: int = 4,
                     max_pending: int = 1000, backoff: Backoff | None = None
                     ) -> AsyncBatchWriter:
        """A batch writer: ``async with db.batch_writer() as bw: await bw.put(obj)``.

        Chunks of 25 are sent by up to ``concurrency`` tasks at once; the semantics are the
        sync writer's (:class:`dyntable.batch_writer.BatchWriter`).
        """
        from dyntable.async_batch_writer import AsyncBatchWriter

        book = WriterBook(self.table, self.table_name, deadline=deadline,
                          backoff=backoff or Backoff())
        return AsyncBatchWriter(self.run, book, concurrency=concurrency,
                                max_pending=max_pending)

    async def batch_get(self, keys: Iterable[Any], *, consistent: bool = False,
                        deadline: float = 60.0, backoff: Backoff | None = None
                        ) -> BatchGetResult:
        """Read many items by key (see ``Client.batch_get``)."""
        return await self.run(batch_get(self.table, self.table_name, keys,
                                        consistent=consistent, deadline=deadline,
                                        backoff=backoff, hide_expired=self.hide_expired))

    def transaction(self, *, token: str | None = None, return_failed_items: bool = True,
                    max_retries: int = 3, also: Sequence[AsyncClient] = ()
                    ) -> AsyncTransaction:
        """A write transaction: ``async with db.transaction() as tx: tx.put(...)``;
        ``also``: clients of other tables it spans (see ``Client.transaction``)."""
        return AsyncTransaction(self, token=token, return_failed_items=return_failed_items,
                                max_retries=max_retries,
                                also=tables_of(also))

    async def transact_get(self, keys: Iterable[Any], *, also: Sequence[AsyncClient] = ()
                           ) -> list[Any]:
        """Read up to 100 items atomically (TransactGetItems); ``None`` for absent items."""
        return await self.run(transact_get(self.table, self.table_name, keys,
                                           hide_expired=self.hide_expired,
                                           also=tables_of(also)))

    # -- reads -----------------------------------------------------------------------------

    def query(self, key: ModelKey[M], /, **fields: Any) -> AsyncQuery[M]:
        """A query on a model key: ``async for o in db.query(Order.primary, username=...)``."""
        return AsyncQuery(self, key, fields)

    def scan(self, model: type[M], *, index: str | None = None) -> AsyncScan[M]:
        """A scan keeping ``model``'s items."""
        return AsyncScan(self, model, index)

    async def collection(self, key: ModelKey[Any] | None = None, /, *,
                   sk_prefix: str | None = None, consistent: bool = False,
                   **fields: Any) -> Collection:
        """Every item of one partition (table or index), typed and grouped by entity.

        Name the partition by a model key and its partition fields
        (``db.collection(Customer.primary, username="ada")``), or by its raw partition key
        value (``db.collection(pk="CUSTOMER#ada")``, with ``index="GSI1"`` for an index).
        ``sk_prefix`` keeps the items whose sort key starts with it.
        """
        pk = index = None
        if key is None:
            pk, index = fields.pop("pk", None), fields.pop("index", None)
        req = collection_request(self.table, self.table_name, key, fields, pk=pk,
                                 index=index, sk_prefix=sk_prefix, consistent=consistent)
        return await self.run(collection_flow(self.table, req))

    async def execute_statement(self, statement: str, parameters: Sequence[Any] = (), *,
                                model: type[M] | None = None, consistent: bool = False,
                                limit: int | None = None) -> list[Any]:
        """Run a PartiQL statement, reading every page (see ``Client.execute_statement``)."""
        return await self.run(statement_flow(self.table, statement, parameters, model=model,
                                             consistent=consistent, limit=limit,
                                             table_name=self.table_name))

    async def batch_execute_statement(self, statements: Sequence[Statement], *,
                                      consistent: bool = False) -> list[StatementResult]:
        """Run up to 25 PartiQL statements in one ``BatchExecuteStatement`` (see
        ``Client.batch_execute_statement``)."""
        from dyntable._internal.operations.statements import batch_statements_flow

        return await self.run(batch_statements_flow(self.table, statements,
                                                    consistent=consistent))

    async def execute_transaction(self, statements: Sequence[Statement], *,
                                  token: str | None = None) -> list[Any]:
        """Run up to 100 PartiQL statements as one ``ExecuteTransaction`` (see
        ``Client.execute_transaction``)."""
        from dyntable._internal.operations.statements import transaction_statements_flow

        return await self.run(transaction_statements_flow(self.table, statements,
                                                          token=token))

    # -- tables --------------------------------------------------------------------------

    async def create_table(self, *, wait: bool = True, timeout: float = 300.0
                           ) -> dict[str, Any]:
        """Create the table from its declaration, then enable TTL and point-in-time
        recovery and add the replicas (see ``Client.create_table``)."""
        return await self.run(create_table_flow(self.table, self.table_name, wait=wait,
                                                timeout=timeout))

    async def enable_ttl(self) -> bool:
        """Enable TTL on the declared attribute; False when none is declared."""
        return await self.run(enable_ttl_flow(self.table, self.table_name))

    async def wait_until_active(self, *, timeout: float = 300.0) -> dict[str, Any]:
        """Poll DescribeTable until the table and its indexes are ACTIVE."""
        return await self.run(wait_active_flow(self.table_name, timeout))

    async def describe_table(self) -> dict[str, Any]:
        """DescribeTable's ``Table`` description."""
        return await self.run(describe_flow(self.table_name))

    async def delete_table(self, *, wait: bool = True, timeout: float = 300.0) -> None:
        """Delete the table; waits until it is gone unless ``wait=False``."""
        await self.run(delete_table_flow(self.table_name, wait=wait, timeout=timeout))

    async def table_exists(self) -> bool:
        """True when DescribeTable finds the table."""
        return await self.run(table_exists_flow(self.table_name))

    async def close(self) -> None:
        """Close the transport's connections."""
        await self.transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncUpdateBuilder(UpdateBuilderBase[M]):
    """Collects update actions; ``await execute()`` sends them (see ``UpdateBuilder``)."""

    def __init__(self, client: AsyncClient, target: Any, key: Mapping[str, Any], *,
                 upsert: bool = False) -> None:
        super().__init__(client.table, client.table_name, target, key, upsert=upsert)
        self._client = client

    async def execute(self) -> M:
        """Send the update; return the item as stored afterwards."""
        return await self._client.run(self.update_flow())


class _AsyncReads(ReadBuilder[M]):
    """The methods that run a query or scan over the async client."""

    _client: AsyncClient

    async def __aiter__(self) -> AsyncIterator[M]:
        """Iterate lazily across pages; memory is bounded by one page."""
        async for page in self._client.iterate(self.pages_flow()):
            items = page.items
            del page
            items.reverse()
            while items:
                yield items.pop()

    async def all(self) -> list[M]:
        """Every matching item (up to ``limit``) as a list."""
        return [item async for item in self]

    async def first(self) -> M | None:
        """The first matching item, or ``None``."""
        async for item in self:
            return item
        return None

    async def page(self, cursor: str | None = None) -> Page[M]:
        """One page: up to ``limit`` items (default: one DynamoDB page) and the next cursor."""
        return await self._client.run(self.page_flow(cursor))

    async def count(self) -> int:
        """How many items match (reads every page with ``Select=COUNT``)."""
        return await self._client.run(self.count_flow())


class AsyncQuery(_AsyncReads[M], QueryBuilder[M]):
    """A query on a model's key, run by the async client."""

    def __init__(self, client: AsyncClient, key: ModelKey[M], fields: Mapping[str, Any]
                 ) -> None:
        QueryBuilder.__init__(self, client._context(), key, fields)
        self._client = client


class AsyncScan(_AsyncReads[M], ScanBuilder[M]):
    """A scan keeping one model's items, run by the async client."""

    def __init__(self, client: AsyncClient, model: type[M], index: str | None = None
                 ) -> None:
        ScanBuilder.__init__(self, client._context(), model, index)
        self._client = client


class AsyncTransaction(TransactionBuilder):
    """A write transaction (``async with db.transaction() as tx:``), committed when the
    block ends without an exception; nothing is sent when it raises."""

    def __init__(self, client: AsyncClient, **options: Any) -> None:
        super().__init__(client.table, client.table_name, **options)
        self._client = client

    async def commit(self) -> None:
        """Send the transaction (nothing is sent when it has no actions)."""
        await self._client.run(self.commit_flow())

    async def __aenter__(self) -> AsyncTransaction:
        return self

    async def __aexit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            await self.commit()
