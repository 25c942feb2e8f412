"""``Client``: the sync driver. Runs the flows of :mod:`dyntable._internal.operations`
over a transport.

``db = table.connect()`` makes one; it sends nothing until used (no DescribeTable at
connect time). Every method builds a flow (no I/O) and runs it with :meth:`Client.run`,
the one loop that sends requests; :class:`~dyntable.async_client.AsyncClient` runs the
same flows with ``await``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from dyntable._internal.operations.flow import Emit, Flow, Request, Sleep
from dyntable._internal.operations.send import send
from dyntable.errors import InvalidRequestError
from dyntable.transport.base import not_idempotent

if TYPE_CHECKING:
    # Connecting loads only the driver: the item flows, codec and expressions load with
    # the first get/put/delete, queries, transactions, batches, collections, PartiQL and
    # table administration on their first use (cold start; see docs/benchmarks.md).
    from dyntable._internal.operations.batch_get import BatchGetResult
    from dyntable._internal.operations.collections import Collection
    from dyntable._internal.operations.reads import ReadContext
    from dyntable._internal.operations.retry import Backoff
    from dyntable._internal.operations.statements import Statement, StatementResult
    from dyntable.batch_writer import BatchWriter
    from dyntable.client_builders import Query, Scan, Transaction, UpdateBuilder
    from dyntable.expressions.conditions import Condition
    from dyntable.expressions.paths import Path
    from dyntable.schema.keys import ItemKey, ModelKey
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema
    from dyntable.transport.base import Transport

__all__ = ["Client", "Query", "Scan", "Transaction", "UpdateBuilder"]

M = TypeVar("M", bound="Model")
R = TypeVar("R")


def cursor_secret_of(table_name: str, secret: str | bytes | None) -> bytes:
    """The HMAC secret of pagination cursors (default: derived from the table name, which
    detects corruption and misuse but not forgery)."""
    if secret is None:
        return hashlib.sha256(f"dyntable:{table_name}".encode()).digest()
    return secret.encode() if isinstance(secret, str) else secret


class Client:
    """Reads and writes the models of one table through a transport.

    Args:
        table: the table declaration.
        endpoint_url / region: for the default transport
            (:func:`~dyntable.transport.default.default_transport`).
        transport: any :class:`~dyntable.transport.base.Transport` (HTTP, boto3, DAX,
            cache, mock).
        table_name: the physical table name when it differs from the declaration's
            (e.g. one table per stage, or per test).
        cursor_secret: HMAC secret for pagination cursors (default: derived from the table
            name, which detects corruption and misuse but not forgery).
        hide_expired: leave out items whose TTL has passed but that DynamoDB has not
            deleted yet (reads by query/scan/get).
        **transport_options: passed to the default transport (e.g. ``max_attempts``,
            ``read_timeout``).
    """

    def __init__(
        self,
        table: TableSchema,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        transport: Transport | None = None,
        table_name: str | None = None,
        cursor_secret: str | bytes | None = None,
        hide_expired: bool = False,
        **transport_options: Any,
    ) -> None:
        self.table = table
        self.table_name = table_name or table.name
        if transport is None:
            from dyntable.transport.default import default_transport

            transport = default_transport(endpoint_url, region, **transport_options)
        elif endpoint_url or region or transport_options:
            raise InvalidRequestError(
                "give either transport= or endpoint_url/region/transport options, not both"
            )
        self.transport = transport
        self.cursor_secret = cursor_secret_of(self.table_name, cursor_secret)
        self.hide_expired = hide_expired

    # -- the driver ----------------------------------------------------------------------

    def _call(self, req: Request) -> dict[str, Any]:
        if req.transport_resends:
            return self.transport.send(req.operation, req.params)
        with not_idempotent():
            return self.transport.send(req.operation, req.params)

    def run(self, flow: Flow[R], sleep: Callable[[float], None] = time.sleep) -> R:
        """Run ``flow`` to its end: send its requests, sleep its pauses, return its result.

        A transport error is thrown into the flow, which handles it or lets it propagate.
        """
        call = self._call
        try:
            step = next(flow)
            while True:
                if type(step) is Request:
                    try:
                        answer = call(step)
                    except Exception as exc:
                        step = flow.throw(exc)
                    else:
                        step = flow.send(answer)
                        del answer  # the flow keeps what it needs; a page is not held twice
                elif type(step) is Sleep:
                    sleep(step.seconds)
                    step = flow.send(None)
                else:  # Emit: run() has no caller to hand it to
                    step = flow.send(None)
        except StopIteration as stop:
            result: R = stop.value
            return result

    def iterate(self, flow: Flow[Any]) -> Iterator[Any]:
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
                        answer = call(step)
                    except Exception as exc:
                        step = flow.throw(exc)
                    else:
                        step = flow.send(answer)
                        del answer  # the flow keeps what it needs; a page is not held twice
                elif type(step) is Sleep:
                    time.sleep(step.seconds)
                    step = flow.send(None)
        except StopIteration:
            return
        finally:
            flow.close()

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one low-level request (DynamoDB parameters) through the one send path, which
        attaches the table and key to errors."""
        return self.run(send(Request(operation, params, params.get("Key") or {})))

    def _context(self) -> ReadContext:
        from dyntable._internal.operations.reads import ReadContext

        return ReadContext(self.table, self.table_name, self.cursor_secret, self.hide_expired)

    # -- items -------------------------------------------------------------------------------

    def put(self, obj: M, *, condition: Condition | None = None, if_absent: bool = False,
            return_old: bool = False) -> M | None:
        """Write ``obj`` (replacing the item with its key).

        ``if_absent`` refuses to overwrite; ``condition`` must hold on the stored item. With a
        version field, the stored version must equal ``obj``'s (0: new item) and is bumped;
        ``obj``'s version is updated on success. Returns the old item with ``return_old``
        (``None`` also when a versioned put was settled as applied after an ambiguous
        failure: its old item is no longer known). An item of another entity at the same
        key is never replaced (:class:`~dyntable.errors.ForeignItemError`).
        """
        from dyntable._internal.operations.item_flows import put_flow

        return self.run(put_flow(self.table, self.table_name, obj, condition=condition,
                                 if_absent=if_absent, return_old=return_old))

    @overload
    def get(self, target: ItemKey[M], /, *, consistent: bool = ...,
            project: Sequence[str | Path] | None = ...) -> M | None: ...

    @overload
    def get(self, target: type[M], /, *, consistent: bool = ...,
            project: Sequence[str | Path] | None = ..., **key: Any) -> M | None: ...

    def get(self, target: type[M] | ItemKey[M], /, *, consistent: bool = False,
            project: Sequence[str | Path] | None = None, **key: Any) -> M | None:
        """The item with this primary key, or ``None``.

        ``get(Customer, username="ada")`` or ``get(Customer.primary(username="ada"))``.
        ``project`` reads only some fields: the result is a partial object whose unread
        fields are absent (reading them raises AttributeError).
        """
        from dyntable._internal.operations.item_flows import get_flow

        result: M | None = self.run(get_flow(
            self.table, self.table_name, target, key, consistent=consistent, project=project,
            hide_expired=self.hide_expired))
        return result

    @overload
    def delete(self, target: M | ItemKey[M], /, *, condition: Condition | None = ...,
               return_old: bool = ...) -> M | None: ...

    @overload
    def delete(self, target: type[M], /, *, condition: Condition | None = ...,
               return_old: bool = ..., **key: Any) -> M | None: ...

    def delete(self, target: M | ItemKey[M] | type[M], /, *, condition: Condition | None = None,
               return_old: bool = False, **key: Any) -> M | None:
        """Delete by instance (its version is checked), by key, or by model and key fields."""
        from dyntable._internal.operations.item_flows import delete_flow

        result: M | None = self.run(delete_flow(self.table, self.table_name, target, key,
                                                condition=condition, return_old=return_old))
        return result

    @overload
    def update(self, target: M | ItemKey[M], /) -> UpdateBuilder[M]: ...

    @overload
    def update(self, target: type[M], /, **key: Any) -> UpdateBuilder[M]: ...

    def update(self, target: M | ItemKey[M] | type[M], /, **key: Any) -> UpdateBuilder[M]:
        """An update builder: ``db.update(Customer, username="ada").set(name="Ada").execute()``.

        From an instance, the instance's version is checked (when the model has one) and
        its field values are known, so index keys can be rewritten without giving them.
        """
        from dyntable.client_builders import UpdateBuilder

        return UpdateBuilder(self, target, key)

    @overload
    def upsert(self, target: ItemKey[M], /) -> UpdateBuilder[M]: ...

    @overload
    def upsert(self, target: type[M], /, **key: Any) -> UpdateBuilder[M]: ...

    def upsert(self, target: ItemKey[M] | type[M], /, **key: Any) -> UpdateBuilder[M]:
        """Create or update in one UpdateItem:
        ``db.upsert(Customer, username="ada").set(name="Ada").add(visits=1).execute()``.

        The fields set are written; when the item is created, every other field gets its
        declared default (``if_not_exists``: an existing item keeps its values), the key
        fields, entity and index keys are filled and the version starts at 1. Required
        fields without default must be set. Unlike :meth:`update`, the item need not exist.
        """
        from dyntable.client_builders import UpdateBuilder

        return UpdateBuilder(self, target, key, upsert=True)

    # -- batches and transactions --------------------------------------------------------

    def batch_writer(self, *, deadline: float = 60.0, concurrency: int = 1,
                     max_pending: int = 1000, backoff: Backoff | None = None) -> BatchWriter:
        """A batch writer: ``with db.batch_writer() as bw: bw.put(obj)``.

        25-item chunks, unprocessed items retried with backoff; the first chunk still
        unwritten after ``deadline`` seconds stops the writer, and
        :class:`~dyntable.errors.BatchWriteError` names every item not written.
        ``concurrency > 1`` sends chunks from that many threads (bounded memory).
        """
        from dyntable._internal.operations.batch_write import WriterBook
        from dyntable._internal.operations.retry import Backoff
        from dyntable.batch_writer import BatchWriter

        book = WriterBook(self.table, self.table_name, deadline=deadline,
                          backoff=backoff or Backoff())
        return BatchWriter(self.run, book, concurrency=concurrency, max_pending=max_pending)

    def batch_get(self, keys: Iterable[Any], *, consistent: bool = False,
                  deadline: float = 60.0, backoff: Backoff | None = None) -> BatchGetResult:
        """Read many items (instances or keys such as ``Customer.primary(username=...)``),
        100 keys a call. Results keep the order of the keys given; absent items are listed
        in ``.missing``."""
        from dyntable._internal.operations.batch_get import batch_get

        return self.run(batch_get(self.table, self.table_name, keys, consistent=consistent,
                                  deadline=deadline, backoff=backoff,
                                  hide_expired=self.hide_expired))

    def transaction(self, *, token: str | None = None, return_failed_items: bool = True,
                    max_retries: int = 3, also: Sequence[Client] = ()) -> Transaction:
        """A write transaction: ``with db.transaction() as tx: tx.put(...)``.

        Committed as one TransactWriteItems when the block ends without an exception.
        ``also``: clients of other tables whose models the transaction takes too (it is sent
        through this client; the tables are in one account and region).
        """
        from dyntable._internal.operations.transactions import tables_of
        from dyntable.client_builders import Transaction

        return Transaction(self, token=token, return_failed_items=return_failed_items,
                           max_retries=max_retries, also=tables_of(also))

    def transact_get(self, keys: Iterable[Any], *, also: Sequence[Client] = ()) -> list[Any]:
        """Read up to 100 items atomically (TransactGetItems); ``None`` for absent items.
        ``also``: clients of other tables the keys may belong to."""
        from dyntable._internal.operations.transactions import tables_of, transact_get

        return self.run(transact_get(self.table, self.table_name, keys,
                                     hide_expired=self.hide_expired, also=tables_of(also)))

    # -- reads -----------------------------------------------------------------------------

    def query(self, key: ModelKey[M], /, **fields: Any) -> Query[M]:
        """A query on a model key: partition fields, optionally leading sort-key fields."""
        from dyntable.client_builders import Query

        return Query(self, key, fields)

    def scan(self, model: type[M], *, index: str | None = None) -> Scan[M]:
        """A scan keeping ``model``'s items."""
        from dyntable.client_builders import Scan

        return Scan(self, model, index)

    def collection(self, key: ModelKey[Any] | None = None, /, *,
                   sk_prefix: str | None = None, consistent: bool = False,
                   **fields: Any) -> Collection:
        """Every item of one partition (table or index), typed and grouped by entity.

        Name the partition by a model key and its partition fields
        (``db.collection(Customer.primary, username="ada")``), or by its raw partition key
        value (``db.collection(pk="CUSTOMER#ada")``, with ``index="GSI1"`` for an index).
        ``sk_prefix`` keeps the items whose sort key starts with it.
        """
        from dyntable._internal.operations.collections import collection_flow, collection_request

        pk = index = None
        if key is None:
            pk, index = fields.pop("pk", None), fields.pop("index", None)
        req = collection_request(self.table, self.table_name, key, fields, pk=pk,
                                 index=index, sk_prefix=sk_prefix, consistent=consistent)
        return self.run(collection_flow(self.table, req))

    def execute_statement(self, statement: str, parameters: Sequence[Any] = (), *,
                          model: type[M] | None = None, consistent: bool = False,
                          limit: int | None = None) -> list[Any]:
        """Run a PartiQL statement (``ExecuteStatement``), reading every page.

        ``parameters`` fill the statement's ``?`` placeholders (encoded by type; never pasted
        into the text). Items are decoded to ``model`` when given (items of other entities
        are skipped), otherwise by their entity attribute; items of unknown entities are
        returned as raw dicts.
        """
        from dyntable._internal.operations.statements import statement_flow

        return self.run(statement_flow(self.table, statement, parameters, model=model,
                                       consistent=consistent, limit=limit,
                                       table_name=self.table_name))

    def batch_execute_statement(self, statements: Sequence[Statement], *,
                                consistent: bool = False) -> list[StatementResult]:
        """Run up to 25 PartiQL statements in one ``BatchExecuteStatement``: one result per
        statement, in order (its item, decoded, or its typed error). Statements given as
        ``(text, parameters)`` have their ``?`` bound. Throttled statements are resent with
        backoff; :class:`~dyntable.errors.BatchStatementError` (holding every result) is
        raised when some still failed."""
        from dyntable._internal.operations.statements import batch_statements_flow

        return self.run(batch_statements_flow(self.table, statements, consistent=consistent))

    def execute_transaction(self, statements: Sequence[Statement], *,
                            token: str | None = None) -> list[Any]:
        """Run up to 100 PartiQL statements as one ``ExecuteTransaction`` (all reads or all
        writes); returns the items read, decoded, in order. ``token`` is the
        ClientRequestToken (default: a new one), so a resend is applied once."""
        from dyntable._internal.operations.statements import transaction_statements_flow

        return self.run(transaction_statements_flow(self.table, statements, token=token))

    # -- tables --------------------------------------------------------------------------

    def create_table(self, *, wait: bool = True, timeout: float = 300.0) -> dict[str, Any]:
        """Create the table from its declaration (keys, indexes, stream, encryption, table
        class, deletion protection, on-demand maxima, tags), then enable TTL and
        point-in-time recovery and add the replicas one at a time, each waited for until
        ACTIVE (``timeout`` per wait).

        Waits until ACTIVE unless ``wait=False``; TTL can only be enabled on an ACTIVE table,
        so with ``wait=False`` call :meth:`enable_ttl` once it is. A replica's own regional
        settings (its point-in-time recovery, tags, deletion protection) are applied by
        :func:`dyntable.migrations.sync_table`. DynamoDB Local has no backups or
        replication: there those steps are skipped (logged). Returns the description.
        """
        from dyntable._internal.operations.tables import create_table_flow

        return self.run(create_table_flow(self.table, self.table_name, wait=wait,
                                          timeout=timeout))

    def enable_ttl(self) -> bool:
        """Enable TTL on the declared attribute (UpdateTimeToLive); False when none is
        declared. AWS allows one TTL change per table per hour."""
        from dyntable._internal.operations.tables import enable_ttl_flow

        return self.run(enable_ttl_flow(self.table, self.table_name))

    def wait_until_active(self, *, timeout: float = 300.0) -> dict[str, Any]:
        """Poll DescribeTable until the table and its indexes are ACTIVE
        (:class:`~dyntable.errors.WaitTimeoutError` after ``timeout`` seconds)."""
        from dyntable._internal.operations.tables import wait_active_flow

        return self.run(wait_active_flow(self.table_name, timeout))

    def describe_table(self) -> dict[str, Any]:
        """DescribeTable's ``Table`` description."""
        from dyntable._internal.operations.tables import describe_flow

        return self.run(describe_flow(self.table_name))

    def delete_table(self, *, wait: bool = True, timeout: float = 300.0) -> None:
        """Delete the table; waits until it is gone unless ``wait=False``
        (:class:`~dyntable.errors.WaitTimeoutError` after ``timeout`` seconds)."""
        from dyntable._internal.operations.tables import delete_table_flow

        self.run(delete_table_flow(self.table_name, wait=wait, timeout=timeout))

    def table_exists(self) -> bool:
        """True when DescribeTable finds the table."""
        from dyntable._internal.operations.tables import table_exists_flow

        return self.run(table_exists_flow(self.table_name))

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



_BUILDERS = frozenset({"Query", "Scan", "Transaction", "UpdateBuilder"})


def __getattr__(name: str) -> Any:
    # The builder classes live in dyntable.client_builders (loaded on first use).
    if name in _BUILDERS:
        import dyntable.client_builders as builders

        return getattr(builders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
